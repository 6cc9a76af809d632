//! ResNet-19 (tdBN, Zheng et al. 2021; as in workload R of `shared/peers/workloads.md`):
//!
//! - stem: conv 3x3 cin->128, BN, neuron;
//! - stages of spiking basic blocks: 3 x 128 (stride 1), 3 x 256 (first stride 2),
//!   2 x 512 (first stride 2);
//! - head: global average pool, linear 512->256 (bias), neuron, linear 256->classes (bias).

use super::ModelError;
use crate::layers::{
    ConvBnConfig, NeuronKind, SpikingBasicBlock, SpikingBasicBlockConfig, SpikingConv,
    SpikingConvConfig,
};
use crate::neuron::{DaLif, DecayParam};
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

/// `(blocks, channels, stride of the first block)` per stage.
const STAGES: [(usize, usize, usize); 3] = [(3, 128, 1), (3, 256, 2), (2, 512, 2)];
const HIDDEN: usize = 256;

#[derive(Module, Debug)]
pub struct ResNet19 {
    pub stem: SpikingConv,
    pub blocks: Vec<SpikingBasicBlock>,
    pub fc1: Linear,
    pub neuron: DaLif,
    pub fc2: Linear,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ResNet19Config {
    pub neuron: NeuronKind,
    pub param: DecayParam,
    pub channels_in: usize,
    pub classes: usize,
}

impl ResNet19Config {
    fn stem(&self) -> ConvBnConfig {
        ConvBnConfig::new(self.channels_in, STAGES[0].1, 3, 1)
    }

    fn blocks(&self) -> Vec<SpikingBasicBlockConfig> {
        let neuron = self.neuron.config(self.param);
        let mut cin = STAGES[0].1;
        let mut blocks = Vec::new();
        for (n, cout, stride) in STAGES {
            for i in 0..n {
                blocks.push(SpikingBasicBlockConfig {
                    channels_in: cin,
                    channels_out: cout,
                    stride: if i == 0 { stride } else { 1 },
                    neuron: neuron.clone(),
                });
                cin = cout;
            }
        }
        blocks
    }

    pub fn init(&self, device: &Device) -> Result<ResNet19, ModelError> {
        let neuron = self.neuron.config(self.param);
        Ok(ResNet19 {
            stem: SpikingConvConfig {
                conv: self.stem(),
                neuron: neuron.clone(),
            }
            .init(device)?,
            blocks: self
                .blocks()
                .iter()
                .map(|b| b.init(device))
                .collect::<Result<_, _>>()?,
            fc1: LinearConfig::new(STAGES[2].1, HIDDEN).init(device),
            neuron: neuron.init(device)?,
            fc2: LinearConfig::new(HIDDEN, self.classes).init(device),
        })
    }

    /// Parameters by the layer table, neurons' decays included.
    pub fn num_params(&self) -> usize {
        let blocks = self.blocks();
        let convs: usize = self.stem().num_params()
            + blocks
                .iter()
                .map(SpikingBasicBlockConfig::num_conv_params)
                .sum::<usize>();
        let linear = (STAGES[2].1 + 1) * HIDDEN + (HIDDEN + 1) * self.classes;
        let neuron_layers = 1 + 2 * blocks.len() + 1;
        convs + linear + neuron_layers * self.neuron.config(self.param).num_learnable()
    }
}

impl ResNet19 {
    /// `[T, B, C, H, W] -> logits [T, B, classes]`.
    pub fn forward(&self, x: Tensor<5>) -> Tensor<3> {
        let mut x = self.stem.forward(x);
        for block in &self.blocks {
            x = block.forward(x);
        }
        let [t, b, c, _, _] = x.dims();
        let features = x.mean_dims(&[3, 4]).reshape([t, b, c]);
        self.fc2
            .forward(self.neuron.forward(self.fc1.forward(features)))
    }
}
