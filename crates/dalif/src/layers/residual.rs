//! The spiking residual block (tdBN / TET "BasicBlock"):
//! `y = N1(BN1(conv1(x)))`, `out = N2(BN2(conv2(y)) + shortcut(x))`, the shortcut being the
//! identity or `BN(conv1x1(x))` when the shape changes; the addition is before the neuron.

use super::{ConvBn, ConvBnConfig, Tracer};
use crate::neuron::{DaLif, DaLifConfig, NeuronError};
use burn::module::Module;
use burn::tensor::Device;

#[derive(Module, Debug)]
pub struct SpikingBasicBlock {
    pub conv1: ConvBn,
    pub neuron1: DaLif,
    pub conv2: ConvBn,
    /// `None`: identity.
    pub shortcut: Option<ConvBn>,
    pub neuron2: DaLif,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SpikingBasicBlockConfig {
    pub channels_in: usize,
    pub channels_out: usize,
    pub stride: usize,
    pub neuron: DaLifConfig,
}

impl SpikingBasicBlockConfig {
    fn convs(&self) -> (ConvBnConfig, ConvBnConfig, Option<ConvBnConfig>) {
        let (cin, cout, s) = (self.channels_in, self.channels_out, self.stride);
        let shortcut = (s != 1 || cin != cout).then(|| ConvBnConfig::new(cin, cout, 1, s));
        (
            ConvBnConfig::new(cin, cout, 3, s),
            ConvBnConfig::new(cout, cout, 3, 1),
            shortcut,
        )
    }

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
