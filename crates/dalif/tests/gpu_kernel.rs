//! The CubeCL kernels of the neuron on a wgpu device (a GPU, or Mesa's software Vulkan driver
//! lavapipe on a machine without one) against the fused CPU kernel, for every configuration;
//! their decay gradients bit-identical from run to run; and the tensor-op fallback on the same
//! device agreeing with both.
#![cfg(feature = "wgpu")]

mod common;

use burn::backend::Dispatch;
use burn::backend::tensor::FloatTensor;
use burn::tensor::{Device, DeviceKind, Tensor, TensorData};
use common::*;
use dalif::neuron::SpikeFunction;
use dalif::neuron::op::{DaLifBackend, DaLifOp, Implementation};

fn gpu() -> Device {
    Device::wgpu(DeviceKind::default())
}

fn on(device: &Device, data: &[f32], shape: &[usize]) -> FloatTensor<Dispatch> {
    let data = TensorData::new(data.to_vec(), shape.to_vec());
    match shape.len() {
        1 => Tensor::<1>::from_data(data, device).into_dispatch(),
        2 => Tensor::<2>::from_data(data, device).into_dispatch(),
        3 => Tensor::<3>::from_data(data, device).into_dispatch(),
        5 => Tensor::<5>::from_data(data, device).into_dispatch(),
        n => panic!("no test tensor of rank {n}"),
    }
}

/// Any primitive's values (the rank parameter of `Tensor` plays no part in reading them).
fn read(t: &FloatTensor<Dispatch>) -> Vec<f64> {
    tensor_vec(Tensor::<1>::from_dispatch(t.clone()))
}

/// Every configuration: both forward spikes with every surrogate, reset and detach setting.
fn all_ops() -> Vec<DaLifOp> {
    let mut all = ops(SpikeFunction::Heaviside);
    all.extend(ops(SpikeFunction::Smooth));
    all
}

/// The outputs and gradients of one run, read back as f64.
struct Run {
    spikes: Vec<f64>,
    potential: Vec<f64>,
    grad_x: Vec<f64>,
    grad_alpha: Vec<f64>,
    grad_beta: Vec<f64>,
}

struct Case {
    shape: Vec<usize>,
    x: Vec<f32>,
    g: Vec<f32>,
    alpha: Vec<f32>,
    beta: Vec<f32>,
}

impl Case {
    fn new(shape: &[usize], channels: Option<usize>, seed: u64) -> Self {
        let n: usize = shape.iter().product();
        let (alpha, beta) = match channels {
            None => (vec![0.6], vec![0.7]),
            Some(c) => (
                to_f32(&normal(c, 0.6, 0.15, seed + 2)),
                to_f32(&normal(c, 0.7, 0.15, seed + 3)),
            ),
        };
        Self {
            shape: shape.to_vec(),
            x: to_f32(&normal(n, 0.9, 1.0, seed)),
            g: to_f32(&normal(n, 0.0, 1.0, seed + 1)),
            alpha,
            beta,
        }
    }

    fn run(&self, device: &Device, imp: Implementation<Dispatch>, op: DaLifOp) -> Run {
        let ds = [self.alpha.len()];
        let (out, (gx, ga, gb)) = imp.forward_backward(
            &on(device, &self.x, &self.shape),
            &on(device, &self.alpha, &ds),
            &on(device, &self.beta, &ds),
            &on(device, &self.g, &self.shape),
            op,
        );
        Run {
            spikes: read(&out.spikes),
            potential: read(&out.potential),
            grad_x: read(&gx),
            grad_alpha: read(&ga),
            grad_beta: read(&gb),
        }
    }
}

fn assert_agree(what: &str, got: &Run, want: &Run) {
    let spikes = max_abs_diff(&got.spikes, &want.spikes);
    assert!(spikes <= 1e-5, "{what}: spikes differ by {spikes}");
    let v = max_abs_diff(&got.potential, &want.potential);
    assert!(v <= 1e-5, "{what}: V differs by {v}");
    let gx = max_abs_diff(&got.grad_x, &want.grad_x);
    assert!(gx <= 1e-4, "{what}: dL/dX differs by {gx}");
    for (g, w, name) in [
        (&got.grad_alpha, &want.grad_alpha, "alpha"),
        (&got.grad_beta, &want.grad_beta, "beta"),
    ] {
        assert_eq!(g.len(), w.len(), "{what}: dL/d{name} shape");
        for (gv, wv) in g.iter().zip(w) {
            let rel = (gv - wv).abs() / wv.abs().max(1.0);
            assert!(rel <= 1e-4, "{what}: dL/d{name} {gv} vs {wv}");
        }
    }
}

#[test]
fn gpu_kernel_equals_the_cpu_kernel_for_every_configuration() {
    let (gpu, cpu) = (gpu(), Device::flex());
    // Conv-like with per-channel decays, the same per layer, fc-like per feature, and a
    // per-layer case large enough for several partial sums in the reduction's first stage.
    let cases = [
        Case::new(&[5, 3, 4, 6, 7], Some(4), 10),
        Case::new(&[5, 3, 4, 6, 7], None, 20),
        Case::new(&[7, 9, 33], Some(33), 30),
        Case::new(&[3, 2, 3, 40, 41], Some(3), 40),
    ];
    for (k, case) in cases.iter().enumerate() {
        for op in all_ops() {
            let what = format!("case {k} {:?} {op:?}", case.shape);
            let fused = case.run(&gpu, Implementation::native(), op);
            let cpu_run = case.run(&cpu, Implementation::native(), op);
            assert_agree(&what, &fused, &cpu_run);
        }
    }
}

/// Millions of neurons a step: more cubes than one launch dimension may hold on some devices.
#[test]
fn gpu_kernel_covers_every_neuron_of_a_large_layer() {
    let case = Case::new(&[2, 1 << 21], None, 70);
    let op = all_ops()[0];
    let gpu_run = case.run(&gpu(), Implementation::native(), op);
    let cpu_run = case.run(&Device::flex(), Implementation::native(), op);
    let count = |s: &[f64]| s.iter().filter(|&&v| v == 1.0).count();
    assert_eq!(count(&gpu_run.spikes), count(&cpu_run.spikes));
    assert_agree("[2, 2^21]", &gpu_run, &cpu_run);
}

#[test]
fn gpu_fallback_agrees_with_the_gpu_kernel() {
    let gpu = gpu();
    let case = Case::new(&[4, 2, 3, 5, 5], Some(3), 50);
    for op in all_ops().into_iter().step_by(3) {
        let fused = case.run(&gpu, Implementation::native(), op);
        let fallback = case.run(&gpu, Implementation::fallback(), op);
        assert_agree(&format!("{op:?}"), &fused, &fallback);
    }
}

#[test]
fn gpu_decay_gradients_are_bit_identical_from_run_to_run() {
    let gpu = gpu();
    // 2 x 64 x 48 x 48 neurons a step: the per-layer sum takes both reduction stages.
    for (shape, channels) in [
        (vec![4, 2, 64, 48, 48], None),
        (vec![4, 2, 64, 48, 48], Some(64)),
    ] {
        let case = Case::new(&shape, channels, 60);
        let op = all_ops()[0];
        let first = case.run(&gpu, Implementation::native(), op);
        for _ in 0..3 {
            let again = case.run(&gpu, Implementation::native(), op);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&again.grad_alpha), bits(&first.grad_alpha));
            assert_eq!(bits(&again.grad_beta), bits(&first.grad_beta));
            assert_eq!(bits(&again.grad_x), bits(&first.grad_x));
        }
        // And the sums are right: within f32 summation error of the CPU's f64 sums.
        let cpu = case.run(&Device::flex(), Implementation::native(), op);
        assert_agree(&format!("{shape:?} {channels:?}"), &first, &cpu);
    }
}

#[test]
fn gpu_kernel_keeps_nan_and_handles_an_empty_batch() {
    let gpu = gpu();
    let op = all_ops()[0];
    let x = [
        0.5,
        f32::NAN,
        3.0,
        1.0,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
    ];
    let out = <Dispatch as DaLifBackend>::dalif_forward(
        on(&gpu, &x, &[3, 1, 4]),
        on(&gpu, &[1.0], &[1]),
        on(&gpu, &[0.5], &[1]),
        op,
    );
    let s = read(&out.spikes);
    assert!(s[1].is_nan() && s[5].is_nan() && s[9].is_nan(), "{s:?}");
    assert_eq!(s[2], 1.0);
    assert!(s.iter().enumerate().all(|(i, v)| i % 4 == 1 || !v.is_nan()));

    let empty = Case {
        shape: vec![4, 0, 3],
        x: vec![],
        g: vec![],
        alpha: vec![0.5],
        beta: vec![0.5],
    };
    let run = empty.run(&gpu, Implementation::native(), op);
    assert!(run.spikes.is_empty() && run.grad_x.is_empty());
    assert_eq!((run.grad_alpha, run.grad_beta), (vec![0.0], vec![0.0]));
}

/// Not dalif's code but what its training relies on: burn's reductions (batch norm's
/// statistics, the losses, the firing-rate monitors) over long axes. On Mesa's lavapipe, burn
/// 0.22.1's wgpu `sum` of 4M ones gave 1,048,512 and `mean_dim` over rows of 262,144 ones gave
/// 0.25, while the same reductions cut into rows of 1,024 were exact; `scripts/gpu-check` runs
/// this on real GPUs to tell whether they share the fault.
#[test]
#[ignore = "fails on lavapipe (burn 0.22.1's long reductions on wgpu); scripts/gpu-check runs it on GPUs"]
fn burn_reductions_over_long_axes_are_exact() {
    let device = gpu();
    for n in [1usize << 18, 1 << 20, 1 << 22] {
        let ones = Tensor::<2>::ones([4, n], &device);
        let sum = ones.clone().sum().into_scalar::<f64>();
        let row_means = tensor_vec(ones.clone().mean_dim(1));
        let two_stage = ones.reshape([4 * n / 1024, 1024]).mean_dim(1).mean();
        let what = format!("4 x {n} ones: sum {sum}, row means {row_means:?}");
        assert_eq!(two_stage.into_scalar::<f64>(), 1.0, "{what}");
        assert_eq!(sum, (4 * n) as f64, "{what}");
        assert!(row_means.iter().all(|&m| m == 1.0), "{what}");
    }
}

/// A GPU that is not there is an error naming the device and what the backend said, not a
/// crash; the default adapter starts.
#[test]
fn a_missing_adapter_is_a_clear_error() {
    use dalif::device::{DeviceError, DeviceSpec, WgpuAdapter};
    assert!(DeviceSpec::Wgpu(None).device().is_ok());
    let missing = DeviceSpec::Wgpu(Some(WgpuAdapter::Discrete(99)));
    match missing.device() {
        Err(DeviceError::Unavailable { device, reason }) => {
            assert_eq!(device, "wgpu:99");
            assert!(!reason.is_empty());
        }
        other => panic!("expected the device to be unavailable, got {other:?}"),
    }
}
