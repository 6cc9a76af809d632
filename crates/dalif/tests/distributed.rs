//! Data-parallel training on 2 ranks of `mpirun` against one process: the same trajectory for
//! a network without batch norm, the same steps with synchronised batch norm, and a run
//! stopped on 2 ranks resumed by one process.
//!
//! Each test launches this test executable under `mpirun -np 2`, running one `#[ignore]`d
//! worker test on both ranks (it does nothing outside mpirun), then trains the same runs in
//! one process here and compares the metrics the two wrote.
#![cfg(feature = "mpi")]

mod common;

use common::Mlp;
use dalif::distributed::{Collective, Mpi};
use dalif::prelude::*;
use dalif::run::{RunHooks, train_data_parallel};
use dalif::training::{EpochMetrics, TrainConfig, TrainError};
use dalif_data::{Dataset, Subset};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// Where the workers write their runs; set by the launching test.
const OUT: &str = "DALIF_DISTRIBUTED_TEST_OUT";
/// Which runs the workers train: `cpu` or `wgpu`.
const SUITE: &str = "DALIF_DISTRIBUTED_TEST_SUITE";

/// The training device of a suite.
fn device(suite: &str) -> Device {
    match suite {
        "cpu" => Device::flex().autodiff(),
        #[cfg(feature = "wgpu")]
        "wgpu" => Device::wgpu(burn::tensor::DeviceKind::default()).autodiff(),
        other => panic!("no suite {other}"),
    }
}

fn mlp(model: &ModelConfig, device: &Device) -> Result<Mlp, ModelError> {
    let [h, w] = model.input_size;
    Ok(Mlp {
        hidden: LinearConfig::new(model.channels_in * h * w, 64).init(device),
        neuron: model.spec.neuron_config().init(device)?,
        out: LinearConfig::new(64, model.classes).init(device),
    })
}

/// The embedded digits, 3 epochs of batch 64 (23 batches, the last of 30 samples).
fn mlp_config() -> RunConfig {
    let mut config = RunConfig::default();
    config.train = TrainConfig {
        epochs: 3,
        batch_size: 64,
        ..config.train
    };
    config
}

/// `cifar_small` with batch norm on 2 batches of 32 digits per epoch, 2 epochs.
fn bn_config(sync_bn: bool) -> RunConfig {
    let mut config = RunConfig::default();
    config.train = TrainConfig {
        epochs: 2,
        batch_size: 32,
        sync_bn,
        ..config.train
    };
    config
}

/// Stops the run once its first epoch is saved (on rank 0; the stop reaches every rank).
struct StopAfterFirstEpoch(bool);

impl RunHooks for StopAfterFirstEpoch {
    fn epoch_end(&mut self, _: &EpochMetrics, _: bool) {
        self.0 = true;
    }
    fn stop_requested(&self) -> bool {
        self.0
    }
}

/// Trains `config` with `init` into `path` on `world` (rank 0 writes it) on `device`, on the
/// first `samples` training and test samples (all when `None`).
#[allow(clippy::too_many_arguments)]
fn train<M: SpikingClassifier>(
    world: &Arc<dyn Collective>,
    device: &Device,
    path: &Path,
    config: &RunConfig,
    init: impl dalif::run::NetworkInit<M>,
    samples: Option<usize>,
    hooks: &mut dyn RunHooks,
) -> Result<(), dalif::run::RunError> {
    let (train, test) = config.open_data().unwrap();
    let first = |data: &dyn Dataset| (0..samples.unwrap_or(data.len()).min(data.len())).collect();
    let (train, test) = (
        Subset::new(train.as_ref(), first(train.as_ref())),
        Subset::new(test.as_ref(), first(test.as_ref())),
    );
    let dir = world
        .is_root()
        .then(|| run::run_dir_for(path, config).unwrap());
    train_data_parallel(
        Arc::clone(world),
        dir.as_ref(),
        config,
        init,
        &train,
        &test,
        device,
        hooks,
    )
    .map(|_| ())
}

/// The runs of both ranks, under `$DALIF_DISTRIBUTED_TEST_OUT`.
#[test]
#[ignore = "a worker: runs on the ranks of `mpirun`, launched by the tests below"]
fn worker() {
    let (Some(out), Ok(suite)) = (std::env::var_os(OUT), std::env::var(SUITE)) else {
        return;
    };
    let out = PathBuf::from(out);
    let world: Arc<dyn Collective> = Arc::new(Mpi::join().unwrap());
    assert_eq!(world.size(), 2);
    let device = device(&suite);
    let quiet = &mut Quiet;
    if suite == "wgpu" {
        // Small: Mesa's software driver runs the kernels on the CPU.
        let (mlp_config, bn_config) = (small(mlp_config()), small(bn_config(true)));
        train(
            &world,
            &device,
            &out.join("mlp"),
            &mlp_config,
            mlp,
            Some(96),
            quiet,
        )
        .unwrap();
        train(
            &world,
            &device,
            &out.join("bn-sync"),
            &bn_config,
            run::zoo,
            Some(64),
            quiet,
        )
        .unwrap();
        return;
    }
    train(
        &world,
        &device,
        &out.join("mlp"),
        &mlp_config(),
        mlp,
        None,
        quiet,
    )
    .unwrap();
    let stopped = train(
        &world,
        &device,
        &out.join("mlp-stopped"),
        &mlp_config(),
        mlp,
        None,
        &mut StopAfterFirstEpoch(false),
    );
    assert!(matches!(
        stopped,
        Err(dalif::run::RunError::Train(TrainError::Stopped {
            epochs_done: 1
        }))
    ));
    for (name, sync) in [("bn-sync", true), ("bn-local", false)] {
        let config = bn_config(sync);
        train(
            &world,
            &device,
            &out.join(name),
            &config,
            run::zoo,
            Some(64),
            quiet,
        )
        .unwrap();
    }
}

/// `config` for 1 epoch of batch 32 (on 96 or 64 samples: 3 or 2 steps, the later ones from
/// the weights the earlier gradients made).
fn small(mut config: RunConfig) -> RunConfig {
    config.train.epochs = 1;
    config.train.batch_size = 32;
    config
}

fn launch_workers(out: &Path, suite: &str) {
    let status = Command::new("mpirun")
        .args(["-np", "2", "--oversubscribe"])
        .arg(std::env::current_exe().unwrap())
        .args(["worker", "--exact", "--ignored", "--test-threads=1"])
        .env(OUT, out)
        .env(SUITE, suite)
        .env("RAYON_NUM_THREADS", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .status()
        .expect("mpirun (OpenMPI: apt-get install openmpi-bin) runs");
    assert!(status.success(), "the 2-rank workers failed: {status}");
}

fn metrics(path: &Path) -> Vec<EpochMetrics> {
    RunDir::open(path).unwrap().0.metrics().unwrap()
}

/// The largest difference of the numbers every epoch reports (losses, accuracies, decays,
/// firing rates), relative to 1 + |value|. NaN compares as infinitely far.
fn distance(a: &[EpochMetrics], b: &[EpochMetrics]) -> f64 {
    assert_eq!(a.len(), b.len(), "epochs");
    let numbers = |m: &EpochMetrics| {
        let mut v = vec![m.train_loss, m.train_accuracy, m.test_loss, m.test_accuracy];
        v.extend(m.alpha.iter().chain(&m.beta).chain(&m.firing_rate));
        v
    };
    let mut worst = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        for (p, q) in numbers(x).into_iter().zip(numbers(y)) {
            let d = (p - q).abs() / (1.0 + p.abs());
            worst = if d.is_nan() {
                f64::INFINITY
            } else {
                worst.max(d)
            };
        }
    }
    worst
}

#[test]
fn two_ranks_follow_one_process_and_a_stopped_run_resumes_on_one() {
    let out = std::env::temp_dir().join(format!("dalif-distributed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    launch_workers(&out, "cpu");
    let solo: Arc<dyn Collective> = Arc::new(dalif::distributed::Solo);
    let cpu = device("cpu");

    // No batch norm: every step is the one-process step up to the order of the additions.
    let one = out.join("mlp-one");
    train(&solo, &cpu, &one, &mlp_config(), mlp, None, &mut Quiet).unwrap();
    let (one, two) = (metrics(&one), metrics(&out.join("mlp")));
    let d = distance(&one, &two);
    println!("MLP, 3 epochs, 1 process vs 2 ranks: largest relative difference {d:.2e}");
    assert!(d < 1e-6, "2 ranks drifted from 1 process: {d}");
    assert!(two[2].test_accuracy > 0.8, "the MLP learns: {:?}", two[2]);

    // Stopped after epoch 1 on 2 ranks, finished by 1 process.
    let stopped = out.join("mlp-stopped");
    assert_eq!(metrics(&stopped).len(), 1);
    train(&solo, &cpu, &stopped, &mlp_config(), mlp, None, &mut Quiet).unwrap();
    let d = distance(&metrics(&stopped), &two);
    println!("stopped on 2 ranks, resumed on 1 vs 2 ranks throughout: {d:.2e}");
    assert!(d < 1e-6, "the resumed run drifted: {d}");

    // Batch norm: with synchronised statistics, the 2 ranks take the one-process steps.
    let bn_one = out.join("bn-one");
    let config = bn_config(false);
    train(
        &solo,
        &cpu,
        &bn_one,
        &config,
        run::zoo,
        Some(64),
        &mut Quiet,
    )
    .unwrap();
    let bn_one = metrics(&bn_one);
    let synced = distance(&bn_one, &metrics(&out.join("bn-sync")));
    let local = distance(&bn_one, &metrics(&out.join("bn-local")));
    println!("cifar_small, 4 steps: sync-bn {synced:.2e}, per-rank statistics {local:.2e}");
    assert!(synced < 1e-6, "sync-bn drifted from 1 process: {synced}");
    assert!(
        local > 10.0 * synced,
        "per-rank statistics should differ from the whole batch's: {local} vs {synced}"
    );
    std::fs::remove_dir_all(&out).unwrap();
}

/// The same on a wgpu device (Mesa's lavapipe in CI): gradients and batch statistics staged
/// through host memory, the ranks' sum of statistics as an operation of burn's fusion stream.
#[cfg(feature = "wgpu")]
#[test]
fn two_ranks_follow_one_process_on_wgpu() {
    let out = std::env::temp_dir().join(format!("dalif-distributed-wgpu-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    launch_workers(&out, "wgpu");
    let solo: Arc<dyn Collective> = Arc::new(dalif::distributed::Solo);
    let gpu = device("wgpu");
    let mlp_one = out.join("mlp-one");
    train(
        &solo,
        &gpu,
        &mlp_one,
        &small(mlp_config()),
        mlp,
        Some(96),
        &mut Quiet,
    )
    .unwrap();
    let d = distance(&metrics(&mlp_one), &metrics(&out.join("mlp")));
    println!("MLP on wgpu, 1 process vs 2 ranks: {d:.2e}");
    assert!(d < 1e-5, "2 ranks drifted from 1 process on wgpu: {d}");
    // Sync-bn against one process, whose batch statistics are the whole batch's.
    let bn_one = out.join("bn-one");
    train(
        &solo,
        &gpu,
        &bn_one,
        &small(bn_config(false)),
        run::zoo,
        Some(64),
        &mut Quiet,
    )
    .unwrap();
    let d = distance(&metrics(&bn_one), &metrics(&out.join("bn-sync")));
    println!("cifar_small on wgpu, sync-bn: {d:.2e}");
    assert!(d < 1e-5, "sync-bn drifted from 1 process on wgpu: {d}");
    std::fs::remove_dir_all(&out).unwrap();
}
