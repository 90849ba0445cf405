//! How long a caller waits before it tries again: the retry policies of
//! Brooker, "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015).
//!
//! With `base` and `cap`, before retry `n` (the first retry is `n = 1`):
//!
//! - none: no wait at all;
//! - fixed: `base`;
//! - exponential: `min(cap, base * 2^(n-1))`;
//! - full jitter: uniform in `[0, min(cap, base * 2^(n-1))]`;
//! - equal jitter: half of that, plus uniform in `[0, half]`;
//! - decorrelated jitter: `min(cap, uniform in [base, 3 * previous])`, the
//!   previous wait starting at `base`.
//!
//! Backoff without jitter spaces a caller's own retries but not its retries
//! from everyone else's: callers that failed together retry together, and
//! collide again. Jitter spreads them.

use rand::Rng;
use serde::Deserialize;
use sim::time::Nanos;

/// A retry policy's shape.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    /// Retry at once.
    None,
    /// Always wait `base`.
    Fixed,
    /// Double the wait each retry, up to `cap`.
    #[default]
    Exponential,
    /// Exponential, then a uniform draw below it.
    Full,
    /// Exponential, half kept and half drawn.
    Equal,
    /// Each wait drawn between `base` and three times the last.
    Decorrelated,
}

/// The names a scenario may write, for error messages.
pub const BACKOFFS: &str =
    "\"none\", \"fixed\", \"exponential\", \"full\", \"equal\" or \"decorrelated\"";

impl Backoff {
    pub fn name(self) -> &'static str {
        match self {
            Backoff::None => "none",
            Backoff::Fixed => "fixed",
            Backoff::Exponential => "exponential",
            Backoff::Full => "full jitter",
            Backoff::Equal => "equal jitter",
            Backoff::Decorrelated => "decorrelated jitter",
        }
    }

    /// The wait before retry `retry` (1 for the first), given the previous
    /// wait `previous` (0 before the first retry), drawing from `rng`.
    pub fn delay<R: Rng + ?Sized>(
        self,
        base: Nanos,
        cap: Nanos,
        retry: u32,
        previous: Nanos,
        rng: &mut R,
    ) -> Nanos {
        // Doubling past 2^40 base is past any cap a scenario can name.
        let exp = || {
            base.saturating_mul(1u64 << (retry.saturating_sub(1)).min(40))
                .min(cap)
        };
        match self {
            Backoff::None => 0,
            Backoff::Fixed => base.min(cap),
            Backoff::Exponential => exp(),
            Backoff::Full => rng.gen_range(0..=exp()),
            Backoff::Equal => {
                let t = exp();
                t / 2 + rng.gen_range(0..=t / 2)
            }
            Backoff::Decorrelated => {
                let previous = previous.max(base);
                let hi = previous.saturating_mul(3).max(base);
                rng.gen_range(base..=hi).min(cap)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use sim::time::ms;

    #[test]
    fn exponential_doubles_from_base_and_stops_at_the_cap() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let waits: Vec<Nanos> = (1..=6)
            .map(|n| Backoff::Exponential.delay(ms(10), ms(200), n, 0, &mut rng))
            .collect();
        assert_eq!(waits, [ms(10), ms(20), ms(40), ms(80), ms(160), ms(200)]);
    }

    #[test]
    fn full_jitter_stays_below_the_exponential_wait_and_equal_jitter_above_its_half() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for n in 1..=8 {
            let exp = Backoff::Exponential.delay(ms(10), ms(500), n, 0, &mut rng);
            for _ in 0..100 {
                let full = Backoff::Full.delay(ms(10), ms(500), n, 0, &mut rng);
                assert!(full <= exp);
                let equal = Backoff::Equal.delay(ms(10), ms(500), n, 0, &mut rng);
                assert!(equal >= exp / 2 && equal <= exp, "{equal} {exp}");
            }
        }
    }

    #[test]
    fn decorrelated_jitter_draws_between_base_and_three_times_the_last_wait_under_the_cap() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut last = 0;
        for n in 1..=50 {
            let d = Backoff::Decorrelated.delay(ms(10), ms(300), n, last, &mut rng);
            assert!(
                d >= ms(10) && d <= ms(300) && d <= 3 * last.max(ms(10)),
                "{d}"
            );
            last = d;
        }
    }
}
