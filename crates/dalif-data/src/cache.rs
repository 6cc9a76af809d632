//! The on-disk cache of integrated event frames, so that the second epoch and the second run
//! never parse events again.
//!
//! One file per sample, under a folder named by a key that covers everything the frames
//! depend on (see [`crate::event_frames::EventFrames::with_cache`]). A file is `DALIFFRM`, a
//! format version (u32), the shape `[T, C, H, W]` (4 x u32), the sample's flags (u32, what the
//! data set notes about it), an FNV-1a 64 checksum of the values (u64), then the `f32` values,
//! all little-endian. Files are written to a temporary name and renamed, and checked (magic,
//! version, shape, length, checksum) when read; a file that fails the check is rebuilt.

use crate::DataError;
use crate::formats::file_error;
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"DALIFFRM";
const VERSION: u32 = 2;
const HEADER: usize = 8 + 4 + 16 + 4 + 8;

/// FNV-1a 64 of `bytes`, continuing from `hash` (start from [`FNV_START`]).
pub(crate) fn fnv1a_from(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

pub(crate) const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_from(FNV_START, bytes)
}

/// A folder of cached frames for one data set split and frame configuration.
#[derive(Clone, Debug)]
pub struct FrameCache {
    dir: PathBuf,
    shape: [usize; 4],
}

impl FrameCache {
    /// The cache under `root` for `key` (a readable description of everything the frames
    /// depend on) and frames of `shape`.
    pub fn new(root: &Path, key: &str, shape: [usize; 4]) -> Self {
        let safe: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Self {
            dir: root.join(safe),
            shape,
        }
    }

    /// The folder holding this data set's cached frames, one file per sample.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, index: usize) -> PathBuf {
        self.dir.join(format!("{index:06}.frames"))
    }

    /// The cached frames of sample `index` and its flags, or `None` when absent or failing
    /// the check.
    pub fn get(&self, index: usize) -> Option<(Vec<f32>, u32)> {
        self.decode(&std::fs::read(self.path(index)).ok()?)
    }

    /// The flags of sample `index` from its file's header alone, or `None` when the file is
    /// absent or its header or length fails the check. Cheap: checking that every sample of a
    /// large set is cached reads 40 bytes a sample; the values' checksum is checked by `get`,
    /// which rebuilds a damaged sample when it is read.
    pub fn flags(&self, index: usize) -> Option<u32> {
        use std::io::Read;
        let mut file = std::fs::File::open(self.path(index)).ok()?;
        let len = file.metadata().ok()?.len();
        let mut head = [0u8; HEADER];
        file.read_exact(&mut head).ok()?;
        self.check_header(&head, usize::try_from(len).ok()?)
    }

    /// The flags in `head`, the first [`HEADER`] bytes of a file of `len` bytes, if it is a
    /// cache file of this version and shape with the matching length.
    fn check_header(&self, head: &[u8], len: usize) -> Option<u32> {
        let n: usize = self.shape.iter().product();
        if head.len() < HEADER || len != HEADER + 4 * n || &head[..8] != MAGIC {
            return None;
        }
        let u32_at = |i: usize| u32::from_le_bytes(head[i..i + 4].try_into().unwrap());
        let shape = [u32_at(12), u32_at(16), u32_at(20), u32_at(24)];
        if u32_at(8) != VERSION || shape.map(|d| d as usize) != self.shape {
            return None;
        }
        Some(u32_at(28))
    }

    /// The frames and flags held by a cache file's `bytes`, or `None` when they fail the
    /// check (see [`FrameCache::get`]).
    pub fn decode(&self, bytes: &[u8]) -> Option<(Vec<f32>, u32)> {
        let flags = self.check_header(bytes, bytes.len())?;
        let sum = u64::from_le_bytes(bytes[32..40].try_into().unwrap());
        let body = &bytes[HEADER..];
        if fnv1a(body) != sum {
            return None;
        }
        let frames = body
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        Some((frames, flags))
    }

    /// Stores the frames of sample `index` with its `flags`, atomically.
    pub fn put(&self, index: usize, frames: &[f32], flags: u32) -> Result<(), DataError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| file_error(&self.dir, format!("cannot create the frame cache: {e}")))?;
        let body: Vec<u8> = frames.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut bytes = Vec::with_capacity(HEADER + body.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&VERSION.to_le_bytes());
        for d in self.shape {
            bytes.extend_from_slice(&(d as u32).to_le_bytes());
        }
        bytes.extend_from_slice(&flags.to_le_bytes());
        bytes.extend_from_slice(&fnv1a(&body).to_le_bytes());
        bytes.extend_from_slice(&body);
        let path = self.path(index);
        let tmp = path.with_extension(format!(
            "tmp-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let err =
            |e: std::io::Error| file_error(&path, format!("cannot write the frame cache: {e}"));
        let mut file = std::fs::File::create(&tmp).map_err(err)?;
        file.write_all(&bytes).map_err(err)?;
        std::fs::rename(&tmp, &path).map_err(err)
    }
}

/// The frame cache's default root: `$DALIF_CACHE_DIR`, else `$XDG_CACHE_HOME/dalif`, else
/// `~/.cache/dalif`, else the temporary folder. Never inside a data set's own folder, which
/// dalif does not modify.
pub fn default_root() -> PathBuf {
    let env = |k| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("DALIF_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|p| p.join("dalif")))
        .or_else(|| env("HOME").map(|p| p.join(".cache").join("dalif")))
        .unwrap_or_else(|| std::env::temp_dir().join("dalif-cache"))
}

/// A short stable tag of a path, to keep the caches of two copies of a data set apart.
pub fn path_tag(path: &Path) -> String {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    format!(
        "{:08x}",
        fnv1a(canonical.to_string_lossy().as_bytes()) as u32
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_checks_and_rejects_damaged_entries() {
        let root = std::env::temp_dir().join(format!("dalif-cache-test-{}", std::process::id()));
        let cache = FrameCache::new(&root, "set/T=2 number", [2, 1, 1, 2]);
        assert!(cache.dir().ends_with("set_T_2_number"));
        assert_eq!(cache.get(3), None);
        cache.put(3, &[1.0, 2.0, 3.0, 4.5], 5).unwrap();
        assert_eq!(cache.get(3), Some((vec![1.0, 2.0, 3.0, 4.5], 5)));
        assert_eq!(cache.flags(3), Some(5));
        // A flipped value fails the checksum; another shape fails the header.
        let path = cache.path(3);
        let mut bytes = std::fs::read(&path).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(cache.get(3), None);
        cache.put(3, &[1.0, 2.0, 3.0, 4.5], 0).unwrap();
        let other = FrameCache::new(&root, "set/T=2 number", [1, 1, 2, 2]);
        assert_eq!(other.get(3), None);
        assert_eq!(other.flags(3), None);
        // A cut file fails the length check of the header alone.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
        assert_eq!(cache.flags(3), None);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
