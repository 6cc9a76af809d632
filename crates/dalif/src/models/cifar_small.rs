//! `cifar_small`: the four-layer spiking CNN of workload C (`shared/peers/workloads.md`).
//!
//! | # | layer | output per (t, b) |
//! |---|---|---|
//! | 1 | conv 3x3 cin->64, BN, neuron | 64 x H x W |
//! | 2 | conv 3x3 64->128, BN, neuron, maxpool 2 | 128 x H/2 x W/2 |
//! | 3 | conv 3x3 128->256, BN, neuron, maxpool 2 | 256 x H/4 x W/4 |
//! | 4 | conv 3x3 256->256, BN, neuron, global average pool | 256 |
//! | 5 | linear 256->classes, with bias | classes |

use super::ModelError;
use crate::graph::{GraphBuilder, LayerGraph};
use crate::layers::{SpikeMonitor, SpikingConv, SpikingConvConfig, merge_time, split_time};
use crate::neuron::DaLifConfig;
use burn::module::Module;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

const WIDTHS: [usize; 4] = [64, 128, 256, 256];

#[derive(Module, Debug)]
pub struct CifarSmall {
    pub layers: Vec<SpikingConv>,
    pub pool: MaxPool2d,
    pub fc: Linear,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CifarSmallConfig {
    /// The neuron of every spiking layer.
    pub neuron: DaLifConfig,
    pub channels_in: usize,
    pub classes: usize,
}

impl CifarSmallConfig {
    fn layers(&self) -> Vec<SpikingConvConfig> {
        SpikingConvConfig::chain(self.channels_in, WIDTHS, &self.neuron)
    }

    pub fn init(&self, device: &Device) -> Result<CifarSmall, ModelError> {
        Ok(CifarSmall {
            layers: self
                .layers()
                .iter()
                .map(|layer| layer.init(device))
                .collect::<Result<_, _>>()?,
            pool: MaxPool2dConfig::new([2, 2]).init(),
            fc: LinearConfig::new(WIDTHS[3], self.classes).init(device),
        })
    }

    /// Parameters by the layer table: convolutions, batch norms, neurons' decays and the
    /// classifier.
    pub fn num_params(&self) -> usize {
        let layers: usize = self
            .layers()
            .iter()
            .map(SpikingConvConfig::num_params)
            .sum();
        layers + (WIDTHS[3] + 1) * self.classes
    }
}

impl CifarSmall {
    /// `[T, B, C, H, W] -> logits [T, B, classes]`, every neuron's rate recorded in `monitor`.
    pub fn forward(&self, x: Tensor<5>, monitor: &mut SpikeMonitor) -> Tensor<3> {
        let steps = x.dims()[0];
        let mut x = x;
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x, monitor);
            if i == 1 || i == 2 {
                x = split_time(self.pool.forward(merge_time(x)), steps);
            }
        }
        let [t, b, c, _, _] = x.dims();
        let features = x.mean_dims(&[3, 4]).reshape([t, b, c]);
        self.fc.forward(features)
    }

    /// The per-step graph for inputs `[C, H, W]`.
    pub fn graph(&self, input: [usize; 3], device: &Device) -> LayerGraph {
        let (mut g, mut x) = GraphBuilder::new(input, device);
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.graph(&mut g, &format!("layers.{i}"), x);
            if i == 1 || i == 2 {
                x = g.max_pool(&format!("pool.{i}"), 2, 2, 0, x);
            }
        }
        x = g.global_avg_pool("gap", x);
        x = g.flatten("flatten", x);
        x = g.linear("fc", &self.fc, x);
        g.finish(x)
    }
}
