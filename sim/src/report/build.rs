//! Building a report from a run: counts, latencies, availability, PACELC,
//! the consistency checks and the invariants.

use super::{
    replay_command, unknown_cause, Availability, CheckBudget, Consistency, Expectation,
    InvariantVerdict, Latency, OpCounts, Pacelc, Report, RunOutcome, Share, Undecided,
    DEFAULT_PROGRAM,
};
use crate::check::Verdict;
use crate::history::Outcome;
use crate::kernel::RunOutput;
use crate::protocol::{Kind, PropertyVerdict};
use crate::scenario::{fmt_size, Scenario};
use crate::time::{fmt_duration, Nanos};

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
        let mut av = Availability {
            goodput: vec![0; super::GOODPUT_SLICES],
            ..Availability::default()
        };
        let slice_of = |t: Nanos| {
            ((t as u128 * super::GOODPUT_SLICES as u128) / out.end_ns.max(1) as u128)
                .min(super::GOODPUT_SLICES as u128 - 1) as usize
        };
        let mut ok_after: Vec<Option<Nanos>> = vec![None; out.cluster.clients().len()];
        let servers = out.cluster.servers().len();
        for (op, meta) in out.history.ops().zip(out.history.metas()) {
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
                av.goodput[slice_of(done)] += 1;
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

        let invariants = property_rows(s, out);

        // The search budget is a step count, so the verdict is the same on every
        // machine; past it the answer is "undecided", never a guess. The model
        // is the protocol's (a key-value store's by default).
        let (linearizability, weak) = out.history.judge(budget.budget());
        let consistency = Consistency::Checked {
            linearizability,
            weak,
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
            metrics: out.metrics.clone(),
            unfired_triggers: out.unfired_triggers.clone(),
            schedule: out.schedule.clone(),
            expectations: Vec::new(),
            outcome: RunOutcome::Fail,
            passed: false,
            undecided: Vec::new(),
            check_budget: budget,
            replay: replay_command(DEFAULT_PROGRAM, s, out.seed),
        };
        report.expectations = report.judge(s, &ok_after, out);
        report.expectations.extend(report.judge_properties(s));
        let failed = report.invariants.iter().any(|i| !i.ok)
            || report.expectations.iter().any(|e| !e.held && !e.undecided);
        report.undecided = report.undecided_checks();
        report.undecided.extend(report.undecided_properties());
        report.undecided.extend(report.undecided_measures());
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
            .filter(|e| e.undecided && !is_property_key(&e.key) && !is_measure_key(&e.key))
            .map(|e| Undecided {
                check: e.key.clone(),
                cause: cause.to_string(),
                reason: reason.clone(),
                flag: flag.clone(),
                meta: meta.clone(),
            })
            .collect()
    }

    /// One line per property that did not behave as expected: `NAME
    /// violated`, or `NAME held (expected violated)` (an `always` one).
    pub(super) fn broken_invariants(&self) -> impl Iterator<Item = String> + '_ {
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
}

fn percentile(sorted: &[Nanos], p: f64) -> Nanos {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Whether the span `from..to` of an operation shares an instant with one of
/// the run's partition windows (sorted, disjoint `(start, end)` pairs). An
/// operation that completes the instant a partition begins, or is invoked the
/// instant one ends, does not.
fn overlaps(windows: &[(Nanos, Nanos)], from: Nanos, to: Nanos) -> bool {
    let i = windows.partition_point(|&(_, end)| end <= from);
    windows.get(i).is_some_and(|&(start, _)| start < to)
}

/// Every property with its verdict: the protocol's, in the order it declares
/// them, then any always-property violated without being declared, then any
/// `[expect]` name the protocol does not report (a scenario not parsed by
/// a registry, which would have refused it).
fn property_rows(s: &Scenario, out: &RunOutput) -> Vec<InvariantVerdict> {
    let x = &s.expect;
    let mut rows: Vec<InvariantVerdict> = out
        .properties
        .iter()
        .map(|j| {
            let name = j.property.name;
            let hits: Vec<&(Nanos, crate::protocol::Violation)> = out
                .violations
                .iter()
                .filter(|(_, v)| v.invariant == name)
                .collect();
            let expected_violated = x.violated.iter().any(|n| n == name);
            let violated = matches!(j.verdict, PropertyVerdict::Violated { .. });
            let (violations, first, ok) = match j.property.kind {
                Kind::Always => (
                    hits.len() as u64,
                    hits.first().map(|(t, v)| (*t, v.detail.clone())),
                    expected_violated != hits.is_empty(),
                ),
                // Judged at the end; a demand on it is an expectation.
                // Expected violated, it fails the run by holding.
                Kind::Eventually => (
                    violated as u64,
                    None,
                    if expected_violated {
                        !matches!(j.verdict, PropertyVerdict::Held { .. })
                    } else {
                        !violated
                    },
                ),
                Kind::Sometimes => (0, None, true),
            };
            InvariantVerdict {
                name: name.to_string(),
                kind: j.property.kind,
                about: j.property.about.to_string(),
                verdict: j.verdict.clone(),
                violations,
                first,
                expected_violated,
                ok,
            }
        })
        .collect();
    let missing = |rows: &[InvariantVerdict], n: &String| !rows.iter().any(|r| &r.name == n);
    for n in &x.violated {
        if missing(&rows, n) {
            rows.push(InvariantVerdict {
                name: n.clone(),
                kind: Kind::Always,
                about: String::new(),
                verdict: PropertyVerdict::Held { at: None },
                violations: 0,
                first: None,
                expected_violated: true,
                ok: false,
            });
        }
    }
    for (names, kind, verdict) in [
        (
            &x.held,
            Kind::Eventually,
            PropertyVerdict::Undecided {
                reason: "the protocol does not report it".into(),
            },
        ),
        (&x.seen, Kind::Sometimes, PropertyVerdict::NotSeen),
    ] {
        for n in names {
            if missing(&rows, n) {
                rows.push(InvariantVerdict {
                    name: n.clone(),
                    kind,
                    about: String::new(),
                    verdict: verdict.clone(),
                    violations: 0,
                    first: None,
                    expected_violated: false,
                    ok: true,
                });
            }
        }
    }
    rows
}

/// Whether an expectation's key bounds a protocol figure (`measure."NAME"`).
fn is_measure_key(key: &str) -> bool {
    key.starts_with("measure.")
}

impl Report {
    /// The bounds on figures with no value in this run: the figure's note
    /// says why it has none.
    fn undecided_measures(&self) -> Vec<Undecided> {
        (self.expectations.iter())
            .filter(|e| e.undecided && is_measure_key(&e.key))
            .map(|e| {
                let name = e.key.trim_start_matches("measure.").trim_matches('"');
                let note = (self.metrics.iter())
                    .find(|m| m.name == name)
                    .map_or(String::new(), |m| m.note.clone());
                Undecided {
                    check: e.key.clone(),
                    cause: "no value".into(),
                    reason: note,
                    flag: None,
                    meta: None,
                }
            })
            .collect()
    }
}

/// Whether an expectation's key is a demand on a property (see
/// [`Report::judge_properties`]).
fn is_property_key(key: &str) -> bool {
    ["held.", "seen.", "violated."]
        .iter()
        .any(|p| key.starts_with(p))
}

impl Report {
    /// The `[expect]` demands on `eventually` and `sometimes` properties, as
    /// expectations: `held = [...]`, `seen = [...]`, and `violated = [...]`
    /// naming an `eventually` property. An `eventually` property the run
    /// could not judge leaves its demand undecided, not failed.
    pub(super) fn judge_properties(&self, s: &Scenario) -> Vec<Expectation> {
        let x = &s.expect;
        let row = |n: &str| self.invariants.iter().find(|r| r.name == n);
        let mut v = Vec::new();
        let mut demand = |field: &str, name: &str, want: &str| {
            let Some(r) = row(name) else { return };
            let actual = match &r.verdict {
                PropertyVerdict::Held { at: Some(t) } => format!("held at {}", fmt_duration(*t)),
                PropertyVerdict::Held { at: None } => "held".to_string(),
                PropertyVerdict::Violated { detail } => format!("violated ({detail})"),
                PropertyVerdict::Seen { at } => format!("seen at {}", fmt_duration(*at)),
                PropertyVerdict::NotSeen => "not seen".to_string(),
                PropertyVerdict::Undecided { .. } => "undecided".to_string(),
            };
            let undecided = matches!(r.verdict, PropertyVerdict::Undecided { .. });
            v.push(Expectation {
                key: format!("{field}.\"{name}\""),
                what: format!("{name} ({})", r.kind.name()),
                expected: want.to_string(),
                actual,
                held: r.verdict.word() == want,
                undecided,
            });
        };
        for n in &x.held {
            demand("held", n, "held");
        }
        for n in &x.seen {
            demand("seen", n, "seen");
        }
        for n in &x.violated {
            if row(n).is_some_and(|r| r.kind == Kind::Eventually) {
                demand("violated", n, "violated");
            }
        }
        v
    }

    /// The demands on `eventually` properties the run could not judge.
    fn undecided_properties(&self) -> Vec<Undecided> {
        self.expectations
            .iter()
            .filter(|e| e.undecided && is_property_key(&e.key))
            .filter_map(|e| {
                let name = e.what.rsplit_once(" (")?.0;
                let r = self.invariants.iter().find(|r| r.name == name)?;
                let PropertyVerdict::Undecided { reason } = &r.verdict else {
                    return None;
                };
                Some(Undecided {
                    check: e.key.clone(),
                    cause: "quiet".into(),
                    reason: reason.clone(),
                    flag: None,
                    meta: None,
                })
            })
            .collect()
    }
}
