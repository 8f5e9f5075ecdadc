//! Keyed random draws: every draw of the forward projection is tied to what
//! it is about, not to its place in a sequence (common random numbers).
//!
//! A draw's key is (seed, run, purpose, customer or invoice, day, ...): the
//! purpose says what the draw decides ([`Purpose`]), the rest which
//! customer, invoice, day or action it is about. The key is hashed into a
//! 64-bit state by a chain of a bijective 64-bit mixer (the SplitMix64
//! finaliser), and the draws of a key are that state's counter 1, 2, 3, ...
//! mixed again: a counter-based generator, with nothing carried from one
//! draw to the next. So two policies projected from the same seed draw the
//! same numbers for the same customer, invoice, day and purpose whatever
//! else each of them did before, and a draw is the same at any thread
//! count and in any order of evaluation.

/// What a draw decides (a part of every key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Whether a customer buys on a day, and the amount it buys (customer, day).
    Sale = 1,
    /// When an invoice open at the as-of date is paid (invoice).
    PayOpen = 2,
    /// When an invoice the simulation issued is paid (customer, issue day).
    PayNew = 3,
    /// The outcome of an action: call answered, response and its delay,
    /// offer taken up, agency recovery (customer, day, kind, ordinal).
    Action = 4,
    /// A portfolio-wide factor shared by every customer of a run (week).
    Portfolio = 5,
    /// Whether a silent customer has stopped paying for the run (customer).
    Stopped = 6,
    /// A run's draw of a customer's behaviour parameters (customer): the
    /// bootstrap of `[learn] bootstrap`.
    Bootstrap = 7,
}

/// A bijective 64-bit mixer (the SplitMix64 finaliser).
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// The key of a run, or of a draw within it (hashed, so cheap to copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key(u64);

impl Key {
    /// Run `run` of the projection seeded by `seed`.
    pub fn run(seed: u64, run: u32) -> Key {
        Key(mix(mix(seed.wrapping_add(GOLDEN)) ^ u64::from(run).wrapping_mul(GOLDEN)))
    }

    /// This key narrowed by one more part.
    #[inline]
    pub fn with(self, part: u64) -> Key {
        self.with_part(Part::of(part))
    }

    /// This key narrowed by a part hashed beforehand: `with(x)` is
    /// `with_part(Part::of(x))`.
    #[inline]
    pub fn with_part(self, part: Part) -> Key {
        Key(mix(self.0 ^ part.0))
    }

    /// This key narrowed to `purpose`.
    #[inline]
    pub fn purpose(self, purpose: Purpose) -> Key {
        self.with(purpose as u64)
    }

    /// The draws of this key, from the first.
    #[inline]
    pub fn draws(self) -> Draws {
        Draws { key: self.0, n: 0 }
    }
}

/// A key part hashed once, for a part that narrows many keys (a customer's
/// number narrows its sale key of every day): [`Key::with_part`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part(u64);

impl Part {
    /// The part `x`.
    #[inline]
    pub fn of(x: u64) -> Part {
        Part(mix(x.wrapping_add(GOLDEN)))
    }
}

/// A day as a key part.
pub fn day_part(day: chrono::NaiveDate) -> u64 {
    use chrono::Datelike;
    u64::from(day.num_days_from_ce().cast_unsigned())
}

/// The draws of one key: the key's state with a counter, mixed.
#[derive(Debug, Clone)]
pub struct Draws {
    key: u64,
    n: u64,
}

impl Draws {
    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.n += 1;
        mix(self.key ^ mix(self.n.wrapping_mul(GOLDEN)))
    }

    /// Uniform in [0, 1) (53 bits).
    #[inline]
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `0..n` (`0` when `n` is 0), by a multiply-shift.
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws depend on the key only: the same key gives the same draws, a
    /// key differing in any part gives others; and they are uniform enough
    /// for a Monte Carlo (means and a chi-square over 10 cells).
    #[test]
    fn draws_depend_on_the_key_only_and_are_uniform() {
        let run = Key::run(42, 3);
        let a = run.purpose(Purpose::Sale).with(17).with(740_000);
        let first: Vec<u64> = {
            let mut d = a.draws();
            (0..4).map(|_| d.next_u64()).collect()
        };
        let mut again = run.purpose(Purpose::Sale).with_part(Part::of(17)).with(740_000).draws();
        assert_eq!(first, (0..4).map(|_| again.next_u64()).collect::<Vec<_>>());
        for other in [
            Key::run(42, 4).purpose(Purpose::Sale).with(17).with(740_000),
            Key::run(43, 3).purpose(Purpose::Sale).with(17).with(740_000),
            run.purpose(Purpose::PayNew).with(17).with(740_000),
            run.purpose(Purpose::Sale).with(18).with(740_000),
            run.purpose(Purpose::Sale).with(17).with(740_001),
        ] {
            assert_ne!(other.draws().next_u64(), first[0]);
        }
        // Uniformity across keys (one draw per customer, as sales draw).
        let n = 200_000u64;
        let mut cells = [0u64; 10];
        let mut sum = 0.0;
        for c in 0..n {
            let u = run.purpose(Purpose::Sale).with(c).with(740_000).draws().f64();
            assert!((0.0..1.0).contains(&u));
            sum += u;
            cells[(u * 10.0) as usize] += 1;
        }
        assert!((sum / n as f64 - 0.5).abs() < 0.005, "mean {}", sum / n as f64);
        let e = n as f64 / 10.0;
        let chi2: f64 = cells.iter().map(|&k| (k as f64 - e).powi(2) / e).sum();
        assert!(chi2 < 27.9, "chi-square {chi2} (9 degrees of freedom, p = 0.001)");
        let mut d = a.draws();
        let mut seen = [0u32; 7];
        for _ in 0..7_000 {
            seen[d.below(7)] += 1;
        }
        assert!(seen.iter().all(|&k| (850..1150).contains(&k)), "{seen:?}");
        assert_eq!(d.below(0), 0);
    }
}
