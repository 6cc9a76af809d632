//! The model zoo. Every model takes the neuron kind, the number of input channels and of
//! classes, reads `[T, B, C, H, W]` and returns per-step logits `[T, B, classes]` (the
//! training loss averages them over T, or applies TET per step).

mod cifar_small;
mod resnet19;
mod vggsnn;

pub use cifar_small::{CifarSmall, CifarSmallConfig};
pub use resnet19::{ResNet19, ResNet19Config};
pub use vggsnn::{VggSnn, VggSnnConfig};

use crate::neuron::{DaLif, NeuronError};
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

/// The number of learnable parameters: those that take gradients, so batch-norm running
/// statistics (which burn's `num_params` counts) are left out. `module` must live on an
/// autodiff device, where trainable parameters require gradients.
pub fn learnable_params<M: Module>(module: &M) -> usize {
    struct Count(usize);
    impl ModuleVisitor for Count {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if param.val().is_require_grad() {
                self.0 += param.shape().num_elements();
            }
        }
    }
    let mut count = Count(0);
    module.visit(&mut count);
    count.0
}

/// Errors building a model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Neuron(#[from] NeuronError),
    #[error("invalid model configuration: {0}")]
    Config(String),
}

/// A spiking network that classifies `[T, B, C, H, W]` inputs.
pub trait SpikingClassifier: Module + Clone {
    /// Per-step logits `[T, B, classes]`.
    fn forward(&self, x: Tensor<5>) -> Tensor<3>;

    /// Every spiking layer, input side first.
    fn neurons(&self) -> Vec<&DaLif>;
}

impl SpikingClassifier for CifarSmall {
    fn forward(&self, x: Tensor<5>) -> Tensor<3> {
        CifarSmall::forward(self, x)
    }
    fn neurons(&self) -> Vec<&DaLif> {
        self.layers.iter().map(|l| &l.neuron).collect()
    }
}

impl SpikingClassifier for ResNet19 {
    fn forward(&self, x: Tensor<5>) -> Tensor<3> {
        ResNet19::forward(self, x)
    }
    fn neurons(&self) -> Vec<&DaLif> {
        let blocks = self.blocks.iter().flat_map(|b| [&b.neuron1, &b.neuron2]);
        std::iter::once(&self.stem.neuron)
            .chain(blocks)
            .chain(std::iter::once(&self.neuron))
            .collect()
    }
}

impl SpikingClassifier for VggSnn {
    fn forward(&self, x: Tensor<5>) -> Tensor<3> {
        VggSnn::forward(self, x)
    }
    fn neurons(&self) -> Vec<&DaLif> {
        self.layers.iter().map(|l| &l.neuron).collect()
    }
}
