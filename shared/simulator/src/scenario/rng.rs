//! Deterministic randomness and identifiers for the scenario: the same seed and stream name
//! always give the same numbers, so a corpus can be regenerated exactly from its seed.

use chrono::{DateTime, Duration, Utc};

/// A small counter-based generator (splitmix64). Not for cryptography; only for choosing
/// names, times and addresses reproducibly.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// A generator for one named stream of one seed. Streams with different names (or
    /// indexes, such as the day number) are independent of each other.
    pub fn new(seed: u64, stream: &str, index: u64) -> Self {
        let mut state = mix(seed ^ 0x6a63_7761_7463_6800);
        for byte in stream.bytes() {
            state = mix(state ^ u64::from(byte));
        }
        Self {
            state: mix(state ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// A number in `0..n` (`n` must be positive).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A number in `lo..=hi`.
    pub fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// A duration between `lo` and `hi` minutes, to the second.
    pub fn minutes(&mut self, lo: i64, hi: i64) -> Duration {
        Duration::seconds(self.between(lo * 60, hi * 60))
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / ((1u64 << 53) as f64)) < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `count` distinct indexes of `0..len`, in random order.
    pub fn sample_indexes(&mut self, len: usize, count: usize) -> Vec<usize> {
        let mut all: Vec<usize> = (0..len).collect();
        for i in 0..count.min(len) {
            let j = i + self.below((len - i) as u64) as usize;
            all.swap(i, j);
        }
        all.truncate(count.min(len));
        all
    }
}

/// The splitmix64 finaliser: a bijection on `u64` that scatters nearby inputs.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Hands out MongoDB-style object ids (24 hex digits: four bytes of seconds, five bytes
/// fixed per source, a three-byte counter), which is what Directory Insights uses for most
/// event ids and every directory object. The counter makes ids from one source unique; the
/// per-source bytes keep sources apart.
#[derive(Debug)]
pub(crate) struct ObjectIds {
    source: u64,
    counter: u32,
}

impl ObjectIds {
    pub fn new(rng: &mut Rng) -> Self {
        Self {
            source: rng.next_u64() & 0xff_ffff_ffff,
            counter: (rng.next_u64() & 0xff_ffff) as u32,
        }
    }

    pub fn at(&mut self, at: DateTime<Utc>) -> String {
        self.counter = (self.counter + 1) & 0xff_ffff;
        format!(
            "{:08x}{:010x}{:06x}",
            at.timestamp() as u32,
            self.source,
            self.counter
        )
    }
}

/// An uppercase UUID as the RADIUS service writes its event ids
/// (`E5223E70-F3DB-3CB4-B452-96FC2259B9EE`).
pub(crate) fn upper_uuid(rng: &mut Rng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08X}-{:04X}-3{:03X}-{:04X}-{:012X}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}
