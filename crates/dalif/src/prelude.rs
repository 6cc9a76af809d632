//! What a program that trains its own spiking network with dalif needs, in one import:
//! `use dalif::prelude::*;`.

pub use crate::layers::{
    Activation, ConvBn, ConvBnConfig, Pool, SpikeMonitor, SpikingConv, SpikingConvConfig, Tracer,
};
pub use crate::models::{
    ModelConfig, ModelError, ModelSpec, Network, SpikingClassifier, learnable_params,
};
pub use crate::neuron::{DaLif, DaLifConfig, DecayParam, NeuronKind, Reset, Surrogate};
pub use crate::run::{self, CheckpointKind, Quiet, RunConfig, RunDir, RunError, RunHooks};
pub use crate::training::{EpochMetrics, evaluate};
pub use burn::module::Module;
pub use burn::nn::{Linear, LinearConfig};
pub use burn::tensor::{Device, Tensor};
pub use dalif_data::DatasetKind;
