//! MNIST and Fashion-MNIST in their official IDX files: `train-images-idx3-ubyte`,
//! `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each
//! raw or gzip-compressed (`.gz`, as downloaded), all in one folder. An IDX file is a
//! big-endian u32 magic number (`0x00000803`: unsigned bytes in 3 dimensions, the images;
//! `0x00000801`: in 1 dimension, the labels), one big-endian u32 per dimension, then the
//! bytes, row-major. Both data sets are 28x28; any `H` x `W` is read.
//!
//! Samples are `[1, H, W]`: pixels scaled to [0, 1], then normalised with the constants
//! torchvision's MNIST examples use, mean 0.1307 and std 0.3081 (MNIST), or the same
//! statistics of Fashion-MNIST's training images, mean 0.2860 and std 0.3530. They are fixed:
//! a run's normalisation (`--normalize`) applies to the RGB data sets only.

use super::{FormatError, file_error, read};
use crate::{DataError, Dataset, Normalization, Sample};
use std::io::Read;
use std::path::{Path, PathBuf};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;
const CLASSES: usize = 10;
/// The first two bytes of every gzip stream; an IDX file starts with two zero bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Which of the two data sets in MNIST's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MnistKind {
    /// MNIST: handwritten digits, labels 0-9 are the digits.
    Mnist,
    /// Fashion-MNIST (Zalando): photos of clothes, 10 classes.
    FashionMnist,
}

impl MnistKind {
    /// The image file and the label file of the training (`train = true`) or test split, as
    /// named without `.gz`.
    pub fn files(train: bool) -> [&'static str; 2] {
        if train {
            ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]
        } else {
            ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
        }
    }

    /// Whether `root` holds this data set: its training images, raw or `.gz`. Both data sets
    /// name their files alike, so Fashion-MNIST is told apart by its folder: `root` or its
    /// parent has "fashion" in its name (`fashion-mnist/`, torchvision's `FashionMNIST/raw/`).
    pub fn found_in(self, root: &Path) -> bool {
        let [images, _] = Self::files(true);
        let present = find(root, images).is_some();
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        let fashion = root.iter().rev().take(2).any(|name| {
            name.to_string_lossy()
                .to_ascii_lowercase()
                .contains("fashion")
        });
        present && fashion == (self == MnistKind::FashionMnist)
    }

    /// The names of the classes, in label order.
    pub fn class_names(self) -> [&'static str; CLASSES] {
        match self {
            MnistKind::Mnist => ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            MnistKind::FashionMnist => [
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ],
        }
    }

    /// The mean and std of the [0, 1]-scaled training pixels (the module's constants), in
    /// every one of [`Normalization`]'s three slots: grey images read slot 0.
    pub fn normalization(self) -> Normalization {
        let (mean, std) = match self {
            MnistKind::Mnist => (0.1307, 0.3081),
            MnistKind::FashionMnist => (0.2860, 0.3530),
        };
        Normalization {
            mean: [mean; 3],
            std: [std; 3],
        }
    }
}

/// `root/name`, or else `root/name.gz`: the file that exists.
fn find(root: &Path, name: &str) -> Option<PathBuf> {
    [root.join(name), root.join(format!("{name}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
}

/// The images of an IDX image file, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    /// The number of images.
    pub count: usize,
    /// `[H, W]`.
    pub size: [usize; 2],
    /// `count * H * W` bytes, image after image.
    pub pixels: Vec<u8>,
}

/// `bytes`, decompressed if they are gzip (by their first two bytes, so a file keeps
/// working whether or not it was decompressed under its `.gz` name).
pub fn decompress(bytes: Vec<u8>) -> Result<Vec<u8>, FormatError> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut out)
        .map_err(|e| FormatError(format!("cannot decompress the gzip data: {e}")))?;
    Ok(out)
}

/// The dimensions of an (uncompressed) IDX file of unsigned bytes with `magic`, and its
/// data, checked to be exactly as long as the dimensions say.
fn idx<'a>(bytes: &'a [u8], magic: u32, what: &str) -> Result<(Vec<usize>, &'a [u8]), FormatError> {
    let dims = (magic & 0xff) as usize;
    let header = 4 + 4 * dims;
    let u32_at =
        |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    if bytes.len() < 4 {
        return Err(FormatError(format!(
            "{} bytes: too short for an IDX file",
            bytes.len()
        )));
    }
    let found = u32_at(0);
    if found != magic {
        return Err(FormatError(format!(
            "magic number 0x{found:08x}, expected 0x{magic:08x} (IDX {what}: unsigned bytes in \
             {dims} dimension{})",
            if dims == 1 { "" } else { "s" }
        )));
    }
    if bytes.len() < header {
        return Err(FormatError(format!(
            "{} bytes: truncated inside the {header}-byte IDX header",
            bytes.len()
        )));
    }
    let shape: Vec<usize> = (0..dims).map(|d| u32_at(4 + 4 * d) as usize).collect();
    let data = &bytes[header..];
    // Checked: three u32 dimensions can multiply past u64, and such a header is only wrong.
    let need = shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d as u64))
        .unwrap_or(u64::MAX);
    if need != data.len() as u64 {
        let shape_text: Vec<String> = shape.iter().map(usize::to_string).collect();
        let state = if (data.len() as u64) < need {
            "truncated"
        } else {
            "longer than that"
        };
        return Err(FormatError(format!(
            "the header says {} {what} ({need} bytes after the {header}-byte header), the file \
             has {}: {state}",
            shape_text.join("x"),
            data.len()
        )));
    }
    Ok((shape, data))
}

/// The images of an IDX image file's (uncompressed) bytes.
pub fn parse_images(bytes: &[u8]) -> Result<IdxImages, FormatError> {
    let (shape, pixels) = idx(bytes, IMAGES_MAGIC, "images")?;
    let size = [shape[1], shape[2]];
    if shape[0] == 0 {
        return Err(FormatError("the file holds no image".into()));
    }
    if size.contains(&0) {
        return Err(FormatError(format!(
            "images of {}x{} pixels: both sides must be at least 1",
            size[0], size[1]
        )));
    }
    Ok(IdxImages {
        count: shape[0],
        size,
        pixels: pixels.to_vec(),
    })
}

/// The labels of an IDX label file's (uncompressed) bytes, each checked to be a class
/// (`0..10`).
pub fn parse_labels(bytes: &[u8]) -> Result<Vec<u8>, FormatError> {
    let (_, labels) = idx(bytes, LABELS_MAGIC, "labels")?;
    if let Some((i, l)) = labels
        .iter()
        .enumerate()
        .find(|&(_, &l)| l as usize >= CLASSES)
    {
        return Err(FormatError(format!(
            "label {l} of item {i} is outside the {CLASSES} classes"
        )));
    }
    Ok(labels.to_vec())
}

/// One split of MNIST or Fashion-MNIST: images kept as bytes, normalised when a sample is
/// read.
#[derive(Clone, Debug)]
pub struct Mnist {
    kind: MnistKind,
    /// `[1, H, W]`.
    shape: [usize; 3],
    pixels: Vec<u8>,
    labels: Vec<u8>,
}

impl Mnist {
    /// The training (`train = true`) or test split of the data set in folder `root`.
    pub fn open(root: &Path, kind: MnistKind, train: bool) -> Result<Self, DataError> {
        let [images, labels] = MnistKind::files(train).map(|name| {
            find(root, name).ok_or_else(|| {
                file_error(
                    root,
                    format!("no {name} (or {name}.gz) here: expected the folder of the IDX files"),
                )
            })
        });
        let (images, labels) = (images?, labels?);
        let images_bytes = read(&images)?;
        let labels_bytes = read(&labels)?;
        Self::from_files(kind, (images, images_bytes), (labels, labels_bytes))
    }

    /// The split held by the contents of an image file and a label file (raw or gzip),
    /// each with the path its errors name.
    pub fn from_files(
        kind: MnistKind,
        (images_path, images): (PathBuf, Vec<u8>),
        (labels_path, labels): (PathBuf, Vec<u8>),
    ) -> Result<Self, DataError> {
        let images = decompress(images)
            .and_then(|b| parse_images(&b))
            .map_err(|e| file_error(&images_path, e))?;
        let labels = decompress(labels)
            .and_then(|b| parse_labels(&b))
            .map_err(|e| file_error(&labels_path, e))?;
        if labels.len() != images.count {
            return Err(file_error(
                &labels_path,
                format!(
                    "{} labels for the {} images of {}",
                    labels.len(),
                    images.count,
                    images_path.display()
                ),
            ));
        }
        let [h, w] = images.size;
        Ok(Self {
            kind,
            shape: [1, h, w],
            pixels: images.pixels,
            labels,
        })
    }

    /// Which of the two data sets this is.
    pub fn kind(&self) -> MnistKind {
        self.kind
    }
}

impl Dataset for Mnist {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn sample_shape(&self) -> &[usize] {
        &self.shape
    }

    fn num_classes(&self) -> usize {
        CLASSES
    }

    /// The data set's constants: padding (`--pad-crop`) fills with black, as on MNIST's
    /// 8-bit images.
    fn normalization(&self) -> Option<Normalization> {
        Some(self.kind.normalization())
    }

    fn get(&self, index: usize) -> Result<Sample, DataError> {
        let label = *self.labels.get(index).ok_or(DataError::OutOfRange {
            index,
            len: self.len(),
        })?;
        let size = self.shape[1] * self.shape[2];
        let n = self.kind.normalization();
        let data = self.pixels[index * size..(index + 1) * size]
            .iter()
            .map(|&b| n.normalize(0, b))
            .collect();
        Ok(Sample {
            data,
            shape: self.shape.to_vec(),
            label: label as usize,
        })
    }
}
