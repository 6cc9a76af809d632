//! The training loop: mini-batch BPTT over a data set, evaluated on a test set every epoch.

use super::{
    CosineWarmup, OptimizerKind, Readout, classification_loss, direct_encoding, mean_logits,
};
use crate::models::SpikingClassifier;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};
use dalif_data::{DataError, Dataset, shuffled_indices};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The settings of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    /// Time steps T (static images are repeated T times).
    pub steps: usize,
    pub lr: f64,
    pub warmup_epochs: usize,
    pub optimizer: OptimizerKind,
    pub weight_decay: f64,
    pub label_smoothing: f32,
    pub readout: Readout,
    /// Seeds the batch order (the caller seeds the model's initialisation).
    pub seed: u64,
}

/// What one epoch measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub test_loss: f64,
    pub test_accuracy: f64,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    /// Alpha and beta of every spiking layer (per-channel layers: their mean).
    pub alpha: Vec<f64>,
    pub beta: Vec<f64>,
    pub seconds: f64,
}

/// `(images [B, C, H, W], labels [B])` of the samples `indices`.
fn batch(
    data: &dyn Dataset,
    indices: &[usize],
    device: &Device,
) -> Result<(Tensor<4>, Tensor<1, Int>), DataError> {
    let shape = data.sample_shape();
    let [c, h, w] = shape else {
        return Err(DataError::Invalid(format!(
            "training reads static images [C, H, W]; samples here are {shape:?}"
        )));
    };
    let mut values = Vec::with_capacity(indices.len() * c * h * w);
    let mut labels = Vec::with_capacity(indices.len());
    for &i in indices {
        let s = data.get(i)?;
        values.extend_from_slice(&s.data);
        labels.push(s.label as i64);
    }
    let images = Tensor::from_data(TensorData::new(values, [indices.len(), *c, *h, *w]), device);
    let labels = Tensor::from_data(TensorData::new(labels, [indices.len()]), device);
    Ok((images, labels))
}

/// `(loss, correct)` of one batch.
fn score(logits: Tensor<3>, labels: Tensor<1, Int>, config: &TrainConfig) -> (Tensor<1>, usize) {
    let b = labels.dims()[0];
    let predicted = mean_logits(logits.clone()).argmax(1).reshape([b]);
    let correct = predicted
        .equal(labels.clone())
        .int()
        .sum()
        .into_scalar::<i64>() as usize;
    let loss = classification_loss(logits, labels, config.readout, config.label_smoothing);
    (loss, correct)
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_scalar::<f64>()
}

/// `(mean loss, accuracy)` of `model` on `data`, without gradients.
pub fn evaluate<M: SpikingClassifier>(
    model: &M,
    data: &dyn Dataset,
    config: &TrainConfig,
    device: &Device,
) -> Result<(f64, f64), DataError> {
    let model = model.valid();
    let device = device.clone().without_autodiff();
    let (mut loss, mut correct) = (0.0, 0);
    let order: Vec<usize> = (0..data.len()).collect();
    for chunk in order.chunks(config.batch_size) {
        let (images, labels) = batch(data, chunk, &device)?;
        let (l, c) = score(
            model.forward(direct_encoding(images, config.steps)),
            labels,
            config,
        );
        loss += scalar(l) * chunk.len() as f64;
        correct += c;
    }
    let n = data.len().max(1) as f64;
    Ok((loss / n, correct as f64 / n))
}

/// Trains `model` on `train` for `config.epochs`, evaluating on `test` after every epoch and
/// handing the epoch's metrics to `on_epoch`. `device` must be an autodiff device.
pub fn fit<M: SpikingClassifier>(
    mut model: M,
    train: &dyn Dataset,
    test: &dyn Dataset,
    config: &TrainConfig,
    device: &Device,
    mut on_epoch: impl FnMut(&EpochMetrics),
) -> Result<M, DataError> {
    if config.batch_size == 0 || config.steps == 0 || train.is_empty() {
        return Err(DataError::Invalid(
            "training needs a batch size and T of at least 1 and a non-empty training set".into(),
        ));
    }
    let batches = train.len().div_ceil(config.batch_size);
    let schedule = CosineWarmup {
        base: config.lr,
        warmup: config.warmup_epochs * batches,
        total: config.epochs * batches,
    };
    let mut optimizer = config.optimizer.init(config.weight_decay);
    let mut step = 0;
    for epoch in 0..config.epochs {
        let start = Instant::now();
        let order = shuffled_indices(train.len(), config.seed.wrapping_add(epoch as u64));
        let (mut loss_sum, mut correct, mut lr) = (0.0, 0, config.lr);
        for chunk in order.chunks(config.batch_size) {
            let (images, labels) = batch(train, chunk, device)?;
            let logits = model.forward(direct_encoding(images, config.steps));
            let (loss, c) = score(logits, labels, config);
            loss_sum += scalar(loss.clone()) * chunk.len() as f64;
            correct += c;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            lr = schedule.lr(step);
            model = optimizer.step(lr, model, grads);
            step += 1;
        }
        let (test_loss, test_accuracy) = evaluate(&model, test, config, device)?;
        let mean = |v: Vec<f32>| v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64;
        let (alpha, beta) = model
            .neurons()
            .iter()
            .map(|n| {
                let (a, b) = n.decay_values(device);
                (mean(a), mean(b))
            })
            .unzip();
        on_epoch(&EpochMetrics {
            epoch,
            train_loss: loss_sum / train.len() as f64,
            train_accuracy: correct as f64 / train.len() as f64,
            test_loss,
            test_accuracy,
            lr,
            alpha,
            beta,
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    Ok(model)
}
