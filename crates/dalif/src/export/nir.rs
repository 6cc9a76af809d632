//! NIR (Neuromorphic Intermediate Representation, neuromorphs/NIR 1.0) export: the layer
//! graph as the HDF5 file `nir.read` loads.
//!
//! Layout, as `nir.write` makes it: a root dataset `version` and a group `node` holding the
//! graph (`type = "NIRGraph"`, `edges` `[E, 2]` of node names, `nodes/<name>/` one group per
//! node with its `type` and fields, `metadata/`). Strings are variable-length UTF-8.
//!
//! Each DA-LIF layer becomes a NIR `LIF`, `tau dv/dt = (v_leak - v) + r I`, read with forward
//! Euler at step `dt`: `v <- (1 - dt/tau) v + (dt/tau) r I`. With
//! `tau = dt / (1 - beta)` and `r = alpha / (1 - beta)` that is `v <- beta v + alpha I`, the
//! DA-LIF charge; `v_leak = 0`, `v_reset = 0` (hard reset), `v_threshold = v_th`, all broadcast
//! to the layer's per-neuron shape. What NIR cannot say is refused: soft reset (NIR resets to
//! a value), max pooling (no NIR primitive), `beta >= 1` (no finite `tau`).

use super::ExportError;
use crate::graph::{LayerGraph, NeuronParams, Node, Op};
use crate::neuron::Reset;
use crate::run::write_atomic;
use hdf5_pure::{FileBuilder, GroupBuilder};
use std::path::Path;

/// The NIR version the files follow.
pub const NIR_VERSION: &str = "1.0.8";

/// How the export reads the network in continuous time.
#[derive(Clone, Debug, PartialEq)]
pub struct NirOptions {
    /// The time step, in seconds, of the forward-Euler reading (default 1e-4, as snnTorch
    /// and SpikingJelly export).
    pub dt: f64,
}

impl Default for NirOptions {
    fn default() -> Self {
        Self { dt: 1e-4 }
    }
}

/// A metadata value of the graph.
#[derive(Clone, Debug, PartialEq)]
pub enum Meta {
    Text(String),
    Number(f64),
}

/// The NIR file of `graph`, as bytes; `metadata` is added to the conventions dalif records
/// (discretisation, `dt`, reset, spike tie rule).
pub fn nir_bytes(
    graph: &LayerGraph,
    options: &NirOptions,
    metadata: &[(&str, Meta)],
) -> Result<Vec<u8>, ExportError> {
    if !(options.dt.is_finite() && options.dt > 0.0) {
        return Err(ExportError::Unsupported(format!(
            "a time step dt of {}: it must be positive",
            options.dt
        )));
    }
    let mut file = FileBuilder::new();
    string(file.create_dataset("version"), NIR_VERSION);
    let mut root = file.create_group("node");
    string(root.create_dataset("type"), "NIRGraph");
    let edges: Vec<&str> = graph
        .edges
        .iter()
        .flat_map(|&(a, b)| [graph.nodes[a].name.as_str(), graph.nodes[b].name.as_str()])
        .collect();
    root.create_dataset("edges")
        .with_vlen_strings(&edges)
        .with_shape(&[graph.edges.len() as u64, 2]);
    let mut nodes = root.create_group("nodes");
    for node in &graph.nodes {
        let mut group = nodes.create_group(&node.name);
        write_node(&mut group, node, options)?;
        nodes.add_group(group.finish());
    }
    root.add_group(nodes.finish());
    let mut meta = root.create_group("metadata");
    let conventions = [
        (
            "exporter",
            Meta::Text(format!("dalif {}", env!("CARGO_PKG_VERSION"))),
        ),
        ("dt", Meta::Number(options.dt)),
        (
            "discretisation",
            Meta::Text(
                "forward Euler at step dt: v <- (1 - dt/tau) v + (dt/tau) r I, which with \
                 tau = dt/(1 - beta) and r = alpha/(1 - beta) is DA-LIF's v <- beta v + alpha I"
                    .into(),
            ),
        ),
        (
            "reset",
            Meta::Text("hard: v <- v_reset (0) at the step of a spike".into()),
        ),
        (
            "spike_rule",
            Meta::Text(
                "a neuron fires when v >= v_threshold (NIR's LIF says v > v_threshold; the two \
                 differ only when v equals the threshold exactly)"
                    .into(),
            ),
        ),
        (
            "batch_norm",
            Meta::Text("folded into the convolution before it (running statistics)".into()),
        ),
    ];
    for (key, value) in conventions
        .iter()
        .map(|(k, v)| (*k, v))
        .chain(metadata.iter().map(|(k, v)| (*k, v)))
    {
        match value {
            Meta::Text(text) => string(meta.create_dataset(key), text),
            Meta::Number(x) => {
                meta.create_dataset(key)
                    .with_f64_data(&[*x])
                    .with_shape(&[]);
            }
        }
    }
    root.add_group(meta.finish());
    file.add_group(root.finish());
    file.finish()
        .map_err(|e| ExportError::Unsupported(format!("this graph in HDF5: {e}")))
}

/// Writes the NIR file of `graph` to `path`, atomically (a temporary file renamed into place).
pub fn write_nir(
    path: &Path,
    graph: &LayerGraph,
    options: &NirOptions,
    metadata: &[(&str, Meta)],
) -> Result<(), ExportError> {
    write_atomic(path, &nir_bytes(graph, options, metadata)?)?;
    Ok(())
}

fn string(dataset: &mut hdf5_pure::DatasetBuilder, value: &str) {
    dataset.with_vlen_strings(&[value]).with_shape(&[]);
}

fn ints(group: &mut GroupBuilder, name: &str, values: &[i64]) {
    group.create_dataset(name).with_i64_data(values);
}

fn int(group: &mut GroupBuilder, name: &str, value: i64) {
    group
        .create_dataset(name)
        .with_i64_data(&[value])
        .with_shape(&[]);
}

fn floats(group: &mut GroupBuilder, name: &str, values: &[f32], shape: &[usize]) {
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    group
        .create_dataset(name)
        .with_f32_data(values)
        .with_shape(&shape);
}

fn shape_i64(shape: &[usize]) -> Vec<i64> {
    shape.iter().map(|&d| d as i64).collect()
}

fn write_node(
    group: &mut GroupBuilder,
    node: &Node,
    options: &NirOptions,
) -> Result<(), ExportError> {
    let kind = match &node.op {
        Op::Input => {
            ints(group, "shape", &shape_i64(&node.output_shape));
            "Input"
        }
        Op::Output => {
            ints(group, "shape", &shape_i64(&node.output_shape));
            "Output"
        }
        Op::Conv2d {
            weight,
            weight_shape,
            bias,
            stride,
            padding,
        } => {
            floats(group, "weight", weight, weight_shape);
            floats(group, "bias", bias, &[bias.len()]);
            ints(group, "stride", &[*stride as i64; 2]);
            ints(group, "padding", &[*padding as i64; 2]);
            ints(group, "dilation", &[1, 1]);
            int(group, "groups", 1);
            ints(group, "input_shape", &shape_i64(&node.input_shape[1..]));
            "Conv2d"
        }
        Op::Affine {
            weight,
            weight_shape,
            bias,
        } => {
            floats(group, "weight", weight, weight_shape);
            match bias {
                Some(bias) => {
                    floats(group, "bias", bias, &[bias.len()]);
                    "Affine"
                }
                None => "Linear",
            }
        }
        Op::AvgPool2d { kernel, stride } => {
            ints(group, "kernel_size", &[*kernel as i64; 2]);
            ints(group, "stride", &[*stride as i64; 2]);
            ints(group, "padding", &[0, 0]);
            "AvgPool2d"
        }
        Op::MaxPool2d { .. } => {
            return Err(ExportError::Unsupported(format!(
                "max pooling (node '{}'): it has no NIR primitive. cifar-small and the \
                 ImageNet ResNets (resnet18, resnet34) pool by maximum; vggsnn, resnet19 and \
                 resnet20 export",
                node.name
            )));
        }
        Op::Flatten => {
            int(group, "start_dim", 0);
            int(group, "end_dim", -1);
            ints(group, "input_type", &shape_i64(&node.input_shape));
            "Flatten"
        }
        Op::Neuron(params) => {
            write_lif(group, &node.name, params, &node.output_shape, options.dt)?;
            "LIF"
        }
    };
    string(group.create_dataset("type"), kind);
    Ok(())
}

fn write_lif(
    group: &mut GroupBuilder,
    name: &str,
    p: &NeuronParams,
    shape: &[usize],
    dt: f64,
) -> Result<(), ExportError> {
    if p.reset != Reset::Hard {
        return Err(ExportError::Unsupported(format!(
            "the soft reset of layer '{name}' (v <- v - v_th): NIR's LIF resets to v_reset"
        )));
    }
    let n: usize = shape.iter().product();
    // Per-channel decays vary along dimension 0 of the per-neuron shape.
    let per_channel = n / shape[0];
    let decay = |values: &[f32], i: usize| {
        if values.len() == 1 {
            values[0] as f64
        } else {
            values[i / per_channel] as f64
        }
    };
    let (mut tau, mut r) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let (alpha, beta) = (decay(&p.alpha, i), decay(&p.beta, i));
        if beta >= 1.0 {
            return Err(ExportError::Unsupported(format!(
                "layer '{name}' with beta = {beta}: a LIF needs beta < 1 for a finite tau"
            )));
        }
        tau.push((dt / (1.0 - beta)) as f32);
        r.push((alpha / (1.0 - beta)) as f32);
    }
    floats(group, "tau", &tau, shape);
    floats(group, "r", &r, shape);
    floats(group, "v_leak", &vec![0.0; n], shape);
    floats(group, "v_threshold", &vec![p.v_th as f32; n], shape);
    floats(group, "v_reset", &vec![0.0; n], shape);
    Ok(())
}
