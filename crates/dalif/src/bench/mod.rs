//! The measurement protocol of `shared/peers/workloads.md` (section 0): every variant is built
//! before timing, warmed up, then timed once per round with the variant order rotated left by
//! one each round; per variant: median, min, inter-quartile range.

pub mod eval;
pub mod neuron;
pub mod train;

use burn::tensor::Device;
use serde::Serialize;
use std::cell::RefCell;
use std::time::Instant;

/// One benchmarked variant: a name and the timed call.
pub struct Variant<'a> {
    /// Its name in the report.
    pub name: String,
    /// One timed call; everything it needs is built beforehand.
    pub call: Box<dyn FnMut() + 'a>,
}

/// Waits for a device at the end of each timed call, so that a call's time is its queued
/// work's (GPU backends return before the work is done), and keeps the first failure.
pub(crate) struct Waiter {
    device: Device,
    failure: RefCell<Option<String>>,
}

impl Waiter {
    pub(crate) fn new(device: &Device) -> Self {
        Self {
            device: device.clone(),
            failure: RefCell::new(None),
        }
    }

    pub(crate) fn wait(&self) {
        if let Err(e) = self.device.sync() {
            self.failure.borrow_mut().get_or_insert(format!("{e:?}"));
        }
    }

    /// The first failure of the device, if any.
    pub(crate) fn failure(self) -> Option<String> {
        self.failure.into_inner()
    }
}

/// Per-call wall times of one variant, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Timings {
    /// The variant's name.
    pub name: String,
    /// Every round's time, in round order.
    pub times_ms: Vec<f64>,
    /// The median.
    pub median_ms: f64,
    /// The fastest round.
    pub min_ms: f64,
    /// The first quartile (linear interpolation, numpy's default).
    pub q1_ms: f64,
    /// The third quartile.
    pub q3_ms: f64,
}

/// The `q`-quantile of sorted values, linear interpolation (numpy's default).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

impl Timings {
    fn new(name: String, times_ms: Vec<f64>) -> Self {
        let mut sorted = times_ms.clone();
        sorted.sort_by(f64::total_cmp);
        Self {
            name,
            median_ms: quantile(&sorted, 0.5),
            min_ms: sorted[0],
            q1_ms: quantile(&sorted, 0.25),
            q3_ms: quantile(&sorted, 0.75),
            times_ms,
        }
    }
}

/// Runs `warmup` untimed calls of each variant, then `rounds` interleaved timed rounds.
pub fn interleaved(variants: &mut [Variant<'_>], warmup: usize, rounds: usize) -> Vec<Timings> {
    assert!(rounds > 0, "at least one timed round");
    for v in variants.iter_mut() {
        for _ in 0..warmup {
            (v.call)();
        }
    }
    let n = variants.len();
    let mut times = vec![Vec::with_capacity(rounds); n];
    for r in 0..rounds {
        for k in 0..n {
            let i = (k + r) % n;
            let start = Instant::now();
            (variants[i].call)();
            times[i].push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    variants
        .iter()
        .zip(times)
        .map(|(v, t)| Timings::new(v.name.clone(), t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let t = Timings::new("x".into(), vec![4.0, 1.0, 3.0, 2.0]);
        assert_eq!(
            (t.min_ms, t.median_ms, t.q1_ms, t.q3_ms),
            (1.0, 2.5, 1.75, 3.25)
        );
    }

    #[test]
    fn rotates_the_order_and_times_every_round() {
        let order = std::cell::RefCell::new(Vec::new());
        let mut variants: Vec<Variant> = ["a", "b", "c"]
            .iter()
            .map(|&n| Variant {
                name: n.into(),
                call: Box::new({
                    let order = &order;
                    move || order.borrow_mut().push(n)
                }),
            })
            .collect();
        let t = interleaved(&mut variants, 1, 2);
        assert_eq!(t.len(), 3);
        assert!(t.iter().all(|t| t.times_ms.len() == 2));
        assert_eq!(
            *order.borrow(),
            ["a", "b", "c", "a", "b", "c", "b", "c", "a"]
        );
    }
}
