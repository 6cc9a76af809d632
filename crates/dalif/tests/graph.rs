//! The layer graph read out of a network: batch norm folded exactly, shapes and operation
//! counts as the layer tables give them, and the energy arithmetic of the paper.

use burn::module::Module;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use dalif::analysis::energy::{Drive, EnergyModel, costs};
use dalif::graph::Op;
use dalif::layers::{ConvBnConfig, Tracer};
use dalif::models::{ModelConfig, ModelKind, SpikingClassifier, init_seeded};

fn model(kind: ModelKind, cin: usize, size: usize) -> ModelConfig {
    ModelConfig::new(kind, cin, 10, [size, size])
}

#[test]
fn folded_batch_norm_gives_the_layer_output_of_inference() {
    let device = Device::flex().autodiff();
    let layer = init_seeded(&device, 5, || {
        Ok::<_, ()>(ConvBnConfig::new(3, 6, 3, 2).init(&device))
    })
    .unwrap();
    // Training-mode passes move the running statistics away from (0, 1).
    for _ in 0..3 {
        let x = Tensor::<5>::random([2, 4, 3, 9, 9], Distribution::Normal(1.0, 2.0), &device);
        let _ = layer.forward(x);
    }
    let layer = layer.valid();
    let plain = Device::flex();
    let x = Tensor::<5>::random([1, 2, 3, 9, 9], Distribution::Normal(0.5, 1.5), &plain);
    let want = layer.forward(x.clone());
    let (mut g, input) = dalif::graph::GraphBuilder::new(&[3, 9, 9], &plain);
    let conv = g.conv_bn("conv", &layer, input);
    let graph = g.finish(conv.clone());
    let node = &graph.nodes[conv[0]];
    assert_eq!(node.output_shape, [6, 5, 5]);
    let Op::Conv2d {
        weight,
        weight_shape,
        bias,
        stride,
        padding,
    } = &node.op
    else {
        panic!("a convolution")
    };
    let weight = Tensor::<4>::from_data(TensorData::new(weight.clone(), *weight_shape), &plain);
    let bias = Tensor::<1>::from_data(TensorData::new(bias.clone(), [6]), &plain);
    let options = ConvOptions::new([*stride; 2], [*padding; 2], [1, 1], 1);
    let got = conv2d(x.reshape([2, 3, 9, 9]), weight, Some(bias), options);
    let (got, want) = (
        got.into_data().try_to_vec::<f32>().unwrap(),
        want.into_data().try_to_vec::<f32>().unwrap(),
    );
    assert!(
        got.iter().chain(&want).all(|v| v.is_finite()),
        "a NaN or infinite output"
    );
    let worst = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "folded conv differs by {worst}");
}

#[test]
fn graphs_count_the_operations_of_the_layer_tables_and_the_paper_energy() {
    let device = Device::flex();
    let network = init_seeded(&device, 1, || {
        model(ModelKind::CifarSmall, 3, 32).init(&device)
    })
    .unwrap();
    let graph = network.graph(&[3, 32, 32], &device);
    // workloads.md C: convs 3->64 (32x32), 64->128 (32x32), pool, 128->256 (16x16), pool,
    // 256->256 (8x8), GAP, fc 256->10.
    let flops: Vec<u64> = graph
        .nodes
        .iter()
        .map(|n| n.macs())
        .filter(|&m| m > 0)
        .collect();
    assert_eq!(
        flops,
        [1_769_472, 75_497_472, 75_497_472, 37_748_736, 2_560]
    );
    assert_eq!(graph.neurons().len(), 4);
    assert_eq!(graph.nodes.last().unwrap().output_shape, [10]);

    let rates = [0.1, 0.2, 0.3, 0.4];
    let energy = EnergyModel::default();
    let c = costs(&graph, &rates, 4, true, &energy);
    // The first layer reads the image: MACs, once for a static image.
    assert_eq!(c.layers[0].drive, Drive::Real);
    assert_eq!((c.layers[0].macs, c.layers[0].sops), (1_769_472.0, 0.0));
    // The others read spikes through pooling: SOPs = rate of the layer before * T * FLOPs.
    for (k, layer) in c.layers[1..].iter().enumerate() {
        assert_eq!(layer.drive, Drive::Spikes(rates[k]));
        let want = rates[k] * 4.0 * flops[k + 1] as f64;
        assert!((layer.sops - want).abs() < 1e-6 * want, "{}", layer.name);
    }
    let want = 4.6 * c.macs + 0.9 * c.sops;
    assert!((c.energy - want).abs() < 1e-9 * want);
    assert_eq!(c.ann_macs, flops.iter().sum::<u64>() as f64);
    assert!((c.ann_energy - 4.6 * c.ann_macs).abs() < 1e-6);
    // Event frames differ at every step: the first layer runs T times.
    let events = costs(&graph, &rates, 4, false, &energy);
    assert_eq!(events.layers[0].macs, 4.0 * 1_769_472.0);
    assert_eq!(EnergyModel::preset("45nm-fp32").unwrap(), energy);
    assert!(
        EnergyModel::preset("7nm")
            .unwrap_err()
            .to_string()
            .contains("45nm-int8")
    );
}

#[test]
fn residual_blocks_sum_their_branches_into_the_second_neuron() {
    let device = Device::flex();
    let network = init_seeded(&device, 2, || {
        model(ModelKind::ResNet20, 2, 16).init(&device)
    })
    .unwrap();
    let graph = network.graph(&[2, 16, 16], &device);
    let id = |name: &str| graph.nodes.iter().position(|n| n.name == name).unwrap();
    // Identity shortcut: the block input itself; projection: a 1x1 convolution.
    let mut inputs = graph.inputs(id("blocks.0.neuron2"));
    inputs.sort();
    assert_eq!(inputs, [id("stem_pool"), id("blocks.0.conv2")]);
    let mut inputs = graph.inputs(id("blocks.2.neuron2"));
    inputs.sort();
    assert_eq!(inputs, [id("blocks.2.conv2"), id("blocks.2.shortcut")]);
    assert_eq!(
        graph.nodes[id("blocks.2.shortcut")].output_shape,
        [128, 4, 4]
    );
    assert_eq!(graph.neurons().len(), 19);
    assert_eq!(graph.nodes[id("flatten")].output_shape, [512]);
}
