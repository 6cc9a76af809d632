//! `dalif train`, `eval`, `ablate` and `presets`.

use crate::config_args::{ConfigArgs, DeviceArgs, TrainDeviceArgs};
use crate::source::SourceArgs;
use crate::training::{default_out, open_data, train_in, train_ranks};
use crate::world;
use anyhow::{Context, Result};
use clap::Args;
use dalif::distributed::Collective;
use dalif::models::{SpikingClassifier, learnable_params};
use dalif::run::{Job, RunConfig, RunDir, RunError, ablation, run_dir_for, seeds};
use dalif::training::evaluate;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Run directory to create (it must not exist, or be empty); with --seeds N > 1, the
    /// folder of the N runs, which the same command run again continues. Default:
    /// runs/<data>-<model>-<neuron>-<n> with the first free n.
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Continue the run in RUN_DIR from its last completed epoch, with its own configuration
    /// (so no configuration flags).
    #[arg(long, value_name = "RUN_DIR", conflicts_with = "config")]
    resume: Option<PathBuf>,
    /// Train N runs with the seeds --seed, --seed + 1, ... (initial weights and batch order),
    /// one run directory seed-<s>/ each under --out, and write seeds.md and seeds.csv there:
    /// mean, sd and 95% interval of the test accuracy. Running the same command with the same
    /// --out again reuses the finished runs and resumes a stopped one.
    #[arg(long, value_name = "N", default_value_t = 1, conflicts_with = "resume")]
    seeds: usize,
    #[command(flatten)]
    device: TrainDeviceArgs,
}

#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Also write the evaluation (loss, accuracy, firing rate, alpha and beta of every layer)
    /// as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    #[command(flatten)]
    device: DeviceArgs,
}

#[derive(Args)]
pub struct AblateArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Also train DA-LIF with the other decay parametrisation (tanh vs sigmoid).
    #[arg(long)]
    compare_param: bool,
    /// Train every variant with N seeds (--seed, --seed + 1, ...: initial weights and batch
    /// order); the table gives each variant's mean, sd and 95% interval, and the paired
    /// difference of each comparison the paper makes.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seeds: usize,
    /// Folder of the ablation: a run directory <variant>/seed-<s>/ per variant and seed, and
    /// ablation.md / ablation.csv. Runs already trained there are reused, partly trained ones
    /// resumed.
    #[arg(long, value_name = "DIR", default_value = "runs/ablation")]
    out: PathBuf,
    #[command(flatten)]
    device: TrainDeviceArgs,
}

/// Fails on the data and the network of `config` before anything is written.
fn check(config: &RunConfig, device: &burn::tensor::Device) -> Result<()> {
    let (train, _) = open_data(config)?;
    config.train.augmentation.check(train.as_ref())?;
    config.model.resolve(train.as_ref())?.init(device)?;
    Ok(())
}

pub fn train(args: TrainArgs, world: &Arc<dyn Collective>) -> Result<()> {
    let device = args.device.autodiff()?;
    if args.seeds != 1 {
        return train_seeds(args, &device, world);
    }
    // Rank 0 makes or opens the run directory (and builds frame caches once); the other
    // ranks get its configuration.
    let setup = || {
        let (dir, config) = match &args.resume {
            Some(path) => RunDir::open(path)?,
            None => {
                let config = args.config.resolve()?;
                check(&config, &device)?;
                let out = args.out.clone().unwrap_or_else(|| default_out(&config));
                let dir = RunDir::create(&out, &config).map_err(|e| match e {
                    RunError::Exists(_) => anyhow::Error::new(e)
                        .context("choose another --out, or continue that run with --resume"),
                    e => e.into(),
                })?;
                (dir, config)
            }
        };
        if world.size() > 1 {
            open_data(&config)?;
        }
        Ok((dir, config))
    };
    let encode = |(_, config): &(RunDir, RunConfig)| {
        toml::to_string(config)
            .expect("a configuration serialises")
            .into_bytes()
    };
    let (dir, config) = match world::from_root(world.as_ref(), setup, encode)? {
        (Some((dir, config)), _) => (Some(dir), config),
        (None, bytes) => {
            let text = String::from_utf8(bytes).context("rank 0's configuration")?;
            (
                None,
                toml::from_str(&text).context("rank 0's configuration")?,
            )
        }
    };
    if let Some(dir) = &dir {
        println!("run directory: {}", dir.path().display());
    }
    let (_, metrics) = train_ranks(world, dir.as_ref(), &config, &device, "")?;
    if let Some(last) = metrics.last() {
        let best = metrics
            .iter()
            .max_by(|a, b| a.test_accuracy.total_cmp(&b.test_accuracy))
            .expect("non-empty");
        println!(
            "test accuracy: {:.2}% (best {:.2}% at epoch {})",
            100.0 * last.test_accuracy,
            100.0 * best.test_accuracy,
            best.epoch + 1
        );
    }
    Ok(())
}

/// The independent runs of a series on this rank: its share of `jobs` when several ranks run,
/// the rest of the series (and its table) on rank 0 once all are done. Returns whether this
/// rank goes on to the table.
pub fn spread_series(
    world: &Arc<dyn Collective>,
    jobs: impl FnOnce() -> Result<Vec<Job>, RunError>,
    device: &burn::tensor::Device,
) -> Result<bool> {
    if world.size() == 1 {
        return Ok(true);
    }
    let jobs = jobs()?;
    let rank = world.rank();
    world::spread(world.as_ref(), &jobs, |job| {
        let dir = run_dir_for(&job.path, &job.config)?;
        train_in(
            &dir,
            &job.config,
            device,
            &format!("[{} rank {rank}] ", job.name),
        )?;
        Ok(())
    })
    .map_err(series_error)?;
    Ok(world.is_root())
}

/// `dalif train --seeds N`: the configuration's N runs and their table.
fn train_seeds(
    args: TrainArgs,
    device: &burn::tensor::Device,
    world: &Arc<dyn Collective>,
) -> Result<()> {
    let config = args.config.resolve()?;
    seeds::seeds(config.train.seed, args.seeds)?;
    world::root_first(world.as_ref(), || check(&config, device))?;
    let out = args.out.unwrap_or_else(|| default_out(&config));
    if !spread_series(world, || seeds::jobs(&config, args.seeds, &out), device)? {
        return Ok(());
    }
    println!("runs of {} seeds under {}", args.seeds, out.display());
    let runs = seeds::run(&config, args.seeds, &out, |dir, config| {
        let label = format!("[seed {}] ", config.train.seed);
        let (network, metrics) = train_in(dir, config, device, &label)?;
        Ok::<_, anyhow::Error>((learnable_params(&network), metrics))
    })
    .map_err(series_error)?;
    let (markdown, _) = seeds::table(&config, &runs);
    println!();
    print!("{markdown}");
    println!(
        "\nwritten: {}, {}",
        out.join("seeds.md").display(),
        out.join("seeds.csv").display()
    );
    Ok(())
}

pub fn eval(args: EvalArgs) -> Result<()> {
    let device = args.device.device()?;
    let trained = args.source.load(&device)?;
    let (network, test, config) = (&trained.network, &trained.test, &trained.config);
    let result = evaluate(network, test.as_ref(), &config.train, &device)?;
    println!(
        "{}: {} test samples, loss {:.4}, accuracy {:.2}%",
        trained.label,
        test.len(),
        result.loss,
        100.0 * result.accuracy
    );
    println!();
    println!("| layer | alpha | beta | firing rate |");
    println!("|---:|---:|---:|---:|");
    let mut layers = Vec::new();
    for (i, (neuron, rate)) in network
        .neurons()
        .iter()
        .zip(&result.firing_rate)
        .enumerate()
    {
        let (a, b) = neuron.mean_decays(&device);
        println!("| {} | {a:.4} | {b:.4} | {rate:.4} |", i + 1);
        layers
            .push(serde_json::json!({"layer": i + 1, "alpha": a, "beta": b, "firing_rate": rate}));
    }
    if let Some(path) = args.json {
        let report = serde_json::json!({
            "weights": trained.label,
            "epochs_done": trained.epochs_done,
            "samples": test.len(),
            "loss": result.loss,
            "accuracy": result.accuracy,
            "layers": layers,
        });
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

pub fn ablate(args: AblateArgs, world: &Arc<dyn Collective>) -> Result<()> {
    let device = args.device.autodiff()?;
    let base = args.config.resolve()?;
    seeds::seeds(base.train.seed, args.seeds)?;
    world::root_first(world.as_ref(), || open_data(&base))?;
    let jobs = || ablation::jobs(&base, args.compare_param, args.seeds, &args.out);
    if !spread_series(world, jobs, &device)? {
        return Ok(());
    }
    let rows = ablation::run(
        &base,
        args.compare_param,
        args.seeds,
        &args.out,
        |dir, config, name| {
            let label = format!("[{name} seed {}] ", config.train.seed);
            let (network, metrics) = train_in(dir, config, &device, &label)?;
            Ok::<_, anyhow::Error>((learnable_params(&network), metrics))
        },
    )
    .map_err(series_error)?;
    let (markdown, _) = ablation::table(&base, &rows);
    println!();
    print!("{markdown}");
    println!(
        "\nwritten: {}, {}",
        args.out.join("ablation.md").display(),
        args.out.join("ablation.csv").display()
    );
    Ok(())
}

/// A series' error, with what to change when its folder holds another run.
pub fn series_error(e: anyhow::Error) -> anyhow::Error {
    if let Some(RunError::OtherRun(_)) = e.downcast_ref::<RunError>() {
        e.context("choose another --out")
    } else {
        e
    }
}

pub fn presets() {
    println!("| preset | recipe |");
    println!("|---|---|");
    for (name, text) in crate::presets::PRESETS {
        println!("| {name} | {} |", crate::presets::describe(text));
    }
    println!("\nUse one with `dalif train --preset NAME`; flags override it.");
}
