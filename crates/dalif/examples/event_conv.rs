//! A convolutional spiking network of your own on event-camera frames, trained through
//! `dalif::run`: the generated DVS recordings of moving squares (no download), integrated into
//! T frames of ON/OFF counts `[T, 2, 16, 16]`, cached, fed to a two-layer conv SNN with
//! per-channel DA-LIF decays and a soft reset, read out by a linear layer. The run directory
//! is the one `dalif train` writes: run the example again and it resumes (or reuses) it.
//!
//! `cargo run --release -p dalif --example event_conv`
use dalif::prelude::*;

#[derive(Module, Debug)]
struct EventConv {
    conv1: SpikingConv,
    conv2: SpikingConv,
    fc: Linear,
}

impl SpikingClassifier for EventConv {
    fn trace<T: Tracer>(&self, t: &mut T, x: T::Value) -> T::Value {
        let x = self.conv1.trace(t, "conv1", x);
        let x = t.max_pool("pool1", Pool::new(2, 2), x);
        let x = self.conv2.trace(t, "conv2", x);
        let x = t.global_avg_pool("gap", x);
        let x = t.flatten("flatten", x);
        t.linear("fc", &self.fc, x)
    }
}

fn event_conv(model: &ModelConfig, device: &Device) -> Result<EventConv, ModelError> {
    let neuron = model.spec.neuron_config();
    let [conv1, conv2] =
        SpikingConvConfig::chain(model.channels_in, [16, 32], &neuron, model.spec.init_scale)
            .try_into()
            .expect("two layers");
    Ok(EventConv {
        conv1: conv1.init(device)?,
        conv2: conv2.init(device)?,
        fc: LinearConfig::new(32, model.classes).init(device),
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = RunConfig::default();
    config.data.name = DatasetKind::SyntheticEvents;
    config.train.epochs = 10;
    config.model.per_channel = true;
    config.model.reset = Reset::Soft;
    config.model.surrogate = "atan:2".parse::<Surrogate>()?;
    // Sparse event counts after batch norm barely reach v_th = 1 at alpha = 0.5: a lower
    // threshold and a stronger input gain make the network fire from the first batch.
    config.model.v_th = 0.5;
    config.model.init_decays = [0.9, 0.5];
    let (train, test) = config.open_data()?;
    let dir = run::run_dir_for("runs/example-event-conv".as_ref(), &config)?;
    let device = Device::flex();
    let net = run::train(
        &dir,
        &config,
        event_conv,
        &*train,
        &*test,
        &device.clone().autodiff(),
        &mut Quiet,
    )?;
    for m in dir.metrics()? {
        println!(
            "epoch {}: test accuracy {:.2}%, firing rates {:?}",
            m.epoch + 1,
            100.0 * m.test_accuracy,
            m.firing_rate
        );
    }
    for (i, neuron) in net.neurons().iter().enumerate() {
        let (alpha, beta) = neuron.decay_values(&device);
        println!(
            "layer {}: {} alpha/beta pairs, mean alpha {:.3}, mean beta {:.3}",
            i + 1,
            alpha.len(),
            alpha.iter().sum::<f32>() / alpha.len() as f32,
            beta.iter().sum::<f32>() / beta.len() as f32
        );
    }
    Ok(())
}
