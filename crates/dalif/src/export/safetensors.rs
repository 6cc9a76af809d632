//! Weights as safetensors. Tensors are named by their module path, as burn's store names
//! them: `stem.0.conv_bn.conv.weight` (`[C_out, C_in, k, k]`), `...bn.gamma`, `...bn.beta`,
//! `...bn.running_mean`, `...bn.running_var`, `fc.weight` (`[in, out]`, burn's layout),
//! `fc.bias`, and each spiking layer's learned decay weights `...neuron.w_a` / `w_b`
//! (`alpha = f(w_a)`, `beta = f(w_b)`, f the run's tanh or sigmoid). The run's configuration
//! (TOML) is in the file's metadata under [`CONFIG_KEY`], so the file alone rebuilds the
//! network.

use super::ExportError;
use crate::run::{RunConfig, write_atomic};
use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use std::path::Path;

/// The metadata key holding the run configuration.
pub const CONFIG_KEY: &str = "dalif.config";

fn file_error(path: &Path, message: impl std::fmt::Display) -> ExportError {
    ExportError::File {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Writes `network`'s weights and `config` to `path`, atomically.
pub fn write_safetensors<M: Module>(
    path: &Path,
    network: &M,
    config: &RunConfig,
) -> Result<(), ExportError> {
    let toml = toml::to_string(config).map_err(|e| file_error(path, e))?;
    let mut store = SafetensorsStore::from_bytes(None)
        .skip_enum_variants(true)
        .metadata(CONFIG_KEY, toml);
    network
        .save_into(&mut store)
        .map_err(|e| file_error(path, e))?;
    let bytes = store.get_bytes().map_err(|e| file_error(path, e))?;
    write_atomic(path, &bytes)?;
    Ok(())
}

/// The run configuration stored in the safetensors file at `path`.
pub fn read_safetensors_config(path: &Path) -> Result<RunConfig, ExportError> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e))?;
    safetensors_config(path, &bytes)
}

/// The run configuration stored in `bytes`, the contents of the safetensors file `path`.
pub fn safetensors_config(path: &Path, bytes: &[u8]) -> Result<RunConfig, ExportError> {
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| file_error(path, format!("not a safetensors file: {e}")))?;
    let text = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(CONFIG_KEY))
        .ok_or_else(|| {
            file_error(
                path,
                format!("no '{CONFIG_KEY}' metadata: not written by `dalif export`"),
            )
        })?;
    toml::from_str(text).map_err(|e| file_error(path, format!("bad '{CONFIG_KEY}': {e}")))
}

/// `network` with every tensor read from `path`; a missing, extra or misshapen tensor is an
/// error naming the file.
pub fn load_safetensors<M: Module>(network: M, path: &Path) -> Result<M, ExportError> {
    load_from(network, path, SafetensorsStore::from_file(path))
}

/// `network` with every tensor read from `bytes`, the contents of the safetensors file
/// `path`; checked as [`load_safetensors`] does.
pub fn load_safetensors_bytes<M: Module>(
    network: M,
    path: &Path,
    bytes: Vec<u8>,
) -> Result<M, ExportError> {
    load_from(network, path, SafetensorsStore::from_bytes(Some(bytes)))
}

fn load_from<M: Module>(
    mut network: M,
    path: &Path,
    store: SafetensorsStore,
) -> Result<M, ExportError> {
    let mut store = store.skip_enum_variants(true);
    let result = network
        .load_from(&mut store)
        .map_err(|e| file_error(path, e))?;
    if !result.errors.is_empty() || !result.missing.is_empty() || !result.unused.is_empty() {
        return Err(file_error(
            path,
            format!(
                "does not fit the network: {} errors ({:?}), missing {:?}, unexpected {:?}",
                result.errors.len(),
                result.errors.first(),
                result.missing.iter().map(|m| &m.0).collect::<Vec<_>>(),
                result.unused
            ),
        ));
    }
    Ok(network)
}
