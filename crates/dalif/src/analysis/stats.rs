//! Statistics over the seeds of a series of runs: mean, sample standard deviation, the 95%
//! confidence interval of the mean with Student's t, and paired differences between two
//! configurations trained with the same seeds.
//!
//! With `n` values `x_i`, mean `m` and sample standard deviation `s` (divisor `n - 1`), the
//! interval is `m ± t_{0.975, n-1} s / sqrt(n)`. A paired comparison takes, seed by seed, the
//! difference `d_i = a_i - b_i` of the two runs that share seed `i` (same batch order, and the
//! same initial weights wherever the two networks' shapes agree), and gives the same interval
//! for the mean of the `d_i`: seed-to-seed variation common to both runs cancels in it.

use std::f64::consts::PI;
use std::fmt;

/// The confidence level of every interval here.
pub const CONFIDENCE: f64 = 0.95;

/// `P(|T| <= t)` for Student's t with `df` degrees of freedom and `t >= 0`, by the finite
/// series of Abramowitz & Stegun 26.7.3-4 (exact for integer `df`), with
/// `theta = atan(t / sqrt(df))`:
/// even `df`: `sin(theta) (1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ... + cos^(df-2) term)`;
/// odd `df`: `2/pi (theta + sin(theta) cos(theta) (1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ...
/// + cos^(df-3) term))`, the bracket empty for `df = 1`.
fn central(t: f64, df: usize) -> f64 {
    let theta = (t / (df as f64).sqrt()).atan();
    let (sin, cos) = theta.sin_cos();
    let cos2 = cos * cos;
    let series = |terms: usize, ratio: fn(f64) -> f64| {
        let (mut term, mut sum) = (1.0, 1.0);
        for k in 1..terms {
            term *= cos2 * ratio(k as f64);
            sum += term;
        }
        sum
    };
    if df.is_multiple_of(2) {
        sin * series(df / 2, |k| (2.0 * k - 1.0) / (2.0 * k))
    } else if df == 1 {
        2.0 * theta / PI
    } else {
        2.0 / PI * (theta + sin * cos * series(df.div_ceil(2) - 1, |k| 2.0 * k / (2.0 * k + 1.0)))
    }
}

/// The distribution function of Student's t with `df >= 1` degrees of freedom at `t`.
pub fn student_t_cdf(t: f64, df: usize) -> f64 {
    assert!(df >= 1, "Student's t needs at least one degree of freedom");
    0.5 + 0.5 * t.signum() * central(t.abs(), df)
}

/// The `p`-quantile of Student's t with `df >= 1` degrees of freedom, `0 < p < 1`
/// (`t_{0.975, 4} = 2.776`): the distribution function inverted by bisection, to the last
/// bits of an `f64`.
pub fn student_t_quantile(p: f64, df: usize) -> f64 {
    assert!(
        p > 0.0 && p < 1.0,
        "a quantile is defined for 0 < p < 1, got {p}"
    );
    assert!(df >= 1, "Student's t needs at least one degree of freedom");
    let target = (2.0 * p - 1.0).abs();
    let mut hi = 1.0;
    while central(hi, df) < target {
        hi *= 2.0;
    }
    let mut lo = 0.0;
    while hi - lo > f64::EPSILON * hi {
        let mid = 0.5 * (lo + hi);
        if central(mid, df) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (0.5 * (lo + hi)).copysign(p - 0.5)
}

/// The mean of a sample, its spread and the 95% confidence interval of the mean.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// How many values.
    pub n: usize,
    /// Their mean (NaN for none).
    pub mean: f64,
    /// Their sample standard deviation (divisor `n - 1`); `None` for fewer than two values.
    pub sd: Option<f64>,
    /// `[low, high]`: `mean ± t_{0.975, n-1} sd / sqrt(n)`; `None` for fewer than two values.
    pub interval: Option<[f64; 2]>,
}

impl Estimate {
    /// The estimate from `values`.
    pub fn of(values: &[f64]) -> Self {
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return Self {
                n,
                mean,
                sd: None,
                interval: None,
            };
        }
        let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let sd = var.sqrt();
        let half = student_t_quantile(0.5 + CONFIDENCE / 2.0, n - 1) * sd / (n as f64).sqrt();
        Self {
            n,
            mean,
            sd: Some(sd),
            interval: Some([mean - half, mean + half]),
        }
    }
}

/// What paired runs say about a claim that one configuration scores higher than another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The interval of the mean difference lies above 0: the runs support the claim.
    Supported,
    /// The interval lies below 0: the runs contradict the claim.
    Contradicted,
    /// The interval contains 0: these runs cannot tell.
    NotResolved,
    /// Fewer than two paired seeds: no interval, so no verdict.
    OneSeed,
}

impl Verdict {
    /// The verdict on the interval of a mean difference (`None`: no interval).
    pub fn of(interval: Option<[f64; 2]>) -> Self {
        match interval {
            None => Self::OneSeed,
            Some([low, _]) if low > 0.0 => Self::Supported,
            Some([_, high]) if high < 0.0 => Self::Contradicted,
            Some(_) => Self::NotResolved,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Supported => "supported: the interval lies above 0",
            Self::Contradicted => "contradicted: the interval lies below 0",
            Self::NotResolved => "not resolved by these runs: the interval contains 0",
            Self::OneSeed => "one seed: no interval",
        })
    }
}

/// The paired comparison of `a` against `b` over the seeds both were run with.
#[derive(Clone, Debug, PartialEq)]
pub struct Paired {
    /// The seeds both have, in `a`'s order.
    pub seeds: Vec<u64>,
    /// `a - b` for each of those seeds.
    pub differences: Vec<f64>,
    /// The mean difference and its interval.
    pub estimate: Estimate,
    /// What the interval says about the claim `a > b`.
    pub verdict: Verdict,
}

impl Paired {
    /// Pairs `(seed, value)` of `a` with the value of `b` for the same seed; seeds only one
    /// of them has are left out.
    pub fn of(a: &[(u64, f64)], b: &[(u64, f64)]) -> Self {
        let (seeds, differences): (Vec<u64>, Vec<f64>) = a
            .iter()
            .filter_map(|&(seed, x)| {
                let &(_, y) = b.iter().find(|(s, _)| *s == seed)?;
                Some((seed, x - y))
            })
            .unzip();
        let estimate = Estimate::of(&differences);
        let verdict = Verdict::of(estimate.interval);
        Self {
            seeds,
            differences,
            estimate,
            verdict,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn t_quantiles_match_the_tables() {
        // R's qt(p, df), to 9 digits.
        for (p, df, t) in [
            (0.975, 1, 12.706204736),
            (0.975, 2, 4.302652730),
            (0.975, 3, 3.182446305),
            (0.975, 4, 2.776445105),
            (0.975, 9, 2.262157163),
            (0.975, 30, 2.042272456),
            (0.975, 120, 1.979930405),
            (0.95, 4, 2.131846786),
            (0.995, 9, 3.249835542),
            (0.9, 1, 3.077683537),
        ] {
            let q = student_t_quantile(p, df);
            assert!(close(q, t, 1e-8), "t_({p}, {df}) = {q}, expected {t}");
            assert!(close(student_t_quantile(1.0 - p, df), -t, 1e-8));
            assert!(close(student_t_cdf(t, df), p, 1e-9), "cdf({t}, {df})");
        }
        assert_eq!(student_t_quantile(0.5, 7), 0.0);
        assert_eq!(student_t_cdf(0.0, 7), 0.5);
    }

    #[test]
    fn estimate_by_hand() {
        // Mean 3, squared deviations 4 + 1 + 0 + 1 + 4 = 10, sd = sqrt(10 / 4).
        let e = Estimate::of(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        let sd = 2.5f64.sqrt();
        assert_eq!((e.n, e.mean), (5, 3.0));
        assert!(close(e.sd.unwrap(), sd, 1e-15));
        let half = 2.776445105 * sd / 5f64.sqrt();
        let [lo, hi] = e.interval.unwrap();
        assert!(close(lo, 3.0 - half, 1e-8) && close(hi, 3.0 + half, 1e-8));

        let one = Estimate::of(&[0.7]);
        assert_eq!(
            (one.n, one.mean, one.sd, one.interval),
            (1, 0.7, None, None)
        );
    }

    #[test]
    fn paired_differences_and_verdicts() {
        // Differences per shared seed: 2, 1, 3 (seed 9 is only in a): mean 2, sd 1,
        // half-width t_{0.975, 2} / sqrt(3).
        let a = [(0, 92.0), (1, 90.0), (2, 94.0), (9, 50.0)];
        let b = [(2, 91.0), (0, 90.0), (1, 89.0)];
        let p = Paired::of(&a, &b);
        assert_eq!(p.seeds, [0, 1, 2]);
        assert_eq!(p.differences, [2.0, 1.0, 3.0]);
        assert_eq!(p.estimate.mean, 2.0);
        assert_eq!(p.estimate.sd, Some(1.0));
        let half = 4.302652730 / 3f64.sqrt();
        let [lo, hi] = p.estimate.interval.unwrap();
        assert!(close(lo, 2.0 - half, 1e-8) && close(hi, 2.0 + half, 1e-8));
        // 2 - 2.484 < 0 < 2 + 2.484.
        assert_eq!(p.verdict, Verdict::NotResolved);

        // Differences 2, 2.5, 3: interval 2.5 ± 4.303 * 0.5 / sqrt(3) = [1.26, 3.74].
        let b = [(0, 90.0), (1, 87.5), (2, 91.0)];
        assert_eq!(Paired::of(&a, &b).verdict, Verdict::Supported);
        assert_eq!(Paired::of(&b, &a).verdict, Verdict::Contradicted);
        assert_eq!(Paired::of(&a[..1], &b).verdict, Verdict::OneSeed);
        assert_eq!(Verdict::OneSeed.to_string(), "one seed: no interval");
    }
}
