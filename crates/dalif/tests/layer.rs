//! The neuron layer: LIF and PLIF reproduce SpikingJelly's equations, frozen decays stay
//! frozen, the parameter count is 2 per layer, and bad shapes give errors.

mod common;

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use common::*;
use dalif::neuron::{DaLifConfig, NeuronError, SpikeFunction};

const T: usize = 6;
const N: usize = 40;

fn input(device: &Device, seed: u64) -> (Vec<f64>, Tensor<2>) {
    let x = to_f32(&normal(T * N, 1.2, 1.0, seed));
    let xs = x.iter().map(|&v| v as f64).collect();
    (xs, tensor_from(&x, [T, N], device))
}

/// SpikingJelly's `LIFNode`/`ParametricLIFNode` charge with `v_reset = 0`, in f64:
/// `decay_input`: `V = H + (X - H) k`; otherwise `V = H - H k + X`; `k = 1/tau`.
fn spikingjelly_lif(x: &[f64], k: f64, decay_input: bool) -> (Vec<f64>, Vec<f64>) {
    let (mut s, mut v) = (vec![0.0; x.len()], vec![0.0; x.len()]);
    let mut h = vec![0.0; N];
    for t in 0..T {
        for i in 0..N {
            let xi = x[t * N + i];
            let vt = if decay_input {
                h[i] + (xi - h[i]) * k
            } else {
                h[i] - h[i] * k + xi
            };
            let st = if vt >= 1.0 { 1.0 } else { 0.0 };
            v[t * N + i] = vt;
            s[t * N + i] = st;
            h[i] = vt * (1.0 - st);
        }
    }
    (s, v)
}

#[test]
fn lif_reproduces_spikingjelly_lifnode() {
    let device = Device::flex();
    for (tau, decay_input) in [(2.0, true), (3.0, true), (2.0, false), (5.0, false)] {
        let layer = DaLifConfig::lif(tau, decay_input).init(&device).unwrap();
        assert_eq!(layer.num_params(), 0, "LIF learns nothing");
        let (x, xt) = input(&device, 1);
        let out = layer.try_forward(xt).unwrap();
        let (s, v) = spikingjelly_lif(&x, 1.0 / tau, decay_input);
        assert_eq!(
            tensor_vec(out.spikes),
            s,
            "tau {tau} decay_input {decay_input}"
        );
        assert!(max_abs_diff(&tensor_vec(out.potential), &v) < 1e-5);
    }
}

#[test]
fn plif_couples_the_decays_and_learns_through_one_weight() {
    let device = Device::flex().autodiff();
    let tau = 3.0;
    let layer = DaLifConfig::plif(tau).init(&device).unwrap();
    assert_eq!(layer.num_params(), 1);
    // SpikingJelly's init: w = -ln(tau - 1), so k = sigmoid(w) = 1/tau.
    let w = tensor_vec(layer.w_a.as_ref().unwrap().val())[0];
    assert!((w + (tau - 1.0f64).ln()).abs() < 1e-6);
    let (a, b) = layer.decay_values(&device);
    assert!((a[0] as f64 - 1.0 / tau).abs() < 1e-6 && (a[0] + b[0] - 1.0).abs() < 1e-6);

    let (x, xt) = input(&device, 2);
    let xt = xt.require_grad();
    let g = tensor_from(&to_f32(&normal(T * N, 0.0, 1.0, 3)), [T, N], &device);
    let out = layer.try_forward(xt.clone()).unwrap();
    let (s, _) = spikingjelly_lif(&x, 1.0 / tau, true);
    assert_eq!(tensor_vec(out.spikes.clone()), s);
    let grads = (out.spikes * g.clone()).sum().backward();
    let gw = tensor_vec(layer.w_a.as_ref().unwrap().val().grad(&grads).unwrap())[0];

    // dL/dw = k (1 - k) (dL/dalpha - dL/dbeta), with the operation's own alpha/beta gradients.
    let k = 1.0 / tau;
    let (_, (_, ga, gb)) = fused(
        &prim_f32(&to_f32(&x), &[T, N]),
        &prim_f32(&[k as f32], &[1]),
        &prim_f32(&[(1.0 - k) as f32], &[1]),
        &prim_f32(&to_f32(&tensor_vec(g)), &[T, N]),
        dalif::neuron::op::DaLifOp {
            v_th: 1.0,
            reset: dalif::neuron::Reset::Hard,
            detach_reset: false,
            surrogate: dalif::Surrogate::default(),
            spike: dalif::neuron::SpikeFunction::Heaviside,
        },
    );
    let want = k * (1.0 - k) * (read_f64(&ga)[0] - read_f64(&gb)[0]);
    assert!(
        (gw - want).abs() <= 1e-4 * want.abs().max(1.0),
        "dL/dw {gw} vs {want}"
    );
}

fn weight_grad(w: &Option<Param<Tensor<1>>>, grads: &burn::tensor::Gradients) -> Option<Vec<f64>> {
    w.as_ref()
        .map(|w| tensor_vec(w.val().grad(grads).expect("learned weights get gradients")))
}

/// `L = sum(S * G)` of a layer made by `config` with smooth spikes, whose true derivative
/// is the surrogate gradient, so finite differences can check it.
fn smooth_loss(config: &DaLifConfig, x: &Tensor<2>, g: &Tensor<2>) -> f64 {
    let layer = config
        .clone()
        .with_spike(SpikeFunction::Smooth)
        .init(&x.device())
        .unwrap();
    tensor_vec((layer.forward(x.clone()) * g.clone()).sum())[0]
}

#[test]
fn dalif_adds_two_parameters_per_layer_and_ablations_freeze_one_decay() {
    let device = Device::flex().autodiff();
    let cases = [
        (DaLifConfig::dalif(), true, true),
        (DaLifConfig::spatial_only(), true, false),
        (DaLifConfig::temporal_only(), false, true),
    ];
    let (_, x) = input(&device, 4);
    let g = tensor_from(&to_f32(&normal(T * N, 0.0, 1.0, 6)), [T, N], &device);
    for (config, learn_a, learn_b) in cases {
        let layer = config.init(&device).unwrap();
        assert_eq!(layer.num_params(), learn_a as usize + learn_b as usize);
        assert_eq!(layer.num_params(), config.num_learnable());
        let (a, b) = layer.decay_values(&device);
        assert!((a[0] - 0.5).abs() < 1e-6 && (b[0] - 0.5).abs() < 1e-6);

        // A learned decay's weight gets dL/dw = dL/dalpha (1 - alpha^2) (tanh), which central
        // differences over alpha must give; a frozen one gets no gradient at all.
        let smooth = config
            .clone()
            .with_spike(SpikeFunction::Smooth)
            .init(&device)
            .unwrap();
        let grads = (smooth.forward(x.clone().require_grad()) * g.clone())
            .sum()
            .backward();
        let (a, b) = (a[0] as f64, b[0] as f64);
        let h = 1e-2;
        for (name, w, learned, plus, minus) in [
            ("alpha", &smooth.w_a, learn_a, (a + h, b), (a - h, b)),
            ("beta", &smooth.w_b, learn_b, (a, b + h), (a, b - h)),
        ] {
            let Some(got) = weight_grad(w, &grads) else {
                assert!(!learned, "the learned {name} gets no gradient");
                continue;
            };
            assert!(learned, "the frozen {name} gets a gradient");
            let loss = |(a, b): (f64, f64)| smooth_loss(&config.clone().with_init(a, b), &x, &g);
            let decay = if name == "alpha" { a } else { b };
            let want = (loss(plus) - loss(minus)) / (2.0 * h) * (1.0 - decay * decay);
            assert!(got[0] != 0.0, "dL/dw_{name} is zero");
            assert!(
                (got[0] - want).abs() <= 2e-2 * want.abs().max(1.0),
                "dL/dw_{name} {} vs finite difference {want}",
                got[0]
            );
        }
    }
    let per_channel = DaLifConfig::dalif()
        .with_channels(Some(16))
        .init(&device)
        .unwrap();
    assert_eq!(per_channel.num_params(), 32);
}

#[test]
fn per_channel_layer_learns_one_pair_per_channel() {
    let device = Device::flex().autodiff();
    let layer = DaLifConfig::dalif()
        .with_channels(Some(3))
        .init(&device)
        .unwrap();
    let x = tensor_from(
        &to_f32(&normal(4 * 2 * 3 * 5, 1.0, 1.0, 5)),
        [4, 2, 3, 5],
        &device,
    )
    .require_grad();
    let grads = layer.forward(x).sum().backward();
    let (ga, gb) = (
        weight_grad(&layer.w_a, &grads).unwrap(),
        weight_grad(&layer.w_b, &grads).unwrap(),
    );
    assert_eq!((ga.len(), gb.len()), (3, 3));
    assert!(ga.iter().all(|g| g.is_finite()) && ga.iter().any(|&g| g != 0.0));
}

#[test]
fn shapes_that_do_not_fit_are_errors_that_say_why() {
    let device = Device::flex();
    let layer = DaLifConfig::dalif()
        .with_channels(Some(8))
        .init(&device)
        .unwrap();
    let err = layer
        .try_forward(Tensor::<4>::zeros([4, 2, 3, 5], &device))
        .unwrap_err();
    assert!(
        matches!(&err, NeuronError::Input(m) if m.contains("8 per-channel decays") && m.contains("3 channels")),
        "{err}"
    );
    let err = layer
        .try_forward(Tensor::<2>::zeros([4, 8], &device))
        .unwrap_err();
    assert!(err.to_string().contains("no channels"), "{err}");
    let plain = DaLifConfig::dalif().init(&device).unwrap();
    let err = plain
        .try_forward(Tensor::<1>::zeros([4], &device))
        .unwrap_err();
    assert!(err.to_string().contains("[T, B, ...]"), "{err}");
    assert!(DaLifConfig::plif(0.5).init(&device).is_err());
}

#[test]
fn empty_batch_through_the_layer_and_autodiff() {
    let device = Device::flex().autodiff();
    let layer = DaLifConfig::dalif().init(&device).unwrap();
    let x = Tensor::<3>::zeros([4, 0, 7], &device).require_grad();
    let out = layer.try_forward(x.clone()).unwrap();
    assert_eq!(out.spikes.dims(), [4, 0, 7]);
    let grads = out.spikes.sum().backward();
    assert_eq!(x.grad(&grads).unwrap().dims(), [4, 0, 7]);
}
