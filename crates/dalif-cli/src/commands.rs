//! `dalif train`, `eval`, `ablate` and `presets`.

use crate::config_args::{ConfigArgs, DeviceArgs};
use crate::progress::Progress;
use crate::source::SourceArgs;
use anyhow::{Context, Result, bail};
use clap::Args;
use dalif::models::SpikingClassifier;
use dalif::neuron::{DecayParam, NeuronKind};
use dalif::run::{self, RunConfig, RunDir, RunError, Splits};
use dalif::training::{EpochMetrics, TrainError, evaluate};
use dalif_data::Dataset;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use strum::VariantArray;

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Run directory to create (it must not exist, or be empty). Default:
    /// runs/<data>-<model>-<neuron>-<n> with the first free n.
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Continue the run in RUN_DIR from its last completed epoch, with its own configuration
    /// (so no configuration flags).
    #[arg(long, value_name = "RUN_DIR", conflicts_with = "config")]
    resume: Option<PathBuf>,
    #[command(flatten)]
    device: DeviceArgs,
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
    /// Folder of the ablation: one run directory per variant, and ablation.md / ablation.csv.
    /// Variants already trained there are reused, partly trained ones resumed.
    #[arg(long, value_name = "DIR", default_value = "runs/ablation")]
    out: PathBuf,
    #[command(flatten)]
    device: DeviceArgs,
}

fn default_out(config: &RunConfig) -> PathBuf {
    let stem = format!(
        "{}-{}-{}",
        config.data.name, config.model.kind, config.model.neuron
    );
    let runs = Path::new("runs");
    (1..)
        .map(|n| runs.join(format!("{stem}-{n}")))
        .find(|p| !p.exists())
        .expect("some n is free")
}

/// The run's data, event frames integrated (once, then cached) with a progress bar.
pub fn open_data(config: &RunConfig) -> Result<Splits> {
    let (train, test) = config
        .data
        .open(config.train.steps, &dalif_data::cache::default_root())?;
    for (set, split) in [(&train, "train"), (&test, "test")] {
        let name = format!("{} {split}", config.data.name);
        crate::progress::build_frame_cache(set.as_ref(), &name)?;
    }
    Ok((train, test))
}

fn describe(config: &RunConfig, train: &dyn Dataset, test: &dyn Dataset) -> String {
    let t = &config.train;
    format!(
        "{}: {} train / {} test samples of {:?}, {} classes; {} with {} neurons ({}), T = {}, {} epochs, batch {}, {} lr {}",
        config.data.name,
        train.len(),
        test.len(),
        train.sample_shape(),
        train.num_classes(),
        config.model.kind,
        config.model.neuron,
        config.model.param,
        t.steps,
        t.epochs,
        t.batch_size,
        t.optimizer,
        t.lr
    )
}

/// Trains the run in `dir`, reporting on the terminal; on Ctrl-C, says how to continue.
pub fn train_in(
    dir: &RunDir,
    config: &RunConfig,
    device: &burn::tensor::Device,
    label: &str,
) -> Result<Vec<EpochMetrics>> {
    let (train, test) = open_data(config)?;
    let header = describe(config, train.as_ref(), test.as_ref());
    println!("{label}{header}");
    dir.log(&header)?;
    let mut progress = Progress::new(config.train.epochs, label);
    match run::train(
        dir,
        config,
        train.as_ref(),
        test.as_ref(),
        &device.clone().autodiff(),
        &mut progress,
    ) {
        Err(RunError::Train(TrainError::Stopped { epochs_done })) => bail!(
            "interrupted: epochs 1-{epochs_done} are saved; continue with `dalif train --resume {}`",
            dir.path().display()
        ),
        // Writing the run directory failed mid-run (a full disk, a folder turned read-only):
        // the last completed epoch is kept, and the run continues from it once fixed.
        Err(e @ RunError::Train(TrainError::Observer(_))) => bail!(
            "{e}; continue with `dalif train --resume {}` once this is fixed",
            dir.path().display()
        ),
        other => {
            other?;
        }
    }
    Ok(dir.metrics()?)
}

pub fn train(args: TrainArgs) -> Result<()> {
    let device = args.device.device()?;
    let (dir, config) = match &args.resume {
        Some(path) => RunDir::open(path)?,
        None => {
            let config = args.config.resolve()?;
            // Fail on the data and the network before anything is written.
            let (train, _) = open_data(&config)?;
            config.train.augmentation.check(train.as_ref())?;
            config.model.resolve(train.as_ref())?.init(&device)?;
            let out = args.out.clone().unwrap_or_else(|| default_out(&config));
            (RunDir::create(&out, &config)?, config)
        }
    };
    println!("run directory: {}", dir.path().display());
    let metrics = train_in(&dir, &config, &device, "")?;
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

/// The ablation's variants, every neuron kind: `(name, neuron, parametrisation)`.
fn variants(base: DecayParam, compare_param: bool) -> Vec<(String, NeuronKind, DecayParam)> {
    let mut v: Vec<_> = NeuronKind::VARIANTS
        .iter()
        .map(|&n| (n.to_string(), n, base))
        .collect();
    if compare_param {
        let other = match base {
            DecayParam::Tanh => DecayParam::Sigmoid,
            DecayParam::Sigmoid => DecayParam::Tanh,
        };
        v.push((format!("dalif-{other}"), NeuronKind::Dalif, other));
    }
    v
}

struct Row {
    name: String,
    neuron: NeuronKind,
    param: DecayParam,
    params: usize,
    last: EpochMetrics,
    best: f64,
    seconds: f64,
}

pub fn ablate(args: AblateArgs) -> Result<()> {
    let device = args.device.device()?;
    let base = args.config.resolve()?;
    let (train, _) = open_data(&base)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut rows = Vec::new();
    for (name, neuron, param) in variants(base.model.param, args.compare_param) {
        let mut config = base.clone();
        config.model.neuron = neuron;
        config.model.param = param;
        let dir = run_dir_for(&args.out.join(&name), &config)?;
        let metrics = train_in(&dir, &config, &device, &format!("[{name}] "))?;
        let model = config.model.resolve(train.as_ref())?;
        let last = metrics.last().context("no epoch completed")?.clone();
        rows.push(Row {
            name,
            neuron,
            param,
            params: model.num_params(),
            best: metrics.iter().map(|m| m.test_accuracy).fold(0.0, f64::max),
            seconds: metrics.iter().map(|m| m.seconds).sum(),
            last,
        });
    }
    let (markdown, csv) = table(&base, &rows);
    println!();
    print!("{markdown}");
    for (file, text) in [("ablation.md", &markdown), ("ablation.csv", &csv)] {
        let path = args.out.join(file);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!(
        "\nwritten: {}, {}",
        args.out.join("ablation.md").display(),
        args.out.join("ablation.csv").display()
    );
    Ok(())
}

/// The run directory of one variant of a series (ablation, sweep): the run already at
/// `path` when it has `config` (to reuse or resume), else a new one.
pub fn run_dir_for(path: &Path, config: &RunConfig) -> Result<RunDir> {
    if !path.join("config.toml").exists() {
        return Ok(RunDir::create(path, config)?);
    }
    let (dir, existing) = RunDir::open(path)?;
    if existing != *config {
        bail!(
            "{} holds a run with another configuration: choose another --out",
            path.display()
        );
    }
    Ok(dir)
}

fn table(base: &RunConfig, rows: &[Row]) -> (String, String) {
    let t = &base.train;
    let mut md = format!(
        "Ablation on {} with {}: T = {}, {} epochs, batch {}, {} lr {}, seed {}.\n\n",
        base.data.name, base.model.kind, t.steps, t.epochs, t.batch_size, t.optimizer, t.lr, t.seed
    );
    md += "| variant | neuron | decays | parameters | test accuracy | best test accuracy | mean firing rate | train seconds |\n";
    md += "|---|---|---|---:|---:|---:|---:|---:|\n";
    let mut csv = String::from(
        "variant,neuron,param,parameters,test_accuracy,best_test_accuracy,mean_firing_rate,firing_rates,train_seconds\n",
    );
    for r in rows {
        let rates = &r.last.firing_rate;
        let mean_rate = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
        let decays = match r.neuron {
            NeuronKind::Lif => "fixed".to_string(),
            NeuronKind::Plif => "tau".to_string(),
            _ => r.param.to_string(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.2}% | {:.2}% | {:.4} | {:.1} |",
            r.name,
            r.neuron,
            decays,
            r.params,
            100.0 * r.last.test_accuracy,
            100.0 * r.best,
            mean_rate,
            r.seconds
        );
        let per_layer: Vec<String> = rates.iter().map(|x| format!("{x:.5}")).collect();
        let _ = writeln!(
            csv,
            "{},{},{},{},{:.6},{:.6},{:.6},{},{:.2}",
            r.name,
            r.neuron,
            r.param,
            r.params,
            r.last.test_accuracy,
            r.best,
            mean_rate,
            per_layer.join(" "),
            r.seconds
        );
    }
    (md, csv)
}

pub fn presets() {
    println!("| preset | recipe |");
    println!("|---|---|");
    for (name, text) in crate::presets::PRESETS {
        println!("| {name} | {} |", crate::presets::describe(text));
    }
    println!("\nUse one with `dalif train --preset NAME`; flags override it.");
}
