//! Event recordings as a data set of frames `[T, 2, H, W]`, integrated once and cached.

use crate::cache::{FNV_START, FrameCache, fnv1a_from};
use crate::formats::{aedat2, aedat3, file_error, nmnist};
use crate::frames::{integrate, resize};
use crate::{DataError, Dataset, Events, Sample, SplitBy};
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The largest sample, in bytes, that frames may take.
const MAX_SAMPLE_BYTES: usize = 1 << 30;

/// The file format of a recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventFormat {
    /// AEDAT 3.1 (DVS128 Gesture).
    Aedat3,
    /// AEDAT 2.0 with DVS128 addresses (CIFAR10-DVS), SpikingJelly's mapping.
    Aedat2Dvs128,
    /// The ATIS 40-bit format (N-MNIST).
    Atis40,
}

impl EventFormat {
    /// Reads every event of the recording at `path`, in file order.
    pub fn read(self, path: &Path) -> Result<Events, DataError> {
        match self {
            EventFormat::Aedat3 => aedat3::read_file(path),
            EventFormat::Aedat2Dvs128 => aedat2::read_file(path),
            EventFormat::Atis40 => nmnist::read_file(path),
        }
    }
}

/// One sample: a recording, or the window `[start, end)` (microseconds) of one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventSource {
    /// The recording.
    pub file: PathBuf,
    /// The labelled window `[start, end)` in microseconds; `None`: the whole recording.
    pub window: Option<(u64, u64)>,
    /// The class.
    pub label: usize,
}

/// The recording, and the window when the sample is one: how warnings name a sample.
impl std::fmt::Display for EventSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        match self.window {
            Some((start, end)) => write!(f, ", window [{start}, {end}) us"),
            None => Ok(()),
        }
    }
}

impl EventSource {
    /// This sample's events among those of its `recording`: its label window, or all.
    pub fn events<'a>(&self, recording: &'a Events) -> Cow<'a, Events> {
        match self.window {
            Some((start, end)) => Cow::Owned(recording.window(start, end)),
            None => Cow::Borrowed(recording),
        }
    }
}

/// How recordings become frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameSpec {
    /// T.
    pub frames: usize,
    /// How the events are cut into the T frames.
    pub split: SplitBy,
    /// `[H, W]` to resize the sensor's frames to, if not the sensor's own size.
    pub size: Option<[usize; 2]>,
}

/// What a sample's events hold that a user should hear of. The frames are still made (as
/// SpikingJelly makes them), but may not be what the user expects. Stored as bit flags with
/// the cached frames, so a run that reads the cache warns as the run that built it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventNote {
    /// The recording has no events at all: its frames are zero.
    EmptyRecording,
    /// The sample's labelled window of a non-empty recording holds no events: zero frames.
    EmptyWindow,
    /// Timestamps go backwards in the file; split by time, the events were sorted by time
    /// first (stably). Split by number, file order is kept, as SpikingJelly does.
    SortedByTime,
}

impl EventNote {
    const ALL: [EventNote; 3] = [
        EventNote::EmptyRecording,
        EventNote::EmptyWindow,
        EventNote::SortedByTime,
    ];

    fn bit(self) -> u32 {
        match self {
            EventNote::EmptyRecording => 1,
            EventNote::EmptyWindow => 2,
            EventNote::SortedByTime => 4,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            EventNote::EmptyRecording => "recordings without any event (their frames are zero)",
            EventNote::EmptyWindow => "labelled windows without any event (their frames are zero)",
            EventNote::SortedByTime => {
                "recordings whose timestamps go backwards (sorted by time before the split by \
                 time)"
            }
        }
    }
}

/// Recordings as frames of event counts `[T, 2, H, W]` (channel 0 OFF, channel 1 ON).
#[derive(Clone, Debug)]
pub struct EventFrames {
    sources: Vec<EventSource>,
    format: EventFormat,
    sensor: [usize; 2],
    spec: FrameSpec,
    classes: usize,
    shape: Vec<usize>,
    cache: Option<FrameCache>,
}

impl EventFrames {
    /// `sources` recorded by a `sensor = [H, W]` sensor in `format`, labels in `0..classes`.
    pub fn new(
        sources: Vec<EventSource>,
        format: EventFormat,
        sensor: [usize; 2],
        classes: usize,
        spec: FrameSpec,
    ) -> Result<Self, DataError> {
        if spec.frames == 0 {
            return Err(DataError::Invalid("frames need T >= 1".into()));
        }
        if let Some(s) = sources.iter().find(|s| s.label >= classes) {
            return Err(file_error(
                &s.file,
                format!("label {} is outside the {classes} classes", s.label),
            ));
        }
        let [h, w] = spec.size.unwrap_or(sensor);
        if h == 0 || w == 0 {
            return Err(DataError::Invalid(format!("frame size {h}x{w} is empty")));
        }
        // The cache stores each dimension as a u32 and a sample is one buffer: refuse sizes
        // whose frames could not be held rather than overflow.
        let bytes = [spec.frames, 2, h, w, 4]
            .into_iter()
            .try_fold(1usize, usize::checked_mul)
            .filter(|&b| b <= MAX_SAMPLE_BYTES);
        if bytes.is_none() {
            return Err(DataError::Invalid(format!(
                "frames of T = {} x 2 x {h} x {w} would take more than {} GiB per sample",
                spec.frames,
                MAX_SAMPLE_BYTES >> 30
            )));
        }
        Ok(Self {
            sources,
            format,
            sensor,
            spec,
            classes,
            shape: vec![spec.frames, 2, h, w],
            cache: None,
        })
    }

    /// Caches the frames under `root`; `key` names the data set, its location and split.
    ///
    /// The cache folder's name also holds T, the split rule, the frame size and a fingerprint
    /// of the sources in order (each file's path, size and modification time, its window and
    /// label): any change to what decides a sample's frames (another split of the recordings,
    /// a completed extraction, an edited label file) leads to another folder, so frames are
    /// never served for a sample they were not made from.
    pub fn with_cache(mut self, root: &Path, key: &str) -> Result<Self, DataError> {
        let s = &self.shape;
        let key = format!(
            "{key}-T{}-{}-{}x{}-{:016x}",
            self.spec.frames,
            self.spec.split.name(),
            s[2],
            s[3],
            self.fingerprint()?
        );
        self.cache = Some(FrameCache::new(root, &key, [s[0], s[1], s[2], s[3]]));
        Ok(self)
    }

    /// FNV-1a 64 over every source: path, size, modification time (ns), window and label.
    fn fingerprint(&self) -> Result<u64, DataError> {
        let mut stats: BTreeMap<&Path, (u64, u128)> = BTreeMap::new();
        let mut hash = FNV_START;
        for source in &self.sources {
            let (size, mtime) = match stats.get(source.file.as_path()) {
                Some(&stat) => stat,
                None => {
                    let meta = std::fs::metadata(&source.file)
                        .map_err(|e| file_error(&source.file, format!("cannot read: {e}")))?;
                    let mtime = meta
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_nanos());
                    *stats.entry(&source.file).or_insert((meta.len(), mtime))
                }
            };
            let (start, end) = source.window.map_or((u64::MAX, u64::MAX), |w| w);
            hash = fnv1a_from(hash, source.file.as_os_str().as_encoded_bytes());
            for v in [size, start, end, source.label as u64] {
                hash = fnv1a_from(hash, &v.to_le_bytes());
            }
            hash = fnv1a_from(hash, &mtime.to_le_bytes());
        }
        Ok(hash)
    }

    /// The samples, in order.
    pub fn sources(&self) -> &[EventSource] {
        &self.sources
    }

    /// The frame cache, if [`with_cache`](Self::with_cache) set one.
    pub fn cache(&self) -> Option<&FrameCache> {
        self.cache.as_ref()
    }

    /// The frames of `source`, a sample of the recording `events`, and its [`EventNote`]
    /// flags.
    fn sample_frames(
        &self,
        source: &EventSource,
        events: &Events,
    ) -> Result<(Vec<f32>, u32), DataError> {
        let mut flags = 0;
        let mut sample = source.events(events);
        if events.is_empty() {
            flags |= EventNote::EmptyRecording.bit();
        } else if sample.is_empty() {
            flags |= EventNote::EmptyWindow.bit();
        }
        if self.spec.split == SplitBy::Time && !sample.is_time_ordered() {
            sample.to_mut().sort_by_time();
            flags |= EventNote::SortedByTime.bit();
        }
        let [sh, sw] = self.sensor;
        let frames =
            integrate(&sample, self.spec.frames, self.spec.split, sh, sw).map_err(|e| match e {
                DataError::Invalid(m) => file_error(&source.file, m),
                other => other,
            })?;
        Ok((resize(&frames, sh, sw, self.shape[2], self.shape[3]), flags))
    }

    /// Integrates and caches every sample that is not cached yet, reading each file once,
    /// on all cores; `progress(done, total)` is called after each file. Returns the flags of
    /// every sample. Without a cache, does nothing.
    fn build_cache(&self, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<Vec<u32>, DataError> {
        let Some(cache) = &self.cache else {
            return Ok(Vec::new());
        };
        let mut flags = vec![0u32; self.sources.len()];
        let mut by_file: BTreeMap<&Path, Vec<usize>> = BTreeMap::new();
        for (i, s) in self.sources.iter().enumerate() {
            match cache.flags(i) {
                Some(f) => flags[i] = f,
                None => by_file.entry(&s.file).or_default().push(i),
            }
        }
        let total = by_file.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let built = by_file
            .into_par_iter()
            .map(|(file, indices)| {
                let events = self.format.read(file)?;
                let mut built = Vec::with_capacity(indices.len());
                for i in indices {
                    let (frames, f) = self.sample_frames(&self.sources[i], &events)?;
                    cache.put(i, &frames, f)?;
                    built.push((i, f));
                }
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(n, total);
                Ok(built)
            })
            .collect::<Result<Vec<_>, DataError>>()?;
        for (i, f) in built.into_iter().flatten() {
            flags[i] = f;
        }
        Ok(flags)
    }

    /// One warning per kind of [`EventNote`] among the samples' `flags`, with the number of
    /// samples and the first of them.
    fn warnings(&self, flags: &[u32]) -> Vec<String> {
        EventNote::ALL
            .into_iter()
            .filter_map(|note| {
                let hit: Vec<usize> = (0..flags.len())
                    .filter(|&i| flags[i] & note.bit() != 0)
                    .collect();
                let first = &self.sources[*hit.first()?];
                Some(format!(
                    "{} of {} samples are {}; the first: {first}",
                    hit.len(),
                    flags.len(),
                    note.describe(),
                ))
            })
            .collect()
    }
}

impl Dataset for EventFrames {
    fn len(&self) -> usize {
        self.sources.len()
    }

    fn sample_shape(&self) -> &[usize] {
        &self.shape
    }

    fn num_classes(&self) -> usize {
        self.classes
    }

    fn prepare(&self, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<Vec<String>, DataError> {
        let flags = self.build_cache(progress)?;
        Ok(self.warnings(&flags))
    }

    fn get(&self, index: usize) -> Result<Sample, DataError> {
        let source = self.sources.get(index).ok_or(DataError::OutOfRange {
            index,
            len: self.len(),
        })?;
        let cached = self.cache.as_ref().and_then(|c| c.get(index));
        let data = match cached {
            Some((data, _)) => data,
            None => {
                let (data, flags) = self.sample_frames(source, &self.format.read(&source.file)?)?;
                if let Some(cache) = &self.cache {
                    cache.put(index, &data, flags)?;
                }
                data
            }
        };
        Ok(Sample {
            data,
            shape: self.shape.clone(),
            label: source.label,
        })
    }
}
