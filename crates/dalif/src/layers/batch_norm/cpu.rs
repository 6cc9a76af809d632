//! The fused batch norm on the `Flex` CPU backend: per direction one pass for the per-channel
//! sums (channels in parallel, each summed in f64 in a fixed order, so results do not depend
//! on the thread count) and one pass that writes the result (planes in parallel).

use super::{BatchNormForward, BatchNormGrads};
use crate::neuron::op::cpu::{contiguous, tensor};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ModuleOps;
use burn::backend::{DType, Flex, TensorMetadata};
use burn::tensor::Shape;
use rayon::prelude::*;

fn small(t: FlexTensor) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("converted to f32")
}

/// `[N, C, ...]` as (samples, channels, values per sample and channel), when all are f32.
fn layout(tensors: &[&FlexTensor]) -> Option<(usize, usize, usize)> {
    if tensors.iter().any(|t| t.dtype() != DType::F32) {
        return None;
    }
    let shape = tensors[0].shape();
    let (n, c) = (*shape.first()?, *shape.get(1)?);
    Some((n, c, shape.iter().skip(2).product()))
}

/// `sum f(v)` over a plane, in eight f64 lanes (vectorised, fixed order).
#[inline(always)]
fn lanes(plane: &[f32], f: impl Fn(usize, f32) -> f64) -> f64 {
    let mut acc = [0f64; 8];
    let chunks = plane.chunks_exact(8);
    let rest = chunks.remainder();
    for (k, chunk) in chunks.enumerate() {
        for (i, (a, &v)) in acc.iter_mut().zip(chunk).enumerate() {
            *a += f(k * 8 + i, v);
        }
    }
    let tail: f64 = rest
        .iter()
        .enumerate()
        .map(|(i, &v)| f(plane.len() - rest.len() + i, v))
        .sum();
    acc.iter().sum::<f64>() + tail
}

/// Per channel, `sum` of `f(plane of x, plane of the other input)` over the samples.
fn per_channel(
    (n, c, inner): (usize, usize, usize),
    sum: impl Fn(usize, usize) -> f64 + Sync,
) -> Vec<f64> {
    (0..c)
        .into_par_iter()
        .map(|ch| (0..n).map(|i| sum((i * c + ch) * inner, ch)).sum())
        .collect()
}

pub(super) fn forward(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    epsilon: f64,
) -> BatchNormForward<Flex> {
    let Some(at @ (n, c, inner)) = layout(&[&x, &gamma, &beta]) else {
        let out = Flex::batch_norm_train(x, gamma, beta, epsilon);
        return (out.output, out.mean, out.variance);
    };
    let xs = contiguous::<f32>(&x);
    let count = (n * inner).max(1) as f64;
    let plane = |start: usize| &xs[start..start + inner];
    let mean: Vec<f64> = per_channel(at, |start, _| lanes(plane(start), |_, v| v as f64))
        .into_iter()
        .map(|s| s / count)
        .collect();
    let variance: Vec<f64> = per_channel(at, |start, ch| {
        lanes(plane(start), |_, v| (v as f64 - mean[ch]).powi(2))
    })
    .into_iter()
    .map(|s| s / count)
    .collect();
    let (gamma, beta) = (small(gamma), small(beta));
    // y = x * scale + shift, scale = gamma / sqrt(var + eps), shift = beta - mean * scale.
    let scale: Vec<f64> = (0..c)
        .map(|ch| gamma[ch] as f64 / (variance[ch] + epsilon).sqrt())
        .collect();
    let mut out = vec![0f32; xs.len()];
    if inner > 0 {
        out.par_chunks_mut(inner)
            .zip(xs.par_chunks(inner))
            .enumerate()
            .for_each(|(k, (out, x))| {
                let ch = k % c;
                let s = scale[ch] as f32;
                let shift = (beta[ch] as f64 - mean[ch] * scale[ch]) as f32;
                for (y, &v) in out.iter_mut().zip(x) {
                    *y = v * s + shift;
                }
            });
    }
    let stats = |v: Vec<f64>| tensor(v.into_iter().map(|s| s as f32).collect(), Shape::new([c]));
    (tensor(out, x.shape()), stats(mean), stats(variance))
}

pub(super) fn backward(
    x: FlexTensor,
    gamma: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
    grad: FlexTensor,
) -> BatchNormGrads<Flex> {
    let Some(at @ (n, c, inner)) = layout(&[&x, &gamma, &mean, &variance, &grad]) else {
        let out = Flex::batch_norm_train_backward(x, gamma, mean, variance, epsilon, grad);
        return (out.x_grad, out.gamma_grad, out.beta_grad);
    };
    let (xs, gs) = (contiguous::<f32>(&x), contiguous::<f32>(&grad));
    let (gamma, mean, variance) = (small(gamma), small(mean), small(variance));
    let inv_std: Vec<f64> = variance
        .iter()
        .map(|&v| 1.0 / (v as f64 + epsilon).sqrt())
        .collect();
    let sum_g = per_channel(at, |start, _| {
        lanes(&gs[start..start + inner], |_, g| g as f64)
    });
    let sum_gx = per_channel(at, |start, ch| {
        let x = &xs[start..start + inner];
        let (m, s) = (mean[ch] as f64, inv_std[ch]);
        lanes(&gs[start..start + inner], |i, g| {
            g as f64 * (x[i] as f64 - m) * s
        })
    });
    let count = (n * inner).max(1) as f64;
    let mut gx = vec![0f32; xs.len()];
    if inner > 0 {
        gx.par_chunks_mut(inner)
            .zip(xs.par_chunks(inner).zip(gs.par_chunks(inner)))
            .enumerate()
            .for_each(|(k, (out, (x, g)))| {
                let ch = k % c;
                let s = inv_std[ch];
                // dL/dx = a g + b (x - mean) + d with the per-channel constants of the
                // formula in mod.rs.
                let a = gamma[ch] as f64 * s;
                let b = (-a * s * sum_gx[ch] / count) as f32;
                let d = (-a * sum_g[ch] / count) as f32;
                let (a, m) = (a as f32, mean[ch]);
                for ((o, &g), &v) in out.iter_mut().zip(g).zip(x) {
                    *o = a * g + b * (v - m) + d;
                }
            });
    }
    let per = |v: Vec<f64>| tensor(v.into_iter().map(|s| s as f32).collect(), Shape::new([c]));
    (tensor(gx, x.shape()), per(sum_gx), per(sum_g))
}
