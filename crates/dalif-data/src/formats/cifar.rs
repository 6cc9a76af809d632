//! CIFAR-10 and CIFAR-100, binary versions, read from the extracted folder or straight from the
//! official `.tar.gz`. Records have no header: CIFAR-10 is a label byte then 3072 pixel bytes
//! (R, G, B planes, each 32x32 row-major); CIFAR-100 has a coarse and a fine label byte first.

use super::{file_error, read};
use crate::{DataError, Dataset, Normalization, Sample};
use std::io::Read;
use std::path::{Path, PathBuf};

const PIXELS: usize = 3 * 32 * 32;

/// Which CIFAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CifarKind {
    /// CIFAR-10: 10 classes.
    Cifar10,
    /// CIFAR-100 with its 100 fine labels, or its 20 coarse ones.
    Cifar100 {
        /// The 20 coarse labels (superclasses) instead of the 100 fine ones.
        coarse: bool,
    },
}

impl CifarKind {
    fn folder(self) -> &'static str {
        match self {
            CifarKind::Cifar10 => "cifar-10-batches-bin",
            CifarKind::Cifar100 { .. } => "cifar-100-binary",
        }
    }

    fn archive(self) -> &'static str {
        match self {
            CifarKind::Cifar10 => "cifar-10-binary.tar.gz",
            CifarKind::Cifar100 { .. } => "cifar-100-binary.tar.gz",
        }
    }

    /// The record files of the training (`train = true`) or test split.
    pub fn files(self, train: bool) -> Vec<String> {
        match (self, train) {
            (CifarKind::Cifar10, true) => (1..=5).map(|i| format!("data_batch_{i}.bin")).collect(),
            (CifarKind::Cifar10, false) => vec!["test_batch.bin".into()],
            (CifarKind::Cifar100 { .. }, true) => vec!["train.bin".into()],
            (CifarKind::Cifar100 { .. }, false) => vec!["test.bin".into()],
        }
    }

    /// The file of class names, one a line.
    pub fn names_file(self) -> &'static str {
        match self {
            CifarKind::Cifar10 => "batches.meta.txt",
            CifarKind::Cifar100 { coarse: false } => "fine_label_names.txt",
            CifarKind::Cifar100 { coarse: true } => "coarse_label_names.txt",
        }
    }

    /// Whether `root` looks like this CIFAR's download: the extracted folder (with its
    /// class-names file), a folder holding it or the archive, or the archive itself.
    pub fn found_in(self, root: &Path) -> bool {
        root.join(self.names_file()).exists()
            || root.join(self.folder()).exists()
            || root.file_name().is_some_and(|n| n == self.archive())
            || root.join(self.archive()).exists()
    }

    /// Bytes per record, and the offset of the label this data set reports.
    fn record(self) -> (usize, usize) {
        match self {
            CifarKind::Cifar10 => (1 + PIXELS, 0),
            CifarKind::Cifar100 { coarse } => (2 + PIXELS, usize::from(!coarse)),
        }
    }

    /// The number of classes: 10, 100, or 20 coarse.
    pub fn classes(self) -> usize {
        match self {
            CifarKind::Cifar10 => 10,
            CifarKind::Cifar100 { coarse: false } => 100,
            CifarKind::Cifar100 { coarse: true } => 20,
        }
    }

    /// Per-channel mean and std after scaling to [0, 1] (the TET code's constants).
    pub fn normalization(self) -> Normalization {
        let (mean, std) = match self {
            CifarKind::Cifar10 => ([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]),
            CifarKind::Cifar100 { .. } => ([0.5071, 0.4867, 0.4408], [0.2675, 0.2565, 0.2761]),
        };
        Normalization { mean, std }
    }
}

/// One split of CIFAR: images kept as bytes, normalised when a sample is read.
#[derive(Clone, Debug)]
pub struct Cifar {
    kind: CifarKind,
    pixels: Vec<u8>,
    labels: Vec<usize>,
    /// The class names, in label order.
    pub class_names: Vec<String>,
    normalization: Normalization,
}

/// Where the files come from: the extracted folder, or the archive.
enum Source {
    Folder(PathBuf),
    Archive(PathBuf),
}

impl Source {
    /// `root` may be the extracted folder, its parent, or the `.tar.gz` (or a folder holding it).
    fn find(root: &Path, kind: CifarKind) -> Result<Self, DataError> {
        let candidates = [
            (root.to_path_buf(), false),
            (root.join(kind.folder()), false),
            (root.to_path_buf(), true),
            (root.join(kind.archive()), true),
        ];
        for (path, archive) in candidates {
            if archive && path.is_file() {
                return Ok(Source::Archive(path));
            }
            if !archive && path.join(kind.names_file()).is_file() {
                return Ok(Source::Folder(path));
            }
        }
        Err(file_error(
            root,
            format!(
                "no CIFAR files here: expected the folder {}/ (with {}) or {}",
                kind.folder(),
                kind.names_file(),
                kind.archive()
            ),
        ))
    }

    /// The contents of `names`, in that order.
    fn read(&self, names: &[String]) -> Result<Vec<(PathBuf, Vec<u8>)>, DataError> {
        match self {
            Source::Folder(dir) => names
                .iter()
                .map(|n| {
                    let path = dir.join(n);
                    read(&path).map(|bytes| (path, bytes))
                })
                .collect(),
            Source::Archive(path) => {
                let file = std::fs::File::open(path)
                    .map_err(|e| file_error(path, format!("cannot read: {e}")))?;
                archive_files(path, file, names)
            }
        }
    }
}

/// The contents of `names` in the CIFAR `.tar.gz` read from `reader` (entries matched by
/// file name, in any folder), in that order; errors name `archive`.
pub fn archive_files(
    archive: &Path,
    reader: impl Read,
    names: &[String],
) -> Result<Vec<(PathBuf, Vec<u8>)>, DataError> {
    let err = |e: std::io::Error| file_error(archive, format!("cannot read: {e}"));
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    let mut found: Vec<Option<Vec<u8>>> = vec![None; names.len()];
    for entry in tar.entries().map_err(err)? {
        let mut entry = entry.map_err(err)?;
        let entry_path = entry.path().map_err(err)?.into_owned();
        let Some(name) = entry_path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some(i) = names.iter().position(|n| n == name) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(err)?;
            found[i] = Some(bytes);
        }
    }
    names
        .iter()
        .zip(found)
        .map(|(n, bytes)| {
            bytes
                .map(|b| (archive.join(n), b))
                .ok_or_else(|| file_error(archive, format!("the archive holds no {n}")))
        })
        .collect()
}

impl Cifar {
    /// The training (`train = true`) or test split of CIFAR under `root`.
    pub fn open(root: &Path, kind: CifarKind, train: bool) -> Result<Self, DataError> {
        let source = Source::find(root, kind)?;
        let mut names = kind.files(train);
        names.push(kind.names_file().into());
        Self::from_files(kind, source.read(&names)?)
    }

    /// The split held by `files`: the contents of its record files, then of its class-names
    /// file, each with the path its errors name.
    pub fn from_files(
        kind: CifarKind,
        mut files: Vec<(PathBuf, Vec<u8>)>,
    ) -> Result<Self, DataError> {
        let Some((names_path, names_bytes)) = files.pop() else {
            return Err(DataError::Invalid("no CIFAR files given".into()));
        };
        let class_names: Vec<String> = String::from_utf8_lossy(&names_bytes)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        if class_names.len() != kind.classes() {
            return Err(file_error(
                &names_path,
                format!(
                    "{} class names, expected {}",
                    class_names.len(),
                    kind.classes()
                ),
            ));
        }
        let (record, label_at) = kind.record();
        let labels_len = record - PIXELS;
        let (mut pixels, mut labels) = (Vec::new(), Vec::new());
        for (path, bytes) in &files {
            if bytes.is_empty() || !bytes.len().is_multiple_of(record) {
                return Err(file_error(
                    path,
                    format!(
                        "{} bytes is not a whole number of {record}-byte records",
                        bytes.len()
                    ),
                ));
            }
            for (i, r) in bytes.chunks_exact(record).enumerate() {
                let label = r[label_at] as usize;
                if label >= kind.classes() {
                    return Err(file_error(
                        path,
                        format!(
                            "record {i} has label {label}, outside the {} classes",
                            kind.classes()
                        ),
                    ));
                }
                labels.push(label);
                pixels.extend_from_slice(&r[labels_len..]);
            }
        }
        Ok(Self {
            kind,
            pixels,
            labels,
            class_names,
            normalization: kind.normalization(),
        })
    }

    /// Replaces the per-channel normalisation `(x / 255 - mean) / std`.
    pub fn with_normalization(mut self, normalization: Normalization) -> Self {
        self.normalization = normalization;
        self
    }

    /// Which CIFAR this is.
    pub fn kind(&self) -> CifarKind {
        self.kind
    }
}

impl Dataset for Cifar {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn sample_shape(&self) -> &[usize] {
        &[3, 32, 32]
    }

    fn num_classes(&self) -> usize {
        self.kind.classes()
    }

    fn normalization(&self) -> Option<Normalization> {
        Some(self.normalization)
    }

    fn get(&self, index: usize) -> Result<Sample, DataError> {
        let label = *self.labels.get(index).ok_or(DataError::OutOfRange {
            index,
            len: self.len(),
        })?;
        let bytes = &self.pixels[index * PIXELS..(index + 1) * PIXELS];
        let data = bytes
            .iter()
            .enumerate()
            .map(|(i, &b)| self.normalization.normalize(i / 1024, b))
            .collect();
        Ok(Sample {
            data,
            shape: vec![3, 32, 32],
            label,
        })
    }
}
