//! Property pass over the run files and weights a user hands dalif (`config.toml` and
//! presets, `state.json`, `metrics.jsonl`, safetensors for `eval --weights`), the short,
//! deterministic version of the `fuzz/` targets: mutations of valid files and random bytes
//! must give a value or an error, never a panic, a hang, or an allocation out of proportion
//! to the file's size.

#[path = "../../dalif-data/tests/mutate/mod.rs"]
mod mutate;

use burn::tensor::Device;
use dalif::export::{load_safetensors_bytes, safetensors_config, write_safetensors};
use dalif::run::{self, RunConfig, RunDir, build_network};
use dalif::training::{EpochMetrics, TrainState};
use mutate::check;
use std::path::Path;
use std::time::Duration;

#[global_allocator]
static ALLOCATOR: mutate::Tracking = mutate::Tracking;

const SLOW: Duration = Duration::from_secs(2);

fn linear(len: usize) -> usize {
    16 * len + (1 << 20)
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dalif-prop-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn config_files_survive_mutation() {
    let presets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dalif-cli/presets");
    let mut seeds = vec![
        toml::to_string_pretty(&RunConfig::default())
            .unwrap()
            .into_bytes(),
    ];
    for entry in std::fs::read_dir(presets).unwrap() {
        seeds.push(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(seeds.len() > 1, "the presets are seeds");
    check("config.toml", &seeds, 30_000, linear, SLOW, |b| {
        if let Ok(text) = std::str::from_utf8(b)
            && let Ok(config) = toml::from_str::<RunConfig>(text)
        {
            let _: RunConfig = toml::from_str(&toml::to_string(&config).unwrap()).unwrap();
        }
    });
    // And through RunDir::open, which `--resume` and `eval` read config.toml with.
    let dir = tempdir("config");
    std::fs::create_dir_all(&dir).unwrap();
    check(
        "config.toml (RunDir::open)",
        &seeds,
        600,
        linear,
        SLOW,
        |b| {
            std::fs::write(dir.join("config.toml"), b).unwrap();
            if let Ok((_, config)) = RunDir::open(&dir) {
                let text = toml::to_string(&config).unwrap();
                let _: RunConfig = toml::from_str(&text).unwrap();
            }
        },
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn state_and_metrics_files_survive_mutation() {
    let state = TrainState {
        epochs_done: 3,
        step: 120,
        best: Some((2, 0.9125)),
    };
    let seeds = [serde_json::to_vec_pretty(&state).unwrap(), b"{}".to_vec()];
    check("state.json", &seeds, 20_000, linear, SLOW, |b| {
        if let Ok(text) = std::str::from_utf8(b) {
            let _ = serde_json::from_str::<TrainState>(text);
        }
    });

    let metrics = |epoch| EpochMetrics {
        epoch,
        train_loss: 1.5,
        train_accuracy: 0.4,
        test_loss: 1.25,
        test_accuracy: 0.5,
        lr: 1e-3,
        alpha: vec![0.5, 0.25],
        beta: vec![0.75],
        firing_rate: vec![0.1],
        init_firing_rate: None,
        seconds: 12.5,
        loader_wait_seconds: 0.0,
        neuron: "LIF (tau 2, decay input), v_th 1, hard reset, surrogate atan:2".into(),
    };
    let root = tempdir("metrics");
    let run = RunDir::create(&root, &RunConfig::default()).unwrap();
    run.write_metrics(&[metrics(0), metrics(1)]).unwrap();
    let valid = std::fs::read(root.join("metrics.jsonl")).unwrap();
    assert_eq!(run.metrics().unwrap().len(), 2);
    check("metrics.jsonl", &[valid], 1000, linear, SLOW, |b| {
        std::fs::write(root.join("metrics.jsonl"), b).unwrap();
        let _ = run.metrics();
    });
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn safetensors_weights_survive_mutation() {
    let device = Device::flex();
    let data = dalif_data::digits::load().unwrap();
    let config = RunConfig::default();
    let network = build_network(&config, &run::zoo, &data, &device).unwrap();
    let dir = tempdir("safetensors");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("w.safetensors");
    write_safetensors(&path, &network, &config).unwrap();
    let valid = std::fs::read(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(safetensors_config(&path, &valid).unwrap(), config);
    load_safetensors_bytes(network.clone(), &path, valid.clone()).unwrap();
    // Mutations of the whole file mostly land in tensor data: the header with only the small
    // tensors, and with none, put them on the structure too.
    let (_, header) = safetensors::SafeTensors::read_metadata(&valid).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&valid).unwrap();
    let small: Vec<_> = tensors
        .tensors()
        .into_iter()
        .filter(|(_, view)| view.data().len() <= 2048)
        .collect();
    let metadata = header.metadata().clone();
    let seeds = [
        safetensors::serialize(small, metadata.clone()).unwrap(),
        safetensors::serialize(
            Vec::<(String, safetensors::tensor::TensorView)>::new(),
            metadata,
        )
        .unwrap(),
        valid.clone(),
    ];
    check("safetensors", &seeds, 4000, linear, SLOW, |b| {
        if let Err(e) = safetensors_config(&path, b) {
            assert!(e.to_string().contains("w.safetensors"), "{e}");
        }
        if let Err(e) = load_safetensors_bytes(network.clone(), &path, b.to_vec()) {
            assert!(e.to_string().contains("w.safetensors"), "{e}");
        }
    });
}
