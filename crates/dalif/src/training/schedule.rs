//! Learning-rate schedules.

/// Linear warm-up over `warmup` steps, then cosine decay to 0 at `total` steps (`s` the
/// 0-based optimiser step):
///
/// ```text
/// lr(s) = base (s + 1) / warmup                                        s < warmup
/// lr(s) = base (1 + cos(pi min(1, (s - warmup) / (total - warmup)))) / 2   otherwise
/// ```
///
/// so the first step already moves (`lr(0) = base / warmup`), the last warm-up step and the
/// first cosine step both use `base`, and every step from `total` on uses 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineWarmup {
    /// The peak learning rate, reached at the end of the warm-up.
    pub base: f64,
    /// Steps of linear warm-up (0: none).
    pub warmup: usize,
    /// The step at which the cosine reaches 0: all the optimiser steps of the run.
    pub total: usize,
}

impl CosineWarmup {
    /// The learning rate of optimiser step `step` (0-based).
    pub fn lr(&self, step: usize) -> f64 {
        if step < self.warmup {
            return self.base * (step + 1) as f64 / self.warmup as f64;
        }
        let span = self.total.saturating_sub(self.warmup).max(1) as f64;
        let progress = ((step - self.warmup) as f64 / span).min(1.0);
        self.base * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_linearly_then_follows_a_half_cosine() {
        let s = CosineWarmup {
            base: 0.1,
            warmup: 4,
            total: 14,
        };
        assert!((s.lr(0) - 0.025).abs() < 1e-12 && (s.lr(3) - 0.1).abs() < 1e-12);
        assert!((s.lr(4) - 0.1).abs() < 1e-12);
        assert!((s.lr(9) - 0.05).abs() < 1e-12);
        assert!(s.lr(14).abs() < 1e-12 && s.lr(100).abs() < 1e-12);
        let no_warmup = CosineWarmup {
            base: 1.0,
            warmup: 0,
            total: 2,
        };
        assert_eq!(no_warmup.lr(0), 1.0);
    }
}
