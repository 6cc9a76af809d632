//! The run directory: what a run leaves on disk, written so that no interruption loses more
//! than the epoch in progress.
//!
//! ```text
//! RUN_DIR/
//!   config.toml          the resolved configuration
//!   metrics.jsonl        one JSON object per completed epoch (EpochMetrics)
//!   log.txt              what the run printed, with resumes and stops
//!   checkpoints/
//!     last, best         one line each: the name of a checkpoint folder
//!     epoch-0007/        model.bpk (weights, burnpack), optimizer.bpk, state.json
//! ```
//!
//! A checkpoint folder is written under a temporary name and renamed into place when
//! complete; the `last`/`best` pointers are replaced atomically (write, fsync, rename)
//! afterwards, and only then are folders no pointer names removed. So at every instant the
//! pointers name complete checkpoints.

use crate::training::{EpochMetrics, TrainState};
use burn::module::Module;
use burn::optim::{ModuleOptimizer, OptimizerRecord};
use burn::store::ModuleRecord;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{RunConfig, RunError};

const CONFIG: &str = "config.toml";
const METRICS: &str = "metrics.jsonl";
const LOG: &str = "log.txt";
const CHECKPOINTS: &str = "checkpoints";
const MODEL: &str = "model.bpk";
const OPTIMIZER: &str = "optimizer.bpk";
const STATE: &str = "state.json";

/// Which checkpoint of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointKind {
    /// The end of the last completed epoch.
    Last,
    /// The epoch with the best test accuracy.
    Best,
}

impl CheckpointKind {
    fn pointer(self) -> &'static str {
        match self {
            CheckpointKind::Last => "last",
            CheckpointKind::Best => "best",
        }
    }
}

/// A checkpoint read back from disk.
pub struct Checkpoint {
    pub model: ModuleRecord,
    pub optimizer: OptimizerRecord,
    pub state: TrainState,
    /// The folder it was read from.
    pub dir: PathBuf,
}

/// A run directory.
#[derive(Clone, Debug)]
pub struct RunDir {
    path: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Replaces `path` with `bytes` all at once: a reader sees the old content or the new one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let mut file = fs::File::create(&tmp).map_err(io(&tmp))?;
    file.write_all(bytes).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))
}

fn corrupt(path: &Path, message: impl std::fmt::Display) -> RunError {
    RunError::Corrupt {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

impl RunDir {
    /// Creates a run directory at `path` for `config`. `path` must not exist or be an empty
    /// folder: an existing run is never overwritten (continue it with `--resume`).
    pub fn create(path: &Path, config: &RunConfig) -> Result<Self, RunError> {
        if path.exists() {
            let empty = path.is_dir() && fs::read_dir(path).map_err(io(path))?.next().is_none();
            if !empty {
                return Err(RunError::Exists(path.to_path_buf()));
            }
        }
        fs::create_dir_all(path.join(CHECKPOINTS)).map_err(io(path))?;
        let text = toml::to_string_pretty(config)
            .map_err(|e| RunError::Config(format!("cannot write the configuration: {e}")))?;
        write_atomic(&path.join(CONFIG), text.as_bytes())?;
        Ok(Self {
            path: path.to_path_buf(),
        })
    }

    /// Opens the run directory at `path` and reads its configuration.
    pub fn open(path: &Path) -> Result<(Self, RunConfig), RunError> {
        let config_path = path.join(CONFIG);
        if !path.is_dir() || !config_path.is_file() {
            return Err(RunError::NotARun(path.to_path_buf()));
        }
        let text = fs::read_to_string(&config_path).map_err(io(&config_path))?;
        let config = toml::from_str(&text).map_err(|e| corrupt(&config_path, e))?;
        Ok((
            Self {
                path: path.to_path_buf(),
            },
            config,
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `line` to the log.
    pub fn log(&self, line: &str) -> Result<(), RunError> {
        let path = self.path.join(LOG);
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        writeln!(file, "{line}").map_err(io(&path))
    }

    /// The metrics of the completed epochs, in order.
    pub fn metrics(&self) -> Result<Vec<EpochMetrics>, RunError> {
        let path = self.path.join(METRICS);
        if !path.exists() {
            return Ok(Vec::new());
        }
        let text = fs::read_to_string(&path).map_err(io(&path))?;
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| corrupt(&path, format!("line {}: {e}", i + 1)))
            })
            .collect()
    }

    /// Rewrites the metrics log with `metrics` (after the last one, one line is appended per
    /// epoch with [`RunDir::append_metrics`]).
    pub fn write_metrics(&self, metrics: &[EpochMetrics]) -> Result<(), RunError> {
        let mut text = String::new();
        for m in metrics {
            text += &serde_json::to_string(m).expect("metrics serialise");
            text.push('\n');
        }
        write_atomic(&self.path.join(METRICS), text.as_bytes())
    }

    pub fn append_metrics(&self, metrics: &EpochMetrics) -> Result<(), RunError> {
        let path = self.path.join(METRICS);
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        let line = serde_json::to_string(metrics).expect("metrics serialise");
        writeln!(file, "{line}").map_err(io(&path))?;
        file.sync_data().map_err(io(&path))
    }

    /// Saves the end of an epoch as the last checkpoint, and as the best one if `is_best`.
    pub fn save_checkpoint<M: Module>(
        &self,
        model: &M,
        optimizer: &ModuleOptimizer,
        state: &TrainState,
        is_best: bool,
    ) -> Result<(), RunError> {
        let root = self.path.join(CHECKPOINTS);
        let name = format!("epoch-{:04}", state.epochs_done);
        let tmp = root.join(format!(".{name}.tmp-{}", std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        let model_path = tmp.join(MODEL);
        model
            .clone()
            .into_record()
            .save(&model_path)
            .map_err(|e| corrupt(&model_path, format!("cannot save the weights: {e}")))?;
        let optimizer_path = tmp.join(OPTIMIZER);
        optimizer
            .save(&optimizer_path)
            .map_err(|e| corrupt(&optimizer_path, format!("cannot save the optimizer: {e}")))?;
        let state_json = serde_json::to_string_pretty(state).expect("state serialises");
        write_atomic(&tmp.join(STATE), state_json.as_bytes())?;
        let dest = root.join(&name);
        if dest.exists() {
            // Left by a run that stopped between writing this epoch and naming it.
            fs::remove_dir_all(&dest).map_err(io(&dest))?;
        }
        fs::rename(&tmp, &dest).map_err(io(&dest))?;
        write_atomic(&root.join("last"), format!("{name}\n").as_bytes())?;
        if is_best {
            write_atomic(&root.join("best"), format!("{name}\n").as_bytes())?;
        }
        self.remove_unnamed_checkpoints()
    }

    fn pointed(&self, kind: CheckpointKind) -> Result<Option<String>, RunError> {
        let path = self.path.join(CHECKPOINTS).join(kind.pointer());
        if !path.exists() {
            return Ok(None);
        }
        let text = fs::read_to_string(&path).map_err(io(&path))?;
        let name = text.trim();
        if !name.starts_with("epoch-") || name.contains(['/', '\\']) {
            return Err(corrupt(&path, format!("'{name}' is not a checkpoint name")));
        }
        Ok(Some(name.to_string()))
    }

    fn remove_unnamed_checkpoints(&self) -> Result<(), RunError> {
        let keep = [
            self.pointed(CheckpointKind::Last)?,
            self.pointed(CheckpointKind::Best)?,
        ];
        let root = self.path.join(CHECKPOINTS);
        for entry in fs::read_dir(&root).map_err(io(&root))? {
            let entry = entry.map_err(io(&root))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let named = keep.iter().flatten().any(|k| *k == name);
            if name.starts_with("epoch-") && !named {
                fs::remove_dir_all(entry.path()).map_err(io(&entry.path()))?;
            }
        }
        Ok(())
    }

    /// The checkpoint of `kind`, or `None` when no epoch has completed yet.
    pub fn checkpoint(&self, kind: CheckpointKind) -> Result<Option<Checkpoint>, RunError> {
        let Some(name) = self.pointed(kind)? else {
            return Ok(None);
        };
        let dir = self.path.join(CHECKPOINTS).join(name);
        let model_path = dir.join(MODEL);
        let model = ModuleRecord::load(&model_path).map_err(|e| corrupt(&model_path, e))?;
        let optimizer_path = dir.join(OPTIMIZER);
        let optimizer =
            OptimizerRecord::load(&optimizer_path).map_err(|e| corrupt(&optimizer_path, e))?;
        let state_path = dir.join(STATE);
        let text = fs::read_to_string(&state_path).map_err(io(&state_path))?;
        let state = serde_json::from_str(&text).map_err(|e| corrupt(&state_path, e))?;
        Ok(Some(Checkpoint {
            model,
            optimizer,
            state,
            dir,
        }))
    }
}
