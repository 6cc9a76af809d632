//! Surrogate gradients for the spike non-linearity.
//!
//! The forward pass is the exact Heaviside step `S = H(V - v_th)` (fires when `V - v_th >= 0`);
//! the backward pass replaces `dS/dV` by the derivative of a smooth surrogate, evaluated at
//! `x = V - v_th`. Each surrogate also has a smooth *primitive* (a soft spike whose true
//! derivative is the surrogate), used by [`SpikeFunction::Smooth`](super::SpikeFunction) so
//! that finite differences can verify the hand-written backward.

use crate::names::{UnknownName, unknown_among};
use num_traits::Float;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use strum::{EnumIter, IntoEnumIterator, IntoStaticStr, VariantNames};

/// A surrogate derivative `sg(x) ≈ dS/dV` with its shape parameter.
///
/// Each is the derivative of a smooth step of unit height (it integrates to 1 over `x`), so
/// the forward Heaviside and the backward surrogate agree on how much a crossing counts. On the
/// command line and in `config.toml` a surrogate is `name` or `name:parameter`:
///
/// ```
/// use dalif::Surrogate;
///
/// assert_eq!("atan".parse(), Ok(Surrogate::Atan { alpha: 2.0 })); // the default parameter
/// let s: Surrogate = "sigmoid:5".parse()?;
/// assert_eq!(s, Surrogate::Sigmoid { alpha: 5.0 });
/// assert_eq!(s.to_string(), "sigmoid:5");
/// assert!("rectangle:0".parse::<Surrogate>().is_err()); // the parameter must be positive
/// # Ok::<(), dalif::neuron::SurrogateError>(())
/// ```
///
/// The family's name is its variant's, in kebab case, for strum ([`Surrogate::name`]) and serde
/// (the `kind` of a configuration) alike.
#[derive(
    Clone, Copy, Debug, PartialEq, Serialize, Deserialize, IntoStaticStr, VariantNames, EnumIter,
)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Surrogate {
    /// `sg(x) = a * s * (1 - s)`, `s = sigmoid(a x)` (SpikingJelly `Sigmoid`, default a = 4).
    Sigmoid {
        /// The steepness `a`.
        alpha: f64,
    },
    /// `sg(x) = (a / 2) / (1 + (pi/2 * a * x)^2)` (SpikingJelly `ATan`, default a = 2).
    Atan {
        /// The steepness `a`; the peak is `a/2`.
        alpha: f64,
    },
    /// `sg(x) = max(0, a - a^2 |x|)` (SpikingJelly `PiecewiseQuadratic`, default a = 1).
    Triangle {
        /// The height `a` at `x = 0`; the support is `|x| < 1/a`.
        alpha: f64,
    },
    /// `sg(x) = a * [|x| < 1/(2a)]` (STBP rectangle of width 1/a, default a = 1).
    Rectangle {
        /// The height `a`; the width is `1/a`.
        alpha: f64,
    },
    /// Dspike (Li et al. 2021), the DA-LIF authors' surrogate, default k = 3:
    /// `dF/du = k (1 - tanh^2(k (u - 1/2))) / (2 tanh(k/2))` for `u` in `[0, 1]`, 0 outside.
    ///
    /// Dspike is defined on a membrane normalised so that the threshold sits at `u = 1/2` and
    /// the window `[0, 1]` is one threshold wide. Here `u = (V - v_th) / v_th + 1/2`, so the
    /// window is centred on the real threshold (where the forward Heaviside fires) and
    /// `sg(V) = dF/du / v_th`.
    DspikeTanh {
        /// The temperature `k`: larger is closer to the step.
        k: f64,
    },
}

impl Default for Surrogate {
    /// The sigmoid, with its default parameter.
    fn default() -> Self {
        let sigmoid = Surrogate::Sigmoid { alpha: 0.0 };
        sigmoid.with_parameter(sigmoid.default_parameter())
    }
}

impl Surrogate {
    /// The surrogate names accepted by [`Surrogate::from_str`], one per family.
    pub const NAMES: &'static [&'static str] = <Self as VariantNames>::VARIANTS;

    /// Every surrogate family, each with its default parameter.
    pub fn all() -> impl Iterator<Item = Surrogate> {
        Self::iter().map(|s| s.with_parameter(s.default_parameter()))
    }

    /// The surrogate `name` with its default parameter.
    pub fn with_default_parameter(name: &str) -> Result<Self, UnknownName> {
        Self::all()
            .find(|s| s.name() == name)
            .ok_or_else(|| unknown_among("surrogate", name, Self::NAMES))
    }

    /// The name of the surrogate family.
    pub fn name(&self) -> &'static str {
        self.into()
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

    /// The family's usual parameter: SpikingJelly's defaults, and the DA-LIF authors' `k` for
    /// Dspike.
    pub fn default_parameter(&self) -> f64 {
        match self {
            Surrogate::Sigmoid { .. } => 4.0,
            Surrogate::Atan { .. } => 2.0,
            Surrogate::Triangle { .. } | Surrogate::Rectangle { .. } => 1.0,
            Surrogate::DspikeTanh { .. } => 3.0,
        }
    }

    /// The same family with the shape parameter `parameter`.
    pub fn with_parameter(mut self, parameter: f64) -> Self {
        match &mut self {
            Surrogate::Sigmoid { alpha }
            | Surrogate::Atan { alpha }
            | Surrogate::Triangle { alpha }
            | Surrogate::Rectangle { alpha } => *alpha = parameter,
            Surrogate::DspikeTanh { k } => *k = parameter,
        }
        self
    }

    /// Checks that the parameter is a finite positive number.
    pub fn validate(&self) -> Result<(), SurrogateError> {
        let parameter = self.parameter();
        if parameter.is_finite() && parameter > 0.0 {
            Ok(())
        } else {
            Err(SurrogateError::Parameter {
                name: self.name(),
                parameter,
            })
        }
    }
}

impl fmt::Display for Surrogate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name(), self.parameter())
    }
}

/// A surrogate that cannot be: an unknown family, or a parameter that is not a finite
/// positive number.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SurrogateError {
    /// No surrogate family has this name.
    #[error(transparent)]
    Unknown(#[from] UnknownName),
    /// The text after `name:` is not a number.
    #[error("surrogate parameter '{0}' is not a number")]
    NotANumber(String),
    /// The shape parameter is zero, negative, infinite or NaN.
    #[error("surrogate {name} needs a finite positive parameter, got {parameter}")]
    Parameter {
        /// The family.
        name: &'static str,
        /// The parameter given.
        parameter: f64,
    },
}

/// Parses `name` or `name:parameter`, e.g. `atan` or `sigmoid:5`.
impl FromStr for Surrogate {
    type Err = SurrogateError;

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
                .map_err(|_| SurrogateError::NotANumber(p.to_string()))?;
            surrogate = surrogate.with_parameter(value);
        }
        surrogate.validate()?;
        Ok(surrogate)
    }
}

/// Float types the neuron kernels run on.
pub(crate) trait KernelFloat:
    Float + bytemuck::Pod + burn::tensor::Element + Send + Sync
{
    /// `e^x`, written so that loops over it vectorise (f32: Cephes polynomial, ~1 ulp).
    fn exp_vec(self) -> Self;
}

impl KernelFloat for f64 {
    #[inline(always)]
    fn exp_vec(self) -> Self {
        self.exp()
    }
}

impl KernelFloat for f32 {
    #[inline(always)]
    fn exp_vec(self) -> Self {
        // Cephes expf: e^x = 2^n e^r, n = round(x log2 e), |r| <= ln2/2, r by Cody-Waite.
        // Only mul/add/min/max/bit operations, so the compiler vectorises the caller's loop.
        let x = self.clamp(-87.0, 88.0);
        // Round to nearest with the 1.5 * 2^23 trick: y holds n in its low mantissa bits, so
        // 2^n is built from y's bits (a float-to-int `as` would saturate and not vectorise).
        let shifter = 12_582_912.0f32;
        let y = x * std::f32::consts::LOG2_E + shifter;
        let n = y - shifter;
        let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
        let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
            * r
            + 1.666_666_5e-1)
            * r
            + 0.5;
        let p = p * r * r + r + 1.0;
        // bits(y) = 0x4B40_0000 + n, and 2^n has the bits (n + 127) << 23.
        p * f32::from_bits(y.to_bits().wrapping_sub(0x4B40_0000 - 127) << 23)
    }
}

/// One surrogate family with its constants precomputed in the kernel's float type.
pub(crate) trait SpikeShape<F>: Copy + Send + Sync {
    /// `sg(x)`, the surrogate derivative at `x = V - v_th`.
    fn grad(&self, x: F) -> F;
    /// The smooth spike `F(x)` whose derivative is `grad`.
    fn primitive(&self, x: F) -> F;
}

/// Receives the surrogate as a concrete [`SpikeShape`], so kernels are compiled once per
/// family with no per-element dispatch.
pub(crate) trait ShapeVisitor<F> {
    type Output;
    fn visit<S: SpikeShape<F>>(self, shape: S) -> Self::Output;
}

#[derive(Clone, Copy)]
struct SigmoidShape<F> {
    a: F,
}

impl<F: KernelFloat> SpikeShape<F> for SigmoidShape<F> {
    #[inline(always)]
    fn grad(&self, x: F) -> F {
        let s = self.primitive(x);
        self.a * s * (F::one() - s)
    }
    #[inline(always)]
    fn primitive(&self, x: F) -> F {
        F::one() / (F::one() + (-self.a * x).exp_vec())
    }
}

#[derive(Clone, Copy)]
struct AtanShape<F> {
    half_a: F,
    /// `pi/2 * a`.
    c: F,
}

impl<F: KernelFloat> SpikeShape<F> for AtanShape<F> {
    #[inline(always)]
    fn grad(&self, x: F) -> F {
        let z = self.c * x;
        self.half_a / (F::one() + z * z)
    }
    #[inline(always)]
    fn primitive(&self, x: F) -> F {
        let pi = F::from(std::f64::consts::PI).unwrap();
        (self.c * x).atan() / pi + F::from(0.5).unwrap()
    }
}

#[derive(Clone, Copy)]
struct TriangleShape<F> {
    a: F,
    a2: F,
}

impl<F: KernelFloat> SpikeShape<F> for TriangleShape<F> {
    #[inline(always)]
    fn grad(&self, x: F) -> F {
        (self.a - self.a2 * x.abs()).max(F::zero())
    }
    #[inline(always)]
    fn primitive(&self, x: F) -> F {
        let half = F::from(0.5).unwrap();
        let w = F::one() / self.a;
        let xc = x.max(-w).min(w);
        half + self.a * xc - half * self.a2 * xc * xc.abs()
    }
}

#[derive(Clone, Copy)]
struct RectangleShape<F> {
    a: F,
    /// `1 / (2a)`.
    half_width: F,
}

impl<F: KernelFloat> SpikeShape<F> for RectangleShape<F> {
    #[inline(always)]
    fn grad(&self, x: F) -> F {
        if x.abs() < self.half_width {
            self.a
        } else {
            F::zero()
        }
    }
    #[inline(always)]
    fn primitive(&self, x: F) -> F {
        let xc = x.max(-self.half_width).min(self.half_width);
        F::from(0.5).unwrap() + self.a * xc
    }
}

#[derive(Clone, Copy)]
struct DspikeShape<F> {
    k: F,
    inv_v_th: F,
    /// `tanh(k/2)`.
    t: F,
    /// `k / (2 tanh(k/2) v_th)`: `sg` at the threshold.
    peak: F,
}

impl<F: KernelFloat> SpikeShape<F> for DspikeShape<F> {
    #[inline(always)]
    fn grad(&self, x: F) -> F {
        // u - 1/2 = x / v_th; the window u in [0, 1] is |x / v_th| <= 1/2.
        let d = x * self.inv_v_th;
        if d.abs() <= F::from(0.5).unwrap() {
            let t = (self.k * d).tanh();
            self.peak * (F::one() - t * t)
        } else {
            F::zero()
        }
    }
    #[inline(always)]
    fn primitive(&self, x: F) -> F {
        let half = F::from(0.5).unwrap();
        let d = (x * self.inv_v_th).max(-half).min(half);
        ((self.k * d).tanh() + self.t) / (self.t + self.t)
    }
}

impl Surrogate {
    /// `sg` at the threshold (`x = 0`), the surrogate's peak.
    pub fn peak(&self, v_th: f64) -> f64 {
        match *self {
            Surrogate::Sigmoid { alpha } => alpha / 4.0,
            Surrogate::Atan { alpha } => alpha / 2.0,
            Surrogate::Triangle { alpha } | Surrogate::Rectangle { alpha } => alpha,
            Surrogate::DspikeTanh { k } => k / (2.0 * (k / 2.0).tanh() * v_th),
        }
    }

    /// `sg(x)`, the surrogate derivative at `x = V - v_th`, in f64: the definition the fused
    /// kernels evaluate (the tensor-op fallback composes the same formula of tensor operations).
    pub fn grad(&self, v_th: f64, x: f64) -> f64 {
        self.visit(v_th, At(x)).0
    }

    /// The smooth spike `F(x)` at `x = V - v_th` whose derivative is [`grad`](Self::grad), in
    /// f64, as the fused kernels evaluate it.
    pub fn primitive(&self, v_th: f64, x: f64) -> f64 {
        self.visit(v_th, At(x)).1
    }

    /// Calls `visitor` with this surrogate as a concrete [`SpikeShape`] in the float `F`.
    pub(crate) fn visit<F: KernelFloat, V: ShapeVisitor<F>>(
        &self,
        v_th: f64,
        visitor: V,
    ) -> V::Output {
        let f = |x: f64| F::from(x).expect("f64 constant fits the kernel float");
        let p = self.parameter();
        match self {
            Surrogate::Sigmoid { .. } => visitor.visit(SigmoidShape { a: f(p) }),
            Surrogate::Atan { .. } => visitor.visit(AtanShape {
                half_a: f(p / 2.0),
                c: f(std::f64::consts::FRAC_PI_2 * p),
            }),
            Surrogate::Triangle { .. } => visitor.visit(TriangleShape {
                a: f(p),
                a2: f(p * p),
            }),
            Surrogate::Rectangle { .. } => visitor.visit(RectangleShape {
                a: f(p),
                half_width: f(1.0 / (2.0 * p)),
            }),
            Surrogate::DspikeTanh { .. } => visitor.visit(DspikeShape {
                k: f(p),
                inv_v_th: f(1.0 / v_th),
                t: f((p / 2.0).tanh()),
                peak: f(self.peak(v_th)),
            }),
        }
    }
}

/// `(grad, primitive)` of a surrogate at one point, in f64.
struct At(f64);

impl ShapeVisitor<f64> for At {
    type Output = (f64, f64);
    fn visit<S: SpikeShape<f64>>(self, s: S) -> (f64, f64) {
        (s.grad(self.0), s.primitive(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grad(s: Surrogate, v_th: f64, x: f64) -> f64 {
        s.grad(v_th, x)
    }
    fn primitive(s: Surrogate, v_th: f64, x: f64) -> f64 {
        s.primitive(v_th, x)
    }

    #[test]
    fn grad_is_the_derivative_of_the_primitive() {
        for s in Surrogate::all() {
            for v_th in [1.0, 0.5] {
                let h = 1e-6;
                for i in -300..300 {
                    let x = i as f64 * 0.0101 + 0.003;
                    let fd = (primitive(s, v_th, x + h) - primitive(s, v_th, x - h)) / (2.0 * h);
                    let g = grad(s, v_th, x);
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
        for s in Surrogate::all() {
            assert!((primitive(s, 1.0, 0.0) - 0.5).abs() < 1e-12, "{s}");
            assert!(primitive(s, 1.0, -50.0) < 0.02, "{s}");
            assert!(primitive(s, 1.0, 50.0) > 0.98, "{s}");
            assert!((grad(s, 1.0, 0.0) - s.peak(1.0)).abs() < 1e-12, "{s}");
        }
    }

    #[test]
    fn known_values() {
        let sig = Surrogate::Sigmoid { alpha: 4.0 };
        assert!((grad(sig, 1.0, 0.0) - 1.0).abs() < 1e-12);
        assert!((grad(Surrogate::Atan { alpha: 2.0 }, 1.0, 0.0) - 1.0).abs() < 1e-12);
        let tri = Surrogate::Triangle { alpha: 1.0 };
        assert!((grad(tri, 1.0, 0.25) - 0.75).abs() < 1e-12);
        assert_eq!(grad(tri, 1.0, 1.5), 0.0);
        let rect = Surrogate::Rectangle { alpha: 1.0 };
        assert_eq!(grad(rect, 1.0, 0.49), 1.0);
        assert_eq!(grad(rect, 1.0, 0.51), 0.0);
        let ds = Surrogate::DspikeTanh { k: 3.0 };
        assert!((grad(ds, 1.0, 0.0) - 3.0 / (2.0 * 1.5f64.tanh())).abs() < 1e-12);
        assert_eq!(grad(ds, 1.0, 0.6), 0.0);
    }

    #[test]
    fn fast_f32_exp_is_accurate() {
        let mut worst = 0.0f64;
        for i in -8700..8800 {
            let x = i as f32 * 0.01 + 0.003;
            let (got, want) = (x.exp_vec() as f64, (x as f64).exp());
            assert!(got.is_finite(), "exp({x}) = {got}");
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 3e-7, "relative error {worst:e}");
    }

    #[test]
    fn names_are_those_serde_writes() {
        assert_eq!(Surrogate::all().count(), Surrogate::NAMES.len());
        for (s, name) in Surrogate::all().zip(Surrogate::NAMES) {
            assert_eq!(s.name(), *name);
            assert_eq!(s.to_string(), format!("{name}:{}", s.parameter()));
            assert_eq!(s.to_string().parse::<Surrogate>(), Ok(s));
            assert_eq!(name.parse::<Surrogate>(), Ok(s));
            let json = serde_json::to_value(s).unwrap();
            assert_eq!(json["kind"], *name);
            assert_eq!(serde_json::from_value::<Surrogate>(json).unwrap(), s);
        }
        assert_eq!(Surrogate::default(), Surrogate::Sigmoid { alpha: 4.0 });
        let err = "gauss".parse::<Surrogate>().unwrap_err().to_string();
        assert!(Surrogate::NAMES.iter().all(|n| err.contains(n)), "{err}");
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
                .to_string()
                .contains("unknown surrogate")
        );
        assert!(matches!(
            "atan:-1".parse::<Surrogate>(),
            Err(SurrogateError::Parameter { name: "atan", .. })
        ));
        assert!("atan:x".parse::<Surrogate>().is_err());
    }
}
