//! dalif: deep spiking neural networks with the DA-LIF neuron (dual adaptive leaky
//! integrate-and-fire), on burn.
//!
//! Tensors are time-major, `[T, B, ...]`. The neuron over all T steps is one backend operation
//! with a hand-written backward ([`neuron::op`]).

pub mod analysis;
pub mod bench;
pub mod export;
pub mod graph;
pub mod layers;
pub mod models;
pub mod names;
pub mod neuron;
pub mod prelude;
pub mod run;
pub mod training;

pub use neuron::{DaLif, DaLifConfig, Surrogate};
