//! AutoAugment's operations against Pillow's own outputs on the same image
//! (`scripts/pillow_autoaugment_reference.py` wrote them).

use dalif_data::auto_augment::{ImageOp, PlanarRgb};
use serde::Deserialize;

#[derive(Deserialize)]
struct Reference {
    pillow: String,
    width: usize,
    height: usize,
    input: Vec<u8>,
    ops: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    op: String,
    arg: Option<f64>,
    output: Vec<u8>,
}

fn op(case: &Case) -> ImageOp {
    let arg = || case.arg.expect("the operation has an argument");
    match case.op.as_str() {
        "Invert" => ImageOp::Invert,
        "Posterize" => ImageOp::Posterize(arg() as u8),
        "Solarize" => ImageOp::Solarize(arg()),
        "AutoContrast" => ImageOp::AutoContrast,
        "Equalize" => ImageOp::Equalize,
        "Brightness" => ImageOp::Brightness(arg() as f32),
        "Color" => ImageOp::Color(arg() as f32),
        "Contrast" => ImageOp::Contrast(arg() as f32),
        "Sharpness" => ImageOp::Sharpness(arg() as f32),
        "TranslateX" => ImageOp::TranslateX(arg()),
        "TranslateY" => ImageOp::TranslateY(arg()),
        "ShearX" => ImageOp::ShearX(arg()),
        "ShearY" => ImageOp::ShearY(arg()),
        "Rotate" => ImageOp::Rotate(arg()),
        other => panic!("unknown operation {other}"),
    }
}

#[test]
fn every_operation_matches_pillow() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/pillow_autoaugment.json"
    );
    let reference: Reference =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut failures = Vec::new();
    for case in &reference.ops {
        let mut img = PlanarRgb {
            width: reference.width,
            height: reference.height,
            data: reference.input.clone(),
        };
        op(case).apply(&mut img);
        let differ = img
            .data
            .iter()
            .zip(&case.output)
            .filter(|(a, b)| a != b)
            .count();
        if differ > 0 {
            let worst = img
                .data
                .iter()
                .zip(&case.output)
                .map(|(&a, &b)| (a as i32 - b as i32).abs())
                .max();
            failures.push(format!(
                "{} {:?}: {differ} values differ, by up to {worst:?}",
                case.op, case.arg
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "against Pillow {}:\n{}",
        reference.pillow,
        failures.join("\n")
    );
}
