//! The names of dalif's enums (neurons, models, optimisers, ...), as configuration files, the
//! command line and reports spell them.
//!
//! Every name is written once, on its variant: the enums derive `strum`'s `Display` and
//! `IntoStaticStr` (the name), `EnumString` (parsing it, with [`unknown`] as the error) and
//! `VariantArray` (the list), and `named!` makes serde read and write the same names. Adding a variant adds its name everywhere: parsing, error messages, `--help`,
//! `config.toml`.

use strum::VariantArray;

/// An enum without fields whose variants have names (derived with `strum`).
pub trait Named: Copy + PartialEq + VariantArray + Into<&'static str> + 'static {
    /// What a value of the enum is, in messages: `neuron`, `model`, ...
    const WHAT: &'static str;

    /// The name of every variant, in declaration order.
    fn names() -> Vec<&'static str> {
        Self::VARIANTS.iter().map(|&v| v.into()).collect()
    }
}

/// A name that names no variant of an enum: `unknown neuron 'x' (expected one of: dalif,
/// lif, ...)`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{given}' (expected one of: {names})", names = names.join(", "))]
pub struct UnknownName {
    /// What the name should have named: `neuron`, `model`, ...
    pub what: &'static str,
    /// The name given.
    pub given: String,
    /// The names there are.
    pub names: Vec<&'static str>,
}

/// The error for `given`, which names no variant of `E` (the enums' `strum(parse_err_fn)`).
pub fn unknown<E: Named>(given: &str) -> UnknownName {
    unknown_among(E::WHAT, given, &E::names())
}

/// `given` is none of `names`, which name `what`s.
pub fn unknown_among(what: &'static str, given: &str, names: &[&'static str]) -> UnknownName {
    UnknownName {
        what,
        given: given.to_string(),
        names: names.to_vec(),
    }
}

/// Implements [`Named`] for a fieldless enum, with `$what` for its messages, and serde by the
/// strum names: a value is written as its name and read back with its `FromStr`, so a config
/// file takes every spelling the command line does.
macro_rules! named {
    ($t:ty, $what:literal) => {
        impl $crate::names::Named for $t {
            const WHAT: &'static str = $what;
        }

        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(<&'static str>::from(self))
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let name = <String as serde::Deserialize>::deserialize(d)?;
                name.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use named;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ModelKind;
    use crate::neuron::{DecayParam, NeuronKind, Reset, SpikeFunction};
    use crate::run::CheckpointKind;
    use crate::training::{OptimizerKind, Readout};
    use std::fmt::Display;
    use std::str::FromStr;

    /// Every variant of `E`: its name parses back to it, displays as itself, and is what serde
    /// writes and reads; the names are distinct; an unknown name lists them all.
    fn check<E>()
    where
        E: Named + Display + FromStr<Err = UnknownName> + std::fmt::Debug,
        E: serde::Serialize + serde::de::DeserializeOwned,
    {
        let names = E::names();
        for (&v, &name) in E::VARIANTS.iter().zip(&names) {
            assert_eq!(name.parse::<E>(), Ok(v), "{name}");
            assert_eq!(v.to_string(), name);
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<E>(&json).unwrap(), v);
            assert_eq!(names.iter().filter(|&&n| n == name).count(), 1, "{name}");
        }
        let err = "no-such-name".parse::<E>().unwrap_err();
        assert_eq!((err.what, err.given.as_str()), (E::WHAT, "no-such-name"));
        let err = err.to_string();
        assert!(
            err.starts_with(&format!("unknown {} 'no-such-name'", E::WHAT)),
            "{err}"
        );
        assert!(names.iter().all(|n| err.contains(n)), "{err}");
        let err = serde_json::from_str::<E>("\"no-such-name\"").unwrap_err();
        assert!(err.to_string().contains("expected one of"), "{err}");
    }

    #[test]
    fn every_name_round_trips() {
        check::<NeuronKind>();
        check::<ModelKind>();
        check::<DecayParam>();
        check::<Reset>();
        check::<SpikeFunction>();
        check::<OptimizerKind>();
        check::<Readout>();
        check::<CheckpointKind>();
    }

    /// Files written before the names were derived (`config.toml`, checkpoint pointers) still
    /// read the same.
    #[test]
    fn names_are_those_of_earlier_config_files() {
        let names = |n: Vec<&str>| n.join(" ");
        assert_eq!(
            names(NeuronKind::names()),
            "lif plif dalif dalif-spatial-only dalif-temporal-only"
        );
        assert_eq!(
            names(ModelKind::names()),
            "cifar-small resnet19 resnet20 resnet18 resnet34 vggsnn"
        );
        assert_eq!(names(DecayParam::names()), "tanh sigmoid");
        assert_eq!(names(Reset::names()), "hard soft");
        assert_eq!(names(SpikeFunction::names()), "heaviside smooth");
        assert_eq!(names(OptimizerKind::names()), "sgd sgd-nesterov adamw lamb");
        assert_eq!(names(Readout::names()), "mean-logits tet");
        // Also the names of the checkpoint pointer files.
        assert_eq!(names(CheckpointKind::names()), "last best");
        // serde's kebab-case wrote AdamW as adam-w.
        assert_eq!("adam-w".parse(), Ok(OptimizerKind::AdamW));
    }
}
