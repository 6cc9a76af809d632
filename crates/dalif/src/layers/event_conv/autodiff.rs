//! The event-driven convolution under autodiff: one graph node whose backward computes the
//! input's gradient with burn's transposed convolution and the weights' with the inner
//! backend's `event_conv2d_weight_backward`. Like burn's convolution node it is compute-bound
//! under gradient checkpointing (its input and weights are kept, not recomputed).

use super::EventConvBackend;
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, tensor::FloatTensor};
use burn::tensor::ops::ConvOptions;

/// Graph node of one convolution; its parents are `[x, weight]`.
#[derive(Debug)]
struct EventConvBackward;

impl<B: EventConvBackend> Backward<B, 2> for EventConvBackward {
    type State = (NodeId, NodeId, ConvOptions<2>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, ckpt: &mut Checkpointer) {
        let [node_x, node_weight] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, weight, options) = ops.state;
        let x: FloatTensor<B> = ckpt.retrieve_node_output(x);
        let weight: FloatTensor<B> = ckpt.retrieve_node_output(weight);
        if let Some(node) = node_x {
            let gx = B::conv2d_x_backward(x.clone(), weight.clone(), grad.clone(), options.clone());
            grads.register::<B>(node.id, gx);
        }
        if let Some(node) = node_weight {
            let gw = B::event_conv2d_weight_backward(x, weight, grad, options);
            grads.register::<B>(node.id, gw);
        }
    }
}

impl<B: EventConvBackend, C: CheckpointStrategy> EventConvBackend for Autodiff<B, C> {
    fn event_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let out = |x: &FloatTensor<Self>, weight: &FloatTensor<Self>, options| {
            B::event_conv2d(x.primitive().clone(), weight.primitive().clone(), options)
        };
        match EventConvBackward
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (
                    prep.checkpoint(&x),
                    prep.checkpoint(&weight),
                    options.clone(),
                );
                prep.finish(state, out(&x, &weight, options))
            }
            OpsKind::UnTracked(prep) => prep.finish(out(&x, &weight, options)),
        }
    }
}
