//! A view of some samples of a data set.

use crate::{DataError, Dataset, Normalization, Sample};

/// The samples `indices` of `data`, in that order.
pub struct Subset<'a> {
    data: &'a dyn Dataset,
    indices: Vec<usize>,
}

impl<'a> Subset<'a> {
    /// The samples `indices` of `data` (each must be below `data.len()`), in that order.
    pub fn new(data: &'a dyn Dataset, indices: Vec<usize>) -> Self {
        Self { data, indices }
    }
}

impl Dataset for Subset<'_> {
    fn len(&self) -> usize {
        self.indices.len()
    }

    fn sample_shape(&self) -> &[usize] {
        self.data.sample_shape()
    }

    fn num_classes(&self) -> usize {
        self.data.num_classes()
    }

    fn get(&self, index: usize) -> Result<Sample, DataError> {
        let i = *self.indices.get(index).ok_or(DataError::OutOfRange {
            index,
            len: self.len(),
        })?;
        self.data.get(i)
    }

    fn normalization(&self) -> Option<Normalization> {
        self.data.normalization()
    }
}
