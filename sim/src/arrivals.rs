//! Open-loop arrivals: when requests arrive, whether or not the earlier ones
//! were answered.
//!
//! The kernel's clients are a closed loop: each waits for its operation before
//! it thinks and asks the next, so a slow service slows its own load down and
//! load can never exceed capacity. Real users do not wait for each other: a
//! web service's requests come from a population so large that the next one
//! arrives when it arrives. An [`Arrivals`] says when: a rate over time (its
//! shape: constant, steps, a ramp, or a base rate with periodic bursts) and a
//! spacing (Poisson, that is exponential gaps, or evenly spaced).
//!
//! A node drives it with a timer and its own seeded RNG: [`Arrivals::next`]
//! gives the time of the next arrival after the last. A time-varying Poisson
//! process is drawn by thinning (Lewis and Shedler, 1979): candidates at the
//! peak rate, each kept with probability rate(t)/peak, which is exact for any
//! shape. Every draw goes through [`crate::dist::exp1`], so a seed gives the
//! same arrivals on every machine.

use rand::Rng;
use serde::Deserialize;

use crate::dist::{exp1, secs_to_nanos};
use crate::node::{Ctx, Status, TimerId};
use crate::time::{fmt_duration, Nanos, NANOS_PER_MILLI};

/// The highest rate a scenario may ask for, per second: each arrival is a
/// few events, and a run of minutes at a higher rate would take hours.
pub const MAX_RATE: f64 = 1_000_000.0;

/// How arrivals are spaced at a given rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spacing {
    /// Exponential gaps: the memoryless arrivals of many independent users
    /// (the "M" of M/M/1).
    Poisson,
    /// Gaps of exactly 1/rate: a load generator's ticks (the "D" of D/M/1).
    Even,
}

/// The rate over time, in arrivals per second.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    Constant {
        rate: f64,
    },
    /// `(from, rate)` in time order: each rate holds from its time to the
    /// next; before the first, nothing arrives.
    Steps(Vec<(Nanos, f64)>),
    /// `from` before `start`, rising (or falling) linearly to `to` at `end`,
    /// `to` after it.
    Ramp {
        from: f64,
        to: f64,
        start: Nanos,
        end: Nanos,
    },
    /// `rate`, except for `length` every `every` (the first at `first`),
    /// when it is `burst_rate`.
    Bursts {
        rate: f64,
        burst_rate: f64,
        every: Nanos,
        length: Nanos,
        first: Nanos,
    },
}

/// An open-loop arrival process: a rate over time and a spacing, scaled by
/// `share` (a source that carries a part of the load).
#[derive(Clone, Debug, PartialEq)]
pub struct Arrivals {
    pub spacing: Spacing,
    pub shape: Shape,
    /// The part of the shape's rate this process carries (1 for all of it).
    pub share: f64,
}

/// One step of `steps = [{ at = "0s", rate = 50 }, ...]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    #[serde(with = "crate::time::serde_duration")]
    pub at: Nanos,
    pub rate: f64,
}

/// `ramp = { from = 10, to = 200, start = "0s", end = "60s" }`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RampSpec {
    pub from: f64,
    pub to: f64,
    #[serde(default, with = "crate::time::serde_duration")]
    pub start: Nanos,
    #[serde(with = "crate::time::serde_duration")]
    pub end: Nanos,
}

/// `bursts = { every = "10s", length = "1s", rate = 500, first = "5s" }`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BurstSpec {
    #[serde(with = "crate::time::serde_duration")]
    pub every: Nanos,
    #[serde(with = "crate::time::serde_duration")]
    pub length: Nanos,
    pub rate: f64,
    #[serde(default, with = "crate::time::serde_duration::option")]
    pub first: Option<Nanos>,
}

/// An [`Arrivals`] as a scenario writes it (`arrivals = { spacing =
/// "poisson", rate = 80 }`), before it is checked.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ArrivalsSpec {
    /// `"poisson"` (the default) or `"even"`.
    pub spacing: Option<String>,
    pub rate: Option<f64>,
    pub steps: Option<Vec<StepSpec>>,
    pub ramp: Option<RampSpec>,
    pub bursts: Option<BurstSpec>,
}

const SHAPES: &str = "rate = 80 (constant), steps = [{ at = \"0s\", rate = 50 }, ...], \
     ramp = { from = 10, to = 200, start = \"0s\", end = \"60s\" }, \
     or rate = 50 with bursts = { every = \"10s\", length = \"1s\", rate = 500 }";

fn check_rate(field: &str, what: &str, r: f64) -> Result<f64, String> {
    if r.is_finite() && (0.0..=MAX_RATE).contains(&r) {
        Ok(r)
    } else {
        Err(format!(
            "{field}: {what} = {r}: must be a number of arrivals per second between 0 and {MAX_RATE}, e.g. {what} = 80"
        ))
    }
}

impl ArrivalsSpec {
    /// The process this describes, or what is wrong with it (for the field
    /// `field`, say `arrivals`).
    pub fn check(&self, field: &str) -> Result<Arrivals, String> {
        let spacing = match self.spacing.as_deref() {
            None | Some("poisson") => Spacing::Poisson,
            Some("even") => Spacing::Even,
            Some(other) => {
                return Err(format!(
                    "{field}: spacing = \"{other}\": use \"poisson\" (exponential gaps) or \"even\" (gaps of 1/rate)"
                ))
            }
        };
        let given = [
            self.rate.is_some() && self.bursts.is_none(),
            self.steps.is_some(),
            self.ramp.is_some(),
            self.bursts.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(format!("{field}: give exactly one shape: {SHAPES}"));
        }
        let shape = if let Some(b) = &self.bursts {
            let rate = self.rate.ok_or_else(|| {
                format!("{field}: bursts needs a base rate beside it, e.g. rate = 50")
            })?;
            if b.every == 0 || b.length == 0 || b.length > b.every {
                return Err(format!(
                    "{field}: bursts = {{ every = \"{}\", length = \"{}\" }}: length must be more than zero and at most every, e.g. every = \"10s\", length = \"1s\"",
                    fmt_duration(b.every),
                    fmt_duration(b.length)
                ));
            }
            Shape::Bursts {
                rate: check_rate(field, "rate", rate)?,
                burst_rate: check_rate(field, "bursts.rate", b.rate)?,
                every: b.every,
                length: b.length,
                first: b.first.unwrap_or(b.every),
            }
        } else if let Some(r) = self.rate {
            Shape::Constant {
                rate: check_rate(field, "rate", r)?,
            }
        } else if let Some(steps) = &self.steps {
            if steps.is_empty() {
                return Err(format!(
                    "{field}: steps is empty; give at least one, e.g. steps = [{{ at = \"0s\", rate = 50 }}]"
                ));
            }
            let mut out = Vec::with_capacity(steps.len());
            for (i, s) in steps.iter().enumerate() {
                if i > 0 && s.at <= steps[i - 1].at {
                    return Err(format!(
                        "{field}: steps[{i}] at = \"{}\" is not after steps[{}] at = \"{}\": list steps in time order",
                        fmt_duration(s.at),
                        i - 1,
                        fmt_duration(steps[i - 1].at)
                    ));
                }
                out.push((s.at, check_rate(field, "rate", s.rate)?));
            }
            Shape::Steps(out)
        } else {
            let r = self.ramp.as_ref().expect("one shape is given");
            if r.end <= r.start {
                return Err(format!(
                    "{field}: ramp end = \"{}\" is not after start = \"{}\"",
                    fmt_duration(r.end),
                    fmt_duration(r.start)
                ));
            }
            Shape::Ramp {
                from: check_rate(field, "ramp.from", r.from)?,
                to: check_rate(field, "ramp.to", r.to)?,
                start: r.start,
                end: r.end,
            }
        };
        let a = Arrivals {
            spacing,
            shape,
            share: 1.0,
        };
        if a.peak() <= 0.0 {
            return Err(format!(
                "{field}: the rate is zero at all times: nothing would arrive"
            ));
        }
        Ok(a)
    }
}

impl Arrivals {
    /// Poisson arrivals at a constant `rate` per second.
    pub fn poisson(rate: f64) -> Arrivals {
        Arrivals {
            spacing: Spacing::Poisson,
            shape: Shape::Constant { rate },
            share: 1.0,
        }
    }

    /// This process carrying `1/parts` of the load (one of `parts` sources).
    /// Split Poisson arrivals merge back into the same Poisson process.
    pub fn split(&self, parts: usize) -> Arrivals {
        Arrivals {
            share: self.share / parts.max(1) as f64,
            ..self.clone()
        }
    }

    /// The shape's rate at `t`, per second, before the share.
    fn shape_rate(&self, t: Nanos) -> f64 {
        match &self.shape {
            Shape::Constant { rate } => *rate,
            Shape::Steps(steps) => steps
                .iter()
                .take_while(|(at, _)| *at <= t)
                .last()
                .map_or(0.0, |(_, r)| *r),
            Shape::Ramp {
                from,
                to,
                start,
                end,
            } => {
                if t <= *start {
                    *from
                } else if t >= *end {
                    *to
                } else {
                    let x = (t - start) as f64 / (end - start) as f64;
                    from + (to - from) * x
                }
            }
            Shape::Bursts {
                rate,
                burst_rate,
                every,
                length,
                first,
            } => {
                if t >= *first && (t - first) % every < *length {
                    *burst_rate
                } else {
                    *rate
                }
            }
        }
    }

    /// The rate at `t`, arrivals per second.
    pub fn rate_at(&self, t: Nanos) -> f64 {
        self.shape_rate(t) * self.share
    }

    /// The highest rate at any time.
    pub fn peak(&self) -> f64 {
        let shape = match &self.shape {
            Shape::Constant { rate } => *rate,
            Shape::Steps(s) => s.iter().map(|(_, r)| *r).fold(0.0, f64::max),
            Shape::Ramp { from, to, .. } => from.max(*to),
            Shape::Bursts {
                rate, burst_rate, ..
            } => rate.max(*burst_rate),
        };
        shape * self.share
    }

    /// The constant rate, if the shape is constant.
    pub fn constant_rate(&self) -> Option<f64> {
        match self.shape {
            Shape::Constant { rate } => Some(rate * self.share),
            _ => None,
        }
    }

    /// The time of the next arrival after one at `last`, if it is before
    /// `stop`. Draws from `rng` only: the node's own seeded stream.
    pub fn next<R: Rng + ?Sized>(&self, last: Nanos, stop: Nanos, rng: &mut R) -> Option<Nanos> {
        let peak = self.peak();
        if peak <= 0.0 {
            return None;
        }
        let mut t = last;
        match self.spacing {
            Spacing::Poisson => loop {
                // Thinning: a candidate at the peak rate, kept with
                // probability rate(t)/peak. The loop ends: every candidate
                // moves t forward by at least 1ns, and t reaches stop.
                t = t.saturating_add(secs_to_nanos(exp1(rng) / peak).max(1));
                if t >= stop {
                    return None;
                }
                let r = self.rate_at(t);
                if r >= peak || rng.gen::<f64>() * peak < r {
                    return Some(t);
                }
            },
            Spacing::Even => {
                if let Some(r) = self.constant_rate() {
                    t = t.saturating_add(secs_to_nanos(1.0 / r).max(1));
                    return (t < stop).then_some(t);
                }
                // A rate that changes: the next arrival is where the rate,
                // summed since the last one, makes one whole arrival. It
                // is summed a millisecond at a time, so a step, a ramp or a
                // burst is seen within a millisecond of when it starts (a
                // ramp from 0 starts sending as it rises).
                let mut owed = 1.0;
                loop {
                    let r = self.rate_at(t);
                    let step = NANOS_PER_MILLI as f64 / 1e9;
                    if r > 0.0 && owed / r <= step {
                        t = t.saturating_add(secs_to_nanos(owed / r).max(1));
                        return (t < stop).then_some(t);
                    }
                    owed -= r * step;
                    t = t.saturating_add(NANOS_PER_MILLI);
                    if t >= stop {
                        return None;
                    }
                }
            }
        }
    }

    /// In words: `poisson, 80/s`, `even, steps 50/s at 0s, 120/s at 30s`.
    pub fn describe(&self) -> String {
        let spacing = match self.spacing {
            Spacing::Poisson => "poisson",
            Spacing::Even => "even",
        };
        let r = |x: f64| format!("{}/s", trim(x * self.share));
        let shape = match &self.shape {
            Shape::Constant { rate } => r(*rate),
            Shape::Steps(steps) => {
                let parts: Vec<String> = steps
                    .iter()
                    .map(|(at, rate)| format!("{} from {}", r(*rate), fmt_duration(*at)))
                    .collect();
                format!("steps {}", parts.join(", "))
            }
            Shape::Ramp {
                from,
                to,
                start,
                end,
            } => format!(
                "ramp {} to {} from {} to {}",
                r(*from),
                r(*to),
                fmt_duration(*start),
                fmt_duration(*end)
            ),
            Shape::Bursts {
                rate,
                burst_rate,
                every,
                length,
                first,
            } => format!(
                "{}, bursts of {} for {} every {} from {}",
                r(*rate),
                r(*burst_rate),
                fmt_duration(*length),
                fmt_duration(*every),
                fmt_duration(*first)
            ),
        };
        format!("{spacing}, {shape}")
    }
}

/// A number without float noise: 80.00000000001 -> "80".
fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The arrival side of an open-loop load source node: a timer for each
/// arrival its [`Arrivals`] draws from the node's own stream, and the count
/// of what came back. The node sends each request itself (what a request
/// is belongs to its protocol), between [`OpenLoop::arrived`] and
/// [`OpenLoop::schedule`], so a draw the node makes for the request (a key)
/// comes before the draw of the next arrival.
#[derive(Clone, Debug)]
pub struct OpenLoop {
    arrivals: Arrivals,
    stop: Nanos,
    /// The time of the last arrival drawn.
    last: Nanos,
    /// Requests sent; the last one's id is this count.
    pub sent: u64,
    pub served: u64,
    pub refused: u64,
}

impl OpenLoop {
    /// The timer of the next arrival.
    pub const ARRIVE: TimerId = TimerId(0);

    /// Arrivals until `stop`.
    pub fn new(arrivals: Arrivals, stop: Nanos) -> OpenLoop {
        OpenLoop {
            arrivals,
            stop,
            last: 0,
            sent: 0,
            served: 0,
            refused: 0,
        }
    }

    /// At the node's start, the first arrival. A restarted source draws
    /// from now, not from its last life.
    pub fn start<M>(&mut self, ctx: &mut Ctx<M>) {
        self.last = ctx.now();
        self.schedule(ctx);
    }

    /// If `timer` is the arrival timer, counts a request sent and returns
    /// its id (1, 2, ...); the node sends it, then calls
    /// [`OpenLoop::schedule`].
    pub fn arrived(&mut self, timer: TimerId) -> Option<u64> {
        if timer != Self::ARRIVE {
            return None;
        }
        self.sent += 1;
        Some(self.sent)
    }

    /// Sets the timer of the next arrival, if one comes before the stop.
    pub fn schedule<M>(&mut self, ctx: &mut Ctx<M>) {
        let now = ctx.now();
        if let Some(at) = self.arrivals.next(self.last.max(now), self.stop, ctx.rng()) {
            self.last = at;
            ctx.set_timer(Self::ARRIVE, at - now);
        }
    }

    /// An answer came back: served, or refused.
    pub fn answered(&mut self, served: bool) {
        if served {
            self.served += 1;
        } else {
            self.refused += 1;
        }
    }

    /// The source's status; `refused` names its refusals ("refused",
    /// "failed").
    pub fn status(&self, refused: &'static str) -> Status {
        Status {
            role: "source",
            fields: vec![
                ("sent", self.sent.to_string()),
                ("served", self.served.to_string()),
                (refused, self.refused.to_string()),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{ms, secs};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn all(a: &Arrivals, stop: Nanos) -> Vec<Nanos> {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut out = Vec::new();
        let mut t = 0;
        while let Some(next) = a.next(t, stop, &mut rng) {
            out.push(next);
            t = next;
        }
        out
    }

    fn spec(toml_text: &str) -> Result<Arrivals, String> {
        let s: ArrivalsSpec = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        s.check("arrivals")
    }

    #[test]
    fn poisson_arrivals_come_at_their_rate_with_exponential_gaps() {
        let a = Arrivals::poisson(100.0);
        let times = all(&a, secs(1000));
        let n = times.len() as f64;
        assert!((n / 100_000.0 - 1.0).abs() < 0.01, "{n}");
        // Exponential gaps: the share of gaps longer than the mean is 1/e.
        let long = times.windows(2).filter(|w| w[1] - w[0] > ms(10)).count() as f64;
        assert!((long / n - (-1.0f64).exp()).abs() < 0.01, "{}", long / n);
    }

    #[test]
    fn even_arrivals_are_exactly_one_over_the_rate_apart() {
        let a = spec("spacing = \"even\"\nrate = 50").unwrap();
        let times = all(&a, secs(1));
        assert_eq!(times, (1..50).map(|i| ms(20) * i).collect::<Vec<_>>());
    }

    #[test]
    fn even_arrivals_follow_a_rate_that_changes() {
        // A ramp from 0 sends as it rises: 0 to 100/s over 60s is 3000
        // arrivals, the area under it.
        let ramp =
            spec("spacing = \"even\"\nramp = { from = 0, to = 100, end = \"60s\" }").unwrap();
        let n = all(&ramp, secs(60)).len() as f64;
        assert!((n / 3000.0 - 1.0).abs() < 0.01, "{n}");
        // A step up is seen when it comes, not one slow gap later.
        let steps = spec(
            "spacing = \"even\"\nsteps = [{ at = \"0s\", rate = 0.05 }, { at = \"10s\", rate = 50 }]",
        )
        .unwrap();
        let times = all(&steps, secs(11));
        let first_fast = times.iter().find(|&&t| t >= secs(10)).copied();
        assert!(
            first_fast.is_some_and(|t| t < secs(10) + ms(40)),
            "{first_fast:?}"
        );
    }

    #[test]
    fn steps_a_ramp_and_bursts_change_the_rate_where_they_say() {
        let steps =
            spec("steps = [{ at = \"10s\", rate = 100 }, { at = \"20s\", rate = 300 }]").unwrap();
        let times = all(&steps, secs(30));
        let count = |from: u64, to: u64| {
            times
                .iter()
                .filter(|t| (secs(from)..secs(to)).contains(t))
                .count() as f64
        };
        assert_eq!(count(0, 10), 0.0);
        assert!((count(10, 20) / 1000.0 - 1.0).abs() < 0.1);
        assert!((count(20, 30) / 3000.0 - 1.0).abs() < 0.06);
        let ramp = spec("ramp = { from = 0, to = 200, end = \"10s\" }").unwrap();
        assert_eq!(ramp.rate_at(secs(5)), 100.0);
        assert_eq!(ramp.rate_at(secs(50)), 200.0);
        let bursts = spec(
            "rate = 10\nbursts = { every = \"10s\", length = \"1s\", rate = 500, first = \"5s\" }",
        )
        .unwrap();
        assert_eq!(bursts.rate_at(secs(4)), 10.0);
        assert_eq!(bursts.rate_at(ms(5500)), 500.0);
        assert_eq!(bursts.rate_at(ms(15_999)), 500.0);
        assert_eq!(bursts.rate_at(secs(16)), 10.0);
        let n = all(&bursts, secs(100)).len() as f64;
        // 10 bursts of 500 for 1s, and 10/s for the other 90s.
        assert!((n / 5900.0 - 1.0).abs() < 0.05, "{n}");
    }

    #[test]
    fn a_split_process_carries_its_share() {
        let a = Arrivals::poisson(100.0).split(4);
        assert_eq!(a.rate_at(0), 25.0);
        assert_eq!(a.describe(), "poisson, 25/s");
    }

    #[test]
    fn a_bad_process_is_refused_with_what_would_be_valid() {
        let e = spec("spacing = \"bursty\"\nrate = 1").unwrap_err();
        assert!(e.contains("\"poisson\""), "{e}");
        let e = spec("rate = 1\nramp = { from = 0, to = 2, end = \"1s\" }").unwrap_err();
        assert!(e.contains("exactly one shape"), "{e}");
        let e = spec("rate = -5").unwrap_err();
        assert!(e.contains("between 0 and"), "{e}");
        let e = spec("rate = 0").unwrap_err();
        assert!(e.contains("nothing would arrive"), "{e}");
        let e =
            spec("steps = [{ at = \"10s\", rate = 1 }, { at = \"5s\", rate = 2 }]").unwrap_err();
        assert!(e.contains("time order"), "{e}");
        let e =
            spec("rate = 1\nbursts = { every = \"1s\", length = \"2s\", rate = 5 }").unwrap_err();
        assert!(e.contains("at most every"), "{e}");
        let e = spec("rat = 1").unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
    }
}
