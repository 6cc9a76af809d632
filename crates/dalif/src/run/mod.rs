//! Runs: a configuration, a directory that keeps everything a run produces, and training
//! that continues exactly where an interrupted run stopped; series of runs: seeds, the
//! ablation and the sweep.

pub mod ablation;
mod analyze;
mod config;
mod dir;
pub mod seeds;
pub mod sweep;

pub use crate::models::ModelSpec;
pub use analyze::{AnalyzeOptions, analyze};
pub use config::{DataConfig, RunConfig, Splits};
pub(crate) use dir::write_atomic;
pub use dir::{Checkpoint, CheckpointKind, RunDir, RunLock};

use crate::distributed::{
    Collective, Solo, broadcast_result, load_module, module_bytes, optimizer_bytes,
    optimizer_record, pack, unpack,
};
use crate::layers::InitScale;
use crate::models::{ModelConfig, ModelError, Network, SpikingClassifier, init_seeded};
use crate::training::{
    BatchProgress, EpochEnd, TrainError, TrainObserver, TrainState, Trainer, first_batch,
    scale_linear_charges,
};
use burn::tensor::Device;
use dalif_data::{DataError, Dataset};
use std::path::PathBuf;
use std::sync::Arc;

/// Errors of a run. Each names the file or setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A file or folder that cannot be read or made.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// A folder given as a run that has no `config.toml`.
    #[error("{0} is not a dalif run directory (it has no config.toml)")]
    NotARun(PathBuf),
    /// A new run's folder that already holds files.
    #[error("{0} already exists and is not empty")]
    Exists(PathBuf),
    /// A series (ablation, sweep) found a run with another configuration where one of its
    /// runs goes.
    #[error("{0} holds a run with another configuration")]
    OtherRun(PathBuf),
    /// A run file (configuration, state, metrics, checkpoint) that does not parse.
    #[error("{path}: corrupt or unreadable: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A file that cannot be written.
    #[error("{path}: cannot write: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Another live process holds the run's lock.
    #[error(
        "{} is being trained by another process{}: one process at a time trains a run (its lock file is {})",
        dir.display(),
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
        dir.join("lock").display()
    )]
    Locked {
        /// The run directory.
        dir: PathBuf,
        /// The process holding the lock, when its lock file names it.
        pid: Option<u32>,
    },
    /// A configuration that is invalid, or does not fit the data or the run it resumes.
    #[error("{0}")]
    Config(String),
    /// Writing an epoch to the run directory failed (a full disk, a folder turned
    /// read-only); the epochs before it stay saved, and the run continues from them.
    #[error("cannot save epoch {epoch}: {source}; {kept}")]
    NotSaved {
        /// The epoch (from 1) that was not saved.
        epoch: usize,
        /// Which epochs stay saved.
        kept: String,
        /// What failed.
        source: Box<RunError>,
    },
    /// The network could not be built.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The data could not be opened or read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Training failed or was stopped.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// Rank 0 of a data-parallel run could not start it (its message, which rank 0 reports).
    #[error("{0}")]
    OtherRank(String),
}

/// What a run reports while it trains; every method has a do-nothing default.
pub trait RunHooks {
    /// After each optimiser step, with the epoch's running figures.
    fn batch_end(&mut self, _progress: &BatchProgress) {}
    /// After each epoch is saved, with its metrics and whether it is the best so far.
    fn epoch_end(&mut self, _metrics: &crate::training::EpochMetrics, _is_best: bool) {}
    /// Something the run repaired or noticed in its directory before training (also written
    /// to the log): the lock of a killed process taken over, a torn metrics line dropped.
    fn notice(&mut self, _message: &str) {}
    /// Polled between batches: `true` stops the run; the last completed epoch stays saved.
    fn stop_requested(&self) -> bool {
        false
    }
}

/// Hooks that report nothing.
pub struct Quiet;
impl RunHooks for Quiet {}

/// How a run builds its network: from the model configuration the data resolves (input
/// channels, classes, input size, and the neuron settings of `config.toml` in
/// [`ModelSpec::neuron_config`]) on a device. [`zoo`] builds the zoo's models; a user's
/// function builds their own network.
pub trait NetworkInit<M>: Fn(&ModelConfig, &Device) -> Result<M, ModelError> {}
impl<M, F: Fn(&ModelConfig, &Device) -> Result<M, ModelError>> NetworkInit<M> for F {}

/// The zoo's model that `config.model.kind` names.
pub fn zoo(model: &ModelConfig, device: &Device) -> Result<Network, ModelError> {
    model.init(device)
}

/// The network `init` builds for `config` and `data`, its weights initialised from the run's
/// seed.
pub fn build_network<M: SpikingClassifier>(
    config: &RunConfig,
    init: &impl NetworkInit<M>,
    data: &dyn Dataset,
    device: &Device,
) -> Result<M, RunError> {
    let model = config.model.resolve(data)?;
    Ok(init_seeded(device, config.train.seed, || {
        init(&model, device)
    })?)
}

/// Writes each completed epoch to the run directory, then tells the hooks.
struct Recorder<'a> {
    dir: &'a RunDir,
    hooks: &'a mut dyn RunHooks,
}

impl<M: SpikingClassifier> TrainObserver<M> for Recorder<'_> {
    fn batch_end(&mut self, progress: &BatchProgress) {
        self.hooks.batch_end(progress);
    }

    fn epoch_end(&mut self, end: EpochEnd<'_, M>) -> Result<(), TrainError> {
        let save = || -> Result<(), RunError> {
            // Metrics first: a line whose checkpoint never landed is dropped on resume.
            self.dir.append_metrics(end.metrics)?;
            self.dir
                .save_checkpoint(end.model, end.optimizer, end.state, end.is_best)?;
            let m = end.metrics;
            self.dir.log(&format!(
                "epoch {} done: train loss {:.4}, train acc {:.4}, test loss {:.4}, test acc {:.4}, lr {:.6}, {:.1}s{}",
                m.epoch + 1,
                m.train_loss,
                m.train_accuracy,
                m.test_loss,
                m.test_accuracy,
                m.lr,
                m.seconds,
                if end.is_best { " (best)" } else { "" }
            ))
        };
        save().map_err(|e| {
            let n = end.state.epochs_done;
            let kept = match n - 1 {
                0 => "no epoch was saved before".to_string(),
                1 => "epoch 1 stays saved".to_string(),
                k => format!("epochs 1-{k} stay saved"),
            };
            TrainError::Observer(Box::new(RunError::NotSaved {
                epoch: n,
                kept,
                source: Box::new(e),
            }))
        })?;
        self.hooks.epoch_end(end.metrics, end.is_best);
        Ok(())
    }

    fn stop_requested(&self) -> bool {
        self.hooks.stop_requested()
    }
}

/// Trains the run in `dir` on `(train, test)` with the network `init` builds: from scratch
/// when it has no checkpoint yet, otherwise from its last checkpoint, with the same weights,
/// optimizer state, learning-rate schedule position and batch order as if it had never
/// stopped. Returns the trained network. `device` must be an autodiff device.
pub fn train<M: SpikingClassifier>(
    dir: &RunDir,
    config: &RunConfig,
    init: impl NetworkInit<M>,
    train: &dyn Dataset,
    test: &dyn Dataset,
    device: &Device,
    hooks: &mut dyn RunHooks,
) -> Result<M, RunError> {
    train_data_parallel(
        Arc::new(Solo),
        Some(dir),
        config,
        init,
        train,
        test,
        device,
        hooks,
    )
}

/// Watches training on the ranks other than 0: they write nothing and report nothing, but
/// may ask to stop.
struct Follower<'a> {
    hooks: &'a mut dyn RunHooks,
}

impl<M> TrainObserver<M> for Follower<'_> {
    fn epoch_end(&mut self, _: EpochEnd<'_, M>) -> Result<(), TrainError> {
        Ok(())
    }

    fn stop_requested(&self) -> bool {
        self.hooks.stop_requested()
    }
}

/// [`train`] on every rank of `world` at once, data-parallel ([`crate::distributed`]): rank 0
/// passes the run directory and alone reads and writes it (checkpoints, metrics, log) and
/// reports to its hooks; the other ranks pass `None` and get the checkpoint to resume from
/// from rank 0, so the run directory need not be on a shared file system. A run resumes on
/// any number of ranks: the checkpoint and the batch order are those of one process. All
/// ranks pass the same configuration and data.
#[allow(clippy::too_many_arguments)]
pub fn train_data_parallel<M: SpikingClassifier>(
    world: Arc<dyn Collective>,
    dir: Option<&RunDir>,
    config: &RunConfig,
    init: impl NetworkInit<M>,
    train: &dyn Dataset,
    test: &dyn Dataset,
    device: &Device,
    hooks: &mut dyn RunHooks,
) -> Result<M, RunError> {
    if dir.is_some() != world.is_root() {
        return Err(RunError::Config(format!(
            "rank {} of {} was {} a run directory: rank 0, and only rank 0, writes the run",
            world.rank(),
            world.size(),
            if dir.is_some() { "given" } else { "not given" }
        )));
    }
    let Some(dir) = dir else {
        return follow(world, config, init, train, test, device, hooks);
    };
    // Held to the end of training: a second process on the same run would interleave its
    // checkpoints and metrics with this one's.
    let started = start(world.as_ref(), dir, config, &init, train, device, hooks);
    let start_message = match &started {
        Ok((_, _, message)) => Ok(message.clone()),
        Err(e) => Err(e.to_string()),
    };
    if world.size() > 1 {
        broadcast_result(world.as_ref(), start_message).map_err(RunError::Config)?;
    }
    let (_lock, (network, trainer), _) = started?;
    let mut trainer = trainer.data_parallel(world);
    let mut recorder = Recorder { dir, hooks };
    match trainer.fit(network, train, test, device, &mut recorder) {
        Err(TrainError::Stopped { epochs_done }) => {
            dir.log(&format!(
                "stopped on request during epoch {}; epochs 1-{epochs_done} are saved",
                epochs_done + 1
            ))?;
            Err(TrainError::Stopped { epochs_done }.into())
        }
        // The recorder's own error, as it was.
        Err(TrainError::Observer(e)) => match e.downcast::<RunError>() {
            Ok(e) => Err(*e),
            Err(e) => Err(TrainError::Observer(e).into()),
        },
        other => Ok(other?),
    }
}

/// Rank 0's start: the run's lock, its network and trainer, from scratch or from the last
/// checkpoint, and what the other ranks need of it (the optimizer state and where training
/// stands) as one message.
#[allow(clippy::type_complexity)]
fn start<M: SpikingClassifier>(
    world: &dyn Collective,
    dir: &RunDir,
    config: &RunConfig,
    init: &impl NetworkInit<M>,
    train: &dyn Dataset,
    device: &Device,
    hooks: &mut dyn RunHooks,
) -> Result<(RunLock, (M, Trainer), Vec<u8>), RunError> {
    config.validate()?;
    let lock = dir.lock()?;
    let mut notes = Vec::new();
    if let Some(pid) = lock.taken_over() {
        notes.push(format!(
            "{}: process {pid} held the run and ended without releasing it (killed?); taken over",
            lock.path().display()
        ));
    }
    let network = build_network(config, init, train, device)?;
    // Everything is read and checked before anything is written: a damaged checkpoint
    // leaves the directory as it is.
    let (network, resume) = match dir.checkpoint(CheckpointKind::Last)? {
        None if config.model.init_scale == InitScale::Threshold => {
            let batch = || first_batch(train, &config.train, device);
            (scale_linear_charges(network, batch)?, None)
        }
        None => (network, None),
        Some(c) => (
            load_weights(network, c.model, &c.dir)?,
            Some((c.optimizer, c.state)),
        ),
    };
    let metrics = dir.read_metrics()?;
    // Metrics are appended before their checkpoint is written: lines after the checkpoint's
    // epoch belong to epochs that are trained again now.
    let done = resume.as_ref().map_or(0, |(_, state)| state.epochs_done);
    let kept: Vec<&str> = (metrics.epochs.iter().zip(&metrics.lines))
        .filter(|(m, _)| m.epoch < done)
        .map(|(_, line)| line.as_str())
        .collect();
    let epochs = metrics.epochs.iter().map(|m| m.epoch).filter(|&e| e < done);
    if epochs.ne(0..done) {
        return Err(RunError::Corrupt {
            path: dir.path().join("metrics.jsonl"),
            message: format!(
                "the last checkpoint is after epoch {done}, but the metrics of epochs 1-{done} are not all there"
            ),
        });
    }
    notes.extend(dir.recover(resume.as_ref().map(|(_, state)| state))?);
    if metrics.torn {
        notes.push(format!(
            "{}: dropped an incomplete last line (the run stopped while writing it)",
            dir.path().join("metrics.jsonl").display()
        ));
    }
    for note in &notes {
        dir.log(note)?;
        hooks.notice(note);
    }
    dir.write_metric_lines(&kept)?;
    if world.size() > 1 {
        dir.log(&format!("training data-parallel on {} ranks", world.size()))?;
    }
    let parallel = world.size() > 1;
    let mut message = Vec::new();
    if parallel {
        message.push(module_bytes(&network).map_err(RunError::Config)?);
    }
    let trainer = match resume {
        None => Trainer::new(config.train.clone(), &network)?,
        Some((optimizer, state)) => {
            dir.log(&format!("resumed after epoch {done}"))?;
            let optimizer = if parallel {
                let bytes = optimizer_bytes(optimizer).map_err(RunError::Config)?;
                message.push(serde_json::to_vec(&state).expect("state serialises"));
                let record = optimizer_record(bytes.clone()).map_err(RunError::Config)?;
                message.push(bytes);
                record
            } else {
                optimizer
            };
            Trainer::resume(config.train.clone(), &network, optimizer, state)?
        }
    };
    let message: Vec<&[u8]> = message.iter().map(Vec::as_slice).collect();
    Ok((lock, (network, trainer), pack(&message)))
}

/// A rank other than 0: its trainer from rank 0's start message, then its share of the work.
fn follow<M: SpikingClassifier>(
    world: Arc<dyn Collective>,
    config: &RunConfig,
    init: impl NetworkInit<M>,
    train: &dyn Dataset,
    test: &dyn Dataset,
    device: &Device,
    hooks: &mut dyn RunHooks,
) -> Result<M, RunError> {
    let message = broadcast_result(world.as_ref(), Ok(Vec::new())).map_err(RunError::OtherRank)?;
    let mut parts = unpack(&message).map_err(RunError::Config)?.into_iter();
    let malformed = || RunError::Config("rank 0's start message is malformed".into());
    // This network gives the shapes; the weights, and the parameter ids that key the
    // optimizer state, are rank 0's.
    let network = build_network(config, &init, train, device)?;
    let network =
        load_module(network, parts.next().ok_or_else(malformed)?).map_err(RunError::Config)?;
    let trainer = match (parts.next(), parts.next()) {
        (None, _) => Trainer::new(config.train.clone(), &network)?,
        (Some(state), Some(optimizer)) => {
            let optimizer = optimizer_record(optimizer).map_err(RunError::Config)?;
            let state = serde_json::from_slice(&state)
                .map_err(|e| RunError::Config(format!("rank 0's training state: {e}")))?;
            Trainer::resume(config.train.clone(), &network, optimizer, state)?
        }
        (Some(_), None) => return Err(malformed()),
    };
    let mut trainer = trainer.data_parallel(world);
    Ok(trainer.fit(network, train, test, device, &mut Follower { hooks })?)
}

/// The network `init` builds, with the weights saved in `dir`'s checkpoint of `kind`, for
/// data like `data`, on `device`; and the training state it was saved at.
pub fn load_network<M: SpikingClassifier>(
    dir: &RunDir,
    config: &RunConfig,
    kind: CheckpointKind,
    init: impl NetworkInit<M>,
    data: &dyn Dataset,
    device: &Device,
) -> Result<(M, TrainState), RunError> {
    let Some(checkpoint) = dir.checkpoint(kind)? else {
        return Err(RunError::Config(format!(
            "{} has no checkpoint yet: no epoch has completed",
            dir.path().display()
        )));
    };
    let network = build_network(config, &init, data, device)?;
    let network = load_weights(network, checkpoint.model, &checkpoint.dir)?;
    Ok((network, checkpoint.state))
}

/// What the weights of `dir`'s checkpoint of `kind` are, for reports:
/// `runs/x (best checkpoint, after epoch 3)`.
pub fn checkpoint_label(dir: &RunDir, kind: CheckpointKind, state: &TrainState) -> String {
    format!(
        "{} ({kind} checkpoint, after epoch {})",
        dir.path().display(),
        state.epochs_done
    )
}

fn load_weights<M: SpikingClassifier>(
    network: M,
    record: burn::store::ModuleRecord,
    dir: &std::path::Path,
) -> Result<M, RunError> {
    network.try_load_record(record).map_err(|e| {
        let e = e.to_string();
        // Batch norms count their training batches since the running statistics started
        // from the data; checkpoints written before hold no count.
        let hint = if e.contains("batches_tracked") {
            "; it was written by a dalif older than batch norms' batches_tracked, which \
                 cannot continue it: retrain, or finish it with that version"
        } else {
            ""
        };
        RunError::Corrupt {
            path: dir.join("model.bpk"),
            message: format!("does not fit the configured network: {e}{hint}"),
        }
    })
}

/// One run of a series (seeds, ablation, sweep): where it goes, its configuration and its
/// name in reports. Runs of a series are independent: `mpirun` spreads them over its ranks.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// The run directory.
    pub path: PathBuf,
    /// Its configuration.
    pub config: RunConfig,
    /// Its name: the grid point, `<variant>/seed-<s>`, `seed-<s>`.
    pub name: String,
}

/// The run directory of one variant of a series (ablation, sweep): the run already at
/// `path` when it has `config` (to reuse or resume), else a new one.
pub fn run_dir_for(path: &std::path::Path, config: &RunConfig) -> Result<RunDir, RunError> {
    if !path.join("config.toml").exists() {
        return RunDir::create(path, config);
    }
    let (dir, existing) = RunDir::open(path)?;
    if existing != *config {
        return Err(RunError::OtherRun(path.to_path_buf()));
    }
    Ok(dir)
}
