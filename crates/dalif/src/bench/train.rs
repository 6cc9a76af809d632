//! One training step of a zoo model on any device (workloads C and R of
//! `shared/peers/workloads.md`, VGGSNN on event frames, and the paper's batch sizes on a GPU):
//! forward over T steps of a fixed random batch, cross-entropy of the mean logits, backward,
//! SGD-momentum update (lr 0.1, momentum 0.9), exactly as [`Trainer::step`] runs it in
//! training. Each timed call waits for the device.

use super::{Timings, Variant, Waiter, interleaved};
use crate::distributed::{Collective, Solo, gradient_bytes};
use crate::layers::{Activation, InitScale};
use crate::models::{ModelConfig, ModelError, ModelKind, Network, SpikingClassifier};
use crate::training::{Readout, classification_loss};
use crate::training::{TrainConfig, Trainer};
use burn::tensor::{Device, Distribution, Int, Tensor};
use serde::Serialize;
use std::sync::Arc;

/// What one training-step benchmark runs.
#[derive(Clone, Debug)]
pub struct TrainBench {
    /// The zoo model, with DA-LIF neurons.
    pub model: ModelKind,
    /// Time steps T.
    pub steps: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// `[C, H, W]` of one frame (the batch is `[T, B, C, H, W]`).
    pub input: [usize; 3],
    /// Output classes.
    pub classes: usize,
    /// Untimed steps before the rounds.
    pub warmup: usize,
    /// Timed steps.
    pub rounds: usize,
    /// How the batch norms start (the workloads use PyTorch's `gamma = 1`).
    pub init_scale: InitScale,
}

/// The benchmark workloads of `shared/peers/workloads.md`, and VGGSNN on event frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::EnumString, strum::Display)]
#[strum(serialize_all = "kebab-case")]
pub enum Workload {
    /// C: `cifar_small`, T = 4, B = 32, 3x32x32 (warm-up 2, 10 rounds).
    C,
    /// R: ResNet-19, T = 4, B = 8, 3x32x32 (warm-up 1, 5 rounds).
    R,
    /// VGGSNN on CIFAR10-DVS-sized event frames `[10, 8, 2, 48, 48]` (warm-up 1, 3 rounds).
    Vggsnn,
}

impl TrainBench {
    /// The workload's model, shapes and protocol, with PyTorch's initialisation.
    pub fn workload(workload: Workload) -> Self {
        let (model, steps, batch_size, input, warmup, rounds) = match workload {
            Workload::C => (ModelKind::CifarSmall, 4, 32, [3, 32, 32], 2, 10),
            Workload::R => (ModelKind::ResNet19, 4, 8, [3, 32, 32], 1, 5),
            Workload::Vggsnn => (ModelKind::VggSnn, 10, 8, [2, 48, 48], 1, 3),
        };
        Self {
            model,
            steps,
            batch_size,
            input,
            classes: 10,
            warmup,
            rounds,
            init_scale: InitScale::Unit,
        }
    }
}

/// The result of [`run`], as `dalif bench train` writes it (JSON).
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    /// The model's name.
    pub model: String,
    /// Time steps T.
    pub steps: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// `[C, H, W]`.
    pub input: [usize; 3],
    /// Whether the device recomputes activations in the backward (gradient checkpointing).
    pub checkpointing: bool,
    /// Worker threads of the CPU kernels (rayon's pool).
    pub threads: usize,
    /// Processes of the data-parallel step (1: one process).
    pub ranks: usize,
    /// Bytes of the gradients the ranks sum every step (f32).
    pub gradient_bytes: usize,
    /// The timed steps.
    pub timings: Timings,
    /// `batch_size` over the median step time.
    pub samples_per_second: f64,
    /// The process's peak resident memory so far (Linux `VmHWM`), in bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Growth of resident memory over one forward pass and loss (Linux `VmRSS` after them minus
    /// before, CPU backends), in bytes: the activations autodiff keeps for the backward (the
    /// equivalent of PyTorch's saved tensors), plus the forward's temporaries when the
    /// allocator keeps freed memory (the `dalif` binary's does): an upper bound of the kept
    /// bytes. That forward, in training mode, also updates the batch norms' running averages
    /// before the timed steps.
    pub forward_kept_bytes: Option<u64>,
    /// The peak of the device's memory pools (GPU backends), in bytes.
    pub device_peak_bytes: Option<u64>,
}

/// A training-step benchmark that cannot run as asked.
#[derive(Debug, thiserror::Error)]
pub enum TrainBenchError {
    /// Zero steps, samples, rounds or classes, or an empty frame.
    #[error("{0}")]
    Config(String),
    /// The model cannot be built for this input.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The benchmark ran on a device without autodiff.
    #[error("the device has no autodiff: pass device.autodiff()")]
    NotAutodiff,
    /// The device failed to finish its work.
    #[error("the device failed: {0}")]
    Device(String),
}

/// Times training steps of `bench.model` on `device` (an autodiff device; its gradient
/// checkpointing is kept).
pub fn run(bench: &TrainBench, device: &Device) -> Result<TrainReport, TrainBenchError> {
    run_data_parallel(bench, device, Arc::new(Solo))
}

/// A workload's network on an autodiff device and its fixed random batch.
pub(super) struct Setup {
    pub(super) model: Network,
    /// `[T, B, C, H, W]`: each sample drawn from N(0, 1) and repeated over T (the same on every
    /// device).
    pub(super) input: Tensor<5>,
    pub(super) labels: Tensor<1, Int>,
}

impl Setup {
    pub(super) fn new(bench: &TrainBench, device: &Device) -> Result<Self, TrainBenchError> {
        let [c, h, w] = bench.input;
        if bench.steps == 0 || bench.batch_size == 0 || bench.rounds == 0 || bench.classes < 2 {
            return Err(TrainBenchError::Config(format!(
                "steps, batch size and rounds must be at least 1 and classes at least 2, got \
                 {}, {}, {} and {}",
                bench.steps, bench.batch_size, bench.rounds, bench.classes
            )));
        }
        if c * h * w == 0 {
            return Err(TrainBenchError::Config(format!(
                "the input {:?} is empty",
                bench.input
            )));
        }
        if !device.is_autodiff() {
            return Err(TrainBenchError::NotAutodiff);
        }
        device.seed(1234);
        let mut config = ModelConfig::new(bench.model, c, bench.classes, [h, w]);
        config.spec.init_scale = bench.init_scale;
        let model: Network = config.init(device)?;
        // The same batch on every device: drawn on the CPU, then moved. One image per sample,
        // repeated over the T steps (the workloads' direct encoding).
        let cpu = Device::flex();
        cpu.seed(1234);
        let shape = [1, bench.batch_size, c, h, w];
        let input = Tensor::<5>::random(shape, Distribution::Normal(0.0, 1.0), &cpu)
            .repeat_dim(0, bench.steps);
        let labels = Tensor::<1, Int>::random(
            [bench.batch_size],
            Distribution::Uniform(0.0, bench.classes as f64),
            &cpu,
        );
        Ok(Self {
            model,
            input: input.to_device(device),
            labels: labels.to_device(device),
        })
    }

    /// The trainer of the benchmarked step: SGD-momentum, lr 0.1.
    pub(super) fn trainer(
        &self,
        bench: &TrainBench,
        world: Arc<dyn Collective>,
    ) -> Result<Trainer, TrainBenchError> {
        let config = TrainConfig {
            batch_size: bench.batch_size,
            steps: bench.steps,
            lr: 0.1,
            ..TrainConfig::default()
        };
        let trainer = Trainer::new(config, &self.model)
            .map_err(|e| TrainBenchError::Config(e.to_string()))?;
        Ok(trainer.data_parallel(world))
    }
}

/// [`run`] on every rank of `world`: each rank steps on its part of the batch (the batch cut
/// into `world.size()` equal parts) and the ranks sum their gradients, as data-parallel
/// training does; every rank reports the time of the whole batch's step.
pub fn run_data_parallel(
    bench: &TrainBench,
    device: &Device,
    world: Arc<dyn Collective>,
) -> Result<TrainReport, TrainBenchError> {
    let ranks = world.size();
    if !bench.batch_size.is_multiple_of(ranks) {
        return Err(TrainBenchError::Config(format!(
            "the batch of {} does not cut into {ranks} equal parts",
            bench.batch_size
        )));
    }
    let setup = Setup::new(bench, device)?;
    let mut trainer = setup.trainer(bench, Arc::clone(&world))?;
    let Setup {
        model,
        input,
        labels,
    } = setup;
    let part = world.shard().range(bench.batch_size);
    let (input, labels) = (input.narrow(1, part.start, part.len()), labels.slice(part));
    let gradient_bytes = gradient_bytes(&model);
    // Host memory only: GPU backends report their pools instead.
    let forward_kept_bytes = if device.memory_pool_report().is_none() {
        let before = status_bytes("VmRSS");
        let logits = model.forward(Activation::Maps(input.clone()));
        let loss = classification_loss(logits, labels.clone(), Readout::MeanLogits, 0.0);
        let after = status_bytes("VmRSS");
        // The backward frees the graph (dropping the loss alone leaves it to burn's cleanup).
        drop(loss.backward());
        after.zip(before).map(|(a, b)| a.saturating_sub(b))
    } else {
        None
    };
    let mut slot = Some(model);
    let waiter = Waiter::new(device);
    let mut step = || {
        let model = slot.take().expect("the model is put back after every step");
        let (model, _) = trainer.step(model, Activation::Maps(input.clone()), labels.clone());
        waiter.wait();
        slot = Some(model);
    };
    let mut list = vec![Variant {
        name: "train-step".into(),
        call: Box::new(&mut step),
    }];
    let timings = interleaved(&mut list, bench.warmup, bench.rounds)
        .pop()
        .expect("one variant");
    drop(list);
    if let Some(e) = waiter.failure() {
        return Err(TrainBenchError::Device(e));
    }
    let device_peak_bytes = device
        .memory_pool_report()
        .map(|pools| pools.iter().map(|p| p.pages_peak * p.page_size).sum());
    Ok(TrainReport {
        model: bench.model.name().to_string(),
        steps: bench.steps,
        batch_size: bench.batch_size,
        input: bench.input,
        checkpointing: device.gradient_checkpointing_strategy()
            == Some(burn::tensor::GradientCheckpointingStrategy::Balanced),
        threads: rayon::current_num_threads(),
        ranks,
        gradient_bytes,
        samples_per_second: bench.batch_size as f64 / (timings.median_ms / 1e3),
        timings,
        peak_rss_bytes: peak_rss_bytes(),
        forward_kept_bytes,
        device_peak_bytes,
    })
}

/// The process's peak resident set size, from `/proc/self/status` (Linux only).
pub fn peak_rss_bytes() -> Option<u64> {
    status_bytes("VmHWM")
}

/// A memory field of `/proc/self/status` (Linux only), in bytes.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A workload small enough for tests.
    pub(in crate::bench) fn tiny() -> TrainBench {
        TrainBench {
            model: ModelKind::CifarSmall,
            steps: 2,
            batch_size: 2,
            input: [3, 8, 8],
            classes: 4,
            warmup: 1,
            rounds: 2,
            init_scale: InitScale::Unit,
        }
    }

    #[test]
    fn times_real_training_steps_and_reports_memory() {
        let report = run(&tiny(), &Device::flex().autodiff()).unwrap();
        assert_eq!(report.timings.times_ms.len(), 2);
        assert!(report.timings.median_ms > 0.0 && report.samples_per_second > 0.0);
        assert!(!report.checkpointing);
        assert!(report.peak_rss_bytes.unwrap() > 1 << 20);
        assert!(report.forward_kept_bytes.is_some());
        let checkpointed = run(&tiny(), &Device::flex().autodiff().gradient_checkpointing());
        assert!(checkpointed.unwrap().checkpointing);
    }

    #[test]
    fn refuses_a_device_without_autodiff_and_empty_work() {
        assert!(matches!(
            run(&tiny(), &Device::flex()),
            Err(TrainBenchError::NotAutodiff)
        ));
        let empty = TrainBench {
            rounds: 0,
            ..tiny()
        };
        let err = run(&empty, &Device::flex().autodiff()).unwrap_err();
        assert!(err.to_string().contains("rounds"), "{err}");
    }
}
