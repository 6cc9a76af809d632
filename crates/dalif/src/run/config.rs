//! The configuration of a run: which data, which network, how to train. Written to the run
//! directory as `config.toml`, read back by `--resume` and `eval`; presets are partial files
//! of the same form.

use super::RunError;
use crate::models::ModelSpec;
use crate::training::TrainConfig;
use dalif_data::cache::path_tag;
use dalif_data::layouts::Cifar10DvsSplit;
use dalif_data::{DataError, Dataset, DatasetKind, EventFrames, FrameSpec, Normalization, SplitBy};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Everything a run is made of. Every field has a default (the embedded digits recipe), so a
/// preset or config file only names what it changes; unknown keys are refused.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// The data set and how it is read (`[data]` in `config.toml`).
    pub data: DataConfig,
    /// The network and its neurons (`[model]`).
    pub model: ModelSpec,
    /// The training recipe (`[train]`).
    pub train: TrainConfig,
}

impl RunConfig {
    /// Checks every setting that can be checked without the data: the training recipe and
    /// the network's neurons. [`DataConfig::open`] checks the data settings against the data
    /// set.
    pub fn validate(&self) -> Result<(), RunError> {
        self.train.validate()?;
        self.model.validate()?;
        Ok(())
    }

    /// `(train, test)` of the run's data set, with `train.steps` frames per event sample,
    /// cached under [`dalif_data::cache::default_root`].
    pub fn open_data(&self) -> Result<Splits, DataError> {
        self.data
            .open(self.train.steps, &dalif_data::cache::default_root())
    }
}

/// Which data set, and where it lives.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// Which data set: in config.toml, one of the names of [`DatasetKind::ALL`].
    pub name: DatasetKind,
    /// The folder of a downloaded data set (the embedded digits take none).
    pub root: Option<PathBuf>,
    /// `[H, W]` the event frames are resized to (event data sets only).
    pub frame_size: Option<[usize; 2]>,
    /// How event recordings are cut into the T frames (event data sets only).
    pub split_by: SplitBy,
    /// Which CIFAR10-DVS train/test split (CIFAR10-DVS only).
    pub cifar10dvs_split: Cifar10DvsSplit,
    /// Per-channel normalisation of RGB images, replacing the data set's own (CIFAR: the TET
    /// constants; ImageNet: (0.485, 0.456, 0.406) / (0.229, 0.224, 0.225)).
    pub normalization: Option<Normalization>,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            name: DatasetKind::Digits,
            root: None,
            frame_size: None,
            split_by: SplitBy::Number,
            cifar10dvs_split: Cifar10DvsSplit::NineToOne,
            normalization: None,
        }
    }
}

pub use dalif_data::Splits;

impl DataConfig {
    /// `(train, test)` of the data set; event data sets give `steps` frames per sample and
    /// cache them under `cache`.
    pub fn open(&self, steps: usize, cache: &Path) -> Result<Splits, DataError> {
        let kind = self.name;
        if !kind.is_events()
            && let Some([h, w]) = self.frame_size
        {
            return Err(DataError::Invalid(format!(
                "a frame size ({h}x{w}) applies to event data sets; {kind} holds images"
            )));
        }
        if kind != DatasetKind::Cifar10Dvs && self.cifar10dvs_split != Cifar10DvsSplit::NineToOne {
            return Err(DataError::Invalid(format!(
                "the CIFAR10-DVS split applies to cifar10dvs, not {kind}"
            )));
        }
        if let Some(n) = &self.normalization {
            kind.check_normalization(n)?;
        }
        let folder = kind.folder(self.root.as_deref(), cache)?;
        let (Some(layout), Some(root)) = (kind.event_layout(), &folder) else {
            return kind.open_images(folder.as_deref(), self.normalization);
        };
        let spec = FrameSpec {
            frames: steps,
            split: self.split_by,
            size: self.frame_size,
        };
        // A split's frames, cached under the data set, its location and the split.
        let split = |train: bool| -> Result<Box<dyn Dataset>, DataError> {
            let name = if train { "train" } else { "test" };
            let key = format!("{kind}-{}-{name}", path_tag(root));
            let sources = layout.sources(root, train, self.cifar10dvs_split)?;
            let frames =
                EventFrames::new(sources, layout.format, layout.sensor, layout.classes, spec)?;
            Ok(Box::new(frames.with_cache(cache, &key)?))
        };
        Ok((split(true)?, split(false)?))
    }
}
