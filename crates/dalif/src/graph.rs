//! A trained network as a graph of per-time-step operations, read out of its modules once:
//! what operation counting, energy estimates and NIR export all walk.
//!
//! Nodes come in the order the forward pass runs them (so neuron nodes are in the order of
//! [`SpikingClassifier::neurons`](crate::models::SpikingClassifier::neurons)); an edge
//! carries a node's output to another's input, and a node with several inputs sums them (the
//! residual additions). Batch norm is folded into the convolution before it:
//! `w' = w gamma / sqrt(var + eps)`, `b' = beta - mean gamma / sqrt(var + eps)`, with the
//! running statistics of inference.

use crate::layers::{ConvBn, Pool, Tracer};
use crate::neuron::{DaLif, Reset, SpikeFunction};
use burn::nn::{Linear, PaddingConfig2d};
use burn::tensor::{Device, Tensor};

/// Index of a node in [`LayerGraph::nodes`].
pub type NodeId = usize;

/// A spiking layer's parameters, one value per layer or per channel.
#[derive(Clone, Debug, PartialEq)]
pub struct NeuronParams {
    /// The spatial decay alpha (weight of the input), 1 or C values.
    pub alpha: Vec<f32>,
    /// The temporal decay beta (weight of the previous state), 1 or C values.
    pub beta: Vec<f32>,
    /// The firing threshold.
    pub v_th: f64,
    /// Hard (to 0) or soft (subtract `v_th`) reset.
    pub reset: Reset,
    /// Heaviside (binary spikes) or the smooth validation tool (real values).
    pub spike: SpikeFunction,
}

/// One per-step operation.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// The network input, `[C, H, W]` per step.
    Input,
    /// Cross-correlation with `weight` `[C_out, C_in, k, k]` (row-major) plus `bias`, with
    /// batch norm folded in.
    Conv2d {
        /// The folded weights `w gamma / sqrt(var + eps)`, row-major.
        weight: Vec<f32>,
        /// `[C_out, C_in, k, k]`.
        weight_shape: [usize; 4],
        /// The folded bias `beta + (b - mean) gamma / sqrt(var + eps)`, one per output
        /// channel, `b` the convolution's own bias (0 without).
        bias: Vec<f32>,
        /// The step between windows, on both axes.
        stride: usize,
        /// Zero padding on every side.
        padding: usize,
    },
    /// `y = W x + b`, `weight` `[out, in]` row-major.
    Affine {
        /// `W`, row-major.
        weight: Vec<f32>,
        /// `[out, in]`.
        weight_shape: [usize; 2],
        /// `b`, one per output; `None`: no bias.
        bias: Option<Vec<f32>>,
    },
    /// DA-LIF: `V = beta H + alpha X`, spike at `V >= v_th`, reset.
    Neuron(NeuronParams),
    /// Mean over `kernel x kernel` windows (a global average when the kernel is the map).
    AvgPool2d {
        /// The window's side.
        kernel: usize,
        /// The step between windows.
        stride: usize,
    },
    /// Maximum over `kernel x kernel` windows of the input padded by `padding` on every
    /// side (the padding never wins).
    MaxPool2d {
        /// The window's side.
        kernel: usize,
        /// The step between windows.
        stride: usize,
        /// Padding on every side.
        padding: usize,
    },
    /// `[C, H, W] -> [C*H*W]`.
    Flatten,
    /// The network output (per-step logits).
    Output,
}

/// One node of the graph: a named per-step operation and the shapes it reads and writes.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Unique, made of the module path (`blocks.3.neuron2`).
    pub name: String,
    /// The operation.
    pub op: Op,
    /// The per-sample shape the node reads (of each input, which agree).
    pub input_shape: Vec<usize>,
    /// The per-sample shape it writes.
    pub output_shape: Vec<usize>,
}

impl Node {
    /// Multiply-accumulates of one step on one sample: the FLOPs of the synaptic layers
    /// (convolution: `C_out H' W' C_in k k`; affine: `out in`), 0 for the others.
    pub fn macs(&self) -> u64 {
        let out: usize = self.output_shape.iter().product();
        match &self.op {
            Op::Conv2d { weight_shape, .. } => {
                let [_, cin, kh, kw] = *weight_shape;
                (out * cin * kh * kw) as u64
            }
            Op::Affine { weight_shape, .. } => (weight_shape[0] * weight_shape[1]) as u64,
            _ => 0,
        }
    }
}

/// A network as per-step operations: nodes in forward order, and the edges between them.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerGraph {
    /// The nodes, in the order the forward pass runs them.
    pub nodes: Vec<Node>,
    /// `(from, to)`: `from`'s output is one of `to`'s inputs (several inputs are summed).
    pub edges: Vec<(NodeId, NodeId)>,
}

impl LayerGraph {
    /// The nodes whose outputs `id` reads.
    pub fn inputs(&self, id: NodeId) -> Vec<NodeId> {
        self.edges
            .iter()
            .filter(|&&(_, to)| to == id)
            .map(|&(from, _)| from)
            .collect()
    }

    /// The neuron layers whose spikes reach `id` through pooling and flattening only, or
    /// `None` when some input comes from the network input (real values, not spikes).
    pub fn spike_sources(&self, id: NodeId) -> Option<Vec<NodeId>> {
        let mut sources = Vec::new();
        for from in self.inputs(id) {
            match self.nodes[from].op {
                Op::Neuron(_) => sources.push(from),
                Op::AvgPool2d { .. } | Op::MaxPool2d { .. } | Op::Flatten => {
                    sources.extend(self.spike_sources(from)?)
                }
                _ => return None,
            }
        }
        Some(sources)
    }

    /// Whether every value `id` outputs is a binary spike, 0 or 1: `id` is a neuron with
    /// Heaviside spikes, or a max pooling or flattening whose single input outputs binary
    /// spikes (the maximum of 0s and 1s is 0 or 1; a reshape keeps the values). Not an
    /// average pooling (fractions), nor a node with several inputs (their sum counts to 2 and
    /// more), nor the network input, a convolution or an affine map (real values).
    pub fn emits_binary_spikes(&self, id: NodeId) -> bool {
        match &self.nodes[id].op {
            Op::Neuron(p) => p.spike == SpikeFunction::Heaviside,
            Op::MaxPool2d { .. } | Op::Flatten => match self.inputs(id)[..] {
                [from] => self.emits_binary_spikes(from),
                _ => false,
            },
            _ => false,
        }
    }

    /// Indices of the neuron nodes, in forward order.
    pub fn neurons(&self) -> Vec<NodeId> {
        (0..self.nodes.len())
            .filter(|&i| matches!(self.nodes[i].op, Op::Neuron(_)))
            .collect()
    }
}

/// What one step of a network reads of a sample of `shape`: the sample itself (images
/// `[C, H, W]`, features `[F]`, the same at every step), or one frame of event frames
/// `[T, C, H, W]`.
pub fn step_shape(shape: &[usize]) -> &[usize] {
    match shape {
        [_, _, _, _] => &shape[1..],
        _ => shape,
    }
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("converted to f32")
}

/// Builds a [`LayerGraph`] node by node, tracking shapes: the [`Tracer`] that turns a
/// network's description into its graph. A value is the list of nodes whose outputs sum to
/// it (a residual addition adds no node: the next node reads both).
pub struct GraphBuilder {
    graph: LayerGraph,
    device: Device,
}

impl GraphBuilder {
    /// A graph whose input is `input` per step (`[C, H, W]` or `[F]`), of a network on
    /// `device`; returns the input.
    pub fn new(input: &[usize], device: &Device) -> (Self, Vec<NodeId>) {
        let node = Node {
            name: "input".into(),
            op: Op::Input,
            input_shape: input.to_vec(),
            output_shape: input.to_vec(),
        };
        let graph = LayerGraph {
            nodes: vec![node],
            edges: Vec::new(),
        };
        let device = device.clone();
        (Self { graph, device }, vec![0])
    }

    /// The per-sample output shape of a node.
    pub fn shape(&self, id: NodeId) -> &[usize] {
        &self.graph.nodes[id].output_shape
    }

    fn push(
        &mut self,
        name: &str,
        op: Op,
        from: &[NodeId],
        output_shape: Vec<usize>,
    ) -> Vec<NodeId> {
        let id = self.graph.nodes.len();
        self.graph.nodes.push(Node {
            name: name.into(),
            op,
            input_shape: self.shape(from[0]).to_vec(),
            output_shape,
        });
        self.graph.edges.extend(from.iter().map(|&f| (f, id)));
        vec![id]
    }

    fn maps(&self, op: &str, name: &str, from: &[NodeId]) -> [usize; 3] {
        let shape = self.shape(from[0]);
        shape.try_into().unwrap_or_else(|_| {
            panic!("{op} '{name}' reads feature maps [C, H, W], but its input is {shape:?}")
        })
    }

    fn pooled(&self, op: &str, name: &str, from: &[NodeId], pool: Pool) -> Vec<usize> {
        let [c, h, w] = self.maps(op, name, from);
        vec![c, pool.output(h), pool.output(w)]
    }

    /// Ends the graph with an output node reading `from`.
    pub fn finish(mut self, from: Vec<NodeId>) -> LayerGraph {
        let shape = self.shape(from[0]).to_vec();
        self.push("output", Op::Output, &from, shape);
        self.graph
    }
}

impl Tracer for GraphBuilder {
    type Value = Vec<NodeId>;

    /// `BN(conv(x))` as one convolution with the batch norm folded in.
    fn conv_bn(&mut self, name: &str, layer: &ConvBn, from: Vec<NodeId>) -> Vec<NodeId> {
        let conv = &layer.conv;
        let [cout, cin, kh, kw] = conv.weight.dims();
        let padding = match conv.padding {
            PaddingConfig2d::Explicit(p, ..) => p,
            _ => 0,
        };
        let bn = &layer.bn;
        let gamma = values(bn.gamma.val());
        let beta = values(bn.beta.val());
        let mean = values(bn.running_mean.value());
        let var = values(bn.running_var.value());
        let scale: Vec<f32> = (0..cout)
            .map(|c| gamma[c] / (var[c] as f64 + bn.epsilon).sqrt() as f32)
            .collect();
        let per_out = cin * kh * kw;
        let weight = values(conv.weight.val())
            .iter()
            .enumerate()
            .map(|(i, w)| w * scale[i / per_out])
            .collect();
        let conv_bias = conv.bias.as_ref().map(|b| values(b.val()));
        let bias = (0..cout)
            .map(|c| {
                let b = conv_bias.as_ref().map_or(0.0, |b| b[c]);
                beta[c] + (b - mean[c]) * scale[c]
            })
            .collect();
        let [_, h, w] = self.maps("convolution", name, &from);
        let out = |n: usize, k: usize| (n + 2 * padding - k) / conv.stride[0] + 1;
        let shape = vec![cout, out(h, kh), out(w, kw)];
        let op = Op::Conv2d {
            weight,
            weight_shape: [cout, cin, kh, kw],
            bias,
            stride: conv.stride[0],
            padding,
        };
        self.push(name, op, &from, shape)
    }

    fn neuron(&mut self, name: &str, neuron: &DaLif, from: Vec<NodeId>) -> Vec<NodeId> {
        let (alpha, beta) = neuron.decay_values(&self.device);
        let config = neuron.config();
        let op = Op::Neuron(NeuronParams {
            alpha,
            beta,
            v_th: config.v_th,
            reset: config.reset,
            spike: config.spike,
        });
        let shape = self.shape(from[0]).to_vec();
        self.push(name, op, &from, shape)
    }

    fn add(&mut self, mut a: Vec<NodeId>, b: Vec<NodeId>) -> Vec<NodeId> {
        a.extend(b);
        a
    }

    fn max_pool(&mut self, name: &str, pool: Pool, from: Vec<NodeId>) -> Vec<NodeId> {
        let shape = self.pooled("max pool", name, &from, pool);
        let op = Op::MaxPool2d {
            kernel: pool.kernel,
            stride: pool.stride,
            padding: pool.padding,
        };
        self.push(name, op, &from, shape)
    }

    fn avg_pool(&mut self, name: &str, pool: Pool, from: Vec<NodeId>) -> Vec<NodeId> {
        let shape = self.pooled("average pool", name, &from, pool);
        let op = Op::AvgPool2d {
            kernel: pool.kernel,
            stride: pool.stride,
        };
        self.push(name, op, &from, shape)
    }

    fn global_avg_pool(&mut self, name: &str, from: Vec<NodeId>) -> Vec<NodeId> {
        let [_, h, _] = self.maps("global average pool", name, &from);
        self.avg_pool(name, Pool::new(h, h), from)
    }

    fn flatten(&mut self, name: &str, from: Vec<NodeId>) -> Vec<NodeId> {
        let shape = vec![self.shape(from[0]).iter().product()];
        self.push(name, Op::Flatten, &from, shape)
    }

    fn linear(&mut self, name: &str, layer: &Linear, from: Vec<NodeId>) -> Vec<NodeId> {
        let [inputs, outputs] = layer.weight.dims();
        // burn stores [in, out]; the graph, like NIR and PyTorch, [out, in].
        let weight = values(layer.weight.val().transpose());
        let op = Op::Affine {
            weight,
            weight_shape: [outputs, inputs],
            bias: layer.bias.as_ref().map(|b| values(b.val())),
        };
        self.push(name, op, &from, vec![outputs])
    }
}
