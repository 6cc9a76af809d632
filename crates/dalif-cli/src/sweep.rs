//! `dalif sweep`: the paper's motivation figure ([`dalif::run::sweep`]), with its heatmap.

use crate::commands::{series_error, spread_series};
use crate::config_args::{ConfigArgs, TrainDeviceArgs};
use crate::training::{open_data, train_in};
use crate::world;
use anyhow::{Result, anyhow, bail};
use clap::Args;
use dalif::analysis::plot::render_heatmap;
use dalif::distributed::Collective;
use dalif::run::{RunDir, run_dir_for, sweep};
use std::path::PathBuf;
use std::sync::Arc;

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
    /// Train only grid point K (from 0, beta outer, alpha inner: K = j * N + i), with no
    /// table: one task of a Slurm job array (`--point $SLURM_ARRAY_TASK_ID`). Then
    /// `--collect` with the same flags writes the table.
    #[arg(long, value_name = "K", conflicts_with = "collect")]
    point: Option<usize>,
    /// Write the table and the heatmap from the points trained under --out (by `--point`
    /// tasks), training nothing; names the points that are missing or unfinished.
    #[arg(long)]
    collect: bool,
    #[command(flatten)]
    device: TrainDeviceArgs,
}

pub fn run(args: SweepArgs, world: &Arc<dyn Collective>) -> Result<()> {
    let base = args.config.resolve()?;
    let device = args.device.autodiff()?;
    let jobs = sweep::jobs(&base, args.grid, &args.out)?;
    if let Some(k) = args.point {
        world::single(world.as_ref(), "sweep --point")?;
        let job = jobs.get(k).ok_or_else(|| {
            anyhow!(
                "--point {k}: the {n}x{n} grid has points 0-{}",
                jobs.len() - 1,
                n = args.grid
            )
        })?;
        open_data(&job.config)?;
        std::fs::create_dir_all(&args.out)?;
        let dir = run_dir_for(&job.path, &job.config).map_err(|e| series_error(e.into()))?;
        train_in(&dir, &job.config, &device, &format!("[{}] ", job.name))?;
        println!(
            "point {k} ({}) done; once every point is, `dalif sweep --collect` with the same \
             flags writes the table",
            job.name
        );
        return Ok(());
    }
    if args.collect {
        world::single(world.as_ref(), "sweep --collect")?;
        let unfinished: Vec<String> = (jobs.iter().enumerate())
            .filter(|(_, job)| !finished(job))
            .map(|(k, job)| format!("{k} ({})", job.name))
            .collect();
        if !unfinished.is_empty() {
            bail!(
                "{}: points not trained to the end yet: {}; train them with `dalif sweep \
                 --point K` and the same flags",
                args.out.display(),
                unfinished.join(", ")
            );
        }
    } else {
        world::root_first(world.as_ref(), || open_data(&base))?;
        if !spread_series(world, || Ok(jobs.clone()), &device)? {
            return Ok(());
        }
    }
    let result = sweep::run(&base, args.grid, &args.out, |dir, config, name| {
        if args.collect {
            return Ok(dir.metrics()?);
        }
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

/// Whether a point's run is there with its configuration and all its epochs.
fn finished(job: &dalif::run::Job) -> bool {
    let Ok((dir, config)) = RunDir::open(&job.path) else {
        return false;
    };
    config == job.config
        && dir
            .metrics()
            .is_ok_and(|m| m.len() >= job.config.train.epochs)
}
