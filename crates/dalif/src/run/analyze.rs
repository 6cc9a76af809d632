//! The analysis of a trained run: what `dalif analyze` reports, for any network.

use super::{
    CheckpointKind, NetworkInit, RunConfig, RunDir, RunError, build_network, load_network,
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
    let (network, state) = load_network(dir, config, options.checkpoint, &init, test, device)?;
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
    let layers = graph
        .neurons()
        .iter()
        .zip(&neurons)
        .zip(&evaluation.firing_rate)
        .map(|((&id, neuron), &rate)| {
            let (alpha, beta) = neuron.mean_decays(device);
            LayerReport {
                name: graph.nodes[id].name.clone(),
                alpha,
                beta,
                firing_rate: rate,
            }
        })
        .collect();
    // Parameters are counted on the module (those that take gradients), so on an autodiff
    // device; the LIF network is the same description with LIF neurons.
    let autodiff = device.clone().autodiff();
    let count = |config: &RunConfig| -> Result<usize, RunError> {
        Ok(learnable_params(&build_network(
            config, &init, &test, &autodiff,
        )?))
    };
    let mut lif = config.clone();
    lif.model.neuron = NeuronKind::Lif;
    lif.model.fixed_decays = None;
    let kind = match options.checkpoint {
        CheckpointKind::Last => "last",
        CheckpointKind::Best => "best",
    };
    Ok(Analysis {
        source: format!(
            "{} ({kind} checkpoint, after epoch {})",
            dir.path().display(),
            state.epochs_done
        ),
        steps: config.train.steps,
        samples: n,
        loss: evaluation.loss,
        accuracy: evaluation.accuracy,
        layers,
        costs,
        energy: options.energy,
        params: count(config)?,
        lif_params: count(&lif)?,
        metrics: dir.metrics()?,
    })
}
