//! Firing rates (and, on request, the spike trains) of the spiking layers a forward pass
//! goes through.

use burn::tensor::Tensor;

/// The spikes one layer emitted: `[T, B, ...]` values 0 or 1, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct SpikeTrain {
    /// The layer's output shape `[T, B, ...]`.
    pub shape: Vec<usize>,
    /// The spikes, row-major over `shape`.
    pub values: Vec<f32>,
}

/// Collects, when switched on, the mean firing rate of every spiking layer in the order the
/// forward pass reaches them: `rate = (1 / numel) * sum S` over all `T * B * neurons` outputs;
/// [`SpikeMonitor::recording`] also keeps every spike. Off, it costs nothing, so training
/// steps do not pay for the reductions.
#[derive(Debug, Default)]
pub struct SpikeMonitor {
    rates: Option<Vec<Tensor<1>>>,
    trains: Option<Vec<SpikeTrain>>,
}

impl SpikeMonitor {
    /// A monitor that records nothing.
    pub fn off() -> Self {
        Self::default()
    }

    /// A monitor that records every layer's firing rate.
    pub fn on() -> Self {
        Self {
            rates: Some(Vec::new()),
            trains: None,
        }
    }

    /// A monitor that records every layer's rate and spike train (read back to the host at
    /// once: for analysis and checks, not for training).
    pub fn recording() -> Self {
        Self {
            rates: Some(Vec::new()),
            trains: Some(Vec::new()),
        }
    }

    /// Records the firing rate of `spikes` (detached: the rate never takes part in backward).
    pub fn record<const D: usize>(&mut self, spikes: &Tensor<D>) {
        if let Some(rates) = &mut self.rates {
            rates.push(spikes.clone().detach().mean());
        }
        if let Some(trains) = &mut self.trains {
            let data = spikes.clone().detach().into_data().convert::<f32>();
            trains.push(SpikeTrain {
                shape: spikes.dims().to_vec(),
                values: data.try_to_vec::<f32>().expect("converted to f32"),
            });
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

    /// The recorded spike trains, input side first (empty unless recording).
    pub fn into_spike_trains(self) -> Vec<SpikeTrain> {
        self.trains.unwrap_or_default()
    }
}
