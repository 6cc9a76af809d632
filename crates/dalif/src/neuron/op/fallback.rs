//! The DA-LIF operation composed of backend tensor operations: it runs on every backend
//! (GPU, libtorch, any dtype) and is the reference the fused kernels are tested against.
//! The recurrence is a loop over T of element-wise operations on `[P, C, Q]` views of each
//! step (`C` decay channels, broadcast against `[1, C, 1]` decays).

use super::{DaLifOp, DaLifTrace};
use crate::neuron::{Reset, SpikeFunction, Surrogate};
use burn::backend::get_or_init_device_settings;
use burn::backend::{Backend, TensorMetadata, tensor::FloatTensor};
use burn::tensor::{Shape, Slice};

/// The number of decay channels for an input of `shape` with `num_decays` decays: 1 (per
/// layer) or the size of dimension 2 of `[T, B, C, ...]`.
///
/// # Panics
/// If `num_decays` is neither 1 nor `shape[2]` (the layer checks this before calling).
pub(crate) fn decay_channels(shape: &Shape, num_decays: usize) -> usize {
    if num_decays == 1 {
        return 1;
    }
    assert!(
        shape.len() >= 3 && shape[2] == num_decays,
        "{num_decays} per-channel decays do not fit input shape {shape:?} (channels are dimension 2 of [T, B, C, ...])"
    );
    num_decays
}

/// A float primitive with the few operations the recurrence needs, so the equations read
/// as equations.
struct Ft<B: Backend>(FloatTensor<B>);

impl<B: Backend> Clone for Ft<B> {
    fn clone(&self) -> Self {
        Ft(self.0.clone())
    }
}

impl<B: Backend> Ft<B> {
    fn add(self, o: Self) -> Self {
        Ft(B::float_add(self.0, o.0))
    }
    fn sub(self, o: Self) -> Self {
        Ft(B::float_sub(self.0, o.0))
    }
    fn mul(self, o: Self) -> Self {
        Ft(B::float_mul(self.0, o.0))
    }
    fn adds(self, s: f64) -> Self {
        Ft(B::float_add_scalar(self.0, s.into()))
    }
    fn muls(self, s: f64) -> Self {
        Ft(B::float_mul_scalar(self.0, s.into()))
    }
    fn clamp(self, lo: f64, hi: f64) -> Self {
        Ft(B::float_clamp(self.0, lo.into(), hi.into()))
    }
    /// `1 - self`.
    fn one_minus(self) -> Self {
        self.muls(-1.0).adds(1.0)
    }
    fn abs(self) -> Self {
        Ft(B::float_abs(self.0))
    }
    fn recip(self) -> Self {
        Ft(B::float_recip(self.0))
    }
    fn exp(self) -> Self {
        Ft(B::float_exp(self.0))
    }
    fn reshape(self, dims: &[usize]) -> Self {
        Ft(B::float_reshape(self.0, Shape::from(dims.to_vec())))
    }
    fn dtype(&self) -> burn::tensor::FloatDType {
        self.0.dtype().into()
    }
    fn bool_dtype(&self) -> burn::tensor::BoolDType {
        get_or_init_device_settings::<B>(&self.0.device()).bool_dtype
    }
    /// `1` where `self >= v`, `0` elsewhere.
    fn ge(self, v: f64) -> Self {
        let (dt, bt) = (self.dtype(), self.bool_dtype());
        Ft(B::bool_into_float(
            B::float_greater_equal_elem(self.0, v.into(), bt),
            dt,
        ))
    }
    /// `1` where `self <= v`, `0` elsewhere.
    fn le(self, v: f64) -> Self {
        let (dt, bt) = (self.dtype(), self.bool_dtype());
        Ft(B::bool_into_float(
            B::float_lower_equal_elem(self.0, v.into(), bt),
            dt,
        ))
    }
    /// `1` where `self < v`, `0` elsewhere.
    fn lt(self, v: f64) -> Self {
        let (dt, bt) = (self.dtype(), self.bool_dtype());
        Ft(B::bool_into_float(
            B::float_lower_elem(self.0, v.into(), bt),
            dt,
        ))
    }
    /// `self`, with NaN wherever `of` is NaN.
    fn nan_where_nan(self, of: &Self) -> Self {
        let mask = B::float_is_nan(of.0.clone(), self.bool_dtype());
        Ft(B::float_mask_fill(self.0, mask, f64::NAN.into()))
    }
}

/// `S = spike(V)`.
fn spike<B: Backend>(v: &Ft<B>, op: &DaLifOp) -> Ft<B> {
    let x = v.clone().adds(-op.v_th);
    match op.spike {
        SpikeFunction::Heaviside => x.ge(0.0).nan_where_nan(v),
        SpikeFunction::Smooth => primitive(x, op),
    }
}

/// `H = reset(V, S)`.
fn reset<B: Backend>(v: Ft<B>, s: Ft<B>, op: &DaLifOp) -> Ft<B> {
    match op.reset {
        Reset::Hard => v.mul(s.one_minus()),
        Reset::Soft => v.sub(s.muls(op.v_th)),
    }
}

/// The surrogate's smooth primitive at `x = V - v_th`: [`Surrogate::primitive`] composed of
/// tensor operations (`tests/neuron_kernel.rs` checks the two agree for every surrogate).
fn primitive<B: Backend>(x: Ft<B>, op: &DaLifOp) -> Ft<B> {
    let p = op.surrogate.parameter();
    match op.surrogate {
        Surrogate::Sigmoid { .. } => x.muls(-p).exp().adds(1.0).recip(),
        Surrogate::Atan { .. } => Ft(B::float_atan(x.muls(std::f64::consts::FRAC_PI_2 * p).0))
            .muls(std::f64::consts::FRAC_1_PI)
            .adds(0.5),
        Surrogate::Triangle { .. } => {
            let xc = x.clamp(-1.0 / p, 1.0 / p);
            let quad = xc.clone().mul(xc.clone().abs()).muls(-0.5 * p * p);
            xc.muls(p).add(quad).adds(0.5)
        }
        Surrogate::Rectangle { .. } => {
            let w = 1.0 / (2.0 * p);
            x.clamp(-w, w).muls(p).adds(0.5)
        }
        Surrogate::DspikeTanh { .. } => {
            let t = (p / 2.0).tanh();
            let d = x.muls(1.0 / op.v_th).clamp(-0.5, 0.5);
            Ft(B::float_tanh(d.muls(p).0)).adds(t).muls(1.0 / (2.0 * t))
        }
    }
}

/// `sg(x)`, the surrogate derivative at `x = V - v_th`: [`Surrogate::grad`] composed of tensor
/// operations (`tests/neuron_kernel.rs` checks the two agree for every surrogate).
fn surrogate_grad<B: Backend>(x: Ft<B>, op: &DaLifOp) -> Ft<B> {
    let p = op.surrogate.parameter();
    match op.surrogate {
        Surrogate::Sigmoid { .. } => {
            let s = x.muls(-p).exp().adds(1.0).recip();
            s.clone().mul(s.one_minus()).muls(p)
        }
        Surrogate::Atan { .. } => {
            let z = x.muls(std::f64::consts::FRAC_PI_2 * p);
            z.clone().mul(z).adds(1.0).recip().muls(p / 2.0)
        }
        Surrogate::Triangle { .. } => Ft(B::float_clamp_min(
            x.abs().muls(-p * p).adds(p).0,
            0.0.into(),
        )),
        Surrogate::Rectangle { .. } => x.abs().lt(1.0 / (2.0 * p)).muls(p),
        Surrogate::DspikeTanh { .. } => {
            let d = x.muls(1.0 / op.v_th);
            let inside = d.clone().abs().le(0.5);
            let t = Ft(B::float_tanh(d.muls(p).0));
            t.clone()
                .mul(t)
                .one_minus()
                .mul(inside)
                .muls(op.surrogate.peak(op.v_th))
        }
    }
}

/// The `[T, P, C, Q]` view of an input and the `[1, C, 1]` view of its decays.
fn views(shape: &Shape, num_decays: usize) -> ([usize; 4], [usize; 3]) {
    let steps = shape[0];
    let n = shape.num_elements() / steps;
    let c = decay_channels(shape, num_decays);
    let q: usize = if c == 1 {
        n
    } else {
        shape.iter().skip(3).product()
    };
    ([steps, n / (c * q), c, q], [1, c, 1])
}

fn step<B: Backend>(x: &Ft<B>, t: usize, d: [usize; 4]) -> Ft<B> {
    let slices = [
        Slice::from(t..t + 1),
        Slice::full(),
        Slice::full(),
        Slice::full(),
    ];
    Ft(B::float_slice(x.0.clone(), &slices)).reshape(&d[1..])
}

fn stack<B: Backend>(steps: Vec<Ft<B>>, d: [usize; 4], shape: Shape) -> FloatTensor<B> {
    let row = [1, d[1], d[2], d[3]];
    let rows = steps.into_iter().map(|s| s.reshape(&row).0).collect();
    B::float_reshape(B::float_cat(rows, 0), shape)
}

/// The forward recurrence, one step at a time (see [the module](super) for the equations):
/// `V[t] = beta H[t-1] + alpha X[t]`, `S[t] = Heaviside(V[t] - v_th)`, then the reset.
/// `x`: `[T, ...]`; `alpha`, `beta`: `[1]` or `[C]` for dimension 2 of `[T, B, C, ...]`.
pub fn forward<B: Backend>(
    x: FloatTensor<B>,
    alpha: FloatTensor<B>,
    beta: FloatTensor<B>,
    op: DaLifOp,
) -> DaLifTrace<B> {
    let shape = x.shape();
    if shape.num_elements() == 0 {
        return DaLifTrace {
            spikes: x.clone(),
            potential: x,
        };
    }
    let (d, dc) = views(&shape, alpha.shape().num_elements());
    let x = Ft::<B>(x).reshape(&d);
    let (alpha, beta) = (Ft::<B>(alpha).reshape(&dc), Ft::<B>(beta).reshape(&dc));
    let (mut spikes, mut potentials) = (Vec::new(), Vec::new());
    let mut h: Option<Ft<B>> = None;
    for t in 0..d[0] {
        let input = step(&x, t, d).mul(alpha.clone());
        let v = match h {
            Some(h) => h.mul(beta.clone()).add(input),
            None => input,
        };
        let s = spike(&v, &op);
        h = Some(reset(v.clone(), s.clone(), &op));
        spikes.push(s);
        potentials.push(v);
    }
    DaLifTrace {
        spikes: stack(spikes, d, shape.clone()),
        potential: stack(potentials, d, shape),
    }
}

/// BPTT from `grad_spikes = dL/dS` back to `(dL/dX, dL/dalpha, dL/dbeta)`, from the forward's
/// input `x` and potential `V` (see [the module](super) for the equations); `S` and `H[t-1]`
/// are recomputed from `V`.
pub fn backward<B: Backend>(
    x: FloatTensor<B>,
    potential: FloatTensor<B>,
    alpha: FloatTensor<B>,
    beta: FloatTensor<B>,
    grad_spikes: FloatTensor<B>,
    op: DaLifOp,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let shape = x.shape();
    let (alpha_shape, beta_shape) = (alpha.shape(), beta.shape());
    if shape.num_elements() == 0 {
        let zeros = |s: Shape| B::float_zeros(s, &x.device(), x.dtype().into());
        return (x.clone(), zeros(alpha_shape), zeros(beta_shape));
    }
    let (d, dc) = views(&shape, alpha.shape().num_elements());
    let x = Ft::<B>(x).reshape(&d);
    let v = Ft::<B>(potential).reshape(&d);
    let gs = Ft::<B>(grad_spikes).reshape(&d);
    let (alpha, beta) = (Ft::<B>(alpha).reshape(&dc), Ft::<B>(beta).reshape(&dc));
    let sum_pq = |t: Ft<B>| Ft::<B>(B::float_sum_dims(t.0, &[0, 2]));

    let mut grad_x = Vec::with_capacity(d[0]);
    let mut grad_alpha: Option<Ft<B>> = None;
    let mut grad_beta: Option<Ft<B>> = None;
    let mut carry: Option<Ft<B>> = None;
    let accumulate =
        |acc: Option<Ft<B>>, term: Ft<B>| Some(acc.map_or(term.clone(), |a| a.add(term)));
    for t in (0..d[0]).rev() {
        let vt = step(&v, t, d);
        let sg = surrogate_grad(vt.clone().adds(-op.v_th), &op);
        let mut delta = step(&gs, t, d).mul(sg.clone());
        if let Some(carry) = carry {
            let dhdv = match (op.reset, op.detach_reset) {
                (Reset::Hard, false) => spike(&vt, &op).one_minus().sub(vt.mul(sg)),
                (Reset::Hard, true) => spike(&vt, &op).one_minus(),
                (Reset::Soft, false) => sg.muls(op.v_th).one_minus(),
                (Reset::Soft, true) => vt.muls(0.0).adds(1.0),
            };
            delta = delta.add(carry.mul(dhdv));
        }
        grad_alpha = accumulate(grad_alpha, sum_pq(delta.clone().mul(step(&x, t, d))));
        if t > 0 {
            let vp = step(&v, t - 1, d);
            let hp = reset(vp.clone(), spike(&vp, &op), &op);
            grad_beta = accumulate(grad_beta, sum_pq(delta.clone().mul(hp)));
        }
        grad_x.push(delta.clone().mul(alpha.clone()));
        carry = Some(delta.mul(beta.clone()));
    }
    grad_x.reverse();
    let grad_beta = grad_beta.unwrap_or_else(|| grad_alpha.clone().unwrap().muls(0.0));
    (
        stack(grad_x, d, shape),
        B::float_reshape(grad_alpha.unwrap().0, alpha_shape),
        B::float_reshape(grad_beta.0, beta_shape),
    )
}
