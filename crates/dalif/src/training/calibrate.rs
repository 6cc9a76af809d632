//! Linear layers that feed a spiking layer directly, with no batch norm between them, scaled on
//! a batch of data so that the neuron's first charge has the threshold's spread: the
//! data-dependent counterpart of [`InitScale::Threshold`](crate::layers::InitScale) (LSUV,
//! Mishkin & Matas 2016, applied to the charge).
//!
//! ResNet-19's hidden layer is one: it reads time steps of globally pooled spikes, values of
//! about 0.1, and burn's (and PyTorch's) default initialisation gives it charges of standard
//! deviation about 0.04, so it never reaches `v_th = 1` and, under Dspike (zero outside
//! `[v_th/2, 3 v_th/2]`), passes no gradient at all to the layers below.

use crate::layers::{Activation, ConvBn, Forward, Pool, SpikeMonitor, Tracer};
use crate::models::SpikingClassifier;
use crate::neuron::DaLif;
use burn::module::{ModuleMapper, Param, ParamId};
use burn::nn::Linear;
use burn::tensor::Tensor;

/// Runs the forward pass and measures, for every linear layer whose output goes straight
/// into a neuron, the factor that brings `alpha_0 (x W + b)` to standard deviation `v_th`.
struct Measure<'a> {
    forward: Forward<'a>,
    /// The last operation's linear layer (weight, bias) and its output's standard deviation.
    pending: Option<([ParamId; 2], f64)>,
    factors: Vec<([ParamId; 2], f64)>,
}

impl Tracer for Measure<'_> {
    type Value = Activation;

    fn conv_bn(&mut self, name: &str, layer: &ConvBn, x: Activation) -> Activation {
        self.pending = None;
        self.forward.conv_bn(name, layer, x)
    }

    fn neuron(&mut self, name: &str, neuron: &DaLif, x: Activation) -> Activation {
        if let Some((ids, std)) = self.pending.take()
            && std > 0.0
        {
            let config = neuron.config();
            let (alpha, _) = config.initial_decays();
            self.factors.push((ids, config.v_th / (alpha * std)));
        }
        self.forward.neuron(name, neuron, x)
    }

    fn add(&mut self, a: Activation, b: Activation) -> Activation {
        self.pending = None;
        self.forward.add(a, b)
    }

    fn max_pool(&mut self, name: &str, pool: Pool, x: Activation) -> Activation {
        self.pending = None;
        self.forward.max_pool(name, pool, x)
    }

    fn avg_pool(&mut self, name: &str, pool: Pool, x: Activation) -> Activation {
        self.pending = None;
        self.forward.avg_pool(name, pool, x)
    }

    fn global_avg_pool(&mut self, name: &str, x: Activation) -> Activation {
        self.pending = None;
        self.forward.global_avg_pool(name, x)
    }

    fn flatten(&mut self, name: &str, x: Activation) -> Activation {
        self.pending = None;
        self.forward.flatten(name, x)
    }

    fn linear(&mut self, name: &str, layer: &Linear, x: Activation) -> Activation {
        let y = self.forward.linear(name, layer, x);
        let values: Tensor<1> = y.clone().into_features().flatten(0, 2).detach();
        let mean = values.clone().mean();
        let var = (values - mean).powf_scalar(2.0).mean();
        let std = var.into_scalar::<f64>().sqrt();
        let bias = layer.bias.as_ref().map_or(layer.weight.id, |b| b.id);
        self.pending = Some(([layer.weight.id, bias], std));
        y
    }
}

/// Whether some linear layer's output goes straight into a neuron: found from the description
/// alone, so models without one are not run (a forward pass in training mode moves the batch
/// norms' running statistics).
#[derive(Default)]
struct FeedsNeuron {
    after_linear: bool,
    found: bool,
}

impl Tracer for FeedsNeuron {
    type Value = ();

    fn conv_bn(&mut self, _: &str, _: &ConvBn, _: ()) {
        self.after_linear = false;
    }
    fn neuron(&mut self, _: &str, _: &DaLif, _: ()) {
        self.found |= self.after_linear;
        self.after_linear = false;
    }
    fn add(&mut self, _: (), _: ()) {
        self.after_linear = false;
    }
    fn max_pool(&mut self, _: &str, _: Pool, _: ()) {
        self.after_linear = false;
    }
    fn avg_pool(&mut self, _: &str, _: Pool, _: ()) {
        self.after_linear = false;
    }
    fn global_avg_pool(&mut self, _: &str, _: ()) {
        self.after_linear = false;
    }
    fn flatten(&mut self, _: &str, _: ()) {
        self.after_linear = false;
    }
    fn linear(&mut self, _: &str, _: &Linear, _: ()) {
        self.after_linear = true;
    }
}

/// Multiplies the parameters of the given ids by their factor.
struct Scale(Vec<([ParamId; 2], f64)>);

impl ModuleMapper for Scale {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        match self.0.iter().find(|(ids, _)| ids.contains(&param.id)) {
            // A new leaf with the old one's id, learning as it did.
            Some(&(_, factor)) => param.map(|t| {
                let learns = t.is_require_grad();
                let t = t.mul_scalar(factor).detach();
                if learns { t.require_grad() } else { t }
            }),
            None => param,
        }
    }
}

/// The most passes: each pass scales the layers measured on the previous one's outputs, so a
/// stack of them settles from the first layer down.
const PASSES: usize = 4;

/// `model` with every linear layer that feeds a neuron directly scaled (weights and bias) so
/// that the neuron's first charge `alpha_0 (x W + b)` has standard deviation `v_th` on
/// `batch`, measured with batch norm on batch statistics when `batch` lives on an autodiff
/// device (as training sees the network); those forward passes (at most four) count towards
/// the batch norms' running statistics. Models without such a layer come back untouched.
pub fn scale_linear_charges<M: SpikingClassifier>(model: M, batch: Activation) -> M {
    let mut feeds = FeedsNeuron::default();
    model.trace(&mut feeds, ());
    if !feeds.found {
        return model;
    }
    let mut model = model;
    for _ in 0..PASSES {
        let mut monitor = SpikeMonitor::off();
        let mut measure = Measure {
            forward: Forward {
                monitor: &mut monitor,
            },
            pending: None,
            factors: Vec::new(),
        };
        model.trace(&mut measure, batch.clone());
        let factors = measure.factors;
        if factors.iter().all(|(_, f)| (f - 1.0).abs() < 0.05) {
            break;
        }
        model = model.map(&mut Scale(factors));
    }
    model
}
