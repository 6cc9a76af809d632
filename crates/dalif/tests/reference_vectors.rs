//! Checks the neuron against the float64 reference vectors of `shared/peers/gen_vectors.py`:
//! every `*.json` in `$DALIF_VECTORS_DIR` (default `../shared/reference/dalif_vectors` from
//! the repository root). Spikes exact, V and H within 1e-5, dL/dX within 1e-4, dL/dw_a and
//! dL/dw_b within 1e-4 relative. The fused kernel runs through the layer and autodiff; the
//! fallback runs at the operation level.

mod common;

use burn::tensor::{Device, Tensor};
use common::*;
use dalif::neuron::op::DaLifOp;
use dalif::neuron::{DaLifConfig, DecayParam, Reset, SpikeFunction, Surrogate};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn vectors_dir() -> PathBuf {
    match std::env::var_os("DALIF_VECTORS_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/dalif_vectors")
        }
    }
}

struct Vector {
    name: String,
    cfg: Value,
    json: Value,
}

impl Vector {
    fn tensor(&self, key: &str) -> (Vec<f64>, Vec<usize>) {
        let t = &self.json[key];
        let shape = t["shape"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: {key} has no shape", self.name));
        let data = t["data"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: {key} has no data", self.name));
        (
            data.iter().map(|v| v.as_f64().unwrap()).collect(),
            shape.iter().map(|v| v.as_u64().unwrap() as usize).collect(),
        )
    }
    fn scalar(&self, key: &str) -> f64 {
        self.json[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{}: {key} is not a number", self.name))
    }
    fn cfg_str(&self, key: &str) -> &str {
        self.cfg[key]
            .as_str()
            .unwrap_or_else(|| panic!("{}: config.{key} missing", self.name))
    }
    fn cfg_f64(&self, key: &str) -> f64 {
        self.cfg[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{}: config.{key} missing", self.name))
    }

    fn op(&self) -> DaLifOp {
        let name = self.cfg_str("surrogate");
        let surrogate: Surrogate = format!("{name}:{}", self.cfg_f64("surrogate_alpha"))
            .parse()
            .unwrap();
        DaLifOp {
            v_th: self.cfg_f64("v_th"),
            reset: self
                .cfg_str("reset")
                .parse()
                .unwrap_or_else(|e| panic!("{}: {e}", self.name)),
            detach_reset: self.cfg["detach_reset"].as_bool().unwrap(),
            surrogate,
            spike: SpikeFunction::Heaviside,
        }
    }

    fn param(&self) -> DecayParam {
        self.cfg_str("param")
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }
}

/// Loads every vector; an index file (a JSON array) must list only files that exist.
fn load_vectors() -> Vec<Vector> {
    let dir = vectors_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read vectors folder {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut vectors = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let json: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if let Some(index) = json.as_array() {
            for entry in index {
                let file = entry["file"].as_str().expect("index entries name a file");
                assert!(
                    dir.join(file).exists(),
                    "{name} lists {file}, which is not in {}",
                    dir.display()
                );
            }
            continue;
        }
        let cfg = json["config"].clone();
        assert!(cfg.is_object(), "{name}: no config object");
        vectors.push(Vector { name, cfg, json });
    }
    assert!(
        !vectors.is_empty(),
        "no DA-LIF reference vector in {}",
        dir.display()
    );
    vectors
}

fn assert_close(name: &str, what: &str, got: &[f64], want: &[f64], tol: f64) {
    let d = max_abs_diff(got, want);
    assert!(
        d <= tol,
        "{name}: {what} differs by {d:e} (tolerance {tol:e})"
    );
}

fn assert_rel(name: &str, what: &str, got: f64, want: f64, tol: f64) {
    let rel = (got - want).abs() / want.abs().max(1e-6);
    assert!(
        rel <= tol,
        "{name}: {what} = {got}, reference {want} (relative error {rel:e})"
    );
}

/// H from V and S, as the reference defines it.
fn post_reset(v: &[f64], s: &[f64], op: &DaLifOp) -> Vec<f64> {
    v.iter()
        .zip(s)
        .map(|(&v, &s)| match op.reset {
            Reset::Hard => v * (1.0 - s),
            Reset::Soft => v - op.v_th * s,
        })
        .collect()
}

#[test]
fn layer_with_fused_kernel_matches_every_reference_vector() {
    check_layer_on(Device::flex().autodiff());
}

/// On libtorch the operation is the tensor-op fallback, through burn's dispatch and autodiff.
#[cfg(feature = "tch")]
#[test]
fn layer_on_libtorch_matches_every_reference_vector() {
    check_layer_on(Device::libtorch().autodiff());
}

/// On a wgpu device (a GPU, or a software Vulkan driver) the operation is the CubeCL kernel.
#[cfg(feature = "wgpu")]
#[test]
fn layer_on_wgpu_matches_every_reference_vector() {
    check_layer_on(Device::wgpu(burn::tensor::DeviceKind::default()).autodiff());
}

/// Runs every vector through the layer and autodiff on `device`.
fn check_layer_on(device: Device) {
    for vec in load_vectors() {
        let name = &vec.name;
        let op = vec.op();
        let param = vec.param();
        let (x, shape) = vec.tensor("x");
        let (g, _) = vec.tensor("g");
        let config = DaLifConfig::dalif()
            .with_param(param)
            .with_init(
                param.apply(vec.cfg_f64("w_a")),
                param.apply(vec.cfg_f64("w_b")),
            )
            .with_v_th(op.v_th)
            .with_reset(op.reset)
            .with_detach_reset(op.detach_reset)
            .with_surrogate(op.surrogate);
        let layer = config.init(&device).unwrap();
        let dims = shape.clone();
        let xt: Tensor<2> =
            tensor_from(&to_f32(&x), [dims[0], x.len() / dims[0]], &device).require_grad();
        let gt: Tensor<2> = tensor_from(&to_f32(&g), [dims[0], x.len() / dims[0]], &device);
        let out = layer.try_forward(xt.clone()).unwrap();
        let loss = (out.spikes.clone() * gt).sum();
        let grads = loss.clone().backward();

        let s = tensor_vec(out.spikes);
        let v = tensor_vec(out.potential);
        assert_eq!(s, vec.tensor("s").0, "{name}: spikes differ");
        assert_close(name, "V", &v, &vec.tensor("v").0, 1e-5);
        assert_close(
            name,
            "H",
            &post_reset(&v, &s, &op),
            &vec.tensor("h").0,
            1e-5,
        );
        assert_rel(name, "loss", tensor_vec(loss)[0], vec.scalar("loss"), 1e-5);
        let gx = tensor_vec(xt.grad(&grads).expect("x has a gradient"));
        assert_close(name, "dL/dX", &gx, &vec.tensor("grad_x").0, 1e-4);
        let gw = |w: &Option<burn::module::Param<Tensor<1>>>| {
            tensor_vec(
                w.as_ref()
                    .unwrap()
                    .val()
                    .grad(&grads)
                    .expect("weight has a gradient"),
            )[0]
        };
        assert_rel(
            name,
            "dL/dw_a",
            gw(&layer.w_a),
            vec.scalar("grad_w_a"),
            1e-4,
        );
        assert_rel(
            name,
            "dL/dw_b",
            gw(&layer.w_b),
            vec.scalar("grad_w_b"),
            1e-4,
        );
    }
}

#[test]
fn fallback_matches_every_reference_vector() {
    for vec in load_vectors() {
        let name = &vec.name;
        let op = vec.op();
        let (x, shape) = vec.tensor("x");
        let (g, _) = vec.tensor("g");
        let a = prim_f32(&[vec.cfg_f64("alpha") as f32], &[1]);
        let b = prim_f32(&[vec.cfg_f64("beta") as f32], &[1]);
        let (out, (gx, ga, gb)) = fallback(
            &prim_f32(&to_f32(&x), &shape),
            &a,
            &b,
            &prim_f32(&to_f32(&g), &shape),
            op,
        );
        assert_eq!(
            read_f64(&out.spikes),
            vec.tensor("s").0,
            "{name}: spikes differ"
        );
        assert_close(
            name,
            "V",
            &read_f64(&out.potential),
            &vec.tensor("v").0,
            1e-5,
        );
        assert_close(name, "dL/dX", &read_f64(&gx), &vec.tensor("grad_x").0, 1e-4);
        assert_rel(
            name,
            "dL/dalpha",
            read_f64(&ga)[0],
            vec.scalar("grad_alpha"),
            1e-4,
        );
        assert_rel(
            name,
            "dL/dbeta",
            read_f64(&gb)[0],
            vec.scalar("grad_beta"),
            1e-4,
        );
    }
}
