//! Helpers shared by the neuron tests: tensors from plain vectors and back, on Flex; and a
//! spiking MLP for the tests that train a network of one's own.
#![allow(dead_code)]

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use dalif::layers::Tracer;
use dalif::models::SpikingClassifier;
use dalif::neuron::DaLif;
use dalif::neuron::op::{DaLifGrads, DaLifOp, DaLifTrace, Implementation};
use dalif::neuron::{Reset, SpikeFunction, Surrogate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub fn prim_f32(data: &[f32], shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data.to_vec(), shape.to_vec()))
}

pub fn prim_f64(data: &[f64], shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data.to_vec(), shape.to_vec()))
}

pub fn read_f64(t: &FlexTensor) -> Vec<f64> {
    t.clone()
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .unwrap()
}

pub fn tensor_vec<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

pub fn tensor_from<const D: usize>(data: &[f32], shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(data.to_vec(), shape.to_vec()), device)
}

/// Every surrogate, reset and detach setting with the forward spike `spike`, at v_th = 1.
pub fn ops(spike: SpikeFunction) -> Vec<DaLifOp> {
    let mut all = Vec::new();
    for surrogate in Surrogate::all() {
        for reset in [Reset::Hard, Reset::Soft] {
            for detach_reset in [false, true] {
                all.push(DaLifOp {
                    v_th: 1.0,
                    reset,
                    detach_reset,
                    surrogate,
                    spike,
                });
            }
        }
    }
    all
}

/// `n` values `mean + std * N(0,1)`, seeded.
pub fn normal(n: usize, mean: f64, std: f64, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            // Box-Muller: rand 0.9 without rand_distr.
            let u1: f64 = rng.random::<f64>().max(1e-300);
            let u2: f64 = rng.random();
            mean + std * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        })
        .collect()
}

pub fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

type Run = (DaLifTrace<Flex>, DaLifGrads<Flex>);

/// The fused Flex kernel, forward then backward from `g`.
pub fn fused(x: &FlexTensor, a: &FlexTensor, b: &FlexTensor, g: &FlexTensor, op: DaLifOp) -> Run {
    Implementation::<Flex>::native().forward_backward(x, a, b, g, op)
}

/// The tensor-op fallback on Flex, forward then backward from `g`.
pub fn fallback(
    x: &FlexTensor,
    a: &FlexTensor,
    b: &FlexTensor,
    g: &FlexTensor,
    op: DaLifOp,
) -> Run {
    Implementation::<Flex>::fallback().forward_backward(x, a, b, g, op)
}

/// The largest `|a[i] - b[i]|`, or infinity when any value of either is NaN or infinite, so
/// that every `<= tol` check fails on them (`f64::max` alone would drop a NaN).
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    if a.iter().chain(b).any(|v| !v.is_finite()) {
        return f64::INFINITY;
    }
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// A linear layer straight into a neuron, and a classifier.
#[derive(Module, Debug)]
pub struct Mlp {
    pub hidden: Linear,
    pub neuron: DaLif,
    pub out: Linear,
}

impl SpikingClassifier for Mlp {
    fn trace<T: Tracer>(&self, t: &mut T, x: T::Value) -> T::Value {
        let x = t.flatten("flatten", x);
        let x = t.linear("hidden", &self.hidden, x);
        let x = t.neuron("neuron", &self.neuron, x);
        t.linear("out", &self.out, x)
    }
}
