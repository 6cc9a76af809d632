//! The event-driven kernels against burn's dense convolution: outputs, the input's and the
//! weights' gradients through autodiff, sparse and dense inputs, strides, 1x1 kernels,
//! non-binary values (average-pooled spikes), and bit-identical results at any thread count.

use super::*;
use crate::layers::kernel_tests::{bits, distance, on_threads, values};
use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use burn::tensor::{Device, Distribution};

/// `[n, c, h, w]` with a fraction `rate` of entries set to one of `values`, the rest zero.
fn sparse_input(shape: [usize; 4], rate: f64, values: &[f32], device: &Device) -> Tensor<4> {
    let mask = Tensor::<4>::random(shape, Distribution::Uniform(0.0, 1.0), device);
    let pick = Tensor::<4>::random(shape, Distribution::Uniform(0.0, 1.0), device);
    let mut x = Tensor::<4>::zeros(shape, device);
    for (i, &v) in values.iter().enumerate() {
        let lo = i as f64 / values.len() as f64;
        let hi = (i + 1) as f64 / values.len() as f64;
        let here = mask.clone().lower_elem(rate).bool_and(
            pick.clone()
                .greater_equal_elem(lo)
                .bool_and(pick.clone().lower_elem(hi)),
        );
        x = x.mask_fill(here, v);
    }
    x
}

fn conv(cin: usize, cout: usize, k: usize, stride: usize, device: &Device) -> Conv2d {
    let p = k / 2;
    Conv2dConfig::new([cin, cout], [k, k])
        .with_stride([stride; 2])
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
        .with_bias(false)
        .init(device)
}

/// Output, dL/dx and dL/dW of `sum(conv(x) * g)`, by the event-driven op and by burn's.
fn compare(shape: [usize; 4], cout: usize, k: usize, stride: usize, rate: f64, vals: &[f32]) {
    let device = Device::flex().autodiff();
    device.seed(7);
    let layer = conv(shape[1], cout, k, stride, &device);
    let x = sparse_input(shape, rate, vals, &device).require_grad();
    let dims = layer.forward(x.clone()).dims();
    let g = Tensor::<4>::random(dims, Distribution::Normal(0.0, 1.0), &device);
    let run = |event: bool| {
        let y = if event {
            conv2d(&layer, x.clone())
        } else {
            layer.forward(x.clone())
        };
        let grads = (y.clone() * g.clone()).sum().backward();
        let gx = x.grad(&grads).unwrap();
        let gw = layer.weight.val().grad(&grads).unwrap();
        (values(y.inner()), values(gx), values(gw))
    };
    let (y, gx, gw) = run(true);
    let (y_ref, gx_ref, gw_ref) = run(false);
    let what = format!("{shape:?} -> {cout}, {k}x{k} stride {stride}, rate {rate}");
    assert!(y_ref.iter().any(|&v| v != 0.0), "{what}: a silent test");
    for (name, a, b) in [
        ("y", &y, &y_ref),
        ("dx", &gx, &gx_ref),
        ("dW", &gw, &gw_ref),
    ] {
        let d = distance(a, b);
        assert!(d < 1e-5, "{what}: {name} differs by {d}");
    }
}

#[test]
fn sparse_spikes_match_the_dense_convolution_and_its_gradients() {
    compare([6, 5, 9, 7], 12, 3, 1, 0.1, &[1.0]);
    compare([4, 8, 10, 10], 16, 3, 2, 0.05, &[1.0]);
    compare([4, 8, 9, 9], 16, 1, 2, 0.1, &[1.0]);
    compare([3, 4, 8, 8], 20, 5, 1, 0.2, &[1.0]);
}

#[test]
fn average_pooled_spikes_and_dense_inputs_match_too() {
    compare([5, 6, 8, 8], 10, 3, 1, 0.15, &[0.25, 0.5, 0.75, 1.0, -2.0]);
    compare([2, 3, 8, 8], 8, 3, 1, 1.0, &[1.0, -0.5]);
}

fn primitive(t: Tensor<4>) -> FlexTensor {
    FlexTensor::from_data(t.into_data())
}

#[test]
fn results_are_bit_identical_at_any_thread_count() {
    let device = Device::flex();
    device.seed(3);
    let x = sparse_input([8, 16, 12, 12], 0.1, &[1.0, 0.5], &device);
    let w = Tensor::<4>::random([24, 16, 3, 3], Distribution::Normal(0.0, 1.0), &device);
    let g = Tensor::<4>::random([8, 24, 12, 12], Distribution::Normal(0.0, 1.0), &device);
    let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
    let run = |threads: usize| {
        on_threads(threads, || {
            let (x, w, g) = (
                primitive(x.clone()),
                primitive(w.clone()),
                primitive(g.clone()),
            );
            let y = Flex::event_conv2d(x.clone(), w.clone(), options.clone());
            let gw = Flex::event_conv2d_weight_backward(x, w, g, options.clone());
            let values = |t: FlexTensor| t.into_data().try_to_vec::<f32>().unwrap();
            (bits(&values(y)), bits(&values(gw)))
        })
    };
    let one = run(1);
    assert!(one.1.iter().any(|&b| b != 0));
    assert_eq!(one, run(2));
    assert_eq!(one, run(5));
}

#[test]
fn inference_folds_batch_norm_into_the_convolution() {
    use crate::layers::{ConvBnConfig, merge_time, split_time};
    use burn::module::{Param, RunningState};
    let device = Device::flex();
    device.seed(5);
    let mut layer = ConvBnConfig::new(4, 6, 3, 1).with_gain(1.5).init(&device);
    let uniform = |lo, hi| Tensor::<1>::random([6], Distribution::Uniform(lo, hi), &device);
    layer.bn.running_mean = RunningState::new(uniform(-1.0, 1.0));
    layer.bn.running_var = RunningState::new(uniform(0.5, 2.0));
    layer.bn.beta = Param::from_tensor(uniform(-0.5, 0.5));
    let x = split_time(sparse_input([6, 4, 8, 8], 0.2, &[1.0], &device), 2);
    let folded = values(merge_time(layer.forward(x.clone())));
    let reference = values(layer.bn.forward(layer.conv.forward(merge_time(x))));
    let d = distance(&folded, &reference);
    assert!(d < 1e-5, "folded batch norm differs by {d}");
}

#[test]
fn an_empty_batch_gives_an_empty_output() {
    let device = Device::flex();
    let layer = conv(3, 4, 3, 1, &device);
    let y = conv2d(&layer, Tensor::<4>::zeros([0, 3, 8, 8], &device));
    assert_eq!(y.dims(), [0, 4, 8, 8]);
}
