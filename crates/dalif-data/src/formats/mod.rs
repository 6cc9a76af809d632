//! Byte-level readers (and the writers the synthetic data set and the tests use) of the event
//! and image file formats of the paper's data sets. Layouts: `shared/docs/dataset-formats.md`.

pub mod aedat2;
pub mod aedat3;
pub mod cifar;
pub mod imagenet;
pub mod mnist;
pub mod nmnist;

use crate::DataError;
use std::path::Path;

/// Bytes that are not what their format says: what is wrong with them (the reader adds
/// which file they came from).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FormatError(pub String);

/// An error about `path`.
pub(crate) fn file_error(path: &Path, message: impl std::fmt::Display) -> DataError {
    DataError::File {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Reads a whole file, naming it in the error.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|e| file_error(path, format!("cannot read: {e}")))
}
