//! Convolution + batch norm on the merged `[T*B, ...]` batch, and the spiking conv block.

use super::{Tracer, batch_norm, event_conv, merge_time, split_time};
use crate::distributed::{SyncBatchNorm, batch_stats};
use crate::names::{self, named};
use crate::neuron::{DaLif, DaLifConfig, NeuronError};
use burn::module::{Module, Param, RunningState};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::module::BatchNormTrainOutput;
use burn::tensor::{Device, Tensor};
use strum::{Display, EnumString, IntoStaticStr, VariantArray};

/// `BN(conv(x))` per time step, with batch-norm statistics over `(T*B, H, W)` (tdBN-style):
/// for channel `c` of `z = conv(x)`,
///
/// ```text
/// BN(z)_c = gamma_c (z_c - mu_c) / sqrt(sigma_c^2 + eps) + beta_c
/// ```
///
/// with `mu_c`, `sigma_c^2` the batch mean and variance over all T steps, samples and pixels
/// in training, and their running averages in evaluation (burn's `BatchNorm` and its
/// momentum `m`, 0.1).
///
/// The running averages start from the data, not from `(0, 1)`: the `k`-th training batch
/// (from 0) updates them with weight `max(m, 1 / (k + 1))`, so the first `1/m` batches are
/// averaged equally and the usual exponential average takes over from there (PyTorch's
/// cumulative average, `momentum=None`, for the first batches). With burn's and PyTorch's
/// start at variance 1, a network evaluated after a few dozen batches is silent: the
/// convolutions of sparse spikes have variances of about 0.01 at initialisation, and the
/// running variance, still mostly its initial 1, divides them into currents far below the
/// threshold (a digits run had a test firing rate of 0.003 and chance accuracy after its
/// first epoch of 23 batches, while training fired at 4-7%).
#[derive(Module, Debug)]
pub struct ConvBn {
    /// The convolution, without bias.
    pub conv: Conv2d,
    /// The batch norm over `(T*B, H, W)`.
    pub bn: BatchNorm,
    /// Training batches the running averages have seen, `[k]`.
    pub batches_tracked: RunningState<Tensor<1>>,
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
    /// The batch norm's scale `gamma` at initialisation, on every channel.
    pub gain: f64,
}

/// How the batch norm before a spiking layer sets its scale `gamma` at initialisation.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Display, EnumString, IntoStaticStr, VariantArray,
)]
#[strum(
    serialize_all = "kebab-case",
    parse_err_ty = names::UnknownName,
    parse_err_fn = names::unknown::<Self>
)]
pub enum InitScale {
    /// `gamma = v_th / alpha_0`, with `alpha_0` the neuron's initial spatial decay: the
    /// neuron's first charge `alpha_0 BN(z)` has standard deviation `v_th`, tdBN's
    /// normalisation of pre-activations to `N(0, v_th^2)` (Zheng et al. 2021) as the neuron
    /// sees them. In a residual block, the two branches of the sum each get
    /// `1/sqrt(2)` of it, as in tdBN, so that their sum has the same spread.
    #[default]
    Threshold,
    /// `gamma = 1`: burn's and PyTorch's default. With DA-LIF's `alpha_0 = 0.5` and
    /// `v_th = 1`, as with SpikingJelly's `LIFNode(tau=2)`, the layers start at firing rates
    /// of 4-7% and learn slowly in the first epoch.
    Unit,
}

named!(InitScale, "initial scale");

impl InitScale {
    /// `gamma` at initialisation for the batch norm feeding `neuron`.
    pub fn gain(self, neuron: &DaLifConfig) -> f64 {
        match self {
            InitScale::Threshold => neuron.v_th / neuron.initial_decays().0,
            InitScale::Unit => 1.0,
        }
    }
}

impl ConvBnConfig {
    /// A `kernel x kernel` convolution `channels_in -> channels_out` with `stride`.
    pub fn new(channels_in: usize, channels_out: usize, kernel: usize, stride: usize) -> Self {
        Self {
            channels_in,
            channels_out,
            kernel,
            stride,
            gain: 1.0,
        }
    }

    /// The same with the batch norm's `gamma` starting at `gain`.
    pub fn with_gain(mut self, gain: f64) -> Self {
        self.gain = gain;
        self
    }

    /// Creates the layer on `device`: burn's default initialisation of the convolution, the
    /// batch norm's `gamma` at [`gain`](Self::gain).
    pub fn init(&self, device: &Device) -> ConvBn {
        let p = self.kernel / 2;
        let mut bn = BatchNormConfig::new(self.channels_out).init(device);
        bn.gamma = Param::from_tensor(Tensor::full([self.channels_out], self.gain, device));
        ConvBn {
            conv: Conv2dConfig::new([self.channels_in, self.channels_out], [self.kernel; 2])
                .with_stride([self.stride; 2])
                .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
                .with_bias(false)
                .init(device),
            bn,
            batches_tracked: RunningState::new(Tensor::zeros([1], device)),
        }
    }
}

impl ConvBn {
    /// `[T, B, Cin, H, W] -> [T, B, Cout, H', W']`. In inference the batch norm is folded
    /// into the convolution: one convolution with weights `W gamma / sqrt(var + eps)` and bias
    /// `beta - mean gamma / sqrt(var + eps)` (running statistics).
    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        let steps = x.dims()[0];
        let x = merge_time(x);
        let training = x.device().is_autodiff() && self.bn.training.is_enabled();
        let y = if training {
            self.batch_norm_train(event_conv::conv2d(&self.conv, x))
        } else {
            let (weight, bias) = self.folded();
            match event_conv::conv2d_folded(&self.conv, weight, bias, x.clone()) {
                Some(y) => y,
                None => self.bn.forward(event_conv::conv2d(&self.conv, x)),
            }
        };
        split_time(y, steps)
    }

    /// The convolution's weights and bias with the batch norm (running statistics) folded in.
    fn folded(&self) -> (Tensor<4>, Tensor<1>) {
        let bn = &self.bn;
        let device = bn.gamma.device();
        let (mean, var) = (bn.running_mean.value(), bn.running_var.value());
        let (mean, var) = (mean.to_device(&device), var.to_device(&device));
        let scale = bn.gamma.val() / var.add_scalar(bn.epsilon).sqrt();
        let bias = bn.beta.val() - mean * scale.clone();
        let bias = match &self.conv.bias {
            Some(b) => bias + b.val() * scale.clone(),
            None => bias,
        };
        let c = scale.dims()[0];
        (self.conv.weight.val() * scale.reshape([c, 1, 1, 1]), bias)
    }

    /// Batch norm on batch statistics, updating the running averages as the type's docs say.
    /// Inside [`SyncBatchNorm::enter`] the statistics are those of every rank's batch.
    fn batch_norm_train(&self, z: Tensor<4>) -> Tensor<4> {
        let bn = &self.bn;
        let result = if SyncBatchNorm::world().is_some_and(|w| w.size() > 1) {
            let (mean, variance) = batch_stats(&z);
            let c = mean.dims()[0];
            let per_channel = |t: Tensor<1>| t.reshape([1, c, 1, 1]);
            let scale = bn.gamma.val() / variance.clone().add_scalar(bn.epsilon).sqrt();
            let output =
                (z - per_channel(mean.clone())) * per_channel(scale) + per_channel(bn.beta.val());
            BatchNormTrainOutput {
                output,
                mean,
                variance,
            }
        } else {
            batch_norm::batch_norm_train(z, bn.gamma.val(), bn.beta.val(), bn.epsilon)
        };
        let device = result.mean.device();
        let k = self.batches_tracked.value_sync().to_device(&device);
        // max(m, 1 / (k + 1)), as a tensor: reading k on the host would stall a GPU.
        let weight = k.clone().add_scalar(1.0).recip().clamp_min(bn.momentum);
        let average = |state: &RunningState<Tensor<1>>, batch: Tensor<1>| {
            let old = state.value_sync().to_device(&device);
            let new = old.clone() + (batch.detach() - old) * weight.clone();
            state.update(new.detach());
        };
        average(&bn.running_mean, result.mean);
        average(&bn.running_var, result.variance);
        self.batches_tracked.update(k.add_scalar(1.0));
        result.output
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
    /// How the batch norm's scale starts.
    pub init_scale: InitScale,
}

impl SpikingConvConfig {
    /// 3x3, stride-1 spiking conv layers `channels_in -> widths[0] -> widths[1] -> ...`, all
    /// with `neuron` and batch norms started by `init_scale`: the plain convolutional stacks of
    /// `cifar_small` and VGGSNN.
    pub fn chain(
        channels_in: usize,
        widths: impl IntoIterator<Item = usize>,
        neuron: &DaLifConfig,
        init_scale: InitScale,
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
                    init_scale,
                }
            })
            .collect()
    }

    /// Creates the layer on `device`; errors on an invalid neuron configuration.
    pub fn init(&self, device: &Device) -> Result<SpikingConv, NeuronError> {
        Ok(SpikingConv {
            conv_bn: self
                .conv
                .clone()
                .with_gain(self.init_scale.gain(&self.neuron))
                .init(device),
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
