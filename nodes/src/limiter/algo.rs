//! The five local algorithms, each a small state machine that answers one
//! question: may a request arriving now pass?
//!
//! All arithmetic is in integers (nanoseconds times counts, in `u128`), so
//! that a token bucket's fractional tokens and a sliding window's weighted
//! estimate come out the same on every machine and never drift.

use std::collections::VecDeque;

use sim::time::Nanos;

use super::params::{Algorithm, Config};

/// What the algorithm says about one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// It passes at `at`: now, except behind a leaky bucket's queue.
    Allow {
        at: Nanos,
    },
    Refuse,
}

/// One algorithm's state.
#[derive(Clone, Debug)]
pub enum Algo {
    /// `tokens` is in token-nanoseconds (tokens times `window`), so that a
    /// refill of `elapsed · limit` is exact: one token is `window` units.
    TokenBucket {
        limit: u64,
        window: Nanos,
        burst: u64,
        tokens: u128,
        last: Nanos,
    },
    /// The queue variant (the bucket holds requests, not a counter): a
    /// request joins a queue of at most `burst` and leaves when the bucket
    /// drains it, one every `window / limit`. `free` is the time the bucket
    /// next drains, in nanoseconds times `limit` (exact spacing).
    LeakyBucket {
        limit: u64,
        window: Nanos,
        burst: u64,
        free: u128,
    },
    FixedWindow {
        limit: u64,
        window: Nanos,
        current: u64,
        count: u64,
    },
    /// The times of the requests allowed in the last `window`.
    SlidingLog {
        limit: u64,
        window: Nanos,
        log: VecDeque<Nanos>,
    },
    SlidingWindow {
        limit: u64,
        window: Nanos,
        current: u64,
        count: u64,
        previous: u64,
    },
}

impl Algo {
    pub fn new(c: &Config) -> Algo {
        let (limit, window, burst) = (c.limit, c.window, c.burst);
        match c.algorithm {
            // A bucket starts full: a fresh limiter allows a burst at once.
            Algorithm::TokenBucket => Algo::TokenBucket {
                limit,
                window,
                burst,
                tokens: u128::from(burst) * u128::from(window),
                last: 0,
            },
            Algorithm::LeakyBucket => Algo::LeakyBucket {
                limit,
                window,
                burst,
                free: 0,
            },
            Algorithm::FixedWindow => Algo::FixedWindow {
                limit,
                window,
                current: 0,
                count: 0,
            },
            Algorithm::SlidingLog => Algo::SlidingLog {
                limit,
                window,
                log: VecDeque::new(),
            },
            Algorithm::SlidingWindow => Algo::SlidingWindow {
                limit,
                window,
                current: 0,
                count: 0,
                previous: 0,
            },
        }
    }

    /// Requests this algorithm allowed in the fixed window holding `now`
    /// (for `synced`, which shares them); 0 for the others.
    pub fn window_count(&self, now: Nanos) -> u64 {
        match *self {
            Algo::FixedWindow {
                window,
                current,
                count,
                ..
            } if now / window == current => count,
            _ => 0,
        }
    }

    /// Decides a request arriving at `now`. `others` is what other
    /// limiters are known to have allowed in this fixed window (`synced`
    /// only; the other algorithms ignore it).
    pub fn admit(&mut self, now: Nanos, others: u64) -> Decision {
        let allow = Decision::Allow { at: now };
        match self {
            Algo::TokenBucket {
                limit,
                window,
                burst,
                tokens,
                last,
            } => {
                let cap = u128::from(*burst) * u128::from(*window);
                let refill = u128::from(now.saturating_sub(*last)) * u128::from(*limit);
                *tokens = (*tokens + refill).min(cap);
                *last = now;
                let one = u128::from(*window);
                if *tokens >= one {
                    *tokens -= one;
                    allow
                } else {
                    Decision::Refuse
                }
            }
            Algo::LeakyBucket {
                limit,
                window,
                burst,
                free,
            } => {
                let (limit, window) = (u128::from(*limit), u128::from(*window));
                let arrive = u128::from(now) * limit;
                let leave = arrive.max(*free);
                // The requests that would be waiting, this one included:
                // each holds one drain interval (`window` in these units)
                // before it leaves. One that leaves at once never waits.
                let waiting = (leave - arrive).div_ceil(window);
                if waiting > u128::from(*burst) {
                    return Decision::Refuse;
                }
                *free = leave + window;
                Decision::Allow {
                    at: leave.div_ceil(limit) as Nanos,
                }
            }
            Algo::FixedWindow {
                limit,
                window,
                current,
                count,
            } => {
                let k = now / *window;
                if k != *current {
                    *current = k;
                    *count = 0;
                }
                if *count + others < *limit {
                    *count += 1;
                    allow
                } else {
                    Decision::Refuse
                }
            }
            Algo::SlidingLog { limit, window, log } => {
                // The window is (now - window, now]: an entry exactly one
                // window old has left it.
                while log.front().is_some_and(|&t| t + *window <= now) {
                    log.pop_front();
                }
                if (log.len() as u64) < *limit {
                    log.push_back(now);
                    allow
                } else {
                    Decision::Refuse
                }
            }
            Algo::SlidingWindow {
                limit,
                window,
                current,
                count,
                previous,
            } => {
                let k = now / *window;
                if k == *current + 1 {
                    *previous = *count;
                    *count = 0;
                } else if k > *current + 1 {
                    *previous = 0;
                    *count = 0;
                }
                *current = k;
                // Cloudflare's estimate, times `window` to stay in integers:
                // previous · (window - elapsed) / window + count < limit.
                let w = u128::from(*window);
                let elapsed = u128::from(now - k * *window);
                let estimate = u128::from(*previous) * (w - elapsed) + u128::from(*count) * w;
                if estimate + w <= u128::from(*limit) * w {
                    *count += 1;
                    allow
                } else {
                    Decision::Refuse
                }
            }
        }
    }
}
