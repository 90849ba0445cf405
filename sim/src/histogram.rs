//! A histogram of durations for percentiles over millions of samples in
//! fixed memory: log-linear buckets (as HdrHistogram's), 64 per doubling, so
//! a percentile is off by at most 1/64 (1.6%) of its value, and exact below
//! 64ns.

use crate::time::Nanos;

/// Sub-buckets per power of two.
const SUB: usize = 64;
const SUB_BITS: u32 = 6;

/// Durations counted into log-linear buckets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: Nanos,
}

fn bucket(v: Nanos) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let top = 63 - v.leading_zeros(); // v >= 2^top
    let shift = top - SUB_BITS;
    let sub = (v >> shift) as usize - SUB; // 0..SUB
    (shift as usize + 1) * SUB + sub
}

/// The smallest value of bucket `b`.
fn low(b: usize) -> Nanos {
    if b < SUB {
        return b as Nanos;
    }
    let shift = (b / SUB - 1) as u32;
    ((SUB + b % SUB) as Nanos) << shift
}

impl Histogram {
    pub fn new() -> Histogram {
        Histogram::default()
    }

    pub fn record(&mut self, v: Nanos) {
        let b = bucket(v);
        if self.counts.len() <= b {
            self.counts.resize(b + 1, 0);
        }
        self.counts[b] += 1;
        self.total += 1;
        self.max = self.max.max(v);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> Nanos {
        self.max
    }

    /// The value at quantile `q` (0.99 for p99): the low end of the bucket
    /// holding the sample of that rank, never above the largest sample.
    /// `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<Nanos> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(low(b).min(self.max));
            }
        }
        Some(self.max)
    }

    /// Adds every sample of `other` (the same as recording each of them).
    pub fn merge(&mut self, other: &Histogram) {
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (c, o) in self.counts.iter_mut().zip(&other.counts) {
            *c += o;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    pub fn clear(&mut self) {
        self.counts.iter_mut().for_each(|c| *c = 0);
        self.total = 0;
        self.max = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_each_value_is_within_one_sixty_fourth() {
        let mut last = 0;
        for v in (0..100_000u64).chain([1 << 40, (1 << 40) + 12345, u64::MAX]) {
            let b = bucket(v);
            assert!(b >= last || v > 100_000);
            last = b;
            assert!(low(b) <= v, "{v}");
            assert!((v - low(b)) as f64 <= v as f64 / 64.0, "{v}");
        }
    }

    #[test]
    fn quantiles_come_from_the_rank() {
        let mut h = Histogram::new();
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5).unwrap();
        assert!((492_000..=500_000).contains(&p50), "{p50}");
        let p99 = h.quantile(0.99).unwrap();
        assert!((975_000..=990_000).contains(&p99), "{p99}");
        assert_eq!(
            h.quantile(1.0),
            Some(h.max()).map(|m| m.min(low(bucket(m))))
        );
        assert_eq!(Histogram::new().quantile(0.5), None);
    }
}
