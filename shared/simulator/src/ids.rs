//! Identifiers that look like the real ones and never repeat: the internal sort id that breaks
//! ties between events of one millisecond, request ids and bearer tokens.

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The splitmix64 finaliser: a bijection on `u64`, so distinct inputs give distinct outputs
/// that look random.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Hands out ids from a counter, scrambled so their order says nothing about insertion order
/// (like Elasticsearch's document ids), yet unique.
#[derive(Debug)]
pub(crate) struct IdSource {
    seed: u64,
    next: u64,
}

impl IdSource {
    pub fn new(seed: u64) -> Self {
        Self { seed, next: 0 }
    }

    fn next_u64(&mut self) -> u64 {
        self.next += 1;
        mix(self.next ^ mix(self.seed))
    }

    /// A 20-character base-62 id, like `DZrPyW8BNsa9iKWoOm7h`. The first 11 characters encode
    /// a bijective scramble of the counter, so ids never collide.
    pub fn sort_id(&mut self) -> String {
        let unique = self.next_u64();
        let filler = mix(unique);
        let mut id = base62(unique, 11);
        id.push_str(&base62(filler, 9));
        id
    }

    /// A request id shaped like a UUID.
    pub fn request_id(&mut self) -> String {
        let a = self.next_u64();
        let b = mix(a);
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }

    /// An opaque bearer token.
    pub fn token(&mut self) -> String {
        let parts: Vec<String> = (0..4).map(|_| base62(self.next_u64(), 11)).collect();
        parts.concat()
    }
}

/// `value` in base 62, left-padded with `0` to `width` characters (11 hold any `u64`).
fn base62(mut value: u64, width: usize) -> String {
    let mut digits = vec![b'0'; width];
    for slot in digits.iter_mut().rev() {
        *slot = ALPHABET[(value % 62) as usize];
        value /= 62;
    }
    String::from_utf8(digits).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn sort_ids_never_repeat_and_are_not_in_insertion_order() {
        let mut ids = IdSource::new(7);

        let made: Vec<String> = (0..10_000).map(|_| ids.sort_id()).collect();

        let unique: HashSet<_> = made.iter().collect();
        assert_eq!(unique.len(), made.len());
        assert!(made.iter().all(|id| id.len() == 20));
        let mut sorted = made.clone();
        sorted.sort();
        assert_ne!(sorted, made);
    }

    #[test]
    fn request_ids_look_like_uuids() {
        let mut ids = IdSource::new(1);

        let id = ids.request_id();

        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(id.matches('-').count(), 4, "{id}");
    }
}
