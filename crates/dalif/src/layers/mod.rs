//! Layers over time-major `[T, B, ...]` tensors. Convolution, batch norm, pooling and linear
//! layers run on the merged `[T*B, ...]` batch (so batch-norm statistics are shared over time
//! and batch, tdBN-style); spiking neurons run over T.

pub mod batch_norm;
mod conv;
pub mod event_conv;
#[cfg(test)]
mod kernel_tests;
mod monitor;
mod residual;
mod trace;

pub use conv::{ConvBn, ConvBnConfig, InitScale, SpikingConv, SpikingConvConfig};
pub use monitor::{SpikeMonitor, SpikeTrain};
pub use residual::{SpikingBasicBlock, SpikingBasicBlockConfig};
pub use trace::{Activation, Forward, Neurons, Pool, Tracer};

use burn::tensor::Tensor;

/// `[T, B, C, H, W] -> [T*B, C, H, W]` (row `t*B + b`; no copy for contiguous input).
pub fn merge_time(x: Tensor<5>) -> Tensor<4> {
    let [t, b, c, h, w] = x.dims();
    x.reshape([t * b, c, h, w])
}

/// `[T*B, C, H, W] -> [T, B, C, H, W]`, the inverse of [`merge_time`].
pub fn split_time(x: Tensor<4>, steps: usize) -> Tensor<5> {
    let [tb, c, h, w] = x.dims();
    x.reshape([steps, tb / steps, c, h, w])
}
