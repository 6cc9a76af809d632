//! The paper's ablation: the same network and recipe with LIF, PLIF, DA-LIF and DA-LIF's
//! spatial-only and temporal-only variants (and, on request, DA-LIF with the other decay
//! parametrisation), each a run directory of its own under one folder, summarised in a table.

use super::{RunConfig, RunDir, RunError, run_dir_for};
use crate::neuron::DecayParam;
use crate::neuron::NeuronKind;
use crate::training::EpochMetrics;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One variant of the ablation: its name (the folder of its run) and its configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// `dalif`, `lif`, ..., `dalif-sigmoid`.
    pub name: String,
    /// The base configuration with this variant's neuron.
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
    /// Learnable parameters of its network.
    pub params: usize,
    /// Its metrics, one entry per epoch.
    pub metrics: Vec<EpochMetrics>,
}

/// Trains every variant of `base` under `out` (one run directory each; variants already
/// trained there are reused, partly trained ones resumed) with `train`, which trains the run
/// in a directory and returns its learnable parameters and metrics; writes `ablation.md` and
/// `ablation.csv` under `out` and returns the rows.
pub fn run<E: From<RunError>>(
    base: &RunConfig,
    compare_param: bool,
    out: &Path,
    mut train: impl FnMut(&RunDir, &Variant) -> Result<(usize, Vec<EpochMetrics>), E>,
) -> Result<Vec<Row>, E> {
    std::fs::create_dir_all(out).map_err(|source| RunError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let mut rows = Vec::new();
    for variant in variants(base, compare_param) {
        let dir = run_dir_for(&out.join(&variant.name), &variant.config)?;
        let (params, metrics) = train(&dir, &variant)?;
        if metrics.is_empty() {
            return Err(
                RunError::Config(format!("{}: no epoch completed", dir.path().display())).into(),
            );
        }
        rows.push(Row {
            variant,
            params,
            metrics,
        });
    }
    let (markdown, csv) = table(base, &rows);
    for (file, text) in [("ablation.md", &markdown), ("ablation.csv", &csv)] {
        let path: PathBuf = out.join(file);
        super::write_atomic(&path, text.as_bytes())?;
    }
    Ok(rows)
}

/// The ablation table as Markdown and CSV.
pub fn table(base: &RunConfig, rows: &[Row]) -> (String, String) {
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
        let last = r.metrics.last().expect("a row has at least one epoch");
        let best = r
            .metrics
            .iter()
            .map(|m| m.test_accuracy)
            .fold(0.0, f64::max);
        let seconds: f64 = r.metrics.iter().map(|m| m.seconds).sum();
        let rates = &last.firing_rate;
        let mean_rate = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
        let model = &r.variant.config.model;
        let decays = match model.neuron {
            NeuronKind::Lif => "fixed".to_string(),
            NeuronKind::Plif => "tau".to_string(),
            _ => model.param.to_string(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.2}% | {:.2}% | {:.4} | {:.1} |",
            r.variant.name,
            model.neuron,
            decays,
            r.params,
            100.0 * last.test_accuracy,
            100.0 * best,
            mean_rate,
            seconds
        );
        let per_layer: Vec<String> = rates.iter().map(|x| format!("{x:.5}")).collect();
        let _ = writeln!(
            csv,
            "{},{},{},{},{:.6},{:.6},{:.6},{},{:.2}",
            r.variant.name,
            model.neuron,
            model.param,
            r.params,
            last.test_accuracy,
            best,
            mean_rate,
            per_layer.join(" "),
            seconds
        );
    }
    (md, csv)
}
