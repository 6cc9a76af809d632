//! What `dalif analyze` writes: the learned decays and firing rates of every spiking layer,
//! operation counts and energy, parameter counts, and the training curves, as Markdown, CSV
//! and (with the `plot` feature) charts.

use super::energy::{Costs, Drive, EnergyModel};
use super::plot::{Chart, Series};
#[cfg(feature = "plot")]
use super::plot::{PlotError, render};
use crate::training::EpochMetrics;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One spiking layer: its decays (per-channel layers: the mean) and firing rate.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerReport {
    /// The layer's name (its module path).
    pub name: String,
    /// The learned spatial decay alpha.
    pub alpha: f64,
    /// The learned temporal decay beta.
    pub beta: f64,
    /// `mean(S)` over all its outputs on the evaluation: spikes per neuron per step.
    pub firing_rate: f64,
    /// Its firing rate at initialisation, in the run's first training step (`None` for runs
    /// written before dalif recorded it).
    pub init_firing_rate: Option<f64>,
}

/// Everything the report says about one trained network.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    /// What was analysed ("runs/x (best checkpoint, after epoch 7)").
    pub source: String,
    /// Time steps T of the evaluation.
    pub steps: usize,
    /// Test samples evaluated.
    pub samples: usize,
    /// Mean test loss.
    pub loss: f64,
    /// Test accuracy, a fraction.
    pub accuracy: f64,
    /// Every spiking layer, in forward order.
    pub layers: Vec<LayerReport>,
    /// Operation counts and energy of one sample.
    pub costs: Costs,
    /// The energy per operation the costs use.
    pub energy: EnergyModel,
    /// Learnable parameters.
    pub params: usize,
    /// Learnable parameters of the same network with LIF neurons (none in the neurons): the
    /// difference is what the neurons add.
    pub lif_params: usize,
    /// The run's metrics log, one entry per epoch.
    pub metrics: Vec<EpochMetrics>,
}

/// Errors writing the report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file or folder that cannot be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// A chart that could not be drawn.
    #[cfg(feature = "plot")]
    #[error(transparent)]
    Plot(#[from] PlotError),
}

#[cfg(feature = "plot")]
const PANEL: (u32, u32) = (640, 420);

fn micro_joules(pj: f64) -> f64 {
    pj * 1e-6
}

impl Analysis {
    /// The report as Markdown (`analysis.md`): parameters, the spiking layers, operations
    /// and energy, and (with the `plot` feature) the list of chart files.
    pub fn markdown(&self) -> String {
        let mut md = format!("# Analysis of {}\n\n", self.source);
        let _ = writeln!(
            md,
            "Evaluated on {} test samples at T = {}: accuracy {:.2}%, loss {:.4}.\n",
            self.samples,
            self.steps,
            100.0 * self.accuracy,
            self.loss
        );
        let n = self.layers.len();
        let extra = self.params as i64 - self.lif_params as i64;
        md += "## Parameters\n\n| network | learnable parameters |\n|---|---:|\n";
        let _ = writeln!(md, "| this network | {} |", self.params);
        let _ = writeln!(md, "| the same with LIF neurons | {} |", self.lif_params);
        let _ = writeln!(
            md,
            "| overhead | {extra:+} ({} spiking layers, {:+.2} per layer) |\n",
            n,
            extra as f64 / n.max(1) as f64
        );
        md += "## Spiking layers\n\nFiring rate at initialisation: in the run's first training step (batch \
               statistics in batch norm), as training first saw the network.\n\n\
               | # | layer | alpha | beta | firing rate | at initialisation |\n|---:|---|---:|---:|---:|---:|\n";
        for (i, l) in self.layers.iter().enumerate() {
            let init = l
                .init_firing_rate
                .map_or("not recorded".to_string(), |r| format!("{r:.4}"));
            let _ = writeln!(
                md,
                "| {} | {} | {:.4} | {:.4} | {:.4} | {init} |",
                i + 1,
                l.name,
                l.alpha,
                l.beta,
                l.firing_rate
            );
        }
        let c = &self.costs;
        let _ = write!(
            md,
            "\n## Operations and energy (one sample, T = {})\n\nE = {} pJ x MACs + {} pJ x SOPs. \
             A layer reading real values does MACs: its FLOPs once for a static image (the \
             same input at every step), T times for event frames. A layer reading spikes does \
             SOPs = firing rate of the input x T x FLOPs.\n\n",
            self.steps, self.energy.e_mac, self.energy.e_ac
        );
        md += "| layer | kind | FLOPs per step | input | MACs | SOPs | energy (uJ) |\n|---|---|---:|---|---:|---:|---:|\n";
        for l in &c.layers {
            let input = match l.drive {
                Drive::Real => "real-valued".to_string(),
                Drive::Spikes(r) => format!("spikes, rate {r:.4}"),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {:.4e} | {:.4e} | {:.4} |",
                l.name,
                l.kind,
                l.flops,
                input,
                l.macs,
                l.sops,
                micro_joules(l.energy)
            );
        }
        let _ = writeln!(
            md,
            "| **total** | | | | {:.4e} | {:.4e} | {:.4} |\n",
            c.macs,
            c.sops,
            micro_joules(c.energy)
        );
        let _ = writeln!(
            md,
            "Spiking network: {:.4} uJ per sample. The same network as an ANN (one pass, {:.4e} \
             MACs): {:.4} uJ, {:.2}x the spiking network's.\n",
            micro_joules(c.energy),
            c.ann_macs,
            micro_joules(c.ann_energy),
            c.ann_energy / c.energy.max(f64::MIN_POSITIVE)
        );
        // Only files that `write` makes are listed.
        if cfg!(feature = "plot") {
            md += "## Charts\n\n";
            for (stem, _) in self.charts() {
                let _ = writeln!(md, "- `{stem}.png` / `{stem}.svg`");
            }
        }
        md
    }

    /// `layers.csv`: one row per spiking layer, its decays and firing rate.
    pub fn layers_csv(&self) -> String {
        let mut csv = String::from("layer,name,alpha,beta,firing_rate,init_firing_rate\n");
        for (i, l) in self.layers.iter().enumerate() {
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{}",
                i + 1,
                l.name,
                l.alpha,
                l.beta,
                l.firing_rate,
                l.init_firing_rate.map_or(String::new(), |r| r.to_string())
            );
        }
        csv
    }

    /// `operations.csv`: one row per synaptic layer, its FLOPs, drive, MACs, SOPs and energy
    /// (picojoules).
    pub fn operations_csv(&self) -> String {
        let mut csv =
            String::from("layer,kind,flops_per_step,input,input_rate,macs,sops,energy_pj\n");
        for l in &self.costs.layers {
            let (input, rate) = match l.drive {
                Drive::Real => ("real", String::new()),
                Drive::Spikes(r) => ("spikes", r.to_string()),
            };
            let _ = writeln!(
                csv,
                "{},{},{},{input},{rate},{},{},{}",
                l.name, l.kind, l.flops, l.macs, l.sops, l.energy
            );
        }
        csv
    }

    /// The charts, by file stem: each a row of panels.
    pub fn charts(&self) -> Vec<(&'static str, Vec<Chart>)> {
        let depth = |f: fn(&LayerReport) -> f64| -> Vec<(f64, f64)> {
            self.layers
                .iter()
                .enumerate()
                .map(|(i, l)| ((i + 1) as f64, f(l)))
                .collect()
        };
        let series = |name: &str, points| Series {
            name: name.into(),
            points,
        };
        let chart = |title: &str, x: &str, y: &str, series| Chart {
            title: title.into(),
            x_label: x.into(),
            y_label: y.into(),
            series,
        };
        let mut charts = vec![
            (
                "decays",
                vec![chart(
                    "Learned decays across depth",
                    "spiking layer",
                    "decay",
                    vec![
                        series("alpha (spatial)", depth(|l| l.alpha)),
                        series("beta (temporal)", depth(|l| l.beta)),
                    ],
                )],
            ),
            (
                "firing_rates",
                vec![chart(
                    "Firing rate per spiking layer",
                    "spiking layer",
                    "firing rate",
                    vec![series("firing rate", depth(|l| l.firing_rate))],
                )],
            ),
        ];
        if self.metrics.is_empty() {
            return charts;
        }
        let epochs = |f: &dyn Fn(&EpochMetrics) -> f64| -> Vec<(f64, f64)> {
            self.metrics
                .iter()
                .map(|m| ((m.epoch + 1) as f64, f(m)))
                .collect()
        };
        let per_layer = |pick: fn(&EpochMetrics) -> &Vec<f64>| -> Vec<Series> {
            (0..self.layers.len())
                .map(|k| {
                    series(
                        &format!("layer {}", k + 1),
                        epochs(&|m| pick(m).get(k).copied().unwrap_or(f64::NAN)),
                    )
                })
                .collect()
        };
        charts.push((
            "decay_trajectories",
            vec![
                chart(
                    "alpha during training",
                    "epoch",
                    "alpha",
                    per_layer(|m| &m.alpha),
                ),
                chart(
                    "beta during training",
                    "epoch",
                    "beta",
                    per_layer(|m| &m.beta),
                ),
            ],
        ));
        charts.push((
            "training_curves",
            vec![
                chart(
                    "Loss",
                    "epoch",
                    "loss",
                    vec![
                        series("train", epochs(&|m| m.train_loss)),
                        series("test", epochs(&|m| m.test_loss)),
                    ],
                ),
                chart(
                    "Accuracy",
                    "epoch",
                    "accuracy",
                    vec![
                        series("train", epochs(&|m| m.train_accuracy)),
                        series("test", epochs(&|m| m.test_accuracy)),
                    ],
                ),
                chart(
                    "Learning rate",
                    "epoch",
                    "learning rate",
                    vec![series("lr", epochs(&|m| m.lr))],
                ),
            ],
        ));
        charts
    }

    /// Writes `analysis.md`, `layers.csv`, `operations.csv` and, with the `plot` feature, the
    /// charts of [`charts`](Self::charts) (PNG and SVG) into `dir`; returns the files written.
    /// Without `plot` no chart is drawn (the chart data stays available from `charts`).
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ReportError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut written = Vec::new();
        for (name, text) in [
            ("analysis.md", self.markdown()),
            ("layers.csv", self.layers_csv()),
            ("operations.csv", self.operations_csv()),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(io(&path))?;
            written.push(path);
        }
        #[cfg(feature = "plot")]
        for (stem, panels) in self.charts() {
            written.extend(render(&dir.join(stem), &panels, PANEL)?);
        }
        Ok(written)
    }
}
