//! Optimisers, built from burn's, with weight decay optionally kept off the parameters that
//! should not shrink towards zero.

use crate::names::{self, named};
use burn::module::{Module, ModuleVisitor, Param, ParamGroup, ParamId};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamWConfig, LambConfig, ModuleOptimizer, Optimizer, SgdConfig};
use burn::tensor::Tensor;
use strum::{Display, EnumMessage, EnumString, IntoStaticStr, VariantArray};

/// The optimiser of a training run.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Display, EnumString, IntoStaticStr, VariantArray, EnumMessage,
)]
#[strum(
    serialize_all = "kebab-case",
    parse_err_ty = names::UnknownName,
    parse_err_fn = names::unknown::<Self>
)]
pub enum OptimizerKind {
    /// SGD with momentum 0.9, no dampening (PyTorch's form); L2 weight decay.
    Sgd,
    /// SGD with Nesterov momentum 0.9; L2 weight decay.
    SgdNesterov,
    /// AdamW (betas 0.9/0.999), decoupled weight decay.
    // Configuration files written before its name came from strum have `adam-w` (serde's
    // kebab case of the variant).
    #[strum(to_string = "adamw", serialize = "adam-w")]
    AdamW,
    /// LAMB (You et al. 2020; betas 0.9/0.999, eps 1e-6): Adam's update with weight decay,
    /// scaled per tensor by the trust ratio `||w|| / ||update||`.
    Lamb,
}

named!(OptimizerKind, "optimizer");

impl OptimizerKind {
    /// Its name in `config.toml` and on the command line.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The optimiser with `weight_decay` on every parameter except those in `exempt`, which
    /// get none.
    pub fn init(self, weight_decay: f64, exempt: Vec<ParamId>) -> ModuleOptimizer {
        fn grouped<O: Optimizer>(decayed: O, plain: O, exempt: Vec<ParamId>) -> ModuleOptimizer {
            let optimizer = ModuleOptimizer::from(decayed);
            if exempt.is_empty() {
                return optimizer;
            }
            // A later group takes precedence over the first one, which covers every parameter.
            optimizer.with_group(ParamGroup::from_ids(exempt), plain, None)
        }
        let wd = weight_decay as f32;
        match self {
            OptimizerKind::Sgd | OptimizerKind::SgdNesterov => {
                let momentum = MomentumConfig::new()
                    .with_dampening(0.0)
                    .with_nesterov(self == OptimizerKind::SgdNesterov);
                let sgd = |wd: f32| {
                    SgdConfig::new()
                        .with_momentum(Some(momentum.clone()))
                        .with_weight_decay((wd > 0.0).then(|| WeightDecayConfig::new(wd)))
                        .build()
                };
                grouped(sgd(wd), sgd(0.0), exempt)
            }
            OptimizerKind::AdamW => {
                let adamw = |wd| AdamWConfig::new().with_weight_decay(wd).build();
                grouped(adamw(wd), adamw(0.0), exempt)
            }
            OptimizerKind::Lamb => {
                let lamb = |wd| LambConfig::new().with_weight_decay(wd).build();
                grouped(lamb(wd), lamb(0.0), exempt)
            }
        }
    }
}

/// The parameters that weight decay should leave alone: every one-dimensional parameter,
/// that is batch-norm scales and shifts, biases, and the neurons' decay parameters (the
/// weights of convolutions and linear layers are the only ones of higher rank).
pub fn no_decay_params<M: Module>(module: &M) -> Vec<ParamId> {
    struct Collect(Vec<ParamId>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if D == 1 {
                self.0.push(param.id);
            }
        }
    }
    let mut collect = Collect(Vec::new());
    module.visit(&mut collect);
    collect.0
}
