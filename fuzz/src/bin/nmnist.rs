//! The ATIS 40-bit event format (N-MNIST, N-Caltech101): `formats::nmnist::parse`.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(events) = dalif_data::formats::nmnist::parse(data) {
            assert!(events.len() <= data.len() / 5);
        }
    });
}
