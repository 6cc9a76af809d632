//! How the layers feeding a spiking layer start: batch norms whose running statistics start
//! from the data and whose scale starts from the neuron's threshold, and linear layers
//! scaled on a batch to the same spread.

mod common;

use burn::nn::LinearConfig;
use burn::tensor::{Device, Tensor};
use common::*;
use dalif::layers::{
    Activation, ConvBnConfig, InitScale, SpikingBasicBlockConfig, SpikingConvConfig,
};
use dalif::models::{ModelConfig, ModelKind, Network, init_seeded, learnable_params};
use dalif::neuron::{DaLifConfig, DecayParam, NeuronError, NeuronKind};
use dalif::training::scale_linear_charges;

const C_OUT: usize = 3;

/// Per-channel mean and biased variance of `z` `[N, C, H, W]`, in f64.
fn channel_stats(z: &[f64], [n, c, h, w]: [usize; 4]) -> (Vec<f64>, Vec<f64>) {
    let mut mean = vec![0.0; c];
    let mut var = vec![0.0; c];
    for ch in 0..c {
        let values: Vec<f64> = (0..n)
            .flat_map(|i| (0..h * w).map(move |p| (i * c + ch) * h * w + p))
            .map(|k| z[k])
            .collect();
        let m = values.iter().sum::<f64>() / values.len() as f64;
        mean[ch] = m;
        var[ch] = values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / values.len() as f64;
    }
    (mean, var)
}

#[test]
fn running_statistics_average_the_first_batches_equally_then_exponentially() {
    let device = Device::flex().autodiff();
    let layer = init_seeded(&device, 3, || {
        Ok::<_, ()>(ConvBnConfig::new(2, C_OUT, 3, 1).init(&device))
    })
    .unwrap();
    let (mut mean, mut var) = (vec![0.0; C_OUT], vec![1.0; C_OUT]);
    for k in 0..14 {
        // Inputs whose statistics change from batch to batch, so the weights show.
        let x = to_f32(&normal(
            2 * 4 * 2 * 5 * 5,
            k as f64 * 0.3,
            1.0 + k as f64 * 0.1,
            k,
        ));
        let x: Tensor<5> = tensor_from(&x, [2, 4, 2, 5, 5], &device);
        // The convolution alone, to compute the batch statistics by hand.
        let z = layer.conv.forward(x.clone().reshape([8, 2, 5, 5]));
        let (batch_mean, batch_var) = channel_stats(&tensor_vec(z), [8, C_OUT, 5, 5]);
        layer.forward(x);
        let weight = f64::max(0.1, 1.0 / (k as f64 + 1.0));
        for c in 0..C_OUT {
            mean[c] += weight * (batch_mean[c] - mean[c]);
            var[c] += weight * (batch_var[c] - var[c]);
        }
        let got_mean = tensor_vec(layer.bn.running_mean.value_sync());
        let got_var = tensor_vec(layer.bn.running_var.value_sync());
        assert!(
            max_abs_diff(&got_mean, &mean) < 1e-4,
            "batch {k}: mean {got_mean:?} vs {mean:?}"
        );
        assert!(
            max_abs_diff(&got_var, &var) < 1e-4,
            "batch {k}: var {got_var:?} vs {var:?}"
        );
        if k == 0 {
            // The first batch alone: nothing is left of the start at (0, 1).
            assert!(max_abs_diff(&got_var, &batch_var) < 1e-4);
        }
    }
    assert_eq!(tensor_vec(layer.batches_tracked.value_sync()), vec![14.0]);
}

#[test]
fn inference_does_not_move_the_running_statistics() {
    let device = Device::flex();
    let layer = init_seeded(&device, 1, || {
        Ok::<_, ()>(ConvBnConfig::new(2, C_OUT, 3, 1).init(&device))
    })
    .unwrap();
    let x: Tensor<5> = tensor_from(
        &to_f32(&normal(2 * 2 * 2 * 4 * 4, 1.0, 2.0, 9)),
        [2, 2, 2, 4, 4],
        &device,
    );
    layer.forward(x);
    assert_eq!(
        tensor_vec(layer.bn.running_mean.value_sync()),
        vec![0.0; C_OUT]
    );
    assert_eq!(
        tensor_vec(layer.bn.running_var.value_sync()),
        vec![1.0; C_OUT]
    );
    assert_eq!(tensor_vec(layer.batches_tracked.value_sync()), vec![0.0]);
}

#[test]
fn the_scale_starts_at_the_threshold_over_the_initial_spatial_decay() {
    let device = Device::flex();
    let gamma = |bn: &burn::nn::BatchNorm| tensor_vec(bn.gamma.val());
    let cases = [
        // DA-LIF from alpha = 0.5, v_th = 1: gamma 2.
        (NeuronKind::Dalif.config(DecayParam::Tanh), 2.0),
        // A threshold of 0.6 and alpha from 0.8: 0.75.
        (
            NeuronKind::Dalif
                .config(DecayParam::Sigmoid)
                .with_init(0.8, 0.3)
                .with_v_th(0.6),
            0.75,
        ),
        // LIF without input decay charges with alpha = 1: gamma is the threshold.
        (DaLifConfig::lif(2.0, false), 1.0),
        // PLIF from tau = 4: alpha = 1/4.
        (NeuronKind::Plif.config(DecayParam::Tanh).with_tau(4.0), 4.0),
    ];
    for (neuron, expected) in cases {
        for (init_scale, want) in [(InitScale::Threshold, expected), (InitScale::Unit, 1.0)] {
            let layer = SpikingConvConfig {
                conv: ConvBnConfig::new(2, C_OUT, 3, 1),
                neuron: neuron.clone(),
                init_scale,
            }
            .init(&device)
            .unwrap();
            let got = gamma(&layer.conv_bn.bn);
            assert!(
                max_abs_diff(&got, &[want; C_OUT]) < 1e-6,
                "{neuron} with {init_scale}: gamma {got:?}, expected {want}"
            );
        }
    }
    // In a residual block the two branches summed into the second neuron share the gain.
    let block = SpikingBasicBlockConfig {
        channels_in: 2,
        channels_out: C_OUT,
        stride: 2,
        neuron: NeuronKind::Dalif.config(DecayParam::Tanh),
        init_scale: InitScale::Threshold,
    }
    .init(&device)
    .unwrap();
    let half = 2.0 / std::f64::consts::SQRT_2;
    assert!(max_abs_diff(&gamma(&block.conv1.bn), &[2.0; C_OUT]) < 1e-6);
    assert!(max_abs_diff(&gamma(&block.conv2.bn), &[half; C_OUT]) < 1e-6);
    let shortcut = block
        .shortcut
        .as_ref()
        .expect("the stride changes the shape");
    assert!(max_abs_diff(&gamma(&shortcut.bn), &[half; C_OUT]) < 1e-6);
}

#[test]
fn a_linear_layer_feeding_a_neuron_is_scaled_to_the_threshold_on_a_batch() {
    let device = Device::flex().autodiff();
    let neuron = NeuronKind::Dalif
        .config(DecayParam::Tanh)
        .with_init(0.4, 0.5)
        .with_v_th(0.8);
    let mlp = init_seeded(&device, 5, || {
        Ok::<_, NeuronError>(Mlp {
            hidden: LinearConfig::new(64, 32).init(&device),
            neuron: neuron.init(&device)?,
            out: LinearConfig::new(32, 3).init(&device),
        })
    })
    .unwrap();
    // Inputs like pooled spikes: small and positive.
    let x: Tensor<3> = tensor_from(
        &to_f32(&normal(4 * 16 * 64, 0.1, 0.05, 2)),
        [4, 16, 64],
        &device,
    );
    let charge_std = |mlp: &Mlp| {
        let y = tensor_vec(mlp.hidden.forward(x.clone()))
            .iter()
            .map(|v| v * 0.4)
            .collect::<Vec<_>>();
        let m = y.iter().sum::<f64>() / y.len() as f64;
        (y.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / y.len() as f64).sqrt()
    };
    let before = charge_std(&mlp);
    assert!(
        before < 0.1,
        "burn's default starts far below the threshold: {before}"
    );
    let params = learnable_params(&mlp);
    let out_weight = tensor_vec(mlp.out.weight.val());
    let batch = || Ok::<_, ()>(Activation::Features(x.clone()));
    let mlp = scale_linear_charges(mlp, batch).unwrap();
    let after = charge_std(&mlp);
    assert!((after - 0.8).abs() < 0.04, "charge std {after}, v_th 0.8");
    assert_eq!(
        learnable_params(&mlp),
        params,
        "the scaled layer still learns"
    );
    assert_eq!(
        tensor_vec(mlp.out.weight.val()),
        out_weight,
        "the classifier feeds no neuron"
    );
}

#[test]
fn networks_whose_neurons_read_batch_norms_are_not_run_by_the_scaling() {
    let device = Device::flex().autodiff();
    let config = ModelConfig::new(ModelKind::CifarSmall, 1, 2, [8, 8]);
    let net = init_seeded(&device, 1, || config.init(&device)).unwrap();
    let x: Tensor<5> = tensor_from(
        &to_f32(&normal(2 * 4 * 64, 0.0, 1.0, 3)),
        [2, 4, 1, 8, 8],
        &device,
    );
    let net = scale_linear_charges(net, || -> Result<Activation, ()> {
        panic!("a network whose neurons all read batch norms is not run: {x:?}")
    })
    .unwrap();
    let Network::CifarSmall(net) = net else {
        panic!("cifar-small")
    };
    for layer in &net.layers {
        assert_eq!(
            tensor_vec(layer.conv_bn.batches_tracked.value_sync()),
            vec![0.0]
        );
    }
}
