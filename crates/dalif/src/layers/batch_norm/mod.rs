//! Batch norm in training (batch statistics) as one backend operation with its own backward,
//! for `[N, C, ...]` tensors and statistics per channel `c` over the `M` values of all samples
//! and positions:
//!
//! ```text
//! mean_c = sum x / M        var_c = sum (x - mean_c)^2 / M          (biased)
//! xhat   = (x - mean_c) / sqrt(var_c + eps)        y = gamma_c xhat + beta_c
//! dL/dbeta_c  = sum g       dL/dgamma_c = sum g xhat
//! dL/dx  = gamma_c / sqrt(var_c + eps) (g - dL/dbeta_c / M - xhat dL/dgamma_c / M)
//! ```
//!
//! burn's own operation is a composition of tensor operations (two transposing copies, and a
//! pass per arithmetic step in each direction); on the `Flex` CPU backend `cpu.rs` makes each
//! direction two passes over the data, channels in parallel. Everywhere else, and as the
//! reference in tests, burn's operation runs (the default bodies). Under autodiff, one graph
//! node as burn's: compute-bound under gradient checkpointing, keeping the input, `gamma` and
//! the statistics.

mod autodiff;
mod cpu;

use burn::backend::{Backend, backend_extension, tensor::FloatTensor};
use burn::tensor::Tensor;
use burn::tensor::module::BatchNormTrainOutput;

/// `(output, mean, variance)` of the forward pass.
pub type BatchNormForward<B> = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

/// `(dL/dx, dL/dgamma, dL/dbeta)`.
pub type BatchNormGrads<B> = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

/// Backends with the fused batch norm: `Flex`, and autodiff over it. The default bodies are
/// burn's batch norm.
#[backend_extension(Flex, Autodiff)]
pub trait BatchNormBackend: Backend {
    /// Normalises `x` (`[N, C, ...]`) with its batch statistics per channel.
    fn batch_norm_forward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let out = Self::batch_norm_train(x, gamma, beta, epsilon);
        (out.output, out.mean, out.variance)
    }

    /// The gradients from the output's gradient `grad`.
    fn batch_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let out = Self::batch_norm_train_backward(x, gamma, mean, variance, epsilon, grad);
        (out.x_grad, out.gamma_grad, out.beta_grad)
    }
}

impl BatchNormBackend for burn::backend::Flex {
    fn batch_norm_forward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> BatchNormForward<Self> {
        cpu::forward(x, gamma, beta, epsilon)
    }

    fn batch_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        grad: FloatTensor<Self>,
    ) -> BatchNormGrads<Self> {
        cpu::backward(x, gamma, mean, variance, epsilon, grad)
    }
}

/// burn's `batch_norm_train`: the fused operation on the CPU (`Flex`, with or without
/// autodiff), burn's everywhere else. The mean and variance are detached.
pub fn batch_norm_train(
    x: Tensor<4>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
) -> BatchNormTrainOutput<4> {
    if x.device().inner() != burn::tensor::Device::flex() {
        return burn::tensor::module::batch_norm_train(x, gamma, beta, epsilon);
    }
    let (output, mean, variance) =
        <burn::backend::Dispatch as BatchNormBackend>::batch_norm_forward(
            x.into_dispatch(),
            gamma.into_dispatch(),
            beta.into_dispatch(),
            epsilon,
        );
    BatchNormTrainOutput {
        output: Tensor::from_dispatch(output),
        mean: Tensor::from_dispatch(mean),
        variance: Tensor::from_dispatch(variance),
    }
}

#[cfg(test)]
mod tests;
