//! The random source of one customer: ChaCha8 seeded from the ledger seed and
//! the customer index, so every customer's history is the same whatever chunk
//! or thread renders it. The helpers are total: an empty range yields its
//! lower end instead of panicking.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Exp1, StandardNormal};

/// Random draws for one customer.
pub struct Dice(ChaCha8Rng);

impl Dice {
    /// The generator of customer `index` (0-based) in the ledger of `seed`.
    pub fn for_customer(seed: u64, index: u64) -> Self {
        Dice(ChaCha8Rng::seed_from_u64(splitmix64(splitmix64(seed) ^ index)))
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        self.0.random::<f64>()
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform integer in `lo..=hi`; `lo` when `hi < lo`.
    pub fn int(&mut self, lo: i32, hi: i32) -> i32 {
        if hi <= lo { lo } else { self.0.random_range(lo..=hi) }
    }

    /// Uniform real in `[lo, hi)`.
    pub fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Standard normal.
    pub fn normal(&mut self) -> f64 {
        self.0.sample(StandardNormal)
    }

    /// Exponential with the given mean.
    pub fn exp(&mut self, mean: f64) -> f64 {
        let e: f64 = self.0.sample(Exp1);
        mean * e
    }

    /// A lognormal factor with median 1: `exp(sigma · z)`.
    pub fn lognormal(&mut self, sigma: f64) -> f64 {
        (sigma * self.normal()).exp()
    }

    /// A lognormal factor with mean 1: `exp(sigma · z − sigma² / 2)`.
    pub fn spread(&mut self, sigma: f64) -> f64 {
        (sigma * self.normal() - sigma * sigma / 2.0).exp()
    }

    /// One of `items`, uniformly.
    pub fn one_of<T: Copy, const N: usize>(&mut self, items: &[T; N]) -> T {
        const { assert!(N > 0, "a list to choose from needs at least one entry") };
        items[self.int(0, N as i32 - 1) as usize]
    }

    /// One value from a table of `(value, weight)`; weights need not sum to 1.
    pub fn pick<T: Copy, const N: usize>(&mut self, table: &[(T, f64); N]) -> T {
        const { assert!(N > 0, "a weighted table needs at least one entry") };
        let mut r = self.unit() * table.iter().map(|&(_, w)| w).sum::<f64>();
        for &(value, weight) in table {
            if r < weight {
                return value;
            }
            r -= weight;
        }
        table[N - 1].0
    }
}

/// The splitmix64 finaliser: decorrelates nearby seeds and indexes.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(seed: u64, index: u64) -> Vec<i32> {
        let mut d = Dice::for_customer(seed, index);
        (0..4).map(|_| d.int(0, i32::MAX)).collect()
    }

    #[test]
    fn customers_get_distinct_reproducible_streams() {
        assert_eq!(draws(7, 3), draws(7, 3));
        assert_ne!(draws(7, 3), draws(7, 4));
        assert_ne!(draws(7, 3), draws(8, 3));
    }

    #[test]
    fn helpers_are_total() {
        let mut d = Dice::for_customer(1, 1);
        assert_eq!(d.int(5, 5), 5);
        assert_eq!(d.int(9, 2), 9);
        assert_eq!(d.pick(&[('a', 0.0), ('b', 0.0)]), 'b');
        for _ in 0..1000 {
            let v = d.int(-3, 3);
            assert!((-3..=3).contains(&v));
            assert!(d.exp(2.0) >= 0.0);
        }
    }
}
