//! Training a run on the terminal: its data opened with a progress bar, its epochs reported,
//! and what to do after a stop.

use crate::progress::{Progress, StopOnly};
use crate::world::{Relayed, Settled};
use anyhow::{Result, bail};
use dalif::distributed::{Collective, Solo};
use dalif::models::Network;
use dalif::run::{self, RunConfig, RunDir, RunError, Splits};
use dalif::training::{EpochMetrics, TrainError};
use dalif_data::{DataError, Dataset};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The default run directory: runs/<data>-<model>-<neuron>-<n> with the first free n.
pub fn default_out(config: &RunConfig) -> PathBuf {
    let stem = format!(
        "{}-{}-{}",
        config.data.name, config.model.kind, config.model.neuron
    );
    let runs = Path::new("runs");
    (1..)
        .map(|n| runs.join(format!("{stem}-{n}")))
        .find(|p| !p.exists())
        .expect("some n is free")
}

/// The run's data, event frames integrated (once, then cached) with a progress bar.
pub fn open_data(config: &RunConfig) -> Result<Splits> {
    let (train, test) = match config.open_data() {
        Err(e @ DataError::NoFolder(_)) => bail!("{e}: give it with --data-root"),
        other => other?,
    };
    for (set, split) in [(&train, "train"), (&test, "test")] {
        let name = format!("{} {split}", config.data.name);
        crate::progress::build_frame_cache(set.as_ref(), &name)?;
    }
    Ok((train, test))
}

fn describe(config: &RunConfig, train: &dyn Dataset, test: &dyn Dataset) -> String {
    let (t, m) = (&config.train, &config.model);
    format!(
        "{}: {} train / {} test samples of {:?}, {} classes; {} with {} neurons ({}, surrogate {}, v_th {}, {} reset{}{}), T = {}, {} epochs, batch {}, {} lr {}",
        config.data.name,
        train.len(),
        test.len(),
        train.sample_shape(),
        train.num_classes(),
        m.kind,
        m.neuron,
        m.param,
        m.surrogate,
        m.v_th,
        m.reset,
        if m.detach_reset { ", detached" } else { "" },
        if m.per_channel {
            ", per-channel decays"
        } else {
            ""
        },
        t.steps,
        t.epochs,
        t.batch_size,
        t.optimizer,
        t.lr
    )
}

/// Trains the run in `dir` on `device` (an autodiff device), reporting on the terminal; on
/// Ctrl-C or a failed save, says how to continue. Returns the trained network and the run's
/// metrics.
pub fn train_in(
    dir: &RunDir,
    config: &RunConfig,
    device: &burn::tensor::Device,
    label: &str,
) -> Result<(Network, Vec<EpochMetrics>)> {
    train_ranks(&(Arc::new(Solo) as _), Some(dir), config, device, label)
}

/// [`train_in`] on every rank of `world`, data-parallel: rank 0 passes the run directory and
/// reports; the others pass `None` and get no metrics back.
pub fn train_ranks(
    world: &Arc<dyn Collective>,
    dir: Option<&RunDir>,
    config: &RunConfig,
    device: &burn::tensor::Device,
    label: &str,
) -> Result<(Network, Vec<EpochMetrics>)> {
    let (train, test) = open_data(config)?;
    let (train, test) = (train.as_ref(), test.as_ref());
    let Some(dir) = dir else {
        let network = run::train_data_parallel(
            Arc::clone(world),
            None,
            config,
            run::zoo,
            train,
            test,
            device,
            &mut StopOnly,
        );
        return match network {
            Err(RunError::Train(TrainError::Stopped { .. })) => {
                Err(Interrupted("interrupted".into()).into())
            }
            // Rank 0's failure, which rank 0 reports.
            Err(e @ (RunError::OtherRank(_) | RunError::Train(TrainError::Distributed(_)))) => {
                Err(Relayed(e.to_string()).into())
            }
            other => Ok((other?, Vec::new())),
        };
    };
    let header = describe(config, train, test);
    println!("{label}{header}");
    dir.log(&header)?;
    if world.size() > 1 {
        println!(
            "{label}data-parallel on {} ranks: {} samples per rank and step",
            world.size(),
            config.train.batch_size.div_ceil(world.size())
        );
    }
    let mut progress = Progress::new(config.train.epochs, label, dir.path());
    let resume = || {
        format!(
            "continue with `dalif train --resume {}`",
            dir.path().display()
        )
    };
    let network = match run::train_data_parallel(
        Arc::clone(world),
        Some(dir),
        config,
        run::zoo,
        train,
        test,
        device,
        &mut progress,
    ) {
        Err(RunError::Train(TrainError::Stopped { epochs_done })) => {
            return Err(Interrupted(format!(
                "interrupted: epochs 1-{epochs_done} are saved; {}",
                resume()
            ))
            .into());
        }
        // Writing the run directory failed mid-run (a full disk, a folder turned read-only):
        // the last completed epoch is kept, and the run continues from it once fixed.
        Err(e @ RunError::NotSaved { .. }) => {
            // Every rank learnt of it at the end of the epoch and stops without an abort.
            let error = anyhow::anyhow!("{e}; {} once this is fixed", resume());
            return Err(if world.size() > 1 {
                Settled(error).into()
            } else {
                error
            });
        }
        other => other?,
    };
    Ok((network, dir.metrics()?))
}

/// Training stopped on request (Ctrl-C, SIGTERM), on every rank: the message says what is
/// saved and how to continue.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Interrupted(pub String);
