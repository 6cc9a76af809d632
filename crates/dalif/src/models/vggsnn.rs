//! VGGSNN (TET, Deng et al. 2022), the CIFAR10-DVS network: eight spiking conv layers
//! `64, 128, pool, 256, 256, pool, 512, 512, pool, 512, 512, pool` (3x3 convolutions, BN,
//! neuron; 2x2 average pooling), then one linear classifier on the flattened features.
//! The convolutions have no bias: the batch norm after each has one.

use super::ModelError;
use crate::layers::{InitScale, Pool, SpikingConv, SpikingConvConfig, Tracer};
use crate::neuron::DaLifConfig;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Device;

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

/// VGGSNN: the eight spiking conv layers and the classifier of the module's description.
#[derive(Module, Debug)]
pub struct VggSnn {
    /// The eight spiking conv layers.
    pub layers: Vec<SpikingConv>,
    /// The classifier, `512 x H/16 x W/16 -> classes`.
    pub fc: Linear,
}

/// Configuration of a [`VggSnn`].
#[derive(Clone, Debug, PartialEq)]
pub struct VggSnnConfig {
    /// The neuron of every spiking layer.
    pub neuron: DaLifConfig,
    /// How the batch norms' scales start.
    pub init_scale: InitScale,
    /// Input channels (2 for event frames).
    pub channels_in: usize,
    /// Classes of the output.
    pub classes: usize,
    /// `[H, W]` of the input frames (48x48 or 64x64 on CIFAR10-DVS); multiples of 16.
    pub input_size: [usize; 2],
}

impl VggSnnConfig {
    fn layers(&self) -> Vec<SpikingConvConfig> {
        let widths = LAYERS.iter().map(|&(cout, _)| cout);
        SpikingConvConfig::chain(self.channels_in, widths, &self.neuron, self.init_scale)
    }

    fn features(&self) -> usize {
        let [h, w] = self.input_size;
        LAYERS[7].0 * (h / 16) * (w / 16)
    }

    /// Creates the network on `device`; errors unless the input's sides are multiples of 16.
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
            fc: LinearConfig::new(self.features(), self.classes).init(device),
        })
    }
}

impl VggSnn {
    /// The layers of the table above.
    pub fn trace<T: Tracer>(&self, t: &mut T, x: T::Value) -> T::Value {
        let mut x = x;
        for (i, (layer, &(_, pool))) in self.layers.iter().zip(&LAYERS).enumerate() {
            x = layer.trace(t, &format!("layers.{i}"), x);
            if pool {
                x = t.avg_pool(&format!("pool.{i}"), Pool::new(2, 2), x);
            }
        }
        let x = t.flatten("flatten", x);
        t.linear("fc", &self.fc, x)
    }
}
