//! Training end to end: on a small data set built in memory and on the embedded digits, and
//! the same seed giving the same numbers.

use burn::tensor::Device;
use dalif::layers::NeuronKind;
use dalif::models::CifarSmallConfig;
use dalif::neuron::DecayParam;
use dalif::training::{EpochMetrics, OptimizerKind, Readout, TrainConfig, fit};
use dalif_data::{InMemoryDataset, stratified_split};

/// Two classes of 1x8x8 images: a bright left half or a bright right half, with noise.
fn halves(n: usize, seed: u64) -> InMemoryDataset {
    let mut state = seed;
    let mut noise = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        (state >> 40) as f32 / (1u64 << 24) as f32 * 0.3
    };
    let (mut data, mut labels) = (Vec::new(), Vec::new());
    for i in 0..n {
        let label = i % 2;
        for _row in 0..8 {
            for col in 0..8 {
                let bright = (col < 4) == (label == 0);
                data.push(if bright { 0.9 } else { 0.1 } + noise());
            }
        }
        labels.push(label);
    }
    InMemoryDataset::new(vec![1, 8, 8], 2, data, labels).unwrap()
}

fn config(epochs: usize, readout: Readout) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 8,
        steps: 2,
        lr: 0.05,
        warmup_epochs: 1,
        optimizer: OptimizerKind::Sgd,
        weight_decay: 0.0,
        label_smoothing: 0.1,
        readout,
        seed: 3,
    }
}

fn run(
    data: &InMemoryDataset,
    classes: usize,
    config: &TrainConfig,
    seed: u64,
) -> Vec<EpochMetrics> {
    let device = Device::flex().autodiff();
    device.seed(seed);
    let (train, test) = stratified_split(data, 0.25, seed).unwrap();
    let model = CifarSmallConfig {
        neuron: NeuronKind::Dalif,
        param: DecayParam::Tanh,
        channels_in: data_channels(data),
        classes,
    }
    .init(&device)
    .unwrap();
    let mut metrics = Vec::new();
    fit(model, &train, &test, config, &device, |m| {
        metrics.push(m.clone())
    })
    .unwrap();
    metrics
}

fn data_channels(data: &InMemoryDataset) -> usize {
    dalif_data::Dataset::sample_shape(data)[0]
}

#[test]
fn learns_a_small_in_memory_data_set_with_either_readout() {
    let data = halves(64, 1);
    for readout in [Readout::MeanLogits, Readout::Tet] {
        // 60 steps: batch norm's running variance (momentum 0.1, starting at 1), which
        // evaluation uses, needs that many to forget its initial value.
        let metrics = run(&data, 2, &config(10, readout), 0);
        let last = metrics.last().unwrap();
        assert_eq!(metrics.len(), 10);
        assert!(last.test_accuracy >= 0.9, "{readout:?}: {last:?}");
        assert!(
            last.train_loss < metrics[0].train_loss,
            "{readout:?}: loss went down"
        );
        assert_eq!(last.alpha.len(), 4, "one alpha per spiking layer");
    }
}

#[test]
fn same_seed_same_numbers() {
    let data = halves(32, 2);
    let strip = |m: Vec<EpochMetrics>| -> Vec<(f64, f64, f64, Vec<f64>)> {
        m.into_iter()
            .map(|m| (m.train_loss, m.test_loss, m.lr, m.alpha))
            .collect()
    };
    let a = strip(run(&data, 2, &config(2, Readout::MeanLogits), 5));
    let b = strip(run(&data, 2, &config(2, Readout::MeanLogits), 5));
    assert_eq!(a, b);
}

#[test]
fn learns_the_embedded_digits() {
    let data = dalif_data::digits::load().unwrap();
    let config = TrainConfig {
        batch_size: 48,
        steps: 2,
        ..config(3, Readout::MeanLogits)
    };
    let metrics = run(&data, 10, &config, 0);
    let last = metrics.last().unwrap();
    assert!(last.test_accuracy >= 0.85, "{last:?}");
}
