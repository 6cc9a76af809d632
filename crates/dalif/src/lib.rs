//! dalif: deep spiking neural networks with the DA-LIF neuron (dual adaptive leaky
//! integrate-and-fire), on burn.
//!
//! Tensors are time-major, `[T, B, ...]`. The neuron over all T steps is one backend operation
//! with a hand-written backward ([`neuron::op`]).
//!
//! # Cargo features
//!
//! The default features are empty: the neuron, the layers, the models, the training loop, run
//! directories, analysis (as Markdown and CSV) and safetensors export build without the
//! optional dependencies below. The `dalif` binary turns `plot`, `nir` and `bench` on.
//!
//! | feature | what it adds |
//! |---|---|
//! | `plot` | PNG/SVG rendering of charts (`analysis::plot::render`, `render_heatmap`, plotters and a compiled-in font); [`Analysis::write`](analysis::Analysis::write) draws the charts only with it |
//! | `nir` | NIR export (`export::write_nir`, `export::nir_bytes`; HDF5 through hdf5-pure) |
//! | `bench` | the interleaved benchmark protocol of `dalif bench` (the `bench` module) |
//! | `mpi` | data-parallel training over the processes of an `mpirun` / `srun` job (`distributed::Mpi`, the system's MPI library) |
//! | `wgpu`, `cuda`, `tch` | burn backends besides the default pure-Rust CPU backend `flex`, named by [`device::DeviceSpec`]; on `wgpu` and `cuda` the neuron runs as CubeCL kernels |
//!
//! The chart data ([`analysis::plot::Chart`], [`analysis::plot::Heatmap`]) needs no feature.

#![warn(missing_docs)]

pub mod analysis;
#[cfg(feature = "bench")]
pub mod bench;
pub mod device;
pub mod distributed;
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
