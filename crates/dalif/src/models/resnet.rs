//! Spiking ResNets: a stem, stages of spiking basic blocks, and a head.
//!
//! | arch | stem | stages (blocks x width, first stride) | head |
//! |---|---|---|---|
//! | `resnet19` (tdBN, Zheng et al. 2021) | conv 3x3 cin->128 | 3x128/1, 3x256/2, 2x512/2 | GAP, linear 512->256, neuron, linear 256->classes |
//! | `resnet20` (Sengupta et al. 2019 / Rathi et al. 2020; used by Real-Spike and IM-Loss) | 3 x conv 3x3 (cin->64, 64->64, 64->64), avgpool 2 | 2x64/1, 2x128/2, 2x256/2, 2x512/2 | flatten 512 x H/16 x W/16, linear ->classes without bias |
//! | `resnet18` (ImageNet) | conv 7x7/2 cin->64, maxpool 3x3/2 | 2x64/1, 2x128/2, 2x256/2, 2x512/2 | GAP, linear 512->classes |
//! | `resnet34` (ImageNet) | conv 7x7/2 cin->64, maxpool 3x3/2 | 3x64/1, 4x128/2, 6x256/2, 3x512/2 | GAP, linear 512->classes |
//!
//! Every stem convolution is followed by BN and a neuron; the blocks are
//! [`SpikingBasicBlock`]s. Convolutions have no bias (BN follows each).

use super::ModelError;
use crate::layers::{
    ConvBnConfig, InitScale, Pool, SpikingBasicBlock, SpikingBasicBlockConfig, SpikingConv,
    SpikingConvConfig, Tracer,
};
use crate::neuron::{DaLif, DaLifConfig};
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Device;

/// Which spiking ResNet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResNetArch {
    /// ResNet-19 (tdBN), for CIFAR.
    ResNet19,
    /// ResNet-20 (Sengupta et al. / Rathi et al.), for CIFAR.
    ResNet20,
    /// ResNet-18, for ImageNet.
    ResNet18,
    /// ResNet-34, for ImageNet.
    ResNet34,
}

const RESNET19_HIDDEN: usize = 256;

impl ResNetArch {
    /// `(blocks, channels, stride of the first block)` per stage.
    fn stages(self) -> &'static [(usize, usize, usize)] {
        match self {
            ResNetArch::ResNet19 => &[(3, 128, 1), (3, 256, 2), (2, 512, 2)],
            ResNetArch::ResNet20 | ResNetArch::ResNet18 => {
                &[(2, 64, 1), (2, 128, 2), (2, 256, 2), (2, 512, 2)]
            }
            ResNetArch::ResNet34 => &[(3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2)],
        }
    }
}

/// A spiking ResNet of the table above: stem, residual blocks, head.
#[derive(Module, Debug)]
pub struct SpikingResNet {
    /// The stem's spiking conv layers.
    pub stem: Vec<SpikingConv>,
    /// The residual blocks of every stage, in order.
    pub blocks: Vec<SpikingBasicBlock>,
    /// ResNet-19's hidden linear layer and its neuron.
    pub hidden: Option<Linear>,
    /// The neuron after ResNet-19's hidden linear layer.
    pub hidden_neuron: Option<DaLif>,
    /// The classifier.
    pub fc: Linear,
    /// Which architecture this is.
    #[module(skip)]
    pub arch: ResNetArch,
}

/// Configuration of a [`SpikingResNet`].
#[derive(Clone, Debug, PartialEq)]
pub struct ResNetConfig {
    /// Which architecture.
    pub arch: ResNetArch,
    /// The neuron of every spiking layer.
    pub neuron: DaLifConfig,
    /// How the batch norms' scales start.
    pub init_scale: InitScale,
    /// Input channels (3 for RGB, 2 for event frames).
    pub channels_in: usize,
    /// Classes of the output.
    pub classes: usize,
    /// `[H, W]` of the input; ResNet-20 flattens its last feature map, so it needs both to be
    /// multiples of 16. The other architectures pool globally and take any size.
    pub input_size: [usize; 2],
}

impl ResNetConfig {
    fn stem(&self) -> Vec<SpikingConvConfig> {
        let neuron = &self.neuron;
        let conv = |conv| SpikingConvConfig {
            conv,
            neuron: neuron.clone(),
            init_scale: self.init_scale,
        };
        let cin = self.channels_in;
        match self.arch {
            ResNetArch::ResNet19 => vec![conv(ConvBnConfig::new(cin, 128, 3, 1))],
            ResNetArch::ResNet20 => SpikingConvConfig::chain(cin, [64; 3], neuron, self.init_scale),
            ResNetArch::ResNet18 | ResNetArch::ResNet34 => {
                vec![conv(ConvBnConfig::new(cin, 64, 7, 2))]
            }
        }
    }

    fn blocks(&self) -> Vec<SpikingBasicBlockConfig> {
        let neuron = &self.neuron;
        let stages = self.arch.stages();
        let mut cin = stages[0].1;
        let mut blocks = Vec::new();
        for &(n, cout, stride) in stages {
            for i in 0..n {
                blocks.push(SpikingBasicBlockConfig {
                    channels_in: cin,
                    channels_out: cout,
                    stride: if i == 0 { stride } else { 1 },
                    neuron: neuron.clone(),
                    init_scale: self.init_scale,
                });
                cin = cout;
            }
        }
        blocks
    }

    /// Inputs of the classifier.
    fn features(&self) -> usize {
        match self.arch {
            ResNetArch::ResNet20 => 512 * (self.input_size[0] / 16) * (self.input_size[1] / 16),
            ResNetArch::ResNet19 => RESNET19_HIDDEN,
            ResNetArch::ResNet18 | ResNetArch::ResNet34 => 512,
        }
    }

    /// Creates the network on `device`; errors when ResNet-20's input sides are not
    /// multiples of 16.
    pub fn init(&self, device: &Device) -> Result<SpikingResNet, ModelError> {
        let [h, w] = self.input_size;
        if self.arch == ResNetArch::ResNet20
            && (h == 0 || w == 0 || !h.is_multiple_of(16) || !w.is_multiple_of(16))
        {
            return Err(ModelError::Config(format!(
                "resnet20 halves its input four times and flattens it: height and width must \
                 be multiples of 16, got {h}x{w}"
            )));
        }
        let neuron = &self.neuron;
        let resnet19 = self.arch == ResNetArch::ResNet19;
        Ok(SpikingResNet {
            stem: self
                .stem()
                .iter()
                .map(|c| c.init(device))
                .collect::<Result<_, _>>()?,
            blocks: self
                .blocks()
                .iter()
                .map(|b| b.init(device))
                .collect::<Result<_, _>>()?,
            hidden: resnet19.then(|| LinearConfig::new(512, RESNET19_HIDDEN).init(device)),
            hidden_neuron: resnet19
                .then(|| neuron.for_channels(RESNET19_HIDDEN).init(device))
                .transpose()?,
            fc: LinearConfig::new(self.features(), self.classes)
                .with_bias(self.arch != ResNetArch::ResNet20)
                .init(device),
            arch: self.arch,
        })
    }
}

impl SpikingResNet {
    /// The layers of the table above.
    pub fn trace<T: Tracer>(&self, t: &mut T, x: T::Value) -> T::Value {
        let mut x = x;
        for (i, layer) in self.stem.iter().enumerate() {
            x = layer.trace(t, &format!("stem.{i}"), x);
        }
        x = match self.arch {
            ResNetArch::ResNet20 => t.avg_pool("stem_pool", Pool::new(2, 2), x),
            ResNetArch::ResNet18 | ResNetArch::ResNet34 => {
                t.max_pool("stem_pool", Pool::new(3, 2).with_padding(1), x)
            }
            ResNetArch::ResNet19 => x,
        };
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.trace(t, &format!("blocks.{i}"), x);
        }
        if self.arch != ResNetArch::ResNet20 {
            x = t.global_avg_pool("gap", x);
        }
        x = t.flatten("flatten", x);
        if let (Some(linear), Some(neuron)) = (&self.hidden, &self.hidden_neuron) {
            x = t.linear("hidden", linear, x);
            x = t.neuron("hidden_neuron", neuron, x);
        }
        t.linear("fc", &self.fc, x)
    }
}
