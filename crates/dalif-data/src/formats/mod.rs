//! Byte-level readers (and the writers the synthetic data set and the tests use) of the event
//! and image file formats of the paper's data sets. Layouts: `shared/docs/dataset-formats.md`.

pub mod aedat2;
pub mod aedat3;
pub mod cifar;
pub mod imagenet;
pub mod nmnist;

use crate::DataError;
use std::path::Path;

/// An error about `path`.
pub(crate) fn file_error(path: &Path, message: impl Into<String>) -> DataError {
    DataError::File {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads a whole file, naming it in the error.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|e| file_error(path, format!("cannot read: {e}")))
}
