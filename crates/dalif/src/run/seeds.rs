//! One configuration trained with several seeds. Seed `k` of `n` is `train.seed + k`, which
//! draws both the initial weights and the batch order; each seed's run is a run directory
//! `seed-<s>/` under one folder (finished runs are reused, partly trained ones resumed), and
//! the table gives the mean, standard deviation and 95% interval over the seeds
//! ([`crate::analysis::stats`]). The ablation trains each of its variants this way.

use super::{Job, RunConfig, RunDir, RunError, run_dir_for, write_atomic};
use crate::analysis::stats::Estimate;
use crate::training::EpochMetrics;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The seeds of `n` runs from `first`: `first, first + 1, ..., first + n - 1`.
pub fn seeds(first: u64, n: usize) -> Result<Vec<u64>, RunError> {
    if n == 0 {
        return Err(RunError::Config(
            "the number of seeds (runs per configuration) must be at least 1, got 0".into(),
        ));
    }
    (0..n as u64)
        .map(|k| {
            first.checked_add(k).ok_or_else(|| {
                RunError::Config(format!(
                    "{n} seeds from train.seed = {first} pass the largest seed, {}",
                    u64::MAX
                ))
            })
        })
        .collect()
}

/// The run directory of seed `seed` under `folder`.
pub fn seed_dir(folder: &Path, seed: u64) -> PathBuf {
    folder.join(format!("seed-{seed}"))
}

/// What the run of one seed gave.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedRun {
    /// Its `train.seed`.
    pub seed: u64,
    /// Learnable parameters of its network.
    pub params: usize,
    /// Its metrics, one entry per epoch (at least one).
    pub metrics: Vec<EpochMetrics>,
}

impl SeedRun {
    /// The last epoch's test accuracy: the figure the series compare. The best epoch's is
    /// chosen on the test set itself, so it is optimistic.
    pub fn test_accuracy(&self) -> f64 {
        self.last().test_accuracy
    }

    /// The best test accuracy of any epoch.
    pub fn best_test_accuracy(&self) -> f64 {
        self.metrics
            .iter()
            .map(|m| m.test_accuracy)
            .fold(0.0, f64::max)
    }

    /// The last epoch's firing rate, averaged over the spiking layers.
    pub fn mean_firing_rate(&self) -> f64 {
        let rates = &self.last().firing_rate;
        rates.iter().sum::<f64>() / rates.len().max(1) as f64
    }

    /// Wall-clock seconds of all its epochs.
    pub fn seconds(&self) -> f64 {
        self.metrics.iter().map(|m| m.seconds).sum()
    }

    fn last(&self) -> &EpochMetrics {
        self.metrics
            .last()
            .expect("a seed's run has at least one epoch")
    }
}

/// The runs of `config` with `n` seeds under `folder` (`seed-<s>/` each), each named
/// `seed-<s>`.
pub fn jobs(config: &RunConfig, n: usize, folder: &Path) -> Result<Vec<Job>, RunError> {
    let seeds = seeds(config.train.seed, n)?;
    // A run directory here is a single run (or an ablation from before seeds): runs of seeds
    // inside it would mix two series in one folder.
    if folder.join("config.toml").exists() {
        return Err(RunError::Config(format!(
            "{} is a run directory itself; the runs of a series go into seed-<s>/ folders of \
             their own: choose another folder, or move that run into its seed-{}/",
            folder.display(),
            config.train.seed
        )));
    }
    Ok(seeds
        .into_iter()
        .map(|seed| {
            let mut config = config.clone();
            config.train.seed = seed;
            Job {
                path: seed_dir(folder, seed),
                config,
                name: format!("seed-{seed}"),
            }
        })
        .collect())
}

/// Trains `config` with `n` seeds under `folder` (`seed-<s>/` each) with `train`, which trains
/// the run in a directory with its configuration (the seed set) and returns its learnable
/// parameters and metrics. Nothing is written when `n` is 0.
pub fn train<E: From<RunError>>(
    config: &RunConfig,
    n: usize,
    folder: &Path,
    mut train: impl FnMut(&RunDir, &RunConfig) -> Result<(usize, Vec<EpochMetrics>), E>,
) -> Result<Vec<SeedRun>, E> {
    let mut runs = Vec::new();
    for job in jobs(config, n, folder)? {
        let dir = run_dir_for(&job.path, &job.config)?;
        let (params, metrics) = train(&dir, &job.config)?;
        if metrics.is_empty() {
            return Err(
                RunError::Config(format!("{}: no epoch completed", dir.path().display())).into(),
            );
        }
        runs.push(SeedRun {
            seed: job.config.train.seed,
            params,
            metrics,
        });
    }
    Ok(runs)
}

/// The runs of one configuration over its seeds. Accuracies in percent.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The last epoch's test accuracy: mean, sd and 95% interval over the seeds.
    pub test_accuracy: Estimate,
    /// The mean of the best epochs' test accuracies.
    pub best_test_accuracy: f64,
    /// The mean of the runs' mean firing rates.
    pub firing_rate: f64,
    /// The mean training time in seconds.
    pub seconds: f64,
}

impl Summary {
    /// The summary of `runs`.
    pub fn of(runs: &[SeedRun]) -> Self {
        let mean = |f: fn(&SeedRun) -> f64| runs.iter().map(f).sum::<f64>() / runs.len() as f64;
        let accuracies: Vec<f64> = runs.iter().map(|r| 100.0 * r.test_accuracy()).collect();
        Self {
            test_accuracy: Estimate::of(&accuracies),
            best_test_accuracy: 100.0 * mean(SeedRun::best_test_accuracy),
            firing_rate: mean(SeedRun::mean_firing_rate),
            seconds: mean(SeedRun::seconds),
        }
    }
}

/// The Markdown columns of [`summary_cells`], with their alignment row.
pub(super) const SUMMARY_COLUMNS: [&str; 2] = [
    "seeds | mean test accuracy | sd | 95% CI | mean best test accuracy | mean firing rate | mean train seconds",
    "---:|---:|---:|---|---:|---:|---:",
];

/// The Markdown cells of `runs`' summary, between `|`s.
pub(super) fn summary_cells(runs: &[SeedRun]) -> String {
    let s = Summary::of(runs);
    let a = &s.test_accuracy;
    format!(
        "{} | {:.2}% | {} | {} | {:.2}% | {:.4} | {:.1}",
        a.n,
        a.mean,
        a.sd.map_or("-".into(), |sd| format!("{sd:.2}")),
        interval(a.interval, false),
        s.best_test_accuracy,
        s.firing_rate,
        s.seconds
    )
}

/// `[low, high]` with 2 decimals (with their signs when `signed`: differences), or `-` for
/// none.
pub(super) fn interval(interval: Option<[f64; 2]>, signed: bool) -> String {
    match interval {
        Some([lo, hi]) if signed => format!("[{lo:+.2}, {hi:+.2}]"),
        Some([lo, hi]) => format!("[{lo:.2}, {hi:.2}]"),
        None => "-".into(),
    }
}

/// The CSV columns of [`csv_cells`].
pub(super) const CSV_COLUMNS: &str =
    "parameters,test_accuracy,best_test_accuracy,mean_firing_rate,firing_rates,train_seconds";

/// One seed's run as CSV cells: accuracies as fractions, the firing rate of every layer.
pub(super) fn csv_cells(run: &SeedRun) -> String {
    let per_layer: Vec<String> = run
        .last()
        .firing_rate
        .iter()
        .map(|x| format!("{x:.5}"))
        .collect();
    format!(
        "{},{:.6},{:.6},{:.6},{},{:.2}",
        run.params,
        run.test_accuracy(),
        run.best_test_accuracy(),
        run.mean_firing_rate(),
        per_layer.join(" "),
        run.seconds()
    )
}

/// The recipe and the seeds, for a table's header line.
pub(super) fn recipe(config: &RunConfig, runs: &[SeedRun]) -> String {
    let t = &config.train;
    let seeds: Vec<String> = runs.iter().map(|r| r.seed.to_string()).collect();
    format!(
        "T = {}, {} epochs, batch {}, {} lr {}, seeds {} (initial weights and batch order)",
        t.steps,
        t.epochs,
        t.batch_size,
        t.optimizer,
        t.lr,
        seeds.join(", ")
    )
}

/// How the tables' figures are made, below them.
pub(super) const NOTE: &str = "Test accuracy is the last epoch's (the best epoch is chosen on \
the test set, so its accuracy is optimistic); intervals are 95% Student's t intervals of the \
mean over the seeds (n - 1 degrees of freedom).\n";

/// Trains `config` with `n` seeds under `out` (see [`train`]) and writes `seeds.md` and
/// `seeds.csv` there.
pub fn run<E: From<RunError>>(
    config: &RunConfig,
    n: usize,
    out: &Path,
    train_run: impl FnMut(&RunDir, &RunConfig) -> Result<(usize, Vec<EpochMetrics>), E>,
) -> Result<Vec<SeedRun>, E> {
    let runs = train(config, n, out, train_run)?;
    let (markdown, csv) = table(config, &runs);
    for (file, text) in [("seeds.md", &markdown), ("seeds.csv", &csv)] {
        write_atomic(&out.join(file), text.as_bytes())?;
    }
    Ok(runs)
}

/// The table of one configuration's seeds as Markdown (the summary, then one row per seed)
/// and CSV (one row per seed).
pub fn table(config: &RunConfig, runs: &[SeedRun]) -> (String, String) {
    let m = &config.model;
    let mut md = format!(
        "{} with {} neurons ({}) on {}, {} parameters: {}.\n\n| {} |\n|{}|\n| {} |\n\n",
        m.kind,
        m.neuron,
        m.param,
        config.data.name,
        runs.first().map_or(0, |r| r.params),
        recipe(config, runs),
        SUMMARY_COLUMNS[0],
        SUMMARY_COLUMNS[1],
        summary_cells(runs)
    );
    md += "| seed | test accuracy | best test accuracy | mean firing rate | train seconds |\n";
    md += "|---:|---:|---:|---:|---:|\n";
    let mut csv = format!("seed,{CSV_COLUMNS}\n");
    for r in runs {
        let _ = writeln!(
            md,
            "| {} | {:.2}% | {:.2}% | {:.4} | {:.1} |",
            r.seed,
            100.0 * r.test_accuracy(),
            100.0 * r.best_test_accuracy(),
            r.mean_firing_rate(),
            r.seconds()
        );
        let _ = writeln!(csv, "{},{}", r.seed, csv_cells(r));
    }
    md += "\n";
    md += NOTE;
    (md, csv)
}
