//! The configuration of a run: which data, which network, how to train. Written to the run
//! directory as `config.toml`, read back by `--resume` and `eval`; presets are partial files
//! of the same form.

use crate::layers::NeuronKind;
use crate::models::{ModelConfig, ModelKind};
use crate::neuron::DecayParam;
use crate::training::TrainConfig;
use dalif_data::{DataError, Dataset, InMemoryDataset};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Everything a run is made of. Every field has a default (the embedded digits recipe), so a
/// preset or config file only names what it changes; unknown keys are refused.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    pub data: DataConfig,
    pub model: ModelSpec,
    pub train: TrainConfig,
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
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            name: "digits".into(),
            root: None,
            frame_size: None,
        }
    }
}

/// The network, apart from what the data fixes (input channels, classes, input size).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSpec {
    pub kind: ModelKind,
    pub neuron: NeuronKind,
    pub param: DecayParam,
}

impl Default for ModelSpec {
    fn default() -> Self {
        Self {
            kind: ModelKind::CifarSmall,
            neuron: NeuronKind::Dalif,
            param: DecayParam::Tanh,
        }
    }
}

impl ModelSpec {
    /// The full model configuration for samples of `data`: images `[C, H, W]` or event
    /// frames `[T, C, H, W]`.
    pub fn resolve(&self, data: &dyn Dataset) -> Result<ModelConfig, DataError> {
        let shape = data.sample_shape();
        let [c, h, w] = shape[shape.len().saturating_sub(3)..] else {
            return Err(DataError::Invalid(format!(
                "a network reads images [C, H, W] or frames [T, C, H, W]; samples are {shape:?}"
            )));
        };
        Ok(ModelConfig {
            kind: self.kind,
            neuron: self.neuron,
            param: self.param,
            channels_in: c,
            classes: data.num_classes(),
            input_size: [h, w],
        })
    }
}

/// The embedded digits' test share: 20% of every class, always the same images (seed 0), so
/// runs with different seeds are scored on the same test set.
const DIGITS_TEST_FRACTION: f64 = 0.2;
const DIGITS_SPLIT_SEED: u64 = 0;

/// The data sets of the paper, which `dalif` names before their readers exist.
const AWAITING_READERS: [&str; 5] = [
    "cifar10",
    "cifar100",
    "imagenet",
    "cifar10dvs",
    "dvsgesture",
];

impl DataConfig {
    pub const NAMES: [&str; 1] = ["digits"];

    /// `(train, test)` of the data set.
    pub fn open(&self) -> Result<(InMemoryDataset, InMemoryDataset), DataError> {
        match self.name.as_str() {
            "digits" => {
                if let Some(root) = &self.root {
                    return Err(DataError::Invalid(format!(
                        "the digits are embedded in dalif and read no folder, but a root was \
                         given: {}",
                        root.display()
                    )));
                }
                if let Some([h, w]) = self.frame_size {
                    return Err(DataError::Invalid(format!(
                        "a frame size ({h}x{w}) applies to event data sets; the digits are \
                         8x8 images"
                    )));
                }
                let digits = dalif_data::digits::load()?;
                dalif_data::stratified_split(&digits, DIGITS_TEST_FRACTION, DIGITS_SPLIT_SEED)
            }
            name if AWAITING_READERS.contains(&name) => Err(DataError::Invalid(format!(
                "the {name} reader is not part of this version of dalif yet (it reads: {})",
                Self::NAMES.join(", ")
            ))),
            other => Err(DataError::Invalid(format!(
                "unknown data set '{other}' (expected one of: {})",
                Self::NAMES.join(", ")
            ))),
        }
    }
}
