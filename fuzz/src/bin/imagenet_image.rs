//! ImageNet image files: `imagenet::decode_image` (decoded by content), then the evaluation
//! and training views the data set computes from it. A PNG is tried as given and with its
//! chunk checksums repaired (so that mutations get past them).
use dalif_data::formats::imagenet::{decode_image, eval_view, train_view};
use dalif_data::rng::SplitMix64;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let mut repaired = data.to_vec();
        dalif_fuzz::fix_png_crcs(&mut repaired);
        let _ = decode_image(data);
        if let Ok(img) = decode_image(&repaired) {
            let mut rng = SplitMix64::new(data.len() as u64);
            for size in [1, 7, 32] {
                if let Ok(view) = eval_view(&img, size) {
                    assert_eq!((view.width(), view.height()), (size, size));
                }
                let view = train_view(&img, size, &mut rng);
                assert_eq!((view.width(), view.height()), (size, size));
            }
        }
    });
}
