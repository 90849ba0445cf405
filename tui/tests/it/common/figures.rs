//! A report's protocol figures as the tests read them: typed, from the
//! document `chaoslab run --json` prints (the report serialized), never from
//! its text (`use crate::common::figures;`).

// Each test file uses the readers it needs.
#![allow(dead_code)]

use sim::metric::{Metric, Series, Unit};
use sim::report::Report;
use sim::time::Nanos;

/// Every figure of one report, read back from its JSON.
pub struct Figures(Vec<Metric>);

impl Figures {
    /// The figures of `report`, through its JSON (`run --json`'s `metrics`).
    pub fn of(report: &Report) -> Figures {
        let json = serde_json::to_value(report).expect("the report serializes");
        let metrics = json
            .get("metrics")
            .cloned()
            .expect("the report's JSON has `metrics`");
        Figures(serde_json::from_value(metrics).expect("`metrics` reads back typed"))
    }

    /// The figure `name`; panics naming the figures there are.
    pub fn get(&self, name: &str) -> &Metric {
        self.0.iter().find(|m| m.name == name).unwrap_or_else(|| {
            let names: Vec<&str> = self.0.iter().map(|m| m.name.as_str()).collect();
            panic!("no figure {name:?}; the report has {names:?}")
        })
    }

    fn typed<T>(&self, name: &str, unit: Unit, pick: impl Fn(&Metric) -> Option<T>) -> T {
        let m = self.get(name);
        pick(m).unwrap_or_else(|| panic!("{name:?} is not {}: {m:?}", unit.article()))
    }

    pub fn count(&self, name: &str) -> u64 {
        self.typed(name, Unit::Count, |m| m.value.as_count())
    }

    pub fn duration(&self, name: &str) -> Nanos {
        self.typed(name, Unit::Duration, |m| m.value.as_duration())
    }

    /// A ratio, as a share between 0 and 1.
    pub fn ratio(&self, name: &str) -> f64 {
        self.typed(name, Unit::Ratio, |m| m.value.as_ratio())
    }

    /// A rate, per second.
    pub fn rate(&self, name: &str) -> f64 {
        self.typed(name, Unit::Rate, |m| match m.value {
            sim::metric::Value::Rate(r) => Some(r),
            _ => None,
        })
    }

    pub fn number(&self, name: &str) -> f64 {
        self.typed(name, Unit::Number, |m| match m.value {
            sim::metric::Value::Number(x) => Some(x),
            _ => None,
        })
    }

    pub fn series(&self, name: &str) -> Series {
        self.typed(name, Unit::Series, |m| m.value.as_series().cloned())
    }

    /// The words the report prints after the figure's value.
    pub fn note(&self, name: &str) -> &str {
        &self.get(name).note
    }

    /// Asserts the figure's note contains `says` (printing the note if not).
    pub fn assert_note_has(&self, name: &str, says: &str) {
        let note = self.note(name);
        assert!(note.contains(says), "{name:?}: {says:?} is not in {note:?}");
    }
}
