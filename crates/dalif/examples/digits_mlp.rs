//! Your own DA-LIF network under dalif's runs: a two-layer spiking MLP on the embedded 8x8
//! digits, trained into a run directory (run it again and it resumes, or reuses the finished
//! run), then analysed and exported to NIR like any network of the zoo.
//!
//! `cargo run --release -p dalif --features nir --example digits_mlp` (NIR export is behind
//! the `nir` feature)
use dalif::prelude::*;

#[derive(Module, Debug)]
struct Mlp {
    hidden: Linear,
    neuron: DaLif,
    out: Linear,
}

impl SpikingClassifier for Mlp {
    fn trace<T: Tracer>(&self, t: &mut T, x: T::Value) -> T::Value {
        let x = t.flatten("flatten", x);
        let x = t.linear("hidden", &self.hidden, x);
        let x = t.neuron("neuron", &self.neuron, x);
        t.linear("out", &self.out, x)
    }
}

/// The MLP for the data the run's configuration opens, with the run's neuron settings.
fn mlp(model: &ModelConfig, device: &Device) -> Result<Mlp, ModelError> {
    let [h, w] = model.input_size;
    Ok(Mlp {
        hidden: LinearConfig::new(model.channels_in * h * w, 128).init(device),
        neuron: model.spec.neuron_config().init(device)?,
        out: LinearConfig::new(128, model.classes).init(device),
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = RunConfig::default(); // the embedded digits: T = 4, 5 epochs of SGD
    let (train, test) = config.open_data()?;
    let dir = run::run_dir_for("runs/example-digits-mlp".as_ref(), &config)?;
    let device = Device::flex();
    run::train(
        &dir,
        &config,
        mlp,
        &*train,
        &*test,
        &device.clone().autodiff(),
        &mut Quiet,
    )?;
    for m in dir.metrics()? {
        println!(
            "epoch {}: test accuracy {:.2}%",
            m.epoch + 1,
            100.0 * m.test_accuracy
        );
    }
    let options = run::AnalyzeOptions {
        checkpoint: CheckpointKind::Best,
        limit: None,
        energy: Default::default(),
    };
    let analysis = run::analyze(&dir, &config, mlp, &*test, &options, &device)?;
    print!("{}", analysis.markdown());
    let (net, _) = run::load_network(&dir, &config, CheckpointKind::Best, mlp, &*test, &device)?;
    let nir = dir.path().join("mlp.nir");
    let graph = net.graph(test.sample_shape(), &device);
    dalif::export::write_nir(&nir, &graph, &Default::default(), &[])?;
    println!("wrote {}", nir.display());
    Ok(())
}
