//! Events to frames: SpikingJelly's `integrate_events_by_fixed_frames_number`, and resizing.

use crate::{DataError, Events};
use serde::{Deserialize, Serialize};

/// How a recording is cut into T frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplitBy {
    /// Equal event counts: frame j holds events `[j*d, (j+1)*d)` with `d = N / T`; the last
    /// frame also takes the remainder.
    Number,
    /// Equal durations: with `D = (t[N-1] - t[0]) / T` (integer division), frame j holds the
    /// events with `t0 + j*D <= t < t0 + (j+1)*D`; the last frame takes every event from
    /// `t0 + (T-1)*D` on. An empty window gives an empty frame (SpikingJelly fails there).
    Time,
}

impl SplitBy {
    /// The rule's name, as the command line and the configuration spell it (`number`, `time`).
    pub fn name(self) -> &'static str {
        match self {
            SplitBy::Number => "number",
            SplitBy::Time => "time",
        }
    }
}

impl std::str::FromStr for SplitBy {
    type Err = crate::DataError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "number" => Ok(SplitBy::Number),
            "time" => Ok(SplitBy::Time),
            other => Err(crate::DataError::Invalid(format!(
                "unknown split '{other}' (expected number or time)"
            ))),
        }
    }
}

/// `(start, end)` event index ranges of the `frames` frames.
pub fn segments(t: &[u64], frames: usize, split: SplitBy) -> Vec<(usize, usize)> {
    let n = t.len();
    let mut out: Vec<(usize, usize)> = match split {
        SplitBy::Number => {
            let d = n / frames;
            (0..frames).map(|j| (j * d, (j + 1) * d)).collect()
        }
        SplitBy::Time if n > 0 => {
            let (t0, span) = (t[0], t[n - 1] - t[0]);
            let d = span / frames as u64;
            let first_at = |time: u64| t.partition_point(|&x| x < time);
            (0..frames as u64)
                .map(|j| (first_at(t0 + j * d), first_at(t0 + (j + 1) * d)))
                .collect()
        }
        SplitBy::Time => vec![(0, 0); frames],
    };
    if let Some(last) = out.last_mut() {
        last.1 = n;
    }
    out
}

/// Integrates `events` into `frames` frames of shape `[2, height, width]`, returned as one
/// `[frames, 2, height, width]` buffer of event counts: channel 0 counts OFF events (p = 0),
/// channel 1 ON events. With `[start_j, end_j)` the events of frame `j` ([`segments`]),
///
/// ```text
/// F[j, c, y, x] = #{ i in [start_j, end_j) : [p_i != 0] = c, y_i = y, x_i = x }
/// ```
pub fn integrate(
    events: &Events,
    frames: usize,
    split: SplitBy,
    height: usize,
    width: usize,
) -> Result<Vec<f32>, DataError> {
    if frames == 0 {
        return Err(DataError::Invalid("frames need T >= 1".into()));
    }
    // Split by number, frames follow file order (SpikingJelly's slicing of the arrays);
    // split by time, the cut points assume sorted timestamps.
    if split == SplitBy::Time && !events.is_time_ordered() {
        return Err(DataError::Invalid(
            "events are not in time order, so they cannot be cut into frames of equal \
             duration (sort them first)"
                .into(),
        ));
    }
    if let Some(i) =
        (0..events.len()).find(|&i| events.x[i] as usize >= width || events.y[i] as usize >= height)
    {
        return Err(DataError::Invalid(format!(
            "event {i} at (x {}, y {}) lies outside the {width}x{height} sensor",
            events.x[i], events.y[i]
        )));
    }
    let plane = height * width;
    let mut out = vec![0f32; frames * 2 * plane];
    for (j, (start, end)) in segments(&events.t, frames, split).into_iter().enumerate() {
        let frame = &mut out[j * 2 * plane..(j + 1) * 2 * plane];
        for i in start..end {
            let c = usize::from(events.p[i] != 0);
            frame[c * plane + events.y[i] as usize * width + events.x[i] as usize] += 1.0;
        }
    }
    Ok(out)
}

/// Resizes every `[h, w]` plane of `planes` (concatenated, non-negative counts) to
/// `[to_h, to_w]` with a triangle (bilinear, antialiased when shrinking) filter, as PIL's
/// bilinear resize does.
pub fn resize(planes: &[f32], h: usize, w: usize, to_h: usize, to_w: usize) -> Vec<f32> {
    if (h, w) == (to_h, to_w) {
        return planes.to_vec();
    }
    let mut out = Vec::with_capacity(planes.len() / (h * w) * to_h * to_w);
    for plane in planes.chunks_exact(h * w) {
        // `image` clamps float pixels to [0, 1]: resize the plane scaled by its largest value
        // (the filter's weights are non-negative, so the result stays in range) and undo it.
        let max = plane.iter().fold(0f32, |m, &v| m.max(v.abs()));
        if max == 0.0 {
            out.resize(out.len() + to_h * to_w, 0.0);
            continue;
        }
        let scaled: Vec<f32> = plane.iter().map(|&v| v / max).collect();
        let image = image::ImageBuffer::<image::Luma<f32>, _>::from_raw(w as u32, h as u32, scaled)
            .expect("the plane holds h*w values");
        let resized = image::imageops::resize(
            &image,
            to_w as u32,
            to_h as u32,
            image::imageops::FilterType::Triangle,
        );
        out.extend(resized.as_raw().iter().map(|&v| v * max));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(t: &[u64]) -> Events {
        let mut e = Events::default();
        for (i, &t) in t.iter().enumerate() {
            e.push(t, (i % 2) as u16, 0, (i % 2) as u8);
        }
        e
    }

    fn counts(e: &Events, frames: usize, split: SplitBy) -> Vec<f32> {
        integrate(e, frames, split, 1, 2)
            .unwrap()
            .chunks(4)
            .map(|f| f.iter().sum())
            .collect()
    }

    #[test]
    fn matches_spikingjelly_on_the_documented_examples() {
        // shared/docs/dataset-formats.md section 6: t = [0, 1, 2, 3], T = 2, by time: (1, 3).
        assert_eq!(segments(&[0, 1, 2, 3], 2, SplitBy::Time), [(0, 1), (1, 4)]);
        // t = 0..9, T = 3: by number (3, 3, 4); by time (D = 3) (3, 3, 4).
        let e = events(&(0..10).collect::<Vec<_>>());
        assert_eq!(counts(&e, 3, SplitBy::Number), [3.0, 3.0, 4.0]);
        assert_eq!(counts(&e, 3, SplitBy::Time), [3.0, 3.0, 4.0]);
    }

    #[test]
    fn channels_are_off_then_on_and_counts_accumulate() {
        let mut e = Events::default();
        e.push(0, 1, 0, 1);
        e.push(1, 1, 0, 1);
        e.push(2, 0, 0, 0);
        let f = integrate(&e, 1, SplitBy::Number, 1, 2).unwrap();
        // [OFF x0, OFF x1, ON x0, ON x1]
        assert_eq!(f, [1.0, 0.0, 0.0, 2.0]);
    }

    #[test]
    fn few_events_and_empty_time_bins_give_empty_frames() {
        let e = events(&[0, 1]);
        assert_eq!(counts(&e, 3, SplitBy::Number), [0.0, 0.0, 2.0]);
        // A gap: t = 0, 1 and 100; T = 4, D = 25: frames 1 and 2 are empty.
        let e = events(&[0, 1, 100]);
        assert_eq!(counts(&e, 4, SplitBy::Time), [2.0, 0.0, 0.0, 1.0]);
        assert_eq!(counts(&Events::default(), 2, SplitBy::Time), [0.0, 0.0]);
    }

    #[test]
    fn out_of_order_events_split_by_number_in_file_order_and_refused_by_time() {
        // SpikingJelly slices the arrays: frame 0 holds the first two events of the file.
        let e = events(&[50, 60, 10, 20]);
        let f = integrate(&e, 2, SplitBy::Number, 1, 2).unwrap();
        assert_eq!(f, [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0]);
        let err = integrate(&e, 2, SplitBy::Time, 1, 2).unwrap_err();
        assert!(err.to_string().contains("not in time order"), "{err}");
    }

    #[test]
    fn refuses_what_it_cannot_integrate() {
        let mut e = events(&[5, 3]);
        assert!(integrate(&e, 0, SplitBy::Number, 1, 2).is_err());
        e.t = vec![3, 5];
        e.x[0] = 7;
        let err = integrate(&e, 2, SplitBy::Number, 1, 2).unwrap_err();
        assert!(err.to_string().contains("outside the 2x1 sensor"), "{err}");
    }

    #[test]
    fn resizing_keeps_a_uniform_plane_uniform() {
        let planes = vec![2.0; 2 * 128 * 128];
        let out = resize(&planes, 128, 128, 48, 48);
        assert_eq!(out.len(), 2 * 48 * 48);
        assert!(out.iter().all(|&v| (v - 2.0).abs() < 1e-5));
    }
}
