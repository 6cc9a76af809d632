//! The fused DA-LIF kernel for the `Flex` CPU backend.
//!
//! One pass over t = 0..T-1 per neuron, neurons split into fixed-size blocks that run on
//! rayon's pool (the one Flex uses). The forward writes `S` and `V` and nothing else; the
//! backward recomputes `S[t]` and `H[t-1]` from `V` and keeps one `dL/dH` carry per neuron of
//! the block. Block boundaries do not depend on the number of threads and partial sums are
//! reduced in block order, so results are bit-identical whatever the thread count.

use super::{DaLifOp, DaLifTrace, fallback};
use crate::neuron::surrogate::SurrogateKernel;
use crate::neuron::{Reset, SpikeFunction};
use burn::backend::flex::FlexTensor;
use burn::backend::{DType, Flex, TensorMetadata};
use burn::tensor::{Shape, TensorData};
use num_traits::Float;
use rayon::prelude::*;

/// Neurons per block: T rows of this many elements of X, V, S (and dL/dS, dL/dX) stay in L2.
const BLOCK: usize = 2048;

/// Element types the kernel runs on; other dtypes take the tensor-op fallback.
trait KernelFloat: Float + bytemuck::Pod + burn::tensor::Element + Send + Sync {}
impl KernelFloat for f32 {}
impl KernelFloat for f64 {}

pub(super) fn forward(
    x: FlexTensor,
    alpha: FlexTensor,
    beta: FlexTensor,
    op: DaLifOp,
) -> DaLifTrace<Flex> {
    match x.dtype() {
        DType::F32 => forward_typed::<f32>(x, alpha, beta, op),
        DType::F64 => forward_typed::<f64>(x, alpha, beta, op),
        _ => fallback::forward::<Flex>(x, alpha, beta, op),
    }
}

pub(super) fn backward(
    x: FlexTensor,
    potential: FlexTensor,
    alpha: FlexTensor,
    beta: FlexTensor,
    grad_spikes: FlexTensor,
    op: DaLifOp,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    match x.dtype() {
        DType::F32 => backward_typed::<f32>(x, potential, alpha, beta, grad_spikes, op),
        DType::F64 => backward_typed::<f64>(x, potential, alpha, beta, grad_spikes, op),
        _ => fallback::backward::<Flex>(x, potential, alpha, beta, grad_spikes, op),
    }
}

/// How the neurons of one time step map to decay channels: element `i` of a step uses
/// channel `(i / inner) % channels`.
#[derive(Clone, Copy)]
struct Channels {
    channels: usize,
    inner: usize,
}

impl Channels {
    fn of(shape: &Shape, num_decays: usize) -> Self {
        let channels = fallback::decay_channels(shape, num_decays);
        let inner = if channels == 1 {
            usize::MAX
        } else {
            shape.iter().skip(3).product()
        };
        Self { channels, inner }
    }

    /// Splits the neurons `start..start + len` into runs that share one channel.
    fn runs(self, start: usize, len: usize) -> impl Iterator<Item = (usize, usize, usize)> {
        let mut i = start;
        let end = start + len;
        std::iter::from_fn(move || {
            if i >= end {
                return None;
            }
            if self.channels == 1 {
                let run = (0, i - start, end - i);
                i = end;
                return Some(run);
            }
            let plane = i / self.inner;
            let run_end = end.min((plane + 1) * self.inner);
            let run = (plane % self.channels, i - start, run_end - i);
            i = run_end;
            Some(run)
        })
    }
}

fn contiguous<E: KernelFloat>(t: &FlexTensor) -> std::borrow::Cow<'_, [E]> {
    match t.as_slice::<E>() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(t.to_contiguous().as_slice::<E>().unwrap().to_vec()),
    }
}

fn decays<E: KernelFloat>(t: &FlexTensor) -> Vec<E> {
    t.clone()
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .expect("decays convert to f64")
        .into_iter()
        .map(|v| E::from(v).expect("decay fits the kernel float"))
        .collect()
}

fn tensor<E: KernelFloat>(data: Vec<E>, shape: Shape) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape))
}

/// Splits a `[T, n]` buffer into per-block lists of T row pieces, so blocks own disjoint
/// memory and run in parallel without unsafe code.
fn blocks_of<E>(buf: &mut [E], n: usize) -> Vec<Vec<&mut [E]>> {
    let mut blocks: Vec<Vec<&mut [E]>> = (0..n.div_ceil(BLOCK)).map(|_| Vec::new()).collect();
    if n == 0 {
        return blocks;
    }
    for row in buf.chunks_mut(n) {
        for (b, piece) in row.chunks_mut(BLOCK).enumerate() {
            blocks[b].push(piece);
        }
    }
    blocks
}

/// The spike and the post-reset state for a potential `v`, shared by both passes.
#[derive(Clone, Copy)]
struct Dynamics<E> {
    v_th: E,
    soft: bool,
    smooth: bool,
    sg: SurrogateKernel<E>,
}

impl<E: KernelFloat> Dynamics<E> {
    fn new(op: &DaLifOp) -> Self {
        Self {
            v_th: E::from(op.v_th).unwrap(),
            soft: op.reset == Reset::Soft,
            smooth: op.spike == SpikeFunction::Smooth,
            sg: SurrogateKernel::new(op.surrogate, op.v_th),
        }
    }

    /// `S = [V >= v_th]` (NaN stays NaN: a NaN input never passes as a silent 0 or 1).
    #[inline(always)]
    fn spike(&self, v: E) -> E {
        if self.smooth {
            self.sg.primitive(v - self.v_th)
        } else if v >= self.v_th {
            E::one()
        } else if v.is_nan() {
            v
        } else {
            E::zero()
        }
    }

    #[inline(always)]
    fn reset(&self, v: E, s: E) -> E {
        if self.soft {
            v - self.v_th * s
        } else {
            v * (E::one() - s)
        }
    }
}

fn forward_typed<E: KernelFloat>(
    x: FlexTensor,
    alpha: FlexTensor,
    beta: FlexTensor,
    op: DaLifOp,
) -> DaLifTrace<Flex> {
    let shape = x.shape();
    let steps = shape.first().copied().unwrap_or(0);
    let n = shape.num_elements() / steps.max(1);
    let ch = Channels::of(&shape, alpha.shape().num_elements());
    let (alpha, beta) = (decays::<E>(&alpha), decays::<E>(&beta));
    let x = contiguous::<E>(&x);
    let dy = Dynamics::<E>::new(&op);

    let mut spikes = vec![E::zero(); shape.num_elements()];
    let mut potential = vec![E::zero(); shape.num_elements()];
    blocks_of(&mut spikes, n)
        .into_par_iter()
        .zip(blocks_of(&mut potential, n))
        .enumerate()
        .for_each(|(b, (mut s_rows, mut v_rows))| {
            let start = b * BLOCK;
            for (c, off, len) in ch.runs(start, s_rows.first().map_or(0, |r| r.len())) {
                let (a, be) = (alpha[c], beta[c]);
                for t in 0..steps {
                    let xs = &x[t * n + start + off..][..len];
                    let (done, rest) = v_rows.split_at_mut(t);
                    let v_out = &mut rest[0][off..off + len];
                    let s_out = &mut s_rows[t][off..off + len];
                    if t == 0 {
                        for j in 0..len {
                            let v = a * xs[j];
                            v_out[j] = v;
                            s_out[j] = dy.spike(v);
                        }
                    } else {
                        let v_prev = &done[t - 1][off..off + len];
                        for j in 0..len {
                            let vp = v_prev[j];
                            let v = be * dy.reset(vp, dy.spike(vp)) + a * xs[j];
                            v_out[j] = v;
                            s_out[j] = dy.spike(v);
                        }
                    }
                }
            }
        });
    DaLifTrace {
        spikes: tensor(spikes, shape.clone()),
        potential: tensor(potential, shape),
    }
}

fn backward_typed<E: KernelFloat>(
    x: FlexTensor,
    potential: FlexTensor,
    alpha_t: FlexTensor,
    beta_t: FlexTensor,
    grad_spikes: FlexTensor,
    op: DaLifOp,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let shape = x.shape();
    let steps = shape.first().copied().unwrap_or(0);
    let n = shape.num_elements() / steps.max(1);
    let ch = Channels::of(&shape, alpha_t.shape().num_elements());
    let (alpha, beta) = (decays::<E>(&alpha_t), decays::<E>(&beta_t));
    let x = contiguous::<E>(&x);
    let v = contiguous::<E>(&potential);
    let gs = contiguous::<E>(&grad_spikes);
    let dy = Dynamics::<E>::new(&op);
    let detach = op.detach_reset;

    let mut grad_x = vec![E::zero(); shape.num_elements()];
    // Per block: dL/dalpha and dL/dbeta per channel, summed in f64.
    let partial: Vec<Vec<f64>> = blocks_of(&mut grad_x, n)
        .into_par_iter()
        .enumerate()
        .map(|(b, mut gx_rows)| {
            let start = b * BLOCK;
            let mut sums = vec![0.0f64; 2 * ch.channels];
            let mut carry = [E::zero(); BLOCK];
            for (c, off, len) in ch.runs(start, gx_rows.first().map_or(0, |r| r.len())) {
                let (a, be) = (alpha[c], beta[c]);
                let carry = &mut carry[..len];
                carry.fill(E::zero());
                let (mut ga, mut gb) = (0.0f64, 0.0f64);
                for t in (0..steps).rev() {
                    let row = t * n + start + off;
                    let (vs, xs, gss) = (&v[row..][..len], &x[row..][..len], &gs[row..][..len]);
                    let gx = &mut gx_rows[t][off..off + len];
                    let (mut ga_t, mut gb_t) = (E::zero(), E::zero());
                    for j in 0..len {
                        let vj = vs[j];
                        let sg = dy.sg.grad(vj - dy.v_th);
                        let dhdv = match (dy.soft, detach) {
                            (false, false) => E::one() - dy.spike(vj) - vj * sg,
                            (false, true) => E::one() - dy.spike(vj),
                            (true, false) => E::one() - dy.v_th * sg,
                            (true, true) => E::one(),
                        };
                        let delta = gss[j] * sg + carry[j] * dhdv;
                        gx[j] = a * delta;
                        ga_t = ga_t + delta * xs[j];
                        carry[j] = be * delta;
                        if t > 0 {
                            let vp = v[row - n + j];
                            gb_t = gb_t + delta * dy.reset(vp, dy.spike(vp));
                        }
                    }
                    ga += num_traits::ToPrimitive::to_f64(&ga_t).unwrap();
                    gb += num_traits::ToPrimitive::to_f64(&gb_t).unwrap();
                }
                sums[c] += ga;
                sums[ch.channels + c] += gb;
            }
            sums
        })
        .collect();

    let mut totals = vec![0.0f64; 2 * ch.channels];
    for sums in &partial {
        for (t, s) in totals.iter_mut().zip(sums) {
            *t += s;
        }
    }
    let (ga, gb) = totals.split_at(ch.channels);
    let as_e = |s: &[f64]| s.iter().map(|&v| E::from(v).unwrap()).collect::<Vec<E>>();
    (
        tensor(grad_x, shape),
        tensor(as_e(ga), alpha_t.shape()),
        tensor(as_e(gb), beta_t.shape()),
    )
}
