//! Writes the seed corpus of the targets that need `dalif` under `DIR/<target>/`
//! (`seeds_dalif DIR`): the default configuration, a training state, metrics lines, and the
//! default network's weights as `dalif export` writes them.
use burn::tensor::Device;
use dalif::export::write_safetensors;
use dalif::run::{RunConfig, build_network};
use dalif::training::{EpochMetrics, TrainState};
use std::path::Path;

fn put(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join(name), bytes).unwrap();
}

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: seeds_dalif DIR"));
    let config = RunConfig::default();
    put(
        &dir,
        "config_toml",
        "default.toml",
        toml::to_string_pretty(&config).unwrap().as_bytes(),
    );
    let state = TrainState {
        epochs_done: 3,
        step: 120,
        best: Some((2, 0.9125)),
    };
    put(
        &dir,
        "state_json",
        "state.json",
        serde_json::to_string_pretty(&state).unwrap().as_bytes(),
    );
    put(
        &dir,
        "state_json",
        "fresh.json",
        serde_json::to_string(&TrainState::default())
            .unwrap()
            .as_bytes(),
    );
    let mut lines = String::new();
    for epoch in 0..2 {
        let m = EpochMetrics {
            epoch,
            train_loss: 1.5 / (epoch + 1) as f64,
            train_accuracy: 0.4,
            test_loss: 1.25,
            test_accuracy: 0.5,
            lr: 1e-3,
            alpha: vec![0.5, 0.25],
            beta: vec![0.75],
            firing_rate: vec![0.1, 0.2],
            init_firing_rate: (epoch == 0).then(|| vec![0.05, 0.07]),
            seconds: 12.5,
            loader_wait_seconds: 0.0,
            neuron: String::new(),
        };
        lines += &serde_json::to_string(&m).unwrap();
        lines.push('\n');
    }
    put(&dir, "metrics_jsonl", "metrics.jsonl", lines.as_bytes());
    let device = Device::flex();
    let data = dalif_data::digits::load().unwrap();
    let network = build_network(&config, &dalif::run::zoo, &data, &device).unwrap();
    let tmp = std::env::temp_dir().join(format!(
        "dalif-fuzz-seeds-{}.safetensors",
        std::process::id()
    ));
    write_safetensors(&tmp, &network, &config).unwrap();
    let full = std::fs::read(&tmp).unwrap();
    std::fs::remove_file(&tmp).unwrap();
    // The whole file (megabytes) is over AFL's 1 MB input limit: the seeds keep its header
    // metadata and its small tensors (norms, decays, biases), and the metadata alone.
    let (_, header) = safetensors::SafeTensors::read_metadata(&full).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&full).unwrap();
    let small: Vec<_> = tensors
        .tensors()
        .into_iter()
        .filter(|(_, view)| view.data().len() <= 2048)
        .collect();
    let metadata = header.metadata().clone();
    let bytes = safetensors::serialize(small, metadata.clone()).unwrap();
    put(&dir, "safetensors", "small-tensors.safetensors", &bytes);
    let none: Vec<(String, safetensors::tensor::TensorView)> = Vec::new();
    let bytes = safetensors::serialize(none, metadata).unwrap();
    put(&dir, "safetensors", "metadata-only.safetensors", &bytes);
}
