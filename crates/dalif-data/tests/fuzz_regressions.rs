//! Inputs found by fuzzing (`fuzz/`, `scripts/fuzz`) or by review of the parsers' length
//! fields, kept as regression tests: each must be refused with an error naming the problem,
//! without a panic or an allocation out of proportion to its size.

mod mutate;

use dalif_data::Dataset;
use dalif_data::formats::imagenet::{ImageNet, decode_image, eval_view};
use std::path::PathBuf;

#[global_allocator]
static ALLOCATOR: mutate::Tracking = mutate::Tracking;

/// A PNG of `width x height` RGB pixels with valid checksums but a few bytes of pixel data.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        [
            &(data.len() as u32).to_be_bytes()[..],
            kind,
            data,
            &crc.sum().to_be_bytes(),
        ]
        .concat()
    };
    let ihdr = [
        &width.to_be_bytes()[..],
        &height.to_be_bytes(),
        &[8, 2, 0, 0, 0],
    ]
    .concat();
    let idat = [0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01];
    [
        &b"\x89PNG\r\n\x1a\n"[..],
        &chunk(b"IHDR", &ihdr),
        &chunk(b"IDAT", &idat),
        &chunk(b"IEND", &[]),
    ]
    .concat()
}

fn png(img: image::RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dalif-fuzzreg-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Found by review, confirmed with this test: a 66-byte PNG whose header claims 10,000 x
/// 10,000 pixels made the decoder allocate the 300 MB pixel buffer before finding the data
/// missing (one such buffer per data-loading thread).
#[test]
fn a_tiny_png_claiming_a_huge_image_allocates_little() {
    let png = png_claiming(10_000, 10_000);
    let (err, largest) = mutate::largest_allocation(|| decode_image(&png).unwrap_err());
    assert!(err.0.contains("claims 10000x10000 pixels"), "{err}");
    assert!(
        largest < 1 << 20,
        "{largest} bytes for a {}-byte file",
        png.len()
    );
}

/// The budget does not refuse real images: a 4000 x 3000 photo-sized PNG of one colour
/// (36 MB of pixels in a few kilobytes) decodes.
#[test]
fn a_large_highly_compressed_png_still_decodes() {
    let bytes = png(image::RgbImage::from_pixel(
        4000,
        3000,
        image::Rgb([90, 120, 200]),
    ));
    let img = decode_image(&bytes).unwrap();
    assert_eq!(img.dimensions(), (4000, 3000));
    assert_eq!(img.get_pixel(3999, 2999), &image::Rgb([90, 120, 200]));
}

/// Found by `scripts/fuzz` (imagenet_image, a hang within 10 s): a 652-byte JPEG of
/// 63,497 x 8 pixels. The evaluation view resizes the short side to 256/224 of the output,
/// making the long side 285,736 pixels at size 32, and 2,031,904 at size 224: a 520-megapixel,
/// 1.5 GB buffer. An image that elongated is now refused with an error naming it.
#[test]
fn an_elongated_jpeg_is_refused_by_the_evaluation_view() {
    let hex = [
        "ffd8ffe000104a46494600010200000100010000ffc00011080008f80903011100021101031101ff",
        "db004300100b0c0e0c0a100e0d0e12111013180008181616183123251d283a333d3c393338374048",
        "5c4e404457453738506d51575f626768673e4d71797064785c656763ffdb0043011112121815182f",
        "1a1a2f63423842636363636363636363636363636363636363636363636363636363636363636363",
        "6363636363636363636363636363636363ffc4001f00000105010101010101000000000000000001",
        "02030405060708090a0bffc400b5100002010303020403050504040000017d010203000411000000",
        "01410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a2526272829",
        "2a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a",
        "838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6",
        "c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffc4001f010003",
        "0101010101010101010000000000000102030405060708090a0bffc400b511000201020404030407",
        "05040400010277000102031104052131061241510761711322328108144291a1b1c109233352f015",
        "6272d10a162434e125f11718191a262728292a35363738393a434445464748494a53545556575859",
        "5a636465666768696a737475767778797a82838485868788898a92939495969798999aa2a3a4a5a6",
        "a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9ea",
        "f2f3f4f5f6f7f8f9faffda000c03010002110311003f00a963a274f96b6ab8a23038ddb534ff00b1",
        "3fd9ae5fad1ef7d77ccfffd9",
    ]
    .concat();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let img = decode_image(&bytes).unwrap();
    assert_eq!(img.dimensions(), (63497, 8));
    for size in [32, 224] {
        let (err, largest) = mutate::largest_allocation(|| eval_view(&img, size).unwrap_err());
        assert!(err.0.contains("63497x8 image is too elongated"), "{err}");
        assert!(largest < 4 << 20, "{largest} bytes");
    }
}

/// The same through the data set: the error names the file.
#[test]
fn imagenet_names_the_file_of_an_image_too_elongated_to_evaluate() {
    let root = tempdir("strip");
    for split in ["train", "val"] {
        let dir = root.join(split).join("n01440764");
        std::fs::create_dir_all(&dir).unwrap();
        let strip = image::RgbImage::from_pixel(3, 2000, image::Rgb([1, 2, 3]));
        std::fs::write(dir.join("strip.png"), png(strip)).unwrap();
    }
    let val = ImageNet::open(&root, false, 224).unwrap();
    let err = val.get(0).unwrap_err().to_string();
    assert!(
        err.contains("strip.png") && err.contains("too elongated"),
        "{err}"
    );
    // The training view crops before resizing, so it still works.
    let mut rng = dalif_data::rng::SplitMix64::new(1);
    let train = ImageNet::open(&root, true, 16).unwrap();
    assert_eq!(train.get_train(0, &mut rng).unwrap().shape, [3, 16, 16]);
    std::fs::remove_dir_all(&root).unwrap();
}
