//! The fused batch norm against burn's: outputs, statistics and every gradient, and
//! bit-identical results at any thread count.

use super::*;
use crate::layers::kernel_tests::{bits, distance, on_threads, values};
use burn::tensor::{Device, Distribution};

#[test]
fn matches_burns_batch_norm_and_its_gradients() {
    let device = Device::flex().autodiff();
    device.seed(9);
    let shape = [6, 5, 7, 3];
    let x = (Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device) * 3.0)
        .add_scalar(2.0)
        .require_grad();
    let gamma = Tensor::<1>::random([5], Distribution::Uniform(0.5, 2.0), &device).require_grad();
    let beta = Tensor::<1>::random([5], Distribution::Uniform(-1.0, 1.0), &device).require_grad();
    let g = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
    let run = |fused: bool| {
        let out = if fused {
            batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-5)
        } else {
            burn::tensor::module::batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-5)
        };
        let grads = (out.output.clone() * g.clone()).sum().backward();
        [
            values(out.output.inner()),
            values(out.mean.inner()),
            values(out.variance.inner()),
            values(x.grad(&grads).unwrap()),
            values(gamma.grad(&grads).unwrap()),
            values(beta.grad(&grads).unwrap()),
        ]
    };
    let (fused, reference) = (run(true), run(false));
    let names = ["y", "mean", "variance", "dx", "dgamma", "dbeta"];
    for ((name, a), b) in names.iter().zip(&fused).zip(&reference) {
        assert!(b.iter().any(|&v| v != 0.0), "{name}: a silent test");
        let d = distance(a, b);
        assert!(d < 2e-5, "{name} differs by {d}");
    }
}

#[test]
fn results_are_bit_identical_at_any_thread_count() {
    let device = Device::flex().autodiff();
    device.seed(4);
    let x = Tensor::<4>::random([8, 3, 9, 9], Distribution::Normal(1.0, 2.0), &device);
    let (gamma, beta) = (
        Tensor::<1>::ones([3], &device),
        Tensor::<1>::zeros([3], &device),
    );
    let run = |threads: usize| {
        on_threads(threads, || {
            let x = x.clone().require_grad();
            let out = batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-5);
            let grads = (out.output.clone() * out.output.clone()).sum().backward();
            (
                bits(&values(out.output.inner())),
                bits(&values(x.grad(&grads).unwrap())),
            )
        })
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
}
