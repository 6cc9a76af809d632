//! The DA-LIF operation under autodiff: the forward runs the inner backend's operation once
//! for all T steps and records one graph node whose backward calls the inner backend's
//! hand-written BPTT (`dalif_backward`).

use super::{DaLifBackend, DaLifOp, DaLifTrace};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, AutodiffBackend, tensor::FloatTensor};

/// Graph node of one DA-LIF call; its parents are `[x, alpha, beta]`.
#[derive(Debug)]
struct DaLifBackward;

impl<B: DaLifBackend> Backward<B, 3> for DaLifBackward {
    /// `(x, V, alpha, beta, op)`: the input and potential are all the backward needs.
    type State = (
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        DaLifOp,
    );

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_alpha, node_beta] = ops.parents;
        let grad_spikes = grads.consume::<B>(&ops.node);
        let (x, potential, alpha, beta, op) = ops.state;
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

impl<B: DaLifBackend, C: CheckpointStrategy> DaLifBackend for Autodiff<B, C> {
    fn dalif_forward(
        x: FloatTensor<Self>,
        alpha: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        op: DaLifOp,
    ) -> DaLifTrace<Self> {
        let prep = DaLifBackward
            .prepare::<C>([x.node(), alpha.node(), beta.node()])
            .compute_bound()
            .stateful();
        let (x, alpha, beta) = (
            x.into_primitive(),
            alpha.into_primitive(),
            beta.into_primitive(),
        );
        let out = B::dalif_forward(x.clone(), alpha.clone(), beta.clone(), op);
        let potential = out.potential.clone();
        let spikes = match prep {
            OpsKind::Tracked(prep) => prep.finish((x, out.potential, alpha, beta, op), out.spikes),
            OpsKind::UnTracked(prep) => prep.finish(out.spikes),
        };
        DaLifTrace {
            spikes,
            potential: <Self as AutodiffBackend>::from_inner(potential),
        }
    }
}
