//! Trained networks out of dalif: NIR graphs for neuromorphic hardware and simulators (the
//! `nir` feature), and the weights as safetensors for other tools (and back into dalif).

#[cfg(feature = "nir")]
mod nir;
mod safetensors;

#[cfg(feature = "nir")]
pub use nir::{Meta, NIR_VERSION, NirOptions, OR_THRESHOLD, nir_bytes, or_unit_name, write_nir};
pub use safetensors::{
    CONFIG_KEY, load_safetensors, load_safetensors_bytes, read_safetensors_config,
    safetensors_config, write_safetensors,
};

use crate::run::RunError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("NIR cannot express {0}")]
    Unsupported(String),
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error(transparent)]
    Write(#[from] RunError),
}
