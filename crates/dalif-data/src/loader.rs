//! Batches prepared on worker threads ahead of the training step.

use crate::rng::SplitMix64;
use crate::{Augmentation, DataError, Dataset};

/// Keeps the draws of a sample's training view apart from those of its augmentation.
const VIEW_STREAM: u64 = 0x5649_4557;
use rayon::prelude::*;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

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
    /// The part of every batch this process reads, when several train as one.
    pub shard: Shard,
}

/// One process's part of every batch in data-parallel training: the `ranks` processes cut
/// each batch of the plan into `ranks` contiguous parts, as equal as they can be (the first
/// `len % ranks` parts hold one sample more), and process `rank` reads part `rank`. A batch
/// smaller than `ranks` leaves some parts empty; they are still served, as empty batches, so
/// every process takes part in every step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This process, from 0.
    pub rank: usize,
    /// The processes.
    pub ranks: usize,
}

impl Default for Shard {
    /// The whole batch: one process.
    fn default() -> Self {
        Self { rank: 0, ranks: 1 }
    }
}

impl Shard {
    /// The positions of this process's part of `len` items.
    pub fn range(self, len: usize) -> std::ops::Range<usize> {
        let (base, extra) = (len / self.ranks, len % self.ranks);
        let start = self.rank * base + self.rank.min(extra);
        start..start + base + usize::from(self.rank < extra)
    }
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

/// How long [`for_each_batch`]'s consumer waited for its batches.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LoaderWait {
    /// The wait for the first batch: the pipeline filling, which nothing can hide.
    pub first: Duration,
    /// The waits for every later batch: zero when reading hides behind the consumer's work.
    pub later: Duration,
    /// Batches served.
    pub batches: usize,
}

/// Hands the batches of `plan` to `consume`, in order. A worker thread reads (and augments)
/// the samples of each batch in parallel, up to `plan.ahead` batches before `consume`, so
/// the training step does not wait on data; the returned [`LoaderWait`] says whether it did.
/// Stops at the first error of either side. With a [`Shard`], each batch is this process's
/// part of the plan's batch.
pub fn for_each_batch<E: From<DataError>>(
    data: &dyn Dataset,
    plan: &BatchPlan<'_>,
    mut consume: impl FnMut(Batch) -> Result<(), E>,
) -> Result<LoaderWait, E> {
    let size = plan.batch_size.max(1);
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel(plan.ahead.max(1));
        scope.spawn(move || {
            for chunk in plan.order.chunks(size) {
                let batch = prepare(data, &chunk[plan.shard.range(chunk.len())], plan);
                let failed = batch.is_err();
                if tx.send(batch).is_err() || failed {
                    break;
                }
            }
        });
        let mut wait = LoaderWait::default();
        loop {
            let asked = Instant::now();
            let Ok(batch) = rx.recv() else { break };
            match wait.batches {
                0 => wait.first = asked.elapsed(),
                _ => wait.later += asked.elapsed(),
            }
            wait.batches += 1;
            consume(batch?)?;
        }
        Ok(wait)
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

    /// [`data`], each sample taking `delay` to read.
    struct Slow(InMemoryDataset, Duration);

    impl Dataset for Slow {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn sample_shape(&self) -> &[usize] {
            self.0.sample_shape()
        }
        fn num_classes(&self) -> usize {
            self.0.num_classes()
        }
        fn get(&self, index: usize) -> Result<crate::Sample, DataError> {
            std::thread::sleep(self.1);
            self.0.get(index)
        }
    }

    #[test]
    fn reports_the_waits_for_a_reader_slower_than_the_step() {
        let plan = BatchPlan {
            order: (0..10).collect(),
            batch_size: 1,
            ahead: 1,
            ..BatchPlan::default()
        };
        let slow = Slow(data(), Duration::from_millis(20));
        let wait = for_each_batch::<DataError>(&slow, &plan, |_| Ok(())).unwrap();
        assert_eq!(wait.batches, 10);
        // Nine later batches, each read while the (instant) step waited.
        assert!(wait.later >= Duration::from_millis(9 * 15), "{wait:?}");
        // A step slower than the reader never waits after the first batch... but a loaded
        // machine may delay the reader thread, so the bound is loose.
        let fast = Slow(data(), Duration::ZERO);
        let wait = for_each_batch::<DataError>(&fast, &plan, |_| {
            std::thread::sleep(Duration::from_millis(20));
            Ok(())
        })
        .unwrap();
        assert!(wait.later < Duration::from_millis(9 * 15), "{wait:?}");
    }

    #[test]
    fn serves_every_batch_in_order() {
        let data = data();
        let plan = BatchPlan {
            order: vec![9, 0, 5, 1, 2, 3, 4, 6, 7, 8],
            batch_size: 4,
            augmentation: None,
            ahead: 2,
            ..BatchPlan::default()
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
            ..BatchPlan::default()
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
            ..BatchPlan::default()
        };
        let err =
            for_each_batch(&data, &plan, |_| Err(DataError::Invalid("enough".into()))).unwrap_err();
        assert!(err.to_string().contains("enough"));
    }

    #[test]
    fn shards_cut_every_batch_into_the_ranks_parts() {
        let ranges: Vec<_> = (0..3)
            .map(|rank| Shard { rank, ranks: 3 }.range(7))
            .collect();
        assert_eq!(ranges, [0..3, 3..5, 5..7]);
        assert_eq!(Shard { rank: 2, ranks: 3 }.range(1), 1..1);
        let data = data();
        let order: Vec<usize> = (0..10).collect();
        let mut parts = Vec::new();
        for rank in 0..3 {
            let plan = BatchPlan {
                order: order.clone(),
                batch_size: 4,
                ahead: 1,
                shard: Shard { rank, ranks: 3 },
                ..BatchPlan::default()
            };
            let mut labels = Vec::new();
            for_each_batch::<DataError>(&data, &plan, |b| {
                labels.push(b.labels);
                Ok(())
            })
            .unwrap();
            parts.push(labels);
        }
        // Batches [0..4], [4..8], [8..10]: every rank sees all three, the last rank's part of
        // the last batch is empty, and the parts put back together are the whole batches.
        assert_eq!(parts[0], [vec![0, 1], vec![1, 2], vec![2]]);
        assert_eq!(parts[1], [vec![2], vec![0], vec![0]]);
        assert_eq!(parts[2], [vec![0], vec![1], vec![]]);
    }
}
