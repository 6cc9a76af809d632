//! Helpers of the layers' kernel tests.

use burn::tensor::Tensor;

/// The values of `t` (f32).
pub(crate) fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

/// `f` on a rayon pool of `threads` threads (the kernels' results must not depend on it).
pub(crate) fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// The bit patterns of `v`, for bit-for-bit comparisons.
pub(crate) fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

/// Largest |a - b| over max(1, largest |b|): NaN counts as infinitely far.
pub(crate) fn distance(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(1f32, |m, v| m.max(v.abs()));
    a.iter().zip(b).fold(0f32, |d, (x, y)| {
        let e = (x - y).abs() / scale;
        if e.is_nan() { f32::INFINITY } else { d.max(e) }
    })
}
