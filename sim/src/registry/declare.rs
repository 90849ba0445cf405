//! What a protocol declares beside its code, and how the registry refuses a
//! scenario it cannot run: the number of servers ([`Servers`]), a period
//! below a floor ([`at_least`]), a parameter error placed in the file
//! ([`ParamError`]), and its benchmark scenario ([`Bench`]).

use std::fmt;
use std::ops::Range;

use crate::scenario::{Scenario, ScenarioError};
use crate::time::Nanos;

/// How many servers a protocol runs on ([`Spec::SERVERS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Servers {
    pub min: usize,
    pub max: usize,
    /// What the servers are, for the error (`"n1 is the database, n2.. are
    /// caches"`).
    pub why: &'static str,
}

impl Servers {
    /// Any number.
    pub const ANY: Servers = Servers {
        min: 1,
        max: usize::MAX,
        why: "",
    };
    /// Exactly `n`, which are `why`.
    pub const fn exactly(n: usize, why: &'static str) -> Servers {
        Servers {
            min: n,
            max: n,
            why,
        }
    }
    /// `n` or more, which are `why`.
    pub const fn at_least(n: usize, why: &'static str) -> Servers {
        Servers {
            min: n,
            max: usize::MAX,
            why,
        }
    }

    /// Whether protocol `name` runs on `servers` servers; the error says
    /// how many it runs on and why.
    pub fn check(&self, name: &str, servers: usize) -> Result<(), ParamError> {
        if (self.min..=self.max).contains(&servers) {
            return Ok(());
        }
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let wants = if self.min == self.max {
            format!("runs exactly {} server{}", self.min, plural(self.min))
        } else if self.max == usize::MAX {
            format!("needs servers = {} or more", self.min)
        } else {
            format!("runs {} to {} servers", self.min, self.max)
        };
        let why = if self.why.is_empty() {
            String::new()
        } else {
            format!(": {}", self.why)
        };
        Err(ParamError::servers(format!(
            "protocol \"{name}\" {wants}{why}; this scenario asks for servers = {servers}"
        )))
    }
}

/// Refuses a period shorter than `min` for `[system]` key `field`: a timer
/// re-armed every nanosecond makes a run do a round of work per nanosecond
/// of virtual time. `example` is a sensible value (`"500ms"`).
pub fn at_least(field: &str, value: Nanos, min: Nanos, example: &str) -> Result<(), ParamError> {
    if value >= min {
        return Ok(());
    }
    let (value, min) = (
        crate::time::fmt_duration(value),
        crate::time::fmt_duration(min),
    );
    Err(ParamError::field(
        field,
        format!("{field} = \"{value}\": must be at least {min}, e.g. \"{example}\""),
    ))
}

/// A benchmark scenario of a protocol (see [`Spec::BENCH`]).
#[derive(Clone, Copy, Debug)]
pub struct Bench {
    /// What runs, for the printed line: `"raft, 5 servers, 3 clients"`.
    pub label: &'static str,
    /// The scenario TOML. It must say `duration = "60s"`: `bench
    /// --seconds N` replaces that line.
    pub toml: &'static str,
    /// Part of `chaoslab bench kernel` (the simulator's own speed) instead of
    /// a target of its own (`chaoslab bench NAME`).
    pub kernel: bool,
    /// Also run by `chaoslab bench --vs madsim`.
    pub compare_drivers: bool,
}

impl Bench {
    /// A benchmark of its own, `chaoslab bench NAME`.
    pub const fn new(label: &'static str, toml: &'static str) -> Bench {
        Bench {
            label,
            toml,
            kernel: false,
            compare_drivers: false,
        }
    }
    /// Part of `chaoslab bench kernel` instead.
    pub const fn in_kernel(self) -> Bench {
        Bench {
            kernel: true,
            ..self
        }
    }
    /// Also run by `chaoslab bench --vs madsim`.
    pub const fn compared(self) -> Bench {
        Bench {
            compare_drivers: true,
            ..self
        }
    }
}

/// Why a protocol refuses its parameters: the message, and what it is about,
/// so that the error points at the right place of the scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamError {
    pub place: Place,
    pub message: String,
}

/// What a [`ParamError`] is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// A key of `[system]`. The message is printed after `[system] `, on the
    /// key where the file writes it, else (the key was left to its default)
    /// on the `protocol` key.
    Field(String),
    /// A key of another section (`workload`, `mix`), printed after
    /// `[workload] `, placed as for `Field`.
    Key { section: String, key: String },
    /// The number of servers (`[topology] servers`); printed as it is.
    Servers,
    /// A byte range of the scenario text the protocol found itself; printed
    /// as it is.
    Span(Range<usize>),
}

impl ParamError {
    /// An error about `[system]` key `field`.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ParamError {
            place: Place::Field(field.into()),
            message: message.into(),
        }
    }
    /// An error about `key` of section `section` (not `[system]`).
    pub fn key(
        section: impl Into<String>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ParamError {
            place: Place::Key {
                section: section.into(),
                key: key.into(),
            },
            message: message.into(),
        }
    }
    /// An error about the number of servers.
    pub fn servers(message: impl Into<String>) -> Self {
        ParamError {
            place: Place::Servers,
            message: message.into(),
        }
    }
    /// An error about a span of the scenario text.
    pub fn at(span: Range<usize>, message: impl Into<String>) -> Self {
        ParamError {
            place: Place::Span(span),
            message: message.into(),
        }
    }

    /// The scenario error this becomes in file `s`.
    pub fn place_in(self, s: &Scenario) -> ScenarioError {
        let (span, message) = match self.place {
            Place::Field(field) => (
                key_span(&s.source, "system", &field)
                    .or_else(|| key_span(&s.source, "system", "protocol"))
                    .unwrap_or(0..0),
                format!("[system] {}", self.message),
            ),
            Place::Key { section, key } => (
                key_span(&s.source, &section, &key)
                    .or_else(|| key_span(&s.source, "system", "protocol"))
                    .unwrap_or(0..0),
                format!("[{section}] {}", self.message),
            ),
            Place::Servers => (s.topology.servers.span(), self.message),
            Place::Span(span) => (span, self.message),
        };
        ScenarioError::at(&s.file, &s.source, span, message)
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Where key `key` of table `section` is written in `src`, as the TOML
/// parser reads it (so a key in an inline table, a quoted key or a dotted
/// key is found as well as a plain one); `None` if it is not written.
pub fn key_span(src: &str, section: &str, key: &str) -> Option<Range<usize>> {
    let doc = toml_edit::ImDocument::parse(src).ok()?;
    let table = doc.get(section)?.as_table_like()?;
    let (k, _) = table.get_key_value(key)?;
    k.span()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::ms;

    #[test]
    fn servers_say_how_many_a_protocol_runs_on_and_why() {
        assert_eq!(Servers::ANY.check("p", 1), Ok(()));
        let two = Servers::exactly(2, "n1 the lock server, n2 the storage");
        assert_eq!(two.check("lock", 2), Ok(()));
        assert_eq!(
            two.check("lock", 3).unwrap_err().message,
            "protocol \"lock\" runs exactly 2 servers: n1 the lock server, n2 the storage; \
             this scenario asks for servers = 3"
        );
        let one = Servers::exactly(1, "");
        assert_eq!(
            one.check("single", 2).unwrap_err().message,
            "protocol \"single\" runs exactly 1 server; this scenario asks for servers = 2"
        );
        let three = Servers::at_least(3, "a coordinator and two participants");
        assert_eq!(three.check("twopc", 7), Ok(()));
        let e = three.check("twopc", 2).unwrap_err();
        assert_eq!(e.place, Place::Servers);
        assert!(e
            .message
            .starts_with("protocol \"twopc\" needs servers = 3 or more: a coordinator"));
        let some = Servers {
            min: 2,
            max: 4,
            why: "",
        };
        assert!(some
            .check("x", 5)
            .unwrap_err()
            .message
            .contains("runs 2 to 4 servers"));
        assert_eq!(some.check("x", 4), Ok(()));
    }

    #[test]
    fn at_least_refuses_a_period_below_the_floor_with_an_example() {
        assert_eq!(at_least("lease", ms(1), ms(1), "500ms"), Ok(()));
        let e = at_least("lease", 999_999, ms(1), "500ms").unwrap_err();
        assert_eq!(e.place, Place::Field("lease".into()));
        assert_eq!(
            e.message,
            "lease = \"999.999us\": must be at least 1ms, e.g. \"500ms\""
        );
    }
}
