//! A synthetic event data set whose four classes differ only in the direction a bright square
//! moves (right, left, down, up). Each recording starts at a random place, so no single
//! position tells the class; the sensor (a 16x16 DVS model) emits ON events where the
//! square arrives and OFF events where it leaves, plus background noise. Recordings are
//! generated from a seed and written as AEDAT 3.1 files, then read back through the same
//! reader as DVS128 Gesture: it exercises the whole event pipeline on a fresh machine.

use crate::event_frames::EventSource;
use crate::formats::{aedat3, file_error};
use crate::rng::SplitMix64;
use crate::{DataError, Events};
use std::path::Path;

/// The sensor's `[H, W]`.
pub const SENSOR: [usize; 2] = [16, 16];
/// The class names, by label: the direction the square moves.
pub const CLASSES: [&str; 4] = ["right", "left", "down", "up"];
const TRAIN_PER_CLASS: usize = 96;
const TEST_PER_CLASS: usize = 24;
const SIDE: i32 = 4;
const STEPS: u64 = 10;
const STEP_US: u64 = 10_000;

/// One recording of class `class` (0 right, 1 left, 2 down, 3 up).
pub fn recording(class: usize, seed: u64) -> Events {
    let mut rng = SplitMix64::new(seed);
    let (dx, dy) = [(1, 0), (-1, 0), (0, 1), (0, -1)][class];
    // One pixel per step.
    let travel = STEPS as i32;
    let span = SENSOR[0] as i32 - SIDE;
    // Start so that the square stays mostly on the sensor; the other axis is free.
    let along = |d: i32, r: &mut SplitMix64| {
        let room = (span - travel).max(1);
        let s = r.below(room as u64) as i32;
        if d > 0 { s } else { span - s }
    };
    let (mut x, mut y) = match (dx, dy) {
        (0, _) => (rng.below(span as u64) as i32, along(dy, &mut rng)),
        _ => (along(dx, &mut rng), rng.below(span as u64) as i32),
    };
    let inside = |px: i32, py: i32, x: i32, y: i32| {
        (x..x + SIDE).contains(&px) && (y..y + SIDE).contains(&py)
    };
    let mut events = Events::default();
    for step in 0..STEPS {
        let (nx, ny) = (x + dx, y + dy);
        let t0 = step * STEP_US;
        let mut emitted = Vec::new();
        for py in (y.min(ny))..(y.max(ny) + SIDE) {
            for px in (x.min(nx))..(x.max(nx) + SIDE) {
                let (before, after) = (inside(px, py, x, y), inside(px, py, nx, ny));
                let on_sensor =
                    (0..SENSOR[1] as i32).contains(&px) && (0..SENSOR[0] as i32).contains(&py);
                if before != after && on_sensor {
                    emitted.push((px as u16, py as u16, u8::from(after)));
                }
            }
        }
        for _ in 0..2 {
            let (px, py) = (rng.below(SENSOR[1] as u64), rng.below(SENSOR[0] as u64));
            emitted.push((px as u16, py as u16, rng.below(2) as u8));
        }
        for (k, (px, py, p)) in emitted.into_iter().enumerate() {
            events.push(t0 + k as u64 * 10, px, py, p);
        }
        (x, y) = (nx, ny);
    }
    events
}

/// Writes the data set under `dir` (`train/<class>/<i>.aedat`, `test/...`) unless it is
/// already complete, then lists the samples of the split.
pub fn generate(dir: &Path, train: bool) -> Result<Vec<EventSource>, DataError> {
    let marker = dir.join("COMPLETE");
    let splits = [
        ("train", TRAIN_PER_CLASS, 0u64),
        ("test", TEST_PER_CLASS, 1 << 32),
    ];
    if !marker.exists() {
        for (split, per_class, base) in splits {
            for (label, name) in CLASSES.iter().enumerate() {
                let class_dir = dir.join(split).join(name);
                std::fs::create_dir_all(&class_dir)
                    .map_err(|e| file_error(&class_dir, format!("cannot create: {e}")))?;
                for i in 0..per_class {
                    let path = class_dir.join(format!("{i:03}.aedat"));
                    let seed = base + (label * 1000 + i) as u64;
                    let mut bytes = Vec::new();
                    aedat3::write(&mut bytes, &recording(label, seed), "synthetic DVS 16x16")
                        .expect("writing to memory");
                    let tmp = path.with_extension("tmp");
                    std::fs::write(&tmp, &bytes)
                        .and_then(|()| std::fs::rename(&tmp, &path))
                        .map_err(|e| file_error(&path, format!("cannot write: {e}")))?;
                }
            }
        }
        std::fs::write(&marker, "synthetic-events v1\n")
            .map_err(|e| file_error(&marker, format!("cannot write: {e}")))?;
    }
    let (split, per_class, _) = splits[usize::from(!train)];
    Ok((0..CLASSES.len())
        .flat_map(|label| {
            (0..per_class).map(move |i| EventSource {
                file: dir
                    .join(split)
                    .join(CLASSES[label])
                    .join(format!("{i:03}.aedat")),
                window: None,
                label,
            })
        })
        .collect())
}
