//! Classification losses on per-step logits `[T, B, K]`.

use crate::names::{self, named};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};
use strum::{Display, EnumString, IntoStaticStr, VariantArray};

/// How per-step logits become a loss.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Display, EnumString, IntoStaticStr, VariantArray,
)]
#[strum(
    serialize_all = "kebab-case",
    parse_err_ty = names::UnknownName,
    parse_err_fn = names::unknown::<Self>
)]
pub enum Readout {
    /// Cross-entropy of the logits averaged over T, `CE((1/T) sum_t z[t], y)` (the usual SNN
    /// readout).
    #[default]
    MeanLogits,
    /// TET (Deng et al. 2022): the mean over t of the cross-entropy of each step's logits.
    Tet,
}

named!(Readout, "readout");

/// The prediction: logits averaged over time, `[T, B, K] -> [B, K]`.
pub fn mean_logits(logits: Tensor<3>) -> Tensor<2> {
    let [_, b, k] = logits.dims();
    logits.mean_dim(0).reshape([b, k])
}

/// Cross-entropy with label smoothing `eps`, averaged over the rows of `logits: [N, K]`:
/// `-sum_k q_k log softmax(z)_k` with `q = (1 - eps) onehot(y) + eps / K`.
fn smoothed_cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>, eps: f32) -> Tensor<1> {
    let k = logits.dims()[1];
    let off = eps / k as f32;
    let targets: Tensor<2> = labels.float().one_hot_fill(k, 1.0 - eps + off, off, -1);
    (log_softmax(logits, 1) * targets).sum_dim(1).neg().mean()
}

/// The training loss of per-step `logits: [T, B, K]` against `labels: [B]`, with
/// label-smoothed cross-entropy (`eps = label_smoothing`, `K` classes)
///
/// ```text
/// CE(z, y) = -sum_k q_k log softmax(z)_k,   q = (1 - eps) onehot(y) + eps / K
/// ```
///
/// averaged over the batch. [`Readout::MeanLogits`]: `L = CE((1/T) sum_t z[t], y)`, the
/// cross-entropy of the time-averaged logits. [`Readout::Tet`]: `L = (1/T) sum_t CE(z[t], y)`,
/// every step pushed towards the label (TET without its MSE regulariser).
pub fn classification_loss(
    logits: Tensor<3>,
    labels: Tensor<1, Int>,
    readout: Readout,
    label_smoothing: f32,
) -> Tensor<1> {
    match readout {
        Readout::MeanLogits => smoothed_cross_entropy(mean_logits(logits), labels, label_smoothing),
        Readout::Tet => {
            // Every step against the same labels: the mean over T*B rows is the mean over t of
            // each step's batch mean.
            let [t, b, k] = logits.dims();
            let labels = labels
                .unsqueeze_dim::<2>(0)
                .repeat_dim(0, t)
                .reshape([t * b]);
            smoothed_cross_entropy(logits.reshape([t * b, k]), labels, label_smoothing)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn ce(row: &[f64], label: usize, eps: f64) -> f64 {
        let m = row.iter().cloned().fold(f64::MIN, f64::max);
        let lse = m + row.iter().map(|z| (z - m).exp()).sum::<f64>().ln();
        let k = row.len() as f64;
        row.iter()
            .enumerate()
            .map(|(i, z)| {
                let q = if i == label {
                    1.0 - eps + eps / k
                } else {
                    eps / k
                };
                -q * (z - lse)
            })
            .sum()
    }

    fn setup() -> (Device, Vec<f64>, Tensor<3>, Tensor<1, Int>) {
        let device = Device::flex();
        // T = 2, B = 2, K = 3.
        let z = vec![
            1.0, -0.5, 0.2, 0.3, 0.1, 2.0, 0.4, 0.0, -1.0, -0.2, 0.5, 1.5,
        ];
        let logits = Tensor::from_data(
            TensorData::new(z.iter().map(|&v| v as f32).collect(), [2, 2, 3]),
            &device,
        );
        let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 2], [2]), &device);
        (device, z, logits, labels)
    }

    fn value(t: Tensor<1>) -> f64 {
        t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()[0]
    }

    #[test]
    fn mean_logits_cross_entropy_with_and_without_smoothing() {
        let (_, z, logits, labels) = setup();
        for eps in [0.0, 0.1] {
            let mean = |b: usize| -> Vec<f64> {
                (0..3)
                    .map(|k| (z[b * 3 + k] + z[6 + b * 3 + k]) / 2.0)
                    .collect()
            };
            let want = (ce(&mean(0), 0, eps) + ce(&mean(1), 2, eps)) / 2.0;
            let got = value(classification_loss(
                logits.clone(),
                labels.clone(),
                Readout::MeanLogits,
                eps as f32,
            ));
            assert!((got - want).abs() < 1e-5, "eps {eps}: {got} vs {want}");
        }
    }

    #[test]
    fn tet_is_the_mean_of_per_step_cross_entropies() {
        let (_, z, logits, labels) = setup();
        let eps = 0.1;
        let want = [(0, 0), (0, 1), (1, 0), (1, 1)]
            .iter()
            .map(|&(t, b)| ce(&z[t * 6 + b * 3..t * 6 + b * 3 + 3], [0, 2][b], eps))
            .sum::<f64>()
            / 4.0;
        let got = value(classification_loss(
            logits,
            labels,
            Readout::Tet,
            eps as f32,
        ));
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }
}
