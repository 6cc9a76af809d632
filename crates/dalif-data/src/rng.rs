//! SplitMix64: a tiny, well-mixed generator, so that splits, synthetic recordings and
//! augmentations depend on their seed alone, on every platform and thread count.

/// The SplitMix64 generator (Steele, Lea and Flood 2014): a 64-bit state advanced by a constant
/// and mixed by a bijective finaliser.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A generator for item `index` of stream `stream` (an epoch, say) under `seed`, independent
    /// of the order in which items are drawn.
    pub fn for_item(seed: u64, stream: u64, index: u64) -> Self {
        let mut mix = Self(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        let base = mix.next_u64();
        Self(base ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// The next output: `s <- s + 0x9E3779B97F4A7C15`, then Stafford's variant 13 of
    /// MurmurHash3's 64-bit finaliser applied to `s`.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `[0, 1)`, from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// So that `rand_distr`'s distributions (the Beta of mixup) draw from it.
impl rand_core::RngCore for SplitMix64 {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        SplitMix64::next_u64(self)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let bytes = SplitMix64::next_u64(self).to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}
