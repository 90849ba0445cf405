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

use serde::{Deserialize, Serialize};

use crate::check::{Budget, LinearizabilityReport, Verdict, WeakReport};
use crate::kernel::Counters;
use crate::protocol::{Kind, PropertyVerdict};
use crate::scenario::Scenario;
use crate::time::Nanos;

mod build;
mod judge;
mod render;

/// How a run came out. A check that could not be decided (the
/// linearizability search ran out of budget) is neither a pass nor a failure.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
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
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Undecided {
    /// The check, by its `[expect]` name (`linearizable`).
    pub check: String,
    /// What ran out: `steps`, `memory`, `deadline`, or `unsupported` (the
    /// history has operations the model cannot judge; no budget helps), or
    /// `quiet` (an `eventually` property demanded by `[expect]` had no quiet
    /// time long enough after the last fault to be judged), or `no value`
    /// (an `[expect.measure]` figure has no value in this run).
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
        if self.cause == "quiet" {
            return format!(
                "{}: {}; heal the faults earlier or run longer (or set a shorter [expect] settle_time)",
                self.check, self.reason
            );
        }
        if self.cause == "no value" {
            return format!(
                "{}: the figure has no value in this run ({}); no budget decides it",
                self.check, self.reason
            );
        }
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
    /// The client history judged against the protocol's model (a key-value
    /// store's by default; docs/checking.md).
    pub consistency: Consistency,
    /// The protocol's own figures, typed (see [`crate::metric`]): in
    /// `--json`, each `{"name", "unit", "value"}` with `lead`/`note` when
    /// the report prints words around the value.
    pub metrics: Vec<crate::metric::Metric>,
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
    /// For an explored run replayed from its `[schedule]`: how the replay
    /// went, and the step that broke each property.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<crate::kernel::Replayed>,
    /// The command that replays this run: [`replay_command`] with
    /// [`DEFAULT_PROGRAM`]; a command line of another name replaces it.
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

/// The consistency checks of a run's history: the linearizability search
/// against the protocol's model, and the weaker key-value guarantees when the
/// history is a key-value store's (a bank's is not).
// One per report, built once and never moved in a loop: boxing the large
// variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "checked", rename_all = "snake_case")]
pub enum Consistency {
    Checked {
        linearizability: LinearizabilityReport,
        #[serde(skip_serializing_if = "Option::is_none")]
        weak: Option<WeakReport>,
    },
}

impl Consistency {
    /// The linearizability verdict.
    pub fn verdict(&self) -> Option<&Verdict> {
        match self {
            Consistency::Checked {
                linearizability, ..
            } => Some(&linearizability.verdict),
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
    /// Goodput over the run: the operations completed `ok` in each of
    /// [`GOODPUT_SLICES`] equal slices of the simulated time (the report
    /// draws it as a sparkline).
    pub goodput: Vec<u64>,
}

/// How many slices of the run the goodput sparkline has.
pub const GOODPUT_SLICES: usize = 40;

/// `counts` as a sparkline: one character per count, its height the count's
/// share of the largest (`▁` to `█`), `·` for none.
pub fn sparkline(counts: &[u64]) -> String {
    let values: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
    crate::metric::sparkline(&values)
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

/// One property of the protocol and how it came out (the name predates the
/// kinds: every property is listed here, `always` ones first as declared).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct InvariantVerdict {
    pub name: String,
    /// `always`, `eventually` or `sometimes`.
    pub kind: Kind,
    /// What the property asserts (empty for a violated name the protocol
    /// did not declare).
    pub about: String,
    /// `held`, `violated`, `seen`, `not_seen` or `undecided`, with when it
    /// held or was seen, or why it was violated or undecided.
    #[serde(flatten)]
    pub verdict: PropertyVerdict,
    /// For an `always` property: how many times it was violated (an
    /// `eventually` property violated counts 1).
    pub violations: u64,
    /// The first violation: when, and what.
    pub first: Option<(Nanos, String)>,
    /// `[expect] violated` names it.
    pub expected_violated: bool,
    /// The run did not fail on it (a demand of `[expect] held` or `seen`,
    /// or `violated` on an `eventually` property, is judged as an
    /// expectation instead).
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

/// The program a [`Report`]'s replay line names when nobody says otherwise.
/// A command line built on chaoslab names its own program instead (see
/// `chaoslab::Registry::program`): it passes it to [`replay_command`] and
/// sets [`Report::replay`].
pub const DEFAULT_PROGRAM: &str = "chaoslab";

/// The command that replays a run with `program` (`chaoslab`, or the binary
/// of a crate built on it): `PROGRAM run FILE --seed N`.
pub fn replay_command(program: &str, s: &Scenario, seed: u64) -> String {
    if s.file == "<built-in>" {
        format!("{program} run --seed {seed}")
    } else {
        format!("{program} run {} --seed {seed}", shell_word(&s.file))
    }
}

/// `word` as one word of a POSIX shell command: as it is when it holds only
/// characters no shell treats specially, else in single quotes (a path with
/// a space in it still replays).
pub fn shell_word(word: &str) -> std::borrow::Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:=@,%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        std::borrow::Cow::Borrowed(word)
    } else {
        std::borrow::Cow::Owned(format!("'{}'", word.replace('\'', r"'\''")))
    }
}

impl Expectation {
    /// An expectation the run answered: it held or it did not.
    fn decided(
        key: impl Into<String>,
        what: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
        held: bool,
    ) -> Expectation {
        Expectation {
            key: key.into(),
            what: what.into(),
            expected: expected.into(),
            actual: actual.into(),
            held,
            undecided: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn a_shell_word_is_quoted_only_when_a_shell_would_split_or_expand_it() {
        assert_eq!(shell_word("raft/leader-minority"), "raft/leader-minority");
        assert_eq!(shell_word("./my_runs/a-b.toml"), "./my_runs/a-b.toml");
        assert_eq!(shell_word("my runs/a.toml"), "'my runs/a.toml'");
        assert_eq!(shell_word("$(rm -rf x).toml"), "'$(rm -rf x).toml'");
        assert_eq!(shell_word("it's.toml"), r"'it'\''s.toml'");
        assert_eq!(shell_word(""), "''");
    }
}

#[cfg(test)]
mod sparkline_tests {
    use super::sparkline;

    #[test]
    fn a_sparkline_shows_every_count_and_none_as_a_dot() {
        assert_eq!(sparkline(&[0, 1, 4, 8]), "·▁▄█");
        // A count far below the largest still shows.
        assert_eq!(sparkline(&[1, 1000]), "▁█");
        assert_eq!(sparkline(&[0, 0]), "··");
        assert_eq!(sparkline(&[]), "");
    }
}
