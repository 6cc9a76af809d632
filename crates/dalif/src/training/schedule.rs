//! Learning-rate schedules.

/// Linear warm-up from 0 over `warmup` steps, then cosine decay to 0 at `total` steps:
/// `lr(s) = base * s / warmup` for `s < warmup`, else
/// `base * (1 + cos(pi * (s - warmup) / (total - warmup))) / 2`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineWarmup {
    pub base: f64,
    pub warmup: usize,
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
