//! The model zoo, and what any spiking classifier implements to be trained, analysed and
//! exported by dalif. A model is described once, as calls on a [`Tracer`]
//! ([`SpikingClassifier::trace`]): its forward pass, its spiking layers and its per-step
//! operation graph all come from that description. Every model reads `[T, B, ...]` and
//! returns per-step logits `[T, B, classes]` (the training loss averages them over T, or
//! applies TET per step).

mod cifar_small;
mod resnet;
mod vggsnn;

pub use cifar_small::{CifarSmall, CifarSmallConfig};
pub use resnet::{ResNetArch, ResNetConfig, SpikingResNet};
pub use vggsnn::{VggSnn, VggSnnConfig};

use crate::graph::{GraphBuilder, LayerGraph};
use crate::layers::{Activation, Forward, InitScale, Neurons, SpikeMonitor, Tracer};
use crate::names::{self, named};
use crate::neuron::{DaLif, DaLifConfig, DecayParam, NeuronError, NeuronKind, Reset, Surrogate};
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use dalif_data::{DataError, Dataset};
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
    /// A neuron configuration that does not build.
    #[error(transparent)]
    Neuron(#[from] NeuronError),
    /// Settings the model cannot be built with (an input size it cannot take, say).
    #[error("invalid model configuration: {0}")]
    Config(String),
}

/// A spiking network that classifies time-major inputs `[T, B, ...]` into per-step logits
/// `[T, B, classes]`: what dalif's training, runs, analysis and export work with.
///
/// An implementation describes its layers once, in [`trace`](Self::trace); the forward pass,
/// the list of spiking layers and the operation graph are derived from it, so they agree by
/// construction (and no spiking layer can be left out of the firing-rate records).
///
/// ```
/// use dalif::prelude::*;
///
/// #[derive(Module, Debug)]
/// struct Mlp {
///     hidden: Linear,
///     neuron: DaLif,
///     out: Linear,
/// }
///
/// impl SpikingClassifier for Mlp {
///     fn trace<T: Tracer>(&self, t: &mut T, x: T::Value) -> T::Value {
///         let x = t.flatten("flatten", x);
///         let x = t.linear("hidden", &self.hidden, x);
///         let x = t.neuron("neuron", &self.neuron, x);
///         t.linear("out", &self.out, x)
///     }
/// }
///
/// let device = Device::flex();
/// let mlp = Mlp {
///     hidden: LinearConfig::new(64, 32).init(&device),
///     neuron: DaLifConfig::dalif().init(&device).unwrap(),
///     out: LinearConfig::new(32, 10).init(&device),
/// };
/// // T = 4 steps of a batch of 2 images [1, 8, 8].
/// let logits = mlp.forward(Tensor::<5>::zeros([4, 2, 1, 8, 8], &device));
/// assert_eq!(logits.dims(), [4, 2, 10]);
/// assert_eq!(mlp.neurons().len(), 1);
/// assert_eq!(mlp.graph(&[1, 8, 8], &device).neurons().len(), 1);
/// ```
pub trait SpikingClassifier: Module + Clone {
    /// The network's layers, in forward order, as calls on `t`, starting from the input `x`;
    /// returns the logits.
    fn trace<T: Tracer>(&self, t: &mut T, x: T::Value) -> T::Value;

    /// Per-step logits `[T, B, classes]` for `x` (`[T, B, C, H, W]` or `[T, B, F]`),
    /// recording every spiking layer's output in `monitor`.
    ///
    /// # Panics
    /// If the description ends in feature maps rather than features, or a layer does not fit
    /// its input (see [`Forward`]).
    fn forward_monitored(&self, x: impl Into<Activation>, monitor: &mut SpikeMonitor) -> Tensor<3> {
        match self.trace(&mut Forward { monitor }, x.into()) {
            Activation::Features(logits) => logits,
            Activation::Maps(x) => panic!(
                "a classifier ends in logits [T, B, classes], but this one ends in feature maps \
                 {:?}: add a pooling or flatten and a linear layer",
                x.dims()
            ),
        }
    }

    /// Per-step logits `[T, B, classes]`.
    fn forward(&self, x: impl Into<Activation>) -> Tensor<3> {
        self.forward_monitored(x, &mut SpikeMonitor::off())
    }

    /// Every spiking layer, in the order the forward pass reaches them.
    fn neurons(&self) -> Vec<DaLif> {
        let mut neurons = Neurons::default();
        self.trace(&mut neurons, ());
        neurons.0
    }

    /// The per-step operation graph for per-sample inputs of `input` (`[C, H, W]` or `[F]`),
    /// with the network's current weights (batch norm folded, running statistics).
    fn graph(&self, input: &[usize], device: &Device) -> LayerGraph {
        let (mut graph, x) = GraphBuilder::new(input, device);
        let logits = self.trace(&mut graph, x);
        graph.finish(logits)
    }
}

impl SpikingClassifier for CifarSmall {
    fn trace<T: Tracer>(&self, t: &mut T, x: T::Value) -> T::Value {
        CifarSmall::trace(self, t, x)
    }
}

impl SpikingClassifier for SpikingResNet {
    fn trace<T: Tracer>(&self, t: &mut T, x: T::Value) -> T::Value {
        SpikingResNet::trace(self, t, x)
    }
}

impl SpikingClassifier for VggSnn {
    fn trace<T: Tracer>(&self, t: &mut T, x: T::Value) -> T::Value {
        VggSnn::trace(self, t, x)
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
    parse_err_ty = names::UnknownName,
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
    /// Its name in `config.toml` and on the command line (`--model`).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// The network of a run, apart from what the data fixes (input channels, classes, input
/// size): the model, and the neuron of every spiking layer with all its settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSpec {
    /// The architecture.
    pub kind: ModelKind,
    /// DA-LIF, one of its ablations, or a baseline.
    pub neuron: NeuronKind,
    /// DA-LIF's map from weights to decays, `alpha = f(w_a)`.
    pub param: DecayParam,
    /// The firing threshold `v_th`.
    pub v_th: f64,
    /// Hard (`H = V (1 - S)`) or soft (`H = V - v_th S`) reset.
    pub reset: Reset,
    /// Treat the spike inside the reset as a constant in the backward pass.
    pub detach_reset: bool,
    /// One learnable decay pair per channel instead of one per layer.
    pub per_channel: bool,
    /// DA-LIF's initial `[alpha, beta]` (the frozen one of an ablation stays there).
    pub init_decays: [f64; 2],
    /// LIF's time constant (`beta = 1 - 1/tau`, `alpha = 1/tau`), PLIF's initial one.
    pub tau: f64,
    /// DA-LIF with `[alpha, beta]` fixed, not learned (what `dalif sweep` trains).
    pub fixed_decays: Option<[f64; 2]>,
    /// The surrogate derivative of the spike, with its parameter.
    pub surrogate: Surrogate,
    /// How the batch norms before the spiking layers set their scale at initialisation.
    pub init_scale: InitScale,
}

impl Default for ModelSpec {
    fn default() -> Self {
        let neuron = DaLifConfig::default();
        let (alpha, beta) = neuron.initial_decays();
        Self {
            kind: ModelKind::CifarSmall,
            neuron: NeuronKind::Dalif,
            param: DecayParam::Tanh,
            v_th: neuron.v_th,
            reset: neuron.reset,
            detach_reset: neuron.detach_reset,
            per_channel: false,
            init_decays: [alpha, beta],
            tau: 2.0,
            fixed_decays: None,
            surrogate: neuron.surrogate,
            init_scale: InitScale::default(),
        }
    }
}

impl ModelSpec {
    /// The neuron of every spiking layer; per-channel configurations are sized by each layer
    /// ([`DaLifConfig::for_channels`]).
    pub fn neuron_config(&self) -> DaLifConfig {
        let [alpha, beta] = self.init_decays;
        let config = self
            .neuron
            .config(self.param)
            .with_init(alpha, beta)
            .with_tau(self.tau)
            .with_v_th(self.v_th)
            .with_reset(self.reset)
            .with_detach_reset(self.detach_reset)
            .with_surrogate(self.surrogate)
            .with_channels(self.per_channel.then_some(1));
        match self.fixed_decays {
            Some([alpha, beta]) => config.with_init(alpha, beta).with_learned(false, false),
            None => config,
        }
    }

    /// Checks every setting: the neuron's, and that fixed decays go with DA-LIF.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.fixed_decays.is_some() && self.neuron != NeuronKind::Dalif {
            return Err(ModelError::Config(format!(
                "fixed decays apply to the dalif neuron, not {}",
                self.neuron
            )));
        }
        self.neuron_config().validate()?;
        Ok(())
    }
}

impl ModelSpec {
    /// The full model configuration for samples of `data`: images `[C, H, W]` or event
    /// frames `[T, C, H, W]`.
    pub fn resolve(&self, data: &dyn Dataset) -> Result<ModelConfig, DataError> {
        let shape = data.sample_shape();
        let [c, h, w] = shape[shape.len().saturating_sub(3)..] else {
            return Err(DataError::Invalid(format!(
                "the zoo's networks read images [C, H, W] or frames [T, C, H, W]; samples are \
                 {shape:?}"
            )));
        };
        Ok(ModelConfig {
            spec: self.clone(),
            channels_in: c,
            classes: data.num_classes(),
            input_size: [h, w],
        })
    }
}

/// Everything that fixes a model's architecture: its [`ModelSpec`] and what the data gives.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// The model and its neurons.
    pub spec: ModelSpec,
    /// Channels of the input.
    pub channels_in: usize,
    /// Classes of the output.
    pub classes: usize,
    /// `[H, W]` of the input (only the models that flatten their features depend on it).
    pub input_size: [usize; 2],
}

/// Any model of the zoo, as one module type.
// One value per run, moved by value through the optimiser: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Network {
    /// [`CifarSmall`].
    CifarSmall(CifarSmall),
    /// A spiking ResNet (19, 20, 18 or 34).
    ResNet(SpikingResNet),
    /// [`VggSnn`].
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
            spec: ModelSpec {
                kind,
                ..ModelSpec::default()
            },
            channels_in,
            classes,
            input_size,
        }
    }

    /// The same with `neuron` in every spiking layer.
    pub fn with_neuron(mut self, neuron: NeuronKind) -> Self {
        self.spec.neuron = neuron;
        self
    }

    fn resnet(&self, arch: ResNetArch) -> ResNetConfig {
        ResNetConfig {
            arch,
            neuron: self.spec.neuron_config(),
            init_scale: self.spec.init_scale,
            channels_in: self.channels_in,
            classes: self.classes,
            input_size: self.input_size,
        }
    }

    fn cifar_small(&self) -> CifarSmallConfig {
        CifarSmallConfig {
            neuron: self.spec.neuron_config(),
            init_scale: self.spec.init_scale,
            channels_in: self.channels_in,
            classes: self.classes,
        }
    }

    fn vggsnn(&self) -> VggSnnConfig {
        VggSnnConfig {
            neuron: self.spec.neuron_config(),
            init_scale: self.spec.init_scale,
            channels_in: self.channels_in,
            classes: self.classes,
            input_size: self.input_size,
        }
    }

    fn arch(&self) -> Option<ResNetArch> {
        match self.spec.kind {
            ModelKind::ResNet19 => Some(ResNetArch::ResNet19),
            ModelKind::ResNet20 => Some(ResNetArch::ResNet20),
            ModelKind::ResNet18 => Some(ResNetArch::ResNet18),
            ModelKind::ResNet34 => Some(ResNetArch::ResNet34),
            ModelKind::CifarSmall | ModelKind::VggSnn => None,
        }
    }

    /// The network, its weights drawn from `device`'s generator.
    pub fn init(&self, device: &Device) -> Result<Network, ModelError> {
        self.spec.validate()?;
        if self.channels_in == 0 || self.classes == 0 {
            return Err(ModelError::Config(format!(
                "{} needs at least one input channel and one class, got {} and {}",
                self.spec.kind, self.channels_in, self.classes
            )));
        }
        Ok(match (self.spec.kind, self.arch()) {
            (_, Some(arch)) => Network::ResNet(self.resnet(arch).init(device)?),
            (ModelKind::VggSnn, _) => Network::VggSnn(self.vggsnn().init(device)?),
            _ => Network::CifarSmall(self.cifar_small().init(device)?),
        })
    }
}

impl SpikingClassifier for Network {
    fn trace<T: Tracer>(&self, t: &mut T, x: T::Value) -> T::Value {
        match self {
            Network::CifarSmall(m) => m.trace(t, x),
            Network::ResNet(m) => m.trace(t, x),
            Network::VggSnn(m) => m.trace(t, x),
        }
    }
}
