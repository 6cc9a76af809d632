//! The DA-LIF operation under autodiff: the forward runs the inner backend's operation once
//! for all T steps and records one graph node whose backward calls the inner backend's
//! hand-written BPTT (`dalif_backward`).
//!
//! Without gradient checkpointing the node keeps `X` and `V` for its backward. Under burn's
//! balanced checkpointing (`Device::gradient_checkpointing`, `--checkpointing`) the operation
//! is memory-bound: it keeps nothing of its own, its backward re-runs the forward from `X` to
//! get `V`, and a later layer that needs the spikes (the next convolution's weight gradient)
//! gets them recomputed too. With batch norm's element-wise operations recomputed the same
//! way, a conv -> BN -> DA-LIF block keeps only the convolution's output for the backward:
//! activation checkpointing per spiking block.

use super::{DaLifBackend, DaLifOp, DaLifTrace};
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::retro_forward::RetroForward;
use burn::backend::autodiff::checkpoint::state::BackwardStates;
use burn::backend::autodiff::checkpoint::strategy::{BalancedCheckpointing, CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, AutodiffBackend, tensor::FloatTensor};
use std::any::TypeId;
use std::marker::PhantomData;

/// Graph node of one DA-LIF call; its parents are `[x, alpha, beta]`.
#[derive(Debug)]
struct DaLifBackward;

/// What the backward reads: the input (by its node, so checkpointing may recompute it), the
/// decays, and `V` unless it is to be recomputed.
#[derive(Clone, Debug)]
struct Saved<B: DaLifBackend> {
    x: NodeId,
    potential: Option<FloatTensor<B>>,
    alpha: FloatTensor<B>,
    beta: FloatTensor<B>,
    op: DaLifOp,
}

impl<B: DaLifBackend> Backward<B, 3> for DaLifBackward {
    type State = Saved<B>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, ckpt: &mut Checkpointer) {
        let [node_x, node_alpha, node_beta] = ops.parents;
        let grad_spikes = grads.consume::<B>(&ops.node);
        let Saved {
            x,
            potential,
            alpha,
            beta,
            op,
        } = ops.state;
        let x: FloatTensor<B> = ckpt.retrieve_node_output(x);
        let potential = potential.unwrap_or_else(|| {
            B::dalif_forward(x.clone(), alpha.clone(), beta.clone(), op).potential
        });
        let (grad_x, grad_alpha, grad_beta) =
            B::dalif_backward(x, potential, alpha, beta, grad_spikes, op);
        if let Some(node) = node_x {
            grads.register::<B>(node.id, grad_x);
        }
        if let Some(node) = node_alpha {
            grads.register::<B>(node.id, grad_alpha);
        }
        if let Some(node) = node_beta {
            grads.register::<B>(node.id, grad_beta);
        }
    }
}

/// Recomputes the spikes from the parents' (possibly recomputed) outputs, for a consumer of
/// the spikes under checkpointing.
#[derive(Debug)]
struct RetroDaLif<B> {
    x: NodeId,
    alpha: NodeId,
    beta: NodeId,
    op: DaLifOp,
    backend: PhantomData<fn() -> B>,
}

impl<B: DaLifBackend> RetroForward for RetroDaLif<B> {
    fn forward(&self, states: &mut BackwardStates, out_node: NodeId) {
        let x = states.get_state::<FloatTensor<B>>(&self.x);
        let alpha = states.get_state::<FloatTensor<B>>(&self.alpha);
        let beta = states.get_state::<FloatTensor<B>>(&self.beta);
        states.save(out_node, B::dalif_forward(x, alpha, beta, self.op).spikes);
    }
}

impl<B: DaLifBackend, C: CheckpointStrategy> DaLifBackend for Autodiff<B, C> {
    fn dalif_forward(
        x: FloatTensor<Self>,
        alpha: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        op: DaLifOp,
    ) -> DaLifTrace<Self> {
        let retro = RetroDaLif::<B> {
            x: x.id(),
            alpha: alpha.id(),
            beta: beta.id(),
            op,
            backend: PhantomData,
        };
        let prep = DaLifBackward
            .prepare::<C>([x.node(), alpha.node(), beta.node()])
            .memory_bound()
            .retro_forward(retro)
            .parents([&x, &alpha, &beta])
            .stateful();
        let recompute = TypeId::of::<C>() == TypeId::of::<BalancedCheckpointing>();
        let (alpha_p, beta_p) = (alpha.primitive().clone(), beta.primitive().clone());
        let out = B::dalif_forward(x.primitive().clone(), alpha_p.clone(), beta_p.clone(), op);
        let potential = out.potential.clone();
        let spikes = match prep {
            OpsKind::Tracked(mut prep) => {
                let saved = Saved {
                    x: prep.checkpoint(&x),
                    potential: (!recompute).then_some(out.potential),
                    alpha: alpha_p,
                    beta: beta_p,
                    op,
                };
                prep.finish(saved, out.spikes)
            }
            OpsKind::UnTracked(prep) => prep.finish(out.spikes),
        };
        DaLifTrace {
            spikes,
            potential: <Self as AutodiffBackend>::from_inner(potential),
        }
    }
}
