//! The data set interface the training code uses.

use crate::rng::SplitMix64;
use std::path::PathBuf;

/// Errors reading or indexing a data set. Errors about files name the file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file that cannot be read, or holds what its format does not allow.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A sample index at or past the end.
    #[error("sample {index} is out of range: the data set has {len} samples")]
    OutOfRange {
        /// The index asked for.
        index: usize,
        /// The number of samples.
        len: usize,
    },
    /// Contents or settings that do not make a data set (shapes, labels, normalisation).
    #[error("invalid data set: {0}")]
    Invalid(String),
    /// A data set name that is none of [`crate::DatasetKind`]'s.
    #[error(
        "unknown data set '{0}' (expected one of: {names})",
        names = crate::DatasetKind::list(|_| true)
    )]
    UnknownDataSet(String),
    /// A downloaded data set opened without the folder it was downloaded to.
    #[error("the {0} data set is read from its downloaded folder, and none was given")]
    NoFolder(crate::DatasetKind),
}

/// Per-channel normalisation of images scaled to [0, 1]: `(x - mean[c]) / std[c]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalization {
    /// The per-channel mean of the [0, 1]-scaled pixels (R, G, B).
    pub mean: [f32; 3],
    /// The per-channel standard deviation of the [0, 1]-scaled pixels (R, G, B).
    pub std: [f32; 3],
}

impl Normalization {
    /// Checks that every std is positive and finite.
    pub fn validate(&self) -> Result<(), DataError> {
        if self.std.iter().chain(&self.mean).any(|v| !v.is_finite())
            || self.std.iter().any(|&s| s <= 0.0)
        {
            return Err(DataError::Invalid(format!(
                "normalisation mean {:?} / std {:?}: the std must be positive and all values finite",
                self.mean, self.std
            )));
        }
        Ok(())
    }

    /// The value of 8-bit `pixel` in channel `c`: `(pixel / 255 - mean[c]) / std[c]`.
    pub fn normalize(&self, c: usize, pixel: u8) -> f32 {
        (pixel as f32 / 255.0 - self.mean[c]) / self.std[c]
    }

    /// The 8-bit pixel that `value` of channel `c` stands for, rounded and clamped: the
    /// inverse of [`Self::normalize`].
    pub fn pixel(&self, c: usize, value: f32) -> u8 {
        ((value * self.std[c] + self.mean[c]) * 255.0)
            .round()
            .clamp(0.0, 255.0) as u8
    }
}

/// One labelled sample: a dense `f32` tensor in row-major order.
///
/// Static images are `[C, H, W]` (the network repeats them over T); event data arrive as
/// `[T, 2, H, W]` frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The values, row-major over `shape`.
    pub data: Vec<f32>,
    /// The shape: `[C, H, W]` for images, `[T, 2, H, W]` for event frames.
    pub shape: Vec<usize>,
    /// The class, in `0..num_classes`.
    pub label: usize,
}

/// A finite, indexable set of labelled samples of one shape.
pub trait Dataset: Send + Sync {
    /// Number of samples.
    fn len(&self) -> usize;

    /// Whether the data set holds no sample.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape every sample has.
    fn sample_shape(&self) -> &[usize];

    /// Number of classes; labels are `0..num_classes`.
    fn num_classes(&self) -> usize;

    /// The sample at `index`.
    fn get(&self, index: usize) -> Result<Sample, DataError>;

    /// The sample at `index` as training sees it, for data sets whose training view is drawn
    /// at random before the sample takes its shape (ImageNet's random resized crop). The
    /// draws come from `rng`; by default, the sample itself.
    fn get_train(&self, index: usize, _rng: &mut SplitMix64) -> Result<Sample, DataError> {
        self.get(index)
    }

    /// The normalisation the samples carry, for data sets of normalised images (RGB, and
    /// MNIST's grey ones in channel 0): augmentations that work on pixel values (AutoAugment,
    /// black padding) undo it. `None` for other data.
    fn normalization(&self) -> Option<Normalization> {
        None
    }

    /// Does ahead of time the work `get` would otherwise do on first use (event data sets
    /// integrate and cache their frames), calling `progress(done, total)` as it goes. Returns
    /// warnings to show the user once: what the files hold that the samples may not show as
    /// expected (empty recordings, reordered timestamps).
    fn prepare(&self, _progress: &(dyn Fn(usize, usize) + Sync)) -> Result<Vec<String>, DataError> {
        Ok(Vec::new())
    }
}

/// Samples held in memory, checked once at construction.
#[derive(Debug, Clone)]
pub struct InMemoryDataset {
    shape: Vec<usize>,
    num_classes: usize,
    data: Vec<f32>,
    labels: Vec<usize>,
}

impl InMemoryDataset {
    /// `data` holds `labels.len()` samples of `shape`, one after the other.
    pub fn new(
        shape: Vec<usize>,
        num_classes: usize,
        data: Vec<f32>,
        labels: Vec<usize>,
    ) -> Result<Self, DataError> {
        let size: usize = shape.iter().product();
        if size == 0 {
            return Err(DataError::Invalid(format!(
                "sample shape {shape:?} holds no value"
            )));
        }
        if data.len() != size * labels.len() {
            return Err(DataError::Invalid(format!(
                "{} values do not make {} samples of shape {shape:?}",
                data.len(),
                labels.len()
            )));
        }
        if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l >= num_classes) {
            return Err(DataError::Invalid(format!(
                "label {l} of sample {i} is outside the {num_classes} classes"
            )));
        }
        Ok(Self {
            shape,
            num_classes,
            data,
            labels,
        })
    }
}

impl Dataset for InMemoryDataset {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn sample_shape(&self) -> &[usize] {
        &self.shape
    }

    fn num_classes(&self) -> usize {
        self.num_classes
    }

    fn get(&self, index: usize) -> Result<Sample, DataError> {
        let label = *self.labels.get(index).ok_or(DataError::OutOfRange {
            index,
            len: self.len(),
        })?;
        let size = self.data.len() / self.labels.len();
        Ok(Sample {
            data: self.data[index * size..(index + 1) * size].to_vec(),
            shape: self.shape.clone(),
            label,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_each_sample_with_its_label() {
        let ds =
            InMemoryDataset::new(vec![2], 3, vec![0., 1., 2., 3., 4., 5.], vec![2, 0, 1]).unwrap();
        assert_eq!(ds.len(), 3);
        assert_eq!(
            ds.get(1).unwrap(),
            Sample {
                data: vec![2., 3.],
                shape: vec![2],
                label: 0
            }
        );
        assert!(matches!(
            ds.get(3),
            Err(DataError::OutOfRange { index: 3, len: 3 })
        ));
    }

    #[test]
    fn rejects_inconsistent_contents() {
        let e = InMemoryDataset::new(vec![2], 3, vec![0.; 5], vec![0, 1]).unwrap_err();
        assert!(e.to_string().contains("5 values"));
        let e = InMemoryDataset::new(vec![1], 2, vec![0.; 2], vec![0, 2]).unwrap_err();
        assert!(e.to_string().contains("label 2 of sample 1"));
        assert!(InMemoryDataset::new(vec![0], 2, vec![], vec![]).is_err());
    }
}
