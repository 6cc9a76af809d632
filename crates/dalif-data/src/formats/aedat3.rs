//! AEDAT 3.1 (iniVation), the format of DVS128 Gesture: `#` header lines ending with
//! `#!END-HEADER`, then event packets back to back. Each packet has a 28-byte little-endian
//! header (type, source, event size, timestamp offset, timestamp overflow, capacity, number,
//! valid) and `capacity * size` bytes of events. Polarity events (type 1) are 8 bytes: `data`
//! (bit 0 valid, bit 1 polarity, bits 2-16 y, bits 17-31 x) and a 31-bit timestamp; the full
//! time is `overflow << 31 | timestamp`.
//!
//! Like SpikingJelly's `load_aedat_v3`, every polarity event is kept, including those whose
//! valid bit is 0, and packets of other types are skipped.

use super::{FormatError, file_error, read};
use crate::{DataError, Events};
use std::io::Write;
use std::path::Path;

const PACKET_HEADER: usize = 28;
const POLARITY: i16 = 1;
const FIRST_LINE: &[u8] = b"#!AER-DAT3.1";
const END_HEADER: &[u8] = b"#!END-HEADER";

fn le_i16(b: &[u8]) -> i16 {
    i16::from_le_bytes([b[0], b[1]])
}

fn le_i32(b: &[u8]) -> i32 {
    i32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The polarity events of the AEDAT 3.1 file at `path`.
pub fn read_file(path: &Path) -> Result<Events, DataError> {
    parse(&read(path)?).map_err(|message| file_error(path, message))
}

/// The offset of the first packet: just after the `#!END-HEADER` line.
fn header_end(bytes: &[u8]) -> Result<usize, FormatError> {
    if !bytes.starts_with(FIRST_LINE) {
        return Err(FormatError(
            "not an AEDAT 3.1 file: it does not start with '#!AER-DAT3.1'".into(),
        ));
    }
    let mut pos = 0;
    while pos < bytes.len() {
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| pos + i + 1);
        let line = bytes[pos..end].trim_ascii_end();
        if !line.starts_with(b"#") {
            return Err(FormatError(format!(
                "header line at byte {pos} does not start with '#' and no '#!END-HEADER' came before"
            )));
        }
        pos = end;
        if line == END_HEADER {
            return Ok(pos);
        }
    }
    Err(FormatError("the header has no '#!END-HEADER' line".into()))
}

/// The polarity events of an AEDAT 3.1 file's bytes.
pub fn parse(bytes: &[u8]) -> Result<Events, FormatError> {
    let mut pos = header_end(bytes)?;
    let mut events = Events::default();
    while pos < bytes.len() {
        let Some(h) = bytes.get(pos..pos + PACKET_HEADER) else {
            return Err(FormatError(format!(
                "truncated packet header at byte {pos} ({} bytes left, 28 needed)",
                bytes.len() - pos
            )));
        };
        let (kind, size, ts_offset) = (le_i16(&h[0..]), le_i32(&h[4..]), le_i32(&h[8..]));
        let (overflow, capacity) = (le_i32(&h[12..]), le_i32(&h[16..]));
        if size <= 0 || capacity < 0 || overflow < 0 {
            return Err(FormatError(format!(
                "packet at byte {pos}: event size {size}, capacity {capacity}, overflow {overflow}"
            )));
        }
        let payload = size as usize * capacity as usize;
        let start = pos + PACKET_HEADER;
        let Some(data) = bytes.get(start..start + payload) else {
            return Err(FormatError(format!(
                "packet at byte {pos} announces {capacity} events of {size} bytes, but only {} bytes follow",
                bytes.len() - start
            )));
        };
        if kind == POLARITY {
            if size != 8 || ts_offset != 4 {
                return Err(FormatError(format!(
                    "polarity packet at byte {pos} has {size}-byte events with the timestamp at \
                     byte {ts_offset} (expected 8 and 4)"
                )));
            }
            events.t.reserve(capacity as usize);
            for e in data.chunks_exact(8) {
                let word = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
                let ts = u32::from_le_bytes([e[4], e[5], e[6], e[7]]) & 0x7FFF_FFFF;
                events.push(
                    (overflow as u64) << 31 | ts as u64,
                    ((word >> 17) & 0x7FFF) as u16,
                    ((word >> 2) & 0x7FFF) as u16,
                    ((word >> 1) & 1) as u8,
                );
            }
        }
        pos = start + payload;
    }
    Ok(events)
}

/// Writes `events` as an AEDAT 3.1 file: the standard header, then one polarity packet per
/// run of events with the same timestamp overflow (`t >> 31`), all marked valid.
pub fn write(out: &mut impl Write, events: &Events, source: &str) -> std::io::Result<()> {
    write!(
        out,
        "#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: {source}\r\n#Start-Time: 2017-01-01 00:00:00 (TZ+0000)\r\n#!END-HEADER\r\n"
    )?;
    let mut i = 0;
    while i < events.len() {
        let overflow = events.t[i] >> 31;
        let n = events.t[i..]
            .iter()
            .take_while(|&&t| t >> 31 == overflow)
            .count();
        for v in [POLARITY, 1] {
            out.write_all(&v.to_le_bytes())?;
        }
        for v in [8, 4, overflow as i32, n as i32, n as i32, n as i32] {
            out.write_all(&v.to_le_bytes())?;
        }
        for j in i..i + n {
            let word = (events.x[j] as u32) << 17
                | (events.y[j] as u32) << 2
                | (events.p[j] as u32 & 1) << 1
                | 1;
            out.write_all(&word.to_le_bytes())?;
            out.write_all(&((events.t[j] & 0x7FFF_FFFF) as u32).to_le_bytes())?;
        }
        i += n;
    }
    Ok(())
}
