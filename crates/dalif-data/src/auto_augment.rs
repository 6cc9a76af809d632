//! AutoAugment's CIFAR-10 policy (Cubuk et al. 2019), as the SNN recipes use it: the
//! `CIFAR10Policy` of DeepVoltaire/AutoAugment, 25 sub-policies of two PIL operations each,
//! geometric ones filling with grey (128, 128, 128). Every operation reproduces Pillow's
//! arithmetic on 8-bit pixels (its look-up tables, `Image.blend` truncation, the
//! `ImageFilter.SMOOTH` kernel, nearest and bicubic affine sampling); the tests compare them
//! with outputs of Pillow itself.

use crate::rng::SplitMix64;

/// An 8-bit RGB image, channel-planar (`[3, H, W]`, as samples are).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanarRgb {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// The R, G and B planes, each `height x width` row-major.
    pub data: Vec<u8>,
}

/// The grey that geometric operations shift in.
const FILL: u8 = 128;

/// One image operation with its magnitude (signs already drawn).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ImageOp {
    /// `255 - v` for every value.
    Invert,
    /// Keep the `bits` high bits of every value.
    Posterize(u8),
    /// Invert every value at or above the threshold.
    Solarize(f64),
    /// Stretch each channel's range of values to 0..=255.
    AutoContrast,
    /// Equalise each channel's histogram.
    Equalize,
    /// Blend with black by this factor (1: unchanged).
    Brightness(f32),
    /// Blend with the grey-level image.
    Color(f32),
    /// Blend with the mean grey level.
    Contrast(f32),
    /// Blend with the image smoothed by the 3x3 kernel [1 1 1; 1 5 1; 1 1 1] / 13.
    Sharpness(f32),
    /// Output column x shows input column x + shift (nearest).
    TranslateX(f64),
    /// Output row y shows input row y + shift (nearest).
    TranslateY(f64),
    /// Output (x, y) shows input (x + k y, y) (bicubic).
    ShearX(f64),
    /// Output (x, y) shows input (x, y + k x) (bicubic).
    ShearY(f64),
    /// Counter-clockwise rotation by this many degrees about the centre (nearest).
    Rotate(f64),
}

impl PlanarRgb {
    fn plane(&self, c: usize) -> &[u8] {
        let n = self.width * self.height;
        &self.data[c * n..(c + 1) * n]
    }

    /// Pillow's `convert("L")`: `L = (19595 R + 38470 G + 7471 B + 2^15) >> 16`.
    fn luma(&self) -> Vec<u8> {
        let (r, g, b) = (self.plane(0), self.plane(1), self.plane(2));
        (0..r.len())
            .map(|i| {
                let l = r[i] as u32 * 19595 + g[i] as u32 * 38470 + b[i] as u32 * 7471 + 0x8000;
                (l >> 16) as u8
            })
            .collect()
    }

    fn map_channels(&mut self, lut: impl Fn(&[u8]) -> [u8; 256]) {
        let n = self.width * self.height;
        for plane in self.data.chunks_exact_mut(n) {
            let table = lut(plane);
            plane.iter_mut().for_each(|v| *v = table[*v as usize]);
        }
    }

    /// Pillow's `Image.blend(degenerate, self, factor)`: `d + factor (x - d)` in `f32`,
    /// truncated, clipped to 0..=255 when extrapolating.
    fn blend_from(&mut self, degenerate: &[u8], factor: f32) {
        for (x, &d) in self.data.iter_mut().zip(degenerate) {
            let v = d as f32 + factor * (*x as f32 - d as f32);
            *x = v.clamp(0.0, 255.0) as u8;
        }
    }

    /// Pillow's `ImageFilter.SMOOTH`; the outermost rows and columns stay as they are.
    fn smoothed(&self) -> Vec<u8> {
        let (w, h) = (self.width, self.height);
        let mut out = self.data.clone();
        if w < 3 || h < 3 {
            return out;
        }
        for c in 0..3 {
            let src = self.plane(c);
            let dst = &mut out[c * w * h..(c + 1) * w * h];
            for y in 1..h - 1 {
                for x in 1..w - 1 {
                    let mut sum = 4 * src[y * w + x] as u32;
                    for yy in y - 1..=y + 1 {
                        sum += src[yy * w + x - 1..=yy * w + x + 1]
                            .iter()
                            .map(|&v| v as u32)
                            .sum::<u32>();
                    }
                    dst[y * w + x] = ((sum as f32) / 13.0 + 0.5) as u8;
                }
            }
        }
        out
    }

    /// Pillow's `Image.transform(size, AFFINE, (a, b, c, d, e, f))`: output pixel (x, y)
    /// samples the input at `(a x' + b y' + c, d x' + e y' + f)`, with `(x', y')` the pixel's
    /// centre, and shows the fill colour where that falls outside.
    fn affine(&mut self, m: [f64; 6], bicubic: bool) {
        let (w, h) = (self.width, self.height);
        let src = self.clone();
        let nearest = (!bicubic).then(|| nearest_sources(m, w, h));
        for y in 0..h {
            for x in 0..w {
                let (xc, yc) = (x as f64 + 0.5, y as f64 + 0.5);
                let (sx, sy) = (m[0] * xc + m[1] * yc + m[2], m[3] * xc + m[4] * yc + m[5]);
                for c in 0..3 {
                    let v = match &nearest {
                        Some(sources) => sources[y * w + x].map(|i| src.plane(c)[i]),
                        None => src.bicubic(c, sx, sy),
                    };
                    self.data[(c * h + y) * w + x] = v.unwrap_or(FILL);
                }
            }
        }
    }

    /// Pillow's affine bicubic: cubic convolution with a = -1 on the 4x4 neighbours of
    /// the sample point, edges repeated, truncated to 0..=255.
    fn bicubic(&self, c: usize, x: f64, y: f64) -> Option<u8> {
        let (w, h) = (self.width as i64, self.height as i64);
        if x < 0.0 || x >= w as f64 || y < 0.0 || y >= h as f64 {
            return None;
        }
        let (x, y) = (x - 0.5, y - 0.5);
        let (x0, y0) = (x.floor(), y.floor());
        let (dx, dy) = (x - x0, y - y0);
        let cubic = |v: [f64; 4], d: f64| {
            let p2 = -v[0] + v[2];
            let p3 = 2.0 * (v[0] - v[1]) + v[2] - v[3];
            let p4 = -v[0] + v[1] - v[2] + v[3];
            v[1] + d * (p2 + d * (p3 + d * p4))
        };
        let plane = self.plane(c);
        let clip = |v: i64, n: i64| v.clamp(0, n - 1) as usize;
        let row = |yy: i64| {
            let r = clip(yy, h) * self.width;
            let v = |k: i64| plane[r + clip(x0 as i64 - 1 + k, w)] as f64;
            cubic([v(0), v(1), v(2), v(3)], dx)
        };
        let y0 = y0 as i64 - 1;
        let v = cubic([row(y0), row(y0 + 1), row(y0 + 2), row(y0 + 3)], dy);
        Some(v.clamp(0.0, 255.0) as u8)
    }
}

impl ImageOp {
    /// Applies the operation in place.
    pub fn apply(&self, img: &mut PlanarRgb) {
        match *self {
            Self::Invert => img.map_channels(|_| std::array::from_fn(|i| 255 - i as u8)),
            Self::Posterize(bits) => {
                let mask = !((1u16 << (8 - bits.min(8))) - 1) as u8;
                img.map_channels(|_| std::array::from_fn(|i| i as u8 & mask));
            }
            Self::Solarize(threshold) => img.map_channels(|_| {
                std::array::from_fn(|i| {
                    if (i as f64) < threshold {
                        i as u8
                    } else {
                        255 - i as u8
                    }
                })
            }),
            Self::AutoContrast => img.map_channels(auto_contrast_lut),
            Self::Equalize => img.map_channels(equalize_lut),
            Self::Brightness(f) => img.blend_from(&vec![0; img.data.len()], f),
            Self::Color(f) => {
                let grey = img.luma().repeat(3);
                img.blend_from(&grey, f);
            }
            Self::Contrast(f) => {
                let luma = img.luma();
                let total: f64 = luma.iter().map(|&v| v as f64).sum();
                let mean = (total / luma.len() as f64 + 0.5) as u8;
                img.blend_from(&vec![mean; img.data.len()], f);
            }
            Self::Sharpness(f) => {
                let smooth = img.smoothed();
                img.blend_from(&smooth, f);
            }
            Self::TranslateX(t) => img.affine([1.0, 0.0, t, 0.0, 1.0, 0.0], false),
            Self::TranslateY(t) => img.affine([1.0, 0.0, 0.0, 0.0, 1.0, t], false),
            Self::ShearX(k) => img.affine([1.0, k, 0.0, 0.0, 1.0, 0.0], true),
            Self::ShearY(k) => img.affine([1.0, 0.0, 0.0, k, 1.0, 0.0], true),
            Self::Rotate(degrees) => {
                let (sin, cos) = (-degrees.to_radians()).sin_cos();
                let (cx, cy) = (img.width as f64 / 2.0, img.height as f64 / 2.0);
                let (a, b, d, e) = (cos, sin, -sin, cos);
                let c = a * -cx + b * -cy + cx;
                let f = d * -cx + e * -cy + cy;
                img.affine([a, b, c, d, e, f], false);
            }
        }
    }
}

/// The input pixel each output pixel shows under nearest sampling, computed as Pillow
/// does: in floating point accumulated along rows and columns for scalings and shifts
/// (`ImagingScaleAffine`), in 16.16 fixed point otherwise (`affine_fixed`).
fn nearest_sources(m: [f64; 6], w: usize, h: usize) -> Vec<Option<usize>> {
    let (wi, hi) = (w as i64, h as i64);
    let inside = |x: i64, y: i64| {
        ((0..wi).contains(&x) && (0..hi).contains(&y)).then_some((y * wi + x) as usize)
    };
    let mut out = Vec::with_capacity(w * h);
    if m[1] == 0.0 && m[3] == 0.0 {
        // COORD: -1 for negatives, truncation otherwise.
        let coord = |v: f64| if v < 0.0 { -1 } else { v as i64 };
        let mut columns = Vec::with_capacity(w);
        let mut xo = m[2] + m[0] * 0.5;
        for _ in 0..w {
            columns.push(coord(xo));
            xo += m[0];
        }
        let mut yo = m[5] + m[4] * 0.5;
        for _ in 0..h {
            out.extend(columns.iter().map(|&x| inside(x, coord(yo))));
            yo += m[4];
        }
    } else {
        let fix = |v: f64| (v * 65536.0 + 0.5).floor() as i64;
        let (a0, a1, a3, a4) = (fix(m[0]), fix(m[1]), fix(m[3]), fix(m[4]));
        let mut a2 = fix(m[2] + m[0] * 0.5 + m[1] * 0.5);
        let mut a5 = fix(m[5] + m[3] * 0.5 + m[4] * 0.5);
        for _ in 0..h {
            let (mut xx, mut yy) = (a2, a5);
            for _ in 0..w {
                out.push(inside(xx >> 16, yy >> 16));
                xx += a0;
                yy += a3;
            }
            a2 += a1;
            a5 += a4;
        }
    }
    out
}

fn histogram(plane: &[u8]) -> [u64; 256] {
    let mut h = [0u64; 256];
    plane.iter().for_each(|&v| h[v as usize] += 1);
    h
}

/// `ImageOps.autocontrast` without cut-off: `lo..=hi` mapped linearly onto `0..=255`.
fn auto_contrast_lut(plane: &[u8]) -> [u8; 256] {
    let (lo, hi) = (
        *plane.iter().min().unwrap_or(&0),
        *plane.iter().max().unwrap_or(&255),
    );
    if hi <= lo {
        return std::array::from_fn(|i| i as u8);
    }
    let scale = 255.0 / (hi - lo) as f64;
    let offset = -(lo as f64) * scale;
    std::array::from_fn(|i| (i as f64 * scale + offset).clamp(0.0, 255.0) as u8)
}

/// `ImageOps.equalize`: cumulative histogram in steps of `(n - count of the top value) / 256`.
fn equalize_lut(plane: &[u8]) -> [u8; 256] {
    let h = histogram(plane);
    let used: Vec<u64> = h.iter().copied().filter(|&c| c > 0).collect();
    let step = match used.as_slice() {
        [.., last] if used.len() > 1 => (used.iter().sum::<u64>() - last) / 256,
        _ => 0,
    };
    if step == 0 {
        return std::array::from_fn(|i| i as u8);
    }
    let mut n = step / 2;
    std::array::from_fn(|i| {
        let v = (n / step).min(255) as u8;
        n += h[i];
        v
    })
}

/// The operations of the policy; magnitudes come from a 10-level index.
#[derive(Clone, Copy, Debug)]
enum Kind {
    ShearY,
    TranslateX,
    TranslateY,
    Rotate,
    Color,
    Posterize,
    Solarize,
    Contrast,
    Sharpness,
    Brightness,
    AutoContrast,
    Equalize,
    Invert,
}

impl Kind {
    /// The operation at level `level` (0..=9) for an image `width` by `height`; `sign` (±1)
    /// is used by the operations that go both ways.
    fn op(self, level: u8, sign: f64, width: usize, height: usize) -> ImageOp {
        // numpy's linspace(lo, hi, 10)[level].
        let lin = |lo: f64, hi: f64| lo + (hi - lo) * level as f64 / 9.0;
        let translate = 150.0 / 331.0;
        match self {
            Self::ShearY => ImageOp::ShearY(sign * lin(0.0, 0.3)),
            Self::TranslateX => ImageOp::TranslateX(sign * lin(0.0, translate) * width as f64),
            Self::TranslateY => ImageOp::TranslateY(sign * lin(0.0, translate) * height as f64),
            // DeepVoltaire's policy rotates counter-clockwise only.
            Self::Rotate => ImageOp::Rotate(lin(0.0, 30.0)),
            Self::Color => ImageOp::Color((1.0 + sign * lin(0.0, 0.9)) as f32),
            Self::Posterize => ImageOp::Posterize(lin(8.0, 4.0).round() as u8),
            Self::Solarize => ImageOp::Solarize(lin(256.0, 0.0)),
            Self::Contrast => ImageOp::Contrast((1.0 + sign * lin(0.0, 0.9)) as f32),
            Self::Sharpness => ImageOp::Sharpness((1.0 + sign * lin(0.0, 0.9)) as f32),
            Self::Brightness => ImageOp::Brightness((1.0 + sign * lin(0.0, 0.9)) as f32),
            Self::AutoContrast => ImageOp::AutoContrast,
            Self::Equalize => ImageOp::Equalize,
            Self::Invert => ImageOp::Invert,
        }
    }
}

/// `(probability, operation, level)` twice.
type SubPolicy = [(f64, Kind, u8); 2];

const CIFAR10_POLICY: [SubPolicy; 25] = {
    use Kind::*;
    [
        [(0.1, Invert, 7), (0.2, Contrast, 6)],
        [(0.7, Rotate, 2), (0.3, TranslateX, 9)],
        [(0.8, Sharpness, 1), (0.9, Sharpness, 3)],
        [(0.5, ShearY, 8), (0.7, TranslateY, 9)],
        [(0.5, AutoContrast, 8), (0.9, Equalize, 2)],
        [(0.2, ShearY, 7), (0.3, Posterize, 7)],
        [(0.4, Color, 3), (0.6, Brightness, 7)],
        [(0.3, Sharpness, 9), (0.7, Brightness, 9)],
        [(0.6, Equalize, 5), (0.5, Equalize, 1)],
        [(0.6, Contrast, 7), (0.6, Sharpness, 5)],
        [(0.7, Color, 7), (0.5, TranslateX, 8)],
        [(0.3, Equalize, 7), (0.4, AutoContrast, 8)],
        [(0.4, TranslateY, 3), (0.2, Sharpness, 6)],
        [(0.9, Brightness, 6), (0.2, Color, 8)],
        [(0.5, Solarize, 2), (0.0, Invert, 3)],
        [(0.2, Equalize, 0), (0.6, AutoContrast, 0)],
        [(0.2, Equalize, 8), (0.8, Equalize, 4)],
        [(0.9, Color, 9), (0.6, Equalize, 6)],
        [(0.8, AutoContrast, 4), (0.2, Solarize, 8)],
        [(0.1, Brightness, 3), (0.7, Color, 0)],
        [(0.4, Solarize, 5), (0.9, AutoContrast, 3)],
        [(0.9, TranslateY, 9), (0.7, TranslateY, 9)],
        [(0.9, AutoContrast, 2), (0.8, Solarize, 3)],
        [(0.8, Equalize, 8), (0.1, Invert, 3)],
        [(0.7, TranslateY, 9), (0.9, AutoContrast, 1)],
    ]
};

/// The operations the CIFAR-10 policy draws for one image: one of the 25 sub-policies,
/// then each of its two operations with its probability, each signed operation with a
/// random sign.
pub fn cifar10_policy(rng: &mut SplitMix64, width: usize, height: usize) -> Vec<ImageOp> {
    let sub = CIFAR10_POLICY[rng.below(CIFAR10_POLICY.len() as u64) as usize];
    sub.iter()
        .filter_map(|&(p, kind, level)| {
            let applies = rng.unit() < p;
            let sign = if rng.below(2) == 0 { -1.0 } else { 1.0 };
            applies.then(|| kind.op(level, sign, width, height))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magnitudes_follow_the_policy_tables() {
        let op = |k: Kind, level| k.op(level, 1.0, 32, 32);
        assert_eq!(op(Kind::Posterize, 0), ImageOp::Posterize(8));
        assert_eq!(op(Kind::Posterize, 1), ImageOp::Posterize(8));
        assert_eq!(op(Kind::Posterize, 7), ImageOp::Posterize(5));
        assert_eq!(op(Kind::Posterize, 9), ImageOp::Posterize(4));
        assert_eq!(op(Kind::Solarize, 0), ImageOp::Solarize(256.0));
        assert_eq!(op(Kind::Solarize, 9), ImageOp::Solarize(0.0));
        let ImageOp::TranslateX(t) = op(Kind::TranslateX, 9) else {
            unreachable!()
        };
        assert!((t - 150.0 / 331.0 * 32.0).abs() < 1e-12);
        let ImageOp::Brightness(b) = Kind::Brightness.op(9, -1.0, 32, 32) else {
            unreachable!()
        };
        assert!((b - 0.1).abs() < 1e-6);
    }

    #[test]
    fn the_policy_draws_every_sub_policy() {
        let draw = |i| cifar10_policy(&mut SplitMix64::for_item(1, 0, i), 32, 32);
        let mut kinds = std::collections::BTreeSet::new();
        let mut empty = 0;
        for i in 0..2000 {
            let ops = draw(i);
            assert!(ops.len() <= 2);
            empty += ops.is_empty() as usize;
            for op in ops {
                kinds.insert(format!("{op:?}").split('(').next().unwrap().to_string());
            }
        }
        // The 13 operations of the policy appear; some draws apply none.
        assert_eq!(kinds.len(), 13, "{kinds:?}");
        assert!(empty > 100 && empty < 1000, "{empty}");
    }
}
