//! `dalif analyze`: what a trained network learned and what it costs.

use crate::config_args::DeviceArgs;
use crate::names::name_of;
use crate::source::SourceArgs;
use anyhow::{Result, bail};
use clap::Args;
use dalif::analysis::energy::{EnergyModel, costs};
use dalif::analysis::{Analysis, LayerReport};
use dalif::models::{ModelConfig, SpikingClassifier};
use dalif::neuron::NeuronKind;
use dalif::run::{CheckpointKind, RunDir};
use dalif::training::evaluate;
use dalif_data::{Dataset, Subset};
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
    let mut energy = EnergyModel::preset(&args.energy).map_err(anyhow::Error::msg)?;
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
    let (dir, _) = RunDir::open(&args.run_dir)?;
    let source = SourceArgs::run(args.run_dir.clone(), args.checkpoint, args.data_root);
    let trained = source.load(&device)?;
    let (network, config) = (&trained.network, &trained.config);
    let n = args.limit.unwrap_or(usize::MAX).min(trained.test.len());
    let test = Subset::new(trained.test.as_ref(), (0..n).collect());
    println!("{}: evaluating on {n} test samples", trained.label);
    let evaluation = evaluate(network, &test, &config.train, &device)?;
    let shape = test.sample_shape();
    let [c, h, w] = shape[shape.len() - 3..] else {
        bail!("samples of shape {shape:?} are not images or frames");
    };
    let graph = network.graph([c, h, w], &device);
    let static_input = shape.len() == 3;
    let costs = costs(
        &graph,
        &evaluation.firing_rate,
        config.train.steps,
        static_input,
        &energy,
    );
    let layers = graph
        .neurons()
        .iter()
        .zip(network.neurons())
        .zip(&evaluation.firing_rate)
        .map(|((&id, neuron), &rate)| {
            let (alpha, beta) = neuron.mean_decays(&device);
            LayerReport {
                name: graph.nodes[id].name.clone(),
                alpha,
                beta,
                firing_rate: rate,
            }
        })
        .collect();
    let model = config.model.resolve(&test)?;
    let lif = ModelConfig {
        neuron: NeuronKind::Lif,
        fixed_decays: None,
        ..model.clone()
    };
    let analysis = Analysis {
        source: trained.label.clone(),
        steps: config.train.steps,
        samples: n,
        loss: evaluation.loss,
        accuracy: evaluation.accuracy,
        layers,
        costs,
        energy,
        params: model.num_params(),
        lif_params: lif.num_params(),
        metrics: dir.metrics()?,
    };
    let out = args.out.unwrap_or_else(|| args.run_dir.join("analysis"));
    let written = analysis.write(&out)?;
    print!("\n{}", analysis.markdown());
    println!("written:");
    for path in written {
        println!("  {}", path.display());
    }
    Ok(())
}
