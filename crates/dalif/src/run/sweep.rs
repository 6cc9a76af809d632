//! The paper's motivation figure: the same network trained with DA-LIF's alpha and beta
//! frozen at every point of a grid, under one budget; the test accuracies make a heatmap over
//! (alpha, beta).

use super::{Job, RunConfig, RunDir, RunError, run_dir_for, write_atomic};
use crate::analysis::plot::Heatmap;
use crate::neuron::NeuronKind;
use crate::training::EpochMetrics;
use std::fmt::Write as _;
use std::path::Path;

/// The most points per axis.
pub const MAX_GRID: usize = 20;

/// The values each decay takes on a grid of `n` points per axis: `(i + 1/2) / n`,
/// `i = 0..n` (5: 0.1, 0.3, 0.5, 0.7, 0.9).
pub fn grid(n: usize) -> Vec<f64> {
    (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect()
}

/// The result of a sweep: test accuracy (%) at every grid point.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepResult {
    /// The values of alpha and of beta.
    pub values: Vec<f64>,
    /// `accuracy[j][i]`: the last epoch's test accuracy (%) at `alpha = values[i]`,
    /// `beta = values[j]`.
    pub accuracy: Vec<Vec<f64>>,
    /// The table as Markdown.
    pub markdown: String,
    /// The same as CSV, with each point's best accuracy and run directory.
    pub csv: String,
}

impl SweepResult {
    /// The heatmap of the accuracies over (alpha, beta).
    pub fn heatmap(&self, base: &RunConfig) -> Heatmap {
        Heatmap {
            title: format!(
                "Test accuracy (%), {} on {}",
                base.model.kind, base.data.name
            ),
            x_label: "alpha (spatial decay)".into(),
            y_label: "beta (temporal decay)".into(),
            x: self.values.clone(),
            y: self.values.clone(),
            values: self.accuracy.clone(),
        }
    }
}

/// The runs of the sweep of `base` on an `n x n` grid under `out`, in the order the sweep
/// trains them (beta outer, alpha inner): `dalif sweep --point K` trains the `K`-th.
pub fn jobs(base: &RunConfig, n: usize, out: &Path) -> Result<Vec<Job>, RunError> {
    if !(1..=MAX_GRID).contains(&n) {
        return Err(RunError::Config(format!(
            "a sweep takes 1 to {MAX_GRID} points per axis, got {n}"
        )));
    }
    if base.model.neuron != NeuronKind::Dalif {
        return Err(RunError::Config(format!(
            "the sweep freezes DA-LIF's decays: it trains the dalif neuron, not {}",
            base.model.neuron
        )));
    }
    let values = grid(n);
    let mut jobs = Vec::new();
    for &beta in &values {
        for &alpha in &values {
            let mut config = base.clone();
            config.model.fixed_decays = Some([alpha, beta]);
            let name = format!("alpha{alpha:.3}-beta{beta:.3}");
            jobs.push(Job {
                path: out.join(&name),
                config,
                name,
            });
        }
    }
    Ok(jobs)
}

/// Trains `base` with DA-LIF's decays frozen at every point of an `n x n` grid under `out`
/// (one run directory per point, `alpha{a}-beta{b}`; points already trained there are reused,
/// partly trained ones resumed) with `train`, which trains the run in a directory and
/// returns its metrics; writes `sweep.csv` and `sweep.md` under `out`.
pub fn run<E: From<RunError>>(
    base: &RunConfig,
    n: usize,
    out: &Path,
    mut train: impl FnMut(&RunDir, &RunConfig, &str) -> Result<Vec<EpochMetrics>, E>,
) -> Result<SweepResult, E> {
    let jobs = jobs(base, n, out)?;
    std::fs::create_dir_all(out).map_err(|source| RunError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let values = grid(n);
    let mut accuracy = vec![vec![f64::NAN; n]; n];
    let mut csv = String::from("alpha,beta,test_accuracy,best_test_accuracy,run_dir\n");
    for (k, job) in jobs.iter().enumerate() {
        let (j, i) = (k / n, k % n);
        let [alpha, beta] = [values[i], values[j]];
        let dir = run_dir_for(&job.path, &job.config)?;
        let metrics = train(&dir, &job.config, &job.name)?;
        let Some(last) = metrics.last() else {
            return Err(
                RunError::Config(format!("{}: no epoch completed", dir.path().display())).into(),
            );
        };
        let best = metrics.iter().map(|m| m.test_accuracy).fold(0.0, f64::max);
        accuracy[j][i] = 100.0 * last.test_accuracy;
        let _ = writeln!(
            csv,
            "{alpha},{beta},{},{best},{}",
            last.test_accuracy,
            dir.path().display()
        );
    }
    let t = &base.train;
    let mut md = format!(
        "Test accuracy (%) of {} on {} with DA-LIF's alpha and beta frozen: T = {}, {} epochs, \
         batch {}, {} lr {}, seed {}.\n\n| beta \\ alpha |",
        base.model.kind, base.data.name, t.steps, t.epochs, t.batch_size, t.optimizer, t.lr, t.seed
    );
    for a in &values {
        let _ = write!(md, " {a:.2} |");
    }
    md += "\n|---:|";
    md += &"---:|".repeat(n);
    for (j, b) in values.iter().enumerate().rev() {
        let _ = write!(md, "\n| {b:.2} |");
        for v in &accuracy[j] {
            let _ = write!(md, " {v:.2} |");
        }
    }
    md += "\n";
    for (file, text) in [("sweep.csv", &csv), ("sweep.md", &md)] {
        write_atomic(&out.join(file), text.as_bytes())?;
    }
    Ok(SweepResult {
        values,
        accuracy,
        markdown: md,
        csv,
    })
}
