//! `dalif bench`: speed on the workloads of `shared/peers/workloads.md`.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use dalif::bench::neuron;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Bench {
    /// One DA-LIF layer, forward over all T steps + backward (workload N), on the CPU.
    Neuron(NeuronArgs),
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
}

pub fn run(bench: Bench) -> Result<()> {
    match bench {
        Bench::Neuron(args) => bench_neuron(args),
    }
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
    let report = neuron::run(&shape, &variants, args.warmup, args.rounds)?;
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
