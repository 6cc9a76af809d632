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

/// Recomputes the CRC of every complete chunk of a PNG, so that mutations reach the decoder
/// instead of stopping at the checksum. Not a PNG: left alone.
pub fn fix_png_crcs(bytes: &mut [u8]) {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return;
    }
    let mut pos = 8;
    while pos + 12 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let Some(end) = (pos + 8).checked_add(len).filter(|&e| e + 4 <= bytes.len()) else {
            return;
        };
        let mut crc = flate2::Crc::new();
        crc.update(&bytes[pos + 4..end]);
        bytes[end..end + 4].copy_from_slice(&crc.sum().to_be_bytes());
        pos = end + 4;
    }
}
