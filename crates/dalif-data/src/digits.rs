//! The embedded default data set: the 1,797 8x8 handwritten digits of UCI (the scikit-learn
//! `load_digits` set), shipped inside the `smartcore` crate, so it works offline.

use crate::{DataError, InMemoryDataset};

/// The test share: 20% of every class, always the same images (seed 0), so runs with
/// different seeds are scored on the same test set.
const TEST_FRACTION: f64 = 0.2;
const SPLIT_SEED: u64 = 0;

/// `(train, test)`: the digits split by a fixed stratified draw, 20% of every class test.
///
/// ```
/// use dalif_data::{Dataset, digits};
///
/// let (train, test) = digits::splits()?;
/// assert_eq!((train.len(), test.len()), (1438, 359)); // 20% of each class: the test split
/// # Ok::<(), dalif_data::DataError>(())
/// ```
pub fn splits() -> Result<(InMemoryDataset, InMemoryDataset), DataError> {
    crate::stratified_split(&load()?, TEST_FRACTION, SPLIT_SEED)
}

/// Images are `[1, 8, 8]`, pixel counts 0..16 scaled to `[0, 1]`; labels 0..9.
pub fn load() -> Result<InMemoryDataset, DataError> {
    let raw = smartcore::dataset::digits::load_dataset();
    if raw.num_features != 64 || raw.target.len() != raw.num_samples {
        return Err(DataError::Invalid(format!(
            "embedded digits: {} samples of {} features, {} labels (expected 64 features, one label each)",
            raw.num_samples,
            raw.num_features,
            raw.target.len()
        )));
    }
    let data = raw.data.iter().map(|&v| v / 16.0).collect();
    let labels = raw.target.iter().map(|&y| y as usize).collect();
    InMemoryDataset::new(vec![1, 8, 8], 10, data, labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dataset;

    #[test]
    fn holds_the_1797_uci_digits() {
        let ds = load().unwrap();
        assert_eq!(ds.len(), 1797);
        assert_eq!(ds.sample_shape(), &[1, 8, 8]);
        let mut per_class = [0usize; 10];
        for i in 0..ds.len() {
            let s = ds.get(i).unwrap();
            assert!(s.data.iter().all(|&v| (0.0..=1.0).contains(&v)));
            per_class[s.label] += 1;
        }
        // scikit-learn's load_digits class counts.
        assert_eq!(
            per_class,
            [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
        );
    }
}
