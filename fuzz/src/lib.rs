//! What the fuzz targets share. Each target in `src/bin/` feeds AFL's input to one parser
//! through the same function the file-reading path calls, and panics only on a bug: a parser
//! must answer any bytes with a value or an error.

use std::path::PathBuf;

/// A scratch folder for the targets that must go through files, one per process (AFL runs a
/// target's inputs in one persistent process).
pub fn scratch(target: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dalif-fuzz-{target}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the scratch folder");
    dir
}

/// The input split in two at the first `sep` (all of it and nothing when there is none).
pub fn split_at_byte(data: &[u8], sep: u8) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == sep) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// The seed files and the PNG repair the property tests use too.
#[path = "../../crates/dalif-data/tests/seeds/mod.rs"]
pub mod seeds;
pub use seeds::fix_png_crcs;
