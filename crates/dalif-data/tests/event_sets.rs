//! The event data sets' release layouts, written here in miniature, read into frames and
//! cached; and the synthetic set through the AEDAT 3.1 code path.

use dalif_data::formats::{aedat2, aedat3};
use dalif_data::layouts::{self, Cifar10DvsSplit};
use dalif_data::{
    Dataset, EventFormat, EventFrames, EventSource, Events, FrameSpec, SplitBy, synthetic,
};
use std::path::{Path, PathBuf};

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dalif-events-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Events at t = 100, 200, ..., 1000 at x = t / 100, y = 1, alternating polarity.
fn ramp() -> Events {
    let mut e = Events::default();
    for k in 1..=10u64 {
        e.push(k * 100, k as u16, 1, (k % 2) as u8);
    }
    e
}

fn write_aedat3(path: &Path, events: &Events) {
    let mut bytes = Vec::new();
    aedat3::write(&mut bytes, events, "DVS128").unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn dvs_gesture_cuts_trials_by_their_label_windows() {
    let root = tempdir("gesture");
    let dir = root.join("DvsGesture");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("trials_to_train.txt"),
        "user01_led.aedat\nuser02_lab.aedat\n\n",
    )
    .unwrap();
    std::fs::write(dir.join("trials_to_test.txt"), "user24_led.aedat\n").unwrap();
    for trial in ["user01_led", "user02_lab", "user24_led"] {
        write_aedat3(&dir.join(format!("{trial}.aedat")), &ramp());
    }
    // Windows cut exactly at event times: start inclusive, end exclusive; the first and last
    // windows touch the ends of the recording, and class 8 comes twice (the arm roll).
    let csv = "class,startTime_usec,endTime_usec\r\n1,100,400\r\n8,400,700\r\n8,700,1001\r\n";
    for trial in ["user01_led", "user02_lab", "user24_led"] {
        std::fs::write(dir.join(format!("{trial}_labels.csv")), csv).unwrap();
    }
    let train = layouts::dvs_gesture(&root, true).unwrap();
    let test = layouts::dvs_gesture(&dir, false).unwrap();
    assert_eq!((train.len(), test.len()), (6, 3));
    assert_eq!(train[1].window, Some((400, 700)));
    assert_eq!(train[1].label, 7);
    let spec = FrameSpec {
        frames: 1,
        split: SplitBy::Number,
        size: None,
    };
    let set = EventFrames::new(train, EventFormat::Aedat3, [128, 128], 11, spec).unwrap();
    let counts: Vec<f32> = (0..3)
        .map(|i| set.get(i).unwrap().data.iter().sum())
        .collect();
    assert_eq!(counts, [3.0, 3.0, 4.0]);

    std::fs::write(
        dir.join("user24_led_labels.csv"),
        "class,startTime_usec,endTime_usec\n12,1,2\n",
    )
    .unwrap();
    let err = layouts::dvs_gesture(&root, false).unwrap_err().to_string();
    assert!(
        err.contains("user24_led_labels.csv") && err.contains("class 12"),
        "{err}"
    );
    let err = layouts::dvs_gesture(&root.join("missing"), true)
        .unwrap_err()
        .to_string();
    assert!(err.contains("trials_to_train.txt"), "{err}");
}

#[test]
fn cifar10_dvs_splits_each_class_nine_to_one_in_file_name_order() {
    let root = tempdir("cifar10dvs");
    let names = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ];
    // Created out of order: labels come from the sorted folder names.
    for name in names.iter().rev() {
        let class = root.join(name);
        std::fs::create_dir_all(&class).unwrap();
        for i in 0..11 {
            let mut bytes = Vec::new();
            aedat2::write(&mut bytes, &ramp()).unwrap();
            std::fs::write(class.join(format!("cifar10_{name}_{i}.aedat")), bytes).unwrap();
        }
    }
    let (train, classes) = layouts::cifar10_dvs(&root, true, Cifar10DvsSplit::NineToOne).unwrap();
    let (test, _) = layouts::cifar10_dvs(&root, false, Cifar10DvsSplit::NineToOne).unwrap();
    assert_eq!(classes, names);
    // ceil(0.9 * 11) = 10 train per class; in name order _0, _1, _10, _2, ... the last is _9.
    assert_eq!((train.len(), test.len()), (100, 10));
    assert!(
        test[0].file.ends_with("airplane/cifar10_airplane_9.aedat"),
        "{:?}",
        test[0].file
    );
    assert_eq!(test[9].label, 9);
    let (tebn_test, _) = layouts::cifar10_dvs(&root, false, Cifar10DvsSplit::Tebn).unwrap();
    assert_eq!(
        tebn_test.len(),
        110,
        "all recordings numbered below 100 test"
    );

    let spec = FrameSpec {
        frames: 2,
        split: SplitBy::Time,
        size: Some([48, 48]),
    };
    let set = EventFrames::new(test, EventFormat::Aedat2Dvs128, [128, 128], 10, spec).unwrap();
    let s = set.get(0).unwrap();
    assert_eq!(s.shape, [2, 2, 48, 48]);
    std::fs::remove_dir_all(root.join("truck")).unwrap();
    let err = layouts::cifar10_dvs(&root, true, Cifar10DvsSplit::NineToOne).unwrap_err();
    assert!(err.to_string().contains("9 class folders"), "{err}");
}

#[test]
fn frames_are_cached_once_and_read_back_identically() {
    let root = tempdir("cache");
    let file = root.join("rec.aedat");
    write_aedat3(&file, &ramp());
    let sources = vec![
        EventSource {
            file: file.clone(),
            window: None,
            label: 1,
        },
        EventSource {
            file: file.clone(),
            window: Some((300, 800)),
            label: 0,
        },
    ];
    let spec = FrameSpec {
        frames: 3,
        split: SplitBy::Number,
        size: None,
    };
    let cache_root = root.join("cache");
    let set = EventFrames::new(sources, EventFormat::Aedat3, [4, 16], 2, spec)
        .unwrap()
        .with_cache(&cache_root, "test-set")
        .unwrap();
    let direct: Vec<_> = (0..2).map(|i| set.get(i).unwrap()).collect();
    let calls = std::sync::Mutex::new(Vec::new());
    set.prepare(&|done, total| calls.lock().unwrap().push((done, total)))
        .unwrap();
    assert!(
        calls.lock().unwrap().is_empty(),
        "get already cached both samples"
    );
    // With the recording gone, the cache alone serves the samples.
    std::fs::remove_file(&file).unwrap();
    let cached: Vec<_> = (0..2).map(|i| set.get(i).unwrap()).collect();
    assert_eq!(cached, direct);
    let cache_dir = set.cache().unwrap().dir().to_path_buf();
    assert!(cache_dir.starts_with(&cache_root));
    assert_eq!(std::fs::read_dir(&cache_dir).unwrap().count(), 2);
}

#[test]
fn the_synthetic_set_goes_through_aedat_files_and_its_classes_are_motions() {
    let root = tempdir("synthetic");
    let train = synthetic::generate(&root, true).unwrap();
    let test = synthetic::generate(&root, false).unwrap();
    assert_eq!((train.len(), test.len()), (4 * 96, 4 * 24));
    let first = std::fs::read(&train[0].file).unwrap();
    assert!(first.starts_with(b"#!AER-DAT3.1"));
    // Generating again leaves the files as they are.
    synthetic::generate(&root, true).unwrap();
    assert_eq!(std::fs::read(&train[0].file).unwrap(), first);
    // The square's ON events drift in the class's direction.
    for (class, axis, sign) in [(0, 0, 1.0), (1, 0, -1.0), (2, 1, 1.0), (3, 1, -1.0)] {
        let e = synthetic::recording(class, 11);
        let on: Vec<usize> = (0..e.len()).filter(|&i| e.p[i] == 1).collect();
        let pos = |i: usize| {
            if axis == 0 {
                e.x[i] as f64
            } else {
                e.y[i] as f64
            }
        };
        let half = on.len() / 2;
        let mean = |s: &[usize]| s.iter().map(|&i| pos(i)).sum::<f64>() / s.len() as f64;
        let drift = mean(&on[half..]) - mean(&on[..half]);
        assert!(drift * sign > 2.0, "class {class}: drift {drift}");
    }
    let spec = FrameSpec {
        frames: 4,
        split: SplitBy::Number,
        size: None,
    };
    let set = EventFrames::new(test, EventFormat::Aedat3, synthetic::SENSOR, 4, spec).unwrap();
    assert_eq!(set.get(95).unwrap().shape, [4, 2, 16, 16]);
    assert_eq!(set.get(95).unwrap().label, 3);
}

/// `n` events at t = 0, 10, ..., every one at (x, 0), ON: a recording told apart by `x`.
fn at_column(x: u16, n: u64) -> Events {
    let mut e = Events::default();
    for k in 0..n {
        e.push(k * 10, x, 0, 1);
    }
    e
}

fn cached_set(sources: Vec<EventSource>, cache: &Path) -> EventFrames {
    let spec = FrameSpec {
        frames: 1,
        split: SplitBy::Number,
        size: None,
    };
    EventFrames::new(sources, EventFormat::Aedat3, [1, 8], 8, spec)
        .unwrap()
        .with_cache(cache, "set-train")
        .unwrap()
}

/// The column of sample `i`'s single lit pixel (ON channel), read through the set.
fn column(set: &EventFrames, i: usize) -> usize {
    let data = set.get(i).unwrap().data;
    data[8..].iter().position(|&v| v > 0.0).unwrap()
}

#[test]
fn a_cache_never_serves_frames_of_other_recordings() {
    let root = tempdir("cache-key");
    let cache = root.join("cache");
    let file = |x: u16| root.join(format!("rec{x}.aedat"));
    for x in 0..4 {
        write_aedat3(&file(x), &at_column(x, 5));
    }
    let source = |x: u16| EventSource {
        file: file(x),
        window: None,
        label: x as usize,
    };
    // One split of the recordings, cached; then another split under the same data set key
    // (the CIFAR10-DVS nine-to-one and TEBN splits differ so): each sample keeps its frames.
    let first = cached_set(vec![source(0), source(1)], &cache);
    assert_eq!((column(&first, 0), column(&first, 1)), (0, 1));
    let other = cached_set(vec![source(2), source(3)], &cache);
    assert_eq!((column(&other, 0), column(&other, 1)), (2, 3));
    assert_ne!(first.cache().unwrap().dir(), other.cache().unwrap().dir());

    // A recording replaced in place (a completed extraction, a new download): rebuilt.
    write_aedat3(&file(0), &at_column(5, 6));
    let changed = cached_set(vec![source(0), source(1)], &cache);
    assert_eq!(column(&changed, 0), 5);

    // Other label windows of the same file: other samples.
    let windowed = |w| {
        cached_set(
            vec![EventSource {
                file: file(1),
                window: Some(w),
                label: 1,
            }],
            &cache,
        )
    };
    let all: f32 = windowed((0, 50)).get(0).unwrap().data.iter().sum();
    let two: f32 = windowed((0, 20)).get(0).unwrap().data.iter().sum();
    assert_eq!((all, two), (5.0, 2.0));

    // Frames too large to hold are refused, not overflowed.
    let huge = FrameSpec {
        frames: 10,
        split: SplitBy::Number,
        size: Some([usize::MAX / 4, 3]),
    };
    let err = EventFrames::new(vec![source(0)], EventFormat::Aedat3, [1, 8], 8, huge).unwrap_err();
    assert!(err.to_string().contains("per sample"), "{err}");

    // The same sources again reuse the cache; a source that cannot be read is named.
    let again = cached_set(vec![source(2), source(3)], &cache);
    assert_eq!(again.cache().unwrap().dir(), other.cache().unwrap().dir());
    let missing = root.join("missing.aedat");
    let err = EventFrames::new(
        vec![EventSource {
            file: missing.clone(),
            window: None,
            label: 0,
        }],
        EventFormat::Aedat3,
        [1, 8],
        8,
        FrameSpec {
            frames: 1,
            split: SplitBy::Number,
            size: None,
        },
    )
    .unwrap()
    .with_cache(&cache, "set-train")
    .unwrap_err();
    assert!(err.to_string().contains("missing.aedat"), "{err}");
}

#[test]
fn empty_samples_and_reordered_events_are_warned_about_from_the_cache_too() {
    let root = tempdir("notes");
    let cache = root.join("cache");
    let (full, empty, shuffled) = (
        root.join("full.aedat"),
        root.join("empty.aedat"),
        root.join("shuffled.aedat"),
    );
    write_aedat3(&full, &at_column(1, 5));
    write_aedat3(&empty, &Events::default());
    let mut backwards = Events::default();
    for (t, x) in [(30, 0), (40, 1), (10, 2), (20, 3)] {
        backwards.push(t, x, 0, 1);
    }
    write_aedat3(&shuffled, &backwards);
    let sources = vec![
        EventSource {
            file: full.clone(),
            window: Some((1000, 2000)),
            label: 0,
        },
        EventSource {
            file: empty.clone(),
            window: None,
            label: 1,
        },
        EventSource {
            file: shuffled.clone(),
            window: None,
            label: 2,
        },
    ];
    let spec = FrameSpec {
        frames: 2,
        split: SplitBy::Time,
        size: None,
    };
    let open = || {
        EventFrames::new(sources.clone(), EventFormat::Aedat3, [1, 8], 3, spec)
            .unwrap()
            .with_cache(&cache, "notes")
            .unwrap()
    };
    let set = open();
    let warnings = set.prepare(&|_, _| {}).unwrap();
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    assert!(
        warnings[0].contains("1 of 3 samples are recordings without any event")
            && warnings[0].contains("empty.aedat"),
        "{warnings:#?}"
    );
    assert!(
        warnings[1].contains("labelled windows without any event")
            && warnings[1].contains("full.aedat, window [1000, 2000)"),
        "{warnings:#?}"
    );
    assert!(
        warnings[2].contains("timestamps go backwards") && warnings[2].contains("shuffled.aedat"),
        "{warnings:#?}"
    );
    // Sorted by time: frame 0 holds t = 10, 20 (x 2, 3), frame 1 t = 30, 40 (x 0, 1).
    let frames = set.get(2).unwrap().data;
    let on = |f: usize| frames[f * 16 + 8..f * 16 + 16].to_vec();
    assert_eq!(on(0), [0., 0., 1., 1., 0., 0., 0., 0.]);
    assert_eq!(on(1), [1., 1., 0., 0., 0., 0., 0., 0.]);
    // A second run reads the cache and warns the same.
    let again = open();
    assert_eq!(again.prepare(&|_, _| {}).unwrap(), warnings);
}

#[test]
fn gesture_labels_without_a_header_row_lose_no_gesture() {
    let with = layouts::gesture_labels("class,startTime_usec,endTime_usec\n1,10,20\n2,20,30\n");
    let without = layouts::gesture_labels("1,10,20\n2,20,30\n");
    assert_eq!(with, Ok(vec![(1, 10, 20), (2, 20, 30)]));
    assert_eq!(without, with);
    let err = layouts::gesture_labels("1,10,20\nclass,a,b\n").unwrap_err();
    assert!(err.contains("line 2"), "{err}");
    let err = layouts::gesture_labels("1,30,20\n").unwrap_err();
    assert!(err.contains("ends (20) before it starts (30)"), "{err}");
}
