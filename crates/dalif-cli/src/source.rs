//! Where `eval`, `export` and `analyze` take a trained network from: a run directory's
//! checkpoint, or a safetensors file written by `dalif export --format safetensors`.

use crate::names::name_of;
use crate::training::open_data;
use anyhow::{Result, bail};
use burn::tensor::Device;
use clap::Args;
use dalif::export::{load_safetensors, read_safetensors_config};
use dalif::models::Network;
use dalif::run::{self, CheckpointKind, RunConfig, RunDir};
use dalif_data::Dataset;
use std::path::PathBuf;

const NO_SOURCE: &str = "give a run directory or --weights FILE";

#[derive(Args)]
pub struct SourceArgs {
    /// A run directory written by `dalif train`.
    #[arg(required_unless_present = "weights")]
    run_dir: Option<PathBuf>,
    /// Which checkpoint of the run.
    #[arg(
        long,
        value_parser = name_of(CheckpointKind::Best),
        default_value_t = CheckpointKind::Best,
        conflicts_with = "weights"
    )]
    checkpoint: CheckpointKind,
    /// Weights from a safetensors file of `dalif export --format safetensors` instead of a
    /// checkpoint; its configuration comes with it (or from RUN_DIR when given).
    #[arg(long, value_name = "FILE")]
    weights: Option<PathBuf>,
    /// Read the data set from DIR instead of the folder the configuration names.
    #[arg(long, value_name = "DIR")]
    data_root: Option<PathBuf>,
}

/// A trained network with its configuration and test set.
pub struct Trained {
    pub config: RunConfig,
    pub network: Network,
    pub test: Box<dyn Dataset>,
    /// What the weights are, for reports: "runs/x (best checkpoint, after epoch 3)".
    pub label: String,
    pub epochs_done: Option<usize>,
}

impl SourceArgs {
    /// The `checkpoint` of the run in `run_dir`, its data read from `data_root` if given.
    pub fn run(run_dir: PathBuf, checkpoint: CheckpointKind, data_root: Option<PathBuf>) -> Self {
        Self {
            run_dir: Some(run_dir),
            checkpoint,
            weights: None,
            data_root,
        }
    }

    pub fn load(&self, device: &Device) -> Result<Trained> {
        let (dir, mut config) = match (&self.run_dir, &self.weights) {
            (Some(path), _) => {
                let (dir, config) = RunDir::open(path)?;
                (Some(dir), config)
            }
            (None, Some(weights)) => (None, read_safetensors_config(weights)?),
            (None, None) => bail!(NO_SOURCE),
        };
        if let Some(root) = &self.data_root {
            config.data.root = Some(root.clone());
        }
        let (_, test) = open_data(&config)?;
        let (network, label, epochs_done) = match (&self.weights, &dir) {
            (Some(weights), _) => {
                let network = run::build_network(&config, &run::zoo, test.as_ref(), device)?;
                let network = load_safetensors(network, weights)?;
                (network, weights.display().to_string(), None)
            }
            (None, Some(dir)) => {
                let kind = self.checkpoint;
                let (network, state) =
                    run::load_network(dir, &config, kind, run::zoo, test.as_ref(), device)?;
                let label = run::checkpoint_label(dir, kind, &state);
                (network, label, Some(state.epochs_done))
            }
            (None, None) => bail!(NO_SOURCE),
        };
        Ok(Trained {
            config,
            network,
            test,
            label,
            epochs_done,
        })
    }
}
