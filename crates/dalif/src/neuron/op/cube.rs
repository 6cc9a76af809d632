//! The DA-LIF operation as CubeCL kernels, for every CubeCL runtime (wgpu, CUDA, ROCm): the
//! equations of the module above, one thread per neuron walking t with the state in registers.
//!
//! The forward writes `S` and `V` and nothing else; the backward reads `X`, `V` and `dL/dS`,
//! recomputes `S[t]` and `H[t-1]` from `V`, and carries `dL/dH` in a register, as the CPU
//! kernel does. The decay gradients are sums over every neuron of a channel. Each thread
//! leaves its neuron's two sums in a buffer, and a two-stage tree reduction adds them in an
//! order fixed by the shape alone (no atomics): the same inputs give bit-identical gradients
//! on every run, which floating-point atomics (SpikingJelly's kernels) cannot promise.

use super::{DaLifOp, DaLifTrace, fallback};
use crate::neuron::{Reset, SpikeFunction, Surrogate};
use burn::backend::TensorMetadata;
use burn::tensor::{DType, Shape};
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;
use cubecl::{CubeCount, CubeDim, calculate_cube_count_elemwise};

/// Threads per cube, in every kernel (and the size of the reduction's shared memory).
const CUBE: usize = 256;
/// Elements each cube of the first reduction stage adds, at least.
const CHUNK: usize = 16 * CUBE;
/// At most this many partial sums per channel after the first stage.
const MAX_PARTIALS: usize = 1024;

/// The surrogate family, a compile-time parameter of the kernels (its constants are not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Sigmoid,
    Atan,
    Triangle,
    Rectangle,
    Dspike,
}

/// The compile-time modes: one kernel is compiled per combination that runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Mode {
    family: Family,
    soft: bool,
    smooth: bool,
    detach: bool,
}

/// `sg(x)` at `x = V - v_th`, with the family's constants `p` as [`constants`] lays them out.
#[cube]
fn surrogate<F: Float>(x: F, p0: F, p1: F, p2: F, #[comptime] family: Family) -> F {
    let one = F::new(1.0);
    let zero = F::new(0.0);
    match family {
        Family::Sigmoid => {
            let s = one / (one + (-p0 * x).exp());
            p0 * s * (one - s)
        }
        Family::Atan => {
            let z = p1 * x;
            p0 / (one + z * z)
        }
        Family::Triangle => F::max(p0 - p1 * x.abs(), zero),
        Family::Rectangle => select(x.abs() < p1, p0, zero),
        Family::Dspike => {
            let d = x * p1;
            let t = (p0 * d).tanh();
            select(d.abs() <= F::new(0.5), p2 * (one - t * t), zero)
        }
    }
}

/// The smooth spike `F(x)` whose derivative is [`surrogate`].
#[cube]
fn primitive<F: Float>(x: F, p0: F, p1: F, p3: F, #[comptime] family: Family) -> F {
    let one = F::new(1.0);
    let half = F::new(0.5);
    match family {
        Family::Sigmoid => one / (one + (-p0 * x).exp()),
        Family::Atan => (p1 * x).atan() * p3 + half,
        Family::Triangle => {
            let w = one / p0;
            let xc = F::min(F::max(x, -w), w);
            half + p0 * xc - half * p1 * xc * xc.abs()
        }
        Family::Rectangle => {
            let xc = F::min(F::max(x, -p1), p1);
            half + p0 * xc
        }
        Family::Dspike => {
            let d = F::min(F::max(x * p1, -half), half);
            ((p0 * d).tanh() + p3) / (p3 + p3)
        }
    }
}

/// `S = [V >= v_th]`, NaN kept (a NaN input never passes as a silent 0 or 1), or the smooth
/// spike.
#[cube]
fn spike<F: Float>(v: F, v_th: F, p0: F, p1: F, p3: F, #[comptime] mode: Mode) -> F {
    if comptime!(mode.smooth) {
        primitive::<F>(v - v_th, p0, p1, p3, mode.family)
    } else {
        let one = F::new(1.0);
        // clamp_nan(v, 1, 1) is 1, or NaN for a NaN v.
        select(v >= v_th, one, F::new(0.0)) * clamp_nan(v, one, one)
    }
}

#[cube]
fn reset<F: Float>(v: F, s: F, v_th: F, #[comptime] mode: Mode) -> F {
    if comptime!(mode.soft) {
        v - v_th * s
    } else {
        v * (F::new(1.0) - s)
    }
}

/// Where a kernel's neuron sits: `[T, neurons]`, decay channel `(i / inner) % channels` (per
/// layer, `inner` is the whole step and `channels` 1).
#[derive(CubeLaunch, CubeType)]
struct Layout {
    steps: usize,
    neurons: usize,
    inner: usize,
    channels: usize,
}

/// The threshold and the surrogate's constants (see [`constants`]).
#[derive(CubeLaunch, CubeType)]
struct Constants {
    v_th: InputScalar,
    p0: InputScalar,
    p1: InputScalar,
    p2: InputScalar,
    p3: InputScalar,
}

/// The decay channel of neuron `i`.
#[cube]
fn channel_of(i: usize, layout: &Layout) -> usize {
    (i / layout.inner) % layout.channels
}

#[cube(launch)]
fn forward_kernel<F: Float>(
    x: &Tensor<F>,
    alpha: &Tensor<F>,
    beta: &Tensor<F>,
    spikes: &mut Tensor<F>,
    potential: &mut Tensor<F>,
    layout: &Layout,
    k: &Constants,
    #[comptime] mode: Mode,
    #[define(F)] _dtype: ElemType,
) {
    let i = ABSOLUTE_POS;
    let neurons = layout.neurons;
    if i >= neurons {
        terminate!();
    }
    let v_th = k.v_th.get::<F>();
    let p0 = k.p0.get::<F>();
    let p1 = k.p1.get::<F>();
    let p3 = k.p3.get::<F>();
    let c = channel_of(i, layout);
    let a = alpha[c];
    let b = beta[c];
    let mut h = F::new(0.0);
    for t in 0..layout.steps {
        let at = t * neurons + i;
        let v = b * h + a * x[at];
        let s = spike::<F>(v, v_th, p0, p1, p3, mode);
        potential[at] = v;
        spikes[at] = s;
        h = reset::<F>(v, s, v_th, mode);
    }
}

#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn backward_kernel<F: Float>(
    x: &Tensor<F>,
    potential: &Tensor<F>,
    grad_spikes: &Tensor<F>,
    alpha: &Tensor<F>,
    beta: &Tensor<F>,
    grad_x: &mut Tensor<F>,
    sums_alpha: &mut Tensor<F>,
    sums_beta: &mut Tensor<F>,
    layout: &Layout,
    k: &Constants,
    #[comptime] mode: Mode,
    #[define(F)] _dtype: ElemType,
) {
    let i = ABSOLUTE_POS;
    let neurons = layout.neurons;
    let steps = layout.steps;
    if i >= neurons {
        terminate!();
    }
    let v_th = k.v_th.get::<F>();
    let p0 = k.p0.get::<F>();
    let p1 = k.p1.get::<F>();
    let p2 = k.p2.get::<F>();
    let p3 = k.p3.get::<F>();
    let c = channel_of(i, layout);
    let a = alpha[c];
    let b = beta[c];
    let one = F::new(1.0);
    // dL/dH[t], carried back from step t+1.
    let mut carry = F::new(0.0);
    let mut sum_a = F::new(0.0);
    let mut sum_b = F::new(0.0);
    for r in 0..steps {
        let t = steps - 1 - r;
        let at = t * neurons + i;
        let v = potential[at];
        let sg = surrogate::<F>(v - v_th, p0, p1, p2, mode.family);
        let dhdv = if comptime!(mode.soft) {
            if comptime!(mode.detach) {
                one
            } else {
                one - v_th * sg
            }
        } else {
            let s = spike::<F>(v, v_th, p0, p1, p3, mode);
            if comptime!(mode.detach) {
                one - s
            } else {
                one - s - v * sg
            }
        };
        let delta = grad_spikes[at] * sg + carry * dhdv;
        carry = b * delta;
        grad_x[at] = a * delta;
        sum_a += delta * x[at];
        if t > 0 {
            let vp = potential[at - neurons];
            let sp = spike::<F>(vp, v_th, p0, p1, p3, mode);
            sum_b += delta * reset::<F>(vp, sp, v_th, mode);
        }
    }
    sums_alpha[i] = sum_a;
    sums_beta[i] = sum_b;
}

/// One stage of the per-channel sums. `values` is `[outer, channels, inner]` flattened;
/// cube `(g, c)` adds the elements `g * chunk ..` of channel `c`'s `outer * inner` in a fixed
/// order (each thread a strided run, then a tree in shared memory) into `out[c * groups + g]`.
#[cube(launch)]
fn channel_sums_kernel<F: Float>(
    values: &Tensor<F>,
    out: &mut Tensor<F>,
    inner: usize,
    channels: usize,
    per_channel: usize,
    chunk: usize,
    #[define(F)] _dtype: ElemType,
) {
    let g = CUBE_POS_X as usize;
    let c = CUBE_POS_Y as usize;
    let u = UNIT_POS_X as usize;
    let start = g * chunk;
    let end = usize::min(start + chunk, per_channel);
    let mut acc = F::new(0.0);
    let mut k = start + u;
    while k < end {
        acc += values[((k / inner) * channels + c) * inner + k % inner];
        k += CUBE;
    }
    let mut tree = Shared::new_slice(CUBE);
    tree[u] = acc;
    sync_cube();
    let mut half = CUBE_DIM_X as usize / 2;
    while half > 0 {
        if u < half {
            tree[u] = tree[u] + tree[u + half];
        }
        sync_cube();
        half /= 2;
    }
    if u == 0 {
        out[c * CUBE_COUNT_X as usize + g] = tree[0];
    }
}

/// The surrogate's family and constants: `p0..p2` for `sg`, `p3` for the primitive (atan's
/// `1/pi`, Dspike's `tanh(k/2)`; Dspike's `p2` is the peak), all in the tensors' precision.
fn constants(surrogate: Surrogate, v_th: f64) -> (Family, [f64; 4]) {
    let p = surrogate.parameter();
    match surrogate {
        Surrogate::Sigmoid { .. } => (Family::Sigmoid, [p, 0.0, 0.0, 0.0]),
        Surrogate::Atan { .. } => (
            Family::Atan,
            [
                p / 2.0,
                std::f64::consts::FRAC_PI_2 * p,
                0.0,
                std::f64::consts::FRAC_1_PI,
            ],
        ),
        Surrogate::Triangle { .. } => (Family::Triangle, [p, p * p, 0.0, 0.0]),
        Surrogate::Rectangle { .. } => (Family::Rectangle, [p, 0.5 / p, 0.0, 0.0]),
        Surrogate::DspikeTanh { .. } => (
            Family::Dspike,
            [p, 1.0 / v_th, surrogate.peak(v_th), (p / 2.0).tanh()],
        ),
    }
}

/// What every launch shares: the layout and the scalars.
struct Launch {
    shape: Shape,
    dtype: DType,
    steps: usize,
    neurons: usize,
    inner: usize,
    channels: usize,
    mode: Mode,
    params: [f64; 4],
    v_th: f64,
}

impl Launch {
    fn of(x: &CubeTensor, num_decays: usize, op: DaLifOp) -> Self {
        let shape = x.shape();
        let steps = shape.first().copied().unwrap_or(0);
        let neurons = shape.num_elements() / steps.max(1);
        let channels = fallback::decay_channels(&shape, num_decays);
        let inner = if channels == 1 {
            neurons.max(1)
        } else {
            shape.iter().skip(3).product()
        };
        let (family, params) = constants(op.surrogate, op.v_th);
        Self {
            dtype: x.dtype,
            shape,
            steps,
            neurons,
            inner,
            channels,
            mode: Mode {
                family,
                soft: op.reset == Reset::Soft,
                smooth: op.spike == SpikeFunction::Smooth,
                detach: op.detach_reset,
            },
            params,
            v_th: op.v_th,
        }
    }

    fn scalar(&self, v: f64) -> InputScalar {
        InputScalar::new(v, burn::backend::cubecl::dtype_to_storage_type(self.dtype))
    }

    fn layout(&self) -> LayoutLaunch {
        LayoutLaunch::new(self.steps, self.neurons, self.inner, self.channels)
    }

    fn constants(&self) -> ConstantsLaunch {
        let [p0, p1, p2, p3] = self.params.map(|p| self.scalar(p));
        ConstantsLaunch::new(self.scalar(self.v_th), p0, p1, p2, p3)
    }

    fn empty(&self, like: &CubeTensor, shape: Shape) -> CubeTensor {
        empty_device_contiguous_dtype(like.client.clone(), like.device.clone(), shape, self.dtype)
    }

    fn elementwise(&self, like: &CubeTensor) -> (CubeCount, CubeDim) {
        let dim = CubeDim::new_1d(CUBE as u32);
        (
            calculate_cube_count_elemwise(&like.client, self.neurons, dim),
            dim,
        )
    }
}

fn is_kernel_float(dtype: DType) -> bool {
    matches!(dtype, DType::F32 | DType::F64 | DType::F16 | DType::BF16)
}

pub(super) fn forward(
    x: CubeTensor,
    alpha: CubeTensor,
    beta: CubeTensor,
    op: DaLifOp,
) -> DaLifTrace<CubeBackend> {
    if !is_kernel_float(x.dtype) {
        return fallback::forward::<CubeBackend>(x, alpha, beta, op);
    }
    let at = Launch::of(&x, alpha.shape().num_elements(), op);
    let (x, alpha, beta) = (
        into_contiguous(x),
        into_contiguous(alpha),
        into_contiguous(beta),
    );
    let spikes = at.empty(&x, at.shape.clone());
    let potential = at.empty(&x, at.shape.clone());
    if at.neurons > 0 {
        let (count, dim) = at.elementwise(&x);
        forward_kernel::launch(
            &x.client.clone(),
            count,
            dim,
            x.into_tensor_arg(),
            alpha.into_tensor_arg(),
            beta.into_tensor_arg(),
            spikes.clone().into_tensor_arg(),
            potential.clone().into_tensor_arg(),
            at.layout(),
            at.constants(),
            at.mode,
            burn::backend::cubecl::dtype_to_storage_type(at.dtype),
        );
    }
    DaLifTrace { spikes, potential }
}

pub(super) fn backward(
    x: CubeTensor,
    potential: CubeTensor,
    alpha: CubeTensor,
    beta: CubeTensor,
    grad_spikes: CubeTensor,
    op: DaLifOp,
) -> (CubeTensor, CubeTensor, CubeTensor) {
    if !is_kernel_float(x.dtype) {
        return fallback::backward::<CubeBackend>(x, potential, alpha, beta, grad_spikes, op);
    }
    let at = Launch::of(&x, alpha.shape().num_elements(), op);
    let decay_shape = alpha.shape();
    let [x, potential, grad_spikes, alpha, beta] =
        [x, potential, grad_spikes, alpha, beta].map(into_contiguous);
    let grad_x = at.empty(&x, at.shape.clone());
    let sums_alpha = at.empty(&x, Shape::new([at.neurons]));
    let sums_beta = at.empty(&x, Shape::new([at.neurons]));
    if at.neurons > 0 {
        let (count, dim) = at.elementwise(&x);
        backward_kernel::launch(
            &x.client.clone(),
            count,
            dim,
            x.into_tensor_arg(),
            potential.into_tensor_arg(),
            grad_spikes.into_tensor_arg(),
            alpha.into_tensor_arg(),
            beta.into_tensor_arg(),
            grad_x.clone().into_tensor_arg(),
            sums_alpha.clone().into_tensor_arg(),
            sums_beta.clone().into_tensor_arg(),
            at.layout(),
            at.constants(),
            at.mode,
            burn::backend::cubecl::dtype_to_storage_type(at.dtype),
        );
    }
    let grad_alpha = channel_sums(&at, sums_alpha, decay_shape.clone());
    let grad_beta = channel_sums(&at, sums_beta, decay_shape);
    (grad_x, grad_alpha, grad_beta)
}

/// Sums the per-neuron `values` (`[outer, channels, inner]`) per channel, in two stages of
/// [`channel_sums_kernel`]: chunks of each channel to at most [`MAX_PARTIALS`] partial sums,
/// then the partials to one value. The order of additions depends only on the shape.
fn channel_sums(at: &Launch, values: CubeTensor, decay_shape: Shape) -> CubeTensor {
    let per_channel = at.neurons / at.channels;
    let first = stage(at, values, at.inner, per_channel);
    let groups = first.shape().num_elements() / at.channels;
    let total = stage(at, first, groups, groups);
    burn_cubecl::ops::reshape(total, decay_shape)
}

/// One launch of [`channel_sums_kernel`] over `values` laid out `[outer, channels, inner]`
/// with `per_channel = outer * inner`; returns `[channels * groups]`.
fn stage(at: &Launch, values: CubeTensor, inner: usize, per_channel: usize) -> CubeTensor {
    let chunk = CHUNK.max(per_channel.div_ceil(MAX_PARTIALS));
    let groups = per_channel.div_ceil(chunk).max(1);
    let out = at.empty(&values, Shape::new([at.channels * groups]));
    channel_sums_kernel::launch(
        &values.client.clone(),
        CubeCount::Static(groups as u32, at.channels as u32, 1),
        CubeDim::new_1d(CUBE as u32),
        values.into_tensor_arg(),
        out.clone().into_tensor_arg(),
        inner.max(1),
        at.channels,
        per_channel,
        chunk,
        burn::backend::cubecl::dtype_to_storage_type(at.dtype),
    );
    out
}
