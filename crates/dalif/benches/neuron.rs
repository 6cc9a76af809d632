//! Criterion benchmark of the DA-LIF operation on the shapes of workload N
//! (`shared/peers/workloads.md`): fused Flex kernel vs tensor-op fallback, forward alone and
//! forward + backward from an upstream gradient.

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::tensor::{Device, Distribution, Tensor};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dalif::neuron::op::{DaLifBackend, DaLifOp, DaLifTrace, fallback};
use dalif::neuron::{Reset, SpikeFunction, Surrogate};

// As in the `dalif` binary: glibc's malloc would page-fault every large output in again.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Forward = fn(FlexTensor, FlexTensor, FlexTensor, DaLifOp) -> DaLifTrace<Flex>;
type Backward = fn(
    FlexTensor,
    FlexTensor,
    FlexTensor,
    FlexTensor,
    FlexTensor,
    DaLifOp,
) -> (FlexTensor, FlexTensor, FlexTensor);

const IMPLS: [(&str, Forward, Backward); 2] = [
    (
        "fused",
        <Flex as DaLifBackend>::dalif_forward,
        <Flex as DaLifBackend>::dalif_backward,
    ),
    (
        "fallback",
        fallback::forward::<Flex>,
        fallback::backward::<Flex>,
    ),
];

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
        for (imp, forward, backward) in IMPLS {
            group.bench_function(BenchmarkId::new("forward", imp), |b| {
                b.iter(|| forward(x.clone(), half.clone(), half.clone(), op))
            });
            group.bench_function(BenchmarkId::new("forward+backward", imp), |b| {
                b.iter(|| {
                    let out = forward(x.clone(), half.clone(), half.clone(), op);
                    backward(
                        x.clone(),
                        out.potential,
                        half.clone(),
                        half.clone(),
                        g.clone(),
                        op,
                    )
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
