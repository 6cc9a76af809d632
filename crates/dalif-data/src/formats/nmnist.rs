//! The ATIS 40-bit event format of N-MNIST and N-Caltech101: 5-byte events, no header. Byte
//! 0 is x, byte 1 is y, bit 7 of byte 2 the polarity (1 = ON), and the remaining 23 bits the
//! big-endian timestamp in microseconds. An event with y = 240 marks a timestamp overflow: it
//! is dropped and later timestamps gain 2^13 each time (tonic's rule; N-MNIST never has one).

use super::{FormatError, file_error, read};
use crate::{DataError, Events};
use std::path::Path;

const OVERFLOW_MARKER: u8 = 240;

/// The events of the 40-bit event file at `path`.
pub fn read_file(path: &Path) -> Result<Events, DataError> {
    parse(&read(path)?).map_err(|message| file_error(path, message))
}

/// The events of a 40-bit event file's bytes.
pub fn parse(bytes: &[u8]) -> Result<Events, FormatError> {
    if !bytes.len().is_multiple_of(5) {
        return Err(FormatError(format!(
            "{} bytes: not a whole number of 5-byte events",
            bytes.len()
        )));
    }
    let mut events = Events::with_capacity(bytes.len() / 5);
    let mut offset = 0u64;
    for e in bytes.chunks_exact(5) {
        if e[1] == OVERFLOW_MARKER {
            offset += 1 << 13;
            continue;
        }
        let t = ((e[2] as u64 & 0x7F) << 16) | (e[3] as u64) << 8 | e[4] as u64;
        events.push(t + offset, e[0] as u16, e[1] as u16, e[2] >> 7);
    }
    Ok(events)
}
