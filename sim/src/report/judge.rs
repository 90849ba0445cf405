//! Judging a run against the scenario's `[expect]` hypothesis.

use super::{Consistency, Expectation, Report, Share};
use crate::check::Verdict;
use crate::kernel::RunOutput;
use crate::scenario::{parse_pacelc, Fraction, Scenario};
use crate::time::{fmt_duration, Nanos};

impl Report {
    pub(super) fn judge(
        &self,
        s: &Scenario,
        ok_after: &[Option<Nanos>],
        out: &RunOutput,
    ) -> Vec<Expectation> {
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
                v.push(Expectation::decided(
                    key,
                    what,
                    format!(
                        "{} {:.1}%",
                        if max { "at most" } else { "at least" },
                        b * 100.0
                    ),
                    format!("{} ({}/{})", pct(r), share.ok, share.total),
                    match r {
                        Some(r) => {
                            if max {
                                r <= b + 1e-12
                            } else {
                                r + 1e-12 >= b
                            }
                        }
                        None => false,
                    },
                ));
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
                v.push(Expectation::decided(
                    key,
                    what,
                    format!("at most {}", fmt_duration(b)),
                    fmt_duration(actual),
                    self.ops.ok > 0 && actual <= b,
                ));
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
            v.push(Expectation::decided(
                "min_ok_ops",
                "ok operations",
                format!("at least {m}"),
                self.ops.ok.to_string(),
                self.ops.ok >= m,
            ));
        }
        if let Some(t) = out.stopped_early {
            v.push(Expectation::decided(
                "max_events",
                "the run reached its duration",
                fmt_duration(s.meta.duration),
                format!(
                    "stopped at {} after [meta] max_events = {} events",
                    fmt_duration(t),
                    s.meta.max_events
                ),
                false,
            ));
        }
        if let Some(p) = &x.pacelc {
            let (ep, ee) = parse_pacelc(p.get_ref()).expect("checked when parsed");
            let held = ep
                .as_ref()
                .is_none_or(|c| self.pacelc.p.as_ref() == Some(c))
                && ee
                    .as_ref()
                    .is_none_or(|c| self.pacelc.e.as_ref() == Some(c));
            v.push(Expectation::decided(
                "pacelc",
                "PACELC class",
                p.get_ref().clone(),
                self.pacelc.class(),
                held,
            ));
        }
        let Consistency::Checked {
            linearizability,
            weak,
        } = &self.consistency;
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
        if weak.is_none() {
            // A hypothesis about key-value guarantees cannot hold of a
            // history that has none (a bank's transfers).
            let asked = x.max_stale_reads.is_some()
                || x.min_stale_reads.is_some()
                || x.max_lost_writes.is_some()
                || x.min_lost_writes.is_some()
                || x.max_read_your_writes_violations.is_some()
                || x.min_read_your_writes_violations.is_some()
                || x.max_monotonic_reads_violations.is_some()
                || x.min_monotonic_reads_violations.is_some();
            if asked {
                v.push(Expectation::decided(
                    "consistency",
                    "consistency",
                    "a key-value history",
                    format!(
                        "not checked: the {} model's history has no keys to read stale or lose",
                        linearizability.model
                    ),
                    false,
                ));
            }
        } else if let Some(w) = weak {
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
                for (side, bound) in [("max", max), ("min", min)] {
                    let Some(m) = bound else { continue };
                    let (word, held) = if side == "max" {
                        ("at most", actual <= m)
                    } else {
                        ("at least", actual >= m)
                    };
                    v.push(Expectation::decided(
                        format!("{side}_{key}"),
                        what,
                        format!("{word} {m}"),
                        actual.to_string(),
                        held,
                    ));
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
            v.push(Expectation::decided(
                "all_clients_ok_after",
                format!("every client served after {}", fmt_duration(after)),
                "every client has an ok operation",
                if missing.is_empty() {
                    "all were".into()
                } else {
                    format!("not served: {}", missing.join(", "))
                },
                missing.is_empty() && !ok_after.is_empty(),
            ));
        }
        v
    }
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
    let measure = |actual: String, held: bool| {
        let (key, what) = (format!("measure.\"{name}\""), format!("measure \"{name}\""));
        Expectation::decided(key, what, expected.clone(), actual, held)
    };
    let Some((_, text)) = summary.iter().find(|(k, _)| k == name) else {
        let names: Vec<&str> = summary.iter().map(|(k, _)| k.as_str()).collect();
        let actual = format!(
            "this protocol reports no such figure; it reports: {}",
            names.join(", ")
        );
        return measure(actual, false);
    };
    let Some((actual, is_duration)) = leading_value(text) else {
        let actual = format!("`{text}` does not start with a number or a duration");
        return measure(actual, false);
    };
    let mut held = true;
    for (b, is_min) in [(&bound.min, true), (&bound.max, false)] {
        if let Some(b) = b {
            let (v, d) = b.get_ref().value().expect("checked when parsed");
            if d != is_duration {
                let actual =
                    format!("`{text}`: compare a duration with a duration, a number with a number");
                return measure(actual, false);
            }
            held &= if is_min { actual >= v } else { actual <= v };
        }
    }
    measure(shown(actual, is_duration), held)
}
