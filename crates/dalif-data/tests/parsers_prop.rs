//! Property pass over every parser of a file a user gives (the short, deterministic version
//! of the `fuzz/` targets): mutations of valid files and random bytes must give a value or
//! an error naming the problem, never a panic, a hang, or an allocation out of proportion to
//! the file's size.

mod mutate;
mod seeds;

use dalif_data::Dataset;
use dalif_data::Events;
use dalif_data::cache::FrameCache;
use dalif_data::formats::cifar::{Cifar, CifarKind, archive_files};
use dalif_data::formats::imagenet::{
    decode_image, eval_view, loc_val_solution, train_view, validation_labels,
};
use dalif_data::formats::mnist::{Mnist, MnistKind};
use dalif_data::formats::{aedat2, aedat3, nmnist};
use dalif_data::layouts::gesture_labels;
use dalif_data::rng::SplitMix64;
use mutate::check;
use seeds::{fix_png_crcs, gzip, idx, names, targz};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[global_allocator]
static ALLOCATOR: mutate::Tracking = mutate::Tracking;

const SLOW: Duration = Duration::from_secs(2);
const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// Allocations linear in the input: the parsed values, their vectors' growth, messages.
fn linear(len: usize) -> usize {
    8 * len + 64 * KIB
}

fn events(n: usize) -> Events {
    let mut e = Events::default();
    for i in 0..n {
        e.push(
            100 + 10 * i as u64,
            (i * 7 % 128) as u16,
            (i * 13 % 128) as u16,
            (i % 2) as u8,
        );
    }
    e
}

fn fixture(name: &str) -> Option<Vec<u8>> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures")
            .join(name),
    )
    .ok()
}

#[test]
fn event_parsers_survive_mutated_files() {
    let mut a2 = Vec::new();
    aedat2::write(&mut a2, &events(8)).unwrap();
    let mut seeds = vec![a2.clone(), a2[a2.len() - 24..].to_vec()];
    seeds.extend(fixture("aedat2_davis346_header_only.aedat"));
    check("aedat2", &seeds, 40_000, linear, SLOW, |b| {
        let _ = aedat2::parse(b);
    });

    let mut e = events(5);
    e.push(1 << 31, 1, 2, 1);
    let mut a3 = Vec::new();
    aedat3::write(&mut a3, &e, "DVS128").unwrap();
    check("aedat3", &[a3], 40_000, linear, SLOW, |b| {
        if let Ok(events) = aedat3::parse(b) {
            assert!(events.len() <= b.len() / 8);
        }
    });

    let mut seeds = vec![vec![3, 4, 0x81, 0x23, 0x45, 0, 240, 0, 0, 0, 9, 9, 0, 1, 2]];
    seeds.extend(fixture("nmnist_sample.bin").map(|b| b[..500].to_vec()));
    check("nmnist", &seeds, 40_000, linear, SLOW, |b| {
        let _ = nmnist::parse(b);
    });
}

fn record(kind: CifarKind) -> Vec<u8> {
    let labels: &[u8] = if kind == CifarKind::Cifar10 {
        &[3]
    } else {
        &[7, 42]
    };
    [
        labels,
        &(0..3072).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
    ]
    .concat()
}

#[test]
fn cifar_readers_survive_mutated_files() {
    for kind in [
        CifarKind::Cifar10,
        CifarKind::Cifar100 { coarse: false },
        CifarKind::Cifar100 { coarse: true },
    ] {
        let seeds = [[record(kind), record(kind)].concat(), names(kind.classes())];
        check("cifar records and names", &seeds, 3000, linear, SLOW, |b| {
            // The input as the record file, then as the names file.
            for files in [
                vec![
                    (PathBuf::from("r.bin"), b.to_vec()),
                    (PathBuf::from("n.txt"), names(kind.classes())),
                ],
                vec![
                    (PathBuf::from("r.bin"), record(kind)),
                    (PathBuf::from("n.txt"), b.to_vec()),
                ],
            ] {
                if let Ok(cifar) = Cifar::from_files(kind, files) {
                    assert!(cifar.get(0).unwrap().label < kind.classes());
                }
            }
        });
    }
    let archive = targz(&[
        ("cifar-10-batches-bin/batches.meta.txt", names(10)),
        (
            "cifar-10-batches-bin/test_batch.bin",
            record(CifarKind::Cifar10),
        ),
    ]);
    // Decompression multiplies sizes by at most ~1032 (deflate's limit).
    let inflated = |len: usize| 2 * 1032 * len + MIB;
    let names10 = [String::from("test_batch.bin"), "batches.meta.txt".into()];
    check("cifar .tar.gz", &[archive], 20_000, inflated, SLOW, |b| {
        if let Ok(files) = archive_files(Path::new("x.tar.gz"), b, &names10) {
            let _ = Cifar::from_files(CifarKind::Cifar10, files);
        }
    });
}

#[test]
fn mnist_reader_survives_mutated_files() {
    let images = idx(&[2, 3, 4], &(0..24).collect::<Vec<u8>>());
    let labels = idx(&[2], &[3, 9]);
    let seeds = [images.clone(), labels.clone(), gzip(&images), gzip(&labels)];
    // Gzip multiplies sizes by at most ~1032 (deflate's limit).
    let inflated = |len: usize| 2 * 1032 * len + MIB;
    check("mnist idx", &seeds, 20_000, inflated, SLOW, |b| {
        // The input as the image file, then as the label file.
        for (i, l) in [(b.to_vec(), labels.clone()), (images.clone(), b.to_vec())] {
            let files = ((PathBuf::from("i"), i), (PathBuf::from("l"), l));
            if let Ok(mnist) = Mnist::from_files(MnistKind::Mnist, files.0, files.1) {
                for k in 0..mnist.len() {
                    let sample = mnist.get(k).unwrap();
                    assert!(sample.label < 10);
                    assert_eq!(sample.data.len(), sample.shape.iter().product::<usize>());
                }
            }
        }
    });
}

#[test]
fn cache_and_label_files_survive_mutation() {
    let root = std::env::temp_dir().join(format!("dalif-prop-cache-{}", std::process::id()));
    let cache = FrameCache::new(&root, "prop", [2, 1, 2, 2]);
    cache.put(0, &[0.5; 8], 1).unwrap();
    let valid = std::fs::read(cache.dir().join("000000.frames")).unwrap();
    std::fs::remove_dir_all(&root).unwrap();
    assert_eq!(cache.decode(&valid), Some((vec![0.5; 8], 1)));
    check("frame cache", &[valid], 40_000, linear, SLOW, |b| {
        if let Some((frames, _)) = cache.decode(b) {
            assert_eq!(frames.len(), 8);
        }
    });

    let csv = b"class,startTime_usec,endTime_usec\n1,80048239,85092709\n11,85092710,86000000\n";
    check(
        "gesture labels",
        &[csv.to_vec()],
        40_000,
        linear,
        SLOW,
        |b| {
            if let Ok(rows) = gesture_labels(&String::from_utf8_lossy(b)) {
                assert!(
                    rows.iter()
                        .all(|&(c, s, e)| (1..=11).contains(&c) && s <= e)
                );
            }
        },
    );

    let seeds = [
        b"n01440764\nn01443537\n\n".to_vec(),
        b"ImageId,PredictionString\nILSVRC2012_val_00008726,n02119789 255 142 454 329 \n".to_vec(),
    ];
    check("imagenet labels", &seeds, 40_000, linear, SLOW, |b| {
        let text = String::from_utf8_lossy(b);
        let _ = validation_labels(&text);
        let _ = loc_val_solution(&text);
    });
}

fn encoded(img: image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

#[test]
fn image_decoding_survives_mutated_files() {
    let rgb = image::RgbImage::from_fn(6, 5, |x, y| image::Rgb([x as u8 * 40, y as u8 * 50, 7]));
    let grey = image::GrayAlphaImage::from_fn(3, 4, |x, y| image::LumaA([(x * 50 + y) as u8, 200]));
    let seeds = [
        encoded(rgb.clone().into(), image::ImageFormat::Png),
        encoded(grey.into(), image::ImageFormat::Png),
        encoded(rgb.into(), image::ImageFormat::Jpeg),
    ];
    // Decoded pixels may outgrow the file by deflate's ratio, never by more.
    let bound = |len: usize| 1100 * len + 64 * MIB;
    check("images", &seeds, 20_000, bound, SLOW, |b| {
        let mut repaired = b.to_vec();
        fix_png_crcs(&mut repaired);
        let _ = decode_image(b);
        if let Ok(img) = decode_image(&repaired) {
            let mut rng = SplitMix64::new(7);
            if let Ok(view) = eval_view(&img, 8) {
                assert_eq!(view.dimensions(), (8, 8));
            }
            assert_eq!(train_view(&img, 8, &mut rng).dimensions(), (8, 8));
        }
    });
}
