//! Operation counts and energy of a spiking network, as the DA-LIF paper (and the SNN
//! literature since Rathi & Roy) estimates them:
//!
//! - a synaptic layer fed with real values (the first layer) does multiply-accumulates:
//!   `MACs = FLOPs`, once per input (a static image repeated over T steps gives the same
//!   output at every step) or `T * FLOPs` (event frames, one per step);
//! - a layer fed with spikes only adds weights where a spike arrives: synaptic operations
//!   `SOPs = r * T * FLOPs`, `r` the firing rate of the neurons feeding it;
//! - `E = E_MAC * MACs + E_AC * SOPs`, beside the same network run as an ANN,
//!   `E_ANN = E_MAC * sum(FLOPs)`.
//!
//! FLOPs are multiply-accumulates of one step on one sample (convolutions with batch norm
//! folded, affine layers); pooling and the neurons' own updates are not counted, as in the
//! paper.

use crate::graph::{LayerGraph, Op};
use serde::{Deserialize, Serialize};

/// Energy per operation, in picojoules.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnergyModel {
    /// `E_MAC`: one multiply-accumulate, in picojoules.
    pub e_mac: f64,
    /// `E_AC`: one accumulate (a synaptic operation on a spike), in picojoules.
    pub e_ac: f64,
}

impl EnergyModel {
    /// The presets: 45 nm CMOS (Horowitz, ISSCC 2014) for 32-bit floats (the paper's 4.6 pJ
    /// per MAC and 0.9 pJ per accumulate), 32-bit and 8-bit integers.
    pub const PRESETS: [(&'static str, EnergyModel); 3] = [
        (
            "45nm-fp32",
            EnergyModel {
                e_mac: 4.6,
                e_ac: 0.9,
            },
        ),
        (
            "45nm-int32",
            EnergyModel {
                e_mac: 3.2,
                e_ac: 0.1,
            },
        ),
        (
            "45nm-int8",
            EnergyModel {
                e_mac: 0.23,
                e_ac: 0.03,
            },
        ),
    ];

    /// The preset called `name`.
    pub fn preset(name: &str) -> Result<Self, UnknownEnergyPreset> {
        Self::PRESETS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, m)| m)
            .ok_or_else(|| UnknownEnergyPreset(name.to_string()))
    }
}

/// A name that is none of [`EnergyModel::PRESETS`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error(
    "unknown energy preset '{0}' (expected one of: {names})",
    names = EnergyModel::PRESETS.map(|(n, _)| n).join(", ")
)]
pub struct UnknownEnergyPreset(pub String);

impl Default for EnergyModel {
    fn default() -> Self {
        Self::PRESETS[0].1
    }
}

/// What feeds a synaptic layer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Drive {
    /// The network input: multiply-accumulates.
    Real,
    /// Spikes at this mean firing rate: accumulates where they arrive.
    Spikes(f64),
}

/// The cost of one synaptic layer on one sample.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerCost {
    /// The layer's name in the graph.
    pub name: String,
    /// `conv` or `affine`.
    pub kind: &'static str,
    /// Multiply-accumulates of one step.
    pub flops: u64,
    /// What feeds it: the real-valued input, or spikes at a rate.
    pub drive: Drive,
    /// Multiply-accumulates on one sample over all T steps.
    pub macs: f64,
    /// Synaptic operations (accumulates) on one sample, `r T FLOPs`.
    pub sops: f64,
    /// Picojoules.
    pub energy: f64,
}

/// Costs of the whole network on one sample.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Costs {
    /// Every synaptic layer, in graph order.
    pub layers: Vec<LayerCost>,
    /// Multiply-accumulates of all layers.
    pub macs: f64,
    /// Synaptic operations of all layers.
    pub sops: f64,
    /// Picojoules, spiking network.
    pub energy: f64,
    /// FLOPs of one pass of the network as an ANN: `sum(FLOPs)` over the layers.
    pub ann_macs: f64,
    /// Their energy in picojoules, `E_ANN = E_MAC * ann_macs`.
    pub ann_energy: f64,
}

/// The costs of `graph` over `steps` time steps, with `rates` the firing rate of every
/// neuron node in order; `static_input`: the input is one image repeated over the steps.
///
/// Per synaptic layer (conv or affine) with `FLOPs` multiply-accumulates per step:
///
/// ```text
/// MACs = FLOPs (static input) or T FLOPs (event frames)    for a layer reading the input
/// SOPs = r T FLOPs,  r the mean rate of the neurons it reads   for a layer reading spikes
/// E    = E_MAC MACs + E_AC SOPs                               (picojoules)
/// ```
///
/// summed over the layers; beside it, the ANN's `E_MAC sum(FLOPs)`.
pub fn costs(
    graph: &LayerGraph,
    rates: &[f64],
    steps: usize,
    static_input: bool,
    energy: &EnergyModel,
) -> Costs {
    let neurons = graph.neurons();
    let rate_of = |id| {
        let k = neurons
            .iter()
            .position(|&n| n == id)
            .expect("a neuron node");
        rates.get(k).copied().unwrap_or(0.0)
    };
    let t = steps as f64;
    let mut layers = Vec::new();
    for (id, node) in graph.nodes.iter().enumerate() {
        let kind = match node.op {
            Op::Conv2d { .. } => "conv",
            Op::Affine { .. } => "affine",
            _ => continue,
        };
        let flops = node.macs();
        let drive = match graph.spike_sources(id) {
            Some(sources) if !sources.is_empty() => {
                let sum: f64 = sources.iter().map(|&s| rate_of(s)).sum();
                Drive::Spikes(sum / sources.len() as f64)
            }
            _ => Drive::Real,
        };
        let (macs, sops) = match drive {
            Drive::Real if static_input => (flops as f64, 0.0),
            Drive::Real => (t * flops as f64, 0.0),
            Drive::Spikes(r) => (0.0, r * t * flops as f64),
        };
        layers.push(LayerCost {
            name: node.name.clone(),
            kind,
            flops,
            drive,
            macs,
            sops,
            energy: energy.e_mac * macs + energy.e_ac * sops,
        });
    }
    let macs = layers.iter().map(|l| l.macs).sum();
    let sops = layers.iter().map(|l| l.sops).sum();
    let ann_macs = layers.iter().map(|l| l.flops as f64).sum::<f64>();
    Costs {
        macs,
        sops,
        energy: layers.iter().map(|l| l.energy).sum(),
        ann_energy: energy.e_mac * ann_macs,
        ann_macs,
        layers,
    }
}
