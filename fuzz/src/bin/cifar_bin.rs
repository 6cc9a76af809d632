//! CIFAR-10/100 binary batches and class-name files: `Cifar::from_files`, what
//! `Cifar::open` reads an extracted folder with. The first byte picks the data set and
//! which file the rest of the input is; the other file is a valid one.
use dalif_data::Dataset;
use dalif_data::formats::cifar::{Cifar, CifarKind};
use std::path::PathBuf;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((&mode, rest)) = data.split_first() else {
            return;
        };
        let kind = match mode % 3 {
            0 => CifarKind::Cifar10,
            1 => CifarKind::Cifar100 { coarse: false },
            _ => CifarKind::Cifar100 { coarse: true },
        };
        let names: String = (0..kind.classes()).map(|i| format!("class{i}\n")).collect();
        let record = if kind == CifarKind::Cifar10 {
            3073
        } else {
            3074
        };
        let (records, names) = if mode & 4 == 0 {
            (rest.to_vec(), names.into_bytes())
        } else {
            (vec![0; record], rest.to_vec())
        };
        let files = vec![
            (PathBuf::from("data_batch_1.bin"), records),
            (PathBuf::from(kind.names_file()), names),
        ];
        if let Ok(cifar) = Cifar::from_files(kind, files) {
            for i in 0..cifar.len().min(2) {
                let sample = cifar.get(i).expect("a listed sample reads");
                assert!(sample.label < kind.classes());
                assert_eq!(sample.data.len(), 3 * 32 * 32);
            }
        }
    });
}
