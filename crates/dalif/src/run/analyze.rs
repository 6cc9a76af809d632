//! The analysis of a trained run: what `dalif analyze` reports, for any network.

use super::{
    CheckpointKind, NetworkInit, RunConfig, RunDir, RunError, build_network, checkpoint_label,
    load_network,
};
use crate::analysis::energy::{EnergyModel, costs};
use crate::analysis::{Analysis, LayerReport};
use crate::graph::step_shape;
use crate::models::{SpikingClassifier, learnable_params};
use crate::neuron::NeuronKind;
use crate::training::evaluate;
use burn::tensor::Device;
use dalif_data::{DataError, Dataset, Subset};

/// What to analyse and how.
#[derive(Clone, Debug)]
pub struct AnalyzeOptions {
    /// Which checkpoint of the run.
    pub checkpoint: CheckpointKind,
    /// Measure on the first `limit` test samples only (`None`: all).
    pub limit: Option<usize>,
    /// Energy per operation.
    pub energy: EnergyModel,
}

/// Analyses the network `init` builds, with the weights of `dir`'s checkpoint, on `test`:
/// its accuracy, the learned decays and firing rate of every spiking layer, operation counts
/// and energy ([`costs`]), its learnable parameters beside those of the same network with
/// LIF neurons, and the run's training curves. `device` is a plain (not autodiff) device.
pub fn analyze<M: SpikingClassifier>(
    dir: &RunDir,
    config: &RunConfig,
    init: impl NetworkInit<M>,
    test: &dyn Dataset,
    options: &AnalyzeOptions,
    device: &Device,
) -> Result<Analysis, RunError> {
    if options.limit == Some(0) {
        return Err(RunError::Config(
            "an analysis needs at least one test sample".into(),
        ));
    }
    // Loaded on an autodiff device, where the trainable parameters require gradients: that is
    // what counts them ([`learnable_params`]). The analysis runs on the inference copy.
    let autodiff = device.clone().autodiff();
    let (trained, state) = load_network(dir, config, options.checkpoint, &init, test, &autodiff)?;
    let params = learnable_params(&trained);
    let network = trained.valid();
    let n = options.limit.unwrap_or(usize::MAX).min(test.len());
    let test = Subset::new(test, (0..n).collect());
    let evaluation = evaluate(&network, &test, &config.train, device)?;
    let shape = test.sample_shape();
    let graph = network.graph(step_shape(shape), device);
    let neurons = network.neurons();
    if graph.neurons().len() != neurons.len() || neurons.len() != evaluation.firing_rate.len() {
        return Err(DataError::Invalid(format!(
            "the network's graph has {} spiking layers, its description {} and its forward \
             pass recorded {}",
            graph.neurons().len(),
            neurons.len(),
            evaluation.firing_rate.len()
        ))
        .into());
    }
    let costs = costs(
        &graph,
        &evaluation.firing_rate,
        config.train.steps,
        shape.len() != 4,
        &options.energy,
    );
    let metrics = dir.metrics()?;
    let init_rates = metrics
        .first()
        .and_then(|m| m.init_firing_rate.clone())
        .filter(|r| r.len() == neurons.len());
    let layers = graph
        .neurons()
        .iter()
        .zip(&neurons)
        .zip(&evaluation.firing_rate)
        .enumerate()
        .map(|(i, ((&id, neuron), &rate))| {
            let (alpha, beta) = neuron.mean_decays(device);
            LayerReport {
                name: graph.nodes[id].name.clone(),
                alpha,
                beta,
                firing_rate: rate,
                init_firing_rate: init_rates.as_ref().map(|r| r[i]),
            }
        })
        .collect();
    // The same description with LIF neurons.
    let mut lif = config.clone();
    lif.model.neuron = NeuronKind::Lif;
    lif.model.fixed_decays = None;
    let lif_params = learnable_params(&build_network(&lif, &init, &test, &autodiff)?);
    Ok(Analysis {
        source: checkpoint_label(dir, options.checkpoint, &state),
        steps: config.train.steps,
        samples: n,
        loss: evaluation.loss,
        accuracy: evaluation.accuracy,
        layers,
        costs,
        energy: options.energy,
        params,
        lif_params,
        metrics,
    })
}
