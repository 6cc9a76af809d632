//! Safetensors weights given to `eval --weights`: the configuration in their metadata
//! (`safetensors_config`) and the tensors loaded into a network (`load_safetensors_bytes`,
//! the checks of `load_safetensors`). The network is the default configuration's, built once.
use burn::tensor::Device;
use dalif::export::{load_safetensors_bytes, safetensors_config};
use dalif::models::Network;
use dalif::run::{RunConfig, build_network};
use std::path::Path;

fn main() {
    let device = Device::flex();
    let data = dalif_data::digits::load().expect("the embedded digits");
    let network = build_network(&RunConfig::default(), &dalif::run::zoo, &data, &device)
        .expect("the default network");
    // Cloned for every input, so a panic mid-load cannot leave it half-loaded.
    let network = std::panic::AssertUnwindSafe(network);
    let path = Path::new("fuzz.safetensors");
    afl::fuzz!(|data: &[u8]| {
        let _ = safetensors_config(path, data);
        let fresh: &Network = &network;
        let _ = load_safetensors_bytes(fresh.clone(), path, data.to_vec());
    });
}
