//! What the balancer measures as it runs: requests in and out, refusals by
//! reason, each backend's share, response times as the balancer sees them,
//! ejections, and the series over time. Figures are kept from true time
//! (`ctx.now()`) and never steer the balancer.

use sim::histogram::Histogram;
use sim::time::{secs, Nanos};

use super::Refusal;

/// The most points a series has: the report prints 60.
const POINTS: u64 = 60;

#[derive(Clone, Debug)]
pub struct Stats {
    warmup: Nanos,
    /// The width of one point of a series.
    pub bucket: Nanos,
    /// Requests that arrived at the balancer in the measured window.
    pub arrived: u64,
    /// Of those, answered by a backend; refused, by reason.
    pub served: u64,
    pub no_backend: u64,
    pub queue_full: u64,
    pub timed_out: u64,
    /// Served in the measured window, whenever they arrived (goodput).
    pub done_in_window: u64,
    /// Requests of the measured window sent to each backend.
    pub sent: Vec<u64>,
    /// Arrival at the balancer to the backend's reply at the balancer.
    sum_response: f64,
    pub response: Histogram,
    pub ejections: u64,
    pub unhealthy_marks: u64,
    pub series_served: Vec<u64>,
    pub series_failed: Vec<u64>,
    pub series_response: Vec<Histogram>,
    /// The fewest backends in rotation at any moment of each point.
    pub series_in_rotation: Vec<u64>,
}

impl Stats {
    pub fn new(warmup: Nanos, end: Nanos, backends: usize) -> Stats {
        let bucket = end.div_ceil(secs(POINTS)).max(1) * secs(1);
        let n = end.div_ceil(bucket).max(1) as usize;
        Stats {
            warmup,
            bucket,
            arrived: 0,
            served: 0,
            no_backend: 0,
            queue_full: 0,
            timed_out: 0,
            done_in_window: 0,
            sent: vec![0; backends],
            sum_response: 0.0,
            response: Histogram::new(),
            ejections: 0,
            unhealthy_marks: 0,
            series_served: vec![0; n],
            series_failed: vec![0; n],
            series_response: vec![Histogram::new(); n],
            series_in_rotation: vec![backends as u64; n],
        }
    }

    fn point(&self, now: Nanos) -> usize {
        ((now / self.bucket) as usize).min(self.series_served.len() - 1)
    }

    pub fn arrival(&mut self, arrived: Nanos) {
        if arrived >= self.warmup {
            self.arrived += 1;
        }
    }

    pub fn dispatched(&mut self, arrived: Nanos, backend: usize) {
        if arrived >= self.warmup {
            self.sent[backend] += 1;
        }
    }

    /// A request that arrived at `arrived` was answered by its backend.
    pub fn served(&mut self, now: Nanos, arrived: Nanos) {
        let took = now - arrived;
        if now >= self.warmup {
            self.done_in_window += 1;
        }
        if arrived >= self.warmup {
            self.served += 1;
            self.sum_response += took as f64;
            self.response.record(took);
        }
        let p = self.point(now);
        self.series_served[p] += 1;
        self.series_response[p].record(took);
    }

    pub fn failed(&mut self, now: Nanos, arrived: Nanos, why: Refusal) {
        if arrived >= self.warmup {
            match why {
                Refusal::NoBackend => self.no_backend += 1,
                Refusal::QueueFull => self.queue_full += 1,
                Refusal::Timeout => self.timed_out += 1,
            }
        }
        let p = self.point(now);
        self.series_failed[p] += 1;
    }

    /// `live` backends are in rotation from `now`.
    pub fn in_rotation(&mut self, now: Nanos, live: usize) {
        let p = self.point(now);
        self.series_in_rotation[p] = self.series_in_rotation[p].min(live as u64);
    }

    pub fn mean_response(&self) -> Option<f64> {
        (self.served > 0).then(|| self.sum_response / self.served as f64)
    }
}
