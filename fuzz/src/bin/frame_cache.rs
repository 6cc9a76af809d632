//! Frame cache files: `FrameCache::decode`, what `FrameCache::get` checks a file with, for a
//! few frame shapes (the first byte picks one).
use dalif_data::cache::FrameCache;
use std::path::Path;

fn main() {
    let shapes = [[1, 1, 1, 1], [2, 2, 2, 2], [4, 2, 8, 8], [0, 2, 4, 4]];
    let caches: Vec<FrameCache> = shapes
        .iter()
        .map(|&s| FrameCache::new(Path::new("/nonexistent"), "fuzz", s))
        .collect();
    afl::fuzz!(|data: &[u8]| {
        let Some((&mode, rest)) = data.split_first() else {
            return;
        };
        let i = mode as usize % caches.len();
        if let Some((frames, _flags)) = caches[i].decode(rest) {
            assert_eq!(frames.len(), shapes[i].iter().product::<usize>());
        }
    });
}
