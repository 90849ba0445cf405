//! A protocol's figures: typed values with a unit, by name.
//!
//! A protocol collects them with its own hook, apart from its invariants
//! ([`crate::protocol::Protocol::observe`] after every step for figures that
//! need the run's course, [`crate::protocol::Protocol::metrics`] at the end).
//! The report prints each as a line (`name  value note`), `--json` carries it
//! typed (`{"name", "unit", "value", "note"}`, durations in nanoseconds, a
//! series as `[time_ns, value]` points), and `[expect.measure."NAME"]` bounds
//! it by its value and unit: no code reads a figure back from its text.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::time::{fmt_duration, Nanos};

/// What a figure measures, and so what may bound it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// How many: a whole number.
    Count,
    /// How long, in nanoseconds.
    Duration,
    /// A share between 0 and 1, printed as a percentage.
    Ratio,
    /// How many per second.
    Rate,
    /// Any other number (a max/mean balance, say).
    Number,
    /// A value over the run's time: `[time, value]` points.
    Series,
    /// A setting in words ("two-phase commit, presumed abort"): printed, never bounded.
    Text,
}

impl Unit {
    /// The unit in a sentence: "a count", "a duration".
    pub fn article(self) -> &'static str {
        match self {
            Unit::Count => "a count",
            Unit::Duration => "a duration",
            Unit::Ratio => "a ratio",
            Unit::Rate => "a rate (per second)",
            Unit::Number => "a number",
            Unit::Series => "a time series",
            Unit::Text => "a setting in words",
        }
    }

    /// What bounds a figure of this unit in `[expect.measure]`, or why none does.
    pub fn bounded_by(self) -> &'static str {
        match self {
            Unit::Count => "a number, e.g. `max = 12`",
            Unit::Duration => "a duration, e.g. `max = \"500ms\"`",
            Unit::Ratio => {
                "a share: a number between 0 and 1 (e.g. `min = 0.3`) or a percentage (e.g. `min = \"30%\"`)"
            }
            Unit::Rate => "a number of events per second, e.g. `max = 150`",
            Unit::Number => "a number, e.g. `max = 1.5`",
            Unit::Series => "nothing (a time series is not bounded as a whole)",
            Unit::Text => "nothing (a setting in words is printed, never bounded)",
        }
    }
}

/// A time series: a value at each of some points of the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The unit of every point's value.
    pub of: Unit,
    /// `(time, value)`, in time order.
    pub points: Vec<(Nanos, f64)>,
}

/// The report prints at most this many points of a series (then ` ...`);
/// `--json` carries them all.
pub const SERIES_SHOWN: usize = 60;

/// `values` as a sparkline: one character each, its height the value's share
/// of the largest (`▁` to `█`, rounded up so that any value above zero
/// shows), `·` for zero or less.
pub fn sparkline(values: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().fold(0.0f64, f64::max);
    values
        .iter()
        .map(|&v| {
            if v <= 0.0 || max <= 0.0 {
                '·'
            } else {
                let eighths = (v / max * 8.0).ceil() as usize;
                BARS[eighths.clamp(1, 8) - 1]
            }
        })
        .collect()
}

/// A figure's value, with its unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "unit", content = "value", rename_all = "snake_case")]
pub enum Value {
    Count(u64),
    /// Nanoseconds.
    Duration(Nanos),
    /// A share between 0 and 1.
    Ratio(f64),
    /// Per second.
    Rate(f64),
    Number(f64),
    Series(Series),
    Text(String),
    /// The figure has no value in this run (no failover, so no failover
    /// time); its note says why.
    None,
}

impl Value {
    /// The unit, `None` for [`Value::None`] (a figure of any unit may lack a value).
    pub fn unit(&self) -> Option<Unit> {
        Some(match self {
            Value::Count(_) => Unit::Count,
            Value::Duration(_) => Unit::Duration,
            Value::Ratio(_) => Unit::Ratio,
            Value::Rate(_) => Unit::Rate,
            Value::Number(_) => Unit::Number,
            Value::Series(_) => Unit::Series,
            Value::Text(_) => Unit::Text,
            Value::None => return None,
        })
    }

    /// The value as one number (a duration in nanoseconds, a ratio as a
    /// share), for a single figure; `None` for a series, text or no value.
    pub fn scalar(&self) -> Option<f64> {
        match self {
            Value::Count(n) => Some(*n as f64),
            Value::Duration(d) => Some(*d as f64),
            Value::Ratio(x) | Value::Rate(x) | Value::Number(x) => Some(*x),
            Value::Series(_) | Value::Text(_) | Value::None => None,
        }
    }

    pub fn as_count(&self) -> Option<u64> {
        match self {
            Value::Count(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_duration(&self) -> Option<Nanos> {
        match self {
            Value::Duration(d) => Some(*d),
            _ => None,
        }
    }

    pub fn as_ratio(&self) -> Option<f64> {
        match self {
            Value::Ratio(x) => Some(*x),
            _ => None,
        }
    }

    pub fn as_series(&self) -> Option<&Series> {
        match self {
            Value::Series(s) => Some(s),
            _ => None,
        }
    }

    /// `part` of `whole` as a share; 0 when `whole` is 0.
    pub fn share(part: u64, whole: u64) -> f64 {
        if whole == 0 {
            0.0
        } else {
            part as f64 / whole as f64
        }
    }

    /// The value as the report prints it, numbers with `decimals` decimals
    /// (a ratio as a percentage, `55.4 percent`).
    pub fn show(&self, decimals: usize) -> String {
        match self {
            Value::Count(n) => n.to_string(),
            Value::Duration(d) => fmt_duration(*d),
            Value::Ratio(x) => format!("{:.decimals$} percent", x * 100.0),
            Value::Rate(x) | Value::Number(x) => format!("{x:.decimals$}"),
            // A sparkline of the values shown, then the values.
            Value::Series(s) => {
                let values: Vec<f64> = s.points.iter().take(SERIES_SHOWN).map(|p| p.1).collect();
                let mut shown: Vec<String> = values.iter().map(|v| v.to_string()).collect();
                if s.points.len() > SERIES_SHOWN {
                    shown.push("...".into());
                }
                format!("{}  {}", sparkline(&values), shown.join(" "))
            }
            Value::Text(t) => t.clone(),
            Value::None => String::new(),
        }
    }
}

/// The figures a protocol reports at the end of a run, in the order the
/// report prints them (see `Protocol::metrics`). It is a `Vec<Metric>`, to
/// push a figure built by hand, with a shorthand per unit that pushes one
/// and lets the words around it be added:
///
/// ```
/// use sim::metric::Metrics;
///
/// let mut out = Metrics::new();
/// out.count("tokens granted", 3).note("(the last token handed out)");
/// out.ratio_of("hit ratio", 30, 40).note("(30 of 40)");
/// assert_eq!(out[0].shown(), "3 (the last token handed out)");
/// assert_eq!(out[1].shown(), "75.0 percent (30 of 40)");
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics(pub Vec<Metric>);

impl std::ops::Deref for Metrics {
    type Target = Vec<Metric>;
    fn deref(&self) -> &Vec<Metric> {
        &self.0
    }
}

impl std::ops::DerefMut for Metrics {
    fn deref_mut(&mut self) -> &mut Vec<Metric> {
        &mut self.0
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Pushes `m`; the words around it may still be set.
    pub fn add(&mut self, m: Metric) -> Worded<'_> {
        self.0.push(m);
        Worded(self.0.last_mut().expect("just pushed"))
    }

    pub fn count(&mut self, name: impl Into<String>, n: u64) -> Worded<'_> {
        self.add(Metric::count(name, n))
    }

    pub fn duration(&mut self, name: impl Into<String>, ns: Nanos) -> Worded<'_> {
        self.add(Metric::duration(name, ns))
    }

    /// A share between 0 and 1.
    pub fn ratio(&mut self, name: impl Into<String>, share: f64) -> Worded<'_> {
        self.add(Metric::ratio(name, share))
    }

    /// `part` of `whole` (0 when `whole` is 0).
    pub fn ratio_of(&mut self, name: impl Into<String>, part: u64, whole: u64) -> Worded<'_> {
        self.add(Metric::ratio_of(name, part, whole))
    }

    pub fn rate(&mut self, name: impl Into<String>, per_second: f64) -> Worded<'_> {
        self.add(Metric::rate(name, per_second))
    }

    pub fn number(&mut self, name: impl Into<String>, x: f64) -> Worded<'_> {
        self.add(Metric::number(name, x))
    }

    pub fn text(&mut self, name: impl Into<String>, text: impl Into<String>) -> Worded<'_> {
        self.add(Metric::text(name, text))
    }

    /// A figure with no value in this run: the report prints `why` alone.
    pub fn none(&mut self, name: impl Into<String>, why: impl Into<String>) -> Worded<'_> {
        self.add(Metric::none(name, why))
    }

    /// `NAME p50` and `NAME p99` (each within 1.6%, the histogram's
    /// precision) and `NAME max`; nothing when `h` holds no sample.
    pub fn percentiles(&mut self, name: &str, h: &crate::histogram::Histogram) {
        for (suffix, q) in [("p50", 0.5), ("p99", 0.99)] {
            if let Some(v) = h.quantile(q) {
                self.duration(format!("{name} {suffix}"), v)
                    .note("(within 1.6%)");
            }
        }
        if h.count() > 0 {
            self.duration(format!("{name} max"), h.max());
        }
    }

    pub fn into_vec(self) -> Vec<Metric> {
        self.0
    }
}

/// A figure just pushed on [`Metrics`], whose words may still be set.
pub struct Worded<'a>(&'a mut Metric);

impl Worded<'_> {
    /// Words after the value.
    pub fn note(self, note: impl Into<String>) -> Self {
        self.0.note = note.into();
        self
    }

    /// Words before the value.
    pub fn lead(self, lead: impl Into<String>) -> Self {
        self.0.lead = lead.into();
        self
    }

    /// How many decimals a ratio, rate or number is printed with.
    pub fn decimals(self, decimals: usize) -> Self {
        self.0.decimals = decimals;
        self
    }
}

/// One figure of a run: its name, its value and what the report prints
/// around the value (`lead` before it, `note` after it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub name: String,
    #[serde(flatten)]
    pub value: Value,
    /// Words printed before the value ("at most"), if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub lead: String,
    /// Words printed after the value ("of 40 reads (L1 3, cache 20)"), if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// How many decimals the report prints a ratio, rate or number with.
    #[serde(skip, default = "default_decimals")]
    pub decimals: usize,
}

fn default_decimals() -> usize {
    1
}

impl Metric {
    pub fn new(name: impl Into<String>, value: Value) -> Metric {
        let decimals = match value {
            Value::Number(_) => 2,
            _ => 1,
        };
        Metric {
            name: name.into(),
            value,
            lead: String::new(),
            note: String::new(),
            decimals,
        }
    }

    pub fn count(name: impl Into<String>, n: u64) -> Metric {
        Metric::new(name, Value::Count(n))
    }

    pub fn duration(name: impl Into<String>, ns: Nanos) -> Metric {
        Metric::new(name, Value::Duration(ns))
    }

    /// A share between 0 and 1.
    pub fn ratio(name: impl Into<String>, share: f64) -> Metric {
        Metric::new(name, Value::Ratio(share))
    }

    /// `part` of `whole` (0 when `whole` is 0).
    pub fn ratio_of(name: impl Into<String>, part: u64, whole: u64) -> Metric {
        Metric::ratio(name, Value::share(part, whole))
    }

    pub fn rate(name: impl Into<String>, per_second: f64) -> Metric {
        Metric::new(name, Value::Rate(per_second))
    }

    pub fn number(name: impl Into<String>, x: f64) -> Metric {
        Metric::new(name, Value::Number(x))
    }

    /// `(time, value)` points, each value of unit `of`.
    pub fn series(name: impl Into<String>, of: Unit, points: Vec<(Nanos, f64)>) -> Metric {
        Metric::new(name, Value::Series(Series { of, points }))
    }

    pub fn text(name: impl Into<String>, text: impl Into<String>) -> Metric {
        Metric::new(name, Value::Text(text.into()))
    }

    /// A figure with no value in this run: the report prints `why` alone.
    pub fn none(name: impl Into<String>, why: impl Into<String>) -> Metric {
        Metric::new(name, Value::None).note(why)
    }

    /// Words after the value.
    pub fn note(mut self, note: impl Into<String>) -> Metric {
        self.note = note.into();
        self
    }

    /// Words before the value.
    pub fn lead(mut self, lead: impl Into<String>) -> Metric {
        self.lead = lead.into();
        self
    }

    /// How many decimals a ratio, rate or number is printed with.
    pub fn decimals(mut self, decimals: usize) -> Metric {
        self.decimals = decimals;
        self
    }

    /// The value and its words, as the report prints them after the name:
    /// the lead, the value, then the note (joined by a space, but none before
    /// a note that starts with punctuation: `3, epoch 2: ...`, `12..14`).
    pub fn shown(&self) -> String {
        let mut out = self.lead.clone();
        let value = self.value.show(self.decimals);
        for part in [value.as_str(), self.note.as_str()] {
            if part.is_empty() {
                continue;
            }
            let glued = part.starts_with([',', ';', ':', '.', ')']);
            if !out.is_empty() && !glued {
                out.push(' ');
            }
            out.push_str(part);
        }
        out
    }
}

impl fmt::Display for Metric {
    /// The report's line: the name in a column of 12, then [`Metric::shown`].
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{:<12} {}", self.name, self.shown())
    }
}

/// A figure a protocol declares it reports: its name and unit. A figure
/// reported once per change (`keys moved by the ring`, `... #2`) is declared
/// twice, as `NAME` and `NAME #N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Figure {
    pub name: &'static str,
    pub unit: Unit,
}

impl Figure {
    pub const fn new(name: &'static str, unit: Unit) -> Figure {
        Figure { name, unit }
    }
    pub const fn count(name: &'static str) -> Figure {
        Figure::new(name, Unit::Count)
    }
    pub const fn duration(name: &'static str) -> Figure {
        Figure::new(name, Unit::Duration)
    }
    pub const fn ratio(name: &'static str) -> Figure {
        Figure::new(name, Unit::Ratio)
    }
    pub const fn rate(name: &'static str) -> Figure {
        Figure::new(name, Unit::Rate)
    }
    pub const fn number(name: &'static str) -> Figure {
        Figure::new(name, Unit::Number)
    }
    pub const fn series(name: &'static str) -> Figure {
        Figure::new(name, Unit::Series)
    }
    pub const fn text(name: &'static str) -> Figure {
        Figure::new(name, Unit::Text)
    }
}

/// The declared figure `name` is, if any: `NAME` itself, or `NAME #2` of a
/// figure declared as `NAME #N`.
pub fn declared<'f>(name: &str, figures: &'f [Figure]) -> Option<&'f Figure> {
    if name.ends_with(" #N") {
        return None;
    }
    if let Some(f) = figures.iter().find(|f| f.name == name) {
        return Some(f);
    }
    match name.rsplit_once(" #") {
        Some((base, n)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => {
            let numbered = format!("{base} #N");
            figures.iter().find(|f| f.name == numbered)
        }
        _ => None,
    }
}

/// Checks reported figures against their declaration: each must be declared
/// (see [`declared`]) with the unit it is reported in (a figure with no value
/// fits any unit). The error names the first that is not, for a protocol's
/// own test that keeps `metrics` and `Spec::METRICS` in step.
pub fn check_declared(metrics: &[Metric], figures: &[Figure]) -> Result<(), String> {
    for m in metrics {
        let Some(f) = declared(&m.name, figures) else {
            let names: Vec<&str> = figures.iter().map(|f| f.name).collect();
            return Err(format!(
                "figure {:?} is reported but not declared; the declared ones are {names:?}",
                m.name
            ));
        };
        if m.value.unit().is_some_and(|u| u != f.unit) {
            return Err(format!(
                "figure {:?} is declared {} but reported as {:?}",
                m.name,
                f.unit.article(),
                m.value
            ));
        }
    }
    Ok(())
}

/// What an `[expect.measure]` bound is: a number, a duration (`"500ms"`) or
/// a share (`"30%"`; a number between 0 and 1 bounds a ratio as a share too).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    Number(f64),
    Duration(Nanos),
    /// A percentage, as a share between 0 and 1.
    Share(f64),
}

impl Bound {
    /// The bound in words: "a number", "a duration", "a percentage".
    pub fn article(self) -> &'static str {
        match self {
            Bound::Number(_) => "a number",
            Bound::Duration(_) => "a duration",
            Bound::Share(_) => "a percentage",
        }
    }

    /// The bound as the figure's value is compared with it: a duration in
    /// nanoseconds, a share between 0 and 1, a number as itself; or why this
    /// bound cannot bound a figure of `unit`.
    pub fn against(self, unit: Unit) -> Result<f64, String> {
        let wrong = || {
            format!(
                "{} cannot bound {}; bound it by {}",
                self.article(),
                unit.article(),
                unit.bounded_by()
            )
        };
        match (unit, self) {
            (Unit::Series, _) => {
                Err("a time series is not bounded as a whole; bound one of the single figures".into())
            }
            (Unit::Text, _) => Err("a setting in words is printed, never bounded".into()),
            (Unit::Count | Unit::Number | Unit::Rate, Bound::Number(n)) => Ok(n),
            (Unit::Duration, Bound::Duration(d)) => Ok(d as f64),
            (Unit::Ratio, Bound::Share(s)) => Ok(s),
            (Unit::Ratio, Bound::Number(n)) if (0.0..=1.0).contains(&n) => Ok(n),
            (Unit::Ratio, Bound::Number(n)) => Err(format!(
                "{n} is not a share between 0 and 1 (for {n} percent write \"{n}%\"); bound a ratio by {}",
                unit.bounded_by()
            )),
            _ => Err(wrong()),
        }
    }

    /// The bound as the report prints it, in the unit of what it bounds.
    pub fn show(self, unit: Unit) -> String {
        match (self, unit) {
            (Bound::Duration(d), _) => fmt_duration(d),
            (Bound::Share(s) | Bound::Number(s), Unit::Ratio) => {
                format!("{} percent", trim(s * 100.0))
            }
            (Bound::Share(s), _) => format!("{}%", trim(s * 100.0)),
            (Bound::Number(n), _) => format!("{n}"),
        }
    }
}

/// A percentage without float noise: 30.000000000000004 -> "30".
fn trim(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{ms, secs};

    #[test]
    fn each_unit_prints_as_the_report_shows_it() {
        assert_eq!(
            Metric::count("leaders elected", 3).to_string(),
            "leaders elected 3"
        );
        assert_eq!(
            Metric::duration("db latency max", ms(25))
                .note("(arrival to answer)")
                .to_string(),
            "db latency max 25ms (arrival to answer)"
        );
        assert_eq!(
            Metric::ratio_of("hit ratio", 554, 1000)
                .note("of 1000 reads")
                .shown(),
            "55.4 percent of 1000 reads"
        );
        assert_eq!(Metric::rate("r", 1090.0).decimals(0).shown(), "1090");
        assert_eq!(Metric::rate("r", 0.5).shown(), "0.5");
        assert_eq!(Metric::number("balance", 1.123).shown(), "1.12");
        assert_eq!(
            Metric::text("bank", "orchestrated saga").to_string(),
            "bank         orchestrated saga"
        );
        assert_eq!(
            Metric::none("failover time (RTO)", "none (no failover)").shown(),
            "none (no failover)"
        );
        assert_eq!(
            Metric::count("locks held", 3)
                .lead("at most")
                .note("at once")
                .shown(),
            "at most 3 at once"
        );
    }

    #[test]
    fn a_note_that_starts_with_punctuation_is_glued_to_the_value() {
        assert_eq!(
            Metric::count("failovers", 1)
                .note(", epoch 2: n1 -> n2 at 3s")
                .shown(),
            "1, epoch 2: n1 -> n2 at 3s"
        );
        assert_eq!(
            Metric::count("applied, live servers", 12)
                .note("..14 (3 live)")
                .shown(),
            "12..14 (3 live)"
        );
    }

    #[test]
    fn a_series_prints_its_lead_then_its_first_sixty_values() {
        let short =
            Metric::series("s", Unit::Rate, vec![(0, 1.0), (secs(1), 0.0)]).lead("from 0s:");
        assert_eq!(short.shown(), "from 0s: █·  1 0");
        let long = Metric::series(
            "s",
            Unit::Count,
            (0..61).map(|i| (secs(i), i as f64)).collect(),
        );
        let shown = long.shown();
        assert!(shown.starts_with("·▁▁▁"), "{shown}");
        assert!(shown.contains("█  0 1 2 "), "{shown}");
        assert!(shown.ends_with(" 59 ..."), "{shown}");
    }

    #[test]
    fn the_json_carries_name_unit_and_typed_value() {
        let j = |m: &Metric| serde_json::to_value(m).unwrap();
        assert_eq!(
            j(&Metric::count("leaders elected", 3)),
            serde_json::json!({"name": "leaders elected", "unit": "count", "value": 3})
        );
        assert_eq!(
            j(&Metric::duration("lag", ms(5)).note("(mean 1ms)")),
            serde_json::json!({"name": "lag", "unit": "duration", "value": 5_000_000, "note": "(mean 1ms)"})
        );
        assert_eq!(
            j(&Metric::ratio("hit", 0.25)),
            serde_json::json!({"name": "hit", "unit": "ratio", "value": 0.25})
        );
        assert_eq!(
            j(&Metric::rate("peak", 150.0)),
            serde_json::json!({"name": "peak", "unit": "rate", "value": 150.0})
        );
        assert_eq!(
            j(&Metric::series(
                "locks",
                Unit::Count,
                vec![(0, 1.0), (secs(1), 2.0)]
            )),
            serde_json::json!({"name": "locks", "unit": "series",
                "value": {"of": "count", "points": [[0, 1.0], [1_000_000_000, 2.0]]}})
        );
        assert_eq!(
            j(&Metric::text("bank", "saga")),
            serde_json::json!({"name": "bank", "unit": "text", "value": "saga"})
        );
        assert_eq!(
            j(&Metric::none("rto", "none (no failover)")),
            serde_json::json!({"name": "rto", "unit": "none", "note": "none (no failover)"})
        );
    }

    #[test]
    fn a_metric_reads_back_from_its_json() {
        for m in [
            Metric::count("a", 1).note("x"),
            Metric::duration("b", ms(2)).lead("at most"),
            Metric::ratio("c", 0.5),
            Metric::rate("d", 2.5),
            Metric::number("e", 1.25),
            Metric::series("f", Unit::Rate, vec![(0, 3.0)]),
            Metric::text("g", "words"),
            Metric::none("h", "never"),
        ] {
            let text = serde_json::to_string(&m).unwrap();
            let back: Metric = serde_json::from_str(&text).unwrap();
            assert_eq!(back.name, m.name);
            assert_eq!(back.value, m.value, "{text}");
            assert_eq!((back.lead, back.note), (m.lead, m.note));
        }
    }

    #[test]
    fn a_bound_compares_only_with_its_unit() {
        assert_eq!(Bound::Number(3.0).against(Unit::Count), Ok(3.0));
        assert_eq!(Bound::Number(3.0).against(Unit::Rate), Ok(3.0));
        assert_eq!(
            Bound::Duration(ms(5)).against(Unit::Duration),
            Ok(ms(5) as f64)
        );
        assert_eq!(Bound::Share(0.3).against(Unit::Ratio), Ok(0.3));
        assert_eq!(Bound::Number(0.3).against(Unit::Ratio), Ok(0.3));
        let e = Bound::Number(40.0).against(Unit::Ratio).unwrap_err();
        assert!(e.contains("\"30%\""), "{e}");
        let e = Bound::Duration(ms(5)).against(Unit::Count).unwrap_err();
        assert_eq!(
            e,
            "a duration cannot bound a count; bound it by a number, e.g. `max = 12`"
        );
        let e = Bound::Number(5.0).against(Unit::Duration).unwrap_err();
        assert!(e.contains("\"500ms\""), "{e}");
        assert!(Bound::Share(0.3).against(Unit::Count).is_err());
        assert!(Bound::Number(1.0).against(Unit::Series).is_err());
        assert!(Bound::Number(1.0).against(Unit::Text).is_err());
    }

    #[test]
    fn a_figure_must_be_declared_with_the_unit_it_is_reported_in() {
        let figures = [Figure::count("a"), Figure::duration("b")];
        assert_eq!(
            check_declared(
                &[Metric::count("a", 1), Metric::none("b", "never")],
                &figures
            ),
            Ok(())
        );
        let e = check_declared(&[Metric::count("b", 1)], &figures).unwrap_err();
        assert!(e.contains("declared a duration"), "{e}");
        let e = check_declared(&[Metric::count("c", 1)], &figures).unwrap_err();
        assert!(e.contains("not declared"), "{e}");
    }

    #[test]
    fn a_numbered_figure_is_declared_by_its_n_form() {
        let figures = [
            Figure::ratio("keys moved by the ring"),
            Figure::ratio("keys moved by the ring #N"),
            Figure::count("ring"),
        ];
        assert!(declared("keys moved by the ring #2", &figures).is_some());
        assert!(declared("keys moved by the ring #N", &figures).is_none());
        assert!(declared("ring #2", &figures).is_none());
        assert!(declared("ring", &figures).is_some());
    }
}
