//! The configuration of a run: which data, which network, how to train. Written to the run
//! directory as `config.toml`, read back by `--resume` and `eval`; presets are partial files
//! of the same form.

use super::RunError;
use crate::models::ModelSpec;
use crate::training::TrainConfig;
use dalif_data::cache::path_tag;
use dalif_data::formats::cifar::{Cifar, CifarKind};
use dalif_data::formats::imagenet::{self, ImageNet};
use dalif_data::layouts::{self, Cifar10DvsSplit};
use dalif_data::{
    DataError, Dataset, EventFormat, EventFrames, EventSource, FrameSpec, Normalization, SplitBy,
    synthetic,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Everything a run is made of. Every field has a default (the embedded digits recipe), so a
/// preset or config file only names what it changes; unknown keys are refused.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    pub data: DataConfig,
    pub model: ModelSpec,
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
    /// One of [`DataConfig::NAMES`].
    pub name: String,
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
            name: "digits".into(),
            root: None,
            frame_size: None,
            split_by: SplitBy::Number,
            cifar10dvs_split: Cifar10DvsSplit::NineToOne,
            normalization: None,
        }
    }
}

/// The embedded digits' test share: 20% of every class, always the same images (seed 0), so
/// runs with different seeds are scored on the same test set.
const DIGITS_TEST_FRACTION: f64 = 0.2;
const DIGITS_SPLIT_SEED: u64 = 0;

/// ImageNet's crop side.
const IMAGENET_SIZE: usize = 224;

/// A training and a test set.
pub type Splits = (Box<dyn Dataset>, Box<dyn Dataset>);

impl DataConfig {
    pub const NAMES: [&str; 9] = [
        "digits",
        "synthetic-events",
        "cifar10",
        "cifar100",
        "cifar100-coarse",
        "cifar10dvs",
        "dvsgesture",
        "nmnist",
        "imagenet",
    ];

    fn is_event_data(&self) -> bool {
        ["synthetic-events", "cifar10dvs", "dvsgesture", "nmnist"].contains(&self.name.as_str())
    }

    fn root(&self) -> Result<&Path, DataError> {
        self.root.as_deref().ok_or_else(|| {
            DataError::Invalid(format!(
                "the {} data set is read from its downloaded folder: give it with --data-root",
                self.name
            ))
        })
    }

    /// `(train, test)` of the data set; event data sets give `steps` frames per sample and
    /// cache them under `cache`.
    pub fn open(&self, steps: usize, cache: &Path) -> Result<Splits, DataError> {
        if !self.is_event_data()
            && let Some([h, w]) = self.frame_size
        {
            return Err(DataError::Invalid(format!(
                "a frame size ({h}x{w}) applies to event data sets; {} holds images",
                self.name
            )));
        }
        if self.name != "cifar10dvs" && self.cifar10dvs_split != Cifar10DvsSplit::NineToOne {
            return Err(DataError::Invalid(format!(
                "the CIFAR10-DVS split applies to cifar10dvs, not {}",
                self.name
            )));
        }
        let rgb = ["cifar10", "cifar100", "cifar100-coarse", "imagenet"];
        if let Some(n) = &self.normalization {
            if !rgb.contains(&self.name.as_str()) {
                return Err(DataError::Invalid(format!(
                    "a normalisation applies to the RGB image data sets ({}), not {}",
                    rgb.join(", "),
                    self.name
                )));
            }
            n.validate()?;
        }
        let spec = FrameSpec {
            frames: steps,
            split: self.split_by,
            size: self.frame_size,
        };
        // Both splits of an event data set (`sources(train)` lists a split's recordings),
        // their frames cached under the data set, its location and the split.
        let event_splits = |sources: &dyn Fn(bool) -> Result<Vec<EventSource>, DataError>,
                            format: EventFormat,
                            sensor: [usize; 2],
                            classes: usize,
                            root: &Path|
         -> Result<Splits, DataError> {
            let split = |train: bool| -> Result<Box<dyn Dataset>, DataError> {
                let name = if train { "train" } else { "test" };
                let key = format!("{}-{}-{name}", self.name, path_tag(root));
                let frames = EventFrames::new(sources(train)?, format, sensor, classes, spec)?;
                Ok(Box::new(frames.with_cache(cache, &key)?))
            };
            Ok((split(true)?, split(false)?))
        };
        match self.name.as_str() {
            "digits" => {
                if let Some(root) = &self.root {
                    return Err(DataError::Invalid(format!(
                        "the digits are embedded in dalif and read no folder, but a root was \
                         given: {}",
                        root.display()
                    )));
                }
                let digits = dalif_data::digits::load()?;
                let (train, test) =
                    dalif_data::stratified_split(&digits, DIGITS_TEST_FRACTION, DIGITS_SPLIT_SEED)?;
                Ok((Box::new(train), Box::new(test)))
            }
            "cifar10" | "cifar100" | "cifar100-coarse" => {
                let kind = match self.name.as_str() {
                    "cifar10" => CifarKind::Cifar10,
                    "cifar100" => CifarKind::Cifar100 { coarse: false },
                    _ => CifarKind::Cifar100 { coarse: true },
                };
                let root = self.root()?;
                let n = self.normalization.unwrap_or(kind.normalization());
                Ok((
                    Box::new(Cifar::open(root, kind, true)?.with_normalization(n)),
                    Box::new(Cifar::open(root, kind, false)?.with_normalization(n)),
                ))
            }
            "synthetic-events" => {
                let root = match &self.root {
                    Some(root) => root.clone(),
                    None => cache.join("synthetic-events"),
                };
                event_splits(
                    &|train| synthetic::generate(&root, train),
                    EventFormat::Aedat3,
                    synthetic::SENSOR,
                    synthetic::CLASSES.len(),
                    &root,
                )
            }
            "dvsgesture" => {
                let root = self.root()?;
                event_splits(
                    &|train| layouts::dvs_gesture(root, train),
                    EventFormat::Aedat3,
                    [128, 128],
                    11,
                    root,
                )
            }
            "cifar10dvs" => {
                let root = self.root()?;
                let split = self.cifar10dvs_split;
                event_splits(
                    &|train| Ok(layouts::cifar10_dvs(root, train, split)?.0),
                    EventFormat::Aedat2Dvs128,
                    [128, 128],
                    10,
                    root,
                )
            }
            "nmnist" => {
                let root = self.root()?;
                event_splits(
                    &|train| layouts::nmnist(root, train),
                    EventFormat::Atis40,
                    [34, 34],
                    10,
                    root,
                )
            }
            "imagenet" => {
                let root = self.root()?;
                let n = self.normalization.unwrap_or(imagenet::NORMALIZATION);
                Ok((
                    Box::new(ImageNet::open(root, true, IMAGENET_SIZE)?.with_normalization(n)),
                    Box::new(ImageNet::open(root, false, IMAGENET_SIZE)?.with_normalization(n)),
                ))
            }
            other => Err(DataError::Invalid(format!(
                "unknown data set '{other}' (expected one of: {})",
                Self::NAMES.join(", ")
            ))),
        }
    }
}
