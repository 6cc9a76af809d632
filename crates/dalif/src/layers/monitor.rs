//! Firing rates of the spiking layers a forward pass goes through.

use burn::tensor::Tensor;

/// Collects, when switched on, the mean firing rate of every spiking layer in the order the
/// forward pass reaches them: `rate = (1 / numel) * sum S` over all `T * B * neurons` outputs.
/// Off, it costs nothing, so training steps do not pay for the reductions.
#[derive(Debug, Default)]
pub struct SpikeMonitor {
    rates: Option<Vec<Tensor<1>>>,
}

impl SpikeMonitor {
    /// A monitor that records nothing.
    pub fn off() -> Self {
        Self { rates: None }
    }

    /// A monitor that records every layer's firing rate.
    pub fn on() -> Self {
        Self {
            rates: Some(Vec::new()),
        }
    }

    /// Records the firing rate of `spikes` (detached: the rate never takes part in backward).
    pub fn record<const D: usize>(&mut self, spikes: &Tensor<D>) {
        if let Some(rates) = &mut self.rates {
            rates.push(spikes.clone().detach().mean());
        }
    }

    /// The recorded rates, input side first (empty when off).
    pub fn into_rates(self) -> Vec<f64> {
        self.rates
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.into_scalar::<f64>())
            .collect()
    }
}
