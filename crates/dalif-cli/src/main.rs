//! The `dalif` command line.

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use clap::{Args, Parser, Subcommand};
use dalif::bench::neuron;
use dalif::layers::NeuronKind;
use dalif::models::CifarSmallConfig;
use dalif::neuron::DecayParam;
use dalif::training::{OptimizerKind, Readout, TrainConfig, fit};
use dalif_data::Dataset;
use std::path::PathBuf;
use std::process::ExitCode;

// glibc's malloc returns large freed blocks to the OS and page-faults them in again on the next
// allocation: measured on the neuron benchmark, 13,000 page faults per call and 2.5x the time
// of the kernel itself. mimalloc keeps freed memory for reuse.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "dalif",
    version,
    about = "Deep spiking neural networks with the DA-LIF neuron (dual adaptive leaky integrate-and-fire)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a spiking network (for now: the embedded 8x8 digits, cifar_small) and print the
    /// test accuracy after every epoch.
    Train(TrainArgs),
    /// Measure speed on the workloads of shared/peers/workloads.md.
    #[command(subcommand)]
    Bench(Bench),
}

#[derive(Subcommand)]
enum Bench {
    /// One DA-LIF layer, forward over all T steps + backward (workload N), on the CPU.
    Neuron(NeuronArgs),
}

#[derive(Args)]
struct NeuronArgs {
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
}

#[derive(Args)]
struct TrainArgs {
    /// Neuron of every layer: dalif, dalif-spatial-only, dalif-temporal-only, lif, plif.
    #[arg(long, default_value = "dalif")]
    neuron: NeuronKind,
    /// DA-LIF's decay parametrisation: tanh or sigmoid.
    #[arg(long, default_value = "tanh")]
    param: DecayParam,
    /// Time steps T (each image is repeated T times).
    #[arg(long, default_value_t = 4)]
    steps: usize,
    /// Passes over the training set.
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    /// Images per optimiser step.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Peak learning rate (linear warm-up, then cosine decay to 0).
    #[arg(long, default_value_t = 0.05)]
    lr: f64,
    /// Epochs of linear learning-rate warm-up.
    #[arg(long, default_value_t = 1)]
    warmup_epochs: usize,
    /// sgd (momentum 0.9), sgd-nesterov or adamw.
    #[arg(long, default_value = "sgd")]
    optimizer: OptimizerKind,
    /// Weight decay (L2 for SGD, decoupled for AdamW), on every parameter.
    #[arg(long, default_value_t = 0.0)]
    weight_decay: f64,
    /// Label smoothing of the cross-entropy (0.1 is common).
    #[arg(long, default_value_t = 0.0)]
    label_smoothing: f32,
    /// Use the TET loss (mean of per-step cross-entropies) instead of the cross-entropy of the
    /// mean logits.
    #[arg(long)]
    tet: bool,
    /// Seeds the weights, the train/test split and the batch order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn train(args: TrainArgs) -> Result<()> {
    let data = dalif_data::digits::load()?;
    let (train_set, test_set) = dalif_data::stratified_split(&data, 0.2, args.seed)?;
    let device = Device::flex().autodiff();
    device.seed(args.seed);
    let model = CifarSmallConfig {
        neuron: args.neuron,
        param: args.param,
        channels_in: 1,
        classes: 10,
    }
    .init(&device)?;
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        steps: args.steps,
        lr: args.lr,
        warmup_epochs: args.warmup_epochs,
        optimizer: args.optimizer,
        weight_decay: args.weight_decay,
        label_smoothing: args.label_smoothing,
        readout: if args.tet {
            Readout::Tet
        } else {
            Readout::MeanLogits
        },
        seed: args.seed,
    };
    println!(
        "digits (UCI, 8x8): {} train / {} test; cifar_small with {} neurons, T = {}, {} epochs",
        train_set.len(),
        test_set.len(),
        args.neuron,
        args.steps,
        args.epochs
    );
    let mut last = None;
    fit(model, &train_set, &test_set, &config, &device, |m| {
        println!(
            "epoch {:>3}  loss {:.4}  train acc {:.2}%  test loss {:.4}  test acc {:.2}%  lr {:.4}  alpha[0] {:.3}  beta[0] {:.3}  {:.1}s",
            m.epoch + 1,
            m.train_loss,
            100.0 * m.train_accuracy,
            m.test_loss,
            100.0 * m.test_accuracy,
            m.lr,
            m.alpha.first().copied().unwrap_or(f64::NAN),
            m.beta.first().copied().unwrap_or(f64::NAN),
            m.seconds
        );
        last = Some(m.test_accuracy);
    })?;
    if let Some(acc) = last {
        println!("test accuracy: {:.2}%", 100.0 * acc);
    }
    Ok(())
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
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("could not set the number of threads")?;
    }
    if args.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    let shape = parse_shape(&args.shape)?;
    let variants: Vec<&str> = args.variants.split(',').map(str::trim).collect();
    let report =
        neuron::run(&shape, &variants, args.warmup, args.rounds).map_err(anyhow::Error::msg)?;
    println!(
        "Neuron fwd+bwd, shape {:?}, {} threads, {} interleaved rounds (warm-up {}), spike rate {:.3}, saved for backward {:.1} MB",
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
    if let Some(path) = args.json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train(args),
        Command::Bench(Bench::Neuron(args)) => bench_neuron(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
