//! The `dalif` command line.

mod analyze;
mod bench;
mod commands;
mod config_args;
mod data;
mod export;
mod names;
mod presets;
mod progress;
mod source;
mod sweep;
mod training;
mod world;

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::sync::Arc;

// glibc's malloc returns large freed blocks to the OS and page-faults them in again on the next
// allocation: measured on the neuron benchmark, 13,000 page faults per call and 2.5x the time
// of the kernel itself. mimalloc keeps freed memory for reuse.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` of mimalloc.h (v2 and v3), which libmimalloc-sys does not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tells mimalloc never to give freed memory back to the OS. By default it does so after a
/// delay (10 ms in mimalloc v2, 1 s in v3, the one built), and a training step frees and
/// allocates the same large activations every step: the
/// kernel then zeroes their pages again on first touch (`clear_page_erms`, 7% of a cifar_small
/// step's CPU time under `perf`). Kept, the step was 12-18% faster and the peak RSS 10% higher
/// (BENCHMARKS.md); the process's RSS stays at its peak.
fn keep_freed_memory() {
    // SAFETY: sets one of mimalloc's integer options; any value is valid for this one.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

#[derive(Parser)]
#[command(
    name = "dalif",
    version,
    about = "Deep spiking neural networks with the DA-LIF neuron (dual adaptive leaky integrate-and-fire)",
    long_about = "Deep spiking neural networks with the DA-LIF neuron (dual adaptive leaky \
integrate-and-fire).\n\nStart with `dalif train`: it trains a small DA-LIF network on the \
embedded 8x8 handwritten digits in about half a minute and writes a run directory (config, \
metrics, checkpoints, log) under runs/."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a spiking network (default: DA-LIF on the embedded digits) into a run directory.
    ///
    /// The run directory holds config.toml, metrics.jsonl (loss, accuracy, learning rate,
    /// alpha/beta and firing rate of every layer, per epoch), checkpoints (last and best) and
    /// log.txt. Ctrl-C stops after the current batch; the last completed epoch stays saved
    /// and `--resume RUN_DIR` continues from it. `--seeds N` trains N runs of the
    /// configuration with consecutive seeds and gives the mean and 95% interval.
    Train(commands::TrainArgs),
    /// Evaluate a run's checkpoint, or weights exported as safetensors, on the test set.
    ///
    /// Prints loss, accuracy, and alpha, beta and firing rate of every spiking layer.
    /// `--weights FILE` alone takes the configuration stored in the file.
    Eval(commands::EvalArgs),
    /// The paper's ablation: LIF, PLIF and DA-LIF variants with the same seeds, data and budget.
    ///
    /// Trains LIF, PLIF, DA-LIF, spatial-only and temporal-only DA-LIF (and, with
    /// --compare-param, DA-LIF with the other parametrisation), each with --seeds N seeds, and
    /// writes a table of test accuracy (mean, sd and 95% interval over the seeds), firing rate
    /// and parameter count, and the paired differences of the comparisons the paper makes,
    /// saying which of them the runs support.
    Ablate(commands::AblateArgs),
    /// Analyse a trained run: decays and firing rates per layer, operations and energy,
    /// parameters, training curves (Markdown, CSV, PNG and SVG charts).
    Analyze(analyze::AnalyzeArgs),
    /// Train with DA-LIF's alpha and beta frozen over a grid and map the test accuracy.
    ///
    /// The paper's motivation figure. Every grid point is a run directory under --out, so an
    /// interrupted sweep resumes where it stopped.
    Sweep(sweep::SweepArgs),
    /// Write a trained network as a NIR graph (HDF5) or its weights as safetensors.
    ///
    /// NIR: convolutions with batch norm folded in, affine layers, average pooling, flatten,
    /// residual additions as graph edges, and each DA-LIF layer as a LIF with
    /// tau = dt/(1 - beta), r = alpha/(1 - beta), v_leak = v_reset = 0; max pooling of spikes
    /// as the OR of the window (a SumPool2d, then a LIF with tau = dt, r = 1, threshold 0.5
    /// that keeps no state); the conventions go into the graph's metadata. Soft reset has no
    /// NIR form and is refused.
    Export(export::ExportArgs),
    /// List the presets (the paper's recipes) that `train --preset` accepts.
    Presets,
    /// Look into data sets and prepare their frame caches.
    #[command(subcommand)]
    Data(data::Data),
    /// Measure speed on the workloads of shared/peers/workloads.md.
    #[command(subcommand)]
    Bench(bench::Bench),
}

/// Mesa's Vulkan drivers load the Wayland client library, which prints "XDG_RUNTIME_DIR is
/// invalid or not set" several times when the variable is unset (containers, ssh sessions,
/// CI) though nothing is drawn. Any value quiets it; the temp dir is one.
#[cfg(feature = "wgpu")]
fn quiet_wayland_probe() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // SAFETY: called first in main, before any thread exists that could read the
        // environment concurrently.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
    }
}

fn main() -> ExitCode {
    keep_freed_memory();
    #[cfg(feature = "wgpu")]
    quiet_wayland_probe();
    let cli = Cli::parse();
    let world = match world::join() {
        Ok(world) => world,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    progress::catch_interrupts(world.size());
    if world.size() > 1 {
        // A panicking rank takes the job down (srun, unlike mpirun, would keep the other
        // ranks waiting in their next collective). Weak: MPI ends (MPI_Finalize) when main
        // drops the world, which a hook living to the end must not prevent.
        let (world, report) = (Arc::downgrade(&world), std::panic::take_hook());
        std::panic::set_hook(Box::new(move |info| {
            report(info);
            if let Some(world) = world.upgrade() {
                world.abort(101);
            }
        }));
    }
    let single = |command: &str| world::single(world.as_ref(), command);
    let result = match cli.command {
        Command::Train(args) => commands::train(args, &world),
        Command::Eval(args) => single("eval").and_then(|()| commands::eval(args)),
        Command::Ablate(args) => commands::ablate(args, &world),
        Command::Export(args) => single("export").and_then(|()| export::run(args)),
        Command::Analyze(args) => single("analyze").and_then(|()| analyze::run(args)),
        Command::Sweep(args) => sweep::run(args, &world),
        Command::Presets => {
            commands::presets();
            Ok(())
        }
        Command::Data(d) => single("data").and_then(|()| data::run(d)),
        Command::Bench(b) => bench::run(b, &world),
    };
    let Err(e) = result else {
        return ExitCode::SUCCESS;
    };
    let interrupted = e.downcast_ref::<training::Interrupted>().is_some();
    let relayed = e.downcast_ref::<world::Relayed>().is_some();
    let settled = e.downcast_ref::<world::Settled>().is_some();
    if world.size() == 1 {
        eprintln!("error: {e:#}");
    } else if world.is_root() || !(interrupted || relayed) {
        eprintln!("error (rank {} of {}): {e:#}", world.rank(), world.size());
    }
    let code = if interrupted || progress::stop_requested() {
        130
    } else {
        2
    };
    // Every rank knows of a stop, of rank 0's failed start and of a settled error; any other
    // error is this rank's alone, and the others would wait for it in their next collective.
    if world.size() > 1 && !(interrupted || relayed || settled) {
        world.abort(i32::from(code));
    }
    ExitCode::from(code)
}
