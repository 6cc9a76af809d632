//! Optimisers, built from burn's.

use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamWConfig, ModuleOptimizer, SgdConfig};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The optimiser of a training run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// SGD with momentum 0.9, no dampening (PyTorch's form).
    Sgd,
    /// SGD with Nesterov momentum 0.9.
    SgdNesterov,
    /// AdamW (betas 0.9/0.999).
    AdamW,
}

impl OptimizerKind {
    pub const NAMES: [&'static str; 3] = ["sgd", "sgd-nesterov", "adamw"];

    /// The optimiser with decoupled (AdamW) or L2 (SGD) `weight_decay`.
    pub fn init(self, weight_decay: f64) -> ModuleOptimizer {
        let momentum = |nesterov| {
            MomentumConfig::new()
                .with_dampening(0.0)
                .with_nesterov(nesterov)
        };
        let decay = (weight_decay > 0.0)
            .then(|| burn::optim::decay::WeightDecayConfig::new(weight_decay as f32));
        match self {
            OptimizerKind::Sgd | OptimizerKind::SgdNesterov => SgdConfig::new()
                .with_momentum(Some(momentum(self == OptimizerKind::SgdNesterov)))
                .with_weight_decay(decay)
                .init(),
            OptimizerKind::AdamW => AdamWConfig::new()
                .with_weight_decay(weight_decay as f32)
                .init(),
        }
    }
}

impl fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::SgdNesterov => "sgd-nesterov",
            OptimizerKind::AdamW => "adamw",
        })
    }
}

impl FromStr for OptimizerKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sgd" => Ok(OptimizerKind::Sgd),
            "sgd-nesterov" => Ok(OptimizerKind::SgdNesterov),
            "adamw" => Ok(OptimizerKind::AdamW),
            other => Err(format!(
                "unknown optimizer '{other}' (expected one of: {})",
                Self::NAMES.join(", ")
            )),
        }
    }
}
