//! Building a report from a run: counts, latencies, availability, PACELC,
//! the consistency checks and the invariants.

use super::{
    replay_command, unknown_cause, Availability, CheckBudget, Consistency, InvariantVerdict,
    Latency, OpCounts, Pacelc, Report, RunOutcome, Share, Undecided, DEFAULT_PROGRAM,
};
use crate::check::Verdict;
use crate::history::Outcome;
use crate::kernel::RunOutput;
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
        let mut av = Availability::default();
        let mut ok_after: Vec<Option<Nanos>> = vec![None; out.cluster.clients().len()];
        let servers = out.cluster.servers().len();
        for (op, meta) in out.history.ops().zip(&out.op_meta) {
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
            protocol_summary: out.summary.clone(),
            unfired_triggers: out.unfired_triggers.clone(),
            expectations: Vec::new(),
            outcome: RunOutcome::Fail,
            passed: false,
            undecided: Vec::new(),
            check_budget: budget,
            replay: replay_command(DEFAULT_PROGRAM, s, out.seed),
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
