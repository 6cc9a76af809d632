//! The data sets dalif reads, one row each: its name, what it holds (images, or event
//! recordings with their file format, sensor, classes and layout on disk), where its files
//! come from, and how its downloaded folder is recognised. The run configuration,
//! `dalif data inspect` and the command line's help read them all from here, so a new data
//! set is one row of [`DatasetKind`]'s table plus its reader.

use crate::event_frames::{EventFormat, EventSource};
use crate::formats::cifar::{Cifar, CifarKind};
use crate::formats::imagenet::{self, ImageNet};
use crate::formats::mnist::{Mnist, MnistKind};
use crate::layouts::{self, Cifar10DvsSplit};
use crate::{DataError, Dataset, Normalization, digits, synthetic};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A training and a test set.
pub type Splits = (Box<dyn Dataset>, Box<dyn Dataset>);

/// Lists the recordings of the training (`true`) or test split of an event data set under
/// its folder, with their labels; the [`Cifar10DvsSplit`] applies to CIFAR10-DVS only.
pub type ListSources = fn(&Path, bool, Cifar10DvsSplit) -> Result<Vec<EventSource>, DataError>;

/// Whether a folder (or file) holds a data set, from the files its official release has.
pub type Detect = fn(&Path) -> bool;

/// Where a data set's files come from, and so what its folder (`root`) may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into dalif: it reads no folder.
    Embedded,
    /// Generated on first use into its folder: the one given, or one under the cache folder.
    Generated,
    /// Read from the folder of its download, which must be given.
    Downloaded,
}

/// The event recordings of a data set, and how they lie on disk.
#[derive(Clone, Copy, Debug)]
pub struct EventLayout {
    /// Their file format.
    pub format: EventFormat,
    /// `[H, W]` of the sensor that recorded them.
    pub sensor: [usize; 2],
    /// Number of classes; labels are `0..classes`.
    pub classes: usize,
    /// Which files (and windows of them) make each split, with which labels.
    pub list: ListSources,
}

impl EventLayout {
    /// The recordings of the training (`train = true`) or test split under `root`.
    pub fn sources(
        &self,
        root: &Path,
        train: bool,
        split: Cifar10DvsSplit,
    ) -> Result<Vec<EventSource>, DataError> {
        (self.list)(root, train, split)
    }
}

/// How a data set's samples are read.
#[derive(Clone, Copy, Debug)]
pub enum Reader {
    /// The embedded digits: 8x8 grey images, split by [`digits::splits`].
    Digits,
    /// MNIST's IDX files ([`Mnist`]): grey images, 28x28 in the official releases.
    Mnist(MnistKind),
    /// CIFAR, binary version ([`Cifar`]): 32x32 RGB images.
    Cifar(CifarKind),
    /// ImageNet as image folders ([`ImageNet`]): RGB images cropped to `size` x `size`.
    ImageNet {
        /// The side of the square crops.
        size: usize,
    },
    /// Event recordings, integrated into frames ([`crate::EventFrames`]).
    Events(EventLayout),
}

/// Everything dalif knows of one data set: its row of the registry.
#[derive(Clone, Copy, Debug)]
pub struct DatasetInfo {
    /// Its name in `config.toml` and on the command line (`--data`).
    pub name: &'static str,
    /// What it is, in a few words (help texts, `data inspect`).
    pub about: &'static str,
    /// Where its files come from.
    pub origin: Origin,
    /// How its samples are read.
    pub reader: Reader,
    /// Whether a folder holds it: what `dalif data inspect` recognises. `None` for the data
    /// sets it does not look for (embedded or generated ones, ImageNet, and CIFAR-100's
    /// coarse labels, whose folder it calls `cifar100`).
    pub detect: Option<Detect>,
}

/// Declares [`DatasetKind`], one variant a row, and its table [`DatasetKind::info`]: each
/// data set is named once, in its row.
macro_rules! registry {
    ($($(#[$doc:meta])* $kind:ident => $info:expr,)*) => {
        /// A data set dalif reads. It is named, in `config.toml` and on the command line, by
        /// its row's [`DatasetInfo::name`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum DatasetKind {
            $($(#[$doc])* $kind,)*
        }

        impl DatasetKind {
            /// Every data set, in the order help texts and errors list them.
            pub const ALL: &'static [DatasetKind] = &[$(DatasetKind::$kind),*];

            /// This data set's row of the registry.
            pub const fn info(self) -> &'static DatasetInfo {
                match self {
                    $(DatasetKind::$kind => {
                        const INFO: DatasetInfo = $info;
                        &INFO
                    })*
                }
            }
        }
    };
}

registry! {
    /// The 1,797 8x8 handwritten digits of UCI, embedded in dalif (the default).
    Digits => DatasetInfo {
        name: "digits",
        about: "embedded 8x8 handwritten digits",
        origin: Origin::Embedded,
        reader: Reader::Digits,
        detect: None,
    },
    /// Generated DVS recordings of a square moving right, left, down or up ([`synthetic`]).
    SyntheticEvents => DatasetInfo {
        name: "synthetic-events",
        about: "generated DVS recordings of moving squares, no download",
        origin: Origin::Generated,
        reader: Reader::Events(EventLayout {
            format: EventFormat::Aedat3,
            sensor: synthetic::SENSOR,
            classes: synthetic::CLASSES.len(),
            list: |root, train, _| synthetic::generate(root, train),
        }),
        detect: None,
    },
    /// MNIST, the official IDX files ([`Mnist`]).
    Mnist => DatasetInfo {
        name: "mnist",
        about: "MNIST (IDX files)",
        origin: Origin::Downloaded,
        reader: Reader::Mnist(MnistKind::Mnist),
        detect: Some(|root| MnistKind::Mnist.found_in(root)),
    },
    /// Fashion-MNIST, the official IDX files ([`Mnist`]).
    FashionMnist => DatasetInfo {
        name: "fashion-mnist",
        about: "Fashion-MNIST (IDX files)",
        origin: Origin::Downloaded,
        reader: Reader::Mnist(MnistKind::FashionMnist),
        detect: Some(|root| MnistKind::FashionMnist.found_in(root)),
    },
    /// CIFAR-10, binary version.
    Cifar10 => DatasetInfo {
        name: "cifar10",
        about: "CIFAR-10 binary",
        origin: Origin::Downloaded,
        reader: Reader::Cifar(CifarKind::Cifar10),
        detect: Some(|root| CifarKind::Cifar10.found_in(root)),
    },
    /// CIFAR-100, binary version, with its 100 fine labels.
    Cifar100 => DatasetInfo {
        name: "cifar100",
        about: "CIFAR-100 binary",
        origin: Origin::Downloaded,
        reader: Reader::Cifar(CifarKind::Cifar100 { coarse: false }),
        detect: Some(|root| CifarKind::Cifar100 { coarse: false }.found_in(root)),
    },
    /// CIFAR-100, binary version, with its 20 coarse labels.
    Cifar100Coarse => DatasetInfo {
        name: "cifar100-coarse",
        about: "CIFAR-100 binary, 20 coarse classes",
        origin: Origin::Downloaded,
        reader: Reader::Cifar(CifarKind::Cifar100 { coarse: true }),
        detect: None,
    },
    /// CIFAR10-DVS, the AEDAT 2.0 release ([`layouts::cifar10_dvs`]).
    Cifar10Dvs => DatasetInfo {
        name: "cifar10dvs",
        about: "CIFAR10-DVS",
        origin: Origin::Downloaded,
        reader: Reader::Events(EventLayout {
            format: EventFormat::Aedat2Dvs128,
            sensor: [128, 128],
            classes: layouts::CIFAR10_DVS_CLASSES,
            list: |root, train, split| Ok(layouts::cifar10_dvs(root, train, split)?.0),
        }),
        detect: Some(layouts::holds_cifar10_dvs),
    },
    /// DVS128 Gesture, IBM's release ([`layouts::dvs_gesture`]).
    DvsGesture => DatasetInfo {
        name: "dvsgesture",
        about: "DVS128 Gesture",
        origin: Origin::Downloaded,
        reader: Reader::Events(EventLayout {
            format: EventFormat::Aedat3,
            sensor: [128, 128],
            classes: layouts::DVS_GESTURE_CLASSES,
            list: |root, train, _| layouts::dvs_gesture(root, train),
        }),
        detect: Some(layouts::holds_dvs_gesture),
    },
    /// N-MNIST ([`layouts::nmnist`]).
    Nmnist => DatasetInfo {
        name: "nmnist",
        about: "N-MNIST",
        origin: Origin::Downloaded,
        reader: Reader::Events(EventLayout {
            format: EventFormat::Atis40,
            sensor: [34, 34],
            classes: layouts::NMNIST_CLASSES,
            list: |root, train, _| layouts::nmnist(root, train),
        }),
        detect: Some(layouts::holds_nmnist),
    },
    /// ImageNet (ILSVRC-2012) as image folders ([`ImageNet`]).
    ImageNet => DatasetInfo {
        name: "imagenet",
        about: "ImageNet (ILSVRC-2012) image folders",
        origin: Origin::Downloaded,
        reader: Reader::ImageNet { size: 224 },
        detect: None,
    },
}

impl DatasetKind {
    /// Its name in `config.toml` and on the command line.
    pub const fn name(self) -> &'static str {
        self.info().name
    }

    /// The names of the data sets `keep` keeps, comma separated (help texts, errors).
    pub fn list(keep: impl Fn(DatasetKind) -> bool) -> String {
        let names: Vec<&str> = Self::ALL
            .iter()
            .filter(|&&k| keep(k))
            .map(|k| k.name())
            .collect();
        names.join(", ")
    }

    /// Its event recordings' layout; `None` for an image data set.
    pub fn event_layout(self) -> Option<&'static EventLayout> {
        match &self.info().reader {
            Reader::Events(layout) => Some(layout),
            _ => None,
        }
    }

    /// Whether its samples are event recordings (integrated into frames), not images.
    pub fn is_events(self) -> bool {
        self.event_layout().is_some()
    }

    /// The per-channel normalisation of its images unless a run gives another: `Some` for the
    /// RGB image data sets only, the ones a normalisation applies to. (MNIST's grey images
    /// carry constants of their own, [`MnistKind::normalization`], that a run does not
    /// replace.)
    pub fn normalization(self) -> Option<Normalization> {
        match self.info().reader {
            Reader::Cifar(kind) => Some(kind.normalization()),
            Reader::ImageNet { .. } => Some(imagenet::NORMALIZATION),
            Reader::Digits | Reader::Mnist(_) | Reader::Events(_) => None,
        }
    }

    /// Checks that `normalization` may replace this data set's own: it holds RGB images, and
    /// the values are valid.
    pub fn check_normalization(self, normalization: &Normalization) -> Result<(), DataError> {
        if self.normalization().is_none() {
            return Err(DataError::Invalid(format!(
                "a normalisation applies to the RGB image data sets ({}), not {self}",
                Self::list(|k| k.normalization().is_some())
            )));
        }
        normalization.validate()
    }

    /// The data set `path` holds, from the files of the official releases (the first row
    /// whose [`DatasetInfo::detect`] recognises it); `None` for anything else.
    pub fn detect(path: &Path) -> Option<DatasetKind> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.info().detect.is_some_and(|holds| holds(path)))
    }

    /// The folder this data set is read from: `root` if given, else (for a generated one) its
    /// folder under `cache`; `None` for an embedded one. Errors when a downloaded one has no
    /// `root`, or an embedded one has one.
    pub fn folder(self, root: Option<&Path>, cache: &Path) -> Result<Option<PathBuf>, DataError> {
        match (self.info().origin, root) {
            (Origin::Embedded, None) => Ok(None),
            (Origin::Embedded, Some(root)) => Err(DataError::Invalid(format!(
                "the {self} data set is embedded in dalif and reads no folder, but a root was \
                 given: {}",
                root.display()
            ))),
            (Origin::Generated, root) => Ok(Some(match root {
                Some(root) => root.to_path_buf(),
                None => cache.join(self.name()),
            })),
            (Origin::Downloaded, Some(root)) => Ok(Some(root.to_path_buf())),
            (Origin::Downloaded, None) => Err(self.needs_folder()),
        }
    }

    fn needs_folder(self) -> DataError {
        DataError::NoFolder(self)
    }

    /// The training and test split of an image data set read from `folder` (what
    /// [`Self::folder`] gives), RGB images normalised with `normalization` or else the data
    /// set's own [`Self::normalization`].
    pub fn open_images(
        self,
        folder: Option<&Path>,
        normalization: Option<Normalization>,
    ) -> Result<Splits, DataError> {
        if let Some(n) = &normalization {
            self.check_normalization(n)?;
        }
        let root = || folder.ok_or_else(|| self.needs_folder());
        let n = normalization.or(self.normalization());
        match self.info().reader {
            Reader::Digits => {
                let (train, test) = digits::splits()?;
                Ok((Box::new(train), Box::new(test)))
            }
            Reader::Mnist(kind) => {
                let root = root()?;
                Ok((
                    Box::new(Mnist::open(root, kind, true)?),
                    Box::new(Mnist::open(root, kind, false)?),
                ))
            }
            Reader::Cifar(kind) => {
                let (root, n) = (root()?, n.unwrap_or(kind.normalization()));
                Ok((
                    Box::new(Cifar::open(root, kind, true)?.with_normalization(n)),
                    Box::new(Cifar::open(root, kind, false)?.with_normalization(n)),
                ))
            }
            Reader::ImageNet { size } => {
                let (root, n) = (root()?, n.unwrap_or(imagenet::NORMALIZATION));
                Ok((
                    Box::new(ImageNet::open(root, true, size)?.with_normalization(n)),
                    Box::new(ImageNet::open(root, false, size)?.with_normalization(n)),
                ))
            }
            Reader::Events(_) => Err(DataError::Invalid(format!(
                "{self} holds event recordings, not images"
            ))),
        }
    }
}

/// Its name.
impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DatasetKind {
    type Err = DataError;

    /// The data set of that name; the error lists the names.
    fn from_str(s: &str) -> Result<Self, DataError> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| DataError::UnknownDataSet(s.to_string()))
    }
}

/// As its name.
impl serde::Serialize for DatasetKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// From its name.
impl<'de> serde::Deserialize<'de> for DatasetKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for (i, kind) in DatasetKind::ALL.iter().enumerate() {
            assert_eq!(kind.name().parse::<DatasetKind>().unwrap(), *kind);
            assert_eq!(kind.to_string(), kind.name());
            assert!(
                DatasetKind::ALL[..i]
                    .iter()
                    .all(|k| k.name() != kind.name()),
                "{kind} is named twice"
            );
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(serde_json::from_str::<DatasetKind>(&json).unwrap(), *kind);
        }
        let err = "svhn".parse::<DatasetKind>().unwrap_err().to_string();
        assert!(err.contains("unknown data set 'svhn'"), "{err}");
        assert!(err.contains(&DatasetKind::list(|_| true)), "{err}");
        let err = serde_json::from_str::<DatasetKind>("\"svhn\"").unwrap_err();
        assert!(
            err.to_string().contains("digits, synthetic-events"),
            "{err}"
        );
    }

    #[test]
    fn the_names_config_files_hold() {
        assert_eq!(
            DatasetKind::list(|_| true),
            "digits, synthetic-events, mnist, fashion-mnist, cifar10, cifar100, \
             cifar100-coarse, cifar10dvs, dvsgesture, nmnist, imagenet"
        );
        assert_eq!(
            DatasetKind::list(|k| k.normalization().is_some()),
            "cifar10, cifar100, cifar100-coarse, imagenet"
        );
        assert_eq!(
            DatasetKind::list(DatasetKind::is_events),
            "synthetic-events, cifar10dvs, dvsgesture, nmnist"
        );
    }

    #[test]
    fn where_each_is_read_from() {
        let cache = Path::new("/cache");
        let root = Path::new("/data");
        let digits = DatasetKind::Digits;
        assert_eq!(digits.folder(None, cache).unwrap(), None);
        assert!(digits.folder(Some(root), cache).is_err());
        let synthetic = DatasetKind::SyntheticEvents;
        assert_eq!(
            synthetic.folder(None, cache).unwrap(),
            Some(cache.join("synthetic-events"))
        );
        assert_eq!(
            synthetic.folder(Some(root), cache).unwrap().as_deref(),
            Some(root)
        );
        let err = DatasetKind::Nmnist.folder(None, cache).unwrap_err();
        assert!(matches!(err, DataError::NoFolder(_)), "{err}");
        assert!(DatasetKind::Cifar10.open_images(None, None).is_err());
        let grey = Normalization {
            mean: [0.5; 3],
            std: [0.5; 3],
        };
        let err = digits.open_images(None, Some(grey)).err().unwrap();
        assert!(err.to_string().contains("RGB image data sets"), "{err}");
    }

    #[test]
    fn detects_the_release_folders() {
        let dir = std::env::temp_dir().join(format!("dalif-registry-{}", std::process::id()));
        let holds = |files: &[&str]| {
            let _ = std::fs::remove_dir_all(&dir);
            for f in files {
                let path = dir.join(f);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, b"").unwrap();
            }
            DatasetKind::detect(&dir)
        };
        use DatasetKind::*;
        for (files, kind) in [
            (&["batches.meta.txt"][..], Some(Cifar10)),
            (&["cifar-10-batches-bin/x"], Some(Cifar10)),
            (&["cifar-10-binary.tar.gz"], Some(Cifar10)),
            (&["fine_label_names.txt"], Some(Cifar100)),
            (&["cifar-100-binary.tar.gz"], Some(Cifar100)),
            (&["trials_to_train.txt"], Some(DvsGesture)),
            (&["DvsGesture/trials_to_train.txt"], Some(DvsGesture)),
            (&["airplane/a.aedat"], Some(Cifar10Dvs)),
            (&["CIFAR10-DVS/airplane/a.aedat"], Some(Cifar10Dvs)),
            (&["Train/0/a.bin", "Test/0/a.bin"], Some(Nmnist)),
            (&["Train/0/a.bin"], None),
            (&["train-images-idx3-ubyte"], Some(Mnist)),
            (&["train-images-idx3-ubyte.gz"], Some(Mnist)),
            (&["t10k-images-idx3-ubyte.gz"], None),
            (&["train/n01/a.JPEG"], None),
        ] {
            assert_eq!(holds(files), kind, "{files:?}");
        }
        let archive = dir.join("cifar-100-binary.tar.gz");
        assert_eq!(DatasetKind::detect(&archive), Some(Cifar100));
        // The same file names: Fashion-MNIST is told by its folder's or the parent's name.
        for folder in ["fashion-mnist", "FashionMNIST/raw"] {
            let folder = dir.join(folder);
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::write(folder.join("train-images-idx3-ubyte.gz"), b"").unwrap();
            assert_eq!(
                DatasetKind::detect(&folder),
                Some(FashionMnist),
                "{folder:?}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
