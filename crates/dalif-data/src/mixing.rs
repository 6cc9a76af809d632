//! Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019): each training batch blended with
//! a shuffled copy of itself. The loss then weighs the two label sets by `lambda` and
//! `1 - lambda`.

use crate::rng::SplitMix64;
use crate::{Batch, DataError};
use rand_distr::{Beta, Distribution};
use serde::{Deserialize, Serialize};

/// Batch mixing; both parts are off by default. With both on, each batch uses one of the two,
/// chosen with probability 1/2.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mixing {
    /// Mixup's alpha (`lambda ~ Beta(alpha, alpha)`, `x = lambda x + (1 - lambda) x[perm]`);
    /// 0 is off. 0.2 to 1 are usual.
    pub mixup: f64,
    /// CutMix's alpha (a box of area `1 - lambda` of the partner's pixels is pasted, `lambda`
    /// then set to the kept area); 0 is off. 1 is usual.
    pub cutmix: f64,
}

/// How a batch was mixed: the partner of every sample and the weight of the sample's own label.
#[derive(Clone, Debug, PartialEq)]
pub struct Mixed {
    /// The label of each sample's partner (the shuffled copy it was blended with).
    pub partner_labels: Vec<usize>,
    /// The weight of each sample's own label; its partner's label weighs `1 - lambda`.
    pub lambda: f64,
}

impl Mixing {
    /// Whether neither Mixup nor CutMix is on.
    pub fn is_off(&self) -> bool {
        self.mixup <= 0.0 && self.cutmix <= 0.0
    }

    /// Checks that both alphas are finite and not negative.
    pub fn validate(&self) -> Result<(), DataError> {
        if [self.mixup, self.cutmix]
            .iter()
            .any(|a| !a.is_finite() || *a < 0.0)
        {
            return Err(DataError::Invalid(format!(
                "mixup and cutmix alphas must be finite and at least 0, got {} and {}",
                self.mixup, self.cutmix
            )));
        }
        Ok(())
    }

    /// Mixes `batch` in place with draws from `rng`; `None` when off.
    pub fn apply(&self, batch: &mut Batch, rng: &mut SplitMix64) -> Option<Mixed> {
        let use_cutmix = match (self.mixup > 0.0, self.cutmix > 0.0) {
            (false, false) => return None,
            (true, true) => rng.below(2) == 1,
            (_, cutmix) => cutmix,
        };
        let alpha = if use_cutmix { self.cutmix } else { self.mixup };
        let mut lambda = Beta::new(alpha, alpha).expect("alpha > 0").sample(rng);
        let n = batch.len();
        let mut perm: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            perm.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let size = batch.data.len() / n.max(1);
        let original = batch.data.clone();
        let shape = &batch.sample_shape;
        let (h, w) = (shape[shape.len() - 2], shape[shape.len() - 1]);
        if use_cutmix {
            let cut = (1.0 - lambda).sqrt();
            let (ch, cw) = ((h as f64 * cut) as usize, (w as f64 * cut) as usize);
            let (cy, cx) = (rng.below(h as u64) as usize, rng.below(w as u64) as usize);
            let (y0, y1) = (cy.saturating_sub(ch / 2), (cy + ch / 2).min(h));
            let (x0, x1) = (cx.saturating_sub(cw / 2), (cx + cw / 2).min(w));
            for (i, &j) in perm.iter().enumerate() {
                let (dst, src) = (i * size, j * size);
                for plane in (0..size).step_by(h * w) {
                    for y in y0..y1 {
                        let row = plane + y * w;
                        batch.data[dst + row + x0..dst + row + x1]
                            .copy_from_slice(&original[src + row + x0..src + row + x1]);
                    }
                }
            }
            lambda = 1.0 - ((y1 - y0) * (x1 - x0)) as f64 / (h * w) as f64;
        } else {
            let l = lambda as f32;
            for (i, &j) in perm.iter().enumerate() {
                for k in 0..size {
                    batch.data[i * size + k] =
                        l * original[i * size + k] + (1.0 - l) * original[j * size + k];
                }
            }
        }
        Some(Mixed {
            partner_labels: perm.iter().map(|&j| batch.labels[j]).collect(),
            lambda,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> Batch {
        Batch {
            data: (0..4 * 2 * 4 * 4).map(|v| (v / 32) as f32).collect(),
            sample_shape: vec![2, 4, 4],
            labels: vec![0, 1, 2, 3],
        }
    }

    #[test]
    fn mixup_blends_each_sample_with_its_partner_by_lambda() {
        let mut b = batch();
        let mixing = Mixing {
            mixup: 0.4,
            cutmix: 0.0,
        };
        let m = mixing.apply(&mut b, &mut SplitMix64::new(5)).unwrap();
        assert!((0.0..=1.0).contains(&m.lambda));
        for i in 0..4 {
            // Sample i was all i, its partner all p: every value is lambda i + (1 - lambda) p.
            let p = m.partner_labels[i] as f64;
            let want = m.lambda * i as f64 + (1.0 - m.lambda) * p;
            assert!(
                b.data[i * 32..(i + 1) * 32]
                    .iter()
                    .all(|&v| (v as f64 - want).abs() < 1e-5)
            );
        }
        let mut again = batch();
        assert_eq!(mixing.apply(&mut again, &mut SplitMix64::new(5)), Some(m));
        assert_eq!(again, b);
        assert_eq!(
            Mixing::default().apply(&mut again, &mut SplitMix64::new(5)),
            None
        );
    }

    #[test]
    fn cutmix_pastes_a_box_whose_area_sets_lambda() {
        for seed in 0..20 {
            let mut b = batch();
            let m = Mixing {
                mixup: 0.0,
                cutmix: 1.0,
            }
            .apply(&mut b, &mut SplitMix64::new(seed))
            .unwrap();
            for i in 0..4 {
                let sample = &b.data[i * 32..(i + 1) * 32];
                let own = sample.iter().filter(|&&v| v == i as f32).count() as f64;
                let p = m.partner_labels[i];
                if p != i {
                    // Both planes keep the same share of own pixels: lambda.
                    assert!((own / 32.0 - m.lambda).abs() < 1e-9, "{own} {}", m.lambda);
                }
            }
        }
        assert!(
            Mixing {
                mixup: -1.0,
                cutmix: 0.0
            }
            .validate()
            .is_err()
        );
    }
}
