//! Deterministic stratified train/test splits.

use crate::rng::SplitMix64;
use crate::{DataError, Dataset, InMemoryDataset};

/// `0..n` in an order fixed by `seed` (Fisher-Yates with SplitMix64).
pub fn shuffled_indices(n: usize, seed: u64) -> Vec<usize> {
    let mut indices: Vec<usize> = (0..n).collect();
    shuffle(&mut indices, seed);
    indices
}

fn shuffle(indices: &mut [usize], seed: u64) {
    let mut rng = SplitMix64::new(seed);
    for i in (1..indices.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        indices.swap(i, j);
    }
}

/// Splits `dataset` into `(train, test)` with `test_fraction` of every class (rounded) in the
/// test part, chosen by a seeded shuffle; the same seed gives the same split.
pub fn stratified_split(
    dataset: &dyn Dataset,
    test_fraction: f64,
    seed: u64,
) -> Result<(InMemoryDataset, InMemoryDataset), DataError> {
    if !(0.0..1.0).contains(&test_fraction) {
        return Err(DataError::Invalid(format!(
            "test fraction {test_fraction} is not in [0, 1)"
        )));
    }
    let mut by_class = vec![Vec::new(); dataset.num_classes()];
    for i in 0..dataset.len() {
        by_class[dataset.get(i)?.label].push(i);
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (c, indices) in by_class.iter_mut().enumerate() {
        shuffle(indices, seed.wrapping_add(c as u64));
        let n_test = (indices.len() as f64 * test_fraction).round() as usize;
        test.extend_from_slice(&indices[..n_test]);
        train.extend_from_slice(&indices[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    Ok((subset(dataset, &train)?, subset(dataset, &test)?))
}

fn subset(dataset: &dyn Dataset, indices: &[usize]) -> Result<InMemoryDataset, DataError> {
    let mut data = Vec::new();
    let mut labels = Vec::with_capacity(indices.len());
    for &i in indices {
        let s = dataset.get(i)?;
        data.extend_from_slice(&s.data);
        labels.push(s.label);
    }
    InMemoryDataset::new(
        dataset.sample_shape().to_vec(),
        dataset.num_classes(),
        data,
        labels,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test set of `toy()` at fraction 0.25 and seed 1.
    const GOLDEN_SPLIT: [f32; 16] = [
        2., 4., 8., 12., 16., 21., 23., 29., 31., 34., 35., 36., 39., 45., 57., 58.,
    ];

    fn toy() -> InMemoryDataset {
        // 3 classes of 10, 20 and 30 samples; the value of sample i is i.
        let labels: Vec<usize> = (0..60)
            .map(|i| {
                if i < 10 {
                    0
                } else if i < 30 {
                    1
                } else {
                    2
                }
            })
            .collect();
        InMemoryDataset::new(vec![1], 3, (0..60).map(|i| i as f32).collect(), labels).unwrap()
    }

    fn values(ds: &InMemoryDataset) -> Vec<f32> {
        (0..ds.len()).map(|i| ds.get(i).unwrap().data[0]).collect()
    }

    #[test]
    fn keeps_class_proportions_and_partitions_the_samples() {
        let (train, test) = stratified_split(&toy(), 0.2, 7).unwrap();
        let count = |ds: &InMemoryDataset, c| {
            (0..ds.len())
                .filter(|&i| ds.get(i).unwrap().label == c)
                .count()
        };
        assert_eq!(
            [count(&test, 0), count(&test, 1), count(&test, 2)],
            [2, 4, 6]
        );
        assert_eq!(train.len() + test.len(), 60);
        let mut all = values(&train);
        all.extend(values(&test));
        all.sort_by(f32::total_cmp);
        assert_eq!(all, (0..60).map(|i| i as f32).collect::<Vec<_>>());
    }

    #[test]
    fn same_seed_same_split_other_seed_other_split() {
        let a = stratified_split(&toy(), 0.25, 1).unwrap().1;
        let b = stratified_split(&toy(), 0.25, 1).unwrap().1;
        let c = stratified_split(&toy(), 0.25, 2).unwrap().1;
        assert_eq!(values(&a), values(&b));
        // Pinned: a run resumed by a later dalif must see the same test set.
        assert_eq!(values(&a), GOLDEN_SPLIT);
        assert_ne!(values(&a), values(&c));
        assert!(stratified_split(&toy(), 1.0, 1).is_err());
    }
}
