//! Data-parallel training over several processes (ranks), and series of runs spread over them.
//!
//! Every rank holds the whole network and reads its part of every batch (a [`Shard`]: the
//! batch of the single-process run cut into `N` contiguous parts). After the backward pass the
//! ranks sum their gradients, each weighted by its share of the batch,
//!
//! ```text
//! g = sum_r (b_r / B) g_r
//! ```
//!
//! with `g_r` the gradient of the mean loss over rank `r`'s `b_r` samples and `B = sum_r b_r`
//! the batch: `g` is the gradient of the mean loss over the whole batch, the single-process
//! gradient up to the order of the additions. Every rank then takes the same optimiser step
//! from the same weights, so the ranks never drift apart. Batch norms normalise with each
//! rank's own batch statistics, as PyTorch's DDP does; rank 0's running averages are handed to
//! all ranks at the end of every epoch. With `sync_bn` ([`SyncBatchNorm`]) they normalise with
//! the statistics of the whole batch instead.
//!
//! The transport is a [`Collective`]: [`Solo`] for one process, [`Mpi`] (feature `mpi`) for a
//! job launched by `mpirun` or Slurm's `srun`. The gradients go as one flat buffer per step,
//! staged through host memory.

#[cfg(feature = "mpi")]
mod mpi;
mod sync_bn;
#[cfg(feature = "mpi")]
pub use self::mpi::Mpi;
pub(crate) use sync_bn::batch_stats;
pub use sync_bn::{RankSumBackend, SyncBatchNorm};

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::{GradientsParams, OptimizerRecord};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device, Tensor, TensorData};
use dalif_data::Shard;

/// The operations data-parallel training needs from the processes of a job. Every rank must
/// make the same calls in the same order, as with MPI's collectives. Any thread may call
/// them, one at a time: backends with an execution stream (burn's fusion on wgpu and CUDA)
/// run the batch-statistics sums of [`SyncBatchNorm`] on the stream's thread.
pub trait Collective: Send + Sync {
    /// This process, from 0.
    fn rank(&self) -> usize;
    /// The processes of the job.
    fn size(&self) -> usize;
    /// Sums `values` element-wise over the ranks, in place: every rank ends with the sums.
    fn sum_f32(&self, values: &mut [f32]);
    /// Sums `values` element-wise over the ranks, in place.
    fn sum_f64(&self, values: &mut [f64]);
    /// Replaces `bytes` on every rank with rank 0's.
    fn broadcast(&self, bytes: &mut Vec<u8>);
    /// Ends every process of the job with `code`: for an error on one rank, which the others
    /// would otherwise wait for in their next collective.
    fn abort(&self, code: i32) -> !;

    /// This rank's part of every batch.
    fn shard(&self) -> Shard {
        Shard {
            rank: self.rank(),
            ranks: self.size(),
        }
    }

    /// Whether this rank writes what the job produces (run directories, tables, progress).
    fn is_root(&self) -> bool {
        self.rank() == 0
    }
}

/// One process: every collective is the identity.
#[derive(Clone, Copy, Debug, Default)]
pub struct Solo;

impl Collective for Solo {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn sum_f32(&self, _: &mut [f32]) {}
    fn sum_f64(&self, _: &mut [f64]) {}
    fn broadcast(&self, _: &mut Vec<u8>) {}
    fn abort(&self, code: i32) -> ! {
        std::process::exit(code)
    }
}

/// Rank 0's bytes, or its error message, on every rank. Rank 0 passes what it computed; the
/// others pass anything (it is ignored) and get rank 0's result, an error as
/// `"rank 0: {message}"`.
pub fn broadcast_result(
    world: &dyn Collective,
    result: Result<Vec<u8>, String>,
) -> Result<Vec<u8>, String> {
    let mut bytes = match &result {
        Ok(b) => [&[0u8][..], b].concat(),
        Err(m) => [&[1u8][..], m.as_bytes()].concat(),
    };
    world.broadcast(&mut bytes);
    if world.is_root() {
        return result;
    }
    match bytes.split_first() {
        Some((0, payload)) => Ok(payload.to_vec()),
        Some((_, message)) => Err(format!("rank 0: {}", String::from_utf8_lossy(message))),
        None => Err("rank 0 sent nothing".into()),
    }
}

/// Frames several byte strings as one, for one broadcast.
pub(crate) fn pack(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(&(p.len() as u64).to_le_bytes());
        out.extend_from_slice(p);
    }
    out
}

/// The byte strings [`pack`] framed.
pub(crate) fn unpack(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut parts = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes
            .split_first_chunk::<8>()
            .ok_or("a broadcast message is cut short")?;
        let len = u64::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return Err("a broadcast message is cut short".into());
        }
        parts.push(rest[..len].to_vec());
        bytes = &rest[len..];
    }
    Ok(parts)
}

/// The module with rank 0's parameters, running statistics and parameter ids on every rank.
/// The optimiser keys its state by parameter id: a rank that builds its own network passes
/// it through here before it makes its [`Trainer`](crate::training::Trainer).
pub fn broadcast_module<M: Module>(world: &dyn Collective, module: M) -> Result<M, String> {
    if world.size() == 1 {
        return Ok(module);
    }
    let mine = if world.is_root() {
        module_bytes(&module)
    } else {
        Ok(Vec::new())
    };
    let bytes = broadcast_result(world, mine)?;
    if world.is_root() {
        return Ok(module);
    }
    load_module(module, bytes)
}

/// A module's record as bytes, for a broadcast.
pub(crate) fn module_bytes<M: Module>(module: &M) -> Result<Vec<u8>, String> {
    module
        .clone()
        .into_record()
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| format!("cannot serialise the network: {e}"))
}

/// `module` with the record of [`module_bytes`] (rank 0's) loaded.
pub(crate) fn load_module<M: Module>(module: M, bytes: Vec<u8>) -> Result<M, String> {
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| format!("rank 0's network does not parse: {e}"))?;
    module
        .try_load_record(record)
        .map_err(|e| format!("rank 0's network does not fit this rank's: {e}"))
}

/// An optimiser record as bytes, for a broadcast.
pub(crate) fn optimizer_bytes(record: OptimizerRecord) -> Result<Vec<u8>, String> {
    record
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| format!("cannot serialise the optimizer state: {e}"))
}

/// An optimiser record from [`optimizer_bytes`].
pub(crate) fn optimizer_record(bytes: Vec<u8>) -> Result<OptimizerRecord, String> {
    OptimizerRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| format!("rank 0's optimizer state does not parse: {e}"))
}

/// One trainable parameter's place in the flat gradient buffer.
struct Slot {
    id: ParamId,
    shape: Vec<usize>,
    grad: Option<Tensor<1>>,
}

/// Takes every trainable parameter's gradient out of `grads`, flattened, in the module's order.
struct Flatten<'a> {
    grads: &'a mut GradientsParams,
    slots: Vec<Slot>,
}

impl ModuleVisitor for Flatten<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !param.is_require_grad() {
            return;
        }
        let shape = param.shape().to_vec();
        let numel = shape.iter().product::<usize>();
        let grad = self.grads.remove::<D>(param.id).map(|g| g.reshape([numel]));
        self.slots.push(Slot {
            id: param.id,
            shape,
            grad,
        });
    }
}

/// Registers flat gradients back under their parameters with their shapes.
fn register<const D: usize>(
    grads: &mut GradientsParams,
    id: ParamId,
    flat: Tensor<1>,
    s: &[usize],
) {
    let shape: [usize; D] = s.try_into().expect("the parameter's rank");
    grads.register::<D>(id, flat.reshape(shape));
}

/// The gradients of the whole batch: this rank's `grads` (those of its share of the batch's
/// mean loss, `(b_r / B)` times the mean over its `b_r` samples) summed over all ranks, as one
/// sum of one flat buffer. A parameter gets a gradient when some rank has one for it; a rank
/// with no samples in the batch passes empty `grads`. `device` is the model's (autodiff)
/// device.
pub fn sum_gradients<M: Module>(
    world: &dyn Collective,
    model: &M,
    mut grads: GradientsParams,
    device: &Device,
) -> GradientsParams {
    if world.size() == 1 {
        return grads;
    }
    let mut flatten = Flatten {
        grads: &mut grads,
        slots: Vec::new(),
    };
    model.visit(&mut flatten);
    let slots = flatten.slots;
    let inner = device.clone().without_autodiff();
    let total: usize = slots
        .iter()
        .map(|s| s.shape.iter().product::<usize>())
        .sum();
    let mut flat: Vec<f32> = if slots.iter().any(|s| s.grad.is_some()) {
        let parts = slots
            .iter()
            .map(|s| {
                s.grad
                    .clone()
                    .unwrap_or_else(|| Tensor::zeros([s.shape.iter().product::<usize>()], &inner))
            })
            .collect();
        Tensor::cat(parts, 0)
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("f32 after the conversion")
    } else {
        vec![0.0; total]
    };
    // How many ranks had a gradient for each parameter: one more value per parameter.
    flat.extend(slots.iter().map(|s| f32::from(u8::from(s.grad.is_some()))));
    world.sum_f32(&mut flat);
    let present = flat.split_off(total);
    let flat = Tensor::<1>::from_data(TensorData::new(flat, [total]), &inner);
    let mut out = GradientsParams::new();
    let mut offset = 0;
    for (slot, present) in slots.iter().zip(present) {
        let numel = slot.shape.iter().product::<usize>();
        if present > 0.0 {
            let part = flat.clone().slice(offset..offset + numel);
            match slot.shape.len() {
                1 => register::<1>(&mut out, slot.id, part, &slot.shape),
                2 => register::<2>(&mut out, slot.id, part, &slot.shape),
                3 => register::<3>(&mut out, slot.id, part, &slot.shape),
                4 => register::<4>(&mut out, slot.id, part, &slot.shape),
                5 => register::<5>(&mut out, slot.id, part, &slot.shape),
                r => panic!("parameters of rank {r} are not supported"),
            }
        }
        offset += numel;
    }
    out
}

/// Bytes of the trainable parameters' gradients one step sums: what each rank sends and
/// receives per step, before the ring all-reduce's factor `2 (N - 1) / N`.
pub fn gradient_bytes<M: Module>(model: &M) -> usize {
    struct Count(usize);
    impl ModuleVisitor for Count {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if param.is_require_grad() {
                self.0 += param.shape().num_elements() * 4;
            }
        }
    }
    let mut count = Count(0);
    model.visit(&mut count);
    count.0
}

/// Which of `count` independent jobs (variants of an ablation, points of a sweep) this rank
/// runs: every `size`-th from its rank, so the costly ones spread when they come in order.
pub fn my_jobs(world: &dyn Collective, count: usize) -> impl Iterator<Item = usize> {
    (world.rank()..count).step_by(world.size())
}

/// The first of `variables` that is set, as a number.
fn env_number(variables: &[&str]) -> Option<usize> {
    variables
        .iter()
        .find_map(|v| std::env::var(v).ok()?.trim().parse().ok())
}

/// This process's rank among those of the job on its machine, as the launcher tells it
/// (OpenMPI's mpirun, Slurm's srun, MPICH/Hydra): which GPU it takes with `--device cuda:local`.
pub fn local_rank() -> Option<usize> {
    env_number(&[
        "OMPI_COMM_WORLD_LOCAL_RANK",
        "SLURM_LOCALID",
        "MPI_LOCALRANKID",
        "PMI_LOCAL_RANK",
    ])
}

/// The processes of the job a launcher started this process in, as its variables tell it
/// (OpenMPI's mpirun, PMI, a step of `srun`; not a batch script's allocation, whose commands
/// run once); `None` outside a launcher. It needs no MPI: a build without the `mpi` feature
/// checks it to refuse to train alone in a job of several.
pub fn launched_size() -> Option<usize> {
    env_number(&["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_parts_come_back_and_a_cut_message_is_refused() {
        let bytes = pack(&[b"abc", b"", b"\x00\x01"]);
        assert_eq!(
            unpack(&bytes).unwrap(),
            [b"abc".to_vec(), vec![], vec![0, 1]]
        );
        assert!(unpack(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn jobs_are_dealt_round_robin() {
        struct Of(usize, usize);
        impl Collective for Of {
            fn rank(&self) -> usize {
                self.0
            }
            fn size(&self) -> usize {
                self.1
            }
            fn sum_f32(&self, _: &mut [f32]) {}
            fn sum_f64(&self, _: &mut [f64]) {}
            fn broadcast(&self, _: &mut Vec<u8>) {}
            fn abort(&self, _: i32) -> ! {
                unreachable!()
            }
        }
        assert_eq!(my_jobs(&Of(1, 3), 8).collect::<Vec<_>>(), [1, 4, 7]);
        assert_eq!(my_jobs(&Solo, 3).collect::<Vec<_>>(), [0, 1, 2]);
    }
}
