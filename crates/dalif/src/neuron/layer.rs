//! The spiking neuron layer: learnable decays in front of the fused DA-LIF operation.

use super::op::{DaLifOp, dalif};
use super::{DaLifConfig, Decay, DecayParam, NeuronError};
use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

/// A multi-step spiking neuron layer over time-major `[T, B, ...]` inputs: DA-LIF, or LIF/PLIF
/// as configurations of the same operation (see [`DaLifConfig`]).
///
/// Per neuron, `V[t] = beta H[t-1] + alpha X[t]`, `S[t] = [V[t] >= v_th]`, then reset; with
///
/// - DA-LIF: `alpha = f(w_a)`, `beta = f(w_b)`, `f` = tanh or sigmoid, each learned or frozen;
/// - PLIF: `k = sigmoid(w_a)`, `alpha = k`, `beta = 1 - k`;
/// - LIF: constants `beta = 1 - 1/tau`, `alpha = 1/tau` (or 1).
///
/// The spike's derivative in the backward pass is the configured [`Surrogate`](super::Surrogate).
///
/// ```
/// use burn::tensor::{Device, Tensor, TensorData};
/// use dalif::DaLifConfig;
///
/// let device = Device::flex(); // `Device::flex().autodiff()` to train
/// let neuron = DaLifConfig::dalif().init(&device)?; // alpha = beta = 0.5, v_th = 1, hard reset
/// let (alpha, beta) = neuron.mean_decays(&device); // tanh(w_a), tanh(w_b), w = atanh(0.5)
/// assert!((alpha - 0.5).abs() < 1e-6 && (beta - 0.5).abs() < 1e-6);
/// // T = 2 steps of a batch of 1 with 3 neurons: [T, B, N].
/// let x = [0.5f32, 1.0, 4.0, 3.0, 1.0, 0.0];
/// let x = Tensor::<3>::from_data(TensorData::new(x.to_vec(), [2, 1, 3]), &device);
/// let spikes = neuron.forward(x);
/// // t = 0: V = 0.5 x = (0.25, 0.5, 2), the third fires and resets to 0.
/// // t = 1: V = 0.5 H + 0.5 x = (1.625, 0.75, 0), the first fires.
/// let s = spikes.into_data().convert::<f32>().to_vec::<f32>().unwrap();
/// assert_eq!(s, [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
/// # Ok::<(), dalif::neuron::NeuronError>(())
/// ```
#[derive(Module, Debug)]
pub struct DaLif {
    /// The learnable weight behind alpha (DA-LIF) or k (PLIF); `None` when not learned.
    pub w_a: Option<Param<Tensor<1>>>,
    /// The learnable weight behind beta (DA-LIF); `None` when not learned.
    pub w_b: Option<Param<Tensor<1>>>,
    #[module(skip)]
    config: DaLifConfig,
}

/// Spikes and the pre-reset membrane potential of one call, both `[T, B, ...]`.
#[derive(Debug, Clone)]
pub struct NeuronOutput<const D: usize> {
    /// `S[t]`: 0/1 spikes (or the smooth spikes of
    /// [`SpikeFunction::Smooth`](super::SpikeFunction::Smooth)).
    pub spikes: Tensor<D>,
    /// `V[t]` before reset; recorded for analysis, carries no gradient.
    pub potential: Tensor<D>,
}

impl DaLifConfig {
    /// Creates the layer with its learnable weights on `device`.
    pub fn init(&self, device: &Device) -> Result<DaLif, NeuronError> {
        self.validate()?;
        let c = self.channels.unwrap_or(1);
        let weight = |w: f64| Some(Param::from_tensor(Tensor::full([c], w, device)));
        let (w_a, w_b) = match self.decay {
            Decay::Dual {
                param,
                alpha,
                beta,
                learn_alpha,
                learn_beta,
            } => (
                learn_alpha
                    .then(|| weight(param.inverse(alpha).unwrap()))
                    .flatten(),
                learn_beta
                    .then(|| weight(param.inverse(beta).unwrap()))
                    .flatten(),
            ),
            // SpikingJelly's ParametricLIFNode init: w = -ln(tau - 1), so sigmoid(w) = 1/tau.
            Decay::Parametric { tau } => (weight(-(tau - 1.0).ln()), None),
            Decay::Fixed { .. } => (None, None),
        };
        Ok(DaLif {
            w_a,
            w_b,
            config: self.clone(),
        })
    }
}

impl DaLif {
    /// The configuration the layer was made from.
    pub fn config(&self) -> &DaLifConfig {
        &self.config
    }

    /// `(alpha, beta)` as tensors of 1 or C elements, differentiable w.r.t. the weights:
    /// `(f(w_a), f(w_b))` for DA-LIF (a frozen decay is its constant initial value),
    /// `(k, 1 - k)` with `k = sigmoid(w_a)` for PLIF, `(1/tau or 1, 1 - 1/tau)` for LIF.
    pub fn decays(&self, device: &Device) -> (Tensor<1>, Tensor<1>) {
        let c = self.config.channels.unwrap_or(1);
        let (alpha0, beta0) = self.config.initial_decays();
        let constant = |v: f64| Tensor::<1>::full([c], v, device);
        match self.config.decay {
            Decay::Dual { param, .. } => {
                let f = |w: &Param<Tensor<1>>| match param {
                    DecayParam::Tanh => w.val().tanh(),
                    DecayParam::Sigmoid => sigmoid(w.val()),
                };
                (
                    self.w_a.as_ref().map_or_else(|| constant(alpha0), f),
                    self.w_b.as_ref().map_or_else(|| constant(beta0), f),
                )
            }
            Decay::Parametric { .. } => {
                let k = sigmoid(self.w_a.as_ref().expect("PLIF has a weight").val());
                (k.clone(), k.neg().add_scalar(1.0))
            }
            Decay::Fixed { .. } => (constant(alpha0), constant(beta0)),
        }
    }

    /// The current `(alpha, beta)` values, one per layer or per channel.
    pub fn decay_values(&self, device: &Device) -> (Vec<f32>, Vec<f32>) {
        let (a, b) = self.decays(device);
        let read = |t: Tensor<1>| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        (read(a), read(b))
    }

    /// `(alpha, beta)` of the layer, averaged over the channels of a per-channel layer: the
    /// figures reports and metrics give per layer.
    pub fn mean_decays(&self, device: &Device) -> (f64, f64) {
        let (a, b) = self.decay_values(device);
        let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64;
        (mean(&a), mean(&b))
    }

    fn op(&self) -> DaLifOp {
        DaLifOp {
            v_th: self.config.v_th,
            reset: self.config.reset,
            detach_reset: self.config.detach_reset,
            surrogate: self.config.surrogate,
            spike: self.config.spike,
        }
    }

    /// Checks that `dims` is a `[T, B, ...]` shape this layer can run on.
    pub fn check_input(&self, dims: &[usize]) -> Result<(), NeuronError> {
        if dims.len() < 2 {
            return Err(NeuronError::Input(format!(
                "expected a time-major [T, B, ...] tensor, got shape {dims:?}"
            )));
        }
        if let Some(c) = self.config.channels
            && (dims.len() < 3 || dims[2] != c)
        {
            return Err(NeuronError::Input(format!(
                "layer has {c} per-channel decays but the input shape {dims:?} has {} channels at dimension 2 of [T, B, C, ...]",
                dims.get(2).map_or("no".to_string(), |d| d.to_string())
            )));
        }
        Ok(())
    }

    /// Spikes and membrane potential for `x: [T, B, ...]`, or an error naming a shape that
    /// does not fit. An empty batch gives empty outputs.
    pub fn try_forward<const D: usize>(
        &self,
        x: Tensor<D>,
    ) -> Result<NeuronOutput<D>, NeuronError> {
        self.check_input(&x.dims())?;
        let (alpha, beta) = self.decays(&x.device());
        let (spikes, potential) = dalif(x, alpha, beta, self.op());
        Ok(NeuronOutput { spikes, potential })
    }

    /// Spikes for `x: [T, B, ...]`.
    ///
    /// # Panics
    /// If the shape does not fit the layer (see [`try_forward`](Self::try_forward)); model
    /// code fixes shapes at construction.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match self.try_forward(x) {
            Ok(out) => out.spikes,
            Err(e) => panic!("{e}"),
        }
    }
}
