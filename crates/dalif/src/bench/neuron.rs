//! Workload N of `shared/peers/workloads.md`: one DA-LIF layer, forward over all T steps and
//! backward from an upstream gradient G, with `X = 1 + N(0,1)`, `G = N(0,1)`, per-layer
//! sigmoid-parametrised decays at `w_a = w_b = 0` (alpha = beta = 0.5), hard reset,
//! Sigmoid(4) surrogate, v_th = 1. On any device: each timed call waits for it.

use super::{Timings, Variant, Waiter, interleaved};
use crate::neuron::op::{DaLifBackend, DaLifOp, Implementation};
use crate::neuron::{DaLifConfig, DecayParam, Reset, SpikeFunction, Surrogate};
use burn::backend::Dispatch;
use burn::tensor::{Device, Distribution, Tensor};
use serde::Serialize;

/// The implementations `dalif bench neuron` can time.
pub const VARIANTS: [&str; 3] = ["layer", "fused-op", "fallback-op"];

/// What each variant does in one timed call.
pub fn describe(variant: &str) -> &'static str {
    match variant {
        "layer" => {
            "DaLif layer under autodiff: fresh x.require_grad, forward, L = sum(S*G), backward; grads of x, w_a, w_b (L adds one mul, one sum and their backward)"
        }
        "fused-op" => {
            "the device's fused kernel (Flex or CubeCL), operation level: forward then backward from G (= S.backward(G)); dL/dX, dL/dalpha, dL/dbeta"
        }
        "fallback-op" => {
            "tensor-op fallback on the device, operation level: forward then backward from G"
        }
        _ => "unknown",
    }
}

/// The shapes of workload N.
pub fn named_shape(name: &str) -> Option<Vec<usize>> {
    match name {
        "conv" => Some(vec![4, 32, 128, 16, 16]),
        "fc" => Some(vec![8, 64, 4096]),
        _ => None,
    }
}

/// The result of [`run`], as `dalif bench neuron` writes it (JSON).
#[derive(Debug, Clone, Serialize)]
pub struct NeuronReport {
    /// The device, as `--device` names it.
    pub device: String,
    /// The input shape `[T, ...]`.
    pub shape: Vec<usize>,
    /// Worker threads of the fused kernel (rayon's pool).
    pub threads: usize,
    /// Timed rounds per variant.
    pub rounds: usize,
    /// Untimed calls per variant before the rounds.
    pub warmup: usize,
    /// The fraction of outputs that spike, `mean(S)`: how much of the reset path runs.
    pub spike_rate: f64,
    /// Bytes the fused operation keeps from forward for backward: V (new) and X (the input).
    pub saved_for_backward_bytes: usize,
    /// Per variant, in the order asked.
    pub timings: Vec<Timings>,
}

fn op() -> DaLifOp {
    DaLifOp {
        v_th: 1.0,
        reset: Reset::Hard,
        detach_reset: false,
        surrogate: Surrogate::Sigmoid { alpha: 4.0 },
        spike: SpikeFunction::Heaviside,
    }
}

/// A neuron benchmark that cannot run as asked.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum BenchError {
    /// Not a non-empty `[T, B, ...]` shape.
    #[error("shape {0:?} is not a non-empty [T, B, ...] shape")]
    Shape(Vec<usize>),
    /// None of [`VARIANTS`].
    #[error("unknown variant '{0}' (expected some of: {names})", names = VARIANTS.join(", "))]
    UnknownVariant(String),
    /// The benchmarked layer could not be built.
    #[error(transparent)]
    Neuron(#[from] crate::neuron::NeuronError),
    /// The device failed to finish its work.
    #[error("the device failed: {0}")]
    Device(String),
}

/// Times the `variants` on `shape` (`[T, ...]`) on `device` (named `name` in the report).
/// The decays are per layer, so the work is that of the `[T, n]` view of the shape.
pub fn run(
    shape: &[usize],
    variants: &[&str],
    warmup: usize,
    rounds: usize,
    (device, name): (&Device, &str),
) -> Result<NeuronReport, BenchError> {
    if shape.len() < 2 || shape.contains(&0) {
        return Err(BenchError::Shape(shape.to_vec()));
    }
    if let Some(v) = variants.iter().find(|v| !VARIANTS.contains(v)) {
        return Err(BenchError::UnknownVariant(v.to_string()));
    }
    let (steps, n) = (shape[0], shape[1..].iter().product::<usize>());
    let device = device.clone().without_autodiff();
    // The same numbers on every device: drawn on the CPU, then moved.
    let cpu = Device::flex();
    cpu.seed(1234);
    let x =
        Tensor::<2>::random([steps, n], Distribution::Normal(1.0, 1.0), &cpu).to_device(&device);
    let g =
        Tensor::<2>::random([steps, n], Distribution::Normal(0.0, 1.0), &cpu).to_device(&device);
    let (xp, gp) = (x.clone().into_dispatch(), g.clone().into_dispatch());
    let half = Tensor::<1>::full([1], 0.5, &device).into_dispatch();

    let spikes =
        <Dispatch as DaLifBackend>::dalif_forward(xp.clone(), half.clone(), half.clone(), op())
            .spikes;
    // Counted on the CPU: burn 0.22.1's mean over millions of elements on wgpu (lavapipe)
    // returned a quarter of the rate the read-back spikes have.
    let spike_rate = Tensor::<2>::from_dispatch(spikes)
        .to_device(&cpu)
        .mean()
        .into_scalar::<f64>();
    let waiter = Waiter::new(&device);

    let ad = device.clone().autodiff();
    let layer = DaLifConfig::dalif()
        .with_param(DecayParam::Sigmoid)
        .init(&ad)?;
    let (x_ad, g_ad) = (x.clone().autodiff(), g.clone().autodiff());
    let mut list: Vec<Variant> = Vec::new();
    for &name in variants {
        let call: Box<dyn FnMut()> = match name {
            "layer" => {
                let (layer, x, g, waiter) = (&layer, x_ad.clone(), g_ad.clone(), &waiter);
                Box::new(move || {
                    let x = x.clone().require_grad();
                    let loss = (layer.forward(x.clone()) * g.clone()).sum();
                    let grads = loss.backward();
                    let gx = x.grad(&grads);
                    let gw = layer.w_a.as_ref().and_then(|w| w.val().grad(&grads));
                    assert!(
                        gx.is_some() && gw.is_some(),
                        "gradients reach x and the decays"
                    );
                    waiter.wait();
                })
            }
            _ => {
                let imp = if name == "fused-op" {
                    Implementation::<Dispatch>::native()
                } else {
                    Implementation::<Dispatch>::fallback()
                };
                let (x, g, a, waiter) = (xp.clone(), gp.clone(), half.clone(), &waiter);
                Box::new(move || {
                    drop(imp.forward_backward(&x, &a, &a, &g, op()));
                    waiter.wait();
                })
            }
        };
        list.push(Variant {
            name: name.to_string(),
            call,
        });
    }
    let timings = interleaved(&mut list, warmup, rounds);
    drop(list);
    if let Some(e) = waiter.failure() {
        return Err(BenchError::Device(e));
    }
    Ok(NeuronReport {
        device: name.to_string(),
        shape: shape.to_vec(),
        threads: rayon::current_num_threads(),
        rounds,
        warmup,
        spike_rate,
        saved_for_backward_bytes: 2 * steps * n * std::mem::size_of::<f32>(),
        timings,
    })
}
