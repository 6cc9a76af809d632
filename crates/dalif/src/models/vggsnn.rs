//! VGGSNN (TET, Deng et al. 2022), the CIFAR10-DVS network: eight spiking conv layers
//! `64, 128, pool, 256, 256, pool, 512, 512, pool, 512, 512, pool` (3x3 convolutions, BN,
//! neuron; 2x2 average pooling), then one linear classifier on the flattened features.
//! The convolutions have no bias: the batch norm after each has one.

use super::ModelError;
use crate::graph::{GraphBuilder, LayerGraph};
use crate::layers::{SpikeMonitor, SpikingConv, SpikingConvConfig, merge_time, split_time};
use crate::neuron::DaLifConfig;
use burn::module::Module;
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

/// Output channels of each spiking conv layer, and whether a 2x2 pool follows it.
const LAYERS: [(usize, bool); 8] = [
    (64, false),
    (128, true),
    (256, false),
    (256, true),
    (512, false),
    (512, true),
    (512, false),
    (512, true),
];

#[derive(Module, Debug)]
pub struct VggSnn {
    pub layers: Vec<SpikingConv>,
    pub pool: AvgPool2d,
    pub fc: Linear,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VggSnnConfig {
    /// The neuron of every spiking layer.
    pub neuron: DaLifConfig,
    pub channels_in: usize,
    pub classes: usize,
    /// `[H, W]` of the input frames (48x48 or 64x64 on CIFAR10-DVS); multiples of 16.
    pub input_size: [usize; 2],
}

impl VggSnnConfig {
    fn layers(&self) -> Vec<SpikingConvConfig> {
        let widths = LAYERS.iter().map(|&(cout, _)| cout);
        SpikingConvConfig::chain(self.channels_in, widths, &self.neuron)
    }

    fn features(&self) -> usize {
        let [h, w] = self.input_size;
        LAYERS[7].0 * (h / 16) * (w / 16)
    }

    pub fn init(&self, device: &Device) -> Result<VggSnn, ModelError> {
        let [h, w] = self.input_size;
        if h == 0 || w == 0 || !h.is_multiple_of(16) || !w.is_multiple_of(16) {
            return Err(ModelError::Config(format!(
                "vggsnn pools four times by 2 and flattens: height and width must be multiples \
                 of 16, got {h}x{w}"
            )));
        }
        Ok(VggSnn {
            layers: self
                .layers()
                .iter()
                .map(|layer| layer.init(device))
                .collect::<Result<_, _>>()?,
            pool: AvgPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            fc: LinearConfig::new(self.features(), self.classes).init(device),
        })
    }

    /// Parameters by the layer table, neurons' decays included.
    pub fn num_params(&self) -> usize {
        let layers: usize = self
            .layers()
            .iter()
            .map(SpikingConvConfig::num_params)
            .sum();
        layers + (self.features() + 1) * self.classes
    }
}

impl VggSnn {
    /// `[T, B, C, H, W] -> logits [T, B, classes]`, every neuron's rate recorded in `monitor`.
    pub fn forward(&self, x: Tensor<5>, monitor: &mut SpikeMonitor) -> Tensor<3> {
        let steps = x.dims()[0];
        let mut x = x;
        for (layer, &(_, pool)) in self.layers.iter().zip(&LAYERS) {
            x = layer.forward(x, monitor);
            if pool {
                x = split_time(self.pool.forward(merge_time(x)), steps);
            }
        }
        let [t, b, c, h, w] = x.dims();
        self.fc.forward(x.reshape([t, b, c * h * w]))
    }

    /// The per-step graph for inputs `[C, H, W]`.
    pub fn graph(&self, input: [usize; 3], device: &Device) -> LayerGraph {
        let (mut g, mut x) = GraphBuilder::new(input, device);
        for (i, (layer, &(_, pool))) in self.layers.iter().zip(&LAYERS).enumerate() {
            x = layer.graph(&mut g, &format!("layers.{i}"), x);
            if pool {
                x = g.avg_pool(&format!("pool.{i}"), 2, 2, x);
            }
        }
        x = g.flatten("flatten", x);
        x = g.linear("fc", &self.fc, x);
        g.finish(x)
    }
}
