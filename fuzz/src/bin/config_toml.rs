//! A run's `config.toml` (and a preset file, the same form) through `RunDir::open`, which
//! reads and parses it; a configuration that parses must also serialise back, as
//! `RunDir::create` and `dalif export` write it.
use dalif::run::{RunConfig, RunDir};

fn main() {
    let dir = dalif_fuzz::scratch("config_toml");
    afl::fuzz!(|data: &[u8]| {
        std::fs::write(dir.join("config.toml"), data).unwrap();
        if let Ok((_, config)) = RunDir::open(&dir) {
            let text = toml::to_string(&config).expect("a parsed configuration serialises");
            let _: RunConfig = toml::from_str(&text).expect("a written configuration parses");
        }
    });
}
