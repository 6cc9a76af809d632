//! DVS128 Gesture's `<trial>_labels.csv` (`layouts::gesture_labels`) and, through a scratch
//! folder, the whole `layouts::dvs_gesture` listing: trial list, then labels. The input is the
//! CSV, or (first byte odd) a trial list, a 0xFF byte, and the CSV of trial `user01_lab`.
use dalif_data::layouts::{dvs_gesture, gesture_labels};

fn main() {
    let dir = dalif_fuzz::scratch("dvs_gesture");
    afl::fuzz!(|data: &[u8]| {
        let Some((&mode, rest)) = data.split_first() else {
            return;
        };
        if mode & 1 == 0 {
            if let Ok(text) = std::str::from_utf8(rest)
                && let Ok(rows) = gesture_labels(text)
            {
                assert!(
                    rows.iter()
                        .all(|&(c, s, e)| (1..=11).contains(&c) && s <= e)
                );
            }
            return;
        }
        let (list, csv) = dalif_fuzz::split_at_byte(rest, 0xFF);
        std::fs::write(dir.join("trials_to_train.txt"), list).unwrap();
        std::fs::write(dir.join("user01_lab_labels.csv"), csv).unwrap();
        if let Ok(samples) = dvs_gesture(&dir, true) {
            assert!(samples.iter().all(|s| s.label < 11));
        }
    });
}
