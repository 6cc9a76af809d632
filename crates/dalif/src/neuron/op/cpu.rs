//! The fused DA-LIF kernel for the `Flex` CPU backend.
//!
//! One pass over t = 0..T-1 per neuron, neurons split into fixed-size blocks that run on
//! rayon's pool (the one Flex uses). The forward writes `S` and `V` and nothing else; the
//! backward recomputes `S[t]` and `H[t-1]` from `V` and keeps one `dL/dH` carry per neuron of
//! the block. Block boundaries do not depend on the number of threads and partial sums are
//! reduced in block order, so results are bit-identical whatever the thread count.
//!
//! The inner loops are compiled once per surrogate family and reset/spike mode (no branch per
//! element) and are written so that the compiler vectorises them.

use super::{DaLifOp, DaLifTrace, fallback};
use crate::neuron::surrogate::{KernelFloat, ShapeVisitor, SpikeShape};
use crate::neuron::{Reset, SpikeFunction};
use burn::backend::flex::FlexTensor;
use burn::backend::{DType, Flex, TensorMetadata};
use burn::tensor::{Shape, TensorData};
use rayon::prelude::*;
use std::borrow::Cow;
use std::mem::MaybeUninit;

/// Neurons per block: T rows of this many elements of X, V, S (and dL/dS, dL/dX) stay in L2.
const BLOCK: usize = 2048;
/// Accumulator lanes for the dL/dalpha and dL/dbeta sums (lets the sums vectorise).
const LANES: usize = 8;

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

    /// Splits the neurons `start..start + len` into runs `(channel, offset, len)` that share
    /// one channel; offsets are relative to `start`.
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

pub(crate) fn contiguous<E: KernelFloat>(t: &FlexTensor) -> Cow<'_, [E]> {
    match t.as_slice::<E>() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(t.to_contiguous().as_slice::<E>().unwrap().to_vec()),
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

pub(crate) fn tensor<E: KernelFloat>(data: Vec<E>, shape: Shape) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape))
}

/// Runs `fill` on the uninitialised storage of a new `Vec` of `len` elements.
///
/// `fill` must write every element; the kernels do (each block writes all T rows of all its
/// neurons), which saves the page-zeroing pass a `vec![0; len]` would cost.
fn filled<E, R>(len: usize, fill: impl FnOnce(&mut [MaybeUninit<E>]) -> R) -> (Vec<E>, R) {
    let mut v = Vec::with_capacity(len);
    let r = fill(&mut v.spare_capacity_mut()[..len]);
    // SAFETY: `fill` initialised all `len` elements (see above), and `len <= capacity`.
    unsafe { v.set_len(len) };
    (v, r)
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

/// The neuron's spike and reset for one surrogate `S`, with the modes as constants.
#[derive(Clone, Copy)]
struct Dynamics<E, S, const SOFT: bool, const SMOOTH: bool> {
    v_th: E,
    shape: S,
}

impl<E: KernelFloat, S: SpikeShape<E>, const SOFT: bool, const SMOOTH: bool>
    Dynamics<E, S, SOFT, SMOOTH>
{
    /// `S = [V >= v_th]` (NaN stays NaN: a NaN input never passes as a silent 0 or 1).
    #[inline(always)]
    fn spike(&self, v: E) -> E {
        if SMOOTH {
            return self.shape.primitive(v - self.v_th);
        }
        let s = if v >= self.v_th { E::one() } else { E::zero() };
        if v.is_nan() { v } else { s }
    }

    #[inline(always)]
    fn reset(&self, v: E, s: E) -> E {
        if SOFT {
            v - self.v_th * s
        } else {
            v * (E::one() - s)
        }
    }

    /// `H[t] = reset(V[t], S[t])`.
    #[inline(always)]
    fn state(&self, v: E) -> E {
        self.reset(v, self.spike(v))
    }
}

/// Runs `run` with the surrogate and the reset/spike modes as compile-time parameters.
trait Kernel<E: KernelFloat> {
    type Output;
    fn run<S: SpikeShape<E>, const SOFT: bool, const SMOOTH: bool>(
        self,
        dy: Dynamics<E, S, SOFT, SMOOTH>,
    ) -> Self::Output;
}

struct Specialise<K> {
    kernel: K,
    op: DaLifOp,
}

impl<E: KernelFloat, K: Kernel<E>> ShapeVisitor<E> for Specialise<K> {
    type Output = K::Output;
    fn visit<S: SpikeShape<E>>(self, shape: S) -> K::Output {
        let v_th = E::from(self.op.v_th).unwrap();
        match (self.op.reset, self.op.spike) {
            (Reset::Hard, SpikeFunction::Heaviside) => {
                self.kernel
                    .run(Dynamics::<E, S, false, false> { v_th, shape })
            }
            (Reset::Hard, SpikeFunction::Smooth) => self
                .kernel
                .run(Dynamics::<E, S, false, true> { v_th, shape }),
            (Reset::Soft, SpikeFunction::Heaviside) => {
                self.kernel
                    .run(Dynamics::<E, S, true, false> { v_th, shape })
            }
            (Reset::Soft, SpikeFunction::Smooth) => self
                .kernel
                .run(Dynamics::<E, S, true, true> { v_th, shape }),
        }
    }
}

fn specialised<E: KernelFloat, K: Kernel<E>>(kernel: K, op: DaLifOp) -> K::Output {
    op.surrogate.visit(op.v_th, Specialise { kernel, op })
}

/// The layout shared by both passes.
struct Layout {
    shape: Shape,
    steps: usize,
    /// Neurons per time step.
    n: usize,
    ch: Channels,
}

impl Layout {
    fn of(x: &FlexTensor, num_decays: usize) -> Self {
        let shape = x.shape();
        let steps = shape.first().copied().unwrap_or(0);
        let n = shape.num_elements() / steps.max(1);
        let ch = Channels::of(&shape, num_decays);
        Self {
            shape,
            steps,
            n,
            ch,
        }
    }
}

struct ForwardKernel<'a, E> {
    at: &'a Layout,
    x: &'a [E],
    alpha: &'a [E],
    beta: &'a [E],
}

impl<E: KernelFloat> Kernel<E> for ForwardKernel<'_, E> {
    type Output = (Vec<E>, Vec<E>);

    fn run<S: SpikeShape<E>, const SOFT: bool, const SMOOTH: bool>(
        self,
        dy: Dynamics<E, S, SOFT, SMOOTH>,
    ) -> Self::Output {
        let Layout { steps, n, .. } = *self.at;
        let total = steps * n;
        let (spikes, potential) = filled(total, |spikes| {
            filled(total, |potential| {
                blocks_of(spikes, n)
                    .into_par_iter()
                    .zip(blocks_of(potential, n))
                    .enumerate()
                    .for_each(|(b, (mut s_rows, mut v_rows))| {
                        let block = ForwardBlock {
                            k: &self,
                            dy,
                            start: b * BLOCK,
                        };
                        #[cfg(target_arch = "x86_64")]
                        match isa() {
                            // SAFETY: the CPU has these features (detected at run time).
                            Isa::Avx512 => {
                                return unsafe { block.run_avx512(&mut s_rows, &mut v_rows) };
                            }
                            Isa::Avx2 => {
                                return unsafe { block.run_avx2(&mut s_rows, &mut v_rows) };
                            }
                            Isa::Baseline => {}
                        }
                        block.run(&mut s_rows, &mut v_rows)
                    })
            })
            .0
        });
        (spikes, potential)
    }
}

/// One block of neurons of the forward pass.
struct ForwardBlock<'a, E, S, const SOFT: bool, const SMOOTH: bool> {
    k: &'a ForwardKernel<'a, E>,
    dy: Dynamics<E, S, SOFT, SMOOTH>,
    start: usize,
}

impl<E: KernelFloat, S: SpikeShape<E>, const SOFT: bool, const SMOOTH: bool>
    ForwardBlock<'_, E, S, SOFT, SMOOTH>
{
    #[inline(always)]
    fn run(&self, s_rows: &mut [&mut [MaybeUninit<E>]], v_rows: &mut [&mut [MaybeUninit<E>]]) {
        let Layout { steps, n, ch, .. } = *self.k.at;
        let (dy, start) = (self.dy, self.start);
        let block_len = s_rows.first().map_or(0, |r| r.len());
        // H[t-1] of every neuron of the block.
        let mut state = [E::zero(); BLOCK];
        for (c, off, len) in ch.runs(start, block_len) {
            let (a, be) = (self.k.alpha[c], self.k.beta[c]);
            let state = &mut state[..len];
            state.fill(E::zero());
            for t in 0..steps {
                let xs = &self.k.x[t * n + start + off..][..len];
                let v_out = &mut v_rows[t][off..off + len];
                let s_out = &mut s_rows[t][off..off + len];
                let outs = v_out.iter_mut().zip(s_out.iter_mut());
                for (((v, s), &x), h) in outs.zip(xs).zip(state.iter_mut()) {
                    let vt = be * *h + a * x;
                    let st = dy.spike(vt);
                    v.write(vt);
                    s.write(st);
                    *h = dy.reset(vt, st);
                }
            }
        }
    }

    /// [`run`](Self::run) compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn run_avx2(&self, s_rows: &mut [&mut [MaybeUninit<E>]], v_rows: &mut [&mut [MaybeUninit<E>]]) {
        self.run(s_rows, v_rows)
    }

    /// [`run`](Self::run) compiled for AVX-512.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    fn run_avx512(
        &self,
        s_rows: &mut [&mut [MaybeUninit<E>]],
        v_rows: &mut [&mut [MaybeUninit<E>]],
    ) {
        self.run(s_rows, v_rows)
    }
}

/// The instruction sets the kernels are built for on x86-64; the best one the CPU has runs.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(crate) enum Isa {
    Avx512,
    Avx2,
    Baseline,
}

/// The best [`Isa`] of this CPU (the feature tests are cached by the standard library).
#[cfg(target_arch = "x86_64")]
pub(crate) fn isa() -> Isa {
    use std::arch::is_x86_feature_detected as has;
    #[cfg(test)]
    match tests::FORCED_ISA.load(std::sync::atomic::Ordering::Relaxed) {
        tests::BASELINE => return Isa::Baseline,
        tests::AVX2 => return Isa::Avx2,
        tests::AVX512 => return Isa::Avx512,
        _ => {}
    }
    if has!("avx512f") && has!("avx512vl") && has!("avx2") && has!("fma") {
        Isa::Avx512
    } else if has!("avx2") && has!("fma") {
        Isa::Avx2
    } else {
        Isa::Baseline
    }
}

fn forward_typed<E: KernelFloat>(
    x: FlexTensor,
    alpha: FlexTensor,
    beta: FlexTensor,
    op: DaLifOp,
) -> DaLifTrace<Flex> {
    let at = Layout::of(&x, alpha.shape().num_elements());
    let (alpha, beta) = (decays::<E>(&alpha), decays::<E>(&beta));
    let x = contiguous::<E>(&x);
    let kernel = ForwardKernel {
        at: &at,
        x: &x,
        alpha: &alpha,
        beta: &beta,
    };
    let (spikes, potential) = specialised(kernel, op);
    DaLifTrace {
        spikes: tensor(spikes, at.shape.clone()),
        potential: tensor(potential, at.shape),
    }
}

struct BackwardKernel<'a, E> {
    at: &'a Layout,
    x: &'a [E],
    v: &'a [E],
    gs: &'a [E],
    alpha: &'a [E],
    beta: &'a [E],
    detach: bool,
}

/// `sum_j a[j] f(b[j])` in `LANES` independent partial sums (so the loop vectorises),
/// returned in f64.
#[inline(always)]
fn dot<E: KernelFloat>(a: &[E], b: &[E], f: impl Fn(E) -> E) -> f64 {
    let mut acc = [E::zero(); LANES];
    let (ca, ra) = a.as_chunks::<LANES>();
    let (cb, rb) = b.as_chunks::<LANES>();
    for (xa, xb) in ca.iter().zip(cb) {
        for k in 0..LANES {
            acc[k] = acc[k] + xa[k] * f(xb[k]);
        }
    }
    let tail = ra
        .iter()
        .zip(rb)
        .fold(E::zero(), |s, (&x, &y)| s + x * f(y));
    let sum = acc.iter().fold(tail, |s, &v| s + v);
    num_traits::ToPrimitive::to_f64(&sum).unwrap()
}

impl<E: KernelFloat> Kernel<E> for BackwardKernel<'_, E> {
    type Output = (Vec<E>, Vec<f64>);

    fn run<S: SpikeShape<E>, const SOFT: bool, const SMOOTH: bool>(
        self,
        dy: Dynamics<E, S, SOFT, SMOOTH>,
    ) -> Self::Output {
        let Layout { steps, n, ch, .. } = *self.at;
        // Per block: dL/dalpha and dL/dbeta per channel, summed in f64.
        let (grad_x, partial) = filled(steps * n, |grad_x| {
            blocks_of(grad_x, n)
                .into_par_iter()
                .enumerate()
                .map(|(b, mut gx_rows)| {
                    let block = BackwardBlock {
                        k: &self,
                        dy,
                        start: b * BLOCK,
                    };
                    #[cfg(target_arch = "x86_64")]
                    match isa() {
                        // SAFETY: the CPU has these features (detected at run time).
                        Isa::Avx512 => return unsafe { block.run_avx512(&mut gx_rows) },
                        Isa::Avx2 => return unsafe { block.run_avx2(&mut gx_rows) },
                        Isa::Baseline => {}
                    }
                    block.run(&mut gx_rows)
                })
                .collect::<Vec<Vec<f64>>>()
        });
        let mut totals = vec![0.0f64; 2 * ch.channels];
        for sums in &partial {
            for (t, s) in totals.iter_mut().zip(sums) {
                *t += s;
            }
        }
        (grad_x, totals)
    }
}

/// One block of neurons of the backward pass; returns its dL/dalpha and dL/dbeta sums.
struct BackwardBlock<'a, E, S, const SOFT: bool, const SMOOTH: bool> {
    k: &'a BackwardKernel<'a, E>,
    dy: Dynamics<E, S, SOFT, SMOOTH>,
    start: usize,
}

impl<E: KernelFloat, S: SpikeShape<E>, const SOFT: bool, const SMOOTH: bool>
    BackwardBlock<'_, E, S, SOFT, SMOOTH>
{
    #[inline(always)]
    fn run(&self, gx_rows: &mut [&mut [MaybeUninit<E>]]) -> Vec<f64> {
        let Layout { steps, n, ch, .. } = *self.k.at;
        let (dy, start, detach) = (self.dy, self.start, self.k.detach);
        let (v, x, gs) = (self.k.v, self.k.x, self.k.gs);
        let block_len = gx_rows.first().map_or(0, |r| r.len());
        let mut sums = vec![0.0f64; 2 * ch.channels];
        // dL/dH[t] carried back from step t+1, and dL/dV[t], per neuron.
        let (mut carry, mut delta) = ([E::zero(); BLOCK], [E::zero(); BLOCK]);
        for (c, off, len) in ch.runs(start, block_len) {
            let (a, be) = (self.k.alpha[c], self.k.beta[c]);
            let (carry, delta) = (&mut carry[..len], &mut delta[..len]);
            carry.fill(E::zero());
            for t in (0..steps).rev() {
                let row = t * n + start + off;
                let (vs, gss) = (&v[row..][..len], &gs[row..][..len]);
                let ins = vs.iter().zip(gss);
                for ((d, cy), (&vj, &gj)) in delta.iter_mut().zip(carry.iter_mut()).zip(ins) {
                    let sg = dy.shape.grad(vj - dy.v_th);
                    let dhdv = match (SOFT, detach) {
                        (false, false) => E::one() - dy.spike(vj) - vj * sg,
                        (false, true) => E::one() - dy.spike(vj),
                        (true, false) => E::one() - dy.v_th * sg,
                        (true, true) => E::one(),
                    };
                    *d = gj * sg + *cy * dhdv;
                    *cy = be * *d;
                }
                sums[c] += dot(delta, &x[row..][..len], |x| x);
                if t > 0 {
                    sums[ch.channels + c] += dot(delta, &v[row - n..][..len], |vp| dy.state(vp));
                }
                for (gx, &d) in gx_rows[t][off..off + len].iter_mut().zip(delta.iter()) {
                    gx.write(a * d);
                }
            }
        }
        sums
    }

    /// [`run`](Self::run) compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn run_avx2(&self, gx_rows: &mut [&mut [MaybeUninit<E>]]) -> Vec<f64> {
        self.run(gx_rows)
    }

    /// [`run`](Self::run) compiled for AVX-512.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    fn run_avx512(&self, gx_rows: &mut [&mut [MaybeUninit<E>]]) -> Vec<f64> {
        self.run(gx_rows)
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
    let at = Layout::of(&x, alpha_t.shape().num_elements());
    let (alpha, beta) = (decays::<E>(&alpha_t), decays::<E>(&beta_t));
    let (x, v, gs) = (
        contiguous::<E>(&x),
        contiguous::<E>(&potential),
        contiguous::<E>(&grad_spikes),
    );
    let kernel = BackwardKernel {
        at: &at,
        x: &x,
        v: &v,
        gs: &gs,
        alpha: &alpha,
        beta: &beta,
        detach: op.detach_reset,
    };
    let (grad_x, totals) = specialised(kernel, op);
    let (ga, gb) = totals.split_at(at.ch.channels);
    let as_e = |s: &[f64]| s.iter().map(|&v| E::from(v).unwrap()).collect::<Vec<E>>();
    (
        tensor(grad_x, at.shape),
        tensor(as_e(ga), alpha_t.shape()),
        tensor(as_e(gb), beta_t.shape()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neuron::Surrogate;
    use std::sync::atomic::{AtomicU8, Ordering};

    /// Makes `isa()` pick one build instead of the best one (the other tests give identical
    /// results with every build, so setting this while they run is harmless). Only builds the
    /// CPU has are ever forced.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(super) static FORCED_ISA: AtomicU8 = AtomicU8::new(AUTO);
    const AUTO: u8 = 0;
    pub(super) const BASELINE: u8 = 1;
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(super) const AVX2: u8 = 2;
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(super) const AVX512: u8 = 3;

    fn data(n: usize, seed: u32) -> Vec<f32> {
        // A small LCG: enough spread around the threshold to exercise every branch.
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 24) as f32 * 4.0 - 1.0
            })
            .collect()
    }

    fn read(t: &FlexTensor) -> Vec<f32> {
        t.clone().into_data().try_to_vec::<f32>().unwrap()
    }

    /// The SIMD builds this CPU can run, with their names; the ones it cannot run are named
    /// on stderr, so a machine without AVX2 does not pass by comparing the portable build with
    /// itself.
    fn simd_builds() -> Vec<(u8, &'static str)> {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            let avx2 = has!("avx2") && has!("fma");
            let avx512 = avx2 && has!("avx512f") && has!("avx512vl");
            let all = [(AVX2, "AVX2", avx2), (AVX512, "AVX-512", avx512)];
            for (_, name, _) in all.iter().filter(|b| !b.2) {
                eprintln!("SKIPPED: this CPU has no {name}; its build is not compared");
            }
            all.into_iter()
                .filter(|b| b.2)
                .map(|(isa, name, _)| (isa, name))
                .collect()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            eprintln!("SKIPPED: no SIMD builds outside x86-64; only the portable build runs");
            Vec::new()
        }
    }

    #[test]
    fn portable_and_simd_builds_give_identical_bits() {
        let builds = simd_builds();
        let shape = [5, 3, 4, 9, 11];
        let n: usize = shape.iter().product();
        let t = |d: Vec<f32>, s: &[usize]| FlexTensor::from_data(TensorData::new(d, s.to_vec()));
        let (x, g) = (t(data(n, 1), &shape), t(data(n, 2), &shape));
        let (a, b) = (
            t(vec![0.3, 0.6, 0.9, 1.2], &[4]),
            t(vec![0.5, 0.7, 0.2, 0.9], &[4]),
        );
        for surrogate in [
            Surrogate::Sigmoid { alpha: 4.0 },
            Surrogate::DspikeTanh { k: 3.0 },
        ] {
            for reset in [Reset::Hard, Reset::Soft] {
                let op = DaLifOp {
                    v_th: 1.0,
                    reset,
                    detach_reset: false,
                    surrogate,
                    spike: SpikeFunction::Heaviside,
                };
                let run = |isa: u8| {
                    FORCED_ISA.store(isa, Ordering::Relaxed);
                    let out = forward(x.clone(), a.clone(), b.clone(), op);
                    let (gx, ga, gb) = backward(
                        x.clone(),
                        out.potential.clone(),
                        a.clone(),
                        b.clone(),
                        g.clone(),
                        op,
                    );
                    FORCED_ISA.store(AUTO, Ordering::Relaxed);
                    [
                        read(&out.spikes),
                        read(&out.potential),
                        read(&gx),
                        read(&ga),
                        read(&gb),
                    ]
                };
                let portable = run(BASELINE);
                // The comparison means something only on outputs that are not all zero.
                let spikes: f32 = portable[0].iter().sum();
                assert!(spikes > 0.0 && spikes < n as f32, "{op:?}: {spikes} spikes");
                for values in &portable[2..] {
                    assert!(values.iter().any(|&v| v != 0.0), "{op:?}: zero gradient");
                }
                for &(isa, name) in &builds {
                    assert_eq!(run(isa), portable, "{name} vs portable, {op:?}");
                }
            }
        }
    }
}
