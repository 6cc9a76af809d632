//! ImageNet as image folders: class indices, flat validation with a label file, decoding by
//! content, and the crop geometry of the torchvision recipe.

use dalif_data::Dataset;
use dalif_data::formats::imagenet::{ImageNet, center_crop_box, random_resized_crop_box};
use dalif_data::rng::SplitMix64;
use std::path::{Path, PathBuf};

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dalif-imagenet-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn picture(w: u32, h: u32, shade: u8) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([shade, (x % 256) as u8, (y % 256) as u8])
    })
}

fn save(img: &image::RgbImage, path: &Path, format: image::ImageFormat) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    img.save_with_format(path, format).unwrap();
}

#[test]
fn reads_class_folders_and_a_flat_validation_set() {
    let root = tempdir("tree");
    // Created out of order; labels follow the sorted wnids.
    save(
        &picture(80, 60, 200),
        &root.join("train/n01443537/b.JPEG"),
        image::ImageFormat::Jpeg,
    );
    save(
        &picture(50, 70, 10),
        &root.join("train/n01440764/a.jpg"),
        image::ImageFormat::Jpeg,
    );
    // A PNG under a .JPEG name, as in the real training set.
    save(
        &picture(64, 64, 90),
        &root.join("train/n01440764/n02105855_2933.JPEG"),
        image::ImageFormat::Png,
    );
    std::fs::write(root.join("train/n01440764/notes.txt"), "not an image").unwrap();
    save(
        &picture(40, 30, 0),
        &root.join("val/ILSVRC2012_val_00000002.JPEG"),
        image::ImageFormat::Jpeg,
    );
    save(
        &picture(40, 30, 0),
        &root.join("val/ILSVRC2012_val_00000001.JPEG"),
        image::ImageFormat::Jpeg,
    );
    std::fs::write(root.join("validation_labels.txt"), "n01443537\nn01440764\n").unwrap();

    let train = ImageNet::open(&root, true, 32).unwrap();
    assert_eq!(train.classes, ["n01440764", "n01443537"]);
    assert_eq!(
        (train.len(), train.num_classes(), train.sample_shape()),
        (3, 2, &[3, 32, 32][..])
    );
    let labels: Vec<usize> = (0..3).map(|i| train.get(i).unwrap().label).collect();
    assert_eq!(labels, [0, 0, 1]);
    let mut rng = SplitMix64::new(3);
    let s = train.get_train(1, &mut rng).unwrap();
    assert_eq!(s.shape, [3, 32, 32]);
    // Red channel of the PNG is 90 everywhere: normalised with ImageNet's constants.
    let want = (90.0 / 255.0 - 0.485) / 0.229;
    assert!(s.data[..32 * 32].iter().all(|v| (v - want).abs() < 1e-3));

    let val = ImageNet::open(&root, false, 32).unwrap();
    let labels: Vec<usize> = (0..2).map(|i| val.get(i).unwrap().label).collect();
    assert_eq!(labels, [1, 0], "line n labels the n-th file in name order");

    std::fs::write(root.join("validation_labels.txt"), "n01443537\n").unwrap();
    let err = ImageNet::open(&root, false, 32).unwrap_err().to_string();
    assert!(err.contains("1 labels for 2 validation images"), "{err}");
    std::fs::write(root.join("train/n01443537/b.JPEG"), b"\xff\xd8 truncated").unwrap();
    let err = train.get(2).unwrap_err().to_string();
    assert!(
        err.contains("b.JPEG") && err.contains("cannot decode"),
        "{err}"
    );
}

#[test]
fn crops_like_torchvision() {
    // 500x375: Resize(256) gives 341x256 (int(256 * 500 / 375)); CenterCrop(224) starts at
    // round((341 - 224) / 2) = round(58.5) = 58 (half to even) and round(16) = 16.
    assert_eq!(center_crop_box(500, 375, 256, 224), ([341, 256], [58, 16]));
    assert_eq!(center_crop_box(375, 500, 256, 224), ([256, 341], [16, 58]));
    let mut rng = SplitMix64::new(9);
    for _ in 0..200 {
        let [x, y, w, h] = random_resized_crop_box(500, 375, &mut rng);
        assert!(x + w <= 500 && y + h <= 375 && w > 0 && h > 0);
        let area = (w * h) as f64 / (500.0 * 375.0);
        assert!((0.07..=1.0).contains(&area), "{area}");
        let ratio = w as f64 / h as f64;
        assert!((0.74..=1.35).contains(&ratio), "{ratio}");
    }
    // A sliver of an image falls back to the centre crop clamped to ratio 4/3.
    let [x, y, w, h] = random_resized_crop_box(1000, 10, &mut rng);
    assert!(
        w <= 1000 && h == 10 && x + w <= 1000 && y == 0,
        "{x} {y} {w} {h}"
    );
}
