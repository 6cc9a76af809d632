//! Writes the seed corpus of the dalif-data targets, small valid files made by the crate's
//! own writers, under `DIR/<target>/` (`seeds DIR`).
use dalif_data::Events;
use dalif_data::cache::FrameCache;
use dalif_data::formats::{aedat2, aedat3};
use dalif_fuzz::seeds::{names, targz};
use std::io::Write;
use std::path::Path;

fn put(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join(name), bytes).unwrap();
}

fn events(n: usize, t0: u64) -> Events {
    let mut e = Events::default();
    for i in 0..n {
        e.push(
            t0 + 10 * i as u64,
            (i * 7 % 128) as u16,
            (i * 13 % 128) as u16,
            (i % 2) as u8,
        );
    }
    e
}

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: seeds DIR"));

    // AEDAT 2.0: a jAER header and a few events.
    let mut bytes = Vec::new();
    aedat2::write(&mut bytes, &events(6, 100)).unwrap();
    put(&dir, "aedat2", "jaer.aedat", &bytes);
    put(
        &dir,
        "aedat2",
        "no-header.aedat",
        &bytes[bytes.len() - 16..],
    );

    // AEDAT 3.1: two polarity packets (timestamps on both sides of 2^31), then a packet of
    // another type, which readers skip.
    let mut e = events(3, (1 << 31) - 15);
    e.push(1 << 32, 5, 6, 1);
    let mut bytes = Vec::new();
    aedat3::write(&mut bytes, &e, "DVS128").unwrap();
    put(&dir, "aedat3", "two-packets.aedat", &bytes);
    for v in [2i16, 1] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    for v in [4i32, 0, 0, 2, 2, 2] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    put(&dir, "aedat3", "other-packet.aedat", &bytes);

    // N-MNIST: events, one timestamp-overflow marker (y = 240).
    let mut bytes = Vec::new();
    for (x, y, p, t) in [
        (1u8, 2u8, 1u8, 654u32),
        (33, 33, 0, 1000),
        (0, 240, 0, 0),
        (5, 6, 1, 7),
    ] {
        bytes.extend_from_slice(&[
            x,
            y,
            (p << 7) | ((t >> 16) as u8 & 0x7F),
            (t >> 8) as u8,
            t as u8,
        ]);
    }
    put(&dir, "nmnist", "events.bin", &bytes);

    // CIFAR binaries: the first byte picks the data set (and bit 2: the input is the names).
    let mut rec10 = vec![3u8];
    rec10.extend((0..3072).map(|i| (i % 251) as u8));
    let mut rec100 = vec![7u8, 42];
    rec100.extend((0..3072).map(|i| (i % 13) as u8));
    put(
        &dir,
        "cifar_bin",
        "cifar10.bin",
        &[&[0u8][..], &rec10, &rec10].concat(),
    );
    put(
        &dir,
        "cifar_bin",
        "cifar100.bin",
        &[&[1u8][..], &rec100].concat(),
    );
    put(
        &dir,
        "cifar_bin",
        "cifar100-coarse.bin",
        &[&[2u8][..], &rec100].concat(),
    );
    put(
        &dir,
        "cifar_bin",
        "names10.txt",
        &[&[4u8][..], &names(10)].concat(),
    );
    put(
        &dir,
        "cifar_bin",
        "names20.txt",
        &[&[6u8][..], &names(20)].concat(),
    );

    // CIFAR archives.
    put(
        &dir,
        "cifar_targz",
        "cifar10.tar.gz",
        &targz(&[
            ("cifar-10-batches-bin/batches.meta.txt", names(10)),
            ("cifar-10-batches-bin/test_batch.bin", rec10.clone()),
        ]),
    );
    put(
        &dir,
        "cifar_targz",
        "cifar100.tar.gz",
        &targz(&[
            ("cifar-100-binary/fine_label_names.txt", names(100)),
            ("cifar-100-binary/test.bin", rec100.clone()),
        ]),
    );

    // DVS128 Gesture labels: the CSV alone (mode 0), or a trial list and its CSV (mode 1).
    let csv = "class,startTime_usec,endTime_usec\n1,80048239,85092709\n11,85092710,86000000\n";
    put(
        &dir,
        "dvs_gesture",
        "labels.csv",
        &[b"\0", csv.as_bytes()].concat(),
    );
    put(
        &dir,
        "dvs_gesture",
        "no-header.csv",
        &[b"\0", &csv.as_bytes()[34..]].concat(),
    );
    put(
        &dir,
        "dvs_gesture",
        "trials.txt",
        &[&b"\x01user01_lab.aedat\n\xff"[..], csv.as_bytes()].concat(),
    );

    // Images: PNG (RGB, grey with alpha, 16-bit) and JPEG, a few pixels each.
    let rgb = image::RgbImage::from_fn(5, 3, |x, y| image::Rgb([x as u8 * 40, y as u8 * 80, 7]));
    let mut png = std::io::Cursor::new(Vec::new());
    rgb.write_to(&mut png, image::ImageFormat::Png).unwrap();
    put(&dir, "imagenet_image", "rgb.png", png.get_ref());
    let la = image::GrayAlphaImage::from_fn(2, 4, |x, y| image::LumaA([(x * 50 + y) as u8, 200]));
    let mut png = std::io::Cursor::new(Vec::new());
    la.write_to(&mut png, image::ImageFormat::Png).unwrap();
    put(&dir, "imagenet_image", "grey-alpha.png", png.get_ref());
    let wide = image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(3, 2, |x, _| {
        image::Rgb([x as u16 * 9000, 1, 65535])
    });
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb16(wide)
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    put(&dir, "imagenet_image", "rgb16.png", png.get_ref());
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 50)
        .encode_image(&image::RgbImage::from_fn(9, 8, |x, y| {
            image::Rgb([(x * 28) as u8, (y * 30) as u8, 128])
        }))
        .unwrap();
    put(&dir, "imagenet_image", "rgb.jpeg", &jpeg);

    // ImageNet label files.
    put(
        &dir,
        "imagenet_labels",
        "validation_labels.txt",
        b"n01440764\nn01443537\n\nn15075141\n",
    );
    put(
        &dir,
        "imagenet_labels",
        "LOC_val_solution.csv",
        b"ImageId,PredictionString\nILSVRC2012_val_00008726,n02119789 255 142 454 329 n02119789 44 21 322 295 \nILSVRC2012_val_00024235,n01440764 1 2 3 4 \n",
    );

    // Frame cache files, as `FrameCache::put` writes them; the first byte picks the shape.
    let tmp = std::env::temp_dir().join(format!("dalif-fuzz-seeds-{}", std::process::id()));
    for (mode, shape) in [(0u8, [1, 1, 1, 1]), (1, [2, 2, 2, 2])] {
        let cache = FrameCache::new(&tmp, &format!("seed{mode}"), shape);
        let n: usize = shape.iter().product();
        let frames: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
        cache.put(0, &frames, 3).unwrap();
        let mut bytes = vec![mode];
        std::fs::File::open(cache.dir().join("000000.frames"))
            .and_then(|mut f| std::io::Read::read_to_end(&mut f, &mut bytes))
            .unwrap();
        put(&dir, "frame_cache", &format!("shape{mode}.frames"), &bytes);
    }
    std::fs::remove_dir_all(&tmp).unwrap();
    std::io::stdout().flush().unwrap();
}
