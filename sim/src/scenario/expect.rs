//! `[expect]`: the hypothesis a run must show, its shares and its bounds.

use std::fmt;
use std::ops::Range;

use indexmap::IndexMap;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::{quoted, ScenarioError};
use super::Scenario;
use crate::metric::{self, Bound, Figure};
use crate::protocol::{Kind, Property};
use crate::time::{parse_duration, serde_duration, Nanos};

/// The hypothesis: what the run must show. Every field is optional.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Properties that must be violated in this run (a bug-flag scenario):
    /// `always` or `eventually` ones. Every other `always` property must
    /// hold, and every other `eventually` one must not be violated.
    #[serde(default)]
    pub violated: Vec<String>,
    /// `eventually` properties that must hold (be true after the last fault
    /// heals). One the run cannot judge (a fault lasts to the end) leaves the
    /// run undecided, not failed.
    #[serde(default)]
    pub held: Vec<String>,
    /// `sometimes` properties that must be seen (true at some step).
    #[serde(default)]
    pub seen: Vec<String>,
    /// How long the run must stay quiet after the last fault heals before an
    /// `eventually` property never true there counts as violated (default:
    /// the protocol's settle time, 2s unless it says otherwise).
    #[serde(default, with = "serde_duration::option")]
    pub settle_time: Option<Nanos>,
    /// `true`: the history must be linearizable; `false`: it must not be.
    pub linearizable: Option<bool>,
    /// Availability (share of operations that succeeded) of clients cut off from
    /// a majority of servers, during partitions.
    #[serde(default)]
    pub max_availability_during_partition: Option<Spanned<Fraction>>,
    #[serde(default)]
    pub min_availability_during_partition: Option<Spanned<Fraction>>,
    /// Availability of operations started while no partition was in force.
    #[serde(default)]
    pub min_availability_outside_partition: Option<Spanned<Fraction>>,
    #[serde(default)]
    pub max_availability_outside_partition: Option<Spanned<Fraction>>,
    #[serde(default, with = "serde_duration::option")]
    pub max_p99_latency: Option<Nanos>,
    #[serde(default, with = "serde_duration::option")]
    pub max_p50_latency: Option<Nanos>,
    /// At least this many operations completed `ok`.
    pub min_ok_ops: Option<u64>,
    /// The PACELC class the run must show, e.g. "PC/EL" (either half may be
    /// "-" to leave it free, e.g. "PA/-").
    pub pacelc: Option<Spanned<String>>,
    /// Reads that returned a value older than a write that had completed before
    /// the read began.
    pub max_stale_reads: Option<u64>,
    pub min_stale_reads: Option<u64>,
    /// Acknowledged writes that no later read can explain.
    pub max_lost_writes: Option<u64>,
    pub min_lost_writes: Option<u64>,
    /// Reads by a client that missed that client's own earlier write.
    pub max_read_your_writes_violations: Option<u64>,
    pub min_read_your_writes_violations: Option<u64>,
    /// Reads by a client older than what that client had already read.
    pub max_monotonic_reads_violations: Option<u64>,
    pub min_monotonic_reads_violations: Option<u64>,
    /// Liveness: every client completes an `ok` operation after this time.
    #[serde(default, with = "serde_duration::option")]
    pub all_clients_ok_after: Option<Nanos>,
    /// Bounds on the protocol's own figures, by the name the report prints
    /// them under: `[expect.measure."leaders elected"] min = 2`. The figure's
    /// typed value is compared, in its unit: a number bounds a count, rate
    /// or number, a duration (`"500ms"`) a duration, a share (`0.3` or
    /// `"30%"`) a ratio.
    #[serde(default)]
    pub measure: IndexMap<String, MeasureBound>,
}

/// A share between 0 and 1, written as a number (`0.3`) or a percentage
/// (`"30%"`). [`Scenario::parse`] refuses anything else, so [`Fraction::get`]
/// of a parsed scenario's fraction never fails.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Fraction {
    Number(f64),
    Percent(String),
}

/// What a share may be, for a value of another type (`true`).
const SHARE_WORDS: &str =
    "a share: a number between 0 and 1 (e.g. 0.30) or a percentage (e.g. \"30%\")";

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Fraction;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(SHARE_WORDS)
            }
            fn visit_f64<E>(self, v: f64) -> Result<Fraction, E> {
                Ok(Fraction::Number(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Fraction, E> {
                Ok(Fraction::Number(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Fraction, E> {
                Ok(Fraction::Number(v as f64))
            }
            fn visit_str<E>(self, v: &str) -> Result<Fraction, E> {
                Ok(Fraction::Percent(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `deserialize_with` for a probability written as a share (`0.3`) or a
/// percentage (`"30%"`): the number, checked later against 0..=1 with
/// [`check_share`], or a bad percentage refused here.
pub mod serde_share {
    use super::Fraction;
    use serde::{Deserialize, Deserializer};
    use toml::Spanned;

    fn number<E: serde::de::Error>(f: &Fraction) -> Result<f64, E> {
        match f {
            Fraction::Number(v) => Ok(*v),
            Fraction::Percent(_) => f.value().map_err(E::custom),
        }
    }

    pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        number(&Fraction::deserialize(d)?)
    }

    pub fn spanned<'de, D: Deserializer<'de>>(d: D) -> Result<Spanned<f64>, D::Error> {
        let f = Spanned::<Fraction>::deserialize(d)?;
        Ok(Spanned::new(f.span(), number(f.get_ref())?))
    }

    pub fn option_spanned<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Spanned<f64>>, D::Error> {
        spanned(d).map(Some)
    }
}

/// A probability's problem, if it is not between 0 and 1, in the words of
/// [`Fraction::value`]: "30 is not a share between 0 and 1: for 30 percent
/// write 0.30 or "30%"".
pub fn check_share(v: f64) -> Result<f64, String> {
    Fraction::Number(v).value()
}

impl Fraction {
    /// The share, between 0 and 1, or what is wrong with it.
    pub fn value(&self) -> Result<f64, String> {
        match self {
            Fraction::Number(v) => {
                if (0.0..=1.0).contains(v) {
                    Ok(*v)
                } else if *v > 1.0 && *v <= 100.0 {
                    Err(format!(
                        "{v} is not a share between 0 and 1: for {v} percent write {} or \"{v}%\"",
                        show_share(*v / 100.0)
                    ))
                } else {
                    Err(format!(
                        "{v} is not a share: write a number between 0 and 1 (e.g. 0.30) or a percentage (e.g. \"30%\")"
                    ))
                }
            }
            Fraction::Percent(text) => {
                let bad = || {
                    format!("\"{text}\" is not a share: write a number between 0 and 1 (e.g. 0.30) or a percentage (e.g. \"30%\")")
                };
                let digits = text.trim().strip_suffix('%').ok_or_else(bad)?.trim();
                let n: f64 = digits.parse().map_err(|_| bad())?;
                if (0.0..=100.0).contains(&n) {
                    // "5.6" as "5.6e-2": the nearest float to 0.056, where
                    // 5.6 / 100.0 is 0.055999999999999994.
                    Ok(format!("{digits}e-2").parse().unwrap_or(n / 100.0))
                } else {
                    Err(format!("\"{text}\": a percentage is between 0% and 100%"))
                }
            }
        }
    }

    /// The share of a parsed scenario's fraction.
    pub fn get(f: &Option<Spanned<Fraction>>) -> Option<f64> {
        f.as_ref()
            .map(|f| f.get_ref().value().expect("checked when parsed"))
    }
}

/// 0.3 as "0.30", 0.125 as "0.125": at least two decimals, no float noise.
fn show_share(v: f64) -> String {
    let two = format!("{v:.2}");
    if two.parse::<f64>() == Ok(v) {
        two
    } else {
        format!("{}", (v * 1e6).round() / 1e6)
    }
}

/// A bound on one protocol figure: a number, a duration such as "500ms", or
/// a percentage such as "30%". Which it may be depends on the figure's unit
/// (see [`crate::metric::Bound::against`]).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureBound {
    pub min: Option<Spanned<BoundValue>>,
    pub max: Option<Spanned<BoundValue>>,
    /// The unit the protocol declares the figure in, set by
    /// [`Scenario::resolve_measures`]: the report reads the bound in it even
    /// when the figure has no value in a run.
    #[serde(skip)]
    pub unit: Option<metric::Unit>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum BoundValue {
    Number(f64),
    /// A duration (`"500ms"`) or a percentage (`"30%"`).
    Text(String),
}

impl BoundValue {
    /// The bound, typed: a number, a duration or a share (a percentage).
    pub fn value(&self) -> Result<Bound, String> {
        match self {
            BoundValue::Number(n) => Ok(Bound::Number(*n)),
            BoundValue::Text(t) if t.trim_end().ends_with('%') => Fraction::Percent(t.clone())
                .value()
                .map(Bound::Share),
            BoundValue::Text(t) => parse_duration(t).map(Bound::Duration).map_err(|e| {
                format!(
                    "{e}; write a duration (e.g. \"500ms\") or a percentage (e.g. \"30%\"), or a bare number (e.g. 12) for a count, rate or number"
                )
            }),
        }
    }
}

impl Scenario {
    /// Refuses an `[expect.measure]` name the protocol does not report, or
    /// a bound of the wrong kind for the figure's unit (a number for a
    /// duration, say), and turns an old name into the figure's current one.
    /// `figures` is every figure the protocol can report (a figure named
    /// `NAME` may also come numbered, `NAME #2`, when declared as
    /// `NAME #N`); `renamed` maps old names, still accepted, to the figure
    /// they now are.
    pub fn resolve_measures(
        &mut self,
        figures: &[Figure],
        renamed: &[(&str, &str)],
    ) -> Result<(), ScenarioError> {
        self.check_measures(figures, renamed)?;
        let measure = std::mem::take(&mut self.expect.measure);
        self.expect.measure = measure
            .into_iter()
            .map(|(name, bound)| {
                let name = match renamed.iter().find(|(old, _)| *old == name) {
                    Some((_, new)) => new.to_string(),
                    None => name,
                };
                let unit = metric::declared(&name, figures).map(|f| f.unit);
                (name, MeasureBound { unit, ..bound })
            })
            .collect();
        Ok(())
    }

    fn check_measures(
        &self,
        figures: &[Figure],
        renamed: &[(&str, &str)],
    ) -> Result<(), ScenarioError> {
        for (name, bound) in &self.expect.measure {
            let current = renamed
                .iter()
                .find(|(old, _)| old == name)
                .map_or(name.as_str(), |(_, new)| new);
            let Some(figure) = metric::declared(current, figures) else {
                let span = measure_span(&self.source, name).unwrap_or(0..0);
                let names: Vec<&str> = figures.iter().map(|f| f.name).collect();
                let message = if figures.is_empty() {
                    format!(
                        "[expect.measure.\"{name}\"]: protocol \"{}\" reports no figures to bound; remove this measure",
                        self.protocol
                    )
                } else {
                    format!(
                        "[expect.measure.\"{name}\"]: protocol \"{}\" reports no figure of that name; its figures are {}",
                        self.protocol,
                        quoted(&names)
                    )
                };
                return Err(ScenarioError::at(&self.file, &self.source, span, message));
            };
            for (side, b) in [("min", &bound.min), ("max", &bound.max)] {
                let Some(b) = b else { continue };
                let checked = b.get_ref().value().and_then(|v| v.against(figure.unit));
                if let Err(why) = checked {
                    let message = format!(
                        "[expect.measure.\"{name}\"] {side}: \"{}\" is {}: {why}",
                        figure.name,
                        figure.unit.article()
                    );
                    return Err(ScenarioError::at(
                        &self.file,
                        &self.source,
                        b.span(),
                        message,
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Scenario {
    /// Refuses an `[expect] violated`, `held` or `seen` name that is not a
    /// property of the protocol of the kind that list takes: `violated`
    /// takes `always` and `eventually` properties, `held` `eventually` ones,
    /// `seen` `sometimes` ones. The error is placed on the name and lists
    /// the valid ones. A name in both `held` and `violated` is refused, and
    /// so is `settle_time` for a protocol with no `eventually` property.
    pub fn check_properties(&self, properties: &[Property]) -> Result<(), ScenarioError> {
        if self.expect.settle_time.is_some()
            && !properties.iter().any(|p| p.kind == Kind::Eventually)
        {
            let span = super::spans::key_span(&self.source, "expect", "settle_time");
            return Err(ScenarioError::at(
                &self.file,
                &self.source,
                span.unwrap_or(0..0),
                format!(
                    "[expect] settle_time: protocol \"{}\" has no eventually property, so a settle time judges nothing; remove it",
                    self.protocol
                ),
            ));
        }
        for (k, name) in self.expect.held.iter().enumerate() {
            if self.expect.violated.contains(name) {
                let span = expect_list_span(&self.source, "held", k).unwrap_or(0..0);
                return Err(ScenarioError::at(
                    &self.file,
                    &self.source,
                    span,
                    format!(
                        "[expect] held: \"{name}\" is also named in violated = [...]; a property cannot be expected both to hold and to be violated: keep it in one list"
                    ),
                ));
            }
        }
        let lists: [(&str, &[String], &[Kind]); 3] = [
            (
                "violated",
                &self.expect.violated,
                &[Kind::Always, Kind::Eventually],
            ),
            ("held", &self.expect.held, &[Kind::Eventually]),
            ("seen", &self.expect.seen, &[Kind::Sometimes]),
        ];
        for (field, names, kinds) in lists {
            for (k, name) in names.iter().enumerate() {
                let fits = |p: &&Property| kinds.contains(&p.kind);
                let found = properties.iter().find(|p| p.name == name);
                if found.is_some_and(|p| fits(&p)) {
                    continue;
                }
                let valid: Vec<&str> = properties.iter().filter(fits).map(|p| p.name).collect();
                let kinds_words = kinds
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(" or ");
                let valid_words = if valid.is_empty() {
                    format!(
                        "protocol \"{}\" has no {kinds_words} properties",
                        self.protocol
                    )
                } else {
                    format!("its {kinds_words} properties are {}", quoted(&valid))
                };
                let message = match found {
                    Some(p) => {
                        let instead = match p.kind {
                            Kind::Always => "violated",
                            Kind::Eventually => "held",
                            Kind::Sometimes => "seen",
                        };
                        let article = if p.kind == Kind::Sometimes { "a" } else { "an" };
                        format!(
                            "[expect] {field}: \"{name}\" is {article} {} property of protocol \"{}\", which {field} does not take (name it in {instead} = [...]); {valid_words}",
                            p.kind.name(),
                            self.protocol
                        )
                    }
                    None => format!(
                        "[expect] {field}: protocol \"{}\" has no property \"{name}\"; {valid_words}",
                        self.protocol
                    ),
                };
                let span = expect_list_span(&self.source, field, k).unwrap_or(0..0);
                return Err(ScenarioError::at(&self.file, &self.source, span, message));
            }
        }
        Ok(())
    }
}

/// Where item `k` of the `[expect]` list `field` is written, from the TOML
/// parser's own spans.
fn expect_list_span(src: &str, field: &str, k: usize) -> Option<Range<usize>> {
    #[derive(Deserialize)]
    struct Doc {
        expect: Option<Lists>,
    }
    #[derive(Deserialize)]
    struct Lists {
        #[serde(default)]
        violated: Vec<Spanned<String>>,
        #[serde(default)]
        held: Vec<Spanned<String>>,
        #[serde(default)]
        seen: Vec<Spanned<String>>,
    }
    let lists = toml::from_str::<Doc>(src).ok()?.expect?;
    let list = match field {
        "violated" => lists.violated,
        "held" => lists.held,
        _ => lists.seen,
    };
    list.get(k).map(Spanned::span)
}

/// Is `name` a figure of `figures`, or an old name in `renamed`? A figure
/// declared as `NAME #N` besides `NAME` may also be named with a number
/// (`NAME #2`); other figures may not.
pub fn measure_known(name: &str, figures: &[Figure], renamed: &[(&str, &str)]) -> bool {
    metric::declared(name, figures).is_some() || renamed.iter().any(|(old, _)| *old == name)
}

/// Where the measure `name` is written (`[expect.measure."NAME"]`,
/// `[expect.measure.NAME]` or an inline `"NAME" = { ... }`), from the
/// parser's own spans of the `[expect.measure]` keys, so a comment or another
/// table that mentions the name cannot be taken for it.
fn measure_span(src: &str, name: &str) -> Option<Range<usize>> {
    #[derive(Deserialize)]
    struct Doc {
        expect: Option<ExpectKeys>,
    }
    #[derive(Deserialize)]
    struct ExpectKeys {
        measure: Option<IndexMap<Spanned<String>, IgnoredAny>>,
    }
    let doc: Doc = toml::from_str(src).ok()?;
    doc.expect?
        .measure?
        .keys()
        .find(|k| k.get_ref() == name)
        .map(|k| k.span())
}

/// Splits "PC/EL" into its halves; "-" leaves a half free.
pub fn parse_pacelc(s: &str) -> Result<(Option<String>, Option<String>), String> {
    let bad = || {
        format!("pacelc = \"{s}\": write \"PA/EL\", \"PA/EC\", \"PC/EL\" or \"PC/EC\" (use \"-\" for a half you do not constrain, e.g. \"PC/-\")")
    };
    let (p, e) = s.split_once('/').ok_or_else(bad)?;
    let p = match p.trim() {
        "PA" | "PC" => Some(p.trim().to_string()),
        "-" => None,
        _ => return Err(bad()),
    };
    let e = match e.trim() {
        "EL" | "EC" => Some(e.trim().to_string()),
        "-" => None,
        _ => return Err(bad()),
    };
    Ok((p, e))
}

#[cfg(test)]
mod tests {
    use super::{BoundValue, Fraction};
    use crate::metric::{Bound, Unit};

    #[test]
    fn a_percentage_is_the_share_its_decimal_text_says() {
        assert_eq!(Fraction::Percent("5.6%".into()).value(), Ok(0.056));
        assert_eq!(Fraction::Percent(" 30 % ".into()).value(), Ok(0.3));
        assert_eq!(Fraction::Percent("100%".into()).value(), Ok(1.0));
        assert_eq!(
            BoundValue::Text("5.6%".into()).value(),
            Ok(Bound::Share(7.0 / 125.0))
        );
        assert!(Fraction::Percent("101%".into()).value().is_err());
        assert!(Fraction::Percent("x%".into()).value().is_err());
        assert_eq!(
            Bound::Share(0.056).show(Unit::Ratio),
            "5.6 percent".to_string()
        );
    }
}
