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

/// Errors of an export, or of reading weights back.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Something of the network NIR has no way to say (soft reset, smooth spikes, a max pool
    /// over real values, `beta >= 1`), or a time step `dt` that is not positive.
    #[error("NIR cannot express {0}")]
    Unsupported(String),
    /// A safetensors file that cannot be made, read, or loaded into the network.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The file could not be written.
    #[error(transparent)]
    Write(#[from] RunError),
}
