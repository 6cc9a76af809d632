//! `dalif analyze`: what a trained network learned and what it costs.

use crate::config_args::DeviceArgs;
use crate::names::name_of;
use crate::training::open_data;
use anyhow::{Result, bail};
use clap::Args;
use dalif::analysis::energy::EnergyModel;
use dalif::run::{self, AnalyzeOptions, CheckpointKind, RunDir};
use std::path::PathBuf;

#[derive(Args)]
pub struct AnalyzeArgs {
    /// A run directory written by `dalif train`.
    run_dir: PathBuf,
    /// Which checkpoint of the run.
    #[arg(long, value_parser = name_of(CheckpointKind::Best), default_value_t = CheckpointKind::Best)]
    checkpoint: CheckpointKind,
    /// Read the data set from DIR instead of the folder the configuration names.
    #[arg(long, value_name = "DIR")]
    data_root: Option<PathBuf>,
    /// Measure firing rates on the first N test samples only (default: all of them).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Energy per operation: 45nm-fp32 (4.6 pJ per MAC, 0.9 pJ per accumulate, the
    /// paper's), 45nm-int32 (3.2, 0.1) or 45nm-int8 (0.23, 0.03).
    #[arg(long, default_value = "45nm-fp32")]
    energy: String,
    /// Energy of a multiply-accumulate in picojoules, instead of the preset's.
    #[arg(long, value_name = "PJ")]
    e_mac: Option<f64>,
    /// Energy of an accumulate in picojoules, instead of the preset's.
    #[arg(long, value_name = "PJ")]
    e_ac: Option<f64>,
    /// Folder for the report (default: RUN_DIR/analysis).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    device: DeviceArgs,
}

pub fn run(args: AnalyzeArgs) -> Result<()> {
    let mut energy = EnergyModel::preset(&args.energy)?;
    for (value, slot) in [
        (args.e_mac, &mut energy.e_mac),
        (args.e_ac, &mut energy.e_ac),
    ] {
        if let Some(v) = value {
            if !(v.is_finite() && v >= 0.0) {
                bail!("energies per operation must be finite and at least 0, got {v}");
            }
            *slot = v;
        }
    }
    if args.limit == Some(0) {
        bail!("--limit must be at least 1");
    }
    let device = args.device.device()?;
    let (dir, mut config) = RunDir::open(&args.run_dir)?;
    if let Some(root) = args.data_root {
        config.data.root = Some(root);
    }
    let (_, test) = open_data(&config)?;
    let options = AnalyzeOptions {
        checkpoint: args.checkpoint,
        limit: args.limit,
        energy,
    };
    let n = args.limit.unwrap_or(usize::MAX).min(test.len());
    println!("{}: evaluating on {n} test samples", args.run_dir.display());
    let analysis = run::analyze(&dir, &config, run::zoo, test.as_ref(), &options, &device)?;
    let out = args.out.unwrap_or_else(|| args.run_dir.join("analysis"));
    let written = analysis.write(&out)?;
    print!("\n{}", analysis.markdown());
    println!("written:");
    for path in written {
        println!("  {}", path.display());
    }
    Ok(())
}
