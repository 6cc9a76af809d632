//! The training loop: mini-batch BPTT over a data set, evaluated on a test set every epoch,
//! resumable from the state it hands out at the end of each epoch.

use super::{
    CosineWarmup, OptimizerKind, Readout, classification_loss, direct_encoding, mean_logits,
    no_decay_params,
};
use crate::distributed::{Collective, Solo, SyncBatchNorm, broadcast_module, sum_gradients};
use crate::layers::{Activation, SpikeMonitor};
use crate::models::SpikingClassifier;
use burn::optim::{GradientsParams, ModuleOptimizer, OptimizerRecord};
use burn::tensor::{Device, Int, Tensor, TensorData};
use dalif_data::rng::SplitMix64;
use dalif_data::{
    Augmentation, Batch, BatchPlan, DataError, Dataset, Mixing, for_each_batch, shuffled_indices,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// The settings of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Epochs to train, counting those of a resumed run.
    pub epochs: usize,
    /// Samples per optimiser step (and per evaluation batch).
    pub batch_size: usize,
    /// Time steps T. Static images are repeated T times; event frames must have T frames.
    pub steps: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Epochs of linear learning-rate warm-up before the cosine decay ([`CosineWarmup`]).
    pub warmup_epochs: usize,
    /// The optimiser.
    pub optimizer: OptimizerKind,
    /// Weight-decay coefficient, applied as the optimiser does ([`OptimizerKind`]).
    pub weight_decay: f64,
    /// Keep weight decay off batch norms, biases and the neurons' decays (all 1-D parameters).
    pub no_decay_bn_and_neurons: bool,
    /// Augmentation of the training samples (off by default).
    pub augmentation: Augmentation,
    /// Mixup / CutMix of the training batches (off by default).
    pub mixing: Mixing,
    /// Label smoothing `eps` of the cross-entropy, in `[0, 1)` ([`classification_loss`]).
    pub label_smoothing: f32,
    /// How per-step logits become the loss: mean logits or TET.
    pub readout: Readout,
    /// Seeds the batch order of every epoch (the caller seeds the model's initialisation).
    pub seed: u64,
    /// In data-parallel training, batch norms normalise with the statistics of the whole batch
    /// over all ranks, not of each rank's part ([`SyncBatchNorm`]); one process is unchanged.
    pub sync_bn: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 5,
            batch_size: 64,
            steps: 4,
            lr: 0.05,
            warmup_epochs: 1,
            optimizer: OptimizerKind::Sgd,
            weight_decay: 0.0,
            no_decay_bn_and_neurons: false,
            augmentation: Augmentation::default(),
            mixing: Mixing::default(),
            label_smoothing: 0.0,
            readout: Readout::MeanLogits,
            seed: 0,
            sync_bn: false,
        }
    }
}

/// What one epoch measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Counted from 0.
    pub epoch: usize,
    /// Mean training loss over the epoch's samples (as they were augmented and mixed).
    pub train_loss: f64,
    /// Fraction of training samples whose time-averaged logits' argmax is their label.
    pub train_accuracy: f64,
    /// Mean loss on the test set (batch norm in inference mode, no augmentation).
    pub test_loss: f64,
    /// Fraction of test samples classified right, by the argmax of the time-averaged logits.
    pub test_accuracy: f64,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    /// The spatial decay alpha of every spiking layer (per-channel layers: the mean).
    pub alpha: Vec<f64>,
    /// The temporal decay beta of every spiking layer (per-channel layers: the mean).
    pub beta: Vec<f64>,
    /// Firing rate of every spiking layer on the test set.
    pub firing_rate: Vec<f64>,
    /// Firing rate of every spiking layer at initialisation: in the first training step, on
    /// its batch, with batch norm on batch statistics, as training first sees the network.
    /// Only in the first epoch's line (and absent in runs written before dalif recorded it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_firing_rate: Option<Vec<f64>>,
    /// Wall-clock seconds of the epoch, evaluation included.
    pub seconds: f64,
    /// Seconds the training steps waited for a batch after the epoch's first (the data
    /// loader reads ahead on its own thread: zero when reading hides behind the steps; 0 in
    /// runs written before dalif recorded it).
    #[serde(default)]
    pub loader_wait_seconds: f64,
    /// The neuron settings of the spiking layers, once for each distinct setting (empty in
    /// runs written before dalif recorded it).
    #[serde(default)]
    pub neuron: String,
}

/// Where training stands between epochs: all a resumed run needs besides the model and the
/// optimizer state (the batch order of an epoch is a function of the seed and the epoch).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed.
    pub epochs_done: usize,
    /// Optimizer steps taken (the learning-rate schedule's position).
    pub step: usize,
    /// Best test accuracy so far and the epoch (from 0) that reached it.
    pub best: Option<(usize, f64)>,
}

/// The running figures of the epoch in progress, after each batch.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchProgress {
    /// The epoch in progress, from 0.
    pub epoch: usize,
    /// Batches done in this epoch.
    pub batch: usize,
    /// Batches in the epoch.
    pub batches: usize,
    /// Mean training loss of the epoch's batches so far.
    pub loss: f64,
    /// Training accuracy of the epoch's batches so far.
    pub accuracy: f64,
}

/// The end of an epoch, as handed to [`TrainObserver::epoch_end`].
pub struct EpochEnd<'a, M> {
    /// The model after the epoch.
    pub model: &'a M,
    /// The optimiser, with its state (momenta), for checkpoints.
    pub optimizer: &'a ModuleOptimizer,
    /// Where training stands after this epoch.
    pub state: &'a TrainState,
    /// What the epoch measured.
    pub metrics: &'a EpochMetrics,
    /// Whether this epoch has the best test accuracy so far.
    pub is_best: bool,
}

/// Watches a training run: progress, end of epochs (where checkpoints are written), and a
/// way to ask the run to stop.
pub trait TrainObserver<M> {
    /// Called after each optimiser step with the epoch's running figures; by default, nothing.
    fn batch_end(&mut self, _progress: &BatchProgress) {}

    /// Called after each epoch's evaluation; an error stops the run.
    fn epoch_end(&mut self, end: EpochEnd<'_, M>) -> Result<(), TrainError>;

    /// Polled between batches: `true` stops the run, abandoning the epoch in progress.
    fn stop_requested(&self) -> bool {
        false
    }
}

/// Any `FnMut(&EpochMetrics)` observes the metrics of each epoch.
impl<M, F: FnMut(&EpochMetrics)> TrainObserver<M> for F {
    fn epoch_end(&mut self, end: EpochEnd<'_, M>) -> Result<(), TrainError> {
        self(end.metrics);
        Ok(())
    }
}

/// Why training stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A sample could not be read, or does not fit the run (shape, T).
    #[error(transparent)]
    Data(#[from] DataError),
    /// A setting out of range, or an empty training set.
    #[error("invalid training configuration: {0}")]
    Config(String),
    /// The observer asked to stop ([`TrainObserver::stop_requested`]); the epoch in
    /// progress is abandoned, the completed ones stand.
    #[error("stopped on request after {epochs_done} completed epochs")]
    Stopped {
        /// Epochs completed before the stop.
        epochs_done: usize,
    },
    /// The observer's own error (the run directory could not be written).
    #[error(transparent)]
    Observer(Box<dyn std::error::Error + Send + Sync>),
    /// Data-parallel training could not go on: another rank failed, or the ranks disagree.
    #[error("data-parallel training: {0}")]
    Distributed(String),
}

/// Batches prepared ahead of the step.
const AHEAD: usize = 2;

/// Keeps the draws of batch mixing apart from those of the samples' augmentation.
const MIX_STREAM: u64 = 0x4D49_5845;

/// A batch as `(input [T, B, ...], labels [B])`: static images `[C, H, W]` and feature vectors
/// `[F]` are repeated over T (direct encoding); event frames `[T, C, H, W]` are fed as they are.
fn tensors(
    batch: Batch,
    steps: usize,
    device: &Device,
) -> Result<(Activation, Tensor<1, Int>), DataError> {
    let b = batch.len();
    let labels: Vec<i64> = batch.labels.iter().map(|&l| l as i64).collect();
    let labels = Tensor::from_data(TensorData::new(labels, [b]), device);
    let values = batch.data;
    let input = match batch.sample_shape[..] {
        [f] => {
            let features = Tensor::<2>::from_data(TensorData::new(values, [b, f]), device);
            Activation::Features(features.unsqueeze::<3>().repeat_dim(0, steps))
        }
        [c, h, w] => {
            let images = Tensor::<4>::from_data(TensorData::new(values, [b, c, h, w]), device);
            Activation::Maps(direct_encoding(images, steps))
        }
        [t, c, h, w] if t == steps => Activation::Maps(
            Tensor::<5>::from_data(TensorData::new(values, [b, t, c, h, w]), device)
                .swap_dims(0, 1),
        ),
        [t, _, _, _] => {
            return Err(DataError::Invalid(format!(
                "the samples are event frames with T = {t}, but training runs T = {steps}: \
                 integrate the events into {steps} frames or set the steps to {t}"
            )));
        }
        ref shape => {
            return Err(DataError::Invalid(format!(
                "training reads features [F], images [C, H, W] or event frames [T, C, H, W]; \
                 samples here are {shape:?}"
            )));
        }
    };
    Ok((input, labels))
}

/// The order in which epoch `epoch` (from 0) reads the training set: a function of the seed
/// and the epoch alone, so a resumed run reads what an uninterrupted one would.
fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    shuffled_indices(n, seed.wrapping_add(epoch as u64))
}

/// The first batch of a run's first epoch, in the order its first step reads it but without
/// augmentation or mixing: what a run measures [`scale_linear_charges`](super::scale_linear_charges)
/// on.
pub fn first_batch(
    train: &dyn Dataset,
    config: &TrainConfig,
    device: &Device,
) -> Result<Activation, DataError> {
    let mut batch = Batch {
        data: Vec::new(),
        sample_shape: train.sample_shape().to_vec(),
        labels: Vec::new(),
    };
    for &i in epoch_order(train.len(), config.seed, 0)
        .iter()
        .take(config.batch_size)
    {
        let sample = train.get(i)?;
        batch.data.extend(sample.data);
        batch.labels.push(sample.label);
    }
    Ok(tensors(batch, config.steps, device)?.0)
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

impl TrainConfig {
    /// Checks every setting; a message names the setting by its key in `config.toml`.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::Config(m));
        if self.epochs == 0 || self.batch_size == 0 || self.steps == 0 {
            return bad(format!(
                "epochs, batch_size and steps must be at least 1, got {}, {} and {}",
                self.epochs, self.batch_size, self.steps
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("lr must be a positive number, got {}", self.lr));
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return bad(format!(
                "label_smoothing must be in [0, 1), got {}",
                self.label_smoothing
            ));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return bad(format!(
                "weight_decay must be at least 0, got {}",
                self.weight_decay
            ));
        }
        self.mixing.validate()?;
        Ok(())
    }
}

/// A model's loss, accuracy and per-layer firing rates on a data set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Mean loss per sample.
    pub loss: f64,
    /// Fraction of samples classified right (argmax of the time-averaged logits).
    pub accuracy: f64,
    /// Mean firing rate of every spiking layer over all the data.
    pub firing_rate: Vec<f64>,
}

/// Evaluates `model` on `data` in inference mode (batch norm uses its running statistics).
pub fn evaluate<M: SpikingClassifier>(
    model: &M,
    data: &dyn Dataset,
    config: &TrainConfig,
    device: &Device,
) -> Result<Evaluation, DataError> {
    evaluate_sharded(model, data, config, device, &Solo)
}

/// [`evaluate`] with every rank of `world` scoring its part of every batch; the sums are
/// added over the ranks, and every rank returns the evaluation on the whole of `data`.
pub fn evaluate_sharded<M: SpikingClassifier>(
    model: &M,
    data: &dyn Dataset,
    config: &TrainConfig,
    device: &Device,
    world: &dyn Collective,
) -> Result<Evaluation, DataError> {
    let model = model.valid();
    let device = device.clone().without_autodiff();
    // Loss and correct answers, then the firing rate of every layer, each times the samples.
    let mut sums = vec![0.0; 2 + model.neurons().len()];
    let plan = BatchPlan {
        order: (0..data.len()).collect(),
        batch_size: config.batch_size,
        augmentation: None,
        ahead: AHEAD,
        shard: world.shard(),
    };
    for_each_batch(data, &plan, |batch| {
        let n = batch.len() as f64;
        if batch.is_empty() {
            return Ok(());
        }
        let (input, labels) = tensors(batch, config.steps, &device)?;
        let mut monitor = SpikeMonitor::on();
        let (l, c) = score(model.forward_monitored(input, &mut monitor), labels, config);
        sums[0] += l.into_scalar::<f64>() * n;
        sums[1] += c as f64;
        for (sum, r) in sums[2..].iter_mut().zip(monitor.into_rates()) {
            *sum += r * n;
        }
        Ok::<(), DataError>(())
    })?;
    world.sum_f64(&mut sums);
    let n = data.len().max(1) as f64;
    Ok(Evaluation {
        loss: sums[0] / n,
        accuracy: sums[1] / n,
        firing_rate: sums[2..].iter().map(|r| r / n).collect(),
    })
}

/// A training run: its configuration, its optimizer, where it stands, and the processes it
/// trains on.
pub struct Trainer {
    config: TrainConfig,
    optimizer: ModuleOptimizer,
    state: TrainState,
    world: Arc<dyn Collective>,
}

impl Trainer {
    /// A fresh run for `model`.
    pub fn new<M: SpikingClassifier>(config: TrainConfig, model: &M) -> Result<Self, TrainError> {
        config.validate()?;
        let exempt = if config.no_decay_bn_and_neurons {
            no_decay_params(model)
        } else {
            Vec::new()
        };
        let optimizer = config.optimizer.init(config.weight_decay, exempt);
        Ok(Self {
            config,
            optimizer,
            state: TrainState::default(),
            world: Arc::new(Solo),
        })
    }

    /// Trains data-parallel over the ranks of `world` ([`crate::distributed`]): every rank
    /// calls [`fit`](Self::fit) with the same configuration and data, reads its part of every
    /// batch, and takes the optimiser step of the whole batch; evaluation is shared out the
    /// same way. `batch_size` stays the batch of one step over all ranks. Every rank's network
    /// must be rank 0's, parameter ids included, before its trainer is made: pass it through
    /// [`broadcast_module`] first ([`crate::run::train_data_parallel`] does).
    pub fn data_parallel(mut self, world: Arc<dyn Collective>) -> Self {
        self.world = world;
        self
    }

    /// A run that continues from a checkpoint: `model` must already hold the checkpoint's
    /// weights (their parameter ids key the optimizer state).
    pub fn resume<M: SpikingClassifier>(
        config: TrainConfig,
        model: &M,
        optimizer: OptimizerRecord,
        state: TrainState,
    ) -> Result<Self, TrainError> {
        let mut trainer = Self::new(config, model)?;
        trainer.optimizer = trainer.optimizer.load_record(optimizer);
        trainer.state = state;
        Ok(trainer)
    }

    /// Where the run stands.
    pub fn state(&self) -> &TrainState {
        &self.state
    }

    /// The run's settings.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// One optimiser step at rate `lr`.
    fn update<M: SpikingClassifier>(&mut self, model: M, grads: GradientsParams, lr: f64) -> M {
        self.state.step += 1;
        self.optimizer.step(lr, model, grads)
    }

    /// One training step on one batch at the configured peak rate, as [`fit`](Self::fit)
    /// takes it (without mixing or the schedule): forward over the T steps of `input`, the
    /// configured loss, backward, optimiser update. Returns the updated model and the loss.
    /// The model and the input must live on an autodiff device. On the ranks of a
    /// [data-parallel](Self::data_parallel) trainer, `input` is this rank's part of the batch,
    /// all parts of one size, and the step is the whole batch's.
    pub fn step<M: SpikingClassifier>(
        &mut self,
        model: M,
        input: Activation,
        labels: Tensor<1, Int>,
    ) -> (M, Tensor<1>) {
        let device = labels.device();
        let logits = model.forward(input);
        let c = &self.config;
        let loss = classification_loss(logits, labels, c.readout, c.label_smoothing);
        let lr = c.lr;
        let world = Arc::clone(&self.world);
        let share = match world.size() {
            1 => loss.clone(),
            n => loss.clone() / n as f64,
        };
        let grads = GradientsParams::from_grads(share.backward(), &model);
        let grads = sum_gradients(world.as_ref(), &model, grads, &device);
        (self.update(model, grads, lr), loss)
    }

    /// Trains `model` from the current state to `config.epochs`, evaluating on `test` after
    /// every epoch. `device` must be an autodiff device.
    pub fn fit<M: SpikingClassifier>(
        &mut self,
        mut model: M,
        train: &dyn Dataset,
        test: &dyn Dataset,
        device: &Device,
        observer: &mut impl TrainObserver<M>,
    ) -> Result<M, TrainError> {
        let config = self.config.clone();
        if train.is_empty() {
            return Err(TrainError::Config("the training set is empty".into()));
        }
        let world = Arc::clone(&self.world);
        let (world, solo) = (world.as_ref(), world.size() == 1);
        let batches = train.len().div_ceil(config.batch_size);
        let schedule = CosineWarmup {
            base: config.lr,
            warmup: config.warmup_epochs * batches,
            total: config.epochs * batches,
        };
        // Every part of every batch holds samples: a rank with none would make none of the
        // batch norms' collectives.
        let shortest = match train.len() % config.batch_size {
            0 => config.batch_size,
            rest => rest,
        };
        if config.sync_bn && !solo && shortest < world.size() {
            return Err(TrainError::Config(format!(
                "sync_bn on {} ranks needs at least one sample per rank in every batch, but a \
                 batch holds {shortest}: make the batch size larger, or the training set's size \
                 leave a last batch of at least {} samples",
                world.size(),
                world.size()
            )));
        }
        let _sync_bn = (config.sync_bn && !solo).then(|| SyncBatchNorm::enter(self.world.clone()));
        // Rank r mixes its part of a batch with its own draws; rank 0's are one process's.
        let mix_seed = (config.seed ^ MIX_STREAM).wrapping_add(world.rank() as u64);
        for epoch in self.state.epochs_done..config.epochs {
            let start = Instant::now();
            let plan = BatchPlan {
                order: epoch_order(train.len(), config.seed, epoch),
                batch_size: config.batch_size,
                augmentation: Some((&config.augmentation, config.seed, epoch as u64)),
                ahead: AHEAD,
                shard: world.shard(),
            };
            let (mut loss_sum, mut correct, mut seen, mut lr) = (0.0, 0.0, 0, config.lr);
            let mut slot = Some(model);
            let mut i = 0;
            let mut init_firing_rate = None;
            let wait = for_each_batch(train, &plan, |mut batch| {
                let stop = observer.stop_requested();
                let epochs_done = self.state.epochs_done;
                let stopped = || TrainError::Stopped { epochs_done };
                if stop && solo {
                    return Err(stopped());
                }
                let n = batch.len();
                // The whole batch over all ranks: this one's part is n of it.
                let whole = (train.len() - i * config.batch_size).min(config.batch_size);
                let model = slot.take().expect("the model is put back after every step");
                // The first step of a run sees the network as it was initialised.
                let first = self.state.step == 0;
                // This rank's loss times n, correct answers, stop request; then, in the first
                // step, the firing rate of every layer times n.
                let mut sums = vec![0.0, 0.0, f64::from(u8::from(stop))];
                let grads = if n == 0 {
                    sums.extend(vec![0.0; if first { model.neurons().len() } else { 0 }]);
                    GradientsParams::new()
                } else {
                    let mut rng = SplitMix64::for_item(mix_seed, epoch as u64, i as u64);
                    let mixed = config.mixing.apply(&mut batch, &mut rng);
                    let (input, labels) = tensors(batch, config.steps, device)?;
                    let mut monitor = if first {
                        SpikeMonitor::on()
                    } else {
                        SpikeMonitor::off()
                    };
                    let logits = model.forward_monitored(input, &mut monitor);
                    if first {
                        // Weighted by this rank's share (exactly 1 in one process); every rank
                        // sends one rate per spiking layer.
                        let share = n as f64 / whole as f64;
                        let mut rates = monitor.into_rates();
                        rates.resize(model.neurons().len(), 0.0);
                        sums.extend(rates.iter().map(|r| r * share));
                    }
                    let (mut loss, c) = score(logits.clone(), labels, &config);
                    if let Some(m) = mixed {
                        // The loss weighs the sample's own label by lambda, its partner's by
                        // the rest.
                        let partner: Vec<i64> =
                            m.partner_labels.iter().map(|&l| l as i64).collect();
                        let partner = Tensor::from_data(TensorData::new(partner, [n]), device);
                        let other = classification_loss(
                            logits,
                            partner,
                            config.readout,
                            config.label_smoothing,
                        );
                        loss = loss * m.lambda + other * (1.0 - m.lambda);
                    }
                    sums[0] = loss.clone().into_scalar::<f64>() * n as f64;
                    sums[1] = c as f64;
                    if !solo {
                        // This rank's share of the whole batch's mean loss: the sum of the
                        // ranks' gradients is then the whole batch's.
                        loss = loss * (n as f64 / whole as f64);
                    }
                    GradientsParams::from_grads(loss.backward(), &model)
                };
                let grads = sum_gradients(world, &model, grads, device);
                world.sum_f64(&mut sums);
                if first {
                    init_firing_rate = Some(sums[3..].to_vec());
                }
                loss_sum += sums[0];
                correct += sums[1];
                seen += whole;
                lr = schedule.lr(self.state.step);
                slot = Some(self.update(model, grads, lr));
                i += 1;
                if sums[2] > 0.0 {
                    return Err(stopped());
                }
                observer.batch_end(&BatchProgress {
                    epoch,
                    batch: i,
                    batches,
                    loss: loss_sum / seen as f64,
                    accuracy: correct / seen as f64,
                });
                Ok(())
            })?;
            model = slot.expect("every step puts the model back");
            // Batch norms' running averages differ between ranks (with sync_bn, by the order
            // of additions at most): all take rank 0's.
            model = broadcast_module(world, model).map_err(TrainError::Distributed)?;
            let eval = evaluate_sharded(&model, test, &config, device, world)?;
            let neurons = model.neurons();
            let (alpha, beta) = neurons.iter().map(|n| n.mean_decays(device)).unzip();
            let mut settings: Vec<String> = Vec::new();
            for neuron in &neurons {
                let setting = neuron.config().to_string();
                if !settings.contains(&setting) {
                    settings.push(setting);
                }
            }
            let metrics = EpochMetrics {
                epoch,
                train_loss: loss_sum / train.len() as f64,
                train_accuracy: correct / train.len() as f64,
                test_loss: eval.loss,
                test_accuracy: eval.accuracy,
                lr,
                alpha,
                beta,
                firing_rate: eval.firing_rate,
                init_firing_rate,
                seconds: start.elapsed().as_secs_f64(),
                loader_wait_seconds: wait.later.as_secs_f64(),
                neuron: settings.join(" | "),
            };
            let is_best = self
                .state
                .best
                .is_none_or(|(_, best)| metrics.test_accuracy > best);
            if is_best {
                self.state.best = Some((epoch, metrics.test_accuracy));
            }
            self.state.epochs_done = epoch + 1;
            let saved = observer.epoch_end(EpochEnd {
                model: &model,
                optimizer: &self.optimizer,
                state: &self.state,
                metrics: &metrics,
                is_best,
            });
            // A rank whose observer failed (rank 0 could not save) stops every rank.
            let mut failed = [f64::from(u8::from(saved.is_err()))];
            world.sum_f64(&mut failed);
            saved?;
            if failed[0] > 0.0 {
                return Err(TrainError::Distributed(format!(
                    "another rank failed at the end of epoch {} (its message says why)",
                    epoch + 1
                )));
            }
        }
        Ok(model)
    }
}

/// Trains `model` on `train` for `config.epochs` from scratch, handing each epoch's metrics
/// to `on_epoch`. `device` must be an autodiff device.
pub fn fit<M: SpikingClassifier>(
    model: M,
    train: &dyn Dataset,
    test: &dyn Dataset,
    config: &TrainConfig,
    device: &Device,
    mut on_epoch: impl FnMut(&EpochMetrics),
) -> Result<M, TrainError> {
    Trainer::new(config.clone(), &model)?.fit(model, train, test, device, &mut on_epoch)
}
