//! The 2-D convolution of spiking layers as one backend operation (a burn backend extension)
//! that computes from the active inputs only where the input is sparse.
//!
//! Every convolution after a network's first reads spikes, mostly zeros (firing rates of
//! 5-20%), or their average pools. With `x` the input `[N, Cin, H, W]`, `W` the weights
//! `[Cout, Cin, kh, kw]` and `g = dL/dy` the gradient of the output `[N, Cout, Ho, Wo]`:
//!
//! ```text
//! y[n, :, yo, xo]      = sum over taps (ky, kx) and active inputs c of x[n, c, yi, xi] W[:, c, ky, kx]
//! dL/dW[:, c, ky, kx]  = sum over active inputs (n, c, yi, xi) of x[n, c, yi, xi] g[n, :, yo, xo]
//! dL/dx                = the transposed convolution of g (dense: g has no zeros)
//! ```
//!
//! with `yi = yo * stride + ky - padding` (the same on the width). An input is active when it
//! is not zero, so both sums skip nothing that contributes: with finite weights and gradients
//! the results are the dense convolution's up to the order of the additions (a NaN weight
//! reaches only the outputs of active inputs, where the dense `0 * NaN` spreads it everywhere).
//!
//! Implementations: on the `Flex` CPU backend, event-driven kernels for the forward and the
//! weight gradient when at most [`cpu::SPARSE_UP_TO`] of the input is active (`cpu.rs`), burn's
//! dense convolution otherwise; everywhere else, burn's convolution ([`conv2d`] calls it
//! directly, so GPU backends keep their own kernels and operation fusion). Under autodiff one
//! graph node with the convolution's own backward (`autodiff.rs`), compute-bound under
//! gradient checkpointing as burn's is.

mod autodiff;
mod cpu;

use burn::backend::{Backend, backend_extension, tensor::FloatTensor};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use burn::tensor::ops::ConvOptions;

/// Backends that run the event-driven convolution: `Flex`, and autodiff over it. The default
/// bodies are burn's dense convolution: the reference the kernels are tested against.
#[backend_extension(Flex, Autodiff)]
pub trait EventConvBackend: Backend {
    /// `conv2d(x, weight)` without bias. `x`: `[N, Cin, H, W]`; `weight`: `[Cout, Cin, kh, kw]`.
    fn event_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d(x, weight, None, options)
    }

    /// The gradient of the weights from the output's gradient `grad`.
    fn event_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_weight_backward(x, weight, grad, options)
    }
}

impl EventConvBackend for burn::backend::Flex {
    fn event_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        cpu::forward(x, weight, options)
    }

    fn event_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        cpu::weight_backward(x, weight, grad, options)
    }
}

/// `conv.forward(x)`: the event-driven operation on the CPU (`Flex`, with or without
/// autodiff), burn's convolution on every other device and for convolutions with a bias or
/// padding other than explicit.
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    match options(conv) {
        Some(options) if conv.bias.is_none() => convolve(x, conv.weight.val(), options),
        _ => conv.forward(x),
    }
}

/// `conv`'s convolution (stride, padding) with `weight` in place of its weights and bias,
/// as batch norm folded into it gives them; `None` when its padding is not explicit.
pub fn conv2d_folded(
    conv: &Conv2d,
    weight: Tensor<4>,
    bias: Tensor<1>,
    x: Tensor<4>,
) -> Option<Tensor<4>> {
    let options = options(conv)?;
    let c = bias.dims()[0];
    Some(convolve(x, weight, options) + bias.reshape([1, c, 1, 1]))
}

fn options(conv: &Conv2d) -> Option<ConvOptions<2>> {
    let PaddingConfig2d::Explicit(top, left, bottom, right) = conv.padding else {
        return None;
    };
    Some(ConvOptions::new_with_padding(
        conv.stride,
        [(top, bottom), (left, right)],
        conv.dilation,
        conv.groups,
    ))
}

fn convolve(x: Tensor<4>, weight: Tensor<4>, options: ConvOptions<2>) -> Tensor<4> {
    if x.device().inner() != burn::tensor::Device::flex() {
        return burn::tensor::module::conv2d(x, weight, None, options);
    }
    Tensor::from_dispatch(<burn::backend::Dispatch as EventConvBackend>::event_conv2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        options,
    ))
}

#[cfg(test)]
mod tests;
