//! The spiking residual block (tdBN / TET "BasicBlock"):
//! `y = N1(BN1(conv1(x)))`, `out = N2(BN2(conv2(y)) + shortcut(x))`, the shortcut being the
//! identity or `BN(conv1x1(x))` when the shape changes; the addition is before the neuron.

use super::{ConvBn, ConvBnConfig, InitScale, Tracer};
use crate::neuron::{DaLif, DaLifConfig, NeuronError};
use burn::module::Module;
use burn::tensor::Device;

/// The spiking residual block: `y = N1(BN1(conv1(x)))`,
/// `out = N2(BN2(conv2(y)) + shortcut(x))`, the shortcut added before the second neuron.
#[derive(Module, Debug)]
pub struct SpikingBasicBlock {
    /// The first `3 x 3` convolution (carries the block's stride).
    pub conv1: ConvBn,
    /// The neuron after the first convolution.
    pub neuron1: DaLif,
    /// The second `3 x 3` convolution, stride 1.
    pub conv2: ConvBn,
    /// `None`: identity.
    pub shortcut: Option<ConvBn>,
    /// The neuron reading `BN2(conv2(y)) + shortcut(x)`.
    pub neuron2: DaLif,
}

/// Configuration of a [`SpikingBasicBlock`].
#[derive(Clone, Debug, PartialEq)]
pub struct SpikingBasicBlockConfig {
    /// Input channels.
    pub channels_in: usize,
    /// Output channels.
    pub channels_out: usize,
    /// The stride of the first convolution and the shortcut: 2 halves the resolution.
    pub stride: usize,
    /// The neuron of both spiking layers; a per-channel one is sized to `channels_out`.
    pub neuron: DaLifConfig,
    /// How the batch norms' scales start.
    pub init_scale: InitScale,
}

impl SpikingBasicBlockConfig {
    fn convs(&self) -> (ConvBnConfig, ConvBnConfig, Option<ConvBnConfig>) {
        let (cin, cout, s) = (self.channels_in, self.channels_out, self.stride);
        let gain = self.init_scale.gain(&self.neuron);
        // The second neuron reads a sum of two branches: each gets 1/sqrt(2) of the gain.
        let branch = match self.init_scale {
            InitScale::Threshold => gain / std::f64::consts::SQRT_2,
            InitScale::Unit => gain,
        };
        let shortcut =
            (s != 1 || cin != cout).then(|| ConvBnConfig::new(cin, cout, 1, s).with_gain(branch));
        (
            ConvBnConfig::new(cin, cout, 3, s).with_gain(gain),
            ConvBnConfig::new(cout, cout, 3, 1).with_gain(branch),
            shortcut,
        )
    }

    /// Creates the block on `device`; the shortcut is a `1 x 1` conv + BN when the stride or the
    /// channel count changes, else the identity.
    pub fn init(&self, device: &Device) -> Result<SpikingBasicBlock, NeuronError> {
        let (c1, c2, sc) = self.convs();
        let neuron = self.neuron.for_channels(self.channels_out);
        Ok(SpikingBasicBlock {
            conv1: c1.init(device),
            neuron1: neuron.init(device)?,
            conv2: c2.init(device),
            shortcut: sc.map(|c| c.init(device)),
            neuron2: neuron.init(device)?,
        })
    }
}

impl SpikingBasicBlock {
    /// The block under `name`; the second neuron reads the sum of the residual branch and the
    /// shortcut.
    pub fn trace<T: Tracer>(&self, t: &mut T, name: &str, x: T::Value) -> T::Value {
        let y = t.conv_bn(&format!("{name}.conv1"), &self.conv1, x.clone());
        let y = t.neuron(&format!("{name}.neuron1"), &self.neuron1, y);
        let y = t.conv_bn(&format!("{name}.conv2"), &self.conv2, y);
        let shortcut = match &self.shortcut {
            Some(conv) => t.conv_bn(&format!("{name}.shortcut"), conv, x),
            None => x,
        };
        let sum = t.add(y, shortcut);
        t.neuron(&format!("{name}.neuron2"), &self.neuron2, sum)
    }
}
