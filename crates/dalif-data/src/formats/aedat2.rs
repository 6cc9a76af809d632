//! AEDAT 2.0 with DVS128 addresses, the format of CIFAR10-DVS: optional `#` header lines,
//! then 8-byte events of big-endian `address` and `timestamp` (microseconds). Address bits:
//! 0 raw polarity (0 = ON), 1-7 raw x, 8-14 raw y, 15 external event.
//!
//! Coordinates follow SpikingJelly's `CIFAR10DVS`, which the CIFAR10-DVS literature trained on:
//! `x = 127 - y_raw`, `y = 127 - x_raw`, `p = 1 - p_raw` (so p = 1 is ON).

use super::{FormatError, file_error, read};
use crate::{DataError, Events};
use std::io::Write;
use std::path::Path;

/// The events of the AEDAT 2.0 (DVS128) file at `path`.
pub fn read_file(path: &Path) -> Result<Events, DataError> {
    parse(&read(path)?).map_err(|message| file_error(path, message))
}

/// The offset of the first event: the header is every leading line that starts with `#`.
fn header_end(bytes: &[u8]) -> usize {
    let mut pos = 0;
    while bytes.get(pos) == Some(&b'#') {
        pos = bytes[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| pos + i + 1);
    }
    pos
}

/// The events of an AEDAT 2.0 (DVS128) file's bytes.
pub fn parse(bytes: &[u8]) -> Result<Events, FormatError> {
    let start = header_end(bytes);
    let body = &bytes[start..];
    if !body.len().is_multiple_of(8) {
        return Err(FormatError(format!(
            "{} bytes of events after the {start}-byte header: not a whole number of 8-byte events",
            body.len()
        )));
    }
    let mut events = Events::with_capacity(body.len() / 8);
    for e in body.chunks_exact(8) {
        let address = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
        let t = u32::from_be_bytes([e[4], e[5], e[6], e[7]]);
        let (p_raw, x_raw, y_raw) = (address & 1, (address >> 1) & 0x7F, (address >> 8) & 0x7F);
        events.push(
            t as u64,
            (127 - y_raw) as u16,
            (127 - x_raw) as u16,
            (1 - p_raw) as u8,
        );
    }
    Ok(events)
}

/// Writes `events` (in the mapped coordinates above) as an AEDAT 2.0 DVS128 file, with a
/// jAER-style header; the inverse of [`parse`].
pub fn write(out: &mut impl Write, events: &Events) -> std::io::Result<()> {
    out.write_all(
        b"#!AER-DAT2.0\r\n# This is a raw AE data file\r\n# Data format is int32 address, int32 timestamp (8 bytes total), repeated for each event\r\n# Timestamps tick is 1 us\r\n",
    )?;
    for i in 0..events.len() {
        let (x_raw, y_raw) = (127 - events.y[i] as u32, 127 - events.x[i] as u32);
        let address = y_raw << 8 | x_raw << 1 | (1 - (events.p[i] as u32 & 1));
        out.write_all(&address.to_be_bytes())?;
        out.write_all(&(events.t[i] as u32).to_be_bytes())?;
    }
    Ok(())
}
