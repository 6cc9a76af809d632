//! `dalif bench`: speed on the workloads of `shared/peers/workloads.md`.

use crate::config_args::{DeviceArgs, TrainDeviceArgs};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use dalif::bench::{eval, neuron, train};
use dalif::distributed::Collective;
use dalif::layers::InitScale;
use dalif::models::ModelKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Subcommand)]
pub enum Bench {
    /// One DA-LIF layer, forward over all T steps + backward (workload N).
    Neuron(NeuronArgs),
    /// One training step of a zoo model on a random batch: forward, loss, backward, update
    /// (workloads C and R; the paper's batch sizes on a GPU).
    Train(TrainArgs),
    /// Inference of a zoo model on a random batch, batch norm folded (after `--warmup`
    /// training steps that set its running statistics): samples per second.
    Eval(EvalArgs),
}

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    work: WorkloadArgs,
    #[command(flatten)]
    device: TrainDeviceArgs,
}

#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    work: WorkloadArgs,
    #[command(flatten)]
    device: DeviceArgs,
}

#[derive(Args)]
pub struct WorkloadArgs {
    /// The workload of `shared/peers/workloads.md`: c (cifar-small, T=4, B=32, 10 rounds),
    /// r (resnet19, T=4, B=8, 5 rounds) or vggsnn (event frames [10, 8, 2, 48, 48], 3 rounds);
    /// the options below change one part of it.
    #[arg(long, default_value = "c")]
    workload: train::Workload,
    /// The zoo model (cifar-small, resnet19, resnet20, resnet18, resnet34, vggsnn).
    #[arg(long)]
    model: Option<ModelKind>,
    /// Time steps T.
    #[arg(long)]
    steps: Option<usize>,
    /// Samples per step.
    #[arg(long)]
    batch_size: Option<usize>,
    /// One frame, CxHxW (3x32x32 for the images of c and r, 2x48x48 for vggsnn's frames).
    #[arg(long)]
    input: Option<String>,
    /// Output classes.
    #[arg(long)]
    classes: Option<usize>,
    /// Timed steps.
    #[arg(long)]
    rounds: Option<usize>,
    /// Untimed steps before timing.
    #[arg(long)]
    warmup: Option<usize>,
    /// How the batch norms start: unit (gamma = 1, PyTorch's, the workloads') or threshold
    /// (dalif's training default).
    #[arg(long)]
    init_scale: Option<InitScale>,
    /// Compute threads of the CPU kernels (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Also write the report (all timed calls) as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

impl WorkloadArgs {
    /// The workload with the options' changes.
    fn bench(&self) -> Result<train::TrainBench> {
        let preset = train::TrainBench::workload(self.workload);
        Ok(train::TrainBench {
            model: self.model.unwrap_or(preset.model),
            steps: self.steps.unwrap_or(preset.steps),
            batch_size: self.batch_size.unwrap_or(preset.batch_size),
            input: match &self.input {
                Some(input) => parse_frame(input)?,
                None => preset.input,
            },
            classes: self.classes.unwrap_or(preset.classes),
            warmup: self.warmup.unwrap_or(preset.warmup),
            rounds: self.rounds.unwrap_or(preset.rounds),
            init_scale: self.init_scale.unwrap_or(preset.init_scale),
        })
    }
}

#[derive(Args)]
pub struct NeuronArgs {
    /// `conv` = [4,32,128,16,16], `fc` = [8,64,4096], or a comma-separated [T,B,...] shape.
    #[arg(long, default_value = "conv")]
    shape: String,
    /// Timed rounds (the variant order rotates each round).
    #[arg(long, default_value_t = 30)]
    rounds: usize,
    /// Untimed calls of each variant before timing.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Comma-separated variants: layer, fused-op, fallback-op.
    #[arg(long, default_value = "layer,fused-op,fallback-op")]
    variants: String,
    /// Compute threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Also write the full report (all per-call times) as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    #[command(flatten)]
    device: DeviceArgs,
}

/// `bench train` runs on every rank of an mpirun job (the data-parallel step); `bench neuron`
/// in one process.
pub fn run(bench: Bench, world: &Arc<dyn Collective>) -> Result<()> {
    match bench {
        Bench::Neuron(args) => {
            crate::world::single(world.as_ref(), "bench neuron")?;
            bench_neuron(args)
        }
        Bench::Train(args) => bench_train(args, world),
        Bench::Eval(args) => {
            crate::world::single(world.as_ref(), "bench eval")?;
            bench_eval(args)
        }
    }
}

fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("could not set the number of threads")?;
    }
    Ok(())
}

fn write_json(path: Option<&Path>, report: &impl serde::Serialize) -> Result<()> {
    if let Some(path) = path {
        let text = serde_json::to_string_pretty(report)?;
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn parse_frame(s: &str) -> Result<[usize; 3]> {
    let dims: Vec<usize> = s
        .split(['x', 'X'])
        .map(|d| d.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--input '{s}' is not CxHxW, e.g. 3x32x32"))?;
    match dims[..] {
        [c, h, w] => Ok([c, h, w]),
        _ => bail!("--input '{s}' is not CxHxW, e.g. 3x32x32"),
    }
}

fn bench_eval(args: EvalArgs) -> Result<()> {
    set_threads(args.work.threads)?;
    let bench = args.work.bench()?;
    let r = eval::run(&bench, &args.device.device()?.autodiff())?;
    println!(
        "Inference, batch norm folded, {} T={} B={} {:?} on {}, {} threads, {} timed passes \
         after {} training steps; mean firing rate {:.3}",
        r.model,
        r.steps,
        r.batch_size,
        r.input,
        args.device.device,
        r.threads,
        r.timings.times_ms.len(),
        r.training_steps,
        r.firing_rate
    );
    println!();
    println!("| median ms | min ms | IQR ms | samples/s | peak RSS MB |");
    println!("|---:|---:|---:|---:|---:|");
    let t = &r.timings;
    println!(
        "| {:.1} | {:.1} | {:.1}-{:.1} | {:.1} | {} |",
        t.median_ms,
        t.min_ms,
        t.q1_ms,
        t.q3_ms,
        r.samples_per_second,
        r.peak_rss_bytes
            .map_or("-".to_string(), |b| format!("{:.0}", b as f64 / 1e6))
    );
    write_json(args.work.json.as_deref(), &r)
}

fn bench_train(args: TrainArgs, world: &Arc<dyn Collective>) -> Result<()> {
    set_threads(args.work.threads)?;
    let bench = args.work.bench()?;
    let device = args.device.autodiff()?;
    let r = train::run_data_parallel(&bench, &device, Arc::clone(world))?;
    if !world.is_root() {
        return Ok(());
    }
    let mb = |b: Option<u64>| b.map_or("-".to_string(), |b| format!("{:.0}", b as f64 / 1e6));
    println!(
        "Training step, {} T={} B={} {:?} on {}{}, {}{} threads, {} timed steps (warm-up {}); \
         {:.2} MB of gradients summed per step",
        r.model,
        r.steps,
        r.batch_size,
        r.input,
        args.device.device.device,
        if r.checkpointing {
            " with checkpointing"
        } else {
            ""
        },
        if r.ranks > 1 {
            format!("{} ranks x ", r.ranks)
        } else {
            String::new()
        },
        r.threads,
        r.timings.times_ms.len(),
        bench.warmup,
        r.gradient_bytes as f64 / 1e6
    );
    println!();
    println!(
        "| median ms | min ms | IQR ms | samples/s | peak RSS MB | kept for backward MB | \
         device peak MB |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let t = &r.timings;
    println!(
        "| {:.1} | {:.1} | {:.1}-{:.1} | {:.1} | {} | {} | {} |",
        t.median_ms,
        t.min_ms,
        t.q1_ms,
        t.q3_ms,
        r.samples_per_second,
        mb(r.peak_rss_bytes),
        mb(r.forward_kept_bytes),
        mb(r.device_peak_bytes)
    );
    write_json(args.work.json.as_deref(), &r)
}

fn parse_shape(s: &str) -> Result<Vec<usize>> {
    if let Some(shape) = neuron::named_shape(s) {
        return Ok(shape);
    }
    s.split(',')
        .map(|d| d.trim().parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("--shape '{s}' is neither conv, fc nor a list like 4,32,128"))
}

fn bench_neuron(args: NeuronArgs) -> Result<()> {
    set_threads(args.threads)?;
    if args.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    let shape = parse_shape(&args.shape)?;
    let variants: Vec<&str> = args.variants.split(',').map(str::trim).collect();
    let device = args.device.device()?;
    let name = args.device.device.to_string();
    let report = neuron::run(
        &shape,
        &variants,
        args.warmup,
        args.rounds,
        (&device, &name),
    )?;
    println!(
        "Neuron fwd+bwd on {}, shape {:?}, {} threads, {} interleaved rounds (warm-up {}), spike rate {:.3}, saved for backward {:.1} MB",
        report.device,
        report.shape,
        report.threads,
        report.rounds,
        report.warmup,
        report.spike_rate,
        report.saved_for_backward_bytes as f64 / 1e6
    );
    println!();
    println!("| variant | median ms | min ms | IQR ms | what one call does |");
    println!("|---|---:|---:|---:|---|");
    for t in &report.timings {
        println!(
            "| {} | {:.2} | {:.2} | {:.2}-{:.2} | {} |",
            t.name,
            t.median_ms,
            t.min_ms,
            t.q1_ms,
            t.q3_ms,
            neuron::describe(&t.name)
        );
    }
    write_json(args.json.as_deref(), &report)
}
