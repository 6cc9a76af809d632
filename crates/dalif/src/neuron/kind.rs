//! The neuron a network is built with: DA-LIF, its ablations, or a baseline.

use super::{DaLifConfig, DecayParam};
use crate::names::{self, named};
use strum::{Display, EnumMessage, EnumString, IntoStaticStr, VariantArray};

/// Which spiking neuron every layer of a model uses. In declaration order, the variants are
/// what `dalif ablate` compares.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Display, EnumString, IntoStaticStr, VariantArray, EnumMessage,
)]
#[strum(
    serialize_all = "kebab-case",
    parse_err_ty = names::UnknownName,
    parse_err_fn = names::unknown::<Self>
)]
pub enum NeuronKind {
    /// LIF, tau = 2, `decay_input`.
    Lif,
    /// PLIF, initial tau = 2.
    Plif,
    /// DA-LIF, both decays learned.
    Dalif,
    /// DA-LIF with only the spatial decay alpha learned.
    DalifSpatialOnly,
    /// DA-LIF with only the temporal decay beta learned.
    DalifTemporalOnly,
}

named!(NeuronKind, "neuron");

impl NeuronKind {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_are_refused() {
        assert!(
            "glif"
                .parse::<NeuronKind>()
                .unwrap_err()
                .to_string()
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
