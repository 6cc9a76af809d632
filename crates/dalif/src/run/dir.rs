//! The run directory: what a run leaves on disk, written so that no interruption loses more
//! than the epoch in progress.
//!
//! ```text
//! RUN_DIR/
//!   config.toml          the resolved configuration
//!   metrics.jsonl        one JSON object per completed epoch (EpochMetrics)
//!   log.txt              what the run printed, with resumes and stops
//!   lock                 held (flock) by the process training the run; holds its pid
//!   checkpoints/
//!     last, best         one line each: the name of a checkpoint folder
//!     epoch-0007/        model.bpk (weights, burnpack), optimizer.bpk, state.json
//! ```
//!
//! A checkpoint folder is written under a temporary name, its files and the folder synced, and
//! renamed into place when complete; then the `best` pointer and after it the `last` pointer
//! are replaced atomically (write, fsync, rename, fsync of the folder), and only then are
//! folders no pointer names removed. So at every instant the pointers name complete
//! checkpoints, and `best` is never older than what the `last` checkpoint's state calls the
//! best epoch: [`RunDir::recover`] puts `best` back in step with `last` when a run stopped
//! between the two.

use crate::names::{self, named};
use crate::training::{EpochMetrics, TrainState};
use burn::module::Module;
use burn::optim::{ModuleOptimizer, OptimizerRecord};
use burn::store::ModuleRecord;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use strum::{Display, EnumMessage, EnumString, IntoStaticStr, VariantArray};

use super::{RunConfig, RunError};

const CONFIG: &str = "config.toml";
const METRICS: &str = "metrics.jsonl";
const LOG: &str = "log.txt";
const CHECKPOINTS: &str = "checkpoints";
const MODEL: &str = "model.bpk";
const OPTIMIZER: &str = "optimizer.bpk";
const STATE: &str = "state.json";
const LOCK: &str = "lock";

/// Which checkpoint of a run; its name is also that of its pointer file.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Display, EnumString, IntoStaticStr, VariantArray, EnumMessage,
)]
#[strum(
    serialize_all = "kebab-case",
    parse_err_ty = names::UnknownName,
    parse_err_fn = names::unknown::<Self>
)]
pub enum CheckpointKind {
    /// The end of the last completed epoch.
    Last,
    /// The epoch with the best test accuracy.
    Best,
}

named!(CheckpointKind, "checkpoint");

impl CheckpointKind {
    fn pointer(self) -> &'static str {
        self.into()
    }
}

/// A checkpoint read back from disk.
pub struct Checkpoint {
    /// The network's weights (and batch-norm statistics).
    pub model: ModuleRecord,
    /// The optimiser's state (momenta, moments), keyed by parameter id.
    pub optimizer: OptimizerRecord,
    /// Where training stood after the checkpoint's epoch.
    pub state: TrainState,
    /// The folder it was read from.
    pub dir: PathBuf,
}

/// A run directory.
#[derive(Clone, Debug)]
pub struct RunDir {
    path: PathBuf,
}

/// The lock of a run directory, held while a process trains it (see [`RunDir::lock`]);
/// released when dropped, or by the system when the process ends in any other way.
#[derive(Debug)]
pub struct RunLock {
    file: fs::File,
    taken_over: Option<u32>,
    path: PathBuf,
}

impl RunLock {
    /// The pid of a process that held the lock and ended without releasing it (killed,
    /// crashed, or its machine went down): its run stopped abruptly.
    pub fn taken_over(&self) -> Option<u32> {
        self.taken_over
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Emptied while still held, so that the next process can tell a released lock from
        // one whose holder died; the file itself stays (removing it would let two processes
        // lock two different files of the same name).
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to a new file at `path` and syncs them to the disk.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    let mut file = fs::File::create(path).map_err(io(path))?;
    file.write_all(bytes).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

/// Syncs the folder `dir`, so that a rename or a new entry in it survives a power cut: a
/// rename is a change of the folder, and syncing the file alone does not persist it.
fn sync_dir(dir: &Path) -> Result<(), RunError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

/// The folder holding `path` (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Replaces `path` with `bytes` all at once: a reader sees the old content or the new one,
/// and once this returns the new content survives a crash or a power cut.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let written = write_synced(&tmp, bytes).and_then(|()| fs::rename(&tmp, path).map_err(io(path)));
    if written.is_err() {
        // On a full disk the half-written copy would keep the space the error asks to free.
        let _ = fs::remove_file(&tmp);
    }
    written?;
    sync_dir(parent(path))
}

/// Whether `name` is a temporary entry of [`write_atomic`] or [`RunDir::save_checkpoint`]
/// (`.NAME.tmp-PID`), and the pid that wrote it.
fn temporary(name: &str) -> Option<u32> {
    let (_, pid) = name.strip_prefix('.')?.rsplit_once(".tmp-")?;
    pid.parse().ok()
}

/// `metrics.jsonl` read back: the epochs, and whether a torn last line was left out.
pub(crate) struct MetricsFile {
    pub epochs: Vec<EpochMetrics>,
    /// The text of each epoch's line, without its newline: a resumed run keeps the lines of
    /// the epochs it keeps byte for byte as they were written, whatever wrote them (another
    /// key order, another spelling of a number), rather than as it would write them.
    pub lines: Vec<String>,
    /// The last line was incomplete (no newline) and unreadable: the run was killed, or the
    /// disk filled up, while appending it. Its epoch never reached a checkpoint (metrics are
    /// appended before the checkpoint is written), so nothing is lost by leaving it out.
    pub torn: bool,
}

fn corrupt(path: &Path, message: impl std::fmt::Display) -> RunError {
    RunError::Corrupt {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Whether the folder `path` holds nothing of a run: it is empty, or holds only what a
/// `create` killed before `config.toml` was in place leaves (an empty `checkpoints/`, a
/// temporary `config.toml`), which a new run may take over.
fn holds_no_run(path: &Path) -> Result<bool, RunError> {
    if !path.is_dir() {
        return Ok(false);
    }
    for entry in fs::read_dir(path).map_err(io(path))? {
        let entry = entry.map_err(io(path))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let left_by_create = if name == CHECKPOINTS {
            let dir = entry.path();
            dir.is_dir() && fs::read_dir(&dir).map_err(io(&dir))?.next().is_none()
        } else {
            name.starts_with(&format!(".{CONFIG}.tmp-"))
        };
        if !left_by_create {
            return Ok(false);
        }
    }
    Ok(true)
}

impl RunDir {
    /// Creates a run directory at `path` for `config`. `path` must not exist or be an empty
    /// folder: an existing run is never overwritten (continue it with `--resume`).
    pub fn create(path: &Path, config: &RunConfig) -> Result<Self, RunError> {
        if path.exists() && !holds_no_run(path)? {
            return Err(RunError::Exists(path.to_path_buf()));
        }
        fs::create_dir_all(path.join(CHECKPOINTS)).map_err(io(path))?;
        sync_dir(parent(path))?;
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

    /// The run's folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the run's lock: one process at a time trains a run. Fails with
    /// [`RunError::Locked`] while another process holds it. The lock is the operating
    /// system's (`flock`), so it goes with the process that holds it, however that ends; the
    /// pid written into the lock file tells a later process that a run was killed (see
    /// [`RunLock::taken_over`]).
    pub fn lock(&self) -> Result<RunLock, RunError> {
        let path = self.path.join(LOCK);
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        let mut text = String::new();
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                // The holder writes its pid right after locking: it may not be there yet.
                let _ = std::io::Read::read_to_string(&mut file, &mut text);
                return Err(RunError::Locked {
                    dir: self.path.clone(),
                    pid: text.trim().parse().ok(),
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
        }
        std::io::Read::read_to_string(&mut file, &mut text).map_err(io(&path))?;
        // A released lock leaves the file empty (see `Drop`): a pid left in it is that of a
        // process that ended without releasing it, whose lock the system has dropped.
        let taken_over = text.trim().parse().ok();
        file.set_len(0).map_err(io(&path))?;
        std::io::Seek::rewind(&mut file).map_err(io(&path))?;
        writeln!(file, "{}", std::process::id()).map_err(io(&path))?;
        file.sync_data().map_err(io(&path))?;
        Ok(RunLock {
            file,
            taken_over,
            path,
        })
    }

    /// Appends `line` to the log.
    pub fn log(&self, line: &str) -> Result<(), RunError> {
        let path = self.path.join(LOG);
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        file.write_all(format!("{line}\n").as_bytes())
            .map_err(io(&path))
    }

    /// The metrics of the completed epochs, in order. A torn last line (the prefix an
    /// interrupted append leaves, without its newline) is left out; any other unreadable line
    /// is an error naming it.
    pub fn metrics(&self) -> Result<Vec<EpochMetrics>, RunError> {
        Ok(self.read_metrics()?.epochs)
    }

    pub(crate) fn read_metrics(&self) -> Result<MetricsFile, RunError> {
        let path = self.path.join(METRICS);
        if !path.exists() {
            return Ok(MetricsFile {
                epochs: Vec::new(),
                lines: Vec::new(),
                torn: false,
            });
        }
        let text = fs::read_to_string(&path).map_err(io(&path))?;
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let (mut epochs, mut kept) = (Vec::new(), Vec::new());
        let mut torn = false;
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str(line) {
                Ok(m) => {
                    epochs.push(m);
                    kept.push(line.trim_end().to_string());
                }
                // Every line is written whole with its newline: one without it, at the end,
                // is a write that was cut short.
                Err(_) if i + 1 == lines.len() && !line.ends_with('\n') => torn = true,
                Err(e) => return Err(corrupt(&path, format!("line {}: {e}", i + 1))),
            }
        }
        Ok(MetricsFile {
            epochs,
            lines: kept,
            torn,
        })
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

    /// Rewrites the metrics log with `lines` as they are (see [`MetricsFile::lines`]).
    pub(crate) fn write_metric_lines(&self, lines: &[&str]) -> Result<(), RunError> {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        write_atomic(&self.path.join(METRICS), text.as_bytes())
    }

    /// Appends one epoch's metrics to `metrics.jsonl`, as one JSON line, and syncs it to disk.
    pub fn append_metrics(&self, metrics: &EpochMetrics) -> Result<(), RunError> {
        let path = self.path.join(METRICS);
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        // One write of the whole line: an interruption leaves a prefix without its newline,
        // which `read_metrics` recognises as torn.
        let line = serde_json::to_string(metrics).expect("metrics serialise") + "\n";
        file.write_all(line.as_bytes()).map_err(io(&path))?;
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
        let written = self.write_checkpoint_files(&tmp, model, optimizer, state);
        if written.is_err() {
            // On a full disk the partial folder would hold on to the space the error asks to
            // free; the checkpoints named by the pointers are untouched.
            let _ = fs::remove_dir_all(&tmp);
        }
        written?;
        let dest = root.join(&name);
        if dest.exists() {
            // Left by a run that stopped between writing this epoch and naming it (`recover`
            // has pointed `best` back at or before `last`, so no pointer names it).
            fs::remove_dir_all(&dest).map_err(io(&dest))?;
        }
        fs::rename(&tmp, &dest).map_err(io(&dest))?;
        sync_dir(&root)?;
        // `best` before `last`: a stop between the two leaves `best` one epoch ahead of
        // `last`, which `recover` puts back. The other order would leave a `last` whose state
        // calls this epoch the best while `best` names an older folder, and the next save
        // would delete this epoch, the real best, as unnamed.
        if is_best {
            write_atomic(
                &root.join(CheckpointKind::Best.pointer()),
                format!("{name}\n").as_bytes(),
            )?;
        }
        write_atomic(
            &root.join(CheckpointKind::Last.pointer()),
            format!("{name}\n").as_bytes(),
        )?;
        self.remove_unnamed_checkpoints()?;
        self.remove_temporaries(false).map(|_| ())
    }

    fn write_checkpoint_files<M: Module>(
        &self,
        dir: &Path,
        model: &M,
        optimizer: &ModuleOptimizer,
        state: &TrainState,
    ) -> Result<(), RunError> {
        let model_path = dir.join(MODEL);
        let bytes = model
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| RunError::Write {
                path: model_path.clone(),
                message: format!("cannot serialise the weights: {e}"),
            })?;
        write_synced(&model_path, &bytes)?;
        let optimizer_path = dir.join(OPTIMIZER);
        let bytes = optimizer.into_bytes().map_err(|e| RunError::Write {
            path: optimizer_path.clone(),
            message: format!("cannot serialise the optimizer state: {e}"),
        })?;
        write_synced(&optimizer_path, &bytes)?;
        let state_json = serde_json::to_string_pretty(state).expect("state serialises");
        write_synced(&dir.join(STATE), state_json.as_bytes())?;
        sync_dir(dir)
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

    /// Removes the temporary files and folders (`.NAME.tmp-PID`) of the run directory and its
    /// checkpoints that other processes left: they were killed while writing them (the lock
    /// lets one process at a time write here). `all` removes this process's as well (nothing
    /// of it is being written when a run starts). Returns the paths removed.
    fn remove_temporaries(&self, all: bool) -> Result<Vec<PathBuf>, RunError> {
        let mut removed = Vec::new();
        for folder in [self.path.clone(), self.path.join(CHECKPOINTS)] {
            let Ok(entries) = fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries {
                let entry = entry.map_err(io(&folder))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let Some(pid) = temporary(&name) else {
                    continue;
                };
                if pid == std::process::id() && !all {
                    continue;
                }
                let path = entry.path();
                let is_dir = entry.file_type().map_err(io(&path))?.is_dir();
                if is_dir {
                    fs::remove_dir_all(&path).map_err(io(&path))?;
                } else {
                    fs::remove_file(&path).map_err(io(&path))?;
                }
                removed.push(path);
            }
        }
        Ok(removed)
    }

    /// Makes the run directory consistent before training starts again, after whatever
    /// stopped the run before (a kill, a power cut, a full disk), and says what it repaired.
    /// `last` is the state of the checkpoint training continues from (`None`: training
    /// starts from scratch). Removes temporary files left by killed processes; points `best`
    /// at the checkpoint `last`'s state calls the best (a run stopped between naming `best`
    /// and `last` leaves `best` an epoch ahead, on an epoch that is trained again now);
    /// removes checkpoint folders no pointer names.
    pub fn recover(&self, last: Option<&TrainState>) -> Result<Vec<String>, RunError> {
        let mut notes: Vec<String> = self
            .remove_temporaries(true)?
            .iter()
            .map(|p| {
                format!(
                    "removed {}, left by a run that was stopped while writing it",
                    p.display()
                )
            })
            .collect();
        let root = self.path.join(CHECKPOINTS);
        let best_path = root.join(CheckpointKind::Best.pointer());
        let pointed = self.pointed(CheckpointKind::Best)?;
        let wanted = last
            .and_then(|s| s.best)
            .map(|(epoch, _)| format!("epoch-{:04}", epoch + 1));
        match (&pointed, &wanted) {
            (p, Some(w)) if p.as_ref() != Some(w) && root.join(w).is_dir() => {
                write_atomic(&best_path, format!("{w}\n").as_bytes())?;
                notes.push(format!(
                    "{}: named {}, not the best epoch of the last checkpoint; set back to {w}",
                    best_path.display(),
                    p.as_deref().unwrap_or("nothing")
                ));
            }
            (Some(p), None) => {
                fs::remove_file(&best_path).map_err(io(&best_path))?;
                sync_dir(&root)?;
                notes.push(format!(
                    "{}: removed; it named {p}, but no epoch before it was saved as the last",
                    best_path.display()
                ));
            }
            _ => {}
        }
        self.remove_unnamed_checkpoints()?;
        Ok(notes)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::OptimizerKind;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::Device;

    fn tempdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dalif-dir-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn run_dir(name: &str) -> RunDir {
        RunDir::create(&tempdir(name), &RunConfig::default()).unwrap()
    }

    fn model() -> Linear {
        LinearConfig::new(2, 2).init(&Device::flex())
    }

    fn optimizer() -> ModuleOptimizer {
        OptimizerKind::Sgd.init(0.0, Vec::new())
    }

    /// The state after `epochs_done` epochs whose best was epoch `best` (from 1).
    fn state(epochs_done: usize, best: usize) -> TrainState {
        TrainState {
            epochs_done,
            step: 10 * epochs_done,
            best: Some((best - 1, 0.5)),
        }
    }

    /// Makes the next atomic write of `pointer` by this process fail, as a kill just before
    /// it would leave things: its temporary name is taken by a folder.
    fn block(dir: &RunDir, pointer: &str) -> PathBuf {
        let blocker = dir
            .path()
            .join(CHECKPOINTS)
            .join(format!(".{pointer}.tmp-{}", std::process::id()));
        fs::create_dir_all(blocker.join("x")).unwrap();
        blocker
    }

    fn epochs_of(dir: &RunDir, kind: CheckpointKind) -> usize {
        dir.checkpoint(kind).unwrap().unwrap().state.epochs_done
    }

    #[test]
    fn a_stop_while_naming_the_best_epoch_never_loses_it() {
        let dir = run_dir("best-order");
        let (model, optimizer) = (model(), optimizer());
        dir.save_checkpoint(&model, &optimizer, &state(1, 1), true)
            .unwrap();
        // Epoch 2 is the best: the run stops between its two pointers.
        let blocker = block(&dir, "best");
        dir.save_checkpoint(&model, &optimizer, &state(2, 2), true)
            .unwrap_err();
        fs::remove_dir_all(blocker).unwrap();
        // The run resumes from `last` and, deterministic, trains the same epochs again.
        let from = dir.checkpoint(CheckpointKind::Last).unwrap().unwrap().state;
        for epochs in from.epochs_done + 1..=3 {
            dir.save_checkpoint(&model, &optimizer, &state(epochs, 2), epochs == 2)
                .unwrap();
        }
        assert_eq!(epochs_of(&dir, CheckpointKind::Last), 3);
        assert_eq!(
            epochs_of(&dir, CheckpointKind::Best),
            2,
            "the best epoch's checkpoint is kept"
        );
    }

    #[test]
    fn recover_puts_best_back_in_step_with_last() {
        let dir = run_dir("best-recover");
        let (model, optimizer) = (model(), optimizer());
        dir.save_checkpoint(&model, &optimizer, &state(1, 1), true)
            .unwrap();
        // Stopped after naming epoch 2 the best, before naming it the last.
        let blocker = block(&dir, "last");
        dir.save_checkpoint(&model, &optimizer, &state(2, 2), true)
            .unwrap_err();
        fs::remove_dir_all(blocker).unwrap();
        assert_eq!(epochs_of(&dir, CheckpointKind::Last), 1);
        let from = dir.checkpoint(CheckpointKind::Last).unwrap().unwrap().state;
        let notes = dir.recover(Some(&from)).unwrap();
        assert!(
            notes.iter().any(|n| n.contains("set back to epoch-0001")),
            "{notes:?}"
        );
        assert_eq!(epochs_of(&dir, CheckpointKind::Best), 1);
        // Trained again (on a GPU, say, not bit for bit), epoch 2 is not the best this time.
        dir.save_checkpoint(&model, &optimizer, &state(2, 1), false)
            .unwrap();
        dir.save_checkpoint(&model, &optimizer, &state(3, 1), false)
            .unwrap();
        assert_eq!(epochs_of(&dir, CheckpointKind::Best), 1);
        let names: Vec<String> = fs::read_dir(dir.path().join(CHECKPOINTS))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("epoch-"))
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");

        // No last checkpoint at all: a `best` from a first epoch that was never named last
        // goes.
        let dir = run_dir("best-recover-first");
        let blocker = block(&dir, "last");
        dir.save_checkpoint(&model, &optimizer, &state(1, 1), true)
            .unwrap_err();
        fs::remove_dir_all(blocker).unwrap();
        dir.recover(None).unwrap();
        assert!(dir.checkpoint(CheckpointKind::Best).unwrap().is_none());
        assert!(!dir.path().join(CHECKPOINTS).join("epoch-0001").exists());
    }

    fn metrics(epoch: usize) -> EpochMetrics {
        EpochMetrics {
            epoch,
            train_loss: 1.0,
            train_accuracy: 0.5,
            test_loss: 1.0,
            test_accuracy: 0.5,
            lr: 0.1,
            alpha: vec![0.5],
            beta: vec![0.5],
            firing_rate: vec![0.1],
            init_firing_rate: None,
            seconds: 1.0,
            loader_wait_seconds: 0.0,
            neuron: String::new(),
        }
    }

    #[test]
    fn a_torn_last_metrics_line_is_dropped_and_a_corrupt_one_named() {
        let dir = run_dir("torn");
        dir.append_metrics(&metrics(0)).unwrap();
        dir.append_metrics(&metrics(1)).unwrap();
        let path = dir.path().join(METRICS);
        let whole = fs::read_to_string(&path).unwrap();
        let line = serde_json::to_string(&metrics(2)).unwrap();
        fs::write(&path, format!("{whole}{}", &line[..line.len() / 2])).unwrap();
        let read = dir.read_metrics().unwrap();
        assert!(read.torn);
        assert_eq!(read.epochs, vec![metrics(0), metrics(1)]);
        assert_eq!(dir.metrics().unwrap().len(), 2);

        // An unreadable line that is not a cut-short last one is damage, not a kill.
        for text in [
            format!("{whole}garbage\n"),
            whole.replacen('\n', "\ngarbage\n", 1),
        ] {
            fs::write(&path, &text).unwrap();
            let err = dir.metrics().unwrap_err().to_string();
            let line = text.lines().position(|l| l == "garbage").unwrap() + 1;
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert!(err.contains(&format!("line {line}:")), "{err}");
        }
    }

    #[test]
    fn temporaries_of_killed_processes_are_removed() {
        let dir = run_dir("orphans");
        let (model, optimizer) = (model(), optimizer());
        let root = dir.path().join(CHECKPOINTS);
        // pid_max is at most 2^22: these pids belong to no process.
        let orphan = root.join(".epoch-0003.tmp-4194999");
        fs::create_dir_all(&orphan).unwrap();
        fs::write(orphan.join(MODEL), b"half").unwrap();
        let orphan_pointer = root.join(".last.tmp-4194998");
        fs::write(&orphan_pointer, b"epoch-").unwrap();
        let orphan_metrics = dir.path().join(".metrics.jsonl.tmp-4194997");
        fs::write(&orphan_metrics, b"{").unwrap();
        let own = dir
            .path()
            .join(format!(".config.toml.tmp-{}", std::process::id()));
        fs::write(&own, b"epoch-").unwrap();

        dir.save_checkpoint(&model, &optimizer, &state(1, 1), true)
            .unwrap();
        assert!(!orphan.exists() && !orphan_pointer.exists() && !orphan_metrics.exists());
        assert!(own.exists(), "a save leaves this process's own temporaries");
        let notes = dir.recover(Some(&state(1, 1))).unwrap();
        assert!(!own.exists(), "a run that starts removes them all");
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(epochs_of(&dir, CheckpointKind::Last), 1);
    }

    #[test]
    fn a_second_process_is_refused_and_a_dead_ones_lock_taken_over() {
        let dir = run_dir("lock");
        let held = dir.lock().unwrap();
        assert_eq!(held.taken_over(), None);
        // Another open file description conflicts like another process would.
        let err = dir.lock().unwrap_err();
        assert!(
            matches!(err, RunError::Locked { pid: Some(p), .. } if p == std::process::id()),
            "{err}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&dir.path().display().to_string())
                && message.contains("another process")
                && message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        drop(held);
        let again = dir.lock().unwrap();
        assert_eq!(
            again.taken_over(),
            None,
            "a released lock is not a dead one"
        );
        drop(again);
        // A process killed while holding the lock leaves its pid; the system dropped its lock.
        fs::write(dir.path().join(LOCK), "4194999\n").unwrap();
        let taken = dir.lock().unwrap();
        assert_eq!(taken.taken_over(), Some(4_194_999));
        assert_eq!(
            fs::read_to_string(dir.path().join(LOCK)).unwrap().trim(),
            std::process::id().to_string()
        );
    }

    #[test]
    fn write_atomic_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempdir("atomic");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.txt");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        assert_eq!(temporary(".f.txt.tmp-12"), Some(12));
        assert_eq!(temporary(".epoch-0002.tmp-7"), Some(7));
        assert_eq!(temporary("epoch-0002"), None);
        assert_eq!(temporary(".f.tmp-x"), None);
    }

    #[test]
    fn a_folder_left_by_a_killed_create_is_taken_over_and_a_run_is_not() {
        // Killed after making the folders, before config.toml was renamed into place.
        let path = tempdir("killed-create");
        fs::create_dir_all(path.join(CHECKPOINTS)).unwrap();
        fs::write(path.join(".config.toml.tmp-4194990"), "[train").unwrap();
        let dir = RunDir::create(&path, &RunConfig::default()).unwrap();
        assert!(RunDir::open(dir.path()).is_ok());
        // A run, or any other file, is never overwritten.
        let err = RunDir::create(&path, &RunConfig::default()).unwrap_err();
        assert!(matches!(err, RunError::Exists(_)), "{err}");
        let other = tempdir("not-a-run");
        fs::create_dir_all(other.join(CHECKPOINTS)).unwrap();
        fs::write(other.join(CHECKPOINTS).join("notes.txt"), "mine").unwrap();
        let err = RunDir::create(&other, &RunConfig::default()).unwrap_err();
        assert!(matches!(err, RunError::Exists(_)), "{err}");
    }

    #[test]
    fn numbers_in_metrics_read_back_to_the_bit() {
        // serde_json's default float parser is off by one ulp on some values (a learning rate
        // of the cosine schedule was one); its `float_roundtrip` feature is exact.
        let mut x = 0.000_213_878_465_654_740_46_f64;
        for _ in 0..10_000 {
            let text = serde_json::to_string(&x).unwrap();
            let back: f64 = serde_json::from_str(&text).unwrap();
            assert_eq!(back.to_bits(), x.to_bits(), "{text}");
            x = (x * 1.618_033_988_749_895 + 0.1).fract() / 7.0;
        }
    }
}
