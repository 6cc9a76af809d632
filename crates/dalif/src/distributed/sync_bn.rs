//! Batch-norm statistics over all ranks (`sync_bn`): the per-channel sums of every rank's
//! part of the batch are added over the ranks in the forward pass, and the gradients that
//! reach those sums are added over the ranks in the backward pass, so every rank normalises
//! with the statistics of the whole batch and back-propagates what every rank's loss owes
//! them (PyTorch's `SyncBatchNorm`).
//!
//! The sum over ranks is one backend operation with its own autodiff node ([`RankSumBackend`]);
//! its collective is the one [`SyncBatchNorm::enter`] names for the process (a backend with an
//! execution stream runs the operation on the stream's thread, not the one that trains).

use super::Collective;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::{Autodiff, Backend, TensorMetadata, backend_extension, tensor::FloatTensor};
use burn::tensor::{Tensor, TensorData};
use std::sync::{Arc, Mutex};

/// The ranks whose batch statistics the batch norms of this process share.
static WORLD: Mutex<Option<Arc<dyn Collective>>> = Mutex::new(None);

/// While alive, the batch norms trained in this process normalise with statistics over the
/// ranks of its collective (training steps of [`Trainer::fit`](crate::training::Trainer::fit)
/// with `sync_bn`): one such training at a time per process.
pub struct SyncBatchNorm(());

impl SyncBatchNorm {
    /// Shares batch statistics over `world` until the guard is dropped.
    pub fn enter(world: Arc<dyn Collective>) -> Self {
        *WORLD.lock().unwrap_or_else(|p| p.into_inner()) = Some(world);
        Self(())
    }

    /// The collective the batch norms share statistics over, if any.
    pub fn world() -> Option<Arc<dyn Collective>> {
        WORLD.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for SyncBatchNorm {
    fn drop(&mut self) {
        *WORLD.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Backends that add a tensor over the ranks. Every backend stages it through host memory:
/// the tensors are a few per-channel sums.
#[backend_extension(
    Flex,
    Cube: cfg(any(feature = "wgpu", feature = "cuda")),
    Fusion: cfg(any(feature = "wgpu", feature = "cuda")),
    LibTorch: cfg(feature = "tch"),
    Autodiff
)]
pub trait RankSumBackend: Backend {
    /// `x` summed element-wise over the ranks of [`SyncBatchNorm::world`].
    #[fusion(meta = |x| x.clone())]
    fn rank_sum(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let world = SyncBatchNorm::world()
            .expect("batch statistics are summed over ranks only inside SyncBatchNorm::enter");
        let (device, shape, dtype) = (x.device(), x.shape(), x.dtype());
        let data = burn_std::future::block_on(Self::float_into_data(x))
            .expect("a batch-norm statistic can be read");
        let mut values = data
            .convert::<f64>()
            .try_into_vec::<f64>()
            .expect("f64 after the conversion");
        world.sum_f64(&mut values);
        Self::float_from_data(TensorData::new(values, shape).convert_dtype(dtype), &device)
    }
}

impl RankSumBackend for burn::backend::Flex {}

#[cfg(any(feature = "wgpu", feature = "cuda"))]
impl RankSumBackend for burn_cubecl::CubeBackend {}

#[cfg(feature = "tch")]
impl RankSumBackend for burn::backend::LibTorch {}

/// The sum's graph node: the gradient of every rank's loss with respect to the sum reaches
/// every rank's summand, so the backward sums the incoming gradients over the ranks too.
#[derive(Debug)]
struct RankSumBackward;

impl<B: RankSumBackend> Backward<B, 1> for RankSumBackward {
    type State = ();

    fn backward(self, ops: Ops<(), 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        if let Some(node) = parent {
            grads.register::<B>(node.id, B::rank_sum(grad));
        }
    }
}

impl<B: RankSumBackend, C: CheckpointStrategy> RankSumBackend for Autodiff<B, C> {
    fn rank_sum(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let out = B::rank_sum(x.primitive().clone());
        // Compute-bound: a recomputation in the backward would be a collective the other
        // ranks do not make.
        RankSumBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateless(out)
    }
}

/// `x` summed over the ranks of [`SyncBatchNorm::world`], with gradients summed back.
pub(crate) fn rank_sum(x: Tensor<1>) -> Tensor<1> {
    Tensor::from_dispatch(<burn::backend::Dispatch as RankSumBackend>::rank_sum(
        x.into_dispatch(),
    ))
}

/// Batch statistics over all ranks of `z = [N, C, H, W]`: `(mean, variance)` per channel,
/// the variance biased (divided by the count), as burn's batch norm has them.
pub(crate) fn batch_stats(z: &Tensor<4>) -> (Tensor<1>, Tensor<1>) {
    let [n, c, h, w] = z.dims();
    let device = z.device();
    let sum = |t: Tensor<4>| t.sum_dim(0).sum_dim(2).sum_dim(3).reshape([c]);
    let count = Tensor::<1>::from_data(TensorData::new(vec![(n * h * w) as f32], [1]), &device);
    let local = Tensor::cat(
        vec![sum(z.clone()), sum(z.clone().powi_scalar(2)), count],
        0,
    );
    let total = rank_sum(local);
    let count = total.clone().slice(2 * c..2 * c + 1).detach();
    let mean = total.clone().slice(0..c) / count.clone();
    let square = total.slice(c..2 * c) / count;
    let variance = (square - mean.clone().powi_scalar(2)).clamp_min(0.0);
    (mean, variance)
}
