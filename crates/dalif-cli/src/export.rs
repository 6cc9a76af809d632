//! `dalif export`: a trained network as a NIR graph or as safetensors weights.

use crate::config_args::DeviceArgs;
use crate::names::name_of;
use crate::source::SourceArgs;
use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use dalif::export::{Meta, NirOptions, write_nir, write_safetensors};
use dalif::graph::step_shape;
use dalif::models::SpikingClassifier;
use dalif::run::CheckpointKind;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// NIR 1.0 graph (HDF5), for neuromorphic hardware and simulators.
    Nir,
    /// The weights, named by module path, with the run's configuration in the metadata.
    Safetensors,
}

#[derive(Args)]
pub struct ExportArgs {
    /// A run directory written by `dalif train`.
    run_dir: PathBuf,
    /// The file to write (replaced atomically).
    out: PathBuf,
    #[arg(long, value_enum)]
    format: Format,
    /// Which checkpoint of the run.
    #[arg(long, value_parser = name_of(CheckpointKind::Best), default_value_t = CheckpointKind::Best)]
    checkpoint: CheckpointKind,
    /// NIR: the time step in seconds of the forward-Euler reading (tau = dt/(1 - beta)).
    #[arg(long, default_value_t = 1e-4)]
    dt: f64,
    /// Read the data set (which fixes the input shape) from DIR.
    #[arg(long, value_name = "DIR")]
    data_root: Option<PathBuf>,
    #[command(flatten)]
    device: DeviceArgs,
}

pub fn run(args: ExportArgs) -> Result<()> {
    if matches!(args.format, Format::Safetensors) && args.dt != 1e-4 {
        bail!("--dt applies to NIR export only");
    }
    let device = args.device.device()?;
    let trained = SourceArgs::run(args.run_dir, args.checkpoint, args.data_root).load(&device)?;
    match args.format {
        Format::Safetensors => {
            write_safetensors(&args.out, &trained.network, &trained.config)?;
        }
        Format::Nir => {
            let shape = trained.test.sample_shape();
            let graph = trained.network.graph(step_shape(shape), &device);
            let config = &trained.config;
            let input = if shape.len() == 4 {
                "event frames: frame t is the input at step t"
            } else {
                "direct: the same image is the input at every step"
            };
            let metadata = [
                ("model", Meta::Text(config.model.kind.to_string())),
                ("neuron", Meta::Text(config.model.neuron.to_string())),
                ("data", Meta::Text(config.data.name.to_string())),
                ("timesteps", Meta::Number(config.train.steps as f64)),
                ("input_encoding", Meta::Text(input.into())),
                (
                    "readout",
                    Meta::Text("the class scores are the output averaged over the steps".into()),
                ),
                ("source", Meta::Text(trained.label.clone())),
            ];
            let options = NirOptions { dt: args.dt };
            write_nir(&args.out, &graph, &options, &metadata)?;
        }
    }
    println!("wrote {} from {}", args.out.display(), trained.label);
    Ok(())
}
