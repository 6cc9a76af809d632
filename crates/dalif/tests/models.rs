//! The model zoo: parameter counts against the figures computed by hand from the layer tables,
//! output shapes, and gradients reaching every neuron.

use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};
use dalif::layers::{InitScale, SpikeMonitor};
use dalif::models::{
    CifarSmallConfig, ModelConfig, ModelKind, SpikingClassifier, VggSnnConfig, learnable_params,
};
use dalif::neuron::{DecayParam, NeuronKind};
use strum::VariantArray;

fn cifar_small(neuron: NeuronKind) -> CifarSmallConfig {
    CifarSmallConfig {
        neuron: neuron.config(DecayParam::Tanh),
        init_scale: InitScale::default(),
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
        let model = cifar_small(kind).init(&device).unwrap();
        assert_eq!(learnable_params(&model), want, "{kind}");
        // burn's own count adds the batch norms' running mean and variance (2 x 704) and
        // their count of tracked batches (one per batch norm).
        assert_eq!(model.num_params(), want + 2 * 704 + 4, "{kind}");
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
    // Every decay of every layer gets a finite, non-zero gradient (the layer tests check
    // the values against finite differences).
    for (i, layer) in model.layers.iter().enumerate() {
        for (name, w) in [("alpha", &layer.neuron.w_a), ("beta", &layer.neuron.w_b)] {
            let grad = w.as_ref().unwrap().val().grad(&grads);
            let grad = grad.unwrap_or_else(|| panic!("layer {i}'s {name} gets no gradient"));
            let g = grad
                .into_data()
                .convert::<f64>()
                .try_to_vec::<f64>()
                .unwrap();
            assert!(
                g.iter().all(|v| v.is_finite()) && g.iter().any(|&v| v != 0.0),
                "layer {i}'s {name} gradient {g:?}"
            );
        }
    }
}

fn model(
    kind: ModelKind,
    neuron: NeuronKind,
    cin: usize,
    classes: usize,
    size: usize,
) -> ModelConfig {
    ModelConfig::new(kind, cin, classes, [size, size]).with_neuron(neuron)
}

#[test]
fn resnets_have_the_parameters_of_their_layer_tables() {
    let device = Device::flex().autodiff();
    // ResNet-19: workloads.md section R, 12,697,994 with LIF, 18 neuron layers.
    // ResNet-18/34 (3 -> 1000): torchvision's 11,689,512 and 21,797,672 (same convolutions
    // without bias, batch norms, 1x1 shortcuts and classifier), 17 and 33 neuron layers.
    // ResNet-20 (3 -> 10, 32x32): stem 3*64*9 + 2*64*9*64 + 3*128 = 75,840; the four stages of
    // ResNet-18 (11,689,512 - 9,536 stem - 513,000 classifier = 11,166,976); classifier
    // 512*2*2*10 = 20,480 without bias: 11,263,296, 19 neuron layers.
    for (kind, classes, size, lif, layers) in [
        (ModelKind::ResNet19, 10, 32, 12_697_994, 18),
        (ModelKind::ResNet18, 1000, 64, 11_689_512, 17),
        (ModelKind::ResNet34, 1000, 64, 21_797_672, 33),
        (ModelKind::ResNet20, 10, 32, 11_263_296, 19),
    ] {
        for (neuron, extra) in [(NeuronKind::Lif, 0), (NeuronKind::Dalif, 2 * layers)] {
            let net = model(kind, neuron, 3, classes, size).init(&device).unwrap();
            assert_eq!(learnable_params(&net), lif + extra, "{kind} {neuron}");
            assert_eq!(net.neurons().len(), layers, "{kind}");
        }
    }
}

#[test]
fn dalif_adds_two_parameters_per_spiking_layer_in_every_model() {
    let device = Device::flex().autodiff();
    for &kind in ModelKind::VARIANTS {
        let size = 48;
        let lif = model(kind, NeuronKind::Lif, 2, 10, size);
        let dalif = model(kind, NeuronKind::Dalif, 2, 10, size);
        let dalif = dalif.init(&device).unwrap();
        let lif = learnable_params(&lif.init(&device).unwrap());
        let layers = dalif.neurons().len();
        assert_eq!(learnable_params(&dalif) - lif, 2 * layers, "{kind}");
    }
}

#[test]
fn per_channel_decays_add_two_parameters_per_channel_of_every_spiking_layer() {
    let device = Device::flex().autodiff();
    let mut config = model(ModelKind::CifarSmall, NeuronKind::Dalif, 3, 10, 16);
    let per_layer = learnable_params(&config.init(&device).unwrap());
    config.spec.per_channel = true;
    let net = config.init(&device).unwrap();
    // Widths 64, 128, 256, 256: 2 decays per channel instead of 2 per layer.
    assert_eq!(
        learnable_params(&net),
        per_layer - 2 * 4 + 2 * (64 + 128 + 256 + 256)
    );
    let x = Tensor::<5>::random([2, 1, 3, 16, 16], Distribution::Normal(0.0, 2.0), &device);
    assert_eq!(net.forward(x).dims(), [2, 1, 10]);
}

#[test]
fn resnets_run_on_event_frames_and_report_every_firing_rate() {
    let device = Device::flex();
    for kind in [
        ModelKind::ResNet19,
        ModelKind::ResNet20,
        ModelKind::ResNet18,
    ] {
        let net = model(kind, NeuronKind::Dalif, 2, 11, 16)
            .init(&device)
            .unwrap();
        let x = Tensor::<5>::random([2, 1, 2, 16, 16], Distribution::Uniform(0.0, 3.0), &device);
        let mut monitor = SpikeMonitor::on();
        assert_eq!(
            net.forward_monitored(x, &mut monitor).dims(),
            [2, 1, 11],
            "{kind}"
        );
        let rates = monitor.into_rates();
        assert_eq!(rates.len(), net.neurons().len(), "{kind}");
        assert!(
            rates.iter().all(|r| (0.0..=1.0).contains(r)),
            "{kind}: {rates:?}"
        );
        assert!(rates[0] > 0.0, "{kind}: the first layer fires: {rates:?}");
    }
    let err = model(ModelKind::ResNet20, NeuronKind::Dalif, 2, 10, 40)
        .init(&device)
        .unwrap_err();
    assert!(err.to_string().contains("multiples of 16"), "{err}");
}

#[test]
fn model_names_parse_and_unknown_ones_are_refused() {
    for &kind in ModelKind::VARIANTS {
        assert_eq!(kind.name().parse::<ModelKind>(), Ok(kind));
    }
    assert_eq!(
        "cifar_small".parse::<ModelKind>(),
        Ok(ModelKind::CifarSmall)
    );
    assert_eq!(
        "CIFAR_Small".parse::<ModelKind>(),
        Ok(ModelKind::CifarSmall)
    );
    assert_eq!("ResNet19".parse::<ModelKind>(), Ok(ModelKind::ResNet19));
    let err = "resnet50".parse::<ModelKind>().unwrap_err().to_string();
    assert!(
        err.contains("unknown model 'resnet50'") && err.contains("vggsnn"),
        "{err}"
    );
}

fn vggsnn(neuron: NeuronKind, input_size: usize) -> VggSnnConfig {
    VggSnnConfig {
        neuron: neuron.config(DecayParam::Tanh),
        init_scale: InitScale::default(),
        channels_in: 2,
        classes: 10,
        input_size: [input_size, input_size],
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
        assert_eq!(
            learnable_params(&config.init(&device).unwrap()),
            want,
            "{kind}"
        );
    }
    assert_eq!(
        learnable_params(&vggsnn(NeuronKind::Lif, 64).init(&device).unwrap()),
        9_268_746 + 512 * 7 * 10
    );
}

#[test]
fn vggsnn_checks_its_input_size_and_runs() {
    let device = Device::flex();
    let err = vggsnn(NeuronKind::Dalif, 50).init(&device).unwrap_err();
    assert!(err.to_string().contains("multiples of 16"), "{err}");
    let model = vggsnn(NeuronKind::Plif, 16).init(&device).unwrap();
    let x = Tensor::<5>::random([3, 2, 2, 16, 16], Distribution::Uniform(0.0, 2.0), &device);
    assert_eq!(SpikingClassifier::forward(&model, x).dims(), [3, 2, 10]);
}

#[test]
fn model_names_are_the_same_in_config_files() {
    for &kind in ModelKind::VARIANTS {
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(json, format!("\"{}\"", kind.name()));
        assert_eq!(serde_json::from_str::<ModelKind>(&json).unwrap(), kind);
    }
}
