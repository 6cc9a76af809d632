//! The spiking residual block (tdBN / TET "BasicBlock"):
//! `y = N1(BN1(conv1(x)))`, `out = N2(BN2(conv2(y)) + shortcut(x))`, the shortcut being the
//! identity or `BN(conv1x1(x))` when the shape changes; the addition is before the neuron.

use super::{ConvBn, ConvBnConfig, SpikeMonitor};
use crate::graph::{GraphBuilder, NodeId};
use crate::neuron::{DaLif, DaLifConfig, NeuronError};
use burn::module::Module;
use burn::tensor::{Device, Tensor};

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
        Ok(SpikingBasicBlock {
            conv1: c1.init(device),
            neuron1: self.neuron.init(device)?,
            conv2: c2.init(device),
            shortcut: sc.map(|c| c.init(device)),
            neuron2: self.neuron.init(device)?,
        })
    }

    /// Parameters of the convolutions and batch norms (the neurons' are counted apart).
    pub fn num_conv_params(&self) -> usize {
        let (c1, c2, sc) = self.convs();
        c1.num_params() + c2.num_params() + sc.map_or(0, |c| c.num_params())
    }
}

impl SpikingBasicBlock {
    /// `[T, B, Cin, H, W] -> spikes [T, B, Cout, H/s, W/s]`, the rates of both neurons
    /// recorded in `monitor`.
    pub fn forward(&self, x: Tensor<5>, monitor: &mut SpikeMonitor) -> Tensor<5> {
        let y = self.neuron1.forward(self.conv1.forward(x.clone()));
        monitor.record(&y);
        let y = self.conv2.forward(y);
        let shortcut = match &self.shortcut {
            Some(conv) => conv.forward(x),
            None => x,
        };
        let out = self.neuron2.forward(y + shortcut);
        monitor.record(&out);
        out
    }

    /// Adds the block to `graph` under `name`; the second neuron reads the sum of the
    /// residual branch and the shortcut (two edges). Returns the second neuron.
    pub fn graph(&self, graph: &mut GraphBuilder, name: &str, from: NodeId) -> NodeId {
        let y = graph.conv_bn(&format!("{name}.conv1"), &self.conv1, from);
        let y = graph.neuron(&format!("{name}.neuron1"), &self.neuron1, &[y]);
        let y = graph.conv_bn(&format!("{name}.conv2"), &self.conv2, y);
        let shortcut = match &self.shortcut {
            Some(conv) => graph.conv_bn(&format!("{name}.shortcut"), conv, from),
            None => from,
        };
        graph.neuron(&format!("{name}.neuron2"), &self.neuron2, &[y, shortcut])
    }
}
