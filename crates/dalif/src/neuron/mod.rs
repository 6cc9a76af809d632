//! Spiking neurons: the DA-LIF dynamics, its surrogate gradients, and the layer that learns
//! its decays. LIF and PLIF are configurations of the same operation.

mod config;
mod layer;
pub mod op;
mod surrogate;

pub use config::{DaLifConfig, Decay, DecayParam, NeuronError, Reset, SpikeFunction};
pub use layer::{DaLif, NeuronOutput};
pub use surrogate::Surrogate;
