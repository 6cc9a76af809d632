//! The official CIFAR `.tar.gz`: `cifar::archive_files` (what `Cifar::open` reads an
//! archive with), then `Cifar::from_files` on what it found, for CIFAR-10 and CIFAR-100.
use dalif_data::Dataset;
use dalif_data::formats::cifar::{Cifar, CifarKind, archive_files};
use std::path::Path;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        for kind in [CifarKind::Cifar10, CifarKind::Cifar100 { coarse: false }] {
            let mut names = kind.files(false);
            names.push(kind.names_file().into());
            let Ok(files) = archive_files(Path::new("fuzz.tar.gz"), data, &names) else {
                continue;
            };
            if let Ok(cifar) = Cifar::from_files(kind, files)
                && !cifar.is_empty()
            {
                cifar.get(0).expect("a listed sample reads");
            }
        }
    });
}
