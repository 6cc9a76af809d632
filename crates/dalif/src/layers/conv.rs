//! Convolution + batch norm on the merged `[T*B, ...]` batch, and the spiking conv block.

use super::{Tracer, merge_time, split_time};
use crate::neuron::{DaLif, DaLifConfig, NeuronError};
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor};

/// `BN(conv(x))` per time step, with batch-norm statistics over `(T*B, H, W)` (tdBN-style):
/// for channel `c` of `z = conv(x)`,
///
/// ```text
/// BN(z)_c = gamma_c (z_c - mu_c) / sqrt(sigma_c^2 + eps) + beta_c
/// ```
///
/// with `mu_c`, `sigma_c^2` the batch mean and variance over all T steps, samples and pixels
/// in training, and their running averages in evaluation (burn's `BatchNorm`).
#[derive(Module, Debug)]
pub struct ConvBn {
    /// The convolution, without bias.
    pub conv: Conv2d,
    /// The batch norm over `(T*B, H, W)`.
    pub bn: BatchNorm,
}

/// A `k x k` convolution without bias (the batch norm after it has one), padding `k / 2`.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvBnConfig {
    /// Input channels.
    pub channels_in: usize,
    /// Output channels.
    pub channels_out: usize,
    /// The side `k` of the square kernel.
    pub kernel: usize,
    /// The stride, on both axes.
    pub stride: usize,
}

impl ConvBnConfig {
    /// A `kernel x kernel` convolution `channels_in -> channels_out` with `stride`.
    pub fn new(channels_in: usize, channels_out: usize, kernel: usize, stride: usize) -> Self {
        Self {
            channels_in,
            channels_out,
            kernel,
            stride,
        }
    }

    /// Creates the layer on `device`, with burn's default initialisation.
    pub fn init(&self, device: &Device) -> ConvBn {
        let p = self.kernel / 2;
        ConvBn {
            conv: Conv2dConfig::new([self.channels_in, self.channels_out], [self.kernel; 2])
                .with_stride([self.stride; 2])
                .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
                .with_bias(false)
                .init(device),
            bn: BatchNormConfig::new(self.channels_out).init(device),
        }
    }
}

impl ConvBn {
    /// `[T, B, Cin, H, W] -> [T, B, Cout, H', W']`.
    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        let steps = x.dims()[0];
        split_time(self.bn.forward(self.conv.forward(merge_time(x))), steps)
    }
}

/// `neuron(BN(conv(x)))`: the spiking network's basic unit.
#[derive(Module, Debug)]
pub struct SpikingConv {
    /// The convolution and batch norm.
    pub conv_bn: ConvBn,
    /// The spiking neuron, with per-channel decays if its configuration asks for them.
    pub neuron: DaLif,
}

/// Configuration of a [`SpikingConv`].
#[derive(Clone, Debug, PartialEq)]
pub struct SpikingConvConfig {
    /// The convolution and batch norm.
    pub conv: ConvBnConfig,
    /// The neuron; a per-channel one is sized to the convolution's output channels.
    pub neuron: DaLifConfig,
}

impl SpikingConvConfig {
    /// 3x3, stride-1 spiking conv layers `channels_in -> widths[0] -> widths[1] -> ...`, all
    /// with `neuron`: the plain convolutional stacks of `cifar_small` and VGGSNN.
    pub fn chain(
        channels_in: usize,
        widths: impl IntoIterator<Item = usize>,
        neuron: &DaLifConfig,
    ) -> Vec<Self> {
        let mut cin = channels_in;
        widths
            .into_iter()
            .map(|cout| {
                let conv = ConvBnConfig::new(cin, cout, 3, 1);
                cin = cout;
                Self {
                    conv,
                    neuron: neuron.clone(),
                }
            })
            .collect()
    }

    /// Creates the layer on `device`; errors on an invalid neuron configuration.
    pub fn init(&self, device: &Device) -> Result<SpikingConv, NeuronError> {
        Ok(SpikingConv {
            conv_bn: self.conv.init(device),
            neuron: self
                .neuron
                .for_channels(self.conv.channels_out)
                .init(device)?,
        })
    }
}

impl SpikingConv {
    /// `neuron(BN(conv(x)))`, the layers named `{name}.conv_bn` and `{name}.neuron`.
    pub fn trace<T: Tracer>(&self, t: &mut T, name: &str, x: T::Value) -> T::Value {
        let x = t.conv_bn(&format!("{name}.conv_bn"), &self.conv_bn, x);
        t.neuron(&format!("{name}.neuron"), &self.neuron, x)
    }
}
