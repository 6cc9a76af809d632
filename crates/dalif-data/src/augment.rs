//! Training-time augmentation of images `[C, H, W]` and event frames `[T, C, H, W]`. One
//! geometric transform is drawn per sample and applied to every plane, so all T frames of a
//! recording move together. Draws come from `(seed, epoch, index)` alone: the same run gives
//! the same augmented samples whatever the thread count, and a resumed run continues them.
//!
//! The order is the recipes' torchvision pipeline: pad-crop, flip (and roll), AutoAugment on
//! the 8-bit pixels, normalisation (the samples arrive normalised), then Cutout.

use crate::auto_augment::{PlanarRgb, cifar10_policy};
use crate::rng::SplitMix64;
use crate::{DataError, Dataset, Normalization, Sample};
use serde::{Deserialize, Serialize};

/// What to apply; every part is off by default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Augmentation {
    /// Random crop of the original size after padding by this many pixels on every side
    /// (CIFAR: 4). Images are padded with black, as torchvision's `RandomCrop` does; event
    /// frames with zeros (no events).
    pub pad_crop: usize,
    /// Horizontal flip with probability 1/2.
    pub flip: bool,
    /// Cutout (DeVries & Taylor 2017): one square of this side set to 0, centred uniformly on
    /// the image and clipped at its borders (CIFAR-10: 16, CIFAR-100: 8).
    pub cutout: usize,
    /// Random roll (wrapping shift, as `torch.roll`) by up to this many pixels along each
    /// axis (event frames in the TET recipe: 5).
    pub roll: usize,
    /// AutoAugment's CIFAR-10 policy (RGB images only).
    pub auto_augment: bool,
}

impl Augmentation {
    /// Whether every part is off (samples pass unchanged).
    pub fn is_off(&self) -> bool {
        *self == Self::default()
    }

    /// Checks that `data`'s samples can take this augmentation, before training starts.
    pub fn check(&self, data: &dyn Dataset) -> Result<(), DataError> {
        if self.auto_augment {
            auto_augment_input(data.normalization().as_ref(), data.sample_shape())?;
        }
        Ok(())
    }

    /// Augments `sample` in place with the draws of sample `index` in `epoch`.
    /// `normalization` is the one the sample carries (RGB images) or `None` (other data);
    /// AutoAugment needs it, to work on the 8-bit pixels.
    pub fn apply(
        &self,
        sample: &mut Sample,
        normalization: Option<&Normalization>,
        seed: u64,
        epoch: u64,
        index: u64,
    ) -> Result<(), DataError> {
        if self.is_off() {
            return Ok(());
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
        let (hi, wi) = (h as i64, w as i64);
        if (dy, dx, ry, rx) != (0, 0, 0, 0) || flip {
            let channels = if n >= 3 { sample.shape[n - 3] } else { 1 };
            let mut out = vec![0f32; h * w];
            for (k, plane) in sample.data.chunks_exact_mut(h * w).enumerate() {
                let black = normalization.map_or(0.0, |norm| norm.normalize(k % channels, 0));
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
                        out[(y * wi + x) as usize] = if inside {
                            plane[(sy * wi + sx) as usize]
                        } else {
                            black
                        };
                    }
                }
                plane.copy_from_slice(&out);
            }
        }
        if self.auto_augment {
            let norm = auto_augment_input(normalization, &sample.shape)?;
            let mut image = PlanarRgb {
                width: w,
                height: h,
                data: (sample.data.iter().enumerate())
                    .map(|(i, &v)| norm.pixel(i / (h * w), v))
                    .collect(),
            };
            for op in cifar10_policy(&mut rng, w, h) {
                op.apply(&mut image);
            }
            for (i, (v, &p)) in sample.data.iter_mut().zip(&image.data).enumerate() {
                *v = norm.normalize(i / (h * w), p);
            }
        }
        if self.cutout > 0 {
            let (cy, cx) = (rng.below(h as u64) as i64, rng.below(w as u64) as i64);
            let half = self.cutout as i64 / 2;
            let side = self.cutout as i64;
            let rows = (cy - half).max(0)..(cy - half + side).min(hi);
            let cols = (cx - half).max(0)..(cx - half + side).min(wi);
            for plane in sample.data.chunks_exact_mut(h * w) {
                for y in rows.clone() {
                    plane[(y * wi + cols.start) as usize..(y * wi + cols.end) as usize].fill(0.0);
                }
            }
        }
        Ok(())
    }
}

/// The normalisation to undo for AutoAugment, which works on 8-bit RGB pixels.
fn auto_augment_input<'a>(
    normalization: Option<&'a Normalization>,
    shape: &[usize],
) -> Result<&'a Normalization, DataError> {
    match (normalization, shape) {
        (Some(norm), [3, _, _]) => Ok(norm),
        _ => Err(DataError::Invalid(format!(
            "AutoAugment works on the RGB images [3, H, W] of a data set with a normalisation \
             (CIFAR, ImageNet); these samples are {shape:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sample `[2, 6, 6]` (values 1..=72) through pad-crop 2, flip, Cutout 2 and roll 1 at
    /// seed 7, epoch 1, index 5.
    const GOLDEN_VIEW: [f32; 72] = [
        0., 0., 0., 0., 0., 0., 0., 0., 0., 2., 3., 4., 0., 0., 0., 8., 9., 10., 0., 0., 13., 14.,
        15., 16., 0., 0., 19., 20., 21., 22., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0.,
        0., 0., 38., 39., 40., 0., 0., 0., 44., 45., 46., 0., 0., 49., 50., 51., 52., 0., 0., 55.,
        56., 57., 58., 0., 0., 0., 0., 0., 0.,
    ];

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
        Augmentation::default()
            .apply(&mut s, None, 1, 2, 3)
            .unwrap();
        assert_eq!(s, sample(vec![1, 4, 4]));
        let aug = Augmentation {
            pad_crop: 2,
            flip: true,
            cutout: 2,
            roll: 1,
            auto_augment: false,
        };
        let (mut a, mut b) = (sample(vec![2, 6, 6]), sample(vec![2, 6, 6]));
        aug.apply(&mut a, None, 7, 1, 5).unwrap();
        aug.apply(&mut b, None, 7, 1, 5).unwrap();
        assert_eq!(a, b);
        // Pinned: a run resumed by a later dalif must draw the same views.
        assert_eq!(a.data, GOLDEN_VIEW);
        let differs = (0..20).any(|i| {
            let mut c = sample(vec![2, 6, 6]);
            aug.apply(&mut c, None, 7, 1, i).unwrap();
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
            flip.apply(&mut s, None, 0, 0, i).unwrap();
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
        .apply(&mut s, None, 0, 0, 1)
        .unwrap();
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
            aug.apply(&mut s, None, 3, 0, i).unwrap();
            let zeros = s.data.iter().filter(|&&v| v == 0.0).count();
            assert!((4..=16).contains(&zeros), "{zeros} zeros");
        }
    }

    const CIFAR: Normalization = Normalization {
        mean: [0.4914, 0.4822, 0.4465],
        std: [0.2023, 0.1994, 0.2010],
    };

    /// A normalised RGB image whose pixel values are all above 0.
    fn rgb(h: usize, w: usize) -> Sample {
        Sample {
            data: (0..3 * h * w)
                .map(|i| CIFAR.normalize(i / (h * w), 1 + (i * 37 % 250) as u8))
                .collect(),
            shape: vec![3, h, w],
            label: 0,
        }
    }

    #[test]
    fn images_are_padded_with_black() {
        let aug = Augmentation {
            pad_crop: 3,
            ..Default::default()
        };
        let blacks = (0..20)
            .map(|i| {
                let mut s = rgb(8, 8);
                aug.apply(&mut s, Some(&CIFAR), 0, 0, i).unwrap();
                let black = |(k, v): (usize, &f32)| *v == CIFAR.normalize(k / 64, 0);
                s.data.iter().enumerate().filter(|&p| black(p)).count()
            })
            .sum::<usize>();
        assert!(blacks > 0);
    }

    #[test]
    fn auto_augment_works_on_the_pixels_of_rgb_images() {
        for c in 0..3 {
            for p in 0..=255 {
                assert_eq!(CIFAR.pixel(c, CIFAR.normalize(c, p)), p);
            }
        }
        let aug = Augmentation {
            auto_augment: true,
            ..Default::default()
        };
        let augmented = |i| {
            let mut s = rgb(12, 10);
            aug.apply(&mut s, Some(&CIFAR), 4, 1, i).unwrap();
            s
        };
        let changed = (0..40).filter(|&i| augmented(i) != rgb(12, 10)).count();
        assert!((10..40).contains(&changed), "{changed} of 40 changed");
        // Every value is still exactly a normalised 8-bit pixel.
        for i in 0..40 {
            let s = augmented(i);
            for (k, &v) in s.data.iter().enumerate() {
                assert_eq!(v, CIFAR.normalize(k / 120, CIFAR.pixel(k / 120, v)));
            }
        }
        // Event frames and unnormalised data are refused, not passed through.
        let mut frames = sample(vec![2, 2, 4, 4]);
        let err = aug.apply(&mut frames, None, 0, 0, 0).unwrap_err();
        assert!(err.to_string().contains("AutoAugment"), "{err}");
        let mut grey = sample(vec![1, 4, 4]);
        assert!(aug.apply(&mut grey, Some(&CIFAR), 0, 0, 0).is_err());
    }
}
