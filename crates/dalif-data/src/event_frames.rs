//! Event recordings as a data set of frames `[T, 2, H, W]`, integrated once and cached.

use crate::cache::FrameCache;
use crate::formats::{aedat2, aedat3, file_error, nmnist};
use crate::frames::{integrate, resize};
use crate::{DataError, Dataset, Events, Sample, SplitBy};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
    pub file: PathBuf,
    pub window: Option<(u64, u64)>,
    pub label: usize,
}

/// How recordings become frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameSpec {
    /// T.
    pub frames: usize,
    pub split: SplitBy,
    /// `[H, W]` to resize the sensor's frames to, if not the sensor's own size.
    pub size: Option<[usize; 2]>,
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
    pub fn with_cache(mut self, root: &Path, key: &str) -> Self {
        let s = &self.shape;
        let key = format!(
            "{key}-T{}-{}-{}x{}",
            self.spec.frames,
            self.spec.split.name(),
            s[2],
            s[3]
        );
        self.cache = Some(FrameCache::new(root, &key, [s[0], s[1], s[2], s[3]]));
        self
    }

    pub fn sources(&self) -> &[EventSource] {
        &self.sources
    }

    pub fn cache(&self) -> Option<&FrameCache> {
        self.cache.as_ref()
    }

    /// The frames of `events`, a sample of `file`.
    fn frames(&self, events: &Events, file: &Path) -> Result<Vec<f32>, DataError> {
        let [sh, sw] = self.sensor;
        let frames =
            integrate(events, self.spec.frames, self.spec.split, sh, sw).map_err(|e| match e {
                DataError::Invalid(m) => file_error(file, m),
                other => other,
            })?;
        Ok(resize(&frames, sh, sw, self.shape[2], self.shape[3]))
    }

    fn sample_frames(&self, source: &EventSource, events: &Events) -> Result<Vec<f32>, DataError> {
        match source.window {
            Some((start, end)) => self.frames(&events.window(start, end), &source.file),
            None => self.frames(events, &source.file),
        }
    }

    /// Integrates and caches every sample that is not cached yet, reading each file once,
    /// on all cores; `progress(done, total)` is called after each file. Without a cache,
    /// does nothing.
    fn build_cache(&self, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<(), DataError> {
        let Some(cache) = &self.cache else {
            return Ok(());
        };
        let mut by_file: BTreeMap<&Path, Vec<usize>> = BTreeMap::new();
        for (i, s) in self.sources.iter().enumerate() {
            if cache.get(i).is_none() {
                by_file.entry(&s.file).or_default().push(i);
            }
        }
        let total = by_file.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        by_file.into_par_iter().try_for_each(|(file, indices)| {
            let events = self.format.read(file)?;
            for i in indices {
                cache.put(i, &self.sample_frames(&self.sources[i], &events)?)?;
            }
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(n, total);
            Ok(())
        })
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

    fn prepare(&self, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<(), DataError> {
        self.build_cache(progress)
    }

    fn get(&self, index: usize) -> Result<Sample, DataError> {
        let source = self.sources.get(index).ok_or(DataError::OutOfRange {
            index,
            len: self.len(),
        })?;
        let cached = self.cache.as_ref().and_then(|c| c.get(index));
        let data = match cached {
            Some(data) => data,
            None => {
                let data = self.sample_frames(source, &self.format.read(&source.file)?)?;
                if let Some(cache) = &self.cache {
                    cache.put(index, &data)?;
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
