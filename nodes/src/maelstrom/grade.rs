//! Grading a node part by part, as DSLabs grades its labs: each part is a
//! scenario (its faults and its targets in `[expect]`) run over a range of
//! seeds; a part passes when every seed's run meets its hypothesis.
//!
//! The grade says, per part, PASS or FAIL, the figures the targets bound
//! against those targets, and for each failing seed (the first few) what
//! the checker found, in a line or two, and the command that replays that
//! very run: the run is a pure function of the scenario and the seed, so
//! the replay shows the same failure, in the report or the TUI, and
//! `shrink` cuts it down.
//!
//! The parts are the lab's ([`super::labs`]); the protocol is any declared
//! one ([`super::Lab`] over a learner's node, or protocol `maelstrom` on
//! the reference nodes), so the same function grades both.

use std::any::Any;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};

use sim::kernel::TraceMode;
use sim::registry::{Catalog, Register, Spec};
use sim::report::{Report, RunOutcome};

use super::lab::{Lab, LabNode};
use super::labs::{Kit, Part};

/// How many failing seeds a part lists (the rest are counted).
const SHOWN_FAILURES: usize = 3;

/// One seed's failing run.
#[derive(Clone, Debug)]
pub struct Failure {
    pub seed: u64,
    /// What broke, in a line or two: the checker's finding, then the
    /// targets missed.
    pub finding: Vec<String>,
    /// The command that replays this run.
    pub replay: String,
}

/// A figure a part bounds, against its target.
#[derive(Clone, Debug)]
pub struct Target {
    pub what: String,
    pub expected: String,
    pub actual: String,
    pub held: bool,
}

/// The grade of one part.
#[derive(Clone, Debug)]
pub struct PartGrade {
    pub number: u32,
    pub name: &'static str,
    pub about: &'static str,
    /// The scenario file, as the lab carries it (`parts/1-no-faults.toml`).
    pub file: String,
    pub seeds: (u64, u64),
    /// The targets, as the first failing seed's run measured them (or,
    /// when all passed, the worst seed's: the nearest to a target).
    pub targets: Vec<Target>,
    /// The seed the targets were measured on.
    pub targets_seed: u64,
    pub failures: Vec<Failure>,
    /// Failing seeds beyond the ones listed.
    pub more_failures: usize,
    /// Seeds whose run nothing failed but a check could not decide (the
    /// linearizability search ran out of budget): not failures, so the
    /// part can pass with them; listed with what is open and what would
    /// decide it, and the replay line.
    pub undecided: Vec<Failure>,
    /// Seeds whose run was decided and met every target.
    pub decided_passed: usize,
}

/// A part's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No seed failed, and at least one was decided and passed.
    Pass,
    /// Some seed failed.
    Fail,
    /// No seed failed, but none was decided either: nothing is claimed,
    /// neither way (an undecided check is never a failure, and never a
    /// pass).
    Undecided,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Undecided => "UNDECIDED",
        }
    }
}

impl PartGrade {
    pub fn verdict(&self) -> Verdict {
        if !self.failures.is_empty() {
            Verdict::Fail
        } else if self.decided_passed == 0 {
            Verdict::Undecided
        } else {
            Verdict::Pass
        }
    }

    /// Whether the part passed: no seed failed and some seed was decided.
    pub fn passed(&self) -> bool {
        self.verdict() == Verdict::Pass
    }
}

/// The grade of a lab: every part's.
#[derive(Clone, Debug)]
pub struct Grade {
    pub workload: &'static str,
    pub protocol: &'static str,
    pub parts: Vec<PartGrade>,
}

impl Grade {
    pub fn passed(&self) -> bool {
        self.parts.iter().all(PartGrade::passed)
    }

    /// The rendered grade: what a learner reads.
    pub fn render(&self) -> String {
        self.to_string()
    }
}

/// Grades protocol `P` (whose scenarios say `protocol = P::NAME`) on the
/// parts of `kit` numbered in `only` (all when empty). `replay` says how a
/// failing run is replayed, from the part's file and the seed.
pub fn grade<P>(kit: &Kit, only: &[u32], replay: &dyn Fn(&str, u64) -> String) -> Grade
where
    P: Spec + Send,
    P::Node: Send,
    <P::Node as sim::node::Node>::Msg: Send,
{
    let mut catalog = Catalog::new();
    catalog.add::<P>();
    let parts = kit
        .parts
        .iter()
        .filter(|p| only.is_empty() || only.contains(&p.number))
        .map(|part| grade_part(&catalog, P::NAME, part, replay))
        .collect();
    Grade {
        workload: kit.workload.name(),
        protocol: P::NAME,
        parts,
    }
}

/// Grades a lab's node `N` on the parts numbered in `only` (all when
/// empty), with replay commands run from the lab's folder through its own
/// command line (`cargo run -- run parts/FILE --seed N`). What a lab's
/// `tests/grade.rs` calls.
pub fn grade_lab<N: LabNode + Send>(kit: &Kit, only: &[u32]) -> Grade {
    grade::<Lab<N>>(kit, only, &|file, seed| {
        format!("cargo run --offline -- run {file} --seed {seed}")
    })
}

fn grade_part(
    catalog: &Catalog,
    protocol: &'static str,
    part: &Part,
    replay: &dyn Fn(&str, u64) -> String,
) -> PartGrade {
    let file = part.file();
    let text = part.scenario(protocol);
    // The part's text is the lab's own: a parse error is a bug of the lab,
    // not the learner's, and says so.
    let scenario = catalog
        .parse(&file, &text)
        .unwrap_or_else(|e| panic!("lab part {file} does not parse (a chaoslab bug): {e}"));
    let mut failures = Vec::new();
    let mut failing = 0;
    let mut targets: Option<(u64, Vec<Target>)> = None;
    let mut targets_failed = false;
    let mut worst = f64::NEG_INFINITY;
    let mut undecided = Vec::new();
    let mut decided_passed = 0;
    for seed in part.seeds.0..=part.seeds.1 {
        // A learner's node may panic (an unwrap on a field it expected):
        // that is a failing seed with its replay line, not the end of the
        // grade. The run is dropped whole, so no state outlives the panic.
        let run = panic::catch_unwind(AssertUnwindSafe(|| {
            catalog.run(&scenario, seed, TraceMode::Off)
        }));
        let out = match run {
            Ok(out) => {
                out.unwrap_or_else(|e| panic!("lab part {file} does not run (a chaoslab bug): {e}"))
            }
            Err(payload) => {
                failing += 1;
                if failures.len() < SHOWN_FAILURES {
                    failures.push(Failure {
                        seed,
                        finding: vec![format!(
                            "your node panicked: {}",
                            panic_message(payload.as_ref())
                        )],
                        replay: replay(&file, seed),
                    });
                }
                continue;
            }
        };
        let report = Report::build(&scenario, &out);
        let measured = || targets_of(&report);
        // A check the search could not decide claims nothing: the seed is
        // no failure (a false FAIL is as bad as a missed bug), and the
        // grade says what is open.
        if report.outcome == RunOutcome::Undecided {
            undecided.push(Failure {
                seed,
                finding: report.undecided.iter().map(|u| u.explain()).collect(),
                replay: replay(&file, seed),
            });
            continue;
        }
        if report.passed {
            decided_passed += 1;
            // A passing part shows its worst seed: the one closest to a
            // target, what a learner's margin really is.
            if !targets_failed {
                let these = measured();
                let near = nearness(&these);
                if targets.is_none() || near > worst {
                    worst = near;
                    targets = Some((seed, these));
                }
            }
            continue;
        }
        // The figures shown are the first failing run's (a panicked run
        // has none).
        if !targets_failed {
            targets = Some((seed, measured()));
            targets_failed = true;
        }
        failing += 1;
        if failures.len() < SHOWN_FAILURES {
            failures.push(Failure {
                seed,
                finding: finding(&report),
                replay: replay(&file, seed),
            });
        }
    }
    let (targets_seed, targets) = targets.unwrap_or((part.seeds.0, Vec::new()));
    PartGrade {
        number: part.number,
        name: part.name,
        about: part.about,
        file,
        seeds: part.seeds,
        targets,
        targets_seed,
        more_failures: failing - failures.len(),
        failures,
        undecided,
        decided_passed,
    }
}

/// How near a run came to its targets: the largest share of its bound a
/// figure `at most X` reached (0.9: 90% of it). Figures this cannot read
/// (not a number, another kind of bound) count as 0.
fn nearness(targets: &[Target]) -> f64 {
    targets
        .iter()
        .filter_map(|t| {
            let bound = amount(t.expected.strip_prefix("at most ")?)?;
            let actual = amount(&t.actual)?;
            Some(if bound > 0.0 {
                actual / bound
            } else if actual > 0.0 {
                f64::INFINITY
            } else {
                0.0
            })
        })
        .fold(0.0, f64::max)
}

/// `12.49`, `339.796ms`, `2s` as a number (durations in seconds).
fn amount(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        _ => return None,
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

/// What a panic said: its message when it was a string (`panic!`,
/// `unwrap`, `expect` all give one).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

/// The `[expect.measure]` bounds of a run: the part's targets.
fn targets_of(report: &Report) -> Vec<Target> {
    report
        .expectations
        .iter()
        .filter(|e| e.key.starts_with("measure."))
        .map(|e| Target {
            what: figure_name(&e.what),
            expected: e.expected.clone(),
            actual: e.actual.clone(),
            held: e.held,
        })
        .collect()
}

/// `measure "lost"` as the grade names it: `lost`.
fn figure_name(what: &str) -> String {
    what.strip_prefix("measure ")
        .map(|w| w.trim_matches('"'))
        .unwrap_or(what)
        .to_string()
}

/// What broke in a failing run, in a line or two: the first violated
/// property's first finding (the workload checker's verdict), then the
/// expectations that failed.
fn finding(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    for inv in &report.invariants {
        if let Some((at, what)) = &inv.first {
            lines.push(format!(
                "{} violated at {}: {what}",
                inv.name,
                sim::time::fmt_duration(*at)
            ));
            break;
        }
    }
    let missed: Vec<String> = report
        .expectations
        .iter()
        .filter(|e| !e.held)
        .map(|e| {
            format!(
                "{} = {} (target {})",
                figure_name(&e.what),
                e.actual,
                e.expected
            )
        })
        .collect();
    if !missed.is_empty() {
        lines.push(format!("missed: {}", missed.join("; ")));
    }
    if lines.is_empty() {
        lines.push(format!("the run's outcome is {:?}", report.outcome));
    }
    lines
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let passed = self.parts.iter().filter(|p| p.passed()).count();
        writeln!(
            f,
            "Grade: {} lab, protocol {}: {passed} of {} parts pass",
            self.workload,
            self.protocol,
            self.parts.len()
        )?;
        for p in &self.parts {
            writeln!(f)?;
            let (from, to) = p.seeds;
            let count = to - from + 1;
            let verdict = p.verdict().name();
            writeln!(f, "Part {} ({}): {verdict}", p.number, p.name)?;
            writeln!(f, "  {}", p.about)?;
            let failing = p.failures.len() + p.more_failures;
            let open = if p.undecided.is_empty() {
                String::new()
            } else {
                format!(", {} undecided (not failures)", p.undecided.len())
            };
            writeln!(
                f,
                "  {file}, seeds {from}..={to}: {} of {count} passed{open}",
                count - (failing + p.undecided.len()) as u64,
                file = p.file
            )?;
            if !p.targets.is_empty() {
                if p.passed() {
                    writeln!(
                        f,
                        "  targets (seed {}, the nearest to them):",
                        p.targets_seed
                    )?;
                } else {
                    writeln!(f, "  targets (seed {}):", p.targets_seed)?;
                }
                for t in &p.targets {
                    let mark = if t.held { "ok  " } else { "MISS" };
                    writeln!(
                        f,
                        "    {mark} {}: {} (target {})",
                        t.what, t.actual, t.expected
                    )?;
                }
            }
            for fail in &p.failures {
                writeln!(f, "  seed {} FAILED:", fail.seed)?;
                for line in &fail.finding {
                    writeln!(f, "    {line}")?;
                }
                writeln!(f, "    replay: {}", fail.replay)?;
            }
            if p.more_failures > 0 {
                writeln!(f, "  ... and {} more failing seeds", p.more_failures)?;
            }
            for open in p.undecided.iter().take(SHOWN_FAILURES) {
                writeln!(f, "  seed {} UNDECIDED (not a failure):", open.seed)?;
                for line in &open.finding {
                    writeln!(f, "    {line}")?;
                }
                writeln!(f, "    replay: {}", open.replay)?;
            }
            if p.undecided.len() > SHOWN_FAILURES {
                writeln!(
                    f,
                    "  ... and {} more undecided seeds",
                    p.undecided.len() - SHOWN_FAILURES
                )?;
            }
            if p.verdict() == Verdict::Undecided {
                writeln!(
                    f,
                    "  no seed was decided, so the part is neither passed nor failed: \
                     give the check more steps (`--check-max-steps N` on a replay, or \
                     `check_max_steps = N` under [meta] in {})",
                    p.file
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(expected: &str, actual: &str) -> Target {
        Target {
            what: "x".into(),
            expected: expected.into(),
            actual: actual.into(),
            held: true,
        }
    }

    #[test]
    fn nearness_is_the_largest_share_of_a_bound_reached() {
        assert_eq!(amount("339.796ms"), Some(0.339796));
        assert_eq!(amount("12.49"), Some(12.49));
        assert_eq!(amount("valid"), None);
        let near = nearness(&[
            target("at most 0", "0"),
            target("at most 30", "12"),
            target("at most 400ms", "0.3s"),
        ]);
        assert!((near - 0.75).abs() < 1e-12, "{near}");
    }
}
