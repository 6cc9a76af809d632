//! `dalif sweep`: the paper's motivation figure. The same network trained with DA-LIF's
//! alpha and beta frozen at every point of a grid, under one budget; the test accuracies
//! make a heatmap over (alpha, beta).

use crate::commands::{open_data, run_dir_for, train_in};
use crate::config_args::{ConfigArgs, DeviceArgs};
use anyhow::{Context, Result, bail};
use clap::Args;
use dalif::analysis::plot::{Heatmap, render_heatmap};
use dalif::neuron::NeuronKind;
use std::fmt::Write as _;
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
    device: DeviceArgs,
}

pub fn run(args: SweepArgs) -> Result<()> {
    if !(1..=20).contains(&args.grid) {
        bail!("--grid takes 1 to 20 points per axis, got {}", args.grid);
    }
    let base = args.config.resolve()?;
    if base.model.neuron != NeuronKind::Dalif {
        bail!(
            "the sweep freezes DA-LIF's decays: it trains --neuron dalif, not {}",
            base.model.neuron
        );
    }
    let device = args.device.device()?;
    open_data(&base)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let n = args.grid;
    let values: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
    let mut accuracy = vec![vec![f64::NAN; n]; n];
    let mut csv = String::from("alpha,beta,test_accuracy,best_test_accuracy,run_dir\n");
    for (j, &beta) in values.iter().enumerate() {
        for (i, &alpha) in values.iter().enumerate() {
            let mut config = base.clone();
            config.model.fixed_decays = Some([alpha, beta]);
            let name = format!("alpha{alpha:.3}-beta{beta:.3}");
            let dir = run_dir_for(&args.out.join(&name), &config)?;
            let metrics = train_in(&dir, &config, &device, &format!("[{name}] "))?;
            let last = metrics.last().context("no epoch completed")?;
            let best = metrics.iter().map(|m| m.test_accuracy).fold(0.0, f64::max);
            accuracy[j][i] = 100.0 * last.test_accuracy;
            let _ = writeln!(
                csv,
                "{alpha},{beta},{},{best},{}",
                last.test_accuracy,
                dir.path().display()
            );
        }
    }
    let t = &base.train;
    let mut md = format!(
        "Test accuracy (%) of {} on {} with DA-LIF's alpha and beta frozen: T = {}, {} epochs, \
         batch {}, {} lr {}, seed {}.\n\n| beta \\ alpha |",
        base.model.kind, base.data.name, t.steps, t.epochs, t.batch_size, t.optimizer, t.lr, t.seed
    );
    for a in &values {
        let _ = write!(md, " {a:.2} |");
    }
    md += "\n|---:|";
    md += &"---:|".repeat(n);
    for (j, b) in values.iter().enumerate().rev() {
        let _ = write!(md, "\n| {b:.2} |");
        for v in &accuracy[j] {
            let _ = write!(md, " {v:.2} |");
        }
    }
    md += "\n";
    for (file, text) in [("sweep.csv", &csv), ("sweep.md", &md)] {
        let path = args.out.join(file);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let map = Heatmap {
        title: format!(
            "Test accuracy (%), {} on {}",
            base.model.kind, base.data.name
        ),
        x_label: "alpha (spatial decay)".into(),
        y_label: "beta (temporal decay)".into(),
        x: values.clone(),
        y: values,
        values: accuracy,
    };
    let [png, svg] = render_heatmap(&args.out.join("sweep"), &map, (640, 560))?;
    println!("\n{md}");
    println!(
        "written: {}, {}, {}, {}",
        args.out.join("sweep.csv").display(),
        args.out.join("sweep.md").display(),
        png.display(),
        svg.display()
    );
    Ok(())
}
