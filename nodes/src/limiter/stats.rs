//! What one limiter measures: when it let each request through, and why it
//! refused the others.

use sim::histogram::Histogram;
use sim::time::Nanos;

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The algorithm (local, or the counter's) said no.
    OverLimit,
    /// The counter did not answer in time and the limiter fails closed.
    CounterUnreachable,
}

#[derive(Clone, Debug)]
pub struct Stats {
    window: Nanos,
    pub arrived: u64,
    /// The time each allowed request passed the limiter, in order (behind
    /// a leaky bucket, when it left the queue).
    pub allowed: Vec<Nanos>,
    /// Of those, allowed because the counter did not answer (fail-open).
    pub allowed_unreachable: u64,
    pub refused_over: u64,
    pub refused_unreachable: u64,
    /// Refusals per fixed window, by the window's index.
    pub refused_per_window: Vec<u64>,
    /// From a request's arrival to its decision (or, behind a leaky
    /// bucket, to its leaving the queue), of every request decided.
    pub added: Histogram,
    pub added_sum: u128,
}

impl Stats {
    pub fn new(window: Nanos) -> Stats {
        Stats {
            window,
            arrived: 0,
            allowed: Vec::new(),
            allowed_unreachable: 0,
            refused_over: 0,
            refused_unreachable: 0,
            refused_per_window: Vec::new(),
            added: Histogram::new(),
            added_sum: 0,
        }
    }

    fn delay(&mut self, arrived: Nanos, decided: Nanos) {
        let d = decided.saturating_sub(arrived);
        self.added.record(d);
        self.added_sum += u128::from(d);
    }

    pub fn allow(&mut self, arrived: Nanos, at: Nanos) {
        self.allowed.push(at);
        self.delay(arrived, at);
    }

    pub fn refuse(&mut self, arrived: Nanos, now: Nanos, why: Refusal) {
        match why {
            Refusal::OverLimit => self.refused_over += 1,
            Refusal::CounterUnreachable => self.refused_unreachable += 1,
        }
        let k = (now / self.window) as usize;
        if self.refused_per_window.len() <= k {
            self.refused_per_window.resize(k + 1, 0);
        }
        self.refused_per_window[k] += 1;
        self.delay(arrived, now);
    }
}

/// What the allowed times of all limiters show against a limit of
/// `limit` per `window`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Allowed per aligned window `[k·window, (k+1)·window)`.
    pub per_window: Vec<u64>,
    /// The most allowed in any interval one window long, anywhere.
    pub sliding_max: u64,
    /// Where that interval ends (the last request in it).
    pub sliding_max_at: Nanos,
    /// Requests allowed when the window that ends with them already held
    /// `limit`: the ones a perfect limiter would have refused.
    pub over: u64,
}

impl Shape {
    /// `times` sorted.
    pub fn of(times: &[Nanos], window: Nanos, limit: u64, end: Nanos) -> Shape {
        let windows = end.div_ceil(window).max(1) as usize;
        let mut per_window = vec![0u64; windows];
        let (mut i, mut sliding_max, mut sliding_max_at, mut over) = (0, 0u64, 0, 0u64);
        for (j, &t) in times.iter().enumerate() {
            let k = (t / window) as usize;
            if per_window.len() <= k {
                per_window.resize(k + 1, 0);
            }
            per_window[k] += 1;
            // The interval (t - window, t]: one window long, ending at t.
            while times[i] + window <= t {
                i += 1;
            }
            let n = (j - i + 1) as u64;
            if n > sliding_max {
                sliding_max = n;
                sliding_max_at = t;
            }
            if n > limit {
                over += 1;
            }
        }
        Shape {
            per_window,
            sliding_max,
            sliding_max_at,
            over,
        }
    }
}
