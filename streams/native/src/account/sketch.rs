//! The two bounded samples of a profile: bottom-k items by stable hash and a KMV counter.

use crate::minhash::stable_hash64;

pub const U32: u64 = 0xFFFF_FFFF;

/// The k items with the smallest stable hash, in first-seen order: two accounts drawing
/// from one pool keep the same sample.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BottomK {
    pub items: Vec<(Box<str>, u64)>,
}

impl BottomK {
    /// A sample of restored items (kept in order while they fit, as `BottomK.__init__`).
    pub fn from_items(k: usize, items: Vec<String>) -> Self {
        let mut sample = BottomK::default();
        if items.len() <= k {
            for item in items {
                if !sample.contains(&item) {
                    let h = stable_hash64(&item);
                    sample.items.push((item.into_boxed_str(), h));
                }
            }
        } else {
            for item in items {
                sample.add(k, &item);
            }
        }
        sample
    }

    fn contains(&self, item: &str) -> bool {
        self.items.iter().any(|(i, _)| &**i == item)
    }

    /// Offer an item; true when the sample changed.
    pub fn add(&mut self, k: usize, item: &str) -> bool {
        if self.contains(item) {
            return false;
        }
        let h = stable_hash64(item);
        if self.items.len() < k {
            self.items.push((item.into(), h));
            return true;
        }
        // the first item of the largest hash, as Python's max() picks it
        let mut worst = 0;
        for (i, (_, hash)) in self.items.iter().enumerate() {
            if *hash > self.items[worst].1 {
                worst = i;
            }
        }
        if self.items.is_empty() || h >= self.items[worst].1 {
            return false;
        }
        self.items.remove(worst);
        self.items.push((item.into(), h));
        true
    }

    /// The items sorted (alert evidence lists them so).
    pub fn sorted(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.items.iter().map(|(i, _)| &**i).collect();
        v.sort_unstable();
        v
    }
}

/// K-minimum-values distinct counter over 32-bit hashes (exact below k); ascending.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Kmv {
    pub hashes: Vec<u32>,
}

impl Kmv {
    pub fn from_hashes(mut hashes: Vec<u32>) -> Self {
        hashes.sort_unstable();
        Kmv { hashes }
    }

    pub fn add(&mut self, k: usize, item: &str) {
        let h = (stable_hash64(item) & U32) as u32;
        let hashes = &mut self.hashes;
        match hashes.binary_search(&h) {
            Ok(_) => {}
            Err(at) => {
                if hashes.len() < k {
                    hashes.insert(at, h);
                } else if hashes.last().is_some_and(|&last| h < last) {
                    hashes.insert(at, h);
                    hashes.pop();
                }
            }
        }
    }

    pub fn estimate(&self, k: usize) -> f64 {
        let hashes = &self.hashes;
        if hashes.len() < k {
            return hashes.len() as f64;
        }
        let last = *hashes.last().expect("k >= 1 hashes") as f64;
        (k as f64 - 1.0) / ((last + 1.0) / (U32 as f64 + 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bottom_k_keeps_the_smallest_hashes() {
        let mut s = BottomK::default();
        let items: Vec<String> = (0..50).map(|i| format!("item{i}")).collect();
        for item in &items {
            s.add(3, item);
        }
        let mut hashes: Vec<u64> = items.iter().map(|i| stable_hash64(i)).collect();
        hashes.sort_unstable();
        let mut kept: Vec<u64> = s.items.iter().map(|(_, h)| *h).collect();
        kept.sort_unstable();
        assert_eq!(kept, hashes[..3]);
        assert!(!s.add(3, &items[0]) || s.items.len() == 3);
    }

    #[test]
    fn kmv_is_exact_below_k() {
        let mut k = Kmv::default();
        for i in 0..5 {
            k.add(12, &format!("x{i}"));
            k.add(12, &format!("x{i}"));
        }
        assert_eq!(k.estimate(12), 5.0);
    }
}
