//! Linear layers that feed a spiking layer directly, with no batch norm between them, scaled on
//! a batch of data so that the neuron's first charge has the threshold's spread: the
//! data-dependent counterpart of [`InitScale::Threshold`](crate::layers::InitScale) (LSUV,
//! Mishkin & Matas 2016, applied to the charge).
//!
//! ResNet-19's hidden layer is one: it reads time steps of globally pooled spikes, values of
//! about 0.1, and burn's (and PyTorch's) default initialisation gives it charges of standard
//! deviation about 0.04, so it never reaches `v_th = 1` and, under Dspike (zero outside
//! `[v_th/2, 3 v_th/2]`), passes no gradient at all to the layers below.

use crate::layers::{Activation, ConvBn, Forward, Neurons, Pool, SpikeMonitor, Tracer};
use crate::models::SpikingClassifier;
use crate::neuron::DaLif;
use burn::module::{ModuleMapper, Param, ParamId};
use burn::nn::Linear;
use burn::tensor::Tensor;

/// Runs `inner` and collects every linear layer whose output goes straight into a neuron:
/// its (weight, bias) ids, its output, and the charge `v_th / alpha_0` it should have a
/// standard deviation of. On `()` values (the description alone) it only finds them.
struct LinearIntoNeuron<T: Tracer> {
    inner: T,
    /// The last operation, when it was a linear layer.
    pending: Option<([ParamId; 2], T::Value)>,
    found: Vec<([ParamId; 2], T::Value, f64)>,
}

impl<T: Tracer> LinearIntoNeuron<T> {
    fn new(inner: T) -> Self {
        Self {
            inner,
            pending: None,
            found: Vec::new(),
        }
    }
}

impl<T: Tracer> Tracer for LinearIntoNeuron<T> {
    type Value = T::Value;

    fn conv_bn(&mut self, name: &str, layer: &ConvBn, x: T::Value) -> T::Value {
        self.pending = None;
        self.inner.conv_bn(name, layer, x)
    }

    fn neuron(&mut self, name: &str, neuron: &DaLif, x: T::Value) -> T::Value {
        if let Some((ids, y)) = self.pending.take() {
            let config = neuron.config();
            let (alpha, _) = config.initial_decays();
            self.found.push((ids, y, config.v_th / alpha));
        }
        self.inner.neuron(name, neuron, x)
    }

    fn add(&mut self, a: T::Value, b: T::Value) -> T::Value {
        self.pending = None;
        self.inner.add(a, b)
    }

    fn max_pool(&mut self, name: &str, pool: Pool, x: T::Value) -> T::Value {
        self.pending = None;
        self.inner.max_pool(name, pool, x)
    }

    fn avg_pool(&mut self, name: &str, pool: Pool, x: T::Value) -> T::Value {
        self.pending = None;
        self.inner.avg_pool(name, pool, x)
    }

    fn global_avg_pool(&mut self, name: &str, x: T::Value) -> T::Value {
        self.pending = None;
        self.inner.global_avg_pool(name, x)
    }

    fn flatten(&mut self, name: &str, x: T::Value) -> T::Value {
        self.pending = None;
        self.inner.flatten(name, x)
    }

    fn linear(&mut self, name: &str, layer: &Linear, x: T::Value) -> T::Value {
        let y = self.inner.linear(name, layer, x);
        let bias = layer.bias.as_ref().map_or(layer.weight.id, |b| b.id);
        self.pending = Some(([layer.weight.id, bias], y.clone()));
        y
    }
}

/// The standard deviation of all of `y`'s values.
fn std(y: Activation) -> f64 {
    let values: Tensor<1> = y.into_features().flatten(0, 2).detach();
    let mean = values.clone().mean();
    let var = (values - mean).powf_scalar(2.0).mean();
    var.into_scalar::<f64>().sqrt()
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
/// that the neuron's first charge `alpha_0 (x W + b)` has standard deviation `v_th` on the
/// batch `batch` reads, measured with batch norm on batch statistics when it lives on an
/// autodiff device (as training sees the network); those forward passes (at most four) count
/// towards the batch norms' running statistics. Models without such a layer come back
/// untouched, without reading the batch.
pub fn scale_linear_charges<M: SpikingClassifier, E>(
    model: M,
    batch: impl FnOnce() -> Result<Activation, E>,
) -> Result<M, E> {
    let mut find = LinearIntoNeuron::new(Neurons::default());
    model.trace(&mut find, ());
    if find.found.is_empty() {
        return Ok(model);
    }
    let batch = batch()?;
    let mut model = model;
    for _ in 0..PASSES {
        let mut monitor = SpikeMonitor::off();
        let mut measure = LinearIntoNeuron::new(Forward {
            monitor: &mut monitor,
        });
        model.trace(&mut measure, batch.clone());
        let factors: Vec<_> = (measure.found.into_iter())
            .filter_map(|(ids, y, target)| {
                let std = std(y);
                (std > 0.0).then(|| (ids, target / std))
            })
            .collect();
        if factors.iter().all(|(_, f)| (f - 1.0).abs() < 0.05) {
            break;
        }
        model = model.map(&mut Scale(factors));
    }
    Ok(model)
}
