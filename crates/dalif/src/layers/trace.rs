//! A network described once. A model writes its layers as calls on a [`Tracer`]; running that
//! description on tensors is the forward pass ([`Forward`]), on a graph builder it is the
//! per-step operation graph that analysis and NIR export read
//! ([`GraphBuilder`](crate::graph::GraphBuilder)), and collecting the neurons it reaches gives
//! the spiking layers in forward order ([`Neurons`]). So the three can never disagree.

use super::{ConvBn, SpikeMonitor, merge_time, split_time};
use crate::neuron::DaLif;
use burn::nn::pool::{AvgPool2dConfig, MaxPool2dConfig};
use burn::nn::{Linear, PaddingConfig2d};
use burn::tensor::Tensor;

/// The window of a 2-D pooling: `kernel x kernel`, moved by `stride`, over the input padded by
/// `padding` on every side (padding never wins a maximum; average pools take none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool {
    /// Side of the window.
    pub kernel: usize,
    /// Step between windows.
    pub stride: usize,
    /// Padding on every side.
    pub padding: usize,
}

impl Pool {
    /// A `kernel x kernel` window moved by `stride`, without padding.
    pub fn new(kernel: usize, stride: usize) -> Self {
        Self {
            kernel,
            stride,
            padding: 0,
        }
    }

    /// The same window over the input padded by `padding`.
    pub fn with_padding(mut self, padding: usize) -> Self {
        self.padding = padding;
        self
    }

    /// The output side for an input side `n`: `(n + 2 padding - kernel) / stride + 1`.
    pub fn output(&self, n: usize) -> usize {
        (n + 2 * self.padding - self.kernel) / self.stride + 1
    }
}

/// What a network description is run on. Every operation acts on each time step alike; the
/// `name` of a layer is its module path (`blocks.3.neuron2`), which the graph and the NIR
/// file use.
pub trait Tracer {
    /// What flows between layers: tensors, graph nodes, or nothing.
    type Value: Clone;

    /// `BN(conv(x))` on feature maps.
    fn conv_bn(&mut self, name: &str, layer: &ConvBn, x: Self::Value) -> Self::Value;
    /// A spiking layer over all T steps; returns its spikes.
    fn neuron(&mut self, name: &str, neuron: &DaLif, x: Self::Value) -> Self::Value;
    /// `a + b` (a residual connection).
    fn add(&mut self, a: Self::Value, b: Self::Value) -> Self::Value;
    /// The maximum over each window of feature maps.
    fn max_pool(&mut self, name: &str, pool: Pool, x: Self::Value) -> Self::Value;
    /// The mean over each window of feature maps (no padding).
    fn avg_pool(&mut self, name: &str, pool: Pool, x: Self::Value) -> Self::Value;
    /// The mean over each whole feature map, `[C, H, W] -> [C, 1, 1]`.
    fn global_avg_pool(&mut self, name: &str, x: Self::Value) -> Self::Value;
    /// `[C, H, W] -> [C*H*W]` (features stay as they are).
    fn flatten(&mut self, name: &str, x: Self::Value) -> Self::Value;
    /// `y = x W + b` on features.
    fn linear(&mut self, name: &str, layer: &Linear, x: Self::Value) -> Self::Value;
}

/// A time-major activation: feature maps `[T, B, C, H, W]` or features `[T, B, F]`.
#[derive(Clone, Debug)]
pub enum Activation {
    /// `[T, B, C, H, W]`.
    Maps(Tensor<5>),
    /// `[T, B, F]`.
    Features(Tensor<3>),
}

impl From<Tensor<5>> for Activation {
    fn from(x: Tensor<5>) -> Self {
        Activation::Maps(x)
    }
}

impl From<Tensor<3>> for Activation {
    fn from(x: Tensor<3>) -> Self {
        Activation::Features(x)
    }
}

impl Activation {
    fn maps(self, op: &str, name: &str) -> Tensor<5> {
        match self {
            Activation::Maps(x) => x,
            Activation::Features(x) => panic!(
                "{op} '{name}' reads feature maps [T, B, C, H, W], but its input is features \
                 {:?}",
                x.dims()
            ),
        }
    }

    /// The features `[T, B, F]` (feature maps are flattened).
    pub fn into_features(self) -> Tensor<3> {
        match self {
            Activation::Maps(x) => x.flatten(2, 4),
            Activation::Features(x) => x,
        }
    }

    /// The time-major shape.
    pub fn dims(&self) -> Vec<usize> {
        match self {
            Activation::Maps(x) => x.dims().to_vec(),
            Activation::Features(x) => x.dims().to_vec(),
        }
    }
}

/// The forward pass on tensors, recording every spiking layer's output in a monitor.
///
/// # Panics
/// On an operation that does not fit its input (a convolution on features): a description
/// that holds for one input holds for all, so this is a bug of the model's code, found on
/// its first batch.
pub struct Forward<'a> {
    /// Where the spikes of every neuron go, in forward order.
    pub monitor: &'a mut SpikeMonitor,
}

impl Forward<'_> {
    fn pooled(
        x: Activation,
        op: &str,
        name: &str,
        pool: impl FnOnce(Tensor<4>) -> Tensor<4>,
    ) -> Activation {
        let x = x.maps(op, name);
        let steps = x.dims()[0];
        Activation::Maps(split_time(pool(merge_time(x)), steps))
    }
}

impl Tracer for Forward<'_> {
    type Value = Activation;

    fn conv_bn(&mut self, name: &str, layer: &ConvBn, x: Activation) -> Activation {
        Activation::Maps(layer.forward(x.maps("convolution", name)))
    }

    fn neuron(&mut self, _name: &str, neuron: &DaLif, x: Activation) -> Activation {
        let spikes = match x {
            Activation::Maps(x) => Activation::Maps(neuron.forward(x)),
            Activation::Features(x) => Activation::Features(neuron.forward(x)),
        };
        match &spikes {
            Activation::Maps(s) => self.monitor.record(s),
            Activation::Features(s) => self.monitor.record(s),
        }
        spikes
    }

    fn add(&mut self, a: Activation, b: Activation) -> Activation {
        match (a, b) {
            (Activation::Maps(a), Activation::Maps(b)) => Activation::Maps(a + b),
            (a, b) => Activation::Features(a.into_features() + b.into_features()),
        }
    }

    fn max_pool(&mut self, name: &str, pool: Pool, x: Activation) -> Activation {
        Self::pooled(x, "max pool", name, |x| {
            let p = pool.padding;
            MaxPool2dConfig::new([pool.kernel; 2])
                .with_strides([pool.stride; 2])
                .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
                .init()
                .forward(x)
        })
    }

    fn avg_pool(&mut self, name: &str, pool: Pool, x: Activation) -> Activation {
        Self::pooled(x, "average pool", name, |x| {
            AvgPool2dConfig::new([pool.kernel; 2])
                .with_strides([pool.stride; 2])
                .init()
                .forward(x)
        })
    }

    fn global_avg_pool(&mut self, name: &str, x: Activation) -> Activation {
        let x = x.maps("global average pool", name);
        Activation::Maps(x.mean_dims(&[3, 4]))
    }

    fn flatten(&mut self, _name: &str, x: Activation) -> Activation {
        Activation::Features(x.into_features())
    }

    fn linear(&mut self, name: &str, layer: &Linear, x: Activation) -> Activation {
        match x {
            Activation::Features(x) => Activation::Features(layer.forward(x)),
            Activation::Maps(x) => panic!(
                "linear '{name}' reads features [T, B, F], but its input is feature maps {:?}: \
                 flatten or pool them first",
                x.dims()
            ),
        }
    }
}

/// Collects the spiking layers a description reaches, in forward order.
#[derive(Default)]
pub struct Neurons(pub Vec<DaLif>);

impl Tracer for Neurons {
    type Value = ();

    fn conv_bn(&mut self, _: &str, _: &ConvBn, _: ()) {}
    fn neuron(&mut self, _: &str, neuron: &DaLif, _: ()) {
        self.0.push(neuron.clone());
    }
    fn add(&mut self, _: (), _: ()) {}
    fn max_pool(&mut self, _: &str, _: Pool, _: ()) {}
    fn avg_pool(&mut self, _: &str, _: Pool, _: ()) {}
    fn global_avg_pool(&mut self, _: &str, _: ()) {}
    fn flatten(&mut self, _: &str, _: ()) {}
    fn linear(&mut self, _: &str, _: &Linear, _: ()) {}
}
