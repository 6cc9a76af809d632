//! Training: input encoding, losses, optimisers, schedules and the training loop.

mod encoding;
mod loss;
mod optim;
mod schedule;
mod trainer;

pub use encoding::direct_encoding;
pub use loss::{Readout, classification_loss, mean_logits};
pub use optim::OptimizerKind;
pub use schedule::CosineWarmup;
pub use trainer::{EpochMetrics, TrainConfig, evaluate, fit};
