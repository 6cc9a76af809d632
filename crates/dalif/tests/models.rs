//! The model zoo: parameter counts against the figures computed by hand from the layer tables,
//! output shapes, and gradients reaching every neuron.

use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};
use dalif::layers::NeuronKind;
use dalif::models::{CifarSmallConfig, ResNet19Config, VggSnnConfig, learnable_params};
use dalif::neuron::DecayParam;

fn cifar_small(neuron: NeuronKind) -> CifarSmallConfig {
    CifarSmallConfig {
        neuron,
        param: DecayParam::Tanh,
        channels_in: 3,
        classes: 10,
    }
}

#[test]
fn cifar_small_has_the_parameters_of_its_layer_table() {
    let device = Device::flex().autodiff();
    // workloads.md section C: 964,170 + 2 per neuron layer (4 layers).
    for (kind, want) in [
        (NeuronKind::Dalif, 964_178),
        (NeuronKind::DalifSpatialOnly, 964_174),
        (NeuronKind::DalifTemporalOnly, 964_174),
        (NeuronKind::Plif, 964_174),
        (NeuronKind::Lif, 964_170),
    ] {
        let config = cifar_small(kind);
        assert_eq!(config.num_params(), want, "{kind}");
        let model = config.init(&device).unwrap();
        assert_eq!(learnable_params(&model), want, "{kind}");
        // burn's own count adds the batch norms' running mean and variance (2 x 704).
        assert_eq!(model.num_params(), want + 2 * 704, "{kind}");
    }
}

#[test]
fn cifar_small_gives_per_step_logits_and_trains_every_neuron() {
    let device = Device::flex().autodiff();
    let model = cifar_small(NeuronKind::Dalif).init(&device).unwrap();
    let x = Tensor::<5>::random([2, 3, 3, 16, 16], Distribution::Normal(0.0, 2.0), &device);
    let logits = model.forward(x);
    assert_eq!(logits.dims(), [2, 3, 10]);
    let grads = logits.mean().backward();
    for (i, layer) in model.layers.iter().enumerate() {
        let w_a = layer.neuron.w_a.as_ref().unwrap().val();
        assert!(
            w_a.grad(&grads).is_some(),
            "layer {i}'s alpha gets a gradient"
        );
    }
}

#[test]
fn resnet19_has_the_parameters_of_its_layer_table() {
    let device = Device::flex().autodiff();
    // workloads.md section R: 12,697,994 + 2 per neuron layer (18 layers).
    for (kind, want) in [
        (NeuronKind::Dalif, 12_698_030),
        (NeuronKind::Lif, 12_697_994),
    ] {
        let config = ResNet19Config {
            neuron: kind,
            param: DecayParam::Tanh,
            channels_in: 3,
            classes: 10,
        };
        assert_eq!(config.num_params(), want, "{kind}");
        assert_eq!(
            learnable_params(&config.init(&device).unwrap()),
            want,
            "{kind}"
        );
    }
}

#[test]
fn resnet19_runs_on_event_frames() {
    let device = Device::flex();
    let config = ResNet19Config {
        neuron: NeuronKind::Dalif,
        param: DecayParam::Sigmoid,
        channels_in: 2,
        classes: 11,
    };
    let model = config.init(&device).unwrap();
    let x = Tensor::<5>::random([2, 1, 2, 8, 8], Distribution::Uniform(0.0, 3.0), &device);
    assert_eq!(model.forward(x).dims(), [2, 1, 11]);
}

fn vggsnn(neuron: NeuronKind, input_size: usize) -> VggSnnConfig {
    VggSnnConfig {
        neuron,
        param: DecayParam::Tanh,
        channels_in: 2,
        classes: 10,
        input_size,
    }
}

#[test]
fn vggsnn_has_the_parameters_of_its_layer_table() {
    // Convolutions 2*64 + 64*128 + 128*256 + 256*256 + 256*512 + 3 * 512*512, times 9:
    // 9,217,152; batch norms 2 * 2,752 = 5,504; classifier on 512 x 3 x 3 at 48x48:
    // 4,608 * 10 + 10 = 46,090; 8 neuron layers.
    let device = Device::flex().autodiff();
    for (kind, want) in [
        (NeuronKind::Dalif, 9_268_746 + 16),
        (NeuronKind::Lif, 9_268_746),
    ] {
        let config = vggsnn(kind, 48);
        assert_eq!(config.num_params(), want, "{kind}");
        assert_eq!(
            learnable_params(&config.init(&device).unwrap()),
            want,
            "{kind}"
        );
    }
    assert_eq!(
        vggsnn(NeuronKind::Lif, 64).num_params(),
        9_268_746 + 512 * 7 * 10
    );
}

#[test]
fn vggsnn_checks_its_input_size_and_runs() {
    let device = Device::flex();
    let err = vggsnn(NeuronKind::Dalif, 50).init(&device).unwrap_err();
    assert!(err.to_string().contains("multiple of 16"), "{err}");
    let model = vggsnn(NeuronKind::Plif, 16).init(&device).unwrap();
    let x = Tensor::<5>::random([3, 2, 2, 16, 16], Distribution::Uniform(0.0, 2.0), &device);
    assert_eq!(model.forward(x).dims(), [3, 2, 10]);
}
