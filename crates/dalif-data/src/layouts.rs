//! The official release layouts of the event data sets: which files, which labels, which
//! split. Each function lists the samples of one split as [`EventSource`]s.

use crate::DataError;
use crate::event_frames::EventSource;
use crate::formats::file_error;
use std::path::{Path, PathBuf};

/// The sorted sub-folders of `dir` (class folders: their sorted order gives the labels).
fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| file_error(dir, format!("cannot list: {e}")))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// The files of `dir` with extension `ext`, sorted by name.
fn files(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, DataError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| file_error(dir, format!("cannot list: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case(ext)))
        .collect();
    files.sort();
    Ok(files)
}

/// `root`, or its sub-folder `name` when `root` holds that instead of `marker` itself.
fn locate(root: &Path, name: &str, marker: &str) -> PathBuf {
    if root.join(marker).exists() {
        root.to_path_buf()
    } else {
        root.join(name)
    }
}

/// DVS128 Gesture's classes (labels `0..11`, `1..=11` in its files).
pub const DVS_GESTURE_CLASSES: usize = 11;
/// CIFAR10-DVS's classes, CIFAR-10's.
pub const CIFAR10_DVS_CLASSES: usize = 10;
/// N-MNIST's classes, the digits.
pub const NMNIST_CLASSES: usize = 10;

/// The folder of IBM's DVS128 Gesture release, and its list of training trials.
const GESTURE_DIR: &str = "DvsGesture";
const GESTURE_TRAIN_LIST: &str = "trials_to_train.txt";
/// The folder of CIFAR10-DVS, and its first class folder.
const CIFAR10_DVS_DIR: &str = "CIFAR10-DVS";
const CIFAR10_DVS_FIRST_CLASS: &str = "airplane";
/// N-MNIST's folders of the training and test split.
const NMNIST_SPLITS: [&str; 2] = ["Train", "Test"];

/// Whether `root` holds DVS128 Gesture as [`dvs_gesture`] reads it (its training list).
pub fn holds_dvs_gesture(root: &Path) -> bool {
    let dir = locate(root, GESTURE_DIR, GESTURE_TRAIN_LIST);
    dir.join(GESTURE_TRAIN_LIST).exists()
}

/// Whether `root` holds CIFAR10-DVS as [`cifar10_dvs`] reads it (its first class folder).
pub fn holds_cifar10_dvs(root: &Path) -> bool {
    let dir = locate(root, CIFAR10_DVS_DIR, CIFAR10_DVS_FIRST_CLASS);
    dir.join(CIFAR10_DVS_FIRST_CLASS).exists()
}

/// Whether `root` holds N-MNIST as [`nmnist`] reads it (`Train/` and `Test/`).
pub fn holds_nmnist(root: &Path) -> bool {
    NMNIST_SPLITS.iter().all(|s| root.join(s).exists())
}

/// DVS128 Gesture, IBM's release (`DvsGesture/`, or the folder holding it): the trials of
/// `trials_to_train.txt` or `trials_to_test.txt`, each cut into one sample per row of its
/// `<trial>_labels.csv` (`class,startTime_usec,endTime_usec`): the events with
/// `start <= t < end`, label `class - 1`. 1,176 training and 288 test samples, 11 classes.
pub fn dvs_gesture(root: &Path, train: bool) -> Result<Vec<EventSource>, DataError> {
    let list_name = if train {
        GESTURE_TRAIN_LIST
    } else {
        "trials_to_test.txt"
    };
    let dir = locate(root, GESTURE_DIR, list_name);
    let list = dir.join(list_name);
    let text = std::fs::read_to_string(&list).map_err(|e| {
        file_error(
            &list,
            format!("cannot read the DVS128 Gesture trial list: {e}"),
        )
    })?;
    let mut samples = Vec::new();
    for trial in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let file = dir.join(trial);
        let stem = trial.strip_suffix(".aedat").unwrap_or(trial);
        let labels = dir.join(format!("{stem}_labels.csv"));
        let csv = std::fs::read_to_string(&labels)
            .map_err(|e| file_error(&labels, format!("cannot read: {e}")))?;
        for (class, start, end) in gesture_labels(&csv).map_err(|m| file_error(&labels, m))? {
            samples.push(EventSource {
                file: file.clone(),
                window: Some((start, end)),
                label: class - 1,
            });
        }
    }
    Ok(samples)
}

/// The rows `(class, start, end)` of a DVS128 Gesture `<trial>_labels.csv`
/// (`class,startTime_usec,endTime_usec`, classes 1 to 11). The header row is optional: a
/// first line that is not three numbers is taken for one, so a file without it loses no
/// gesture. Errors name the line.
pub fn gesture_labels(csv: &str) -> Result<Vec<(usize, u64, u64)>, String> {
    let parse = |line: &str| -> Option<(usize, u64, u64)> {
        match line.split(',').map(str::trim).collect::<Vec<_>>()[..] {
            [c, s, e] => Some((c.parse().ok()?, s.parse().ok()?, e.parse().ok()?)),
            _ => None,
        }
    };
    let mut rows = Vec::new();
    for (n, line) in csv.lines().enumerate() {
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() {
            continue;
        }
        let Some((class, start, end)) = parse(line) else {
            if rows.is_empty() && n == 0 {
                continue;
            }
            return Err(format!(
                "line {}: '{line}' is not 'class,startTime_usec,endTime_usec'",
                n + 1
            ));
        };
        if !(1..=DVS_GESTURE_CLASSES).contains(&class) {
            return Err(format!(
                "line {}: class {class} is outside 1..={DVS_GESTURE_CLASSES}",
                n + 1
            ));
        }
        if end < start {
            return Err(format!(
                "line {}: the window ends ({end}) before it starts ({start})",
                n + 1
            ));
        }
        rows.push((class, start, end));
    }
    Ok(rows)
}

/// Which CIFAR10-DVS split.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cifar10DvsSplit {
    /// SpikingJelly's `split_to_train_test_set(0.9, ...)`: per class, in file-name order, the
    /// first `ceil(0.9 n)` recordings train and the rest test.
    #[default]
    NineToOne,
    /// The TEBN split: recordings numbered 0-99 of each class test, the others train.
    Tebn,
}

/// CIFAR10-DVS, the AEDAT 2.0 release: ten class folders (alphabetical order = CIFAR-10
/// labels) of `cifar10_<class>_<i>.aedat` recordings, possibly inside `CIFAR10-DVS/`.
pub fn cifar10_dvs(
    root: &Path,
    train: bool,
    split: Cifar10DvsSplit,
) -> Result<(Vec<EventSource>, Vec<String>), DataError> {
    let dir = locate(root, CIFAR10_DVS_DIR, CIFAR10_DVS_FIRST_CLASS);
    let classes = subdirs(&dir)?;
    if classes.len() != CIFAR10_DVS_CLASSES {
        return Err(file_error(
            &dir,
            format!(
                "{} class folders, expected the {CIFAR10_DVS_CLASSES} of CIFAR10-DVS",
                classes.len()
            ),
        ));
    }
    let mut samples = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        let recordings = files(class, "aedat")?;
        if recordings.is_empty() {
            return Err(file_error(
                class,
                "no .aedat recordings in this class folder",
            ));
        }
        let n_train = (recordings.len() * 9).div_ceil(10);
        for (k, file) in recordings.into_iter().enumerate() {
            let is_train = match split {
                Cifar10DvsSplit::NineToOne => k < n_train,
                Cifar10DvsSplit::Tebn => recording_number(&file)? >= 100,
            };
            if is_train == train {
                samples.push(EventSource {
                    file,
                    window: None,
                    label,
                });
            }
        }
    }
    let names = classes
        .iter()
        .map(|c| {
            c.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    Ok((samples, names))
}

/// The `i` of `..._<i>.aedat`.
fn recording_number(file: &Path) -> Result<usize, DataError> {
    file.file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.rsplit('_').next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| file_error(file, "the name does not end with _<number>.aedat"))
}

/// N-MNIST: `Train/<digit>/*.bin` or `Test/<digit>/*.bin` (34x34 ATIS recordings).
pub fn nmnist(root: &Path, train: bool) -> Result<Vec<EventSource>, DataError> {
    let dir = root.join(NMNIST_SPLITS[usize::from(!train)]);
    let classes = subdirs(&dir)?;
    if classes.len() != NMNIST_CLASSES {
        return Err(file_error(
            &dir,
            format!("{} class folders, expected {NMNIST_CLASSES}", classes.len()),
        ));
    }
    let mut samples = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        for file in files(class, "bin")? {
            samples.push(EventSource {
                file,
                window: None,
                label,
            });
        }
    }
    Ok(samples)
}

impl std::str::FromStr for Cifar10DvsSplit {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self, DataError> {
        match s {
            "nine-to-one" => Ok(Cifar10DvsSplit::NineToOne),
            "tebn" => Ok(Cifar10DvsSplit::Tebn),
            other => Err(DataError::Invalid(format!(
                "unknown CIFAR10-DVS split '{other}' (expected nine-to-one or tebn)"
            ))),
        }
    }
}
