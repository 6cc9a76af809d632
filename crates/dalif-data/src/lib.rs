//! dalif-data: data sets for spiking networks, independent of the deep-learning engine.
//!
//! Everything here is plain Rust over `f32` buffers, so formats and loaders build and test
//! fast. The training code sees every data set through [`Dataset`].
//!
//! Data sets are named by [`DatasetKind`], the registry of every data set dalif reads; the
//! embedded UCI digits need no download:
//!
//! ```
//! use dalif_data::{Dataset, DatasetKind};
//!
//! let kind: DatasetKind = "digits".parse()?;
//! let (train, test) = kind.open_images(None, None)?;
//! assert_eq!(train.len() + test.len(), 1797);
//! assert_eq!(test.sample_shape(), [1, 8, 8]); // [C, H, W], repeated over T by the network
//! let sample = test.get(0)?;
//! assert!(sample.label < test.num_classes());
//! # Ok::<(), dalif_data::DataError>(())
//! ```

#![warn(missing_docs)]

mod augment;
pub mod auto_augment;
pub mod cache;
mod dataset;
pub mod digits;
mod event_frames;
mod events;
pub mod formats;
pub mod frames;
pub mod layouts;
mod loader;
mod mixing;
pub mod registry;
pub mod rng;
mod split;
mod subset;
pub mod synthetic;

pub use augment::Augmentation;
pub use dataset::{DataError, Dataset, InMemoryDataset, Normalization, Sample};
pub use event_frames::{EventFormat, EventFrames, EventNote, EventSource, FrameSpec};
pub use events::Events;
pub use frames::SplitBy;
pub use loader::{Batch, BatchPlan, LoaderWait, Shard, for_each_batch};
pub use mixing::{Mixed, Mixing};
pub use registry::{DatasetInfo, DatasetKind, EventLayout, Splits};
pub use split::{shuffled_indices, stratified_split};
pub use subset::Subset;
