//! Turning a static image batch into a time-major input.

use burn::tensor::Tensor;

/// Direct encoding: the image batch `[B, C, H, W]` repeated over `steps` time steps,
/// `[T, B, C, H, W]`; the first conv + BN + neuron of the network does the encoding.
pub fn direct_encoding(images: Tensor<4>, steps: usize) -> Tensor<5> {
    images.unsqueeze_dim::<5>(0).repeat_dim(0, steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution};

    #[test]
    fn every_step_sees_the_image() {
        let device = Device::flex();
        let x = Tensor::<4>::random([2, 3, 4, 5], Distribution::Default, &device);
        let seq = direct_encoding(x.clone(), 3);
        assert_eq!(seq.dims(), [3, 2, 3, 4, 5]);
        for t in 0..3 {
            let step = seq.clone().narrow(0, t, 1).reshape([2, 3, 4, 5]);
            step.into_data().assert_eq(&x.clone().into_data(), true);
        }
    }
}
