//! Configuration of a spiking neuron layer: DA-LIF and its baselines (LIF, PLIF) as settings of
//! one operation.

use super::Surrogate;
use crate::names::{self, named};
use serde::{Deserialize, Serialize};
use strum::{Display, EnumMessage, EnumString, IntoStaticStr, VariantArray};

/// Errors in a neuron configuration or its input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NeuronError {
    /// A setting out of range (threshold, decays, time constant, surrogate, channels).
    #[error("invalid neuron configuration: {0}")]
    Config(String),
    /// An input the layer cannot run on (not time-major, or the wrong channel count).
    #[error("invalid neuron input: {0}")]
    Input(String),
    /// The surrogate cannot be.
    #[error("invalid neuron configuration: {0}")]
    Surrogate(#[from] super::SurrogateError),
}

/// How the membrane is reset after a spike.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Display, EnumString, IntoStaticStr, VariantArray,
)]
#[strum(
    serialize_all = "kebab-case",
    parse_err_ty = names::UnknownName,
    parse_err_fn = names::unknown::<Self>
)]
pub enum Reset {
    /// `H = V (1 - S)`: back to 0.
    #[default]
    Hard,
    /// `H = V - v_th S`: subtract the threshold.
    Soft,
}

named!(Reset, "reset");

/// The map `f` from an unconstrained learnable weight to a decay: `alpha = f(w_a)`.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Display,
    EnumString,
    IntoStaticStr,
    VariantArray,
    EnumMessage,
)]
#[strum(
    serialize_all = "kebab-case",
    parse_err_ty = names::UnknownName,
    parse_err_fn = names::unknown::<Self>
)]
pub enum DecayParam {
    /// `f = tanh`, decays in (-1, 1); the paper finds it better than sigmoid.
    #[default]
    Tanh,
    /// `f = sigmoid`, decays in (0, 1).
    Sigmoid,
}

named!(DecayParam, "parametrisation");

impl DecayParam {
    /// `f(w)`.
    pub fn apply(self, w: f64) -> f64 {
        match self {
            DecayParam::Tanh => w.tanh(),
            DecayParam::Sigmoid => 1.0 / (1.0 + (-w).exp()),
        }
    }

    /// `w = f^-1(c)`: the weight that initialises the decay at `c`.
    pub fn inverse(self, c: f64) -> Result<f64, NeuronError> {
        match self {
            DecayParam::Tanh if c > -1.0 && c < 1.0 => Ok(c.atanh()),
            DecayParam::Sigmoid if c > 0.0 && c < 1.0 => Ok((c / (1.0 - c)).ln()),
            DecayParam::Tanh => Err(NeuronError::Config(format!(
                "decay {c} is outside tanh's range (-1, 1)"
            ))),
            DecayParam::Sigmoid => Err(NeuronError::Config(format!(
                "decay {c} is outside sigmoid's range (0, 1)"
            ))),
        }
    }
}

/// Where the spatial decay `alpha` and the temporal decay `beta` come from.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Decay {
    /// DA-LIF: `alpha = f(w_a)`, `beta = f(w_b)`, learned independently. A frozen decay stays
    /// at its initial value (the paper's spatial-only and temporal-only ablations).
    Dual {
        /// The map `f` from weight to decay.
        param: DecayParam,
        /// The initial spatial decay (weight of the input `X[t]`).
        alpha: f64,
        /// The initial temporal decay (weight of the previous state `H[t-1]`).
        beta: f64,
        /// Whether `alpha` is learned (else frozen at its initial value).
        learn_alpha: bool,
        /// Whether `beta` is learned (else frozen at its initial value).
        learn_beta: bool,
    },
    /// PLIF (Fang et al. 2021): one learnable `k = sigmoid(w)`, `alpha = k`, `beta = 1 - k`,
    /// initialised as SpikingJelly does, `w = -ln(tau - 1)` (so `k = 1/tau`).
    Parametric {
        /// The initial time constant, `> 1`.
        tau: f64,
    },
    /// LIF with a fixed time constant: `beta = 1 - 1/tau`; `alpha = 1/tau` when `decay_input`
    /// (SpikingJelly's default) or `alpha = 1`.
    Fixed {
        /// The time constant, `>= 1` (in time steps).
        tau: f64,
        /// Whether the input is scaled by `1/tau` too (`alpha = 1/tau`), else `alpha = 1`.
        decay_input: bool,
    },
}

impl Default for Decay {
    fn default() -> Self {
        Decay::Dual {
            param: DecayParam::Tanh,
            alpha: 0.5,
            beta: 0.5,
            learn_alpha: true,
            learn_beta: true,
        }
    }
}

/// What the forward pass emits as the spike.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Display, EnumString, IntoStaticStr, VariantArray,
)]
#[strum(
    serialize_all = "kebab-case",
    parse_err_ty = names::UnknownName,
    parse_err_fn = names::unknown::<Self>
)]
pub enum SpikeFunction {
    /// The exact Heaviside step `S = [V - v_th >= 0]` (what a spiking network uses).
    #[default]
    Heaviside,
    /// The surrogate's smooth primitive `S = F(V - v_th)`, whose true derivative is the
    /// surrogate: the whole neuron becomes differentiable, so finite differences can check the
    /// backward pass. A validation and annealing tool, not a spiking network.
    Smooth,
}

named!(SpikeFunction, "spike function");

/// Configuration of a spiking neuron layer (DA-LIF, PLIF or LIF) over `[T, B, ...]` inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DaLifConfig {
    /// The decays and which of them are learned.
    pub decay: Decay,
    /// `Some(C)`: one learnable decay pair per channel (dimension 2 of `[T, B, C, ...]`);
    /// `None`: one pair for the whole layer (the paper's setting).
    pub channels: Option<usize>,
    /// Firing threshold.
    pub v_th: f64,
    /// Reset after a spike.
    pub reset: Reset,
    /// Treat the spike inside the reset as a constant in the backward pass.
    pub detach_reset: bool,
    /// Surrogate derivative of the spike.
    pub surrogate: Surrogate,
    /// Heaviside (default) or smooth spikes.
    pub spike: SpikeFunction,
}

impl Default for DaLifConfig {
    fn default() -> Self {
        Self {
            decay: Decay::default(),
            channels: None,
            v_th: 1.0,
            reset: Reset::Hard,
            detach_reset: false,
            surrogate: Surrogate::default(),
            spike: SpikeFunction::Heaviside,
        }
    }
}

impl DaLifConfig {
    /// DA-LIF with both decays learned, tanh parametrisation, alpha = beta = 0.5.
    pub fn dalif() -> Self {
        Self::default()
    }

    /// DA-LIF ablation: only the spatial decay alpha is learned, beta stays at its init.
    pub fn spatial_only() -> Self {
        Self::default().with_learned(true, false)
    }

    /// DA-LIF ablation: only the temporal decay beta is learned, alpha stays at its init.
    pub fn temporal_only() -> Self {
        Self::default().with_learned(false, true)
    }

    /// LIF with fixed `tau` (SpikingJelly `LIFNode(tau, decay_input)`).
    pub fn lif(tau: f64, decay_input: bool) -> Self {
        Self {
            decay: Decay::Fixed { tau, decay_input },
            ..Self::default()
        }
    }

    /// PLIF with initial `tau` (SpikingJelly `ParametricLIFNode(init_tau)`).
    pub fn plif(tau: f64) -> Self {
        Self {
            decay: Decay::Parametric { tau },
            ..Self::default()
        }
    }

    /// Sets the DA-LIF parametrisation `f`; no effect on LIF/PLIF, which have their own.
    pub fn with_param(mut self, param: DecayParam) -> Self {
        if let Decay::Dual { param: p, .. } = &mut self.decay {
            *p = param;
        }
        self
    }

    /// Sets the DA-LIF initial decays.
    pub fn with_init(mut self, alpha: f64, beta: f64) -> Self {
        if let Decay::Dual {
            alpha: a, beta: b, ..
        } = &mut self.decay
        {
            *a = alpha;
            *b = beta;
        }
        self
    }

    /// Sets which DA-LIF decays are learned.
    pub fn with_learned(mut self, alpha: bool, beta: bool) -> Self {
        if let Decay::Dual {
            learn_alpha,
            learn_beta,
            ..
        } = &mut self.decay
        {
            *learn_alpha = alpha;
            *learn_beta = beta;
        }
        self
    }

    /// One learnable decay pair per channel (`Some(C)`) or per layer (`None`).
    pub fn with_channels(mut self, channels: Option<usize>) -> Self {
        self.channels = channels;
        self
    }

    /// This neuron for a layer of `channels` channels: a per-channel configuration gets one
    /// decay pair per channel of that layer; a per-layer one is unchanged. Networks hand one
    /// configuration to all their layers, so they size it here.
    pub fn for_channels(&self, channels: usize) -> Self {
        self.clone().with_channels(self.channels.map(|_| channels))
    }

    /// Sets LIF's time constant, or PLIF's initial one; no effect on DA-LIF.
    pub fn with_tau(mut self, tau: f64) -> Self {
        if let Decay::Parametric { tau: t } | Decay::Fixed { tau: t, .. } = &mut self.decay {
            *t = tau;
        }
        self
    }

    /// Sets the firing threshold `v_th` (finite, positive).
    pub fn with_v_th(mut self, v_th: f64) -> Self {
        self.v_th = v_th;
        self
    }

    /// Sets the reset after a spike, hard or soft.
    pub fn with_reset(mut self, reset: Reset) -> Self {
        self.reset = reset;
        self
    }

    /// Sets whether the spike inside the reset term is a constant for the backward pass
    /// (SpikingJelly's `detach_reset`): `dH/dV = 1 - S` (hard reset), dropping the path
    /// through `S`.
    pub fn with_detach_reset(mut self, detach_reset: bool) -> Self {
        self.detach_reset = detach_reset;
        self
    }

    /// Sets the surrogate derivative the backward pass uses for `dS/dV`.
    pub fn with_surrogate(mut self, surrogate: Surrogate) -> Self {
        self.surrogate = surrogate;
        self
    }

    /// Sets the spike of the forward pass: Heaviside, or the surrogate's smooth primitive.
    pub fn with_spike(mut self, spike: SpikeFunction) -> Self {
        self.spike = spike;
        self
    }

    /// Checks every field; [`init`](Self::init) calls it.
    pub fn validate(&self) -> Result<(), NeuronError> {
        let bad = |m: String| Err(NeuronError::Config(m));
        if !(self.v_th.is_finite() && self.v_th > 0.0) {
            return bad(format!(
                "v_th must be finite and positive, got {}",
                self.v_th
            ));
        }
        if self.channels == Some(0) {
            return bad("per-channel decays need at least one channel".into());
        }
        self.surrogate.validate()?;
        match self.decay {
            Decay::Dual {
                param, alpha, beta, ..
            } => {
                param.inverse(alpha)?;
                param.inverse(beta)?;
            }
            Decay::Parametric { tau } if !(tau > 1.0 && tau.is_finite()) => {
                return bad(format!("PLIF needs an initial tau > 1, got {tau}"));
            }
            Decay::Fixed { tau, .. } if !(tau >= 1.0 && tau.is_finite()) => {
                return bad(format!("LIF needs tau >= 1, got {tau}"));
            }
            _ => {}
        }
        Ok(())
    }

    /// Number of learnable scalars this layer adds (per layer, or per channel).
    pub fn num_learnable(&self) -> usize {
        let per = match self.decay {
            Decay::Dual {
                learn_alpha,
                learn_beta,
                ..
            } => learn_alpha as usize + learn_beta as usize,
            Decay::Parametric { .. } => 1,
            Decay::Fixed { .. } => 0,
        };
        per * self.channels.unwrap_or(1)
    }

    /// The initial `(alpha, beta)`.
    pub fn initial_decays(&self) -> (f64, f64) {
        match self.decay {
            Decay::Dual { alpha, beta, .. } => (alpha, beta),
            Decay::Parametric { tau } => (1.0 / tau, 1.0 - 1.0 / tau),
            Decay::Fixed { tau, decay_input } => {
                (if decay_input { 1.0 / tau } else { 1.0 }, 1.0 - 1.0 / tau)
            }
        }
    }
}

/// One line for logs and metrics: the decays, the threshold, the reset and the surrogate,
/// e.g. `DA-LIF (tanh, alpha from 0.5 learned, beta from 0.5 learned), v_th 1, hard reset,
/// surrogate sigmoid:4`.
impl std::fmt::Display for DaLifConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let learned = |yes| if yes { "learned" } else { "fixed" };
        match self.decay {
            Decay::Dual {
                param,
                alpha,
                beta,
                learn_alpha,
                learn_beta,
            } => write!(
                f,
                "DA-LIF ({param}, alpha from {alpha} {}, beta from {beta} {})",
                learned(learn_alpha),
                learned(learn_beta)
            )?,
            Decay::Parametric { tau } => write!(f, "PLIF (tau from {tau})")?,
            Decay::Fixed { tau, decay_input } => write!(
                f,
                "LIF (tau {tau}{})",
                if decay_input { ", decay input" } else { "" }
            )?,
        }
        if let Some(c) = self.channels {
            write!(f, ", {c} per-channel decay pairs")?;
        }
        write!(f, ", v_th {}, {} reset", self.v_th, self.reset)?;
        if self.detach_reset {
            f.write_str(" (detached)")?;
        }
        write!(f, ", surrogate {}", self.surrogate)?;
        if self.spike == SpikeFunction::Smooth {
            f.write_str(", smooth spikes")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_undoes_apply() {
        for p in [DecayParam::Tanh, DecayParam::Sigmoid] {
            for c in [0.1, 0.5, 0.9] {
                let w = p.inverse(c).unwrap();
                assert!((p.apply(w) - c).abs() < 1e-12);
            }
        }
        assert!(DecayParam::Sigmoid.inverse(-0.5).is_err());
        assert!(DecayParam::Tanh.inverse(1.0).is_err());
        assert!((DecayParam::Tanh.inverse(-0.5).unwrap() - (-0.5f64).atanh()).abs() < 1e-15);
    }

    #[test]
    fn parametrisations_parse_by_name() {
        assert_eq!("tanh".parse::<DecayParam>(), Ok(DecayParam::Tanh));
        assert_eq!("sigmoid".parse::<DecayParam>(), Ok(DecayParam::Sigmoid));
        assert!("relu".parse::<DecayParam>().unwrap_err().given == "relu");
    }

    #[test]
    fn baselines_couple_the_decays_as_spikingjelly_does() {
        let (a, b) = DaLifConfig::plif(2.0).initial_decays();
        assert_eq!((a, b), (0.5, 0.5));
        let (a, b) = DaLifConfig::plif(4.0).initial_decays();
        assert!((a + b - 1.0).abs() < 1e-15 && (a - 0.25).abs() < 1e-15);
        assert_eq!(DaLifConfig::lif(2.0, true).initial_decays(), (0.5, 0.5));
        assert_eq!(DaLifConfig::lif(4.0, false).initial_decays(), (1.0, 0.75));
    }

    #[test]
    fn the_description_names_every_setting() {
        let text = DaLifConfig::dalif()
            .with_learned(true, false)
            .with_channels(Some(8))
            .with_v_th(0.5)
            .with_reset(Reset::Soft)
            .with_detach_reset(true)
            .with_surrogate(Surrogate::Atan { alpha: 2.0 })
            .to_string();
        assert_eq!(
            text,
            "DA-LIF (tanh, alpha from 0.5 learned, beta from 0.5 fixed), 8 per-channel decay \
             pairs, v_th 0.5, soft reset (detached), surrogate atan:2"
        );
        assert_eq!(
            DaLifConfig::lif(2.0, true).to_string(),
            "LIF (tau 2, decay input), v_th 1, hard reset, surrogate sigmoid:4"
        );
    }

    #[test]
    fn learnable_counts() {
        assert_eq!(DaLifConfig::dalif().num_learnable(), 2);
        assert_eq!(DaLifConfig::spatial_only().num_learnable(), 1);
        assert_eq!(DaLifConfig::temporal_only().num_learnable(), 1);
        assert_eq!(DaLifConfig::plif(2.0).num_learnable(), 1);
        assert_eq!(DaLifConfig::lif(2.0, true).num_learnable(), 0);
        assert_eq!(
            DaLifConfig::dalif().with_channels(Some(16)).num_learnable(),
            32
        );
    }

    #[test]
    fn validation_names_the_problem() {
        let e = DaLifConfig::dalif().with_v_th(0.0).validate().unwrap_err();
        assert!(e.to_string().contains("v_th"));
        let e = DaLifConfig::dalif()
            .with_param(DecayParam::Sigmoid)
            .with_init(-0.2, 0.5)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("sigmoid"));
        assert!(DaLifConfig::plif(1.0).validate().is_err());
        assert!(
            DaLifConfig::dalif()
                .with_channels(Some(0))
                .validate()
                .is_err()
        );
        assert!(
            DaLifConfig::dalif()
                .with_surrogate(Surrogate::Atan { alpha: f64::NAN })
                .validate()
                .is_err()
        );
    }
}
