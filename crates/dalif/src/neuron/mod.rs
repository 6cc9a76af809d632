//! Spiking neurons: the DA-LIF dynamics, its surrogate gradients, and the layer that learns
//! its decays. LIF and PLIF are configurations of the same operation; [`NeuronKind`] names the
//! neurons a network is built with.

mod config;
mod kind;
mod layer;
pub mod op;
mod surrogate;

pub use config::{DaLifConfig, Decay, DecayParam, NeuronError, Reset, SpikeFunction};
pub use kind::NeuronKind;
pub use layer::{DaLif, NeuronOutput};
pub use surrogate::{Surrogate, SurrogateError};
