//! The neuron a network is built with: DA-LIF, its ablations, or a baseline.

use crate::neuron::{DaLifConfig, DecayParam};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which spiking neuron every layer of a model uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NeuronKind {
    /// DA-LIF, both decays learned.
    Dalif,
    /// DA-LIF with only the spatial decay alpha learned.
    DalifSpatialOnly,
    /// DA-LIF with only the temporal decay beta learned.
    DalifTemporalOnly,
    /// LIF, tau = 2, `decay_input`.
    Lif,
    /// PLIF, initial tau = 2.
    Plif,
}

impl NeuronKind {
    /// The names `config.toml` and `--neuron` accept, in the order of the variants.
    pub const NAMES: [&'static str; 5] = [
        "dalif",
        "dalif-spatial-only",
        "dalif-temporal-only",
        "lif",
        "plif",
    ];

    /// The layer configuration for this kind, with `param` for DA-LIF's decays.
    pub fn config(self, param: DecayParam) -> DaLifConfig {
        match self {
            NeuronKind::Dalif => DaLifConfig::dalif().with_param(param),
            NeuronKind::DalifSpatialOnly => DaLifConfig::spatial_only().with_param(param),
            NeuronKind::DalifTemporalOnly => DaLifConfig::temporal_only().with_param(param),
            NeuronKind::Lif => DaLifConfig::lif(2.0, true),
            NeuronKind::Plif => DaLifConfig::plif(2.0),
        }
    }
}

impl fmt::Display for NeuronKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = [
            NeuronKind::Dalif,
            NeuronKind::DalifSpatialOnly,
            NeuronKind::DalifTemporalOnly,
            NeuronKind::Lif,
            NeuronKind::Plif,
        ]
        .iter()
        .position(|k| k == self)
        .expect("every kind is listed");
        f.write_str(Self::NAMES[i])
    }
}

impl FromStr for NeuronKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "dalif" => NeuronKind::Dalif,
            "dalif-spatial-only" => NeuronKind::DalifSpatialOnly,
            "dalif-temporal-only" => NeuronKind::DalifTemporalOnly,
            "lif" => NeuronKind::Lif,
            "plif" => NeuronKind::Plif,
            other => {
                return Err(format!(
                    "unknown neuron '{other}' (expected one of: {})",
                    Self::NAMES.join(", ")
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in NeuronKind::NAMES {
            assert_eq!(name.parse::<NeuronKind>().unwrap().to_string(), name);
        }
        assert!(
            "glif"
                .parse::<NeuronKind>()
                .unwrap_err()
                .contains("unknown neuron 'glif'")
        );
    }

    #[test]
    fn kinds_learn_what_they_should() {
        let learnable = |k: NeuronKind| k.config(DecayParam::Tanh).num_learnable();
        assert_eq!(learnable(NeuronKind::Dalif), 2);
        assert_eq!(learnable(NeuronKind::DalifSpatialOnly), 1);
        assert_eq!(learnable(NeuronKind::DalifTemporalOnly), 1);
        assert_eq!(learnable(NeuronKind::Plif), 1);
        assert_eq!(learnable(NeuronKind::Lif), 0);
    }
}
