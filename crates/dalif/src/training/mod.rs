//! Training: input encoding and losses (the loop, optimisers and schedules build on these).

mod encoding;
mod loss;

pub use encoding::direct_encoding;
pub use loss::{Readout, classification_loss, mean_logits};
