//! A checkpoint's `state.json`: `TrainState` as `RunDir::checkpoint` parses it.
use dalif::training::TrainState;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(text) = std::str::from_utf8(data)
            && let Ok(state) = serde_json::from_str::<TrainState>(text)
        {
            serde_json::to_string_pretty(&state).expect("a parsed state serialises");
        }
    });
}
