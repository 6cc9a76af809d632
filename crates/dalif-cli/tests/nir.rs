//! NIR export checked by the reference `nir` package: the exported files load with
//! `nir.read` with the right nodes, shapes, edges and decays, and a trained network simulated
//! from its NIR file (forward Euler, `tests/nir/check_nir.py`) spikes like dalif's own
//! forward pass. Needs a Python with `nir` and `numpy`: `$DALIF_PYTHON`, else `python3`
//! (`scripts/test` makes one).

use burn::tensor::{Device, Tensor, TensorData};
use dalif::export::{ExportError, NirOptions, write_nir};
use dalif::graph::{LayerGraph, Op};
use dalif::layers::SpikeMonitor;
use dalif::models::{ModelConfig, ModelKind, SpikingClassifier, init_seeded};
use dalif::neuron::Reset;
use dalif::run::{self, CheckpointKind, RunDir};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

const DT: f64 = 1e-4;

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dalif-nir-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

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
        Op::Flatten => "Flatten",
        Op::MaxPool2d { .. } => unreachable!("not exportable"),
    }
}

/// What `check_nir.py read` compares the file with.
fn expected(graph: &LayerGraph) -> serde_json::Value {
    let name = |i: usize| graph.nodes[i].name.clone();
    let nodes: Vec<_> = graph
        .nodes
        .iter()
        .map(|n| json!({"name": n.name, "type": nir_type(&n.op), "shape": n.output_shape}))
        .collect();
    let edges: Vec<_> = graph
        .edges
        .iter()
        .map(|&(a, b)| [name(a), name(b)])
        .collect();
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
    json!({"dt": DT, "nodes": nodes, "edges": edges, "neurons": neurons})
}

fn model(kind: ModelKind, cin: usize, size: usize) -> ModelConfig {
    ModelConfig::new(kind, cin, 10, [size, size])
}

#[test]
fn exported_graphs_load_in_nir_with_their_shapes_edges_and_decays() {
    let tmp = tempdir("read");
    let device = Device::flex();
    for (kind, size) in [
        (ModelKind::VggSnn, 32),
        (ModelKind::ResNet19, 12),
        (ModelKind::ResNet20, 16),
    ] {
        let network = init_seeded(&device, 3, || model(kind, 2, size).init(&device)).unwrap();
        let graph = network.graph(&[2, size, size], &device);
        assert_eq!(graph.neurons().len(), network.neurons().len());
        let path = tmp.join(format!("{kind}.nir"));
        write_nir(&path, &graph, &NirOptions { dt: DT }, &[]).unwrap();
        check("read", &path, &expected(&graph));
    }
    // Max pooling has no NIR primitive: refused, and no file is left behind.
    let network = init_seeded(&device, 3, || {
        model(ModelKind::CifarSmall, 3, 8).init(&device)
    })
    .unwrap();
    let path = tmp.join("cifar-small.nir");
    let err = write_nir(
        &path,
        &network.graph(&[3, 8, 8], &device),
        &NirOptions::default(),
        &[],
    )
    .unwrap_err();
    assert!(matches!(err, ExportError::Unsupported(_)), "{err}");
    assert!(err.to_string().contains("max pooling"), "{err}");
    assert!(!path.exists());
    // Neither has soft reset.
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
}

#[test]
fn a_trained_resnet20_spikes_the_same_when_its_nir_graph_is_simulated() {
    let tmp = tempdir("simulate");
    let cache = tmp.join("cache");
    let run_dir = tmp.join("run");
    let dalif = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_dalif"))
            .env("DALIF_CACHE_DIR", &cache)
            .args(args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{args:?}: {text}");
    };
    let run = run_dir.to_str().unwrap();
    dalif(&[
        "train",
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
        "--out",
        run,
    ]);
    let nir = tmp.join("resnet20.nir");
    dalif(&["export", run, nir.to_str().unwrap(), "--format", "nir"]);

    // dalif's own forward pass on the first test recording, every spike recorded.
    let device = Device::flex();
    let (dir, config) = RunDir::open(&run_dir).unwrap();
    let (_, test) = config.data.open(config.train.steps, &cache).unwrap();
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
    let [t, c, h, w] = sample.shape[..] else {
        panic!("event frames expected, got {:?}", sample.shape)
    };
    let input = Tensor::<5>::from_data(
        TensorData::new(sample.data.clone(), [t, 1, c, h, w]),
        &device,
    );
    let mut monitor = SpikeMonitor::recording();
    network.forward_monitored(input, &mut monitor);
    let trains = monitor.into_spike_trains();
    let graph = network.graph(&[c, h, w], &device);
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
    let reference = json!({
        "input": sample.data,
        "input_shape": sample.shape,
        "spikes": spikes,
        // float32 (dalif) and float64 (the simulation) round differently: a potential within
        // rounding of the threshold may fire in one and not the other.
        "tolerance": 0.01,
    });
    check("simulate", &nir, &reference);
}
