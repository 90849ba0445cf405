//! A circuit breaker (Nygard, "Release It!", 2007; the closed/open/half-open
//! machine of Hystrix and resilience4j).
//!
//! Closed, it lets every call through and keeps the outcomes of the last
//! `window` calls; once it holds at least `min_calls` of them and the share
//! that failed reaches `failure_rate`, it opens. Open, it refuses every call
//! at once, without asking the dependency, for `open_for`. Then it is
//! half-open: it lets `probes` calls through and refuses the rest; if all of
//! them succeed it closes (with an empty window), if one fails it opens again
//! for another `open_for`.
//!
//! What it gives up: calls refused while open would sometimes have
//! succeeded, and a breaker that trips on a few slow calls refuses good
//! traffic. What it gains: a dependency in trouble stops receiving the load
//! that keeps it in trouble.
//!
//! The bug flag `half_open_resets_count` is a common mistake: on entering
//! half-open the failure count is cleared and half-open calls are judged by
//! the closed-state rule (at least `min_calls` outcomes at `failure_rate`)
//! with no limit on how many pass. A failed probe, alone in an empty window,
//! never reaches `min_calls`, so it never re-opens the breaker; the breaker
//! lets a full window of calls into the failing dependency on every cycle.

use std::collections::VecDeque;

use sim::time::Nanos;

/// The breaker's settings, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct BreakerConfig {
    pub window: u32,
    pub min_calls: u32,
    pub failure_rate: f64,
    pub open_for: Nanos,
    pub probes: u32,
    pub half_open_resets_count: bool,
}

/// Where the breaker stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Closed,
    /// Since the time given.
    Open(Nanos),
    HalfOpen,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open(_) => "open",
            State::HalfOpen => "half-open",
        }
    }
}

/// The most state changes a breaker remembers for the report's series.
const MAX_CHANGES: usize = 100_000;

/// A circuit breaker, fed outcomes by its caller.
#[derive(Clone, Debug)]
pub struct Breaker {
    config: BreakerConfig,
    state: State,
    /// The last `window` outcomes while closed: `true` for a failure.
    outcomes: VecDeque<bool>,
    failures: u32,
    /// Half-open: probes let through, and of those, succeeded.
    probes_sent: u32,
    probes_ok: u32,
    pub opened: u64,
    pub refused: u64,
    /// `(time, state)` at every change, for the series over time.
    pub changes: Vec<(Nanos, State)>,
}

impl Breaker {
    pub fn new(config: BreakerConfig) -> Breaker {
        Breaker {
            config,
            state: State::Closed,
            outcomes: VecDeque::new(),
            failures: 0,
            probes_sent: 0,
            probes_ok: 0,
            opened: 0,
            refused: 0,
            changes: Vec::new(),
        }
    }

    /// The state at `now` (an open breaker whose time is up is half-open).
    pub fn state(&mut self, now: Nanos) -> State {
        if let State::Open(since) = self.state {
            if now >= since + self.config.open_for {
                self.become_half_open(since + self.config.open_for);
            }
        }
        self.state
    }

    fn change(&mut self, at: Nanos, to: State) {
        self.state = to;
        if self.changes.len() < MAX_CHANGES {
            self.changes.push((at, to));
        }
    }

    fn become_half_open(&mut self, at: Nanos) {
        self.probes_sent = 0;
        self.probes_ok = 0;
        if self.config.half_open_resets_count {
            self.outcomes.clear();
            self.failures = 0;
        }
        self.change(at, State::HalfOpen);
    }

    fn become_open(&mut self, now: Nanos) {
        self.opened += 1;
        self.change(now, State::Open(now));
    }

    fn become_closed(&mut self, now: Nanos) {
        self.outcomes.clear();
        self.failures = 0;
        self.change(now, State::Closed);
    }

    /// May a call go out now? A refusal is counted.
    pub fn allow(&mut self, now: Nanos) -> bool {
        let ok = match self.state(now) {
            State::Closed => true,
            State::Open(_) => false,
            State::HalfOpen if self.config.half_open_resets_count => true,
            State::HalfOpen => {
                if self.probes_sent < self.config.probes {
                    self.probes_sent += 1;
                    true
                } else {
                    false
                }
            }
        };
        if !ok {
            self.refused += 1;
        }
        ok
    }

    /// A call that was let through ended: `failed` if it timed out or was
    /// refused downstream.
    pub fn record(&mut self, now: Nanos, failed: bool) {
        match self.state(now) {
            // A late answer to a call let through before the breaker opened
            // says nothing new.
            State::Open(_) => {}
            State::HalfOpen if !self.config.half_open_resets_count => {
                if failed {
                    self.become_open(now);
                } else {
                    self.probes_ok += 1;
                    if self.probes_ok >= self.config.probes {
                        self.become_closed(now);
                    }
                }
            }
            state => {
                self.outcomes.push_back(failed);
                self.failures += failed as u32;
                if self.outcomes.len() > self.config.window as usize {
                    let old = self.outcomes.pop_front().unwrap_or(false);
                    self.failures -= old as u32;
                }
                let n = self.outcomes.len() as u32;
                let tripped = n >= self.config.min_calls
                    && self.failures as f64 >= self.config.failure_rate * n as f64;
                if tripped {
                    self.become_open(now);
                } else if state == State::HalfOpen && !failed {
                    // The buggy half-open still closes after its probes succeed.
                    self.probes_ok += 1;
                    if self.probes_ok >= self.config.probes {
                        self.become_closed(now);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim::time::{ms, secs};

    fn config(bug: bool) -> BreakerConfig {
        BreakerConfig {
            window: 10,
            min_calls: 5,
            failure_rate: 0.5,
            open_for: secs(1),
            probes: 1,
            half_open_resets_count: bug,
        }
    }

    fn tripped(bug: bool) -> Breaker {
        let mut b = Breaker::new(config(bug));
        for i in 0..5 {
            assert!(b.allow(ms(i)));
            b.record(ms(i), true);
        }
        assert_eq!(b.state(ms(5)), State::Open(ms(4)));
        b
    }

    #[test]
    fn it_opens_only_once_the_window_holds_min_calls_at_the_failure_rate() {
        let mut b = Breaker::new(config(false));
        for i in 0..4 {
            b.record(ms(i), true);
        }
        assert_eq!(b.state(ms(4)), State::Closed, "4 calls < min_calls 5");
        b.record(ms(4), false);
        assert_eq!(b.state(ms(5)), State::Open(ms(4)), "4 of 5 failed");
    }

    #[test]
    fn open_it_refuses_until_open_for_has_passed_then_lets_one_probe_through() {
        let mut b = tripped(false);
        assert!(!b.allow(ms(500)));
        assert!(b.allow(ms(1004)), "half-open: the probe");
        assert!(!b.allow(ms(1005)), "one probe at a time");
        assert_eq!(b.refused, 2);
    }

    #[test]
    fn a_failed_probe_opens_it_again_and_a_good_one_closes_it() {
        let mut b = tripped(false);
        assert!(b.allow(secs(2)));
        b.record(secs(2), true);
        assert_eq!(b.state(secs(2)), State::Open(secs(2)));
        assert!(b.allow(secs(3)));
        b.record(secs(3), false);
        assert_eq!(b.state(secs(3)), State::Closed);
        assert_eq!(b.opened, 2);
    }

    #[test]
    fn with_the_bug_a_failed_probe_does_not_reopen_it_and_calls_flow_until_min_calls_fail() {
        let mut b = tripped(true);
        assert!(b.allow(secs(2)));
        b.record(secs(2), true);
        assert_eq!(b.state(secs(2)), State::HalfOpen, "one failure < min_calls");
        for i in 1..4 {
            assert!(b.allow(secs(2) + ms(i)), "no probe limit");
            b.record(secs(2) + ms(i), true);
        }
        assert_eq!(b.state(secs(2) + ms(4)), State::HalfOpen);
        b.record(secs(2) + ms(5), true);
        assert!(matches!(b.state(secs(2) + ms(5)), State::Open(_)));
    }
}
