//! Training: input encoding, losses, optimisers, schedules and the training loop.

mod encoding;
mod loss;
mod optim;
mod schedule;
mod trainer;

pub use encoding::direct_encoding;
pub use loss::{Readout, classification_loss, mean_logits};
pub use optim::{OptimizerKind, no_decay_params};
pub use schedule::CosineWarmup;
pub use trainer::{
    BatchProgress, EpochEnd, EpochMetrics, Evaluation, TrainConfig, TrainError, TrainObserver,
    TrainState, Trainer, evaluate, fit,
};
