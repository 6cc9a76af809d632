//! `dalif sweep`: the paper's motivation figure ([`dalif::run::sweep`]), with its heatmap.

use crate::commands::series_error;
use crate::config_args::{ConfigArgs, TrainDeviceArgs};
use crate::training::{open_data, train_in};
use anyhow::Result;
use clap::Args;
use dalif::analysis::plot::render_heatmap;
use dalif::run::sweep;
use std::path::PathBuf;

#[derive(Args)]
pub struct SweepArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Points per axis: alpha and beta take the values (i + 1/2) / N, i = 0..N (5: 0.1, 0.3,
    /// 0.5, 0.7, 0.9).
    #[arg(long, default_value_t = 5, value_name = "N")]
    grid: usize,
    /// Folder of the sweep: one run directory per point, sweep.csv, sweep.md and the heatmap.
    /// Points already trained there are reused, partly trained ones resumed.
    #[arg(long, value_name = "DIR", default_value = "runs/sweep")]
    out: PathBuf,
    #[command(flatten)]
    device: TrainDeviceArgs,
}

pub fn run(args: SweepArgs) -> Result<()> {
    let base = args.config.resolve()?;
    let device = args.device.autodiff()?;
    open_data(&base)?;
    let result = sweep::run(&base, args.grid, &args.out, |dir, config, name| {
        let (_, metrics) = train_in(dir, config, &device, &format!("[{name}] "))?;
        Ok::<_, anyhow::Error>(metrics)
    })
    .map_err(series_error)?;
    let [png, svg] = render_heatmap(&args.out.join("sweep"), &result.heatmap(&base), (640, 560))?;
    println!("\n{}", result.markdown);
    println!(
        "written: {}, {}, {}, {}",
        args.out.join("sweep.csv").display(),
        args.out.join("sweep.md").display(),
        png.display(),
        svg.display()
    );
    Ok(())
}
