//! The run report: what happened, judged against the scenario's hypothesis.
//!
//! Availability is the share of finished operations the system served: it
//! answered `ok`, or answered with a definite "no effect" such as a cas that
//! found another value. Timeouts and refusals ("no leader") are unavailability.
//! Operations the run ended before they finished are left out. "During
//! partition" counts operations whose client was cut off from a majority of
//! servers when it invoked them; "outside partition" counts operations during
//! whose whole span, from invocation to completion, no partition was in force.
//! An operation invoked before a partition began (or, from a client that was
//! not cut off, while it lasted) that was still open when it began (or ended)
//! counts in neither: its fate says nothing clean about either regime.
//!
//! The PACELC class comes from the same numbers:
//! - P: PA when cut-off clients were still served (availability at least 50%),
//!   PC when they mostly got errors or timeouts; not exercised without a partition.
//! - E: EL when the median operation outside partitions took at most 1.5 round
//!   trips between its client and the nearest server (nobody else was waited
//!   on), EC when longer (replicas or a distant leader were).

use serde::Serialize;

use crate::check::{
    check_linearizable, check_weak, Budget, LinearizabilityReport, ModelKind, Verdict, WeakReport,
};
use crate::history::Outcome;
use crate::kernel::{Counters, RunOutput};
use crate::scenario::{fmt_size, parse_pacelc, Fraction, Scenario};
use crate::time::{fmt_duration, Nanos};

/// How a run came out. A check that could not be decided (the
/// linearizability search ran out of budget) is neither a pass nor a failure.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Every expectation held and every invariant not expected to break held.
    Pass,
    /// Something the hypothesis asked for did not hold (whatever else is open).
    Fail,
    /// Nothing failed, but at least one check the hypothesis asked for has no
    /// answer: see [`Report::undecided`].
    Undecided,
}

/// The linearizability search's budget for one run: `[meta] check_max_steps`
/// and `check_max_memory`, or the flags of the same names.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct CheckBudget {
    pub max_steps: u64,
    pub max_memory_bytes: u64,
}

impl CheckBudget {
    /// The scenario's own budget (its `[meta]`, else the defaults).
    pub fn of(s: &Scenario) -> CheckBudget {
        CheckBudget {
            max_steps: s.meta.check_steps(),
            max_memory_bytes: s.meta.check_memory(),
        }
    }

    fn budget(&self) -> Budget<'static> {
        let mut b = Budget::steps(self.max_steps);
        b.max_memo_bytes = self.max_memory_bytes;
        b
    }
}

/// A check the hypothesis asked for whose answer is not known, why, and what
/// would decide it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Undecided {
    /// The check, by its `[expect]` name (`linearizable`).
    pub check: String,
    /// What ran out: `steps`, `memory`, `deadline`, or `unsupported` (the
    /// history has operations the model cannot judge; no budget helps).
    pub cause: String,
    /// The checker's own words.
    pub reason: String,
    /// The flag that decides it (`--check-max-steps 100000000`), if one can.
    pub flag: Option<String>,
    /// The same as a `[meta]` field (`check_max_steps = 100000000`).
    pub meta: Option<String>,
}

impl Undecided {
    /// One line: what is open and how to decide it.
    pub fn explain(&self) -> String {
        let why = match self.cause.as_str() {
            "steps" => "the linearizability search ran out of steps",
            "memory" => "the linearizability search ran out of memory",
            "deadline" => "the linearizability search ran out of time",
            _ => "the history has operations the model cannot judge",
        };
        match (&self.flag, &self.meta) {
            (Some(flag), Some(meta)) => format!(
                "{}: {why}; decide it with {flag} (on run, sweep or shrink) or `{meta}` in [meta]",
                self.check
            ),
            _ => format!("{}: {why}; no budget decides it", self.check),
        }
    }
}

/// Why the linearizability search answered "undecided": `steps`, `memory`,
/// `deadline` or `unsupported`, as the checker's verdict carries it.
pub fn unknown_cause(verdict: &Verdict) -> Option<&'static str> {
    match verdict {
        Verdict::Unknown { cause, .. } => Some(cause.name()),
        _ => None,
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    pub scenario: String,
    pub file: String,
    pub protocol: String,
    pub seed: u64,
    pub fingerprint: String,
    pub simulated_ns: Nanos,
    pub counters: Counters,
    pub ops: OpCounts,
    pub latency: Latency,
    pub availability: Availability,
    pub pacelc: Pacelc,
    pub invariants: Vec<InvariantVerdict>,
    /// The client history judged as a key-value store's (docs/checking.md), or
    /// why it was not.
    pub consistency: Consistency,
    pub protocol_summary: Vec<(String, String)>,
    pub expectations: Vec<Expectation>,
    /// Pass, fail, or undecided (a check the hypothesis asked for has no answer).
    pub outcome: RunOutcome,
    /// Every expectation held and every invariant not expected to break held:
    /// `outcome == Pass`.
    pub passed: bool,
    /// The checks the hypothesis asked for that have no answer, and how to
    /// decide each.
    pub undecided: Vec<Undecided>,
    /// The linearizability search's budget in this run.
    pub check_budget: CheckBudget,
    /// `[[faults]]` entries whose trigger never fired, so their fault never
    /// happened: not an error, but a run that did not test what it says.
    pub unfired_triggers: Vec<crate::kernel::UnfiredTrigger>,
    pub replay: String,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct OpCounts {
    pub total: u64,
    pub ok: u64,
    /// Cas operations the system answered with "the key holds another value":
    /// a correct answer, not a failure of the system (they are not in `fail`).
    pub cas_found_other: u64,
    /// Operations the system refused or that certainly did not take effect.
    pub fail: u64,
    pub info: u64,
    /// Still open when the run ended.
    pub unfinished: u64,
}

/// Latency of `ok` operations, in nanoseconds.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Latency {
    pub p50: Nanos,
    pub p99: Nanos,
    pub max: Nanos,
    /// The same outside partitions, for PACELC's E.
    pub p50_outside_partition: Nanos,
}

/// The consistency checks of a run's history, or why there were none.
// One per report, built once and never moved in a loop: boxing the large
// variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "checked", rename_all = "snake_case")]
pub enum Consistency {
    Checked {
        linearizability: LinearizabilityReport,
        weak: WeakReport,
    },
    /// The protocol's history is not a key-value store's (a bank's transfers).
    NotChecked { reason: String },
}

impl Consistency {
    /// The linearizability verdict, when the history was checked.
    pub fn verdict(&self) -> Option<&Verdict> {
        match self {
            Consistency::Checked {
                linearizability, ..
            } => Some(&linearizability.verdict),
            Consistency::NotChecked { .. } => None,
        }
    }
}

/// `served` out of `total` finished operations.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Share {
    pub ok: u64,
    pub total: u64,
}

impl Share {
    pub fn ratio(&self) -> Option<f64> {
        (self.total > 0).then(|| self.ok as f64 / self.total as f64)
    }
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Availability {
    pub overall: Share,
    pub during_partition: Share,
    pub outside_partition: Share,
    /// Total time partitions were in force.
    pub partitioned_ns: Nanos,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Pacelc {
    /// "PA", "PC", or None when no client was cut off.
    pub p: Option<String>,
    /// "EL" or "EC", or None when nothing succeeded outside partitions.
    pub e: Option<String>,
    pub evidence: Vec<String>,
}

impl Pacelc {
    pub fn class(&self) -> String {
        format!(
            "{}/{}",
            self.p.as_deref().unwrap_or("-"),
            self.e.as_deref().unwrap_or("-")
        )
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct InvariantVerdict {
    pub name: String,
    pub violations: u64,
    /// The first violation: when, and what.
    pub first: Option<(Nanos, String)>,
    pub expected_violated: bool,
    pub ok: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Expectation {
    /// The stable name of what is expected: its `[expect]` field
    /// (`all_clients_ok_after`, `measure."leaders elected"`), with no numbers
    /// of this run in it, so runs can be compared by what failed.
    pub key: String,
    pub what: String,
    pub expected: String,
    pub actual: String,
    pub held: bool,
    /// The check has no answer (the search ran out of budget): `held` is
    /// false, but nothing failed.
    pub undecided: bool,
}

fn percentile(sorted: &[Nanos], p: f64) -> Nanos {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// The leading number of a protocol figure ("463 committed, ..." -> 463), or
/// its leading duration in nanoseconds ("5.051s" -> 5.051e9).
fn leading_value(text: &str) -> Option<(f64, bool)> {
    let first = text.split_whitespace().next()?.trim_end_matches([',', ';']);
    if let Ok(n) = first.parse::<f64>() {
        return Some((n, false));
    }
    crate::time::parse_duration(first)
        .ok()
        .map(|ns| (ns as f64, true))
}

fn judge_measure(
    name: &str,
    bound: &crate::scenario::MeasureBound,
    summary: &[(String, String)],
) -> Expectation {
    let shown = |v: f64, duration: bool| {
        if duration {
            fmt_duration(v as Nanos)
        } else {
            format!("{v}")
        }
    };
    let mut expected = Vec::new();
    for (word, b) in [("at least", &bound.min), ("at most", &bound.max)] {
        if let Some(b) = b {
            let (v, d) = b.get_ref().value().expect("checked when parsed");
            expected.push(format!("{word} {}", shown(v, d)));
        }
    }
    let expected = expected.join(" and ");
    let Some((_, text)) = summary.iter().find(|(k, _)| k == name) else {
        let names: Vec<&str> = summary.iter().map(|(k, _)| k.as_str()).collect();
        return Expectation {
            key: format!("measure.\"{name}\""),
            undecided: false,
            what: format!("measure \"{name}\""),
            expected,
            actual: format!(
                "this protocol reports no such figure; it reports: {}",
                names.join(", ")
            ),
            held: false,
        };
    };
    let Some((actual, is_duration)) = leading_value(text) else {
        return Expectation {
            key: format!("measure.\"{name}\""),
            undecided: false,
            what: format!("measure \"{name}\""),
            expected,
            actual: format!("`{text}` does not start with a number or a duration"),
            held: false,
        };
    };
    let mut held = true;
    for (b, is_min) in [(&bound.min, true), (&bound.max, false)] {
        if let Some(b) = b {
            let (v, d) = b.get_ref().value().expect("checked when parsed");
            if d != is_duration {
                return Expectation {
                    key: format!("measure.\"{name}\""),
                    undecided: false,
                    what: format!("measure \"{name}\""),
                    expected,
                    actual: format!(
                        "`{text}`: compare a duration with a duration, a number with a number"
                    ),
                    held: false,
                };
            }
            held &= if is_min { actual >= v } else { actual <= v };
        }
    }
    Expectation {
        key: format!("measure.\"{name}\""),
        what: format!("measure \"{name}\""),
        expected,
        actual: shown(actual, is_duration),
        held,
        undecided: false,
    }
}

/// Whether the span `from..to` of an operation shares an instant with one of
/// the run's partition windows (sorted, disjoint `(start, end)` pairs). An
/// operation that completes the instant a partition begins, or is invoked the
/// instant one ends, does not.
fn overlaps(windows: &[(Nanos, Nanos)], from: Nanos, to: Nanos) -> bool {
    let i = windows.partition_point(|&(_, end)| end <= from);
    windows.get(i).is_some_and(|&(start, _)| start < to)
}

/// The command that replays a run.
pub fn replay_command(s: &Scenario, seed: u64) -> String {
    if s.file == "<built-in>" {
        format!("chaoslab run --seed {seed}")
    } else {
        format!("chaoslab run {} --seed {seed}", s.file)
    }
}

impl Report {
    /// The report of a run, its linearizability check within the scenario's
    /// own budget.
    pub fn build(s: &Scenario, out: &RunOutput) -> Report {
        Report::build_with(s, out, CheckBudget::of(s))
    }

    /// The report of a run, its linearizability check within `budget`.
    pub fn build_with(s: &Scenario, out: &RunOutput, budget: CheckBudget) -> Report {
        let mut ops = OpCounts::default();
        let mut lat = Vec::new();
        let mut lat_outside = Vec::new();
        // Latency outside partitions in round trips of the op's own client.
        let mut trips_outside = Vec::new();
        let mut av = Availability::default();
        let mut ok_after: Vec<Option<Nanos>> = vec![None; out.cluster.clients().len()];
        let servers = out.cluster.servers().len();
        for (op, meta) in out.history.ops.iter().zip(&out.op_meta) {
            ops.total += 1;
            let Some(done) = meta.done_ns else {
                ops.unfinished += 1;
                continue;
            };
            let ok = op.outcome == Outcome::Ok;
            let served = meta.served;
            match op.outcome {
                Outcome::Ok => ops.ok += 1,
                Outcome::Fail if op.found_other => ops.cas_found_other += 1,
                Outcome::Fail => ops.fail += 1,
                Outcome::Info => ops.info += 1,
            }
            let add = |s: &mut Share| {
                s.total += 1;
                s.ok += u64::from(served);
            };
            add(&mut av.overall);
            if meta.cut_off && meta.in_partition {
                add(&mut av.during_partition);
            }
            let outside = !meta.in_partition && !overlaps(&out.partition_windows, op.call_ns, done);
            if outside {
                add(&mut av.outside_partition);
            }
            if ok {
                let l = done - op.call_ns;
                lat.push(l);
                if outside {
                    lat_outside.push(l);
                    let rtt = out.client_rtt_ns[meta.client.index() - servers];
                    if rtt > 0 {
                        trips_outside.push(l as f64 / rtt as f64);
                    }
                }
                let c = meta.client.index() - servers;
                ok_after[c] = Some(ok_after[c].map_or(op.call_ns, |t: Nanos| t.max(op.call_ns)));
            }
        }
        av.partitioned_ns = out.partition_windows.iter().map(|(a, b)| b - a).sum();
        lat.sort_unstable();
        lat_outside.sort_unstable();
        let latency = Latency {
            p50: percentile(&lat, 0.5),
            p99: percentile(&lat, 0.99),
            max: lat.last().copied().unwrap_or(0),
            p50_outside_partition: percentile(&lat_outside, 0.5),
        };

        // PACELC from the run's own numbers.
        let mut evidence = Vec::new();
        let p = match av.during_partition.ratio() {
            None => {
                evidence.push("P: no client was cut off from a majority of servers, so partition behaviour was not exercised".into());
                None
            }
            Some(r) => {
                let class = if r >= 0.5 { "PA" } else { "PC" };
                evidence.push(format!(
                    "P: {class}: clients cut off from a majority had {}/{} operations succeed ({:.1}%)",
                    av.during_partition.ok,
                    av.during_partition.total,
                    r * 100.0
                ));
                Some(class.to_string())
            }
        };
        trips_outside.sort_by(f64::total_cmp);
        let e = if trips_outside.is_empty() {
            evidence.push(
                "E: no operation succeeded outside partitions, so latency was not exercised".into(),
            );
            None
        } else {
            let trips = trips_outside[(trips_outside.len() - 1) / 2];
            let class = if trips <= 1.5 { "EL" } else { "EC" };
            evidence.push(format!(
                "E: {class}: outside partitions the median operation took {trips:.1} round trips between its client and the nearest server (median latency {})",
                fmt_duration(latency.p50_outside_partition),
            ));
            Some(class.to_string())
        };
        let pacelc = Pacelc { p, e, evidence };

        // Invariants: every one the protocol declares, plus any that broke.
        let mut names: Vec<String> = out.invariants.iter().map(|s| s.to_string()).collect();
        for (_, v) in &out.violations {
            if !names.iter().any(|n| n == v.invariant) {
                names.push(v.invariant.to_string());
            }
        }
        for n in &s.expect.violated {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
        let invariants: Vec<InvariantVerdict> = names
            .into_iter()
            .map(|name| {
                let hits: Vec<&(Nanos, crate::protocol::Violation)> = out
                    .violations
                    .iter()
                    .filter(|(_, v)| v.invariant == name)
                    .collect();
                let expected_violated = s.expect.violated.contains(&name);
                InvariantVerdict {
                    violations: hits.len() as u64,
                    first: hits.first().map(|(t, v)| (*t, v.detail.clone())),
                    ok: expected_violated != hits.is_empty(),
                    expected_violated,
                    name,
                }
            })
            .collect();

        // The search budget is a step count, so the verdict is the same on every
        // machine; past it the answer is "undecided", never a guess.
        let consistency = match out.history_not_checkable {
            Some(reason) => Consistency::NotChecked {
                reason: reason.to_string(),
            },
            None => Consistency::Checked {
                linearizability: check_linearizable(&out.history, ModelKind::Kv, budget.budget()),
                weak: check_weak(&out.history),
            },
        };

        let mut report = Report {
            scenario: s.meta.name.clone(),
            file: s.file.clone(),
            protocol: s.protocol.clone(),
            seed: out.seed,
            fingerprint: out.fingerprint.clone(),
            simulated_ns: out.end_ns,
            counters: out.counters.clone(),
            ops,
            latency,
            availability: av,
            pacelc,
            invariants,
            consistency,
            protocol_summary: out.summary.clone(),
            unfired_triggers: out.unfired_triggers.clone(),
            expectations: Vec::new(),
            outcome: RunOutcome::Fail,
            passed: false,
            undecided: Vec::new(),
            check_budget: budget,
            replay: replay_command(s, out.seed),
        };
        report.expectations = report.judge(s, &ok_after, out);
        let failed = report.invariants.iter().any(|i| !i.ok)
            || report.expectations.iter().any(|e| !e.held && !e.undecided);
        report.undecided = report.undecided_checks();
        report.outcome = if failed {
            RunOutcome::Fail
        } else if report.expectations.iter().any(|e| e.undecided) {
            RunOutcome::Undecided
        } else {
            RunOutcome::Pass
        };
        report.passed = report.outcome == RunOutcome::Pass;
        report
    }

    /// The open checks, each with the budget that would decide it: ten times
    /// the one that ran out.
    fn undecided_checks(&self) -> Vec<Undecided> {
        let Some(verdict) = self.consistency.verdict() else {
            return Vec::new();
        };
        let Verdict::Unknown { reason, .. } = verdict else {
            return Vec::new();
        };
        let cause = unknown_cause(verdict).unwrap_or("steps");
        let b = &self.check_budget;
        let (flag, meta) = match cause {
            "steps" | "deadline" => {
                let n = b.max_steps.saturating_mul(10);
                (
                    Some(format!("--check-max-steps {n}")),
                    Some(format!("check_max_steps = {n}")),
                )
            }
            "memory" => {
                let m = fmt_size(b.max_memory_bytes.saturating_mul(4));
                (
                    Some(format!("--check-max-memory {m}")),
                    Some(format!("check_max_memory = \"{m}\"")),
                )
            }
            _ => (None, None),
        };
        self.expectations
            .iter()
            .filter(|e| e.undecided)
            .map(|e| Undecided {
                check: e.key.clone(),
                cause: cause.to_string(),
                reason: reason.clone(),
                flag: flag.clone(),
                meta: meta.clone(),
            })
            .collect()
    }

    /// One line per invariant that did not behave as expected: `NAME violated`,
    /// or `NAME held (expected violated)`.
    fn broken_invariants(&self) -> impl Iterator<Item = String> + '_ {
        self.invariants.iter().filter(|i| !i.ok).map(|i| {
            if i.expected_violated {
                format!("{} held (expected violated)", i.name)
            } else {
                format!("{} violated", i.name)
            }
        })
    }

    /// The stable names of what failed: invariants that did not behave as
    /// expected (`election-safety violated`) and the `[expect]` keys of
    /// expectations that did not hold. Undecided checks are not in it. Two
    /// runs fail the same way when these sets are equal.
    pub fn failed_checks(&self) -> std::collections::BTreeSet<String> {
        let mut set: std::collections::BTreeSet<String> = self.broken_invariants().collect();
        set.extend(
            self.expectations
                .iter()
                .filter(|e| !e.held && !e.undecided)
                .map(|e| e.key.clone()),
        );
        set
    }

    fn judge(&self, s: &Scenario, ok_after: &[Option<Nanos>], out: &RunOutput) -> Vec<Expectation> {
        let x = &s.expect;
        let mut v = Vec::new();
        let pct = |r: Option<f64>| {
            r.map_or("no operations".to_string(), |r| {
                format!("{:.2}%", r * 100.0)
            })
        };
        let mut ratio = |key: &str, what: &str, bound: Option<f64>, share: &Share, max: bool| {
            if let Some(b) = bound {
                let r = share.ratio();
                v.push(Expectation {
                    key: key.into(),
                    undecided: false,
                    what: what.into(),
                    expected: format!(
                        "{} {:.1}%",
                        if max { "at most" } else { "at least" },
                        b * 100.0
                    ),
                    actual: format!("{} ({}/{})", pct(r), share.ok, share.total),
                    held: match r {
                        Some(r) => {
                            if max {
                                r <= b + 1e-12
                            } else {
                                r + 1e-12 >= b
                            }
                        }
                        None => false,
                    },
                });
            }
        };
        let a = &self.availability;
        ratio(
            "max_availability_during_partition",
            "availability during partition",
            Fraction::get(&x.max_availability_during_partition),
            &a.during_partition,
            true,
        );
        ratio(
            "min_availability_during_partition",
            "availability during partition",
            Fraction::get(&x.min_availability_during_partition),
            &a.during_partition,
            false,
        );
        ratio(
            "min_availability_outside_partition",
            "availability outside partition",
            Fraction::get(&x.min_availability_outside_partition),
            &a.outside_partition,
            false,
        );
        ratio(
            "max_availability_outside_partition",
            "availability outside partition",
            Fraction::get(&x.max_availability_outside_partition),
            &a.outside_partition,
            true,
        );
        let mut lat = |key: &str, what: &str, bound: Option<Nanos>, actual: Nanos| {
            if let Some(b) = bound {
                v.push(Expectation {
                    key: key.into(),
                    undecided: false,
                    what: what.into(),
                    expected: format!("at most {}", fmt_duration(b)),
                    actual: fmt_duration(actual),
                    held: self.ops.ok > 0 && actual <= b,
                });
            }
        };
        lat(
            "max_p99_latency",
            "p99 latency",
            x.max_p99_latency,
            self.latency.p99,
        );
        lat(
            "max_p50_latency",
            "p50 latency",
            x.max_p50_latency,
            self.latency.p50,
        );
        if let Some(m) = x.min_ok_ops {
            v.push(Expectation {
                key: "min_ok_ops".into(),
                undecided: false,
                what: "ok operations".into(),
                expected: format!("at least {m}"),
                actual: self.ops.ok.to_string(),
                held: self.ops.ok >= m,
            });
        }
        if let Some(t) = out.stopped_early {
            v.push(Expectation {
                key: "max_events".into(),
                undecided: false,
                what: "the run reached its duration".into(),
                expected: fmt_duration(s.meta.duration),
                actual: format!(
                    "stopped at {} after [meta] max_events = {} events",
                    fmt_duration(t),
                    s.meta.max_events
                ),
                held: false,
            });
        }
        if let Some(p) = &x.pacelc {
            let (ep, ee) = parse_pacelc(p.get_ref()).expect("checked when parsed");
            let held = ep
                .as_ref()
                .is_none_or(|c| self.pacelc.p.as_ref() == Some(c))
                && ee
                    .as_ref()
                    .is_none_or(|c| self.pacelc.e.as_ref() == Some(c));
            v.push(Expectation {
                key: "pacelc".into(),
                undecided: false,
                what: "PACELC class".into(),
                expected: p.get_ref().clone(),
                actual: self.pacelc.class(),
                held,
            });
        }
        let (linearizability, w) = match &self.consistency {
            Consistency::Checked {
                linearizability,
                weak,
            } => (Some(linearizability), Some(weak)),
            Consistency::NotChecked { .. } => (None, None),
        };
        if let Consistency::NotChecked { reason: why } = &self.consistency {
            // A hypothesis about a history that was not judged cannot hold.
            let asked = x.linearizable.is_some()
                || x.max_stale_reads.is_some()
                || x.min_stale_reads.is_some()
                || x.max_lost_writes.is_some()
                || x.min_lost_writes.is_some()
                || x.max_read_your_writes_violations.is_some()
                || x.min_read_your_writes_violations.is_some()
                || x.max_monotonic_reads_violations.is_some()
                || x.min_monotonic_reads_violations.is_some();
            if asked {
                v.push(Expectation {
                    key: "consistency".into(),
                    undecided: false,
                    what: "consistency".into(),
                    expected: "a judged history".into(),
                    actual: format!("not checked: {why}"),
                    held: false,
                });
            }
        } else if let (Some(linearizability), Some(w)) = (linearizability, w) {
            if let Some(want) = x.linearizable {
                let verdict = &linearizability.verdict;
                v.push(Expectation {
                    key: "linearizable".into(),
                    what: "linearizable".into(),
                    expected: want.to_string(),
                    actual: match verdict {
                        Verdict::Linearizable => "true".into(),
                        Verdict::NotLinearizable { explanation } => {
                            format!(
                                "false (key {}, operation #{})",
                                explanation.key, explanation.blocked_index
                            )
                        }
                        Verdict::Unknown { reason, .. } => format!("undecided: {reason}"),
                    },
                    held: match verdict {
                        Verdict::Linearizable => want,
                        Verdict::NotLinearizable { .. } => !want,
                        Verdict::Unknown { .. } => false,
                    },
                    undecided: matches!(verdict, Verdict::Unknown { .. }),
                });
            }
            let counts = [
                (
                    "stale_reads",
                    "stale reads",
                    x.max_stale_reads,
                    x.min_stale_reads,
                    w.stale_reads,
                ),
                (
                    "lost_writes",
                    "lost writes",
                    x.max_lost_writes,
                    x.min_lost_writes,
                    w.lost_writes.len(),
                ),
                (
                    "read_your_writes_violations",
                    "read-your-writes violations",
                    x.max_read_your_writes_violations,
                    x.min_read_your_writes_violations,
                    w.read_your_writes_total(),
                ),
                (
                    "monotonic_reads_violations",
                    "monotonic-reads violations",
                    x.max_monotonic_reads_violations,
                    x.min_monotonic_reads_violations,
                    w.monotonic_reads_total(),
                ),
            ];
            for (key, what, max, min, actual) in counts {
                let actual = actual as u64;
                if let Some(m) = max {
                    v.push(Expectation {
                        key: format!("max_{key}"),
                        undecided: false,
                        what: what.into(),
                        expected: format!("at most {m}"),
                        actual: actual.to_string(),
                        held: actual <= m,
                    });
                }
                if let Some(m) = min {
                    v.push(Expectation {
                        key: format!("min_{key}"),
                        undecided: false,
                        what: what.into(),
                        expected: format!("at least {m}"),
                        actual: actual.to_string(),
                        held: actual >= m,
                    });
                }
            }
        }
        for (name, bound) in &x.measure {
            v.push(judge_measure(name, bound, &self.protocol_summary));
        }
        if let Some(after) = x.all_clients_ok_after {
            let missing: Vec<String> = ok_after
                .iter()
                .enumerate()
                .filter(|(_, t)| t.is_none_or(|t| t < after))
                .map(|(i, _)| out.cluster.name(out.cluster.clients()[i]).to_string())
                .collect();
            v.push(Expectation {
                key: "all_clients_ok_after".into(),
                undecided: false,
                what: format!("every client served after {}", fmt_duration(after)),
                expected: "every client has an ok operation".into(),
                actual: if missing.is_empty() {
                    "all were".into()
                } else {
                    format!("not served: {}", missing.join(", "))
                },
                held: missing.is_empty() && !ok_after.is_empty(),
            });
        }
        v
    }

    /// What broke, one line each: invariants that did not behave as expected,
    /// then expectations that failed. Each line starts with a stable name
    /// before any `:`, so runs can be grouped by how they failed.
    pub fn failures(&self) -> Vec<String> {
        let mut broke: Vec<String> = self.broken_invariants().collect();
        broke.extend(
            self.expectations
                .iter()
                .filter(|e| !e.held && !e.undecided)
                .map(|e| format!("{}: expected {}, got {}", e.what, e.expected, e.actual)),
        );
        broke
    }

    /// The report for people.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let c = &self.counters;
        let _ = writeln!(o, "scenario     {} ({})", self.scenario, self.file);
        let _ = writeln!(o, "protocol     {}", self.protocol);
        let _ = writeln!(o, "seed         {}", self.seed);
        let _ = writeln!(o, "fingerprint  {}", self.fingerprint);
        let _ = writeln!(
            o,
            "simulated    {}   events {}",
            fmt_duration(self.simulated_ns),
            c.events
        );
        let _ = writeln!(
            o,
            "messages     sent {}  delivered {}  dropped {} (partition {}, loss {}, crashed {})  duplicated {}",
            c.sent, c.delivered, c.dropped(), c.dropped_partition, c.dropped_loss, c.dropped_crashed, c.duplicated
        );
        let _ = writeln!(o, "faults       {}", c.faults);
        let op = &self.ops;
        // A cas that found another value was answered correctly: it is
        // counted on its own, not as a failure.
        let found_other = if op.cas_found_other > 0 {
            format!("  cas found another value {}", op.cas_found_other)
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "operations   {}  ok {}{found_other}  fail {}  info {}  unfinished {}",
            op.total, op.ok, op.fail, op.info, op.unfinished
        );
        let l = &self.latency;
        let _ = writeln!(
            o,
            "latency      p50 {}  p99 {}  max {}",
            fmt_duration(l.p50),
            fmt_duration(l.p99),
            fmt_duration(l.max)
        );
        let a = &self.availability;
        let share = |s: &Share| match s.ratio() {
            Some(r) => format!("{:.2}% ({}/{})", r * 100.0, s.ok, s.total),
            None => "n/a (no operations)".into(),
        };
        let _ = writeln!(o, "availability overall {}", share(&a.overall));
        let _ = writeln!(
            o,
            "             during partition, clients cut off from a majority: {}",
            share(&a.during_partition)
        );
        let _ = writeln!(
            o,
            "             outside partition: {}",
            share(&a.outside_partition)
        );
        let _ = writeln!(
            o,
            "             time partitioned: {}",
            fmt_duration(a.partitioned_ns)
        );
        let _ = writeln!(o, "PACELC       {}", self.pacelc.class());
        for e in &self.pacelc.evidence {
            let _ = writeln!(o, "             {e}");
        }
        for (k, v) in &self.protocol_summary {
            let _ = writeln!(o, "{:<12} {v}", k);
        }
        if !self.invariants.is_empty() {
            let _ = writeln!(o, "invariants");
            for i in &self.invariants {
                let state = match (i.violations, i.expected_violated) {
                    (0, false) => "held".to_string(),
                    (0, true) => "held, but this scenario expects it violated".to_string(),
                    (n, true) => format!("violated {n}x, as expected"),
                    (n, false) => format!("VIOLATED {n}x"),
                };
                let _ = writeln!(
                    o,
                    "  [{}] {:<24} {state}",
                    if i.ok { "ok" } else { "!!" },
                    i.name
                );
                if let Some((t, d)) = &i.first {
                    let _ = writeln!(o, "       first at {}: {d}", fmt_duration(*t));
                }
            }
        }
        let _ = writeln!(o, "consistency");
        match &self.consistency {
            Consistency::NotChecked { reason } => {
                let _ = writeln!(o, "  not checked: {reason}");
            }
            Consistency::Checked {
                linearizability,
                weak,
            } => {
                let text = linearizability.to_string();
                for line in text.lines().chain(weak.to_string().lines()) {
                    let _ = writeln!(o, "  {line}");
                }
            }
        }
        for u in &self.unfired_triggers {
            let _ = writeln!(
                o,
                "trigger      never fired: line {} when = {} ({} matching event(s)); its fault did not happen",
                u.line, u.when, u.matched
            );
        }
        if !self.expectations.is_empty() {
            let _ = writeln!(o, "expectations");
            for e in &self.expectations {
                let _ = writeln!(
                    o,
                    "  [{}] {}: expected {}, got {}",
                    if e.held {
                        "ok"
                    } else if e.undecided {
                        "??"
                    } else {
                        "!!"
                    },
                    e.what,
                    e.expected,
                    e.actual
                );
            }
        }
        for u in &self.undecided {
            let _ = writeln!(o, "undecided    {}", u.explain());
        }
        let open: Vec<&str> = self.undecided.iter().map(|u| u.check.as_str()).collect();
        let _ = writeln!(
            o,
            "verdict      {}",
            match (self.outcome, open.is_empty()) {
                (RunOutcome::Pass, _) => "PASS: the hypothesis held".to_string(),
                (RunOutcome::Fail, true) => "FAIL: the hypothesis did not hold".to_string(),
                (RunOutcome::Fail, false) => format!(
                    "FAIL: the hypothesis did not hold (and {} was not decided)",
                    open.join(", ")
                ),
                (RunOutcome::Undecided, _) => format!(
                    "UNDECIDED: nothing failed, but {} was not decided",
                    open.join(", ")
                ),
            }
        );
        let _ = writeln!(o, "replay       {}", self.replay);
        o
    }
}
