//! ImageNet (ILSVRC-2012) as image folders, torchvision's `ImageFolder` convention: classes
//! are the sorted sub-folders of `train/` (the wnids), files sorted by name within a class.
//! `val/` holds either the same class folders or the 50,000 flat `ILSVRC2012_val_*.JPEG`
//! files with a label file: TFDS's `validation_labels.txt` (line n = wnid of the n-th file in
//! name order) or Kaggle's `LOC_val_solution.csv`. Images are decoded by content (a PNG with
//! a `.JPEG` name works), converted to RGB, and transformed as the torchvision recipe:
//! training `RandomResizedCrop(224)` (scale 0.08-1, ratio 3/4-4/3), evaluation `Resize(256)`
//! then `CenterCrop(224)`; then normalised with mean (0.485, 0.456, 0.406) and std
//! (0.229, 0.224, 0.225). Horizontal flips are the augmentation's (`flip`).

use super::{FormatError, file_error};
use crate::rng::SplitMix64;
use crate::{DataError, Dataset, Normalization, Sample};
use std::path::{Path, PathBuf};

const EXTENSIONS: [&str; 9] = [
    "jpg", "jpeg", "png", "ppm", "bmp", "pgm", "tif", "tiff", "webp",
];
/// ImageNet's per-channel mean and std (the TET code's constants).
pub const NORMALIZATION: Normalization = Normalization {
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
};

/// One split of ImageNet.
#[derive(Clone, Debug)]
pub struct ImageNet {
    files: Vec<PathBuf>,
    labels: Vec<usize>,
    /// The wnids, in label order.
    pub classes: Vec<String>,
    /// Side of the square output (224).
    size: usize,
    shape: [usize; 3],
    normalization: Normalization,
}

fn sorted_entries(dir: &Path, dirs: bool) -> Result<Vec<PathBuf>, DataError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| file_error(dir, format!("cannot list: {e}")))?;
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            if dirs {
                p.is_dir()
            } else {
                p.is_file()
                    && p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            }
        })
        .collect();
    out.sort();
    Ok(out)
}

fn name(p: &Path) -> String {
    p.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

impl ImageNet {
    /// The training (`train = true`) or validation split under `root` (the folder holding
    /// `train/` and `val/`, or Kaggle's download holding `ILSVRC/Data/CLS-LOC/`).
    pub fn open(root: &Path, train: bool, size: usize) -> Result<Self, DataError> {
        let kaggle = root.join("ILSVRC/Data/CLS-LOC");
        let base = if kaggle.is_dir() {
            kaggle
        } else {
            root.to_path_buf()
        };
        let train_dir = base.join("train");
        let class_dirs = sorted_entries(&train_dir, true)?;
        if class_dirs.is_empty() {
            return Err(file_error(&train_dir, "no class folders"));
        }
        let classes: Vec<String> = class_dirs.iter().map(|d| name(d)).collect();
        let (mut files, mut labels) = (Vec::new(), Vec::new());
        let split_dir = base.join(if train { "train" } else { "val" });
        let foldered = sorted_entries(&split_dir, true)?;
        if train || !foldered.is_empty() {
            for dir in foldered {
                let wnid = name(&dir);
                let Some(label) = classes.iter().position(|c| *c == wnid) else {
                    return Err(file_error(&dir, "a class folder that train/ does not have"));
                };
                for f in sorted_entries(&dir, false)? {
                    files.push(f);
                    labels.push(label);
                }
            }
        } else {
            let flat = sorted_entries(&split_dir, false)?;
            let wnids = Self::flat_labels(root, &base, &flat)?;
            for (f, wnid) in flat.into_iter().zip(wnids) {
                let Some(label) = classes.iter().position(|c| *c == wnid) else {
                    return Err(file_error(
                        &f,
                        format!("labelled '{wnid}', which train/ does not have"),
                    ));
                };
                files.push(f);
                labels.push(label);
            }
        }
        if files.is_empty() {
            return Err(file_error(&split_dir, "no images"));
        }
        Ok(Self {
            files,
            labels,
            classes,
            size,
            shape: [3, size, size],
            normalization: NORMALIZATION,
        })
    }

    /// Replaces the per-channel normalisation `(x / 255 - mean) / std`.
    pub fn with_normalization(mut self, normalization: Normalization) -> Self {
        self.normalization = normalization;
        self
    }

    /// The wnid of every flat validation file.
    fn flat_labels(root: &Path, base: &Path, flat: &[PathBuf]) -> Result<Vec<String>, DataError> {
        let candidates = [
            root.join("validation_labels.txt"),
            base.join("val/validation_labels.txt"),
        ];
        if let Some(path) = candidates.iter().find(|p| p.is_file()) {
            let text = std::fs::read_to_string(path)
                .map_err(|e| file_error(path, format!("cannot read: {e}")))?;
            let wnids = validation_labels(&text);
            if wnids.len() != flat.len() {
                return Err(file_error(
                    path,
                    format!(
                        "{} labels for {} validation images",
                        wnids.len(),
                        flat.len()
                    ),
                ));
            }
            return Ok(wnids);
        }
        let csv = root.join("LOC_val_solution.csv");
        if csv.is_file() {
            let text = std::fs::read_to_string(&csv)
                .map_err(|e| file_error(&csv, format!("cannot read: {e}")))?;
            let by_id = loc_val_solution(&text);
            return flat
                .iter()
                .map(|f| {
                    let stem = f.file_stem().unwrap_or_default().to_string_lossy();
                    by_id
                        .get(stem.as_ref())
                        .cloned()
                        .ok_or_else(|| file_error(&csv, format!("no label for {stem}")))
                })
                .collect();
        }
        Err(file_error(
            &base.join("val"),
            "flat validation images need validation_labels.txt or LOC_val_solution.csv",
        ))
    }

    /// The decoded RGB image of sample `index`.
    fn image(&self, index: usize) -> Result<image::RgbImage, DataError> {
        let path = self.files.get(index).ok_or(DataError::OutOfRange {
            index,
            len: self.files.len(),
        })?;
        let bytes =
            std::fs::read(path).map_err(|e| file_error(path, format!("cannot read: {e}")))?;
        decode_image(&bytes).map_err(|message| file_error(path, message))
    }

    fn sample(&self, image: &image::RgbImage, label: usize) -> Sample {
        let (w, h) = (image.width() as usize, image.height() as usize);
        let mut data = vec![0f32; 3 * h * w];
        for (i, p) in image.pixels().enumerate() {
            for c in 0..3 {
                data[c * h * w + i] = self.normalization.normalize(c, p[c]);
            }
        }
        Sample {
            data,
            shape: vec![3, h, w],
            label,
        }
    }
}

fn resized(img: &image::RgbImage, [x, y, w, h]: [u32; 4], ow: u32, oh: u32) -> image::RgbImage {
    let crop = image::imageops::crop_imm(img, x, y, w, h).to_image();
    image::imageops::resize(&crop, ow, oh, image::imageops::FilterType::Triangle)
}

/// How many bytes of pixels an image file may decode to, per byte of file. PNG's deflate
/// inflates at most about 1032:1 and JPEG's entropy coding less, so a header claiming more is
/// damaged (or hostile) and is refused before a pixel buffer of its size is allocated.
const MAX_INFLATION: u64 = 2048;
/// Pixel bytes any image may decode to, whatever its file size.
const MIN_PIXEL_BUDGET: u64 = 16 << 20;

/// An image file's bytes decoded by content (whatever its name says), as RGB.
pub fn decode_image(bytes: &[u8]) -> Result<image::RgbImage, FormatError> {
    let open = || {
        image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| FormatError(format!("cannot read: {e}")))
    };
    let budget = (bytes.len() as u64 * MAX_INFLATION).max(MIN_PIXEL_BUDGET);
    let (w, h) = open()?
        .into_dimensions()
        .map_err(|e| FormatError(format!("cannot decode: {e}")))?;
    if w == 0 || h == 0 {
        return Err(FormatError(format!(
            "cannot decode: a {w}x{h} image has no pixels"
        )));
    }
    if 3 * w as u64 * h as u64 > budget {
        return Err(FormatError(format!(
            "cannot decode: the header claims {w}x{h} pixels, more than {} bytes of image \
             data can hold (damaged file?)",
            bytes.len()
        )));
    }
    let mut reader = open()?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(budget);
    reader.limits(limits);
    let decoded = reader
        .decode()
        .map_err(|e| FormatError(format!("cannot decode: {e}")))?;
    Ok(decoded.to_rgb8())
}

/// How elongated an image the evaluation view resizes: the short side goes to
/// `256 / 224 * size`, so a 1 x 60000 strip would become a buffer of gigabytes.
const MAX_RESIZED_AREA: u64 = 64;

/// The evaluation view of `img`: `Resize(256 / 224 * size)`, `CenterCrop(size)`. Refused for
/// an image so elongated that the resized copy would exceed 64 squares of the short side.
pub fn eval_view(img: &image::RgbImage, size: u32) -> Result<image::RgbImage, FormatError> {
    let resize = size * 256 / 224;
    let (w, h) = img.dimensions();
    let ([rw, rh], [left, top]) = center_crop_box(w, h, resize, size);
    if rw as u64 * rh as u64 > MAX_RESIZED_AREA * (resize as u64).pow(2).max(1) {
        return Err(FormatError(format!(
            "a {w}x{h} image is too elongated to evaluate: resizing its short side to \
             {resize} makes it {rw}x{rh}"
        )));
    }
    let scaled = image::imageops::resize(img, rw, rh, image::imageops::FilterType::Triangle);
    Ok(resized(&scaled, [left, top, size, size], size, size))
}

/// The training view of `img`: a random resized crop to `size x size`.
pub fn train_view(img: &image::RgbImage, size: u32, rng: &mut SplitMix64) -> image::RgbImage {
    let crop = random_resized_crop_box(img.width(), img.height(), rng);
    resized(img, crop, size, size)
}

/// The wnids of TFDS's `validation_labels.txt`: one a line, blank lines ignored.
pub fn validation_labels(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// Kaggle's `LOC_val_solution.csv` (a header row, then `ImageId,PredictionString` rows whose
/// prediction starts with the wnid): wnid by image id.
pub fn loc_val_solution(text: &str) -> std::collections::HashMap<String, String> {
    let mut by_id = std::collections::HashMap::new();
    for line in text.lines().skip(1) {
        if let Some((id, prediction)) = line.split_once(',') {
            let wnid = prediction.split_whitespace().next().unwrap_or_default();
            by_id.insert(id.trim().to_string(), wnid.to_string());
        }
    }
    by_id
}

/// torchvision's `Resize(resize)` then `CenterCrop(crop)` on a `w x h` image: the resized
/// size, and the crop's left and top in it (Python rounds halves to even).
pub fn center_crop_box(w: u32, h: u32, resize: u32, crop: u32) -> ([u32; 2], [u32; 2]) {
    let (short, long) = (w.min(h), w.max(h));
    let long = (resize as u64 * long as u64 / short as u64) as u32;
    let (rw, rh) = if w <= h {
        (resize, long)
    } else {
        (long, resize)
    };
    let left = ((rw as f64 - crop as f64) / 2.0).round_ties_even().max(0.0) as u32;
    let top = ((rh as f64 - crop as f64) / 2.0).round_ties_even().max(0.0) as u32;
    ([rw, rh], [left, top])
}

/// torchvision's `RandomResizedCrop.get_params` (scale 0.08-1, ratio 3/4-4/3 drawn
/// log-uniformly, 10 attempts, then a centre crop clamped to the ratio range):
/// `[x, y, width, height]` of the crop in a `w x h` image.
pub fn random_resized_crop_box(w: u32, h: u32, rng: &mut SplitMix64) -> [u32; 4] {
    let uniform = |rng: &mut SplitMix64| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let area = (w as f64) * (h as f64);
    let (lo, hi) = ((3.0f64 / 4.0).ln(), (4.0f64 / 3.0).ln());
    for _ in 0..10 {
        let target = area * (0.08 + (1.0 - 0.08) * uniform(rng));
        let ratio = (lo + (hi - lo) * uniform(rng)).exp();
        let cw = (target * ratio).sqrt().round() as u32;
        let ch = (target / ratio).sqrt().round() as u32;
        if 0 < cw && cw <= w && 0 < ch && ch <= h {
            let x = rng.below((w - cw + 1) as u64) as u32;
            let y = rng.below((h - ch + 1) as u64) as u32;
            return [x, y, cw, ch];
        }
    }
    let in_ratio = w as f64 / h as f64;
    let (cw, ch) = if in_ratio < 3.0 / 4.0 {
        (w, (w as f64 / (3.0 / 4.0)).round() as u32)
    } else if in_ratio > 4.0 / 3.0 {
        ((h as f64 * (4.0 / 3.0)).round() as u32, h)
    } else {
        (w, h)
    };
    [(w - cw) / 2, (h - ch) / 2, cw, ch]
}

impl Dataset for ImageNet {
    fn len(&self) -> usize {
        self.files.len()
    }

    fn sample_shape(&self) -> &[usize] {
        &self.shape
    }

    fn num_classes(&self) -> usize {
        self.classes.len()
    }

    fn normalization(&self) -> Option<Normalization> {
        Some(self.normalization)
    }

    /// The evaluation view: `Resize(256 / 224 * size)`, `CenterCrop(size)`.
    fn get(&self, index: usize) -> Result<Sample, DataError> {
        let crop = eval_view(&self.image(index)?, self.size as u32)
            .map_err(|message| file_error(&self.files[index], message))?;
        Ok(self.sample(&crop, self.labels[index]))
    }

    /// The training view: a random resized crop.
    fn get_train(&self, index: usize, rng: &mut SplitMix64) -> Result<Sample, DataError> {
        let crop = train_view(&self.image(index)?, self.size as u32, rng);
        Ok(self.sample(&crop, self.labels[index]))
    }
}
