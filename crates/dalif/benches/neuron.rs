//! Criterion benchmark of the DA-LIF operation on the shapes of workload N
//! (`shared/peers/workloads.md`): fused Flex kernel vs tensor-op fallback, forward alone and
//! forward + backward from an upstream gradient.

use burn::backend::Flex;
use burn::tensor::{Device, Distribution, Tensor};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dalif::neuron::op::{DaLifOp, Implementation};
use dalif::neuron::{Reset, SpikeFunction, Surrogate};

// As in the `dalif` binary: glibc's malloc would page-fault every large output in again.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    let op = DaLifOp {
        v_th: 1.0,
        reset: Reset::Hard,
        detach_reset: false,
        surrogate: Surrogate::Sigmoid { alpha: 4.0 },
        spike: SpikeFunction::Heaviside,
    };
    let device = Device::flex();
    device.seed(1234);
    let prim = |t: Tensor<2>| t.try_into_primitive::<Flex>().unwrap();
    for (name, t, n) in [("N-conv", 4, 32 * 128 * 16 * 16), ("N-fc", 8, 64 * 4096)] {
        let x = prim(Tensor::random(
            [t, n],
            Distribution::Normal(1.0, 1.0),
            &device,
        ));
        let g = prim(Tensor::random(
            [t, n],
            Distribution::Normal(0.0, 1.0),
            &device,
        ));
        let half = Tensor::<1>::full([1], 0.5, &device)
            .try_into_primitive::<Flex>()
            .unwrap();
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements((t * n) as u64));
        group.sample_size(20);
        for imp in [
            Implementation::<Flex>::native(),
            Implementation::<Flex>::fallback(),
        ] {
            group.bench_function(BenchmarkId::new("forward", imp.name), |b| {
                b.iter(|| (imp.forward)(x.clone(), half.clone(), half.clone(), op))
            });
            group.bench_function(BenchmarkId::new("forward+backward", imp.name), |b| {
                b.iter(|| imp.forward_backward(&x, &half, &half, &g, op))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
