//! MinHash signatures over 64-bit token hashes, the one implementation
//! (`streams.sketches.minhash` and template extraction call it).
//!
//! `stable_hash64` is the 8-byte BLAKE2b of the UTF-8 token read little-endian; the
//! permutation coefficients come from numpy's `Generator(PCG64(seed))` (`SeedSequence`
//! seeding, `integers(0, 2**64, dtype=uint64)`), reimplemented here so that the same
//! `(num_perm, seed)` gives the same family without numpy.

use blake2::digest::{Update, VariableOutput};
use blake2::Blake2bVar;

/// The value of every slot of the empty set's signature.
pub const MAX_HASH: u32 = u32::MAX;

const MIX_MULT: u64 = 0x9E37_79B9_7F4A_7C15;
const SPLITMIX_1: u64 = 0xBF58_476D_1CE4_E5B9;
const SPLITMIX_2: u64 = 0x94D0_49BB_1331_11EB;

/// 8-byte BLAKE2b digest (digest size 8 in the parameter block, as `hashlib.blake2b`).
pub fn blake2b8(data: &[u8]) -> [u8; 8] {
    let mut hasher = Blake2bVar::new(8).expect("8 is a valid BLAKE2b output size");
    hasher.update(data);
    let mut out = [0u8; 8];
    hasher
        .finalize_variable(&mut out)
        .expect("the buffer has the requested size");
    out
}

/// `hashlib.blake2b(data, digest_size=8).hexdigest()`.
pub fn digest_hex(data: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(16);
    for b in blake2b8(data) {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

/// `streams.sketches.minhash.stable_hash64`.
pub fn stable_hash64(token: &str) -> u64 {
    u64::from_le_bytes(blake2b8(token.as_bytes()))
}

/// Hashes of all contiguous n-grams (`n >= 1`), mixed from the token hashes without
/// re-hashing text; position-sensitive, so `a b` != `b a`.
pub fn combine_ngrams(hashes: &[u64], n: usize) -> Vec<u64> {
    assert!(n >= 1, "n-gram size must be >= 1");
    if hashes.len() < n {
        return Vec::new();
    }
    let count = hashes.len() - n + 1;
    if n == 1 {
        return hashes.to_vec();
    }
    (0..count)
        .map(|i| {
            let mut acc = hashes[i].wrapping_mul(MIX_MULT).wrapping_add(hashes[i + 1]);
            acc ^= acc >> 29;
            for offset in 2..n {
                acc = acc.wrapping_mul(MIX_MULT).wrapping_add(hashes[i + offset]);
                acc ^= acc >> 29;
            }
            acc
        })
        .collect()
}

/// splitmix64 finaliser of one value: a bijection whose outputs look uniform.
#[inline]
pub fn scramble(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(SPLITMIX_1);
    x ^= x >> 27;
    x = x.wrapping_mul(SPLITMIX_2);
    x ^= x >> 31;
    x
}

/// numpy's `SeedSequence(entropy).generate_state(n_words64, uint64)` for an integer entropy.
fn seed_sequence_state(entropy: u64, n_words64: usize) -> Vec<u64> {
    const INIT_A: u32 = 0x43b0_d7e5;
    const MULT_A: u32 = 0x931e_8875;
    const INIT_B: u32 = 0x8b51_f9dd;
    const MULT_B: u32 = 0x58f3_8ded;
    const MIX_MULT_L: u32 = 0xca01_f9dd;
    const MIX_MULT_R: u32 = 0x4973_f715;
    const XSHIFT: u32 = 16;
    const POOL: usize = 4;

    let mut words: Vec<u32> = Vec::new();
    let mut n = entropy;
    if n == 0 {
        words.push(0);
    }
    while n > 0 {
        words.push(n as u32);
        n >>= 32;
    }
    let mut hash_const = INIT_A;
    let mut hashmix = |value: u32| -> u32 {
        let mut value = value ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_A);
        value = value.wrapping_mul(hash_const);
        value ^ (value >> XSHIFT)
    };
    let mix = |x: u32, y: u32| -> u32 {
        let r = MIX_MULT_L
            .wrapping_mul(x)
            .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
        r ^ (r >> XSHIFT)
    };
    let mut pool = [0u32; POOL];
    for (i, slot) in pool.iter_mut().enumerate() {
        *slot = hashmix(words.get(i).copied().unwrap_or(0));
    }
    for src in 0..POOL {
        for dst in 0..POOL {
            if src != dst {
                let h = hashmix(pool[src]);
                pool[dst] = mix(pool[dst], h);
            }
        }
    }
    for &word in words.iter().skip(POOL) {
        for slot in pool.iter_mut() {
            let h = hashmix(word);
            *slot = mix(*slot, h);
        }
    }
    let mut hash_const = INIT_B;
    let state32: Vec<u32> = (0..n_words64 * 2)
        .map(|i| {
            let mut v = pool[i % POOL] ^ hash_const;
            hash_const = hash_const.wrapping_mul(MULT_B);
            v = v.wrapping_mul(hash_const);
            v ^ (v >> XSHIFT)
        })
        .collect();
    state32
        .chunks(2)
        .map(|w| u64::from(w[0]) | (u64::from(w[1]) << 32))
        .collect()
}

/// numpy's `PCG64` bit generator (PCG XSL RR 128/64).
struct Pcg64 {
    state: u128,
    inc: u128,
}

impl Pcg64 {
    const MULT: u128 = 0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645;

    fn from_seed(seed: u64) -> Self {
        let s = seed_sequence_state(seed, 4);
        let init_state = (u128::from(s[0]) << 64) | u128::from(s[1]);
        let init_seq = (u128::from(s[2]) << 64) | u128::from(s[3]);
        let mut rng = Pcg64 {
            state: 0,
            inc: (init_seq << 1) | 1,
        };
        rng.step();
        rng.state = rng.state.wrapping_add(init_state);
        rng.step();
        rng
    }

    fn step(&mut self) {
        self.state = self.state.wrapping_mul(Self::MULT).wrapping_add(self.inc);
    }

    fn next_u64(&mut self) -> u64 {
        self.step();
        let hi = (self.state >> 64) as u64;
        let lo = self.state as u64;
        (hi ^ lo).rotate_right((self.state >> 122) as u32)
    }
}

/// `streams.sketches.minhash.MinHasher`: `num_perm` multiply-shift permutations of scrambled hashes.
#[derive(Clone, Debug)]
pub struct MinHasher {
    a: Vec<u64>,
    b: Vec<u64>,
}

impl MinHasher {
    pub fn new(num_perm: usize, seed: u64) -> Self {
        assert!(num_perm >= 1, "num_perm must be >= 1");
        let mut rng = Pcg64::from_seed(seed);
        // integers(0, 2**64, dtype=uint64) draws whole 64-bit outputs: a first, then b.
        let a = (0..num_perm).map(|_| rng.next_u64() | 1).collect();
        let b = (0..num_perm).map(|_| rng.next_u64()).collect();
        MinHasher { a, b }
    }

    pub fn num_perm(&self) -> usize {
        self.a.len()
    }

    pub fn empty(&self) -> Vec<u32> {
        vec![MAX_HASH; self.a.len()]
    }

    /// Signature of a set given as 64-bit hashes; the empty set gives `empty()`.
    pub fn signature_from_hashes(&self, hashes: &[u64]) -> Vec<u32> {
        let mut mins = vec![u64::MAX; self.a.len()];
        for &h in hashes {
            let x = scramble(h);
            for ((m, &a), &b) in mins.iter_mut().zip(&self.a).zip(&self.b) {
                let v = a.wrapping_mul(x).wrapping_add(b) >> 32;
                if v < *m {
                    *m = v;
                }
            }
        }
        if hashes.is_empty() {
            return self.empty();
        }
        mins.into_iter().map(|m| m as u32).collect()
    }

    /// Signature of the 1..`shingle_size`-grams of a token-hash sequence, as
    /// template extraction stores in `TemplateMatch.minhash`.
    pub fn signature_of_tokens(&self, token_hashes: &[u64], shingle_size: usize) -> Vec<u32> {
        if token_hashes.is_empty() {
            return self.empty();
        }
        let mut values = token_hashes.to_vec();
        for n in 2..=shingle_size {
            values.extend(combine_ngrams(token_hashes, n));
        }
        self.signature_from_hashes(&values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_sequence_matches_numpy() {
        // np.random.SeedSequence(1).generate_state(4, np.uint64)
        assert_eq!(
            seed_sequence_state(1, 4),
            [
                7434755675892716031,
                10007452063617845036,
                5266248848659119178,
                15045448681910192573
            ]
        );
    }

    #[test]
    fn pcg64_matches_numpy() {
        // np.random.Generator(np.random.PCG64(1)).integers(0, 1 << 64, size=3, dtype=np.uint64)
        let mut rng = Pcg64::from_seed(1);
        let got: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(
            got,
            [0x8306bdf37922e4ff, 0xf35196bbc152a866, 0x24e7a4f608ec18cd]
        );
    }

    #[test]
    fn hashes_match_hashlib() {
        // hashlib.blake2b(b"", digest_size=8).hexdigest()
        assert_eq!(digest_hex(b""), "e4a6a0577479b2b4");
        assert_eq!(
            stable_hash64(""),
            u64::from_le_bytes([0xe4, 0xa6, 0xa0, 0x57, 0x74, 0x79, 0xb2, 0xb4])
        );
    }

    #[test]
    fn ngrams_are_position_sensitive() {
        let ab = combine_ngrams(&[1, 2], 2);
        let ba = combine_ngrams(&[2, 1], 2);
        assert_eq!(ab.len(), 1);
        assert_ne!(ab, ba);
        assert!(combine_ngrams(&[1], 2).is_empty());
    }

    #[test]
    fn empty_set_is_the_sentinel() {
        let h = MinHasher::new(8, 1);
        assert_eq!(h.signature_of_tokens(&[], 2), vec![MAX_HASH; 8]);
        assert_ne!(h.signature_of_tokens(&[1, 2, 3], 2), vec![MAX_HASH; 8]);
    }
}
