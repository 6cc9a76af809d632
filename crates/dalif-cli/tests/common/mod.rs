//! Helpers shared by the tests of the `dalif` binary.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `dalif` with `args` and waits for it.
pub fn dalif(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dalif"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// What a run printed, stdout then stderr.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// An empty folder of this test process under the system's temp dir.
pub fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dalif-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
