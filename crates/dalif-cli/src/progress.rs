//! What a training run shows while it works: a progress bar with ETA and the running loss and
//! accuracy on a terminal, plain lines otherwise; and Ctrl-C as a request to stop.

use dalif::run::RunHooks;
use dalif::training::{BatchProgress, EpochMetrics};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the first Ctrl-C; the second one ends the process at once.
static STOP: AtomicBool = AtomicBool::new(false);

/// What this process has saved so far, for a message when a signal ends it.
static SAVED: Mutex<String> = Mutex::new(String::new());

/// Makes Ctrl-C (and SIGTERM, SIGHUP) ask running trainings to stop between batches (the last
/// completed epoch's checkpoint stays as it is). A second Ctrl-C exits immediately.
///
/// A rank of a job of several ends at once instead, saying what is saved: `mpirun` kills its
/// ranks 1 s after it forwards the signal (`odls_base_sigkill_timeout`), too soon to finish a
/// batch, and checkpoints are written atomically, so ending now loses only the epoch in
/// progress, as the graceful stop does.
pub fn catch_interrupts(ranks: usize) {
    let _ = ctrlc::set_handler(move || {
        if ranks > 1 {
            let saved = SAVED.lock().map(|s| s.clone()).unwrap_or_default();
            if !saved.is_empty() {
                eprintln!("\ninterrupted: {saved}");
            }
            std::process::exit(130);
        }
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping after this batch (Ctrl-C again to quit at once)");
    });
}

pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// The hooks of a rank that reports nothing (rank 0 does) but stops on Ctrl-C.
pub struct StopOnly;

impl RunHooks for StopOnly {
    fn stop_requested(&self) -> bool {
        stop_requested()
    }
}

/// Reports a run: a bar per epoch on a terminal, one line per epoch always.
pub struct Progress {
    bar: Option<ProgressBar>,
    epochs: usize,
    /// Prefix of every line (the variant's name in an ablation).
    label: String,
    terminal: bool,
    /// The run directory, for the message when a signal ends the process.
    run: PathBuf,
}

impl Progress {
    pub fn new(epochs: usize, label: &str, run: &Path) -> Self {
        if let Ok(mut saved) = SAVED.lock() {
            let run = run.display();
            *saved = format!(
                "{label}the epochs completed in {run} stay saved; continue with `dalif train \
                 --resume {run}`"
            );
        }
        Self {
            bar: None,
            epochs,
            label: label.to_string(),
            terminal: std::io::stderr().is_terminal(),
            run: run.to_path_buf(),
        }
    }
}

impl RunHooks for Progress {
    fn batch_end(&mut self, p: &BatchProgress) {
        if !self.terminal {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(p.batches as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} batches, {elapsed} < {eta}, {msg}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar
        });
        bar.set_prefix(format!(
            "{}epoch {}/{}",
            self.label,
            p.epoch + 1,
            self.epochs
        ));
        bar.set_position(p.batch as u64);
        bar.set_message(format!(
            "loss {:.4}, acc {:.2}%",
            p.loss,
            100.0 * p.accuracy
        ));
    }

    fn epoch_end(&mut self, m: &EpochMetrics, is_best: bool) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if let Ok(mut saved) = SAVED.lock() {
            let run = self.run.display();
            *saved = format!(
                "{}epochs 1-{} of {run} are saved; continue with `dalif train --resume {run}`",
                self.label,
                m.epoch + 1
            );
        }
        if let Some(init) = &m.init_firing_rate {
            let rates: Vec<String> = init.iter().map(|r| format!("{r:.3}")).collect();
            println!(
                "{}firing rate per layer at initialisation (first training batch): {}",
                self.label,
                rates.join(" ")
            );
        }
        let rate = m.firing_rate.iter().sum::<f64>() / m.firing_rate.len().max(1) as f64;
        println!(
            "{}epoch {:>3}/{}  loss {:.4}  train {:.2}%  test loss {:.4}  test {:.2}%{}  lr {:.4}  firing {:.3}  {:.1}s{}",
            self.label,
            m.epoch + 1,
            self.epochs,
            m.train_loss,
            100.0 * m.train_accuracy,
            m.test_loss,
            100.0 * m.test_accuracy,
            if is_best { "*" } else { " " },
            m.lr,
            rate,
            m.seconds,
            // The steps waited for data: the loader did not keep up.
            if m.loader_wait_seconds >= 0.1 {
                format!("  (waited {:.1}s for data)", m.loader_wait_seconds)
            } else {
                String::new()
            }
        );
    }

    fn notice(&mut self, message: &str) {
        eprintln!("{}{message}", self.label);
    }

    fn stop_requested(&self) -> bool {
        stop_requested()
    }
}

/// Prepares `data` ahead of training (event data sets integrate and cache their frames), with
/// a progress bar on a terminal, and prints what the data set warns about, once.
pub fn build_frame_cache(data: &dyn dalif_data::Dataset, name: &str) -> anyhow::Result<()> {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} files, {elapsed} < {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{name}: integrating events into frames"));
        bar
    });
    let warnings = data.prepare(&|done, total| {
        if let Some(bar) = &bar {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    for warning in warnings {
        eprintln!("warning: {name}: {warning}");
    }
    Ok(())
}
