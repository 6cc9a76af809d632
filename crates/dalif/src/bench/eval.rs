//! Inference throughput of a zoo model: forward over T steps of a fixed random batch on the
//! device without autodiff, batch norm folded into the convolutions (running statistics).
//! The running statistics come from `warmup` training steps first, so that the layers fire
//! at the rates training gives them (the event-driven convolutions' speed depends on them).

use super::train::{Setup, TrainBench, TrainBenchError, peak_rss_bytes};
use super::{Timings, Variant, Waiter, interleaved};
use crate::distributed::Solo;
use crate::layers::{Activation, SpikeMonitor};
use crate::models::SpikingClassifier;
use burn::module::Module;
use burn::tensor::Device;
use serde::Serialize;
use std::sync::Arc;

/// The result of [`run`], as `dalif bench eval` writes it (JSON).
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// The model's name.
    pub model: String,
    /// Time steps T.
    pub steps: usize,
    /// Samples per forward pass.
    pub batch_size: usize,
    /// `[C, H, W]`.
    pub input: [usize; 3],
    /// Worker threads of the CPU kernels (rayon's pool).
    pub threads: usize,
    /// Training steps run before timing (they set the batch norms' running statistics).
    pub training_steps: usize,
    /// The mean firing rate of the spiking layers in the timed forward pass.
    pub firing_rate: f64,
    /// The timed forward passes.
    pub timings: Timings,
    /// `batch_size` over the median time.
    pub samples_per_second: f64,
    /// The process's peak resident memory (Linux `VmHWM`), in bytes.
    pub peak_rss_bytes: Option<u64>,
}

/// Times inference of `bench.model` on `device` (an autodiff device: the training steps that
/// set the running statistics run on it, the timed passes on its inner device).
pub fn run(bench: &TrainBench, device: &Device) -> Result<EvalReport, TrainBenchError> {
    let setup = Setup::new(bench, device)?;
    let mut trainer = setup.trainer(bench, Arc::new(Solo))?;
    let mut model = setup.model;
    for _ in 0..bench.warmup {
        model = trainer
            .step(
                model,
                Activation::Maps(setup.input.clone()),
                setup.labels.clone(),
            )
            .0;
    }
    let model = model.valid();
    let input = setup.input.inner();
    let mut monitor = SpikeMonitor::on();
    model.forward_monitored(Activation::Maps(input.clone()), &mut monitor);
    let rates = monitor.into_rates();
    let firing_rate = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
    let waiter = Waiter::new(&input.device());
    let mut pass = || {
        model.forward(Activation::Maps(input.clone()));
        waiter.wait();
    };
    let mut list = vec![Variant {
        name: "inference".into(),
        call: Box::new(&mut pass),
    }];
    let timings = interleaved(&mut list, 1, bench.rounds)
        .pop()
        .expect("one variant");
    drop(list);
    if let Some(e) = waiter.failure() {
        return Err(TrainBenchError::Device(e));
    }
    Ok(EvalReport {
        model: bench.model.name().to_string(),
        steps: bench.steps,
        batch_size: bench.batch_size,
        input: bench.input,
        threads: rayon::current_num_threads(),
        training_steps: bench.warmup,
        firing_rate,
        samples_per_second: bench.batch_size as f64 / (timings.median_ms / 1e3),
        timings,
        peak_rss_bytes: peak_rss_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::train::tests::tiny;

    #[test]
    fn times_inference_after_training_steps() {
        let bench = tiny();
        let report = run(&bench, &Device::flex().autodiff()).unwrap();
        assert_eq!(report.timings.times_ms.len(), 2);
        assert!(report.samples_per_second > 0.0);
        assert!((0.0..=1.0).contains(&report.firing_rate), "{report:?}");
        let plain = run(&bench, &Device::flex());
        assert!(matches!(plain, Err(TrainBenchError::NotAutodiff)));
    }
}
