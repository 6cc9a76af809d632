//! The paper's ablation: the same network and recipe with LIF, PLIF, DA-LIF and DA-LIF's
//! spatial-only and temporal-only variants (and, on request, DA-LIF with the other decay
//! parametrisation), each trained with the same seeds ([`super::seeds`]: a run directory
//! `<variant>/seed-<s>/` each), summarised per variant over the seeds, with the paired
//! differences of the comparisons the paper makes.

use super::seeds::{self, SeedRun};
use super::{Job, RunConfig, RunDir, RunError, write_atomic};
use crate::analysis::stats::{Paired, Verdict};
use crate::neuron::DecayParam;
use crate::neuron::NeuronKind;
use crate::training::EpochMetrics;
use std::fmt::Write as _;
use std::path::Path;

/// One variant of the ablation: its name (the folder of its run) and its configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// `dalif`, `lif`, ..., `dalif-sigmoid`.
    pub name: String,
    /// The base configuration with this variant's neuron (and the base seed: its runs take
    /// the seeds from it on).
    pub config: RunConfig,
}

/// The variants of `base`: the five neurons with `base`'s parametrisation, plus DA-LIF with
/// the other one when `compare_param`.
pub fn variants(base: &RunConfig, compare_param: bool) -> Vec<Variant> {
    let with = |name: String, neuron, param| {
        let mut config = base.clone();
        config.model.neuron = neuron;
        config.model.param = param;
        Variant { name, config }
    };
    let param = base.model.param;
    let mut v: Vec<_> = [
        NeuronKind::Lif,
        NeuronKind::Plif,
        NeuronKind::Dalif,
        NeuronKind::DalifSpatialOnly,
        NeuronKind::DalifTemporalOnly,
    ]
    .into_iter()
    .map(|n| with(n.to_string(), n, param))
    .collect();
    if compare_param {
        let other = match param {
            DecayParam::Tanh => DecayParam::Sigmoid,
            DecayParam::Sigmoid => DecayParam::Tanh,
        };
        v.push(with(format!("dalif-{other}"), NeuronKind::Dalif, other));
    }
    v
}

/// What one trained variant gave.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The variant.
    pub variant: Variant,
    /// Its run with each seed, in the order of the seeds.
    pub runs: Vec<SeedRun>,
}

impl Row {
    /// `(seed, last epoch's test accuracy in percent)` of each run.
    fn accuracies(&self) -> Vec<(u64, f64)> {
        let percent = |r: &SeedRun| 100.0 * r.test_accuracy();
        self.runs.iter().map(|r| (r.seed, percent(r))).collect()
    }
}

/// The runs of the ablation of `base` under `out`, variant by variant, seed by seed; each
/// named `<variant>/seed-<s>`.
pub fn jobs(
    base: &RunConfig,
    compare_param: bool,
    n_seeds: usize,
    out: &Path,
) -> Result<Vec<Job>, RunError> {
    let mut jobs = Vec::new();
    for variant in variants(base, compare_param) {
        for job in seeds::jobs(&variant.config, n_seeds, &out.join(&variant.name))? {
            let name = format!("{}/{}", variant.name, job.name);
            jobs.push(Job { name, ..job });
        }
    }
    Ok(jobs)
}

/// Trains every variant of `base` with `n_seeds` seeds under `out` (one run directory each,
/// `<variant>/seed-<s>/`; runs already trained there are reused, partly trained ones resumed)
/// with `train`, which trains the run in a directory with its configuration (the seed set)
/// and the variant's name, and returns its learnable parameters and metrics; writes
/// `ablation.md` and `ablation.csv` under `out` and returns the rows.
pub fn run<E: From<RunError>>(
    base: &RunConfig,
    compare_param: bool,
    n_seeds: usize,
    out: &Path,
    mut train: impl FnMut(&RunDir, &RunConfig, &str) -> Result<(usize, Vec<EpochMetrics>), E>,
) -> Result<Vec<Row>, E> {
    // Checked before the folder is made.
    seeds::seeds(base.train.seed, n_seeds)?;
    std::fs::create_dir_all(out).map_err(|source| RunError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let mut rows = Vec::new();
    for variant in variants(base, compare_param) {
        let runs = seeds::train(
            &variant.config,
            n_seeds,
            &out.join(&variant.name),
            |dir, config| train(dir, config, &variant.name),
        )?;
        rows.push(Row { variant, runs });
    }
    let (markdown, csv) = table(base, &rows);
    for (file, text) in [("ablation.md", &markdown), ("ablation.csv", &csv)] {
        write_atomic(&out.join(file), text.as_bytes())?;
    }
    Ok(rows)
}

/// One of the paper's claims, checked on paired runs: variant `a` scores higher than `b`.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The variant the paper finds better.
    pub a: String,
    /// The variant it is compared with.
    pub b: String,
    /// The paper's claim, in words.
    pub claim: &'static str,
    /// `a - b` in points of last-epoch test accuracy, seed by seed.
    pub paired: Paired,
}

/// The paper's claims that `rows` can check: DA-LIF against LIF, PLIF, spatial-only and
/// temporal-only DA-LIF (with the same parametrisation), and tanh against sigmoid when both
/// were trained.
pub fn comparisons(rows: &[Row]) -> Vec<Comparison> {
    let find = |neuron: NeuronKind, param: DecayParam| {
        rows.iter().find(|r| {
            let m = &r.variant.config.model;
            m.neuron == neuron && m.param == param
        })
    };
    let claims = [
        (NeuronKind::Lif, "DA-LIF is more accurate than LIF"),
        (NeuronKind::Plif, "DA-LIF is more accurate than PLIF"),
        (
            NeuronKind::DalifSpatialOnly,
            "learning both decays beats learning alpha alone",
        ),
        (
            NeuronKind::DalifTemporalOnly,
            "learning both decays beats learning beta alone",
        ),
    ];
    let mut pairs: Vec<(&Row, &Row, &'static str)> = claims
        .into_iter()
        .filter_map(|(other, claim)| {
            let b = rows
                .iter()
                .find(|r| r.variant.config.model.neuron == other)?;
            let a = find(NeuronKind::Dalif, b.variant.config.model.param)?;
            Some((a, b, claim))
        })
        .collect();
    if let (Some(a), Some(b)) = (
        find(NeuronKind::Dalif, DecayParam::Tanh),
        find(NeuronKind::Dalif, DecayParam::Sigmoid),
    ) {
        pairs.push((a, b, "the tanh parametrisation beats sigmoid"));
    }
    pairs
        .into_iter()
        .map(|(a, b, claim)| Comparison {
            a: a.variant.name.clone(),
            b: b.variant.name.clone(),
            claim,
            paired: Paired::of(&a.accuracies(), &b.accuracies()),
        })
        .collect()
}

/// The ablation table as Markdown (a row per variant over its seeds, then the paired
/// differences) and CSV (a row per variant and seed).
pub fn table(base: &RunConfig, rows: &[Row]) -> (String, String) {
    let seeds_of = rows.first().map_or(&[][..], |r| &r.runs[..]);
    let mut md = format!(
        "Ablation on {} with {}: {}.\n\n",
        base.data.name,
        base.model.kind,
        seeds::recipe(base, seeds_of)
    );
    let [columns, align] = seeds::SUMMARY_COLUMNS;
    let _ = writeln!(md, "| variant | neuron | decays | parameters | {columns} |");
    let _ = writeln!(md, "|---|---|---|---:|{align}|");
    let mut csv = format!("variant,seed,neuron,param,{}\n", seeds::CSV_COLUMNS);
    for r in rows {
        let model = &r.variant.config.model;
        let decays = match model.neuron {
            NeuronKind::Lif => "fixed".to_string(),
            NeuronKind::Plif => "tau".to_string(),
            _ => model.param.to_string(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            r.variant.name,
            model.neuron,
            decays,
            r.runs.first().map_or(0, |run| run.params),
            seeds::summary_cells(&r.runs)
        );
        for run in &r.runs {
            let _ = writeln!(
                csv,
                "{},{},{},{},{}",
                r.variant.name,
                run.seed,
                model.neuron,
                model.param,
                seeds::csv_cells(run)
            );
        }
    }
    let comparisons = comparisons(rows);
    md += "\nPaired differences: the same seed in both variants (same batch order; the same \
           initial weights where the shapes agree), in points of test accuracy.\n\n";
    md += "| pair | paper's claim | mean difference (points) | 95% CI | verdict |\n";
    md += "|---|---|---:|---|---|\n";
    for c in &comparisons {
        let e = &c.paired.estimate;
        let _ = writeln!(
            md,
            "| {} - {} | {} | {:+.2} | {} | {} |",
            c.a,
            c.b,
            c.claim,
            e.mean,
            seeds::interval(e.interval, true),
            c.paired.verdict
        );
    }
    let name = |c: &&Comparison| format!("{} vs {}", c.a, c.b);
    let (yes, no): (Vec<_>, Vec<_>) = comparisons
        .iter()
        .partition(|c| c.paired.verdict == Verdict::Supported);
    let list = |cs: &[&Comparison]| match cs {
        [] => "none".to_string(),
        cs => cs.iter().map(name).collect::<Vec<_>>().join(", "),
    };
    md += "\n";
    if comparisons
        .iter()
        .all(|c| c.paired.verdict == Verdict::OneSeed)
    {
        md += "One seed per variant: no interval, so these runs judge none of the claims.\n";
    } else {
        let _ = writeln!(
            md,
            "These runs support: {}. They do not support: {}.",
            list(&yes),
            list(&no)
        );
    }
    md += "\n";
    md += seeds::NOTE;
    (md, csv)
}
