//! Training-time augmentation of images `[C, H, W]` and event frames `[T, C, H, W]`. One
//! geometric transform is drawn per sample and applied to every plane, so all T frames of a
//! recording move together. Draws come from `(seed, epoch, index)` alone: the same run gives
//! the same augmented samples whatever the thread count, and a resumed run continues them.

use crate::Sample;
use crate::rng::SplitMix64;
use serde::{Deserialize, Serialize};

/// What to apply; every part is off by default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Augmentation {
    /// Random crop of the original size after zero padding by this many pixels on every side
    /// (CIFAR: 4).
    pub pad_crop: usize,
    /// Horizontal flip with probability 1/2.
    pub flip: bool,
    /// Cutout (DeVries & Taylor 2017): one square of this side set to 0, centred uniformly on
    /// the image and clipped at its borders (CIFAR-10: 16, CIFAR-100: 8).
    pub cutout: usize,
    /// Random roll (wrapping shift, as `torch.roll`) by up to this many pixels along each
    /// axis (event frames in the TET recipe: 5).
    pub roll: usize,
}

impl Augmentation {
    pub fn is_off(&self) -> bool {
        *self == Self::default()
    }

    /// Augments `sample` in place with the draws of sample `index` in `epoch`.
    pub fn apply(&self, sample: &mut Sample, seed: u64, epoch: u64, index: u64) {
        if self.is_off() {
            return;
        }
        let n = sample.shape.len();
        let (h, w) = (sample.shape[n - 2], sample.shape[n - 1]);
        let mut rng = SplitMix64::for_item(seed, epoch, index);
        // A (row, column) offset, each uniform in -max..=max (none drawn when max is 0).
        let offset = |rng: &mut SplitMix64, max: usize| {
            let max = max as i64;
            let mut draw = || rng.below(2 * max as u64 + 1) as i64 - max;
            if max > 0 { (draw(), draw()) } else { (0, 0) }
        };
        let (dy, dx) = offset(&mut rng, self.pad_crop);
        let flip = self.flip && rng.below(2) == 1;
        let (ry, rx) = offset(&mut rng, self.roll);
        let hole = (self.cutout > 0).then(|| {
            let (cy, cx) = (rng.below(h as u64) as i64, rng.below(w as u64) as i64);
            let half = self.cutout as i64 / 2;
            (
                cy - half,
                cy - half + self.cutout as i64,
                cx - half,
                cx - half + self.cutout as i64,
            )
        });
        let (hi, wi) = (h as i64, w as i64);
        let mut out = vec![0f32; h * w];
        for plane in sample.data.chunks_exact_mut(h * w) {
            for y in 0..hi {
                for x in 0..wi {
                    // Output (y, x) reads the rolled, flipped, padded-and-cropped input.
                    let (mut sy, mut sx) = ((y - ry).rem_euclid(hi), (x - rx).rem_euclid(wi));
                    if flip {
                        sx = wi - 1 - sx;
                    }
                    sy += dy;
                    sx += dx;
                    let inside = (0..hi).contains(&sy) && (0..wi).contains(&sx);
                    let cut = hole.is_some_and(|(y0, y1, x0, x1)| {
                        (y0..y1).contains(&y) && (x0..x1).contains(&x)
                    });
                    out[(y * wi + x) as usize] = if inside && !cut {
                        plane[(sy * wi + sx) as usize]
                    } else {
                        0.0
                    };
                }
            }
            plane.copy_from_slice(&out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(shape: Vec<usize>) -> Sample {
        let n = shape.iter().product::<usize>();
        Sample {
            data: (1..=n).map(|v| v as f32).collect(),
            shape,
            label: 0,
        }
    }

    #[test]
    fn off_changes_nothing_and_draws_are_reproducible() {
        let mut s = sample(vec![1, 4, 4]);
        Augmentation::default().apply(&mut s, 1, 2, 3);
        assert_eq!(s, sample(vec![1, 4, 4]));
        let aug = Augmentation {
            pad_crop: 2,
            flip: true,
            cutout: 2,
            roll: 1,
        };
        let (mut a, mut b) = (sample(vec![2, 6, 6]), sample(vec![2, 6, 6]));
        aug.apply(&mut a, 7, 1, 5);
        aug.apply(&mut b, 7, 1, 5);
        assert_eq!(a, b);
        let differs = (0..20).any(|i| {
            let mut c = sample(vec![2, 6, 6]);
            aug.apply(&mut c, 7, 1, i);
            c != a
        });
        assert!(differs);
    }

    #[test]
    fn flips_shift_and_roll_move_pixels_as_described() {
        // Flip only: over many draws, some samples are mirrored exactly, the others untouched.
        let flip = Augmentation {
            flip: true,
            ..Default::default()
        };
        let (mut flipped, mut same) = (0, 0);
        for i in 0..40 {
            let mut s = sample(vec![1, 2, 3]);
            flip.apply(&mut s, 0, 0, i);
            match s.data.as_slice() {
                [3.0, 2.0, 1.0, 6.0, 5.0, 4.0] => flipped += 1,
                [1.0, 2.0, 3.0, 4.0, 5.0, 6.0] => same += 1,
                other => panic!("{other:?}"),
            }
        }
        assert!(flipped > 5 && same > 5);
        // Roll wraps around: every value survives; pad-crop shifts in zeros.
        let mut s = sample(vec![2, 3, 3, 3]);
        Augmentation {
            roll: 1,
            ..Default::default()
        }
        .apply(&mut s, 0, 0, 1);
        let mut sorted = s.data.clone();
        sorted.sort_by(f32::total_cmp);
        assert_eq!(sorted, sample(vec![2, 3, 3, 3]).data);
        // All T x C planes moved the same way.
        let first: Vec<f32> = s.data[..9].iter().map(|v| v - 1.0).collect();
        for k in 1..6 {
            let plane: Vec<f32> = s.data[9 * k..9 * (k + 1)]
                .iter()
                .map(|v| v - 1.0 - 9.0 * k as f32)
                .collect();
            assert_eq!(plane, first);
        }
    }

    #[test]
    fn cutout_zeroes_a_clipped_square() {
        let aug = Augmentation {
            cutout: 4,
            ..Default::default()
        };
        for i in 0..20 {
            let mut s = sample(vec![1, 8, 8]);
            aug.apply(&mut s, 3, 0, i);
            let zeros = s.data.iter().filter(|&&v| v == 0.0).count();
            assert!((4..=16).contains(&zeros), "{zeros} zeros");
        }
    }
}
