//! ImageNet's flat validation label files: TFDS's `validation_labels.txt`
//! (`imagenet::validation_labels`) and Kaggle's `LOC_val_solution.csv`
//! (`imagenet::loc_val_solution`).
use dalif_data::formats::imagenet::{loc_val_solution, validation_labels};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(text) = std::str::from_utf8(data) {
            let wnids = validation_labels(text);
            assert!(wnids.iter().all(|w| !w.is_empty()));
            let by_id = loc_val_solution(text);
            assert!(by_id.len() <= text.lines().count());
        }
    });
}
