//! Surrogate gradients for the spike non-linearity.
//!
//! The forward pass is the exact Heaviside step `S = H(V - v_th)` (fires when `V - v_th >= 0`);
//! the backward pass replaces `dS/dV` by the derivative of a smooth surrogate, evaluated at
//! `x = V - v_th`. Each surrogate also has a smooth *primitive* (a soft spike whose true
//! derivative is the surrogate), used by [`SpikeFunction::Smooth`](super::SpikeFunction) so
//! that finite differences can verify the hand-written backward.

use num_traits::Float;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A surrogate derivative `sg(x) ≈ dS/dV` with its shape parameter.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Surrogate {
    /// `sg(x) = a * s * (1 - s)`, `s = sigmoid(a x)` (SpikingJelly `Sigmoid`, default a = 4).
    Sigmoid { alpha: f64 },
    /// `sg(x) = (a / 2) / (1 + (pi/2 * a * x)^2)` (SpikingJelly `ATan`, default a = 2).
    Atan { alpha: f64 },
    /// `sg(x) = max(0, a - a^2 |x|)` (SpikingJelly `PiecewiseQuadratic`, default a = 1).
    Triangle { alpha: f64 },
    /// `sg(x) = a * [|x| < 1/(2a)]` (STBP rectangle of width 1/a, default a = 1).
    Rectangle { alpha: f64 },
    /// Dspike (Li et al. 2021), the DA-LIF authors' surrogate, default k = 3:
    /// `dF/du = k (1 - tanh^2(k (u - 1/2))) / (2 tanh(k/2))` for `u` in `[0, 1]`, 0 outside.
    ///
    /// Dspike is defined on a membrane normalised so that the threshold sits at `u = 1/2` and
    /// the window `[0, 1]` is one threshold wide. Here `u = (V - v_th) / v_th + 1/2`, so the
    /// window is centred on the real threshold (where the forward Heaviside fires) and
    /// `sg(V) = dF/du / v_th`.
    DspikeTanh { k: f64 },
}

impl Default for Surrogate {
    fn default() -> Self {
        Surrogate::Sigmoid { alpha: 4.0 }
    }
}

impl Surrogate {
    /// The surrogate names accepted by [`Surrogate::from_str`].
    pub const NAMES: [&'static str; 5] =
        ["sigmoid", "atan", "triangle", "rectangle", "dspike-tanh"];

    /// The surrogate `name` with its default parameter.
    pub fn with_default_parameter(name: &str) -> Result<Self, String> {
        Ok(match name {
            "sigmoid" => Surrogate::Sigmoid { alpha: 4.0 },
            "atan" => Surrogate::Atan { alpha: 2.0 },
            "triangle" => Surrogate::Triangle { alpha: 1.0 },
            "rectangle" => Surrogate::Rectangle { alpha: 1.0 },
            "dspike-tanh" => Surrogate::DspikeTanh { k: 3.0 },
            other => {
                return Err(format!(
                    "unknown surrogate '{other}' (expected one of: {})",
                    Self::NAMES.join(", ")
                ));
            }
        })
    }

    /// The name of the surrogate family.
    pub fn name(&self) -> &'static str {
        match self {
            Surrogate::Sigmoid { .. } => "sigmoid",
            Surrogate::Atan { .. } => "atan",
            Surrogate::Triangle { .. } => "triangle",
            Surrogate::Rectangle { .. } => "rectangle",
            Surrogate::DspikeTanh { .. } => "dspike-tanh",
        }
    }

    /// The shape parameter (`alpha` or `k`).
    pub fn parameter(&self) -> f64 {
        match *self {
            Surrogate::Sigmoid { alpha }
            | Surrogate::Atan { alpha }
            | Surrogate::Triangle { alpha }
            | Surrogate::Rectangle { alpha } => alpha,
            Surrogate::DspikeTanh { k } => k,
        }
    }

    /// Checks that the parameter is a finite positive number.
    pub fn validate(&self) -> Result<(), String> {
        let p = self.parameter();
        if p.is_finite() && p > 0.0 {
            Ok(())
        } else {
            Err(format!(
                "surrogate {} needs a finite positive parameter, got {p}",
                self.name()
            ))
        }
    }
}

impl fmt::Display for Surrogate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name(), self.parameter())
    }
}

/// Parses `name` or `name:parameter`, e.g. `atan` or `sigmoid:5`.
impl FromStr for Surrogate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, param) = match s.split_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (s, None),
        };
        let mut surrogate = Self::with_default_parameter(name.trim())?;
        if let Some(p) = param {
            let value: f64 = p
                .trim()
                .parse()
                .map_err(|_| format!("surrogate parameter '{p}' is not a number"))?;
            match &mut surrogate {
                Surrogate::Sigmoid { alpha }
                | Surrogate::Atan { alpha }
                | Surrogate::Triangle { alpha }
                | Surrogate::Rectangle { alpha } => *alpha = value,
                Surrogate::DspikeTanh { k } => *k = value,
            }
        }
        surrogate.validate()?;
        Ok(surrogate)
    }
}

/// A surrogate with its constants precomputed in the kernel's float type.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SurrogateKernel<F> {
    kind: Surrogate,
    a: F,
    /// sigmoid: unused; atan: `pi/2 * a`; triangle: `a^2`; rectangle: `1/(2a)`;
    /// dspike: `k / (2 tanh(k/2) v_th)`.
    c1: F,
    /// dspike: `1 / v_th`; rectangle: `1/(2a)` as the primitive's clamp.
    c2: F,
    /// dspike: `tanh(k/2)`.
    c3: F,
}

impl<F: Float> SurrogateKernel<F> {
    pub(crate) fn new(kind: Surrogate, v_th: f64) -> Self {
        let p = kind.parameter();
        let f = |x: f64| F::from(x).expect("f64 constant fits the kernel float");
        let (c1, c2, c3) = match kind {
            Surrogate::Sigmoid { .. } => (0.0, 0.0, 0.0),
            Surrogate::Atan { .. } => (std::f64::consts::FRAC_PI_2 * p, 0.0, 0.0),
            Surrogate::Triangle { .. } => (p * p, 0.0, 0.0),
            Surrogate::Rectangle { .. } => (1.0 / (2.0 * p), 0.0, 0.0),
            Surrogate::DspikeTanh { .. } => {
                let t = (p / 2.0).tanh();
                (p / (2.0 * t * v_th), 1.0 / v_th, t)
            }
        };
        Self {
            kind,
            a: f(p),
            c1: f(c1),
            c2: f(c2),
            c3: f(c3),
        }
    }

    /// `sg(x)`, the surrogate derivative at `x = V - v_th`.
    #[inline(always)]
    pub(crate) fn grad(&self, x: F) -> F {
        let one = F::one();
        match self.kind {
            Surrogate::Sigmoid { .. } => {
                let s = one / (one + (-self.a * x).exp());
                self.a * s * (one - s)
            }
            Surrogate::Atan { .. } => {
                let z = self.c1 * x;
                (self.a / (one + one)) / (one + z * z)
            }
            Surrogate::Triangle { .. } => (self.a - self.c1 * x.abs()).max(F::zero()),
            Surrogate::Rectangle { .. } => {
                if x.abs() < self.c1 {
                    self.a
                } else {
                    F::zero()
                }
            }
            Surrogate::DspikeTanh { .. } => {
                // u - 1/2 = x / v_th; the window u in [0, 1] is |x / v_th| <= 1/2.
                let d = x * self.c2;
                let half = one / (one + one);
                if d.abs() <= half {
                    let t = (self.a * d).tanh();
                    self.c1 * (one - t * t)
                } else {
                    F::zero()
                }
            }
        }
    }

    /// The smooth spike `F(x)` whose derivative is [`grad`](Self::grad).
    #[inline(always)]
    pub(crate) fn primitive(&self, x: F) -> F {
        let one = F::one();
        let half = one / (one + one);
        match self.kind {
            Surrogate::Sigmoid { .. } => one / (one + (-self.a * x).exp()),
            Surrogate::Atan { .. } => {
                (self.c1 * x).atan() / F::from(std::f64::consts::PI).unwrap() + half
            }
            Surrogate::Triangle { .. } => {
                let w = one / self.a;
                let xc = x.max(-w).min(w);
                half + self.a * xc - half * self.c1 * xc * xc.abs()
            }
            Surrogate::Rectangle { .. } => {
                let xc = x.max(-self.c1).min(self.c1);
                half + self.a * xc
            }
            Surrogate::DspikeTanh { .. } => {
                let d = (x * self.c2).max(-half).min(half);
                ((self.a * d).tanh() + self.c3) / (self.c3 + self.c3)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Surrogate; 5] = [
        Surrogate::Sigmoid { alpha: 4.0 },
        Surrogate::Atan { alpha: 2.0 },
        Surrogate::Triangle { alpha: 1.0 },
        Surrogate::Rectangle { alpha: 1.0 },
        Surrogate::DspikeTanh { k: 3.0 },
    ];

    #[test]
    fn grad_is_the_derivative_of_the_primitive() {
        for s in ALL {
            for v_th in [1.0, 0.5] {
                let k = SurrogateKernel::<f64>::new(s, v_th);
                let h = 1e-6;
                for i in -300..300 {
                    let x = i as f64 * 0.0101 + 0.003;
                    let fd = (k.primitive(x + h) - k.primitive(x - h)) / (2.0 * h);
                    let g = k.grad(x);
                    // The rectangle and triangle have kinks; skip points next to them.
                    let near_kink = match s {
                        Surrogate::Rectangle { alpha } => ((x.abs() - 0.5 / alpha).abs()) < 1e-5,
                        Surrogate::Triangle { alpha } => {
                            x.abs() < 1e-5 || (x.abs() - 1.0 / alpha).abs() < 1e-5
                        }
                        Surrogate::DspikeTanh { .. } => (x.abs() / v_th - 0.5).abs() < 1e-5,
                        _ => false,
                    };
                    if !near_kink {
                        assert!(
                            (fd - g).abs() < 1e-6,
                            "{s} v_th={v_th} x={x}: fd {fd} vs grad {g}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn primitives_go_from_zero_to_one_through_one_half() {
        for s in ALL {
            let k = SurrogateKernel::<f64>::new(s, 1.0);
            assert!((k.primitive(0.0) - 0.5).abs() < 1e-12, "{s}");
            assert!(k.primitive(-50.0) < 0.02, "{s}");
            assert!(k.primitive(50.0) > 0.98, "{s}");
        }
    }

    #[test]
    fn known_values() {
        let sig = SurrogateKernel::<f64>::new(Surrogate::Sigmoid { alpha: 4.0 }, 1.0);
        assert!((sig.grad(0.0) - 1.0).abs() < 1e-12);
        let atan = SurrogateKernel::<f64>::new(Surrogate::Atan { alpha: 2.0 }, 1.0);
        assert!((atan.grad(0.0) - 1.0).abs() < 1e-12);
        let tri = SurrogateKernel::<f64>::new(Surrogate::Triangle { alpha: 1.0 }, 1.0);
        assert!((tri.grad(0.25) - 0.75).abs() < 1e-12);
        assert_eq!(tri.grad(1.5), 0.0);
        let rect = SurrogateKernel::<f64>::new(Surrogate::Rectangle { alpha: 1.0 }, 1.0);
        assert_eq!(rect.grad(0.49), 1.0);
        assert_eq!(rect.grad(0.51), 0.0);
        let ds = SurrogateKernel::<f64>::new(Surrogate::DspikeTanh { k: 3.0 }, 1.0);
        let expect = 3.0 / (2.0 * 1.5f64.tanh());
        assert!((ds.grad(0.0) - expect).abs() < 1e-12);
        assert_eq!(ds.grad(0.6), 0.0);
    }

    #[test]
    fn parses_names_and_parameters() {
        assert_eq!(
            "atan".parse::<Surrogate>().unwrap(),
            Surrogate::Atan { alpha: 2.0 }
        );
        assert_eq!(
            "sigmoid:5".parse::<Surrogate>().unwrap(),
            Surrogate::Sigmoid { alpha: 5.0 }
        );
        assert_eq!(
            "dspike-tanh".parse::<Surrogate>().unwrap(),
            Surrogate::DspikeTanh { k: 3.0 }
        );
        assert!(
            "gauss"
                .parse::<Surrogate>()
                .unwrap_err()
                .contains("unknown surrogate")
        );
        assert!("atan:-1".parse::<Surrogate>().is_err());
        assert!("atan:x".parse::<Surrogate>().is_err());
    }
}
