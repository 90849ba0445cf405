//! The report as text for people, and its failures one line each.

use super::{Consistency, InvariantVerdict, Report, RunOutcome, Share};
use crate::protocol::{Kind, PropertyVerdict};
use crate::time::fmt_duration;

impl Report {
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
        if let Some(&max) = a.goodput.iter().max() {
            let _ = writeln!(
                o,
                "goodput      {}  ok operations per {}, at most {max} (· none)",
                super::sparkline(&a.goodput),
                fmt_duration(self.simulated_ns / a.goodput.len() as u64)
            );
        }
        let _ = writeln!(o, "PACELC       {}", self.pacelc.class());
        for e in &self.pacelc.evidence {
            let _ = writeln!(o, "             {e}");
        }
        for m in &self.metrics {
            let _ = writeln!(o, "{m}");
        }
        let (always, others): (Vec<_>, Vec<_>) =
            self.invariants.iter().partition(|i| i.kind == Kind::Always);
        if !always.is_empty() {
            let _ = writeln!(o, "invariants");
            for i in always {
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
        if !others.is_empty() {
            let _ = writeln!(o, "properties");
            for i in others {
                let (mark, state, why) = property_line(i);
                let _ = writeln!(o, "  [{mark}] {:<24} {}: {state}", i.name, i.kind.name());
                if let Some(why) = why {
                    let _ = writeln!(o, "       {why}");
                }
            }
        }
        let _ = writeln!(o, "consistency");
        match &self.consistency {
            Consistency::Checked {
                linearizability,
                weak,
            } => {
                let text = linearizability.to_string();
                let weak = weak.as_ref().map(|w| w.to_string()).unwrap_or_default();
                for line in text.lines().chain(weak.lines()) {
                    let _ = writeln!(o, "  {line}");
                }
            }
        }
        if let Some(r) = &self.schedule {
            let broke = r
                .broke_at
                .iter()
                .map(|(p, k)| format!("; {p} broke at step {k}"))
                .collect::<String>();
            let _ = writeln!(
                o,
                "schedule     an explored run: {} of {} steps replayed{broke}",
                r.taken, r.steps
            );
            if let Some(e) = &r.error {
                let _ = writeln!(o, "             stopped: {e}");
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

/// An `eventually` or `sometimes` property's line: its mark (`ok`, `!!` for
/// a failure, `--` for an answer that fails nothing: undecided or not
/// seen), its verdict, and the reason on a line of its own.
fn property_line(i: &InvariantVerdict) -> (&'static str, String, Option<String>) {
    let mark = |good: bool| if good { "ok" } else { "--" };
    match &i.verdict {
        PropertyVerdict::Held { at } => {
            let when = at.map_or(String::new(), |t| format!(" at {}", fmt_duration(t)));
            if i.expected_violated {
                ("!!", format!("held{when}, expected violated"), None)
            } else {
                (mark(true), format!("held{when}"), None)
            }
        }
        PropertyVerdict::Violated { detail } if i.expected_violated => {
            ("ok", "violated, as expected".into(), Some(detail.clone()))
        }
        PropertyVerdict::Violated { detail } => ("!!", "VIOLATED".into(), Some(detail.clone())),
        PropertyVerdict::Seen { at } => {
            (mark(true), format!("seen at {}", fmt_duration(*at)), None)
        }
        PropertyVerdict::NotSeen => (mark(false), "not seen".into(), None),
        PropertyVerdict::Undecided { reason } => {
            (mark(false), "undecided".into(), Some(reason.clone()))
        }
    }
}
