// burn 0.22 marks its libtorch backend deprecated; dalif keeps it as the `tch` option (the
// fastest CPU convolutions measured), so the warning is expected when that feature is on.
#![cfg_attr(feature = "tch", allow(deprecated))]

//! The DA-LIF recurrence over all T steps as one backend operation with a hand-written
//! backward (a burn backend extension).
//!
//! Forward, for every neuron i, with `H[-1] = 0`:
//!
//! ```text
//! V[t] = beta * H[t-1] + alpha * X[t]
//! S[t] = Heaviside(V[t] - v_th)              (or the surrogate's primitive, SpikeFunction::Smooth)
//! H[t] = V[t] (1 - S[t])   hard reset        H[t] = V[t] - v_th S[t]   soft reset
//! ```
//!
//! Backward (BPTT), `delta[t] = dL/dV[t]`, `eps[t] = dL/dH[t] = beta delta[t+1]`, `eps[T-1] = 0`:
//!
//! ```text
//! delta[t]  = dL/dS[t] sg(V[t]) + eps[t] dH/dV[t]
//! dH/dV     = (1 - S) - V sg(V)   hard       = 1 - v_th sg(V)   soft   (sg term dropped if detached)
//! dL/dX[t]  = alpha delta[t]
//! dL/dalpha = sum_t sum_i delta[t]_i X[t]_i        dL/dbeta = sum_t sum_i delta[t]_i H[t-1]_i
//! ```
//!
//! `alpha` and `beta` are tensors of one element (per layer) or `C` elements (per channel, for
//! dimension 2 of `[T, B, C, ...]`), so that autodiff carries their gradients on to the
//! learnable weights behind them. Only `V` (and the input `X`, which the caller holds anyway)
//! is kept for the backward pass: `S` and `H[t-1]` are recomputed from `V`.
//!
//! Implementations: a fused multi-threaded kernel on the `Flex` CPU backend (`cpu.rs`), CubeCL
//! kernels for every CubeCL runtime, wgpu and CUDA among them (`cube.rs`; under burn's
//! operation fusion the call is one opaque operation of the stream), a composition of tensor
//! operations for every other backend ([`fallback`]), and the autodiff wrapper that records
//! one graph node whose backward calls `dalif_backward` (`autodiff.rs`).

mod autodiff;
pub(crate) mod cpu;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
mod cube;
pub mod fallback;

use super::{Reset, SpikeFunction, Surrogate};
use burn::backend::{Backend, ExtensionType, backend_extension, tensor::FloatTensor};
use burn::tensor::Tensor;

/// The non-tensor settings of the operation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DaLifOp {
    /// The firing threshold `v_th`.
    pub v_th: f64,
    /// `H[t] = V[t] (1 - S[t])` (hard) or `V[t] - v_th S[t]` (soft).
    pub reset: Reset,
    /// Drops the surrogate term of `dH/dV` (the spike inside the reset is a constant).
    pub detach_reset: bool,
    /// The surrogate `sg` standing for `dS/dV` in the backward pass.
    pub surrogate: Surrogate,
    /// The forward spike: Heaviside, or the surrogate's smooth primitive.
    pub spike: SpikeFunction,
}

/// The forward outputs: spikes `S` and the pre-reset membrane potential `V`, both `[T, ...]`.
#[derive(ExtensionType, Debug, Clone)]
#[extension_type(fusion: cfg(any(feature = "wgpu", feature = "cuda")))]
pub struct DaLifTrace<B: Backend> {
    /// `S`, `[T, ...]`.
    pub spikes: FloatTensor<B>,
    /// `V` before reset, `[T, ...]`: all the backward pass keeps.
    pub potential: FloatTensor<B>,
}

/// Backends that run the DA-LIF operation. `Flex` and the CubeCL backend have fused kernels;
/// every other backend uses the default bodies, built from tensor operations.
#[backend_extension(
    Flex,
    Cube: cfg(any(feature = "wgpu", feature = "cuda")),
    Fusion: cfg(any(feature = "wgpu", feature = "cuda")),
    LibTorch: cfg(feature = "tch"),
    Autodiff
)]
pub trait DaLifBackend: Backend {
    /// Forward over all T steps. `x`: `[T, ...]`; `alpha`, `beta`: `[1]` or `[C]`.
    #[fusion(meta = |x, _, _, _| DaLifTraceMetadata { spikes: x.clone(), potential: x.clone() })]
    fn dalif_forward(
        x: FloatTensor<Self>,
        alpha: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        op: DaLifOp,
    ) -> DaLifTrace<Self> {
        fallback::forward::<Self>(x, alpha, beta, op)
    }

    /// Backward over all T steps from `grad_spikes = dL/dS`, given the forward's input `x`
    /// and potential `v`. Returns `(dL/dX, dL/dalpha, dL/dbeta)`.
    #[fusion(meta = |x, _, alpha, beta, _, _| (x.clone(), alpha.clone(), beta.clone()))]
    fn dalif_backward(
        x: FloatTensor<Self>,
        potential: FloatTensor<Self>,
        alpha: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        grad_spikes: FloatTensor<Self>,
        op: DaLifOp,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        fallback::backward::<Self>(x, potential, alpha, beta, grad_spikes, op)
    }
}

impl DaLifBackend for burn::backend::Flex {
    fn dalif_forward(
        x: FloatTensor<Self>,
        alpha: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        op: DaLifOp,
    ) -> DaLifTrace<Self> {
        cpu::forward(x, alpha, beta, op)
    }

    fn dalif_backward(
        x: FloatTensor<Self>,
        potential: FloatTensor<Self>,
        alpha: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        grad_spikes: FloatTensor<Self>,
        op: DaLifOp,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        cpu::backward(x, potential, alpha, beta, grad_spikes, op)
    }
}

#[cfg(any(feature = "wgpu", feature = "cuda"))]
impl DaLifBackend for burn_cubecl::CubeBackend {
    fn dalif_forward(
        x: FloatTensor<Self>,
        alpha: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        op: DaLifOp,
    ) -> DaLifTrace<Self> {
        cube::forward(x, alpha, beta, op)
    }

    fn dalif_backward(
        x: FloatTensor<Self>,
        potential: FloatTensor<Self>,
        alpha: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        grad_spikes: FloatTensor<Self>,
        op: DaLifOp,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        cube::backward(x, potential, alpha, beta, grad_spikes, op)
    }
}

#[cfg(feature = "tch")]
impl DaLifBackend for burn::backend::LibTorch {}

/// The gradients `(dL/dX, dL/dalpha, dL/dbeta)` of one backward call.
pub type DaLifGrads<B> = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

/// `dalif_forward(x, alpha, beta, op)` of one implementation.
pub type ForwardFn<B> =
    fn(FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, DaLifOp) -> DaLifTrace<B>;

/// `dalif_backward(x, potential, alpha, beta, grad_spikes, op)` of one implementation.
pub type BackwardFn<B> = fn(
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    DaLifOp,
) -> DaLifGrads<B>;

/// One implementation of the operation on backend `B` (its own or the tensor-op fallback),
/// called at the primitive level: what tests and benchmarks compare.
#[derive(Clone, Copy)]
pub struct Implementation<B: Backend> {
    /// `fused` (the backend's own) or `fallback`.
    pub name: &'static str,
    /// The forward pass.
    pub forward: ForwardFn<B>,
    /// The backward pass.
    pub backward: BackwardFn<B>,
}

impl<B: DaLifBackend> Implementation<B> {
    /// The backend's own implementation (the fused kernel on Flex).
    pub fn native() -> Self {
        Self {
            name: "fused",
            forward: B::dalif_forward,
            backward: B::dalif_backward,
        }
    }

    /// The composition of tensor operations.
    pub fn fallback() -> Self {
        Self {
            name: "fallback",
            forward: fallback::forward::<B>,
            backward: fallback::backward::<B>,
        }
    }

    /// Forward, then backward from the upstream gradient `grad_spikes` (= `S.backward(G)`).
    pub fn forward_backward(
        &self,
        x: &FloatTensor<B>,
        alpha: &FloatTensor<B>,
        beta: &FloatTensor<B>,
        grad_spikes: &FloatTensor<B>,
        op: DaLifOp,
    ) -> (DaLifTrace<B>, DaLifGrads<B>) {
        let out = (self.forward)(x.clone(), alpha.clone(), beta.clone(), op);
        let grads = (self.backward)(
            x.clone(),
            out.potential.clone(),
            alpha.clone(),
            beta.clone(),
            grad_spikes.clone(),
            op,
        );
        (out, grads)
    }
}

/// Runs the operation on any device: returns `(spikes, potential)`, both shaped like `x`.
/// Gradients flow from the spikes to `x`, `alpha` and `beta`; the potential is a record
/// without gradient.
pub fn dalif<const D: usize>(
    x: Tensor<D>,
    alpha: Tensor<1>,
    beta: Tensor<1>,
    op: DaLifOp,
) -> (Tensor<D>, Tensor<D>) {
    let out = <burn::backend::Dispatch as DaLifBackend>::dalif_forward(
        x.into_dispatch(),
        alpha.into_dispatch(),
        beta.into_dispatch(),
        op,
    );
    (
        Tensor::from_dispatch(out.spikes),
        Tensor::from_dispatch(out.potential),
    )
}
