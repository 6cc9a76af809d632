//! A run's `metrics.jsonl` through `RunDir::metrics`, in a scratch run directory.
use dalif::run::{RunConfig, RunDir};

fn main() {
    let dir = dalif_fuzz::scratch("metrics_jsonl").join("run");
    let _ = std::fs::remove_dir_all(&dir);
    let run = RunDir::create(&dir, &RunConfig::default()).expect("create the scratch run");
    afl::fuzz!(|data: &[u8]| {
        std::fs::write(dir.join("metrics.jsonl"), data).unwrap();
        if let Ok(metrics) = run.metrics() {
            assert!(metrics.len() <= data.len() / 2 + 1);
        }
    });
}
