//! The paper's recipes as presets: TOML files of the run configuration's form, embedded in
//! the binary. A preset may also be a path to such a file.

use anyhow::{Context, Result, bail};
use dalif::run::RunConfig;
use std::path::Path;

/// `(name, TOML text)` of every embedded preset.
pub const PRESETS: [(&str, &str); 5] = [
    ("cifar10", include_str!("../presets/cifar10.toml")),
    ("cifar100", include_str!("../presets/cifar100.toml")),
    ("cifar10dvs", include_str!("../presets/cifar10dvs.toml")),
    ("dvsgesture", include_str!("../presets/dvsgesture.toml")),
    ("imagenet", include_str!("../presets/imagenet.toml")),
];

/// A preset's one-line description: its first comment.
pub fn describe(text: &str) -> &str {
    text.lines()
        .next()
        .and_then(|l| l.strip_prefix("# "))
        .unwrap_or("")
}

/// The configuration a preset names: an embedded one, or a TOML file.
pub fn load(name: &str) -> Result<RunConfig> {
    if let Some((_, text)) = PRESETS.iter().find(|(n, _)| *n == name) {
        return toml::from_str(text).with_context(|| format!("embedded preset '{name}'"));
    }
    let path = Path::new(name);
    if path.extension().is_some_and(|e| e == "toml") {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {name}"))?;
        return toml::from_str(&text).with_context(|| format!("{name}: not a run configuration"));
    }
    let names: Vec<_> = PRESETS.iter().map(|(n, _)| *n).collect();
    bail!(
        "unknown preset '{name}' (expected one of: {}, or a path to a .toml file)",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dalif::layers::InitScale;
    use dalif::models::ModelKind;
    use dalif::neuron::{Reset, Surrogate};

    #[test]
    fn every_preset_is_the_papers_recipe() {
        // (preset, data set, model, T, frame size)
        let recipes = [
            ("cifar10", "cifar10", ModelKind::ResNet19, 2, None),
            ("cifar100", "cifar100", ModelKind::ResNet19, 2, None),
            (
                "cifar10dvs",
                "cifar10dvs",
                ModelKind::VggSnn,
                10,
                Some([48, 48]),
            ),
            (
                "dvsgesture",
                "dvsgesture",
                ModelKind::ResNet20,
                16,
                Some([128, 128]),
            ),
            ("imagenet", "imagenet", ModelKind::ResNet34, 4, None),
        ];
        assert_eq!(recipes.len(), PRESETS.len());
        for (name, data, model, steps, frames) in recipes {
            let c = load(name).unwrap();
            assert_eq!(c.data.name.name(), data, "{name}");
            assert_eq!(c.model.kind, model, "{name}");
            assert_eq!(c.train.steps, steps, "{name}");
            assert_eq!(c.data.frame_size, frames, "{name}");
            assert!(!describe(PRESETS.iter().find(|p| p.0 == name).unwrap().1).is_empty());
        }
        // The augmentation of the recipes: crop, flip, AutoAugment and Cutout 16 (CIFAR-10) or
        // 8 (CIFAR-100) on images; roll (and flip where left and right do not change the
        // class) on events.
        // The spec's neuron, with the authors' own surrogate.
        for (name, _) in PRESETS {
            let m = load(name).unwrap().model;
            assert_eq!(m.surrogate, Surrogate::DspikeTanh { k: 3.0 }, "{name}");
            assert_eq!((m.v_th, m.reset, m.detach_reset), (1.0, Reset::Hard, false));
            assert_eq!((m.per_channel, m.init_decays), (false, [0.5, 0.5]));
            assert_eq!(m.init_scale, InitScale::Threshold, "{name}");
        }
        let aug = |name| load(name).unwrap().train.augmentation;
        assert_eq!((aug("cifar10").pad_crop, aug("cifar10").cutout), (4, 16));
        assert_eq!(aug("cifar100").cutout, 8);
        assert!(aug("cifar10").auto_augment && aug("cifar100").auto_augment);
        assert!(!aug("imagenet").auto_augment && !aug("cifar10dvs").auto_augment);
        assert_eq!((aug("cifar10dvs").roll, aug("cifar10dvs").flip), (5, true));
        assert!(
            !aug("dvsgesture").flip,
            "left- and right-hand gestures are classes"
        );
    }

    #[test]
    fn a_preset_file_with_an_unknown_key_is_refused() {
        let path = std::env::temp_dir().join(format!("dalif-preset-{}.toml", std::process::id()));
        std::fs::write(&path, "[train]\nepochs = 3\nlearning_rate = 0.1\n").unwrap();
        let err = format!("{:#}", load(path.to_str().unwrap()).unwrap_err());
        assert!(err.contains("learning_rate"), "{err}");
        std::fs::write(&path, "[train]\nepochs = 3\n").unwrap();
        let c = load(path.to_str().unwrap()).unwrap();
        assert_eq!(
            (c.train.epochs, c.train.steps),
            (3, RunConfig::default().train.steps)
        );
    }
}
