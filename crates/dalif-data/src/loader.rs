//! Batches prepared on worker threads ahead of the training step.

use crate::rng::SplitMix64;
use crate::{Augmentation, DataError, Dataset};

/// Keeps the draws of a sample's training view apart from those of its augmentation.
const VIEW_STREAM: u64 = 0x5649_4557;
use rayon::prelude::*;
use std::sync::mpsc::sync_channel;

/// Samples of one batch, concatenated, with their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// The samples' values, one after the other, each row-major over `sample_shape`.
    pub data: Vec<f32>,
    /// The shape of one sample.
    pub sample_shape: Vec<usize>,
    /// The samples' classes, in order.
    pub labels: Vec<usize>,
}

impl Batch {
    /// The number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the batch holds no sample.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// How to cut a data set into batches.
#[derive(Clone, Debug, Default)]
pub struct BatchPlan<'a> {
    /// Sample indices in the order they are served.
    pub order: Vec<usize>,
    /// Samples per batch; the last batch holds the rest.
    pub batch_size: usize,
    /// Training batches: every sample is read in its training view and augmented, with
    /// draws from `(seed, epoch, sample index)`. `None`: evaluation batches.
    pub augmentation: Option<(&'a Augmentation, u64, u64)>,
    /// Batches prepared ahead of the consumer.
    pub ahead: usize,
}

fn prepare(
    data: &dyn Dataset,
    indices: &[usize],
    plan: &BatchPlan<'_>,
) -> Result<Batch, DataError> {
    let samples = indices
        .par_iter()
        .map(|&i| match plan.augmentation {
            Some((aug, seed, epoch)) => {
                let mut view = SplitMix64::for_item(seed ^ VIEW_STREAM, epoch, i as u64);
                let mut s = data.get_train(i, &mut view)?;
                aug.apply(&mut s, data.normalization().as_ref(), seed, epoch, i as u64)?;
                Ok(s)
            }
            None => data.get(i),
        })
        .collect::<Result<Vec<_>, DataError>>()?;
    let mut batch = Batch {
        data: Vec::with_capacity(samples.iter().map(|s| s.data.len()).sum()),
        sample_shape: data.sample_shape().to_vec(),
        labels: Vec::with_capacity(samples.len()),
    };
    for s in samples {
        batch.data.extend_from_slice(&s.data);
        batch.labels.push(s.label);
    }
    Ok(batch)
}

/// Hands the batches of `plan` to `consume`, in order. A worker thread reads (and augments)
/// the samples of each batch in parallel, up to `plan.ahead` batches before `consume`, so
/// the training step does not wait on data. Stops at the first error of either side.
pub fn for_each_batch<E: From<DataError>>(
    data: &dyn Dataset,
    plan: &BatchPlan<'_>,
    mut consume: impl FnMut(Batch) -> Result<(), E>,
) -> Result<(), E> {
    let size = plan.batch_size.max(1);
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel(plan.ahead.max(1));
        scope.spawn(move || {
            for chunk in plan.order.chunks(size) {
                let batch = prepare(data, chunk, plan);
                let failed = batch.is_err();
                if tx.send(batch).is_err() || failed {
                    break;
                }
            }
        });
        for batch in rx {
            consume(batch?)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InMemoryDataset;

    fn data() -> InMemoryDataset {
        InMemoryDataset::new(
            vec![1, 2, 2],
            3,
            (0..40).map(|v| v as f32).collect(),
            (0..10).map(|i| i % 3).collect(),
        )
        .unwrap()
    }

    #[test]
    fn serves_every_batch_in_order() {
        let data = data();
        let plan = BatchPlan {
            order: vec![9, 0, 5, 1, 2, 3, 4, 6, 7, 8],
            batch_size: 4,
            augmentation: None,
            ahead: 2,
        };
        let mut seen = Vec::new();
        for_each_batch::<DataError>(&data, &plan, |b| {
            assert_eq!(b.sample_shape, [1, 2, 2]);
            seen.push((b.labels.clone(), b.data[0]));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0], (vec![0, 0, 2, 1], 36.0));
        assert_eq!(seen[2].0, [1, 2]);
    }

    #[test]
    fn stops_at_the_first_error_of_either_side() {
        let data = data();
        let plan = BatchPlan {
            order: vec![0, 1, 42, 3],
            batch_size: 2,
            augmentation: None,
            ahead: 1,
        };
        let mut served = 0;
        let err = for_each_batch::<DataError>(&data, &plan, |_| {
            served += 1;
            Ok(())
        })
        .unwrap_err();
        assert!(matches!(err, DataError::OutOfRange { index: 42, .. }));
        assert_eq!(served, 1);
        let plan = BatchPlan {
            order: (0..10).collect(),
            batch_size: 1,
            augmentation: None,
            ahead: 1,
        };
        let err =
            for_each_batch(&data, &plan, |_| Err(DataError::Invalid("enough".into()))).unwrap_err();
        assert!(err.to_string().contains("enough"));
    }
}
