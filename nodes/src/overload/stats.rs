//! What the callers measure: operations and their outcomes, attempts (and
//! so amplification), refusals by reason, and goodput over time. Kept from
//! true time and never steering the callers.

use sim::histogram::Histogram;
use sim::time::{secs, Nanos};

use super::params::MAX_BACKENDS;

/// Why an attempt did not succeed, or why an operation was not retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Failure {
    /// No answer within the timeout.
    TimedOut,
    /// The service's queue was full.
    QueueFull,
    /// The service dropped it: its deadline had passed before a worker took it.
    Expired,
    /// Another attempt committed between this one's read and its commit.
    Conflict,
    /// The caller's own breaker refused to send it.
    BreakerOpen,
    /// The retry budget had no token left.
    Budget,
    /// The operation's deadline had passed.
    Deadline,
    /// It had made its `max_attempts`.
    Exhausted,
}

/// Every reason, in the report's order.
pub const FAILURES: [Failure; 8] = [
    Failure::TimedOut,
    Failure::QueueFull,
    Failure::Expired,
    Failure::Conflict,
    Failure::BreakerOpen,
    Failure::Budget,
    Failure::Deadline,
    Failure::Exhausted,
];

impl Failure {
    pub fn name(self) -> &'static str {
        match self {
            Failure::TimedOut => "timed out",
            Failure::QueueFull => "queue full",
            Failure::Expired => "deadline passed in the queue",
            Failure::Conflict => "conflict",
            Failure::BreakerOpen => "breaker open",
            Failure::Budget => "retry budget spent",
            Failure::Deadline => "operation deadline passed",
            Failure::Exhausted => "attempts exhausted",
        }
    }

    fn index(self) -> usize {
        FAILURES.iter().position(|f| *f == self).unwrap_or(0)
    }
}

/// The most points a series has.
const POINTS: u64 = 60;

/// A caller's measurements.
#[derive(Clone, Debug)]
pub struct CallerStats {
    window: (Nanos, Nanos),
    pub bucket: Nanos,
    pub operations: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub attempts: u64,
    /// Answers that came after the caller had stopped waiting for them
    /// (and of those, the ones that were served: wasted work).
    pub late: u64,
    pub late_served: u64,
    /// Attempts that failed, by reason (the first four), and operations
    /// that ended without success, by the reason they stopped.
    pub attempt_failures: [u64; 8],
    pub ended_by: [u64; 8],
    pub succeeded_in_window: u64,
    /// Per backend (with a front): operations started, and succeeded.
    pub by_kind: [(u64, u64); MAX_BACKENDS],
    /// When the last operation ended.
    pub last_end: Nanos,
    pub latency: Histogram,
    pub series_started: Vec<u64>,
    pub series_attempts: Vec<u64>,
    pub series_succeeded: Vec<u64>,
}

impl CallerStats {
    pub fn new(window: (Nanos, Nanos), end: Nanos) -> CallerStats {
        let bucket = bucket(end);
        let n = end.div_ceil(bucket).max(1) as usize;
        CallerStats {
            window,
            bucket,
            operations: 0,
            succeeded: 0,
            failed: 0,
            attempts: 0,
            late: 0,
            late_served: 0,
            attempt_failures: [0; 8],
            ended_by: [0; 8],
            succeeded_in_window: 0,
            by_kind: [(0, 0); MAX_BACKENDS],
            last_end: 0,
            latency: Histogram::new(),
            series_started: vec![0; n],
            series_attempts: vec![0; n],
            series_succeeded: vec![0; n],
        }
    }

    fn point(&self, now: Nanos) -> usize {
        ((now / self.bucket) as usize).min(self.series_started.len() - 1)
    }

    pub fn started(&mut self, now: Nanos, kind: u8) {
        self.operations += 1;
        self.by_kind[kind as usize % MAX_BACKENDS].0 += 1;
        let p = self.point(now);
        self.series_started[p] += 1;
    }

    pub fn attempt(&mut self, now: Nanos) {
        self.attempts += 1;
        let p = self.point(now);
        self.series_attempts[p] += 1;
    }

    pub fn attempt_failed(&mut self, why: Failure) {
        self.attempt_failures[why.index()] += 1;
    }

    pub fn succeeded(&mut self, now: Nanos, started: Nanos, kind: u8) {
        self.succeeded += 1;
        self.by_kind[kind as usize % MAX_BACKENDS].1 += 1;
        self.last_end = self.last_end.max(now);
        self.latency.record(now - started);
        if now >= self.window.0 && now < self.window.1 {
            self.succeeded_in_window += 1;
        }
        let p = self.point(now);
        self.series_succeeded[p] += 1;
    }

    pub fn failed(&mut self, now: Nanos, why: Failure) {
        self.failed += 1;
        self.last_end = self.last_end.max(now);
        self.ended_by[why.index()] += 1;
    }

    /// Adds another caller's figures to these (the same run, the same buckets).
    pub fn merge(&mut self, o: &CallerStats) {
        self.operations += o.operations;
        self.succeeded += o.succeeded;
        self.failed += o.failed;
        self.attempts += o.attempts;
        self.late += o.late;
        self.late_served += o.late_served;
        for i in 0..8 {
            self.attempt_failures[i] += o.attempt_failures[i];
            self.ended_by[i] += o.ended_by[i];
        }
        self.succeeded_in_window += o.succeeded_in_window;
        for (a, b) in self.by_kind.iter_mut().zip(&o.by_kind) {
            a.0 += b.0;
            a.1 += b.1;
        }
        self.last_end = self.last_end.max(o.last_end);
        self.latency.merge(&o.latency);
        for (a, b) in [
            (&mut self.series_started, &o.series_started),
            (&mut self.series_attempts, &o.series_attempts),
            (&mut self.series_succeeded, &o.series_succeeded),
        ] {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }

    pub fn attempt_failures_of(&self, why: Failure) -> u64 {
        self.attempt_failures[why.index()]
    }

    pub fn ended_by_of(&self, why: Failure) -> u64 {
        self.ended_by[why.index()]
    }
}

/// The width of a series point: whole seconds, at most 60 points a run (as
/// the queue protocol's series).
pub fn bucket(end: Nanos) -> Nanos {
    end.div_ceil(secs(POINTS)).max(1) * secs(1)
}
