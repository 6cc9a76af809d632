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
