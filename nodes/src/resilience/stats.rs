//! What a queueing service measures as it runs: the figures of the report
//! (time in system, its percentiles and its confidence interval, the
//! time-averaged queue, utilisation) and the series over time (offered load,
//! goodput, refusals, p99 time in system, queue length).
//!
//! Figures are kept by the service itself, from true time (`ctx.now()`), and
//! never steer it. A request is *measured* if it arrived at or after the
//! warm-up; the time averages cover `warmup..now`.

use sim::histogram::Histogram;
use sim::time::{secs, Nanos};

/// Batches of the measured window for the confidence interval (batch means).
pub const BATCHES: usize = 20;

/// The most points a series has: the report prints 60.
const POINTS: u64 = 60;

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Every worker busy and the queue at its limit.
    QueueFull,
}

impl Refusal {
    pub fn name(self) -> &'static str {
        match self {
            Refusal::QueueFull => "queue full",
        }
    }
}

/// A service's measurements.
#[derive(Clone, Debug)]
pub struct Stats {
    warmup: Nanos,
    end: Nanos,
    /// The width of one point of a series.
    pub bucket: Nanos,
    /// Since the start (not only the measured window).
    pub arrived: u64,
    pub served: u64,
    pub refused_full: u64,
    /// Requests that arrived in the measured window, and those of them served.
    pub measured_arrived: u64,
    pub measured_served: u64,
    pub measured_refused: u64,
    /// Completions in the measured window (whenever the request arrived).
    pub done_in_window: u64,
    sum_sojourn: f64,
    sum_wait: f64,
    pub sojourn: Histogram,
    /// Per batch of arrival time: (sum of time in system, served).
    batches: [(f64, u64); BATCHES],
    /// The time integrals since the warm-up.
    areas: Areas,
    pub queue_max: usize,
    /// Per bucket of time.
    pub series_arrived: Vec<u64>,
    pub series_served: Vec<u64>,
    pub series_refused: Vec<u64>,
    pub series_queue_max: Vec<u64>,
    pub series_sojourn: Vec<Histogram>,
}

impl Stats {
    pub fn new(warmup: Nanos, end: Nanos) -> Stats {
        // Whole seconds per point, so that a run's series has at most 60.
        let bucket = end.div_ceil(secs(POINTS)).max(1) * secs(1);
        let n = end.div_ceil(bucket).max(1) as usize;
        Stats {
            warmup,
            end,
            bucket,
            arrived: 0,
            served: 0,
            refused_full: 0,
            measured_arrived: 0,
            measured_served: 0,
            measured_refused: 0,
            done_in_window: 0,
            sum_sojourn: 0.0,
            sum_wait: 0.0,
            sojourn: Histogram::new(),
            batches: [(0.0, 0); BATCHES],
            areas: Areas {
                last: warmup,
                area_system: 0.0,
                area_queue: 0.0,
                area_busy: 0.0,
            },
            queue_max: 0,
            series_arrived: vec![0; n],
            series_served: vec![0; n],
            series_refused: vec![0; n],
            series_queue_max: vec![0; n],
            series_sojourn: vec![Histogram::new(); n],
        }
    }

    fn point(&self, now: Nanos) -> usize {
        ((now / self.bucket) as usize).min(self.series_arrived.len() - 1)
    }

    /// Integrates the time averages up to `now`, with the state that held
    /// since the last change: `queued` waiting, `busy` workers.
    pub fn advance(&mut self, now: Nanos, queued: usize, busy: usize) {
        self.areas.advance(now, queued, busy);
    }

    /// A request arrived; `queued` is the queue's length after it was let in
    /// (or not).
    pub fn arrival(&mut self, now: Nanos, queued: usize) {
        self.arrived += 1;
        if now >= self.warmup {
            self.measured_arrived += 1;
            self.queue_max = self.queue_max.max(queued);
        }
        let p = self.point(now);
        self.series_arrived[p] += 1;
        self.series_queue_max[p] = self.series_queue_max[p].max(queued as u64);
    }

    pub fn refused(&mut self, now: Nanos, why: Refusal) {
        match why {
            Refusal::QueueFull => self.refused_full += 1,
        }
        if now >= self.warmup {
            self.measured_refused += 1;
        }
        let p = self.point(now);
        self.series_refused[p] += 1;
    }

    /// A request that arrived at `arrived` and reached a worker at `started`
    /// is done.
    pub fn served(&mut self, now: Nanos, arrived: Nanos, started: Nanos) {
        self.served += 1;
        let sojourn = now - arrived;
        if now >= self.warmup {
            self.done_in_window += 1;
        }
        if arrived >= self.warmup {
            self.measured_served += 1;
            self.sum_sojourn += sojourn as f64;
            self.sum_wait += (started - arrived) as f64;
            self.sojourn.record(sojourn);
            let span = (self.end - self.warmup).max(1);
            let b = (((arrived - self.warmup) as u128 * BATCHES as u128 / span as u128) as usize)
                .min(BATCHES - 1);
            self.batches[b].0 += sojourn as f64;
            self.batches[b].1 += 1;
        }
        let p = self.point(now);
        self.series_served[p] += 1;
        self.series_sojourn[p].record(sojourn);
    }

    /// The mean time in system of the measured requests served, in ns.
    pub fn mean_sojourn(&self) -> Option<f64> {
        (self.measured_served > 0).then(|| self.sum_sojourn / self.measured_served as f64)
    }

    pub fn mean_wait(&self) -> Option<f64> {
        (self.measured_served > 0).then(|| self.sum_wait / self.measured_served as f64)
    }

    /// The half-width of the 95% confidence interval of the mean time in
    /// system, by batch means: the measured window cut into 20 batches by
    /// arrival time, each batch's mean one nearly independent sample
    /// (Student's t with 19 degrees of freedom, 2.093). `None` if a batch
    /// is empty.
    pub fn half_width(&self) -> Option<f64> {
        if self.batches.iter().any(|b| b.1 == 0) {
            return None;
        }
        let means: Vec<f64> = self.batches.iter().map(|b| b.0 / b.1 as f64).collect();
        let n = means.len() as f64;
        let mean = means.iter().sum::<f64>() / n;
        let var = means.iter().map(|m| (m - mean) * (m - mean)).sum::<f64>() / (n - 1.0);
        Some(2.093 * (var / n).sqrt())
    }

    /// Time averages over `warmup..now`, the state since the last change
    /// being `queued` waiting and `busy` workers: (number in system,
    /// waiting, busy workers).
    pub fn averages(&self, now: Nanos, queued: usize, busy: usize) -> Option<(f64, f64, f64)> {
        let mut a = self.areas.clone();
        a.advance(now, queued, busy);
        if a.last <= self.warmup {
            return None;
        }
        let t = (a.last - self.warmup) as f64;
        Some((a.area_system / t, a.area_queue / t, a.area_busy / t))
    }
}

/// The time integrals of [`Stats`]: the number in system, waiting and
/// busy, integrated over time from the warm-up (ns x requests).
#[derive(Clone, Debug)]
struct Areas {
    last: Nanos,
    area_system: f64,
    area_queue: f64,
    area_busy: f64,
}

impl Areas {
    fn advance(&mut self, now: Nanos, queued: usize, busy: usize) {
        if now <= self.last {
            return;
        }
        let dt = (now - self.last) as f64;
        self.area_queue += queued as f64 * dt;
        self.area_busy += busy as f64 * dt;
        self.area_system += (queued + busy) as f64 * dt;
        self.last = now;
    }
}
