//! Judging a run against the scenario's `[expect]` hypothesis.

use super::{Consistency, Expectation, Report, Share};
use crate::check::Verdict;
use crate::kernel::RunOutput;
use crate::metric::{Bound, Metric, Unit, Value};
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
            v.push(judge_measure(name, bound, &self.metrics));
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

/// `[expect.measure."NAME"]`: the figure's typed value against the bounds,
/// each bound read in the figure's unit (a duration bounds a duration, a
/// share a ratio, a number a count, rate or number). A figure with no value
/// in this run leaves its bounds undecided, never failed.
fn judge_measure(
    name: &str,
    bound: &crate::scenario::MeasureBound,
    metrics: &[Metric],
) -> Expectation {
    let found = metrics.iter().find(|m| m.name == name);
    let unit = found.and_then(|m| m.value.unit()).or(bound.unit);
    let bounds: Vec<(&str, Bound)> = [("at least", &bound.min), ("at most", &bound.max)]
        .into_iter()
        .filter_map(|(word, b)| {
            Some((
                word,
                b.as_ref()?.get_ref().value().expect("checked when parsed"),
            ))
        })
        .collect();
    let expected = bounds
        .iter()
        .map(|(word, b)| format!("{word} {}", b.show(unit.unwrap_or(Unit::Number))))
        .collect::<Vec<_>>()
        .join(" and ");
    let (key, what) = (format!("measure.\"{name}\""), format!("measure \"{name}\""));
    let measure = |actual: String, held: bool| {
        Expectation::decided(key.clone(), what.clone(), expected.clone(), actual, held)
    };
    let Some(m) = found else {
        let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
        let actual = format!(
            "this protocol reports no such figure in this run; it reports: {}",
            names.join(", ")
        );
        return measure(actual, false);
    };
    if m.value == Value::None {
        return Expectation {
            undecided: true,
            ..measure(format!("no value in this run: {}", m.shown()), false)
        };
    }
    // Each bound in the figure's unit, or why it cannot bound it.
    let mut limits = Vec::new();
    for (word, b) in &bounds {
        match unit.map(|u| b.against(u)) {
            Some(Err(e)) => return measure(e, false),
            Some(Ok(v)) => limits.push((*word, v)),
            None => {}
        }
    }
    let Some(actual) = m.value.scalar() else {
        let actual = format!("no value to compare: `{}`", m.shown());
        return measure(actual, false);
    };
    // A count or duration is whole and compared exactly; a ratio, rate or
    // number equal to its bound up to float error (7/125 against "5.6%") is
    // equal to it.
    let exact = matches!(m.value, Value::Count(_) | Value::Duration(_));
    let same = |a: f64, b: f64| !exact && (a - b).abs() <= 1e-9 * a.abs().max(b.abs());
    let broken: Vec<f64> = (limits.iter())
        .filter(|(word, v)| {
            let within = if *word == "at least" {
                actual >= *v
            } else {
                actual <= *v
            };
            !within && !same(actual, *v)
        })
        .map(|(_, v)| *v)
        .collect();
    measure(shown_apart(m, &broken), broken.is_empty())
}

/// The figure's value as the report prints it, with as many more decimals
/// as it takes to tell it from each bound it broke (5.6000001 percent, not
/// 5.6 percent against at most 5.6 percent).
fn shown_apart(m: &Metric, broken: &[f64]) -> String {
    let Some(actual) = m.value.scalar() else {
        return m.value.show(m.decimals);
    };
    let scale = if matches!(m.value, Value::Ratio(_)) {
        100.0
    } else {
        1.0
    };
    let mut decimals = m.decimals;
    if matches!(m.value, Value::Ratio(_) | Value::Rate(_) | Value::Number(_)) {
        while decimals < 17
            && (broken.iter()).any(|b| {
                format!("{:.decimals$}", actual * scale) == format!("{:.decimals$}", b * scale)
            })
        {
            decimals += 1;
        }
    }
    m.value.show(decimals)
}

#[cfg(test)]
mod tests {
    use super::judge_measure;
    use crate::metric::{Metric, Unit};
    use crate::scenario::MeasureBound;
    use crate::time::ms;

    fn bound(toml: &str) -> MeasureBound {
        toml::from_str(toml).unwrap()
    }

    /// (held, expected, actual) of `[expect.measure."NAME"]` written as `toml`.
    fn judge(name: &str, toml: &str, metrics: &[Metric]) -> (bool, String, String) {
        let e = judge_measure(name, &bound(toml), metrics);
        assert_eq!(e.key, format!("measure.\"{name}\""));
        (e.held, e.expected, e.actual)
    }

    fn figures() -> Vec<Metric> {
        vec![
            Metric::count("leaders elected", 2).note("(x)"),
            Metric::duration("db latency max", ms(12)),
            Metric::ratio_of("hit ratio", 554, 1000).note("of 1000 reads"),
            Metric::rate("db requests/s peak", 180.0).decimals(0),
            Metric::number("key balance max/mean", 1.123),
            Metric::series("locks by second", Unit::Count, vec![(0, 1.0)]),
            Metric::text("bank", "saga"),
            Metric::none("failover time (RTO)", "none (no failover)"),
        ]
    }

    #[test]
    fn a_figure_with_no_value_leaves_its_bound_undecided_in_its_declared_unit() {
        let m = figures();
        let mut b = bound("max = \"1s\"");
        b.unit = Some(Unit::Duration);
        let e = judge_measure("failover time (RTO)", &b, &m);
        assert!(!e.held && e.undecided, "{e:?}");
        assert_eq!(e.expected, "at most 1s");
        assert_eq!(e.actual, "no value in this run: none (no failover)");
        let mut b = bound("max = 0.4");
        b.unit = Some(Unit::Ratio);
        let e = judge_measure("failover time (RTO)", &b, &m);
        assert!(e.undecided);
        assert_eq!(e.expected, "at most 40 percent");
    }

    #[test]
    fn a_value_equal_to_its_bound_up_to_float_error_is_equal() {
        let m = [
            Metric::ratio_of("share", 7, 125),
            Metric::number("mean", 3.0 / (5.0 / 3.0)),
            Metric::ratio("over", 0.0560001),
            Metric::number("under", 1.79999),
        ];
        // (figure, bounds, held, expected, got): equal up to float error
        // holds; truly past the bound shows enough decimals to say by how much.
        #[rustfmt::skip]
        let rows = [
            ("share", "max = \"5.6%\"\nmin = 0.056", true, "at least 5.6 percent and at most 5.6 percent", "5.6 percent"),
            ("mean", "min = 1.8\nmax = 1.8", true, "at least 1.8 and at most 1.8", "1.80"),
            ("over", "max = \"5.6%\"", false, "at most 5.6 percent", "5.60001 percent"),
            ("under", "min = 1.8", false, "at least 1.8", "1.79999"),
        ];
        for (name, bounds, held, expected, got) in rows {
            let want = (held, expected.to_string(), got.to_string());
            assert_eq!(judge(name, bounds, &m), want, "{name}: {bounds}");
        }
    }

    #[test]
    fn a_count_is_bounded_by_a_number() {
        let m = figures();
        let held = judge("leaders elected", "min = 2\nmax = 2", &m);
        assert_eq!(held, (true, "at least 2 and at most 2".into(), "2".into()));
        let not = judge("leaders elected", "max = 1", &m);
        assert_eq!(not, (false, "at most 1".into(), "2".into()));
        let (held, _, actual) = judge("leaders elected", "max = \"1s\"", &m);
        assert!(!held);
        assert_eq!(
            actual,
            "a duration cannot bound a count; bound it by a number, e.g. `max = 12`"
        );
    }

    #[test]
    fn a_duration_is_bounded_by_a_duration() {
        let m = figures();
        let held = judge("db latency max", "max = \"25ms\"", &m);
        assert_eq!(held, (true, "at most 25ms".into(), "12ms".into()));
        let (held, _, _) = judge("db latency max", "min = \"12.5ms\"", &m);
        assert!(!held);
        let (held, _, actual) = judge("db latency max", "max = 25", &m);
        assert!(!held);
        assert!(
            actual.starts_with("a number cannot bound a duration"),
            "{actual}"
        );
    }

    #[test]
    fn a_ratio_is_bounded_by_a_share_or_a_percentage() {
        let m = figures();
        let held = judge("hit ratio", "min = \"50%\"\nmax = 0.6", &m);
        assert_eq!(
            held,
            (
                true,
                "at least 50 percent and at most 60 percent".into(),
                "55.4 percent".into()
            )
        );
        let (held, _, _) = judge("hit ratio", "max = \"55%\"", &m);
        assert!(!held);
        let (held, _, actual) = judge("hit ratio", "min = 50", &m);
        assert!(!held);
        assert!(actual.contains("write \"50%\""), "{actual}");
    }

    #[test]
    fn a_rate_and_a_number_are_bounded_by_numbers() {
        let m = figures();
        assert_eq!(
            judge("db requests/s peak", "max = 200", &m),
            (true, "at most 200".into(), "180".into())
        );
        assert!(!judge("db requests/s peak", "max = 179.5", &m).0);
        assert!(!judge("db requests/s peak", "max = \"1s\"", &m).0);
        assert_eq!(
            judge("key balance max/mean", "max = 1.2", &m),
            (true, "at most 1.2".into(), "1.12".into())
        );
        assert!(!judge("key balance max/mean", "min = 1.2", &m).0);
    }

    #[test]
    fn a_series_a_setting_or_a_missing_figure_is_never_held() {
        let m = figures();
        let (held, _, actual) = judge("locks by second", "max = 3", &m);
        assert!(!held && actual.contains("time series"), "{actual}");
        let (held, _, actual) = judge("bank", "max = 3", &m);
        assert!(!held && actual.contains("never bounded"), "{actual}");
        let (held, _, actual) = judge("leaders electid", "max = 3", &m);
        assert!(
            !held && actual.contains("reports no such figure"),
            "{actual}"
        );
    }
}
