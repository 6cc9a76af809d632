//! Training end to end: on small data sets built in memory (images and event frames) and on
//! the embedded digits; the same seed giving the same numbers; run directories, checkpoints
//! and exact resumption; weight decay kept off what should not decay.

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use dalif::layers::{InitScale, SpikeMonitor};
use dalif::models::{CifarSmall, CifarSmallConfig, SpikingClassifier, init_seeded};
use dalif::neuron::{DecayParam, NeuronKind};
use dalif::run::{self, CheckpointKind, Quiet, RunConfig, RunDir, RunError, RunHooks};
use dalif::training::{
    EpochMetrics, OptimizerKind, Readout, TrainConfig, TrainError, direct_encoding, fit,
    no_decay_params,
};
use dalif_data::{
    Augmentation, Dataset, InMemoryDataset, Mixing, shuffled_indices, stratified_split,
};
use std::path::PathBuf;

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
        no_decay_bn_and_neurons: false,
        augmentation: Augmentation::default(),
        mixing: Mixing::default(),
        label_smoothing: 0.1,
        readout,
        seed: 3,
        sync_bn: false,
    }
}

fn run(
    data: &InMemoryDataset,
    classes: usize,
    config: &TrainConfig,
    seed: u64,
) -> Vec<EpochMetrics> {
    let device = Device::flex().autodiff();
    let (train, test) = stratified_split(data, 0.25, seed).unwrap();
    let model = small(data_channels(data), classes, seed, &device);
    let mut metrics = Vec::new();
    fit(model, &train, &test, config, &device, |m| {
        metrics.push(m.clone())
    })
    .unwrap();
    metrics
}

/// cifar_small with DA-LIF, initialised from `seed`. The tests of this file run in parallel
/// and burn's random generator is one per process: every draw here goes through
/// `init_seeded`, so the seed alone fixes the weights.
fn small(channels_in: usize, classes: usize, seed: u64, device: &Device) -> CifarSmall {
    let config = CifarSmallConfig {
        neuron: NeuronKind::Dalif.config(DecayParam::Tanh),
        init_scale: InitScale::default(),
        channels_in,
        classes,
    };
    init_seeded(device, seed, || config.init(device)).unwrap()
}

fn data_channels(data: &InMemoryDataset) -> usize {
    let shape = dalif_data::Dataset::sample_shape(data);
    shape[shape.len() - 3]
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

/// Two classes of event-frame samples `[2, 1, 8, 8]`: left then top half bright, or right then
/// bottom half bright.
fn frames(n: usize) -> InMemoryDataset {
    let mut data = Vec::new();
    for i in 0..n {
        let label = i % 2;
        for t in 0..2 {
            for row in 0..8 {
                for col in 0..8 {
                    let on = match (label, t) {
                        (0, 0) => col < 4,
                        (0, _) => row < 4,
                        (_, 0) => col >= 4,
                        _ => row >= 4,
                    };
                    data.push(if on {
                        1.0
                    } else {
                        ((i + row + col) % 3) as f32 * 0.1
                    });
                }
            }
        }
    }
    InMemoryDataset::new(vec![2, 1, 8, 8], 2, data, (0..n).map(|i| i % 2).collect()).unwrap()
}

#[test]
fn event_frames_are_fed_as_they_are_and_their_t_must_match() {
    let data = frames(64);
    let metrics = run(&data, 2, &config(10, Readout::MeanLogits), 0);
    let last = metrics.last().unwrap();
    assert!(last.test_accuracy >= 0.9, "{last:?}");
    assert_eq!(last.firing_rate.len(), 4);
    assert!(
        last.firing_rate.iter().all(|r| *r > 0.0 && *r < 1.0),
        "{last:?}"
    );

    let device = Device::flex().autodiff();
    let model = small(1, 2, 0, &device);
    let wrong_t = TrainConfig {
        steps: 3,
        ..config(1, Readout::MeanLogits)
    };
    let err = fit(model, &data, &data, &wrong_t, &device, |_| {}).unwrap_err();
    assert!(
        err.to_string().contains("T = 2") && err.to_string().contains("T = 3"),
        "{err}"
    );
}

fn run_config(epochs: usize) -> RunConfig {
    RunConfig {
        train: TrainConfig {
            optimizer: OptimizerKind::AdamW,
            lr: 0.01,
            weight_decay: 0.01,
            no_decay_bn_and_neurons: true,
            augmentation: Augmentation {
                pad_crop: 1,
                flip: true,
                cutout: 2,
                ..Default::default()
            },
            mixing: Mixing {
                mixup: 0.4,
                cutmix: 1.0,
            },
            ..config(epochs, Readout::MeanLogits)
        },
        ..RunConfig::default()
    }
}

/// Stops the run once `after` epochs have completed.
struct StopAfter {
    after: usize,
    done: usize,
}

impl RunHooks for StopAfter {
    fn epoch_end(&mut self, _metrics: &EpochMetrics, _is_best: bool) {
        self.done += 1;
    }
    fn stop_requested(&self) -> bool {
        self.done >= self.after
    }
}

fn without_time(metrics: Vec<EpochMetrics>) -> Vec<EpochMetrics> {
    metrics
        .into_iter()
        .map(|m| EpochMetrics {
            seconds: 0.0,
            loader_wait_seconds: 0.0,
            ..m
        })
        .collect()
}

#[test]
fn a_stopped_run_resumes_exactly_where_it_stopped() {
    let data = halves(48, 4);
    let (train_set, test_set) = stratified_split(&data, 0.25, 0).unwrap();
    let config = run_config(3);
    let device = Device::flex().autodiff();
    let tmp = tempdir("resume");

    let straight = RunDir::create(&tmp.join("straight"), &config).unwrap();
    let net_a = run::train(
        &straight,
        &config,
        run::zoo,
        &train_set,
        &test_set,
        &device,
        &mut Quiet,
    )
    .unwrap();

    let path = tmp.join("stopped");
    let stopped = RunDir::create(&path, &config).unwrap();
    let mut hooks = StopAfter { after: 1, done: 0 };
    let err = run::train(
        &stopped,
        &config,
        run::zoo,
        &train_set,
        &test_set,
        &device,
        &mut hooks,
    )
    .unwrap_err();
    assert!(
        matches!(err, RunError::Train(TrainError::Stopped { epochs_done: 1 })),
        "{err}"
    );
    let (_, state) = run::load_network(
        &stopped,
        &config,
        CheckpointKind::Last,
        run::zoo,
        &train_set,
        &device,
    )
    .unwrap();
    assert_eq!(state.epochs_done, 1);

    let (reopened, read_config) = RunDir::open(&path).unwrap();
    assert_eq!(
        read_config, config,
        "config.toml holds the resolved configuration"
    );
    let net_b = run::train(
        &reopened,
        &read_config,
        run::zoo,
        &train_set,
        &test_set,
        &device,
        &mut Quiet,
    )
    .unwrap();

    let a = without_time(straight.metrics().unwrap());
    let b = without_time(reopened.metrics().unwrap());
    assert_eq!(a.len(), 3);
    assert_eq!(
        a, b,
        "same losses, accuracies, learning rates, decays and firing rates"
    );
    let x = Tensor::<5>::from_data(
        TensorData::new(data.get(0).unwrap().data.repeat(6), [2, 3, 1, 8, 8]),
        &device,
    );
    let (ya, yb) = (net_a.forward(x.clone()), net_b.forward(x));
    assert_eq!(ya.into_data(), yb.into_data(), "same weights");
    let log = std::fs::read_to_string(path.join("log.txt")).unwrap();
    assert!(
        log.contains("stopped on request") && log.contains("resumed after epoch 1"),
        "{log}"
    );
}

/// Collects the notices a run gives before it trains.
#[derive(Default)]
struct Notices(Vec<String>);

impl RunHooks for Notices {
    fn notice(&mut self, message: &str) {
        self.0.push(message.to_string());
    }
}

#[test]
fn a_run_killed_mid_write_resumes_exactly() {
    let data = halves(48, 6);
    let (train_set, test_set) = stratified_split(&data, 0.25, 0).unwrap();
    let config = run_config(3);
    let device = Device::flex().autodiff();
    let tmp = tempdir("killed");
    let straight = RunDir::create(&tmp.join("straight"), &config).unwrap();
    run::train(
        &straight,
        &config,
        run::zoo,
        &train_set,
        &test_set,
        &device,
        &mut Quiet,
    )
    .unwrap();

    let path = tmp.join("killed");
    let killed = RunDir::create(&path, &config).unwrap();
    let mut hooks = StopAfter { after: 1, done: 0 };
    run::train(
        &killed,
        &config,
        run::zoo,
        &train_set,
        &test_set,
        &device,
        &mut hooks,
    )
    .unwrap_err();
    // What a kill during epoch 2's save leaves: half of its metrics line, a half-written
    // checkpoint folder and pointer of the dead process, and its lock file with its pid.
    let line = std::fs::read_to_string(straight.path().join("metrics.jsonl"))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let mut metrics = std::fs::OpenOptions::new()
        .append(true)
        .open(path.join("metrics.jsonl"))
        .unwrap();
    std::io::Write::write_all(&mut metrics, &line.as_bytes()[..line.len() / 3]).unwrap();
    // A saved line in another form than dalif writes (keys sorted, a learning rate spelled
    // with one digit more): a resumed run keeps the saved lines as they are.
    let saved = std::fs::read_to_string(path.join("metrics.jsonl")).unwrap();
    let (first, rest) = saved.split_once('\n').unwrap();
    let mut value: serde_json::Value = serde_json::from_str(first).unwrap();
    let lr = value["lr"].to_string();
    value["lr"] = serde_json::json!(0.5);
    let first = serde_json::to_string(&value)
        .unwrap()
        .replace("\"lr\":0.5", "\"lr\":0.00021387846565474046");
    std::fs::write(path.join("metrics.jsonl"), format!("{first}\n{rest}")).unwrap();
    let orphan = path.join("checkpoints/.epoch-0002.tmp-4194999");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("model.bpk"), b"half").unwrap();
    let orphan_pointer = path.join("checkpoints/.last.tmp-4194999");
    std::fs::write(&orphan_pointer, b"epoch-00").unwrap();
    std::fs::write(path.join("lock"), "4194999\n").unwrap();

    let mut notices = Notices::default();
    run::train(
        &killed,
        &config,
        run::zoo,
        &train_set,
        &test_set,
        &device,
        &mut notices,
    )
    .unwrap();
    let resumed = std::fs::read_to_string(path.join("metrics.jsonl")).unwrap();
    assert_eq!(resumed.lines().next().unwrap(), first, "kept as it was");
    let put_back = resumed.replacen("0.00021387846565474046", &lr, 1);
    std::fs::write(path.join("metrics.jsonl"), put_back).unwrap();
    assert_eq!(
        without_time(killed.metrics().unwrap()),
        without_time(straight.metrics().unwrap())
    );
    for kind in [CheckpointKind::Last, CheckpointKind::Best] {
        let (a, state_a) =
            run::load_network(&straight, &config, kind, run::zoo, &train_set, &device).unwrap();
        let (b, state_b) =
            run::load_network(&killed, &config, kind, run::zoo, &train_set, &device).unwrap();
        assert_eq!(state_a, state_b, "{kind:?}");
        // Parameter ids are drawn anew for every network: compare the values.
        let values = |n| {
            params(&n)
                .into_iter()
                .map(|(_, _, v)| v)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            values(a),
            values(b),
            "{kind:?}: the same weights, bit for bit"
        );
    }
    assert!(!orphan.exists() && !orphan_pointer.exists());
    let text = notices.0.join("\n");
    for says in [
        "process 4194999 held the run",
        ".epoch-0002.tmp-4194999",
        "dropped an incomplete last line",
    ] {
        assert!(text.contains(says), "{says}: {text}");
    }
    let log = std::fs::read_to_string(path.join("log.txt")).unwrap();
    assert!(log.contains("dropped an incomplete last line"), "{log}");

    // Metrics missing for epochs the checkpoint has: refused, nothing rewritten.
    let metrics_path = path.join("metrics.jsonl");
    let first = std::fs::read_to_string(&metrics_path).unwrap();
    let first = first.lines().next().unwrap().to_string() + "\n";
    std::fs::write(&metrics_path, &first).unwrap();
    let err = run::train(
        &killed,
        &config,
        run::zoo,
        &train_set,
        &test_set,
        &device,
        &mut Quiet,
    )
    .unwrap_err();
    assert!(matches!(err, RunError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("metrics.jsonl"), "{err}");
    assert_eq!(std::fs::read_to_string(&metrics_path).unwrap(), first);
}

#[test]
fn run_directories_refuse_what_they_should_not_touch() {
    let tmp = tempdir("refuse");
    let config = run_config(1);
    let data = halves(16, 5);
    let device = Device::flex().autodiff();
    let dir = RunDir::create(&tmp.join("run"), &config).unwrap();
    run::train(&dir, &config, run::zoo, &data, &data, &device, &mut Quiet).unwrap();

    let err = RunDir::create(&tmp.join("run"), &config).unwrap_err();
    assert!(matches!(err, RunError::Exists(_)), "{err}");
    let err = RunDir::open(&tmp).unwrap_err();
    assert!(
        err.to_string().contains("not a dalif run directory"),
        "{err}"
    );

    // A damaged weights file: a clear error naming it, and nothing rewritten.
    let checkpoints = tmp.join("run/checkpoints");
    let name = std::fs::read_to_string(checkpoints.join("last")).unwrap();
    let weights = checkpoints.join(name.trim()).join("model.bpk");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let metrics_before = std::fs::read(tmp.join("run/metrics.jsonl")).unwrap();
    let err = run::train(&dir, &config, run::zoo, &data, &data, &device, &mut Quiet).unwrap_err();
    assert!(matches!(err, RunError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("model.bpk"), "{err}");
    assert_eq!(std::fs::read(&weights).unwrap(), &bytes[..bytes.len() / 2]);
    assert_eq!(
        std::fs::read(tmp.join("run/metrics.jsonl")).unwrap(),
        metrics_before
    );
}

#[test]
fn weight_decay_can_spare_batch_norms_biases_and_neuron_decays() {
    let device = Device::flex().autodiff();
    for kind in [
        OptimizerKind::Sgd,
        OptimizerKind::AdamW,
        OptimizerKind::Lamb,
    ] {
        let model = small(1, 2, 0, &device);
        let exempt = no_decay_params(&model);
        // 4 neurons x 2 decays; 4 batch norms x (scale, shift, running mean, running
        // variance, batches tracked; the statistics take no optimiser step anyway); the
        // classifier's bias.
        assert_eq!(exempt.len(), 4 * 2 + 4 * 5 + 1);
        let mut optimizer = kind.init(0.5, exempt.clone());
        // A zero loss: every parameter's gradient is zero, only weight decay moves them.
        let x = Tensor::<5>::ones([1, 2, 1, 8, 8], &device);
        let loss = SpikingClassifier::forward(&model, x).sum() * 0.0;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let before = params(&model);
        let after = params(&optimizer.step(0.1, model, grads));
        for ((id, rank, a), (_, _, b)) in before.iter().zip(&after) {
            if exempt.contains(id) {
                assert_eq!(a, b, "{kind}: a 1-D parameter was decayed");
            } else if *rank > 1 {
                assert!(
                    b.iter().zip(a).any(|(b, a)| b.abs() < a.abs()),
                    "{kind}: a weight was not decayed"
                );
            }
        }
    }
}

/// `(id, rank, values)` of every float parameter.
fn params<M: Module>(module: &M) -> Vec<(ParamId, usize, Vec<f32>)> {
    struct Collect(Vec<(ParamId, usize, Vec<f32>)>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let values = param.val().into_data().try_to_vec::<f32>().unwrap();
            self.0.push((param.id, D, values));
        }
    }
    let mut collect = Collect(Vec::new());
    module.visit(&mut collect);
    collect.0
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dalif-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_first_metrics_line_holds_the_firing_rates_at_initialisation() {
    let data = halves(48, 4);
    let (train_set, test_set) = stratified_split(&data, 0.25, 0).unwrap();
    let config = RunConfig {
        train: config(2, Readout::MeanLogits),
        ..RunConfig::default()
    };
    let device = Device::flex().autodiff();
    let dir = RunDir::create(&tempdir("init-rates"), &config).unwrap();
    run::train(
        &dir,
        &config,
        run::zoo,
        &train_set,
        &test_set,
        &device,
        &mut Quiet,
    )
    .unwrap();
    let metrics = dir.metrics().unwrap();
    let recorded = metrics[0].init_firing_rate.clone().expect("recorded");
    assert_eq!(metrics[1].init_firing_rate, None, "only the first line");

    // The network as the run's seed initialises it, on the first batch of the first epoch
    // (no augmentation here), batch norm on batch statistics.
    let network = run::build_network(&config, &run::zoo, &train_set, &device).unwrap();
    let t = &config.train;
    let first = &shuffled_indices(train_set.len(), t.seed)[..t.batch_size];
    let mut images = Vec::new();
    for &i in first {
        images.extend(train_set.get(i).unwrap().data);
    }
    let images = Tensor::<4>::from_data(TensorData::new(images, [first.len(), 1, 8, 8]), &device);
    let mut monitor = SpikeMonitor::on();
    network.forward_monitored(direct_encoding(images, t.steps), &mut monitor);
    let expected = monitor.into_rates();
    assert_eq!(recorded.len(), 4, "cifar_small has four spiking layers");
    let close = recorded
        .iter()
        .zip(&expected)
        .all(|(a, b)| (a - b).abs() < 1e-6);
    assert!(close, "{recorded:?} vs {expected:?}");
    // The default batch-norm scale starts every layer firing (at 1-5% they learn slowly).
    assert!(
        recorded.iter().all(|&r| r > 0.08 && r < 0.5),
        "firing rates at initialisation {recorded:?}"
    );
}

/// Trains `config` on `device` into a fresh run directory `name`; returns the metrics without
/// their times.
fn metrics_on(
    device: &Device,
    config: &RunConfig,
    name: &str,
    data: (&InMemoryDataset, &InMemoryDataset),
) -> Vec<EpochMetrics> {
    let dir = RunDir::create(&tempdir(name).join("run"), config).unwrap();
    run::train(&dir, config, run::zoo, data.0, data.1, device, &mut Quiet).unwrap();
    without_time(dir.metrics().unwrap())
}

/// `--checkpointing` recomputes in the backward what the forward did not keep (batch norm's
/// element-wise operations, the neurons' potentials and spikes): the same numbers, bit for bit.
#[test]
fn gradient_checkpointing_changes_no_number() {
    let data = halves(32, 5);
    let (train_set, test_set) = stratified_split(&data, 0.25, 0).unwrap();
    let config = run_config(2);
    let plain = Device::flex().autodiff();
    let checkpointed = Device::flex().autodiff().gradient_checkpointing();
    let a = metrics_on(&plain, &config, "ckpt-plain", (&train_set, &test_set));
    let b = metrics_on(&checkpointed, &config, "ckpt-on", (&train_set, &test_set));
    assert_eq!(a.len(), 2);
    assert_eq!(a, b, "checkpointing changed the training");
}

/// The whole path on a wgpu device (a GPU, or Mesa's lavapipe on the CPU): forward, backward
/// through the CubeCL neuron kernels, optimiser, checkpoint, stop, resume, evaluation; the
/// numbers close to the CPU's.
#[cfg(feature = "wgpu")]
#[test]
fn trains_stops_resumes_and_evaluates_on_wgpu() {
    let gpu = Device::wgpu(burn::tensor::DeviceKind::default()).autodiff();
    let data = halves(32, 6);
    let (train_set, test_set) = stratified_split(&data, 0.25, 0).unwrap();
    let config = run_config(2);
    let straight = metrics_on(&gpu, &config, "wgpu-straight", (&train_set, &test_set));

    let path = tempdir("wgpu-stopped").join("run");
    let stopped = RunDir::create(&path, &config).unwrap();
    let mut hooks = StopAfter { after: 1, done: 0 };
    let err = run::train(
        &stopped,
        &config,
        run::zoo,
        &train_set,
        &test_set,
        &gpu,
        &mut hooks,
    )
    .unwrap_err();
    assert!(matches!(
        err,
        RunError::Train(TrainError::Stopped { epochs_done: 1 })
    ));
    let (reopened, read_config) = RunDir::open(&path).unwrap();
    run::train(
        &reopened,
        &read_config,
        run::zoo,
        &train_set,
        &test_set,
        &gpu,
        &mut Quiet,
    )
    .unwrap();
    let resumed = without_time(reopened.metrics().unwrap());
    assert_eq!(resumed.len(), 2);
    for (r, s) in resumed.iter().zip(&straight) {
        assert!(
            (r.train_loss - s.train_loss).abs() <= 1e-4 && r.test_accuracy == s.test_accuracy,
            "resumed on wgpu {r:?}\nstraight on wgpu {s:?}"
        );
    }

    let cpu = metrics_on(
        &Device::flex().autodiff(),
        &config,
        "wgpu-cpu",
        (&train_set, &test_set),
    );
    for (g, c) in straight.iter().zip(&cpu) {
        assert!(g.train_loss.is_finite() && g.test_loss.is_finite(), "{g:?}");
        assert!(
            (g.train_loss - c.train_loss).abs() <= 0.05,
            "epoch {}: train loss {} on wgpu, {} on the CPU",
            g.epoch,
            g.train_loss,
            c.train_loss
        );
    }
}
