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
use crate::layers::{InitScale, Pool, SpikingConv, SpikingConvConfig, Tracer};
use crate::neuron::DaLifConfig;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Device;

const WIDTHS: [usize; 4] = [64, 128, 256, 256];

/// The four-layer spiking CNN of the table above.
#[derive(Module, Debug)]
pub struct CifarSmall {
    /// The four spiking conv layers.
    pub layers: Vec<SpikingConv>,
    /// The classifier, `256 -> classes`.
    pub fc: Linear,
}

/// Configuration of a [`CifarSmall`].
#[derive(Clone, Debug, PartialEq)]
pub struct CifarSmallConfig {
    /// The neuron of every spiking layer.
    pub neuron: DaLifConfig,
    /// How the batch norms' scales start.
    pub init_scale: InitScale,
    /// Input channels (3 for RGB, 2 for event frames).
    pub channels_in: usize,
    /// Classes of the output.
    pub classes: usize,
}

impl CifarSmallConfig {
    fn layers(&self) -> Vec<SpikingConvConfig> {
        SpikingConvConfig::chain(self.channels_in, WIDTHS, &self.neuron, self.init_scale)
    }

    /// Creates the network on `device`.
    pub fn init(&self, device: &Device) -> Result<CifarSmall, ModelError> {
        Ok(CifarSmall {
            layers: self
                .layers()
                .iter()
                .map(|layer| layer.init(device))
                .collect::<Result<_, _>>()?,
            fc: LinearConfig::new(WIDTHS[3], self.classes).init(device),
        })
    }
}

impl CifarSmall {
    /// The layers of the table above.
    pub fn trace<T: Tracer>(&self, t: &mut T, x: T::Value) -> T::Value {
        let mut x = x;
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.trace(t, &format!("layers.{i}"), x);
            if i == 1 || i == 2 {
                x = t.max_pool(&format!("pool.{i}"), Pool::new(2, 2), x);
            }
        }
        let x = t.global_avg_pool("gap", x);
        let x = t.flatten("flatten", x);
        t.linear("fc", &self.fc, x)
    }
}
