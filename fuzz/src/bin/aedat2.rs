//! AEDAT 2.0 (CIFAR10-DVS recordings): `formats::aedat2::parse`.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(events) = dalif_data::formats::aedat2::parse(data) {
            assert!(events.x.iter().chain(&events.y).all(|&c| c < 128));
        }
    });
}
