//! The readers on files written here byte by byte in each format, on the real samples of
//! `shared/fixtures/`, and on malformed input.

use dalif_data::formats::mnist::{self, Mnist, MnistKind};
use dalif_data::formats::{aedat2, aedat3, cifar, nmnist};
use dalif_data::{
    Augmentation, BatchPlan, DataError, Dataset, DatasetKind, Events, Normalization, for_each_batch,
};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dalif-formats-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn reads_the_real_nmnist_sample() {
    let events = nmnist::read_file(&fixtures().join("nmnist_sample.bin")).unwrap();
    assert_eq!(events.len(), 4325);
    assert!(events.x.iter().chain(&events.y).all(|&v| v <= 33));
    assert!(events.is_time_ordered());
    assert_eq!((events.t[0], *events.t.last().unwrap()), (654, 311_175));
    assert_eq!(events.p.iter().filter(|&&p| p == 1).count(), 2145);
}

#[test]
fn decodes_the_documented_nmnist_record_and_overflow_markers() {
    let e = nmnist::parse(&[0x03, 0x04, 0x81, 0x23, 0x45]).unwrap();
    assert_eq!((e.x[0], e.y[0], e.p[0], e.t[0]), (3, 4, 1, 0x12345));
    // A y = 240 marker is dropped and shifts later timestamps by 2^13.
    let e = nmnist::parse(&[1, 1, 0, 0, 5, 0, 240, 0, 0, 0, 2, 2, 0, 0, 6]).unwrap();
    assert_eq!(e.t, [5, 8192 + 6]);
    let err = nmnist::parse(&[1, 2, 3, 4]).unwrap_err();
    assert!(err.0.contains("5-byte"), "{err}");
    let err = nmnist::read_file(Path::new("/nonexistent/x.bin")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/x.bin"), "{err}");
}

const AEDAT3_HEADER: &[u8] = b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#Start-Time: 2017-01-01 00:00:00 (TZ+0000)\r\n#!END-HEADER\r\n";

fn packet(kind: i16, size: i32, overflow: i32, events: &[[u8; 8]]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&kind.to_le_bytes());
    b.extend_from_slice(&1i16.to_le_bytes());
    let n = events.len() as i32;
    for v in [size, 4, overflow, n, n, n] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for e in events {
        b.extend_from_slice(&e[..size as usize]);
    }
    b
}

#[test]
fn decodes_aedat3_packets_as_documented() {
    let mut file = AEDAT3_HEADER.to_vec();
    // The documented packet header and event: x 5, y 6, ON, valid, t 17.
    let documented = packet(1, 8, 0, &[[0x1b, 0x00, 0x0a, 0x00, 0x11, 0, 0, 0]]);
    assert_eq!(
        documented[..28],
        [
            1, 0, 1, 0, 8, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0
        ]
    );
    file.extend(documented);
    // A special-event packet (type 0) is skipped.
    file.extend(packet(0, 8, 0, &[[0xff; 8], [0xee; 8]]));
    // An invalid event (valid bit 0) is kept, as SpikingJelly does; x 1, y 2, OFF, t 20.
    let word: u32 = 1 << 17 | 2 << 2;
    let mut invalid = [0u8; 8];
    invalid[..4].copy_from_slice(&word.to_le_bytes());
    invalid[4..].copy_from_slice(&20u32.to_le_bytes());
    file.extend(packet(1, 8, 0, &[invalid]));
    // Timestamp overflow 1: t = 2^31 + 5.
    let mut late = [0x1b, 0x00, 0x0a, 0x00, 0, 0, 0, 0];
    late[4..].copy_from_slice(&5u32.to_le_bytes());
    file.extend(packet(1, 8, 1, &[late]));
    let e = aedat3::parse(&file).unwrap();
    assert_eq!(e.t, [17, 20, 2_147_483_653]);
    assert_eq!(e.x, [5, 1, 5]);
    assert_eq!(e.y, [6, 2, 6]);
    assert_eq!(e.p, [1, 0, 1]);

    // The writer's output reads back the same, overflow included.
    let mut written = Vec::new();
    aedat3::write(&mut written, &e, "DVS128").unwrap();
    assert_eq!(aedat3::parse(&written).unwrap(), e);
}

#[test]
fn refuses_malformed_aedat3() {
    let mut truncated = AEDAT3_HEADER.to_vec();
    truncated.extend(&packet(1, 8, 0, &[[0; 8], [0; 8]])[..40]);
    let err = aedat3::parse(&truncated).unwrap_err();
    assert!(err.0.contains("only 12 bytes follow"), "{err}");
    let err = aedat3::parse(b"#!AER-DAT2.0\r\n").unwrap_err();
    assert!(err.0.contains("not an AEDAT 3.1 file"), "{err}");
    let err = aedat3::parse(b"#!AER-DAT3.1\r\n#Format: RAW\r\n").unwrap_err();
    assert!(err.0.contains("END-HEADER"), "{err}");
    let mut wrong_size = AEDAT3_HEADER.to_vec();
    wrong_size.extend(packet(1, 6, 0, &[[0; 8]]));
    let err = aedat3::parse(&wrong_size).unwrap_err();
    assert!(err.0.contains("6-byte events"), "{err}");
    let mut short_header = AEDAT3_HEADER.to_vec();
    short_header.extend([1, 0, 1]);
    assert!(
        aedat3::parse(&short_header)
            .unwrap_err()
            .0
            .contains("truncated packet header")
    );
}

#[test]
fn decodes_aedat2_with_spikingjellys_mapping() {
    // x_raw 10, y_raw 20, p_raw 1, t 1000 -> (x, y, p) = (107, 117, 0).
    let body = [0x00, 0x00, 0x14, 0x15, 0x00, 0x00, 0x03, 0xe8];
    for header in [
        &b"#!AER-DAT2.0\r\n# Timestamps tick is 1 us\r\n"[..],
        &b"#!AER-DAT2.0\n# LF only\n"[..],
        &b""[..],
    ] {
        let file = [header, &body].concat();
        let e = aedat2::parse(&file).unwrap();
        assert_eq!((e.x[0], e.y[0], e.p[0], e.t[0]), (107, 117, 0, 1000));
    }
    let mut e = Events::default();
    e.push(3, 0, 127, 1);
    e.push(9, 64, 5, 0);
    let mut written = Vec::new();
    aedat2::write(&mut written, &e).unwrap();
    assert_eq!(aedat2::parse(&written).unwrap(), e);
    let err = aedat2::parse(&[b"#!AER-DAT2.0\r\n".as_slice(), &body[..5]].concat()).unwrap_err();
    assert!(
        err.0.contains("not a whole number of 8-byte events"),
        "{err}"
    );
}

#[test]
fn reads_the_real_aedat2_header_with_no_events() {
    let e = aedat2::read_file(&fixtures().join("aedat2_davis346_header_only.aedat")).unwrap();
    assert!(e.is_empty());
}

/// Writes a CIFAR batch whose pixel (c, r, x) of record i is `(i + c*64 + r*2 + x) mod 256`.
fn cifar_batch(labels: &[&[u8]]) -> Vec<u8> {
    let mut b = Vec::new();
    for (i, l) in labels.iter().enumerate() {
        b.extend_from_slice(l);
        for c in 0..3 {
            for r in 0..32 {
                for x in 0..32 {
                    b.push(((i + c * 64 + r * 2 + x) % 256) as u8);
                }
            }
        }
    }
    b
}

#[test]
fn reads_cifar10_from_its_folder_and_from_the_archive() {
    let dir = tempdir("cifar10");
    let folder = dir.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&folder).unwrap();
    let names = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
    std::fs::write(folder.join("batches.meta.txt"), names).unwrap();
    for i in 1..=5 {
        std::fs::write(
            folder.join(format!("data_batch_{i}.bin")),
            cifar_batch(&[&[i as u8]]),
        )
        .unwrap();
    }
    std::fs::write(folder.join("test_batch.bin"), cifar_batch(&[&[9], &[3]])).unwrap();

    let kind = cifar::CifarKind::Cifar10;
    let train = cifar::Cifar::open(&dir, kind, true).unwrap();
    assert_eq!((train.len(), train.num_classes()), (5, 10));
    assert_eq!(train.class_names[9], "truck");
    assert_eq!(train.normalization(), Some(kind.normalization()));

    // The CIFAR recipe's augmentation runs through the loader on these images.
    let aug = Augmentation {
        pad_crop: 4,
        flip: true,
        cutout: 16,
        auto_augment: true,
        ..Default::default()
    };
    aug.check(&train).unwrap();
    let plan = BatchPlan {
        order: (0..5).collect(),
        batch_size: 2,
        augmentation: Some((&aug, 1, 0)),
        ahead: 1,
        ..BatchPlan::default()
    };
    let mut seen = 0;
    for_each_batch::<DataError>(&train, &plan, |b| {
        assert!(b.data.iter().all(|v| v.is_finite() && v.abs() < 3.0));
        seen += b.len();
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, 5);
    let test = cifar::Cifar::open(&folder, kind, false)
        .unwrap()
        .with_normalization(Normalization {
            mean: [0.0; 3],
            std: [1.0; 3],
        });
    let s = test.get(1).unwrap();
    assert_eq!((s.label, s.shape.clone()), (3, vec![3, 32, 32]));
    // Channel 2 (blue), row 3, column 7 of record 1.
    let want = (1 + 2 * 64 + 3 * 2 + 7) as f32 / 255.0;
    assert_eq!(s.data[2 * 1024 + 3 * 32 + 7], want);

    // The official archive, read without extracting it.
    let archive = dir.join("cifar-10-binary.tar.gz");
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&archive).unwrap(),
        flate2::Compression::fast(),
    );
    let mut tar = tar::Builder::new(gz);
    tar.append_dir_all("cifar-10-batches-bin", &folder).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    let from_archive = cifar::Cifar::open(&archive, kind, false)
        .unwrap()
        .with_normalization(Normalization {
            mean: [0.0; 3],
            std: [1.0; 3],
        });
    assert_eq!(from_archive.get(1).unwrap(), s);

    // Malformed: a truncated batch and a label outside the classes, each naming the file.
    std::fs::write(folder.join("test_batch.bin"), &cifar_batch(&[&[1]])[..3000]).unwrap();
    let err = cifar::Cifar::open(&folder, kind, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("test_batch.bin") && err.contains("3073-byte records"),
        "{err}"
    );
    std::fs::write(folder.join("test_batch.bin"), cifar_batch(&[&[10]])).unwrap();
    let err = cifar::Cifar::open(&folder, kind, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("label 10"), "{err}");
    let err = cifar::Cifar::open(&dir.join("nothing"), kind, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no CIFAR files"), "{err}");
}

#[test]
fn reads_cifar100_fine_and_coarse_labels() {
    let dir = tempdir("cifar100");
    let folder = dir.join("cifar-100-binary");
    std::fs::create_dir_all(&folder).unwrap();
    let fine: String = (0..100).map(|i| format!("fine{i}\n")).collect();
    let coarse: String = (0..20).map(|i| format!("coarse{i}\n")).collect();
    std::fs::write(folder.join("fine_label_names.txt"), fine).unwrap();
    std::fs::write(folder.join("coarse_label_names.txt"), coarse).unwrap();
    std::fs::write(
        folder.join("train.bin"),
        cifar_batch(&[&[4, 42], &[19, 99]]),
    )
    .unwrap();
    std::fs::write(folder.join("test.bin"), cifar_batch(&[&[0, 7]])).unwrap();
    let fine =
        cifar::Cifar::open(&dir, cifar::CifarKind::Cifar100 { coarse: false }, true).unwrap();
    let coarse =
        cifar::Cifar::open(&dir, cifar::CifarKind::Cifar100 { coarse: true }, true).unwrap();
    assert_eq!((fine.num_classes(), coarse.num_classes()), (100, 20));
    assert_eq!(
        (fine.get(1).unwrap().label, coarse.get(1).unwrap().label),
        (99, 19)
    );
    // The same pixels under either labelling.
    assert_eq!(fine.get(0).unwrap().data, coarse.get(0).unwrap().data);
}

/// An IDX file as MNIST's are laid out: the magic number `00 00 08 <dims>` (unsigned bytes),
/// each dimension as a big-endian u32, then the bytes.
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0x00, 0x00, 0x08, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// `n` images of 2x3 pixels, pixel (row r, column c) of image i = `1 + 50 i + 3 r + c`.
fn idx_images(n: u32) -> Vec<u8> {
    let pixels: Vec<u8> = (0..n as usize * 6)
        .map(|k| (1 + 50 * (k / 6) + k % 6) as u8)
        .collect();
    idx(&[n, 2, 3], &pixels)
}

/// Writes MNIST's four files into `dir`: the training split raw (3 images), the test split
/// gzipped under the `.gz` names (2 images).
fn write_mnist(dir: &Path) {
    std::fs::write(dir.join("train-images-idx3-ubyte"), idx_images(3)).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), idx(&[3], &[7, 0, 9])).unwrap();
    std::fs::write(dir.join("t10k-images-idx3-ubyte.gz"), gzip(&idx_images(2))).unwrap();
    std::fs::write(
        dir.join("t10k-labels-idx1-ubyte.gz"),
        gzip(&idx(&[2], &[1, 2])),
    )
    .unwrap();
}

#[test]
fn reads_mnist_idx_files_raw_and_gzipped() {
    let dir = tempdir("mnist");
    write_mnist(&dir);
    let train = Mnist::open(&dir, MnistKind::Mnist, true).unwrap();
    assert_eq!((train.len(), train.num_classes()), (3, 10));
    assert_eq!(train.sample_shape(), [1, 2, 3]);
    let s = train.get(2).unwrap();
    assert_eq!((s.label, s.shape.clone()), (9, vec![1, 2, 3]));
    // Row 1, column 2 of image 2: 1 + 100 + 3 + 2 = 106, scaled and normalised.
    assert_eq!(s.data[5], (106.0 / 255.0 - 0.1307) / 0.3081);
    let test = Mnist::open(&dir, MnistKind::Mnist, false).unwrap();
    assert_eq!(test.len(), 2);
    let labels: Vec<usize> = (0..2).map(|i| test.get(i).unwrap().label).collect();
    assert_eq!(labels, [1, 2]);
    assert_eq!(test.get(1).unwrap().data, train.get(1).unwrap().data);
    assert!(matches!(test.get(2), Err(DataError::OutOfRange { .. })));

    // Through the registry, as `--data mnist --data-root DIR` and `data inspect DIR` do.
    assert_eq!(DatasetKind::detect(&dir), Some(DatasetKind::Mnist));
    let (train, test) = DatasetKind::Mnist.open_images(Some(&dir), None).unwrap();
    assert_eq!((train.len(), test.len()), (3, 2));
    assert_eq!(train.get(2).unwrap(), s);

    // Fashion-MNIST: the same files, its own classes and constants.
    let fashion = Mnist::open(&dir, MnistKind::FashionMnist, true).unwrap();
    assert_eq!(
        fashion.get(2).unwrap().data[5],
        (106.0 / 255.0 - 0.2860) / 0.3530
    );
    assert_eq!(MnistKind::FashionMnist.class_names()[9], "Ankle boot");
    assert_eq!(MnistKind::Mnist.class_names()[9], "9");

    // Gzip is recognised by content, so a file gunzipped or gzipped under the other name
    // still reads.
    std::fs::remove_file(dir.join("train-labels-idx1-ubyte")).unwrap();
    std::fs::write(
        dir.join("train-labels-idx1-ubyte.gz"),
        idx(&[3], &[7, 0, 9]),
    )
    .unwrap();
    std::fs::write(dir.join("train-images-idx3-ubyte"), gzip(&idx_images(3))).unwrap();
    assert_eq!(
        Mnist::open(&dir, MnistKind::Mnist, true)
            .unwrap()
            .get(2)
            .unwrap(),
        s
    );
}

#[test]
fn pads_mnist_with_black() {
    let dir = tempdir("mnist-pad");
    write_mnist(&dir);
    let train = Mnist::open(&dir, MnistKind::Mnist, true).unwrap();
    let black = MnistKind::Mnist.normalization().normalize(0, 0);
    let aug = Augmentation {
        pad_crop: 2,
        ..Default::default()
    };
    // Every pixel of the images is at least 1: a black one comes from the padding.
    let padded = (0..20).any(|epoch| {
        let mut s = train.get(0).unwrap();
        aug.apply(&mut s, train.normalization().as_ref(), 1, epoch, 0)
            .unwrap();
        s.data.contains(&black)
    });
    assert!(padded);
    let err = Augmentation {
        auto_augment: true,
        ..Default::default()
    }
    .check(&train)
    .unwrap_err();
    assert!(err.to_string().contains("RGB images"), "{err}");
}

#[test]
fn refuses_malformed_mnist_files_naming_them() {
    let dir = tempdir("mnist-bad");
    let open_err = |write: &dyn Fn()| {
        write_mnist(&dir);
        write();
        Mnist::open(&dir, MnistKind::Mnist, true)
            .unwrap_err()
            .to_string()
    };
    let images = dir.join("train-images-idx3-ubyte");
    let labels = dir.join("train-labels-idx1-ubyte");
    for (write, says, file) in [
        // The label file where the images should be.
        (
            Box::new(|| std::fs::write(&images, idx(&[3], &[7, 0, 9])).unwrap()) as Box<dyn Fn()>,
            "magic number 0x00000801, expected 0x00000803",
            "train-images-idx3-ubyte",
        ),
        (
            Box::new(|| std::fs::write(&images, &idx_images(3)[..30]).unwrap()),
            "has 14: truncated",
            "train-images-idx3-ubyte",
        ),
        (
            Box::new(|| std::fs::write(&images, &idx_images(3)[..10]).unwrap()),
            "truncated inside the 16-byte IDX header",
            "train-images-idx3-ubyte",
        ),
        (
            Box::new(|| std::fs::write(&images, [&idx_images(3)[..], &[0]].concat()).unwrap()),
            "longer than that",
            "train-images-idx3-ubyte",
        ),
        (
            Box::new(|| std::fs::write(&images, &gzip(&idx_images(3))[..25]).unwrap()),
            "cannot decompress",
            "train-images-idx3-ubyte",
        ),
        (
            Box::new(|| std::fs::write(&labels, idx(&[2], &[7, 0])).unwrap()),
            "2 labels for the 3 images of",
            "train-labels-idx1-ubyte",
        ),
        (
            Box::new(|| std::fs::write(&labels, idx(&[3], &[7, 10, 9])).unwrap()),
            "label 10 of item 1 is outside the 10 classes",
            "train-labels-idx1-ubyte",
        ),
        (
            Box::new(|| std::fs::remove_file(&labels).unwrap()),
            "no train-labels-idx1-ubyte (or train-labels-idx1-ubyte.gz) here",
            "mnist-bad",
        ),
    ] {
        let err = open_err(&*write);
        assert!(err.contains(says) && err.contains(file), "{err}");
    }

    // Headers that are wrong in themselves, whatever the file's length.
    let err = mnist::parse_images(&idx(&[0, 28, 28], &[])).unwrap_err();
    assert!(err.0.contains("holds no image"), "{err}");
    let err = mnist::parse_images(&idx(&[2, 0, 28], &[])).unwrap_err();
    assert!(err.0.contains("0x28 pixels"), "{err}");
    let err = mnist::parse_images(&idx(&[u32::MAX; 3], &[1, 2, 3])).unwrap_err();
    assert!(err.0.contains("truncated"), "{err}");
    let err = mnist::parse_labels(&[0, 0]).unwrap_err();
    assert!(err.0.contains("too short"), "{err}");
}
