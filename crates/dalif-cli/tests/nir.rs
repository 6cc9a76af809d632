//! NIR export checked by the reference `nir` package: the exported files of every model load
//! with `nir.read` with the right nodes, shapes, edges and decays (max pools as a sum pool and
//! an OR unit), and networks simulated from their NIR files (forward Euler,
//! `tests/nir/check_nir.py`) spike like dalif's own forward pass and give its logits: a
//! trained ResNet-20 on event frames, the README's main flow (`dalif train`, cifar-small on
//! the digits, with two max pools, then `dalif export --format nir`), and a random ResNet-18
//! (its max pool is padded). Needs a Python with `nir` and `numpy`: `$DALIF_PYTHON`, else
//! `python3` (`scripts/test` makes one).

mod common;

use burn::nn::LinearConfig;
use burn::tensor::{Device, Tensor, TensorData};
use common::tempdir;
use dalif::export::{ExportError, NirOptions, or_unit_name, write_nir};
use dalif::graph::{GraphBuilder, LayerGraph, Op};
use dalif::layers::SpikeMonitor;
use dalif::layers::{Pool, Tracer};
use dalif::models::{ModelConfig, ModelKind, Network, SpikingClassifier, init_seeded};
use dalif::neuron::{Reset, SpikeFunction};
use dalif::run::{self, CheckpointKind, RunDir};
use dalif_data::rng::SplitMix64;
use serde_json::json;
use std::path::Path;
use std::process::Command;
use strum::VariantArray;

const DT: f64 = 1e-4;

/// Runs `check_nir.py mode nir payload` and fails the test with its output if it fails.
fn check(mode: &str, nir: &Path, payload: &serde_json::Value) {
    let json = nir.with_extension(format!("{mode}.json"));
    std::fs::write(&json, payload.to_string()).unwrap();
    let python = std::env::var("DALIF_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nir/check_nir.py");
    let out = Command::new(&python)
        .arg(&script)
        .args([mode, nir.to_str().unwrap(), json.to_str().unwrap()])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}; scripts/test sets up a Python"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{python} {} {mode}:\n{text}\n(the `nir` and `numpy` packages are needed: \
         scripts/test installs them)",
        script.display()
    );
    println!("{text}");
}

fn nir_type(op: &Op) -> &'static str {
    match op {
        Op::Input => "Input",
        Op::Output => "Output",
        Op::Conv2d { .. } => "Conv2d",
        Op::Affine { bias: Some(_), .. } => "Affine",
        Op::Affine { bias: None, .. } => "Linear",
        Op::Neuron(_) => "LIF",
        Op::AvgPool2d { .. } => "AvgPool2d",
        // followed by its OR unit, a LIF
        Op::MaxPool2d { .. } => "SumPool2d",
        Op::Flatten => "Flatten",
    }
}

/// What `check_nir.py read` compares the file with: a max pool `p` is the sum pool `p` and
/// the OR unit `p.or` (a LIF), and what read `p` reads `p.or`.
fn expected(graph: &LayerGraph) -> serde_json::Value {
    let is_pool = |i: usize| matches!(graph.nodes[i].op, Op::MaxPool2d { .. });
    let name = |i: usize| graph.nodes[i].name.clone();
    let out_name = |i: usize| {
        if is_pool(i) {
            or_unit_name(&name(i))
        } else {
            name(i)
        }
    };
    let mut nodes: Vec<_> = graph
        .nodes
        .iter()
        .map(|n| json!({"name": n.name, "type": nir_type(&n.op), "shape": n.output_shape}))
        .collect();
    let mut edges: Vec<_> = graph
        .edges
        .iter()
        .map(|&(a, b)| [out_name(a), name(b)])
        .collect();
    let mut or_units = serde_json::Map::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        if let Op::MaxPool2d {
            kernel,
            stride,
            padding,
        } = node.op
        {
            let unit = or_unit_name(&node.name);
            nodes.push(json!({"name": unit, "type": "LIF", "shape": node.output_shape}));
            edges.push([name(i), unit.clone()]);
            or_units.insert(
                unit,
                json!({"pool": node.name, "kernel": kernel, "stride": stride, "padding": padding}),
            );
        }
    }
    let neurons: serde_json::Map<_, _> = graph
        .nodes
        .iter()
        .filter_map(|n| match &n.op {
            Op::Neuron(p) => Some((
                n.name.clone(),
                json!({"alpha": p.alpha, "beta": p.beta, "v_th": p.v_th}),
            )),
            _ => None,
        })
        .collect();
    json!({"dt": DT, "nodes": nodes, "edges": edges, "neurons": neurons, "or_units": or_units})
}

fn model(kind: ModelKind, cin: usize, size: usize) -> ModelConfig {
    ModelConfig::new(kind, cin, 10, [size, size])
}

#[test]
fn exported_graphs_of_every_model_load_in_nir_with_their_shapes_edges_and_decays() {
    let tmp = tempdir("nir-read");
    let device = Device::flex();
    for &kind in ModelKind::VARIANTS {
        let (cin, size) = match kind {
            ModelKind::CifarSmall => (3, 8),
            ModelKind::ResNet19 => (2, 12),
            ModelKind::VggSnn => (2, 32),
            ModelKind::ResNet20 | ModelKind::ResNet18 | ModelKind::ResNet34 => (2, 16),
        };
        let network = init_seeded(&device, 3, || model(kind, cin, size).init(&device)).unwrap();
        let graph = network.graph(&[cin, size, size], &device);
        assert_eq!(graph.neurons().len(), network.neurons().len());
        let path = tmp.join(format!("{kind}.nir"));
        write_nir(&path, &graph, &NirOptions { dt: DT }, &[]).unwrap();
        check("read", &path, &expected(&graph));
        std::fs::remove_file(&path).unwrap();
    }

    // A max pool of real values (here the network input) is not the OR of its window:
    // refused, and no file is left behind.
    let path = tmp.join("refused.nir");
    let (mut g, x) = GraphBuilder::new(&[1, 4, 4], &device);
    let x = g.max_pool("pool", Pool::new(2, 2), x);
    let x = g.flatten("flatten", x);
    let x = g.linear("fc", &LinearConfig::new(4, 2).init(&device), x);
    let err = write_nir(&path, &g.finish(x), &NirOptions::default(), &[]).unwrap_err();
    assert!(matches!(err, ExportError::Unsupported(_)), "{err}");
    assert!(
        err.to_string().contains("max pooling 'pool' of 'input'"),
        "{err}"
    );
    assert!(!path.exists());
    // Nor is one of smooth spikes, and neither are the smooth spikes themselves.
    let smooth = |kind, size| {
        let mut graph = init_seeded(&device, 3, || model(kind, 2, size).init(&device))
            .unwrap()
            .graph(&[2, size, size], &device);
        for node in &mut graph.nodes {
            if let Op::Neuron(p) = &mut node.op {
                p.spike = SpikeFunction::Smooth;
            }
        }
        write_nir(&path, &graph, &NirOptions::default(), &[]).unwrap_err()
    };
    let err = smooth(ModelKind::CifarSmall, 8);
    assert!(
        err.to_string()
            .contains("max pooling 'pool.1' of 'layers.1.neuron'"),
        "{err}"
    );
    let err = smooth(ModelKind::VggSnn, 16);
    assert!(err.to_string().contains("smooth spikes"), "{err}");
    // No soft reset.
    let mut graph = init_seeded(&device, 3, || model(ModelKind::VggSnn, 2, 16).init(&device))
        .unwrap()
        .graph(&[2, 16, 16], &device);
    for node in &mut graph.nodes {
        if let Op::Neuron(p) = &mut node.op {
            p.reset = Reset::Soft;
        }
    }
    let err = write_nir(&path, &graph, &NirOptions::default(), &[]).unwrap_err();
    assert!(err.to_string().contains("soft reset"), "{err}");
    let err = write_nir(&path, &graph, &NirOptions { dt: 0.0 }, &[]).unwrap_err();
    assert!(err.to_string().contains("dt"), "{err}");
    assert!(!path.exists());
}

/// Runs the dalif binary with its cache in `cache`, failing the test if it fails.
fn dalif(cache: &Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_dalif"))
        .env("DALIF_CACHE_DIR", cache)
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{args:?}: {text}");
}

/// Trains with `train_args` into `tmp/run`, exports the best checkpoint to `tmp/net.nir` with
/// `dalif export`, and has `check_nir.py simulate` run it on the first test sample (an image
/// is repeated over the run's T steps, as training does).
fn train_export_simulate(tmp: &Path, train_args: &[&str]) {
    let cache = tmp.join("cache");
    let run_dir = tmp.join("run");
    let run = run_dir.to_str().unwrap();
    let args: Vec<&str> = ["train"]
        .into_iter()
        .chain(train_args.iter().copied())
        .chain(["--out", run])
        .collect();
    dalif(&cache, &args);
    let nir = tmp.join("net.nir");
    dalif(
        &cache,
        &["export", run, nir.to_str().unwrap(), "--format", "nir"],
    );

    let device = Device::flex();
    let (dir, config) = RunDir::open(&run_dir).unwrap();
    let steps = config.train.steps;
    let (_, test) = config.data.open(steps, &cache).unwrap();
    let (network, _) = run::load_network(
        &dir,
        &config,
        CheckpointKind::Best,
        run::zoo,
        test.as_ref(),
        &device,
    )
    .unwrap();
    let sample = test.get(0).unwrap();
    let (frames, shape) = match sample.shape[..] {
        [t, c, h, w] => (sample.data, [t, c, h, w]),
        [c, h, w] => (sample.data.repeat(steps), [steps, c, h, w]),
        ref other => panic!("images or event frames expected, got {other:?}"),
    };
    simulate(&network, &frames, shape, &nir, &device);
}

/// dalif's own forward pass of `network` on `frames` `[T, C, H, W]` (batch of one), every
/// spike and the per-step logits recorded, against the simulation of the NIR file `nir` by
/// `check_nir.py simulate`: at most 1% of the spikes may differ, and at every step where
/// none does the logits agree to 1e-4 (relative and absolute).
fn simulate(network: &Network, frames: &[f32], shape: [usize; 4], nir: &Path, device: &Device) {
    let [t, c, h, w] = shape;
    let input = Tensor::<5>::from_data(TensorData::new(frames.to_vec(), [t, 1, c, h, w]), device);
    let mut monitor = SpikeMonitor::recording();
    let logits = network.forward_monitored(input, &mut monitor);
    let logits = logits
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap();
    let trains = monitor.into_spike_trains();
    let graph = network.graph(&[c, h, w], device);
    let names: Vec<_> = graph
        .neurons()
        .iter()
        .map(|&i| graph.nodes[i].name.clone())
        .collect();
    assert_eq!(names.len(), trains.len());
    let spikes: serde_json::Map<_, _> = names
        .into_iter()
        .zip(trains)
        .map(|(name, train)| {
            // [T, B = 1, ...] -> [T, ...]
            let shape: Vec<usize> = [train.shape[0]]
                .into_iter()
                .chain(train.shape[2..].iter().copied())
                .collect();
            (name, json!({"shape": shape, "values": train.values}))
        })
        .collect();
    let classes = logits.len() / t;
    let reference = json!({
        "input": frames,
        "input_shape": shape,
        "spikes": spikes,
        "logits": {"shape": [t, classes], "values": logits},
        // float32 (dalif) and float64 (the simulation) round differently: a potential within
        // rounding of the threshold may fire in one and not the other.
        "tolerance": 0.01,
        "logits_tolerance": 1e-4,
    });
    check("simulate", nir, &reference);
}

#[test]
fn a_trained_resnet20_spikes_the_same_when_its_nir_graph_is_simulated() {
    let tmp = tempdir("nir-simulate");
    train_export_simulate(
        &tmp,
        &[
            "--data",
            "synthetic-events",
            "--model",
            "resnet20",
            "--steps",
            "4",
            "--epochs",
            "2",
            "--batch-size",
            "16",
        ],
    );
}

/// The README's main flow: `dalif train` (cifar-small, two max pools, on the digits; two
/// epochs instead of five, already past 90% on the test set: after one, the deeper layers
/// are still silent) then `dalif export RUN net.nir --format nir`.
#[test]
fn the_default_trained_cifar_small_exports_and_its_max_pools_simulate_exactly() {
    let tmp = tempdir("nir-simulate-default");
    train_export_simulate(&tmp, &["--epochs", "2"]);
}

/// ResNet-18's stem pools 3x3 windows with stride 2 and padding 1 (random weights).
#[test]
fn a_padded_max_pool_simulates_exactly() {
    let tmp = tempdir("nir-simulate-resnet18");
    let device = Device::flex();
    let (t, c, size) = (4, 2, 32);
    let network = init_seeded(&device, 5, || {
        model(ModelKind::ResNet18, c, size).init(&device)
    })
    .unwrap();
    let path = tmp.join("resnet18.nir");
    write_nir(
        &path,
        &network.graph(&[c, size, size], &device),
        &NirOptions { dt: DT },
        &[],
    )
    .unwrap();
    let mut rng = SplitMix64::new(7);
    let frames: Vec<f32> = (0..t * c * size * size)
        .map(|_| (4.0 * rng.unit()) as f32)
        .collect();
    simulate(&network, &frames, [t, c, size, size], &path, &device);
}
