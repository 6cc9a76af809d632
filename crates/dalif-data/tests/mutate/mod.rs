//! A small seeded mutation loop for the parser property tests (here and in `dalif`'s tests,
//! which include this file): valid seed files, mutated the way a fuzzer does (bit flips,
//! interesting values, splices, truncations), and random bytes; every input must parse to a
//! value or an error, quickly, without allocating more than a bound of its size. The
//! coverage-guided version of the same is `fuzz/` (`scripts/fuzz`).

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// The system allocator, recording the largest single allocation of each thread.
pub struct Tracking;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

/// dalif's seeded generator with the loop's sizes, so a failure reproduces from its seed.
pub struct Rng(dalif_data::rng::SplitMix64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(dalif_data::rng::SplitMix64::new(seed))
    }
    pub fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// Uniform in `0..n`; 0 for `n = 0` (an empty input).
    pub fn below(&mut self, n: usize) -> usize {
        self.0.below(n.max(1) as u64) as usize
    }
}

const INTERESTING: [u32; 10] = [
    0,
    1,
    0x7F,
    0x80,
    0xFF,
    0x7FFF,
    0xFFFF,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
];

/// `seed` with one to four random mutations.
pub fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = b.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                b[i] = rng.next() as u8;
            }
            2 if len >= 4 => {
                // An interesting 32-bit value, either endianness (length fields).
                let i = rng.below(len - 3);
                let v = INTERESTING[rng.below(INTERESTING.len())];
                let bytes = if rng.below(2) == 0 {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                };
                b[i..i + 4].copy_from_slice(&bytes);
            }
            3 if len > 0 => b.truncate(rng.below(len)),
            4 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below((len - i).min(64)) + 1;
                b.drain(i..i + n);
            }
            5 if len > 0 => {
                // Duplicate a chunk somewhere else.
                let i = rng.below(len);
                let n = rng.below((len - i).min(64)) + 1;
                let chunk = b[i..i + n].to_vec();
                let at = rng.below(len + 1);
                b.splice(at..at, chunk);
            }
            6 => {
                let at = rng.below(len + 1);
                let n = rng.below(16) + 1;
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                b.splice(at..at, bytes);
            }
            7 if len > 0 => {
                let i = rng.below(len);
                b[i] = INTERESTING[rng.below(5)] as u8;
            }
            _ => {
                let at = rng.below(len + 1);
                let text = [
                    &b"\n"[..],
                    b",",
                    b"#",
                    b"-1",
                    b"999999999999999999999",
                    b"\"",
                    b"=",
                ];
                b.splice(at..at, text[rng.below(text.len())].iter().copied());
            }
        }
    }
    b
}

/// Runs `parse` on `rounds` mutations of the seeds and on random byte strings: no panic, no
/// call slower than `slow`, and no single allocation above `bound(input length)`. `name`
/// and the failing input (hex) are in the failure message.
pub fn check(
    name: &str,
    seeds: &[Vec<u8>],
    rounds: usize,
    bound: impl Fn(usize) -> usize,
    slow: Duration,
    parse: impl Fn(&[u8]),
) {
    let mut rng = Rng::new(0xDA11F ^ name.len() as u64);
    let start = Instant::now();
    for round in 0..rounds {
        let input = if seeds.is_empty() || round % 8 == 7 {
            let n = rng.below(256);
            (0..n).map(|_| rng.next() as u8).collect()
        } else {
            mutate(&seeds[round % seeds.len()], &mut rng)
        };
        let allowed = bound(input.len());
        LARGEST.with(|l| l.set(0));
        let t = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| parse(&input)));
        let took = t.elapsed();
        let largest = LARGEST.with(|l| l.get());
        let show = || hex(&input);
        assert!(result.is_ok(), "{name}: panicked on {}", show());
        assert!(took < slow, "{name}: {took:?} on {}", show());
        assert!(
            largest <= allowed,
            "{name}: allocated {largest} bytes at once (bound {allowed}) for {} input bytes: {}",
            input.len(),
            show()
        );
    }
    eprintln!("{name}: {rounds} inputs in {:?}", start.elapsed());
}

/// At most 512 bytes of `bytes` in hex, for failure messages.
pub fn hex(bytes: &[u8]) -> String {
    let shown: String = bytes.iter().take(512).map(|b| format!("{b:02x}")).collect();
    if bytes.len() > 512 {
        format!("{shown}... ({} bytes)", bytes.len())
    } else {
        shown
    }
}

/// What `f` returns, and the largest single allocation it made.
pub fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    let out = f();
    (out, LARGEST.with(|l| l.get()))
}
