//! The balancing policies: given which backends are in rotation and how
//! many requests each has outstanding, which one takes the next request.

use rand::Rng;
use sim::node::NodeId;
use sim::rand_chacha::ChaCha8Rng;

use super::params::{Config, Policy};
use crate::ring::{key_hash, Ring};

/// A policy and the little state it keeps between picks.
#[derive(Clone, Debug)]
pub struct Picker {
    policy: Policy,
    weights: Vec<u32>,
    naive_weights: bool,
    /// Round robin's (and least outstanding's tie-break) next position.
    cursor: usize,
    /// Smooth weighted round robin's current weights.
    current: Vec<i64>,
    /// Consistent hashing's ring of backends (`NodeId(b + 1)` is backend b).
    ring: Option<Ring>,
}

impl Picker {
    pub fn new(c: &Config) -> Picker {
        let ring = (c.policy == Policy::ConsistentHash)
            .then(|| Ring::new((0..c.backends).map(|b| NodeId(b as u32 + 1)), c.vnodes));
        Picker {
            policy: c.policy,
            weights: c.weights.clone(),
            naive_weights: c.naive_weights,
            cursor: 0,
            current: vec![0; c.backends],
            ring,
        }
    }

    /// The backend for a request with `key`, among those for which
    /// `up[b]`, with `outstanding[b]` requests each; `None` if none is up.
    pub fn pick(
        &mut self,
        up: &[bool],
        outstanding: &[u32],
        key: u64,
        rng: &mut ChaCha8Rng,
    ) -> Option<usize> {
        let n = up.len();
        let live = up.iter().filter(|&&u| u).count();
        if live == 0 {
            return None;
        }
        match self.policy {
            Policy::RoundRobin => {
                let b = (0..n).map(|i| (self.cursor + i) % n).find(|&b| up[b])?;
                self.cursor = (b + 1) % n;
                Some(b)
            }
            Policy::WeightedRoundRobin if self.naive_weights => Some(self.naive(up, rng)),
            Policy::WeightedRoundRobin => Some(self.smooth(up)),
            Policy::Random => Some(nth_up(up, rng.gen_range(0..live))),
            Policy::LeastOutstanding => {
                // The fewest outstanding; among equals the first from a
                // rotating start, so that an idle fleet is used in turn
                // rather than always from n2.
                let b = (0..n)
                    .map(|i| (self.cursor + i) % n)
                    .filter(|&b| up[b])
                    .min_by_key(|&b| outstanding[b])?;
                self.cursor = (b + 1) % n;
                Some(b)
            }
            Policy::TwoChoices => {
                if live == 1 {
                    return Some(nth_up(up, 0));
                }
                // Two distinct backends, uniformly; the less loaded wins,
                // the first drawn on a tie.
                let i = rng.gen_range(0..live);
                let mut j = rng.gen_range(0..live - 1);
                if j >= i {
                    j += 1;
                }
                let (a, b) = (nth_up(up, i), nth_up(up, j));
                Some(if outstanding[b] < outstanding[a] {
                    b
                } else {
                    a
                })
            }
            Policy::ConsistentHash => {
                let ring = self.ring.as_ref()?;
                let h = key_hash(&format!("key-{key}"));
                // The owner if it is up, else the next backend clockwise
                // that is: only the down backend's keys move.
                match ring.owner_of_hash(h) {
                    Some(o) if up[o.index() - 1] => Some(o.index() - 1),
                    _ => ring
                        .walk(&format!("key-{key}"))
                        .into_iter()
                        .map(|o| o.index() - 1)
                        .find(|&b| up[b]),
                }
            }
        }
    }

    /// nginx's smooth weighted round robin: every backend up gains its
    /// weight, the one with the most current weight is picked and loses
    /// the total. Weights 3:2:1 give a b a c b a, in that proportion and
    /// spread out, rather than a a a b b c.
    fn smooth(&mut self, up: &[bool]) -> usize {
        let mut total = 0i64;
        let mut best: Option<usize> = None;
        for b in (0..up.len()).filter(|&b| up[b]) {
            let w = i64::from(self.weights[b]);
            self.current[b] += w;
            total += w;
            if best.is_none_or(|x| self.current[b] > self.current[x]) {
                best = Some(b);
            }
        }
        let b = best.expect("a backend is up");
        self.current[b] -= total;
        b
    }

    /// The bug: offer each backend in turn with chance weight/total and
    /// take the first that accepts, falling back to the first backend. The
    /// chance should be weight / (the weight not yet offered): with the
    /// total, later backends are starved and what nobody took piles onto
    /// the first. Weights 3:2:1 give 1/2 + 5/18 = 77.8%, 1/2·2/6 = 16.7%
    /// and 1/2·2/3·1/6 = 5.6%, not 50/33/17.
    fn naive(&mut self, up: &[bool], rng: &mut ChaCha8Rng) -> usize {
        let live: Vec<usize> = (0..up.len()).filter(|&b| up[b]).collect();
        // The weights are checked to be 1 to a million each, at most 126 of
        // them: the sum stays under 2^27, far from overflowing u32, and is
        // never 0. (A u64 draw would change the lesson's seeded figures.)
        let total: u32 = live.iter().map(|&b| self.weights[b]).sum();
        for &b in &live {
            if rng.gen_range(0..total) < self.weights[b] {
                return b;
            }
        }
        live[0]
    }
}

/// The `i`-th backend that is up.
fn nth_up(up: &[bool], i: usize) -> usize {
    if up.iter().all(|&u| u) {
        return i;
    }
    up.iter()
        .enumerate()
        .filter(|(_, &u)| u)
        .nth(i)
        .map(|(b, _)| b)
        .expect("i is below the number up")
}
