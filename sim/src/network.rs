//! The network: a latency distribution, a loss and a duplication probability per
//! directed link, partitions, and clogged links.
//!
//! Reordering is not a separate knob: it falls out of jitter, because two
//! messages on a link draw their latencies independently. A FIFO link (TCP-like)
//! never delivers a message before one sent earlier on the same link.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, LogNormal, Normal, Pareto};
use serde::{Deserialize, Serialize};

use crate::time::{serde_duration, Nanos};

/// How long a message takes on a link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "kebab-case", deny_unknown_fields)]
pub enum LatencyDist {
    Constant {
        #[serde(with = "serde_duration")]
        value: Nanos,
    },
    Uniform {
        #[serde(with = "serde_duration")]
        min: Nanos,
        #[serde(with = "serde_duration")]
        max: Nanos,
    },
    /// Normal, clamped at `min` (default 0) so no message arrives before it left.
    Normal {
        #[serde(with = "serde_duration")]
        mean: Nanos,
        #[serde(with = "serde_duration")]
        stddev: Nanos,
        #[serde(default, with = "serde_duration")]
        min: Nanos,
    },
    /// `min` plus an exponential with the given mean.
    Exponential {
        #[serde(with = "serde_duration")]
        mean: Nanos,
        #[serde(default, with = "serde_duration")]
        min: Nanos,
    },
    /// Heavy tail: lognormal with this median and shape `sigma` (1.0 is heavy).
    Lognormal {
        #[serde(with = "serde_duration")]
        median: Nanos,
        sigma: f64,
    },
    /// Heavy tail: pareto with scale (the minimum) and shape `alpha` (smaller is
    /// heavier; below 2 the variance is infinite). Capped at 1000x the scale.
    Pareto {
        #[serde(with = "serde_duration")]
        scale: Nanos,
        alpha: f64,
    },
}

/// The most a single message may be delayed: a bound that keeps the event queue
/// finite however heavy a tail is.
pub const MAX_LATENCY: Nanos = 3_600 * 1_000_000_000;

impl LatencyDist {
    /// Checks parameters once, so sampling cannot fail.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            LatencyDist::Uniform { min, max } if min > max => {
                Err(format!("uniform latency: min ({min}ns) is above max ({max}ns)"))
            }
            LatencyDist::Lognormal { sigma, .. } if !(sigma > 0.0 && sigma <= 5.0) => {
                Err(format!("lognormal sigma = {sigma}: must be above 0 and at most 5"))
            }
            LatencyDist::Pareto { alpha, scale } if !(alpha > 0.0 && alpha <= 100.0) || scale == 0 => Err(format!(
                "pareto alpha = {alpha}, scale = {scale}ns: alpha must be above 0 (at most 100), scale above 0"
            )),
            _ => Ok(()),
        }
    }

    /// The range `chaoslab explore` delivers a message within when the
    /// scenario gives no `[explore] latency`: the whole range of a constant
    /// or uniform latency; for the others a range that holds most draws
    /// (normal: the mean give or take two deviations; exponential: up to
    /// three means past its minimum; lognormal: a quarter to four times the
    /// median; pareto: up to ten times the scale).
    pub fn window(&self) -> (Nanos, Nanos) {
        match *self {
            LatencyDist::Constant { value } => (value, value),
            LatencyDist::Uniform { min, max } => (min, max),
            LatencyDist::Normal { mean, stddev, min } => (
                min.max(mean.saturating_sub(2 * stddev)),
                min.max(mean.saturating_add(2 * stddev)),
            ),
            LatencyDist::Exponential { mean, min } => (min, min.saturating_add(3 * mean)),
            LatencyDist::Lognormal { median, .. } => (median / 4, median.saturating_mul(4)),
            LatencyDist::Pareto { scale, .. } => (scale, scale.saturating_mul(10)),
        }
    }

    /// The mean, roughly: used to estimate a client's round trip for PACELC.
    pub fn mean(&self) -> f64 {
        match *self {
            LatencyDist::Constant { value } => value as f64,
            LatencyDist::Uniform { min, max } => (min + max) as f64 / 2.0,
            LatencyDist::Normal { mean, min, .. } => (mean.max(min)) as f64,
            LatencyDist::Exponential { mean, min } => (mean + min) as f64,
            LatencyDist::Lognormal { median, sigma } => median as f64 * (sigma * sigma / 2.0).exp(),
            LatencyDist::Pareto { scale, alpha } => {
                if alpha > 1.0 {
                    scale as f64 * alpha / (alpha - 1.0)
                } else {
                    scale as f64 * 10.0
                }
            }
        }
    }

    /// One draw (at every message sent: the constant and uniform draws, the
    /// common ones, are inlined; the others' set-up is not).
    #[inline]
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> Nanos {
        match *self {
            LatencyDist::Constant { value } => value,
            LatencyDist::Uniform { min, max } => rng.gen_range(min..=max),
            _ => self.sample_shaped(rng),
        }
    }

    #[inline(never)]
    fn sample_shaped(&self, rng: &mut ChaCha8Rng) -> Nanos {
        let v: f64 = match *self {
            LatencyDist::Constant { value } => return value,
            LatencyDist::Uniform { min, max } => return rng.gen_range(min..=max),
            LatencyDist::Normal { mean, stddev, min } => {
                let n = Normal::new(mean as f64, stddev as f64).expect("stddev is finite");
                n.sample(rng).max(min as f64)
            }
            LatencyDist::Exponential { mean, min } => {
                if mean == 0 {
                    min as f64
                } else {
                    let e = Exp::new(1.0 / mean as f64).expect("rate is positive");
                    min as f64 + e.sample(rng)
                }
            }
            LatencyDist::Lognormal { median, sigma } => {
                let l = LogNormal::new((median.max(1) as f64).ln(), sigma).expect("validated");
                l.sample(rng)
            }
            LatencyDist::Pareto { scale, alpha } => {
                let p = Pareto::new(scale as f64, alpha).expect("validated");
                p.sample(rng).min(scale as f64 * 1000.0)
            }
        };
        (v.max(0.0) as Nanos).min(MAX_LATENCY)
    }
}

/// One directed link's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    pub latency: LatencyDist,
    pub loss: f64,
    pub duplicate: f64,
    /// Held: messages wait until the link is unclogged, then go on.
    pub clogged: bool,
    /// For FIFO links: the latest delivery time scheduled so far.
    pub last_delivery: Nanos,
}

/// Why a message was not delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    Partition,
    Loss,
    DestinationCrashed,
    SenderCrashed,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Partition => "partition",
            DropReason::Loss => "loss",
            DropReason::DestinationCrashed => "destination-crashed",
            DropReason::SenderCrashed => "sender-crashed",
        }
    }
}

/// Every directed link between `n` nodes, and which are cut by partitions.
#[derive(Debug)]
pub struct Net {
    n: usize,
    links: Vec<Link>,
    /// `cut[from * n + to]`: a partition drops messages on this link.
    cut: Vec<bool>,
    pub fifo: bool,
}

impl Clone for Net {
    fn clone(&self) -> Self {
        Net {
            n: self.n,
            links: self.links.clone(),
            cut: self.cut.clone(),
            fifo: self.fifo,
        }
    }

    /// Reuses the buffers (the explorer copies a run's network at every
    /// choice it makes).
    fn clone_from(&mut self, src: &Self) {
        // Every field, by name: one added later fails to compile here.
        let Net {
            n,
            links,
            cut,
            fifo,
        } = src;
        self.n = *n;
        self.links.clone_from(links);
        self.cut.clone_from(cut);
        self.fifo = *fifo;
    }
}

impl Net {
    /// Whether `other` is the same network: every link's settings and cut,
    /// and their FIFO order (a state's hash writes a network the same as
    /// the scenario's as a mark: see `Sim::state_hash`).
    pub fn same_as(&self, other: &Net) -> bool {
        // Every field by name: one added later fails to compile here until
        // it is compared (a field left out would merge different states).
        let Net {
            n,
            links,
            cut,
            fifo,
        } = self;
        *n == other.n && *fifo == other.fifo && *cut == other.cut && *links == other.links
    }

    pub fn new(n: usize, base: impl Fn(usize, usize) -> Link, fifo: bool) -> Self {
        let mut links = Vec::with_capacity(n * n);
        for from in 0..n {
            for to in 0..n {
                links.push(base(from, to));
            }
        }
        Net {
            n,
            links,
            cut: vec![false; n * n],
            fifo,
        }
    }

    pub fn size(&self) -> usize {
        self.n
    }

    pub fn link(&self, from: usize, to: usize) -> &Link {
        &self.links[from * self.n + to]
    }

    pub fn link_mut(&mut self, from: usize, to: usize) -> &mut Link {
        &mut self.links[from * self.n + to]
    }

    pub fn is_cut(&self, from: usize, to: usize) -> bool {
        self.cut[from * self.n + to]
    }

    pub fn set_cut(&mut self, from: usize, to: usize, cut: bool) {
        self.cut[from * self.n + to] = cut;
    }

    pub fn heal(&mut self) {
        self.cut.iter_mut().for_each(|c| *c = false);
    }

    pub fn any_cut(&self) -> bool {
        self.cut.iter().any(|c| *c)
    }

    /// Can `from` reach `to` and hear back? (Both directions uncut.)
    pub fn connected(&self, a: usize, b: usize) -> bool {
        a == b || (!self.is_cut(a, b) && !self.is_cut(b, a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_distribution_samples_within_its_bounds() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let dists = [
            LatencyDist::Constant { value: 5 },
            LatencyDist::Uniform { min: 10, max: 20 },
            LatencyDist::Normal {
                mean: 100,
                stddev: 50,
                min: 0,
            },
            LatencyDist::Exponential { mean: 100, min: 10 },
            LatencyDist::Lognormal {
                median: 100,
                sigma: 1.0,
            },
            LatencyDist::Pareto {
                scale: 100,
                alpha: 1.5,
            },
        ];
        for d in &dists {
            d.validate().unwrap();
            for _ in 0..1000 {
                let v = d.sample(&mut rng);
                assert!(v <= MAX_LATENCY);
                match d {
                    LatencyDist::Constant { value } => assert_eq!(v, *value),
                    LatencyDist::Uniform { min, max } => assert!((*min..=*max).contains(&v)),
                    LatencyDist::Exponential { min, .. } => assert!(v >= *min),
                    LatencyDist::Pareto { scale, .. } => assert!(v >= *scale && v <= scale * 1000),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn bad_parameters_are_refused_before_sampling() {
        assert!(LatencyDist::Uniform { min: 5, max: 1 }.validate().is_err());
        assert!(LatencyDist::Pareto {
            scale: 0,
            alpha: 1.0
        }
        .validate()
        .is_err());
        assert!(LatencyDist::Lognormal {
            median: 5,
            sigma: -1.0
        }
        .validate()
        .is_err());
    }
}
