//! The model zoo. Every model takes the neuron kind, the number of input channels and of
//! classes, reads `[T, B, C, H, W]` and returns per-step logits `[T, B, classes]` (the
//! training loss averages them over T, or applies TET per step).

mod cifar_small;
mod resnet;
mod vggsnn;

pub use cifar_small::{CifarSmall, CifarSmallConfig};
pub use resnet::{ResNetArch, ResNetConfig, SpikingResNet};
pub use vggsnn::{VggSnn, VggSnnConfig};

use crate::graph::LayerGraph;
use crate::layers::SpikeMonitor;
use crate::names::{self, named};
use crate::neuron::{DaLif, DaLifConfig, DecayParam, NeuronError, NeuronKind};
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};
use strum::{Display, EnumMessage, EnumString, IntoStaticStr, VariantArray};

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

/// Builds a module with `init` right after seeding the random generator of `device`'s
/// backend with `seed`, and draws every parameter's initial value before returning.
///
/// burn keeps one generator per process and initialises parameters lazily, at their first use,
/// so two threads that build and run models at once would interleave their draws. This holds
/// a process-wide lock from the seed to the last draw: through it, the same seed gives the
/// same weights whatever else builds models concurrently through it.
pub fn init_seeded<M: Module, E>(
    device: &Device,
    seed: u64,
    init: impl FnOnce() -> Result<M, E>,
) -> Result<M, E> {
    struct Materialise;
    impl ModuleVisitor for Materialise {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            param.val();
        }
    }
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    device.seed(seed);
    let module = init()?;
    module.visit(&mut Materialise);
    Ok(module)
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
    /// Per-step logits `[T, B, classes]`, recording every spiking layer's firing rate in
    /// `monitor`.
    fn forward_monitored(&self, x: Tensor<5>, monitor: &mut SpikeMonitor) -> Tensor<3>;

    /// Per-step logits `[T, B, classes]`.
    fn forward(&self, x: Tensor<5>) -> Tensor<3> {
        self.forward_monitored(x, &mut SpikeMonitor::off())
    }

    /// Every spiking layer, in the order the forward pass reaches them.
    fn neurons(&self) -> Vec<&DaLif>;
}

impl SpikingClassifier for CifarSmall {
    fn forward_monitored(&self, x: Tensor<5>, monitor: &mut SpikeMonitor) -> Tensor<3> {
        CifarSmall::forward(self, x, monitor)
    }
    fn neurons(&self) -> Vec<&DaLif> {
        self.layers.iter().map(|l| &l.neuron).collect()
    }
}

impl SpikingClassifier for SpikingResNet {
    fn forward_monitored(&self, x: Tensor<5>, monitor: &mut SpikeMonitor) -> Tensor<3> {
        SpikingResNet::forward(self, x, monitor)
    }
    fn neurons(&self) -> Vec<&DaLif> {
        let stem = self.stem.iter().map(|l| &l.neuron);
        let blocks = self.blocks.iter().flat_map(|b| [&b.neuron1, &b.neuron2]);
        stem.chain(blocks).chain(&self.hidden_neuron).collect()
    }
}

impl SpikingClassifier for VggSnn {
    fn forward_monitored(&self, x: Tensor<5>, monitor: &mut SpikeMonitor) -> Tensor<3> {
        VggSnn::forward(self, x, monitor)
    }
    fn neurons(&self) -> Vec<&DaLif> {
        self.layers.iter().map(|l| &l.neuron).collect()
    }
}

/// The models of the zoo, by name: the variant's in lower case, except `cifar-small` (which
/// also reads as `cifar_small`); parsing ignores case.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Display, EnumString, IntoStaticStr, VariantArray, EnumMessage,
)]
#[strum(
    serialize_all = "lowercase",
    ascii_case_insensitive,
    parse_err_ty = String,
    parse_err_fn = names::unknown::<Self>
)]
pub enum ModelKind {
    /// Four spiking conv layers and a linear classifier: the quick model.
    #[strum(to_string = "cifar-small", serialize = "cifar_small")]
    CifarSmall,
    /// Spiking ResNet-19 (tdBN), for CIFAR.
    ResNet19,
    /// Spiking ResNet-20, for CIFAR and event data.
    ResNet20,
    /// Spiking ResNet-18, for ImageNet.
    ResNet18,
    /// Spiking ResNet-34, for ImageNet.
    ResNet34,
    /// VGGSNN (TET), for CIFAR10-DVS.
    VggSnn,
}

named!(ModelKind, "model");

impl ModelKind {
    /// The model's name.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// Everything that fixes a model's architecture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub kind: ModelKind,
    pub neuron: NeuronKind,
    pub param: DecayParam,
    /// DA-LIF with alpha and beta fixed at `[alpha, beta]`, not learned (the decay sweep);
    /// `None`: the neuron kind's own decays.
    #[serde(default)]
    pub fixed_decays: Option<[f64; 2]>,
    pub channels_in: usize,
    pub classes: usize,
    /// `[H, W]` of the input (only the models that flatten their features depend on it).
    pub input_size: [usize; 2],
}

/// Any model of the zoo, as one module type.
// One value per run, moved by value through the optimiser: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Network {
    CifarSmall(CifarSmall),
    ResNet(SpikingResNet),
    VggSnn(VggSnn),
}

impl ModelConfig {
    /// `kind` with DA-LIF neurons (tanh decays, learned) for `channels_in`-channel inputs of
    /// `input_size` and `classes` classes.
    pub fn new(
        kind: ModelKind,
        channels_in: usize,
        classes: usize,
        input_size: [usize; 2],
    ) -> Self {
        Self {
            kind,
            neuron: NeuronKind::Dalif,
            param: DecayParam::Tanh,
            fixed_decays: None,
            channels_in,
            classes,
            input_size,
        }
    }

    pub fn with_neuron(mut self, neuron: NeuronKind) -> Self {
        self.neuron = neuron;
        self
    }

    /// The neuron of every spiking layer.
    pub fn neuron_config(&self) -> DaLifConfig {
        let config = self.neuron.config(self.param);
        match self.fixed_decays {
            Some([alpha, beta]) => config.with_init(alpha, beta).with_learned(false, false),
            None => config,
        }
    }

    fn resnet(&self, arch: ResNetArch) -> ResNetConfig {
        ResNetConfig {
            arch,
            neuron: self.neuron_config(),
            channels_in: self.channels_in,
            classes: self.classes,
            input_size: self.input_size,
        }
    }

    fn cifar_small(&self) -> CifarSmallConfig {
        CifarSmallConfig {
            neuron: self.neuron_config(),
            channels_in: self.channels_in,
            classes: self.classes,
        }
    }

    fn vggsnn(&self) -> VggSnnConfig {
        VggSnnConfig {
            neuron: self.neuron_config(),
            channels_in: self.channels_in,
            classes: self.classes,
            input_size: self.input_size,
        }
    }

    fn arch(&self) -> Option<ResNetArch> {
        match self.kind {
            ModelKind::ResNet19 => Some(ResNetArch::ResNet19),
            ModelKind::ResNet20 => Some(ResNetArch::ResNet20),
            ModelKind::ResNet18 => Some(ResNetArch::ResNet18),
            ModelKind::ResNet34 => Some(ResNetArch::ResNet34),
            ModelKind::CifarSmall | ModelKind::VggSnn => None,
        }
    }

    pub fn init(&self, device: &Device) -> Result<Network, ModelError> {
        if self.fixed_decays.is_some() && self.neuron != NeuronKind::Dalif {
            return Err(ModelError::Config(format!(
                "fixed decays apply to the dalif neuron, not {}",
                self.neuron
            )));
        }
        if self.channels_in == 0 || self.classes == 0 {
            return Err(ModelError::Config(format!(
                "{} needs at least one input channel and one class, got {} and {}",
                self.kind, self.channels_in, self.classes
            )));
        }
        Ok(match (self.kind, self.arch()) {
            (_, Some(arch)) => Network::ResNet(self.resnet(arch).init(device)?),
            (ModelKind::VggSnn, _) => Network::VggSnn(self.vggsnn().init(device)?),
            _ => Network::CifarSmall(self.cifar_small().init(device)?),
        })
    }

    /// Parameters by the layer table, neurons' decays included.
    pub fn num_params(&self) -> usize {
        match (self.kind, self.arch()) {
            (_, Some(arch)) => self.resnet(arch).num_params(),
            (ModelKind::VggSnn, _) => self.vggsnn().num_params(),
            _ => self.cifar_small().num_params(),
        }
    }
}

impl SpikingClassifier for Network {
    fn forward_monitored(&self, x: Tensor<5>, monitor: &mut SpikeMonitor) -> Tensor<3> {
        match self {
            Network::CifarSmall(m) => m.forward_monitored(x, monitor),
            Network::ResNet(m) => m.forward_monitored(x, monitor),
            Network::VggSnn(m) => m.forward_monitored(x, monitor),
        }
    }
    fn neurons(&self) -> Vec<&DaLif> {
        match self {
            Network::CifarSmall(m) => m.neurons(),
            Network::ResNet(m) => m.neurons(),
            Network::VggSnn(m) => m.neurons(),
        }
    }
}

impl Network {
    /// The per-step operation graph for inputs `[C, H, W]`, with the network's current
    /// weights (batch norm folded, running statistics).
    pub fn graph(&self, input: [usize; 3], device: &Device) -> LayerGraph {
        match self {
            Network::CifarSmall(m) => m.graph(input, device),
            Network::ResNet(m) => m.graph(input, device),
            Network::VggSnn(m) => m.graph(input, device),
        }
    }
}
