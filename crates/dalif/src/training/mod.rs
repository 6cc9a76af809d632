//! Training: input encoding, losses, optimisers, schedules and the training loop.

mod calibrate;
mod encoding;
mod loss;
mod optim;
mod schedule;
mod trainer;

pub use calibrate::scale_linear_charges;
pub use encoding::direct_encoding;
pub use loss::{Readout, classification_loss, mean_logits};
pub use optim::{OptimizerKind, no_decay_params};
pub use schedule::CosineWarmup;
pub use trainer::{
    BatchProgress, EpochEnd, EpochMetrics, Evaluation, TrainConfig, TrainError, TrainObserver,
    TrainState, Trainer, evaluate, first_batch, fit,
};
