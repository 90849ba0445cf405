//! The sweep's report, from a list of per-seed results. One function prints it
//! for both a sweep and a merge of shard files, so that a merge of every shard
//! prints exactly what one sweep over the union would.

use std::collections::BTreeMap;
use std::fmt::Write;

use sim::report::{RunOutcome, Undecided};
use sim::scenario::Scenario;

use super::shard::Shard;
use crate::exit;
use crate::CheckBudgetArgs;

/// One seed's result: what a sweep keeps of its run, and what a shard file
/// holds on each of its lines (as JSON: `outcome` is `pass`, `fail` or
/// `undecided`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    pub seed: u64,
    pub outcome: RunOutcome,
    pub fingerprint: String,
    /// What broke: invariants violated unexpectedly, expectations that failed.
    pub broke: Vec<String>,
    /// Checks left undecided.
    pub undecided: Vec<Undecided>,
}

/// What a report says of the sweep besides its results.
pub struct Sweep<'a> {
    /// The scenario, named as the sweep named it (its `file` is the path or
    /// registry name the replay commands give).
    pub scenario: &'a Scenario,
    /// The seed range, inclusive.
    pub first: u64,
    pub last: u64,
    /// The share of the range this report covers; `None` for all of it.
    pub shard: Option<Shard>,
    /// The budget flags the sweep was given, repeated in replay commands.
    pub budget: &'a CheckBudgetArgs,
    /// The running program's name, for the replay commands.
    pub program: &'a str,
    /// Every seed's line, not only those that did not pass.
    pub verbose: bool,
}

/// The report of `results` (in seed order) and the exit code it means: 1 if
/// any seed failed, else 3 if any is undecided, else 0.
pub fn render(sweep: &Sweep, results: &[Outcome]) -> (String, i32) {
    let mut o = String::new();
    let failed: Vec<&Outcome> = results
        .iter()
        .filter(|r| r.outcome == RunOutcome::Fail)
        .collect();
    let undecided: Vec<&Outcome> = results
        .iter()
        .filter(|r| r.outcome == RunOutcome::Undecided)
        .collect();
    for r in results {
        if sweep.verbose || r.outcome != RunOutcome::Pass {
            let mut what: Vec<String> = r.broke.clone();
            what.extend(r.undecided.iter().map(|u| {
                format!(
                    "{} undecided ({}: {})",
                    u.check,
                    cause_words(&u.cause),
                    u.reason
                )
            }));
            let _ = writeln!(
                o,
                "seed {:>6}  {}  {}{}",
                r.seed,
                r.fingerprint,
                match r.outcome {
                    RunOutcome::Pass => "pass",
                    RunOutcome::Fail => "FAIL",
                    RunOutcome::Undecided => "UNDECIDED",
                },
                if what.is_empty() {
                    String::new()
                } else {
                    format!(": {}", what.join("; "))
                }
            );
        }
    }
    // Failures grouped by what broke, so a sweep reads as a list of bugs.
    let mut kinds: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for r in &failed {
        for b in &r.broke {
            let key = b.split(':').next().unwrap_or(b);
            kinds.entry(key).or_default().push(r.seed);
        }
    }
    // Undecided seeds grouped by which check and what ran out.
    let mut open: BTreeMap<(&str, &str), Vec<u64>> = BTreeMap::new();
    for r in &undecided {
        for u in &r.undecided {
            open.entry((&u.check, &u.cause)).or_default().push(r.seed);
        }
    }
    let (first, last) = (sweep.first, sweep.last);
    let share = match sweep.shard {
        Some(s) if s.count > 1 => format!(", shard {s}"),
        _ => String::new(),
    };
    let _ = writeln!(
        o,
        "\n{}: {} seeds ({first}..{last}{share}), {} passed, {} failed, {} undecided",
        sweep.scenario.meta.name,
        results.len(),
        results.len() - failed.len() - undecided.len(),
        failed.len(),
        undecided.len()
    );
    let shown = |seeds: &[u64]| {
        let some: Vec<String> = seeds.iter().take(10).map(|s| s.to_string()).collect();
        format!(
            "{}{}",
            some.join(", "),
            if seeds.len() > 10 { ", ..." } else { "" }
        )
    };
    if !kinds.is_empty() {
        let _ = writeln!(o, "failed:");
    }
    for (kind, seeds) in &kinds {
        let _ = writeln!(o, "  {kind}: {} seeds (e.g. {})", seeds.len(), shown(seeds));
    }
    if !open.is_empty() {
        let _ = writeln!(
            o,
            "undecided (not failures: the check has no answer within its budget):"
        );
    }
    for ((check, cause), seeds) in &open {
        let _ = writeln!(
            o,
            "  {check} ({}): {} seeds (e.g. {})",
            cause_words(cause),
            seeds.len(),
            shown(seeds)
        );
    }
    let bare = |seed: u64| sim::report::replay_command(sweep.program, sweep.scenario, seed);
    let replay = |seed: u64| format!("{}{}", bare(seed), sweep.budget.flags());
    if let Some(u) = undecided.first() {
        match u.undecided.iter().find_map(|x| x.flag.as_ref()) {
            Some(flag) => {
                let _ = writeln!(
                    o,
                    "decide the first undecided seed with:\n  {}\nor sweep again with {flag}",
                    sweep.budget.decide(&bare(u.seed), flag)
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "the first undecided seed cannot be decided by a larger budget:\n  {}",
                    replay(u.seed)
                );
            }
        }
    }
    let code = if let Some(f) = failed.first() {
        let _ = writeln!(o, "replay the first failure with:\n  {}", replay(f.seed));
        exit::FAIL
    } else if !undecided.is_empty() {
        exit::UNDECIDED
    } else {
        exit::PASS
    };
    (o, code)
}

/// What ran out, in words.
fn cause_words(cause: &str) -> &'static str {
    match cause {
        "steps" => "search ran out of steps",
        "memory" => "search ran out of memory",
        "deadline" => "search ran out of time",
        "no value" => "the figure has no value in the run",
        _ => "the model cannot judge the history",
    }
}
