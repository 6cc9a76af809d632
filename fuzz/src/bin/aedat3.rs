//! AEDAT 3.1 (DVS128 Gesture recordings): `formats::aedat3::parse`.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(events) = dalif_data::formats::aedat3::parse(data) {
            // Every event comes from 8 bytes of the input.
            assert!(events.len() <= data.len() / 8);
        }
    });
}
