//! Flags whose value is one of the names of a dalif enum (neuron, model, ...).

use clap::builder::{PossibleValue, TypedValueParser};
use clap::{Arg, Command};
use dalif::names::{Named, UnknownName};
use std::ffi::OsStr;
use std::str::FromStr;
use strum::EnumMessage;

/// The value parser of a flag that takes one of `E`'s names. The enum's own `FromStr` parses
/// the value, so every spelling it accepts works and an unknown name gets its error (which
/// lists the names); `--help` lists the names, each with its variant's doc comment.
#[derive(Clone)]
pub struct NameParser<E> {
    /// The value when the flag is not given, marked in the help.
    default: E,
}

/// A [`NameParser`] for `E`, whose value is `default` when the flag is not given.
pub fn name_of<E>(default: E) -> NameParser<E> {
    NameParser { default }
}

impl<E> TypedValueParser for NameParser<E>
where
    E: Named + FromStr<Err = UnknownName> + EnumMessage + Send + Sync,
{
    type Value = E;

    fn parse_ref(&self, cmd: &Command, arg: Option<&Arg>, value: &OsStr) -> Result<E, clap::Error> {
        // clap's parser of a `FromStr` type, for its messages.
        (|s: &str| s.parse::<E>()).parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(E::VARIANTS.iter().map(|&v| {
            let doc = v.get_documentation().unwrap_or_default();
            let doc = doc.split_whitespace().collect::<Vec<_>>().join(" ");
            let mut help = doc.replace('`', "").trim_end_matches('.').to_string();
            if v == self.default {
                help += " (default)";
            }
            let name: &'static str = v.into();
            PossibleValue::new(name).help(help)
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dalif::models::ModelKind;
    use dalif::neuron::NeuronKind;

    #[test]
    fn lists_every_name_with_its_doc_and_the_default() {
        let parser = name_of(NeuronKind::Dalif);
        let values: Vec<_> = parser.possible_values().unwrap().collect();
        assert_eq!(
            values.iter().map(|v| v.get_name()).collect::<Vec<_>>(),
            NeuronKind::names()
        );
        let help = |name: &str| {
            let v = values.iter().find(|v| v.get_name() == name).unwrap();
            v.get_help().unwrap().to_string()
        };
        assert_eq!(help("dalif"), "DA-LIF, both decays learned (default)");
        assert_eq!(help("lif"), "LIF, tau = 2, decay_input");
    }

    #[test]
    fn parses_every_spelling_the_enum_accepts() {
        let cmd = Command::new("t");
        let parse = |s: &str| name_of(ModelKind::CifarSmall).parse_ref(&cmd, None, OsStr::new(s));
        assert_eq!(parse("cifar_small").unwrap(), ModelKind::CifarSmall);
        assert_eq!(parse("ResNet19").unwrap(), ModelKind::ResNet19);
        let err = parse("resnet50").unwrap_err().to_string();
        assert!(
            err.contains("unknown model 'resnet50' (expected one of: cifar-small, resnet19"),
            "{err}"
        );
    }
}
