//! NIR (Neuromorphic Intermediate Representation, neuromorphs/NIR 1.0) export: the layer
//! graph as the HDF5 file `nir.read` loads.
//!
//! Layout, as `nir.write` makes it: a root dataset `version` and a group `node` holding the
//! graph (`type = "NIRGraph"`, `edges` `[E, 2]` of node names, `nodes/<name>/` one group per
//! node with its `type` and fields, `metadata/`). Strings are variable-length UTF-8.
//!
//! Each DA-LIF layer becomes a NIR `LIF`, `tau dv/dt = (v_leak - v) + r I`, read with forward
//! Euler at step `dt`: `v <- (1 - dt/tau) v + (dt/tau) (v_leak + r I)`. With
//! `tau = dt / (1 - beta)` and `r = alpha / (1 - beta)` that is `v <- beta v + alpha I`, the
//! DA-LIF charge; `v_leak = 0`, `v_reset = 0` (hard reset), `v_threshold = v_th`, all broadcast
//! to the layer's per-neuron shape.
//!
//! Max pooling, which NIR has no primitive for, is exported as the OR of the window, exact
//! when the pool reads binary spikes (every max pool of the zoo follows a spiking layer): a
//! `SumPool2d` `c = sum of the window` (zero padding adds nothing) followed by an "OR unit", a
//! `LIF` with `tau = dt`, `r = 1`, `v_leak = 0`, `v_reset = 0`, `v_threshold = 1/2` (see
//! [`OR_THRESHOLD`]). At `tau = dt` the forward-Euler step keeps no state,
//! `v <- (1 - dt/dt) v + (dt/dt) (0 + 1 c) = c`, so the unit fires `[c > 1/2]`, which for a
//! count `c` of 0/1 spikes is `[c >= 1] = max of the window`. The sum pool keeps the max
//! pool's name, the unit is `<name>.or`, and the edges out of the pool leave from the unit.
//!
//! What NIR cannot say is refused: soft reset (NIR resets to a value), smooth (non-binary)
//! spikes, a max pool reading anything but binary spikes (real values, or a sum of spike
//! trains, whose maximum is not the OR), `beta >= 1` (no finite `tau`).

use super::ExportError;
use crate::graph::{LayerGraph, NeuronParams, Node, Op};
use crate::neuron::{Reset, SpikeFunction};
use crate::run::write_atomic;
use hdf5_pure::{FileBuilder, GroupBuilder};
use std::collections::HashSet;
use std::path::Path;

/// The NIR version the files follow.
pub const NIR_VERSION: &str = "1.0.8";

/// The threshold of the OR unit a max pool is exported with: the unit's potential is the
/// window's spike count `c`, an integer, and `[c > 1/2] = [c >= 1]` with a margin of 1/2 on
/// either side, so neither the tie rule (`>` or `>=`) nor rounding can change a spike: `tau`
/// is `dt` rounded to f32, so a simulator's `dt/tau` is `1 +- 6e-8` rather than 1, which moves
/// the potential by far less than 1/2. The exact-exponential reading of the same `LIF`,
/// `v <- e^(-dt/tau) v + (1 - e^(-dt/tau)) c = 0.37 v + 0.63 c`, fires on the same steps too: a
/// spike resets `v` to 0 and no input leaves it there, so `v` is 0 before every step and
/// `0.63 c > 1/2` exactly when `c >= 1`.
pub const OR_THRESHOLD: f32 = 0.5;

/// The NIR name of the OR unit following the sum pool a max pool named `pool` becomes.
pub fn or_unit_name(pool: &str) -> String {
    format!("{pool}.or")
}

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
    /// A string.
    Text(String),
    /// A number (stored as a float).
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
    check_max_pools(graph)?;
    // The NIR name each node's output leaves from: a max pool's comes out of its OR unit.
    let out_name = |id: usize| {
        let node = &graph.nodes[id];
        match node.op {
            Op::MaxPool2d { .. } => or_unit_name(&node.name),
            _ => node.name.clone(),
        }
    };
    let pools: Vec<&Node> = graph
        .nodes
        .iter()
        .filter(|n| matches!(n.op, Op::MaxPool2d { .. }))
        .collect();
    let mut names = HashSet::new();
    for name in graph
        .nodes
        .iter()
        .map(|n| n.name.clone())
        .chain(pools.iter().map(|n| or_unit_name(&n.name)))
    {
        if !names.insert(name.clone()) {
            return Err(ExportError::Unsupported(format!(
                "two nodes named '{name}' (NIR names every node once)"
            )));
        }
    }
    let edges: Vec<String> = graph
        .edges
        .iter()
        .flat_map(|&(a, b)| [out_name(a), graph.nodes[b].name.clone()])
        .chain(
            pools
                .iter()
                .flat_map(|n| [n.name.clone(), or_unit_name(&n.name)]),
        )
        .collect();
    let edges: Vec<&str> = edges.iter().map(String::as_str).collect();

    let mut file = FileBuilder::new();
    string(file.create_dataset("version"), NIR_VERSION);
    let mut root = file.create_group("node");
    string(root.create_dataset("type"), "NIRGraph");
    root.create_dataset("edges")
        .with_vlen_strings(&edges)
        .with_shape(&[edges.len() as u64 / 2, 2]);
    let mut nodes = root.create_group("nodes");
    for node in &graph.nodes {
        let mut group = nodes.create_group(&node.name);
        write_node(&mut group, node, options)?;
        nodes.add_group(group.finish());
        if let Op::MaxPool2d { .. } = node.op {
            let mut group = nodes.create_group(&or_unit_name(&node.name));
            write_or_unit(&mut group, &node.output_shape, options.dt);
            nodes.add_group(group.finish());
        }
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
    let max_pooling = (
        "max_pooling",
        Meta::Text(
            "of binary spikes, as the OR of the window: SumPool2d (zero padding) then a LIF \
             '<pool>.or' with tau = dt, r = 1, v_leak = 0, v_reset = 0, v_threshold = 0.5, \
             whose forward-Euler step at dt keeps no state: v <- (window's spike count), a \
             spike when it is 1 or more"
                .into(),
        ),
    );
    let conventions = conventions
        .iter()
        .chain((!pools.is_empty()).then_some(&max_pooling));
    for (key, value) in conventions
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
        // The window's spike count; the OR unit written after it turns it into the maximum.
        Op::MaxPool2d {
            kernel,
            stride,
            padding,
        } => {
            ints(group, "kernel_size", &[*kernel as i64; 2]);
            ints(group, "stride", &[*stride as i64; 2]);
            ints(group, "padding", &[*padding as i64; 2]);
            "SumPool2d"
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

/// Refuses a max pool the OR form would get wrong: one that reads anything but binary spikes
/// (see [`LayerGraph::emits_binary_spikes`]), or whose padding could fill a whole window
/// (`padding >= kernel`: the maximum of padding alone is not the OR's 0).
fn check_max_pools(graph: &LayerGraph) -> Result<(), ExportError> {
    for (id, node) in graph.nodes.iter().enumerate() {
        let Op::MaxPool2d {
            kernel, padding, ..
        } = node.op
        else {
            continue;
        };
        let inputs = graph.inputs(id);
        if let [from] = inputs[..]
            && graph.emits_binary_spikes(from)
        {
            if padding >= kernel {
                return Err(ExportError::Unsupported(format!(
                    "max pooling '{}' with padding {padding} for a {kernel}x{kernel} window: \
                     the OR form needs every window to hold an input",
                    node.name
                )));
            }
            continue;
        }
        let what = match inputs[..] {
            [from] => format!("'{}'", graph.nodes[from].name),
            _ => format!("the sum of {} nodes", inputs.len()),
        };
        return Err(ExportError::Unsupported(format!(
            "max pooling '{}' of {what}: it has no max pooling primitive, and the exact form \
             dalif exports, the OR of the window (a sum pool and a threshold unit), is the \
             maximum only of binary spikes, straight out of a spiking layer with Heaviside \
             spikes",
            node.name
        )));
    }
    Ok(())
}

/// The OR unit after a max pool's sum pool: a `LIF` of the pool's output `shape` with
/// `tau = dt`, `r = 1`, `v_leak = 0`, `v_reset = 0` and `v_threshold = 1/2`, whose
/// forward-Euler step `v <- (1 - dt/tau) v + (dt/tau) (v_leak + r c) = c` keeps no state, so
/// it fires `[c > 1/2]` on the window's spike count `c`: the OR of the window, the maximum
/// of binary spikes.
fn write_or_unit(group: &mut GroupBuilder, shape: &[usize], dt: f64) {
    let n: usize = shape.iter().product();
    floats(group, "tau", &vec![dt as f32; n], shape);
    floats(group, "r", &vec![1.0; n], shape);
    floats(group, "v_leak", &vec![0.0; n], shape);
    floats(group, "v_threshold", &vec![OR_THRESHOLD; n], shape);
    floats(group, "v_reset", &vec![0.0; n], shape);
    string(group.create_dataset("type"), "LIF");
}

fn write_lif(
    group: &mut GroupBuilder,
    name: &str,
    p: &NeuronParams,
    shape: &[usize],
    dt: f64,
) -> Result<(), ExportError> {
    if p.spike != SpikeFunction::Heaviside {
        return Err(ExportError::Unsupported(format!(
            "the smooth spikes of layer '{name}' (real values): a LIF emits binary spikes"
        )));
    }
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
