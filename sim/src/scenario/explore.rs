//! `[explore]`: the bounds `chaoslab explore` searches within, and
//! `[schedule]`: the exact choices of one explored run, which `chaoslab run`
//! replays (a counterexample is a scenario with its schedule).

use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::time::Nanos;

/// The `[explore]` table. Every bound is part of what "exhaustive" means:
/// an exhaustive search covered every run within them, no more.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Explore {
    /// Operations each client issues (the bounded workload).
    #[serde(default = "default_ops")]
    pub ops: u32,
    /// Crashes the explorer may inject, each at any step, of any server up.
    #[serde(default)]
    pub crashes: u32,
    /// Restarts of a crashed server it may inject.
    #[serde(default)]
    pub restarts: u32,
    /// Partitions it may inject (servers split in two; clients reach both
    /// sides), each healed at any later step.
    #[serde(default)]
    pub partitions: u32,
    /// Messages it may drop (loss).
    #[serde(default)]
    pub drops: u32,
    /// Messages it may deliver twice.
    #[serde(default)]
    pub duplicates: u32,
    /// Each message arrives at least `latency[0]` and at most `latency[1]`
    /// after it is sent (default: the network's latency range); inside that
    /// window the explorer chooses the order.
    #[serde(default)]
    pub latency: Option<[Spanned<String>; 2]>,
    /// The longest run it explores, in steps (default: no bound but the
    /// run's duration).
    #[serde(default)]
    pub depth: Option<u32>,
    /// When a client starts its next operation: at any time once it may
    /// (`"any-time"`, the default: the explorer chooses), or as soon as it
    /// may (`"earliest"`: the first at `[workload] start`, each next one the
    /// instant the one before ends), which leaves far fewer runs to explore.
    #[serde(default)]
    pub issue: Issue,
}

/// `[explore] issue`: whether the explorer chooses when operations start.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Issue {
    /// At any time once the client may (the explorer chooses).
    #[default]
    AnyTime,
    /// As soon as the client may: at `[workload] start`, then back to back.
    Earliest,
}

fn default_ops() -> u32 {
    2
}

impl Explore {
    /// The message latency window, checked at parse time.
    pub fn window(&self) -> Option<(Nanos, Nanos)> {
        let l = self.latency.as_ref()?;
        let lo = crate::time::parse_duration(l[0].get_ref()).ok()?;
        let hi = crate::time::parse_duration(l[1].get_ref()).ok()?;
        Some((lo, hi))
    }
}

/// The `[schedule]` table as written.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScheduleDoc {
    pub steps: Vec<Spanned<String>>,
}

/// One choice of the explorer: what happens next.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "choice", content = "of", rename_all = "snake_case")]
pub enum Choice {
    /// The pending event with this sequence number happens (a delivery, a
    /// timer, a client's next operation, a scheduled fault).
    Step(u64),
    /// The pending delivery with this sequence number is lost.
    Drop(u64),
    /// The pending delivery with this sequence number is delivered twice:
    /// a copy joins the pending events.
    Duplicate(u64),
    /// Server (by index) crashes.
    Crash(u32),
    /// Crashed server (by index) restarts.
    Restart(u32),
    /// The servers in the mask (bit i: server i) are cut off from the others.
    Partition(u64),
    /// The partition the explorer made heals.
    Heal,
}

impl Choice {
    /// The schedule's words for it (`step 17`, `crash n2`,
    /// `partition n1 | n2 n3`); `servers` is how many servers the run has.
    pub fn words(&self, servers: usize) -> String {
        let name = |i: u32| format!("n{}", i + 1);
        match self {
            Choice::Step(s) => format!("step {s}"),
            Choice::Drop(s) => format!("drop {s}"),
            Choice::Duplicate(s) => format!("duplicate {s}"),
            Choice::Crash(n) => format!("crash {}", name(*n)),
            Choice::Restart(n) => format!("restart {}", name(*n)),
            Choice::Partition(mask) => {
                let side = |inside: bool| {
                    (0..servers as u32)
                        .filter(|&i| (mask >> i & 1 == 1) == inside)
                        .map(name)
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                format!("partition {} | {}", side(true), side(false))
            }
            Choice::Heal => "heal".into(),
        }
    }

    /// Reads [`Choice::words`] back. `Err` says what is valid.
    pub fn parse(s: &str, servers: usize) -> Result<Choice, String> {
        let server = |w: &str| -> Result<u32, String> {
            w.strip_prefix('n')
                .and_then(|d| d.parse::<u32>().ok())
                .filter(|&i| i >= 1 && i as usize <= servers)
                .map(|i| i - 1)
                .ok_or_else(|| format!("`{w}` is not a server: the servers are n1..n{servers}"))
        };
        let words: Vec<&str> = s.split_whitespace().collect();
        let seq = |w: Option<&&str>| -> Result<u64, String> {
            w.and_then(|w| w.parse().ok())
                .ok_or_else(|| format!("`{s}`: the event's number must follow, e.g. `step 12`"))
        };
        match words.first().copied() {
            Some("step") if words.len() == 2 => Ok(Choice::Step(seq(words.get(1))?)),
            Some("drop") if words.len() == 2 => Ok(Choice::Drop(seq(words.get(1))?)),
            Some("duplicate") if words.len() == 2 => Ok(Choice::Duplicate(seq(words.get(1))?)),
            Some("crash") if words.len() == 2 => Ok(Choice::Crash(server(words[1])?)),
            Some("restart") if words.len() == 2 => Ok(Choice::Restart(server(words[1])?)),
            Some("heal") if words.len() == 1 => Ok(Choice::Heal),
            Some("partition") => {
                let rest = &words[1..];
                let bar = rest
                    .iter()
                    .position(|w| *w == "|")
                    .ok_or_else(|| format!("`{s}`: a partition names two sides, e.g. `partition n1 | n2 n3`"))?;
                let mut mask = 0u64;
                let mut seen = 0u64;
                for (i, w) in rest.iter().enumerate() {
                    if i == bar {
                        continue;
                    }
                    let n = server(w)?;
                    if seen >> n & 1 == 1 {
                        return Err(format!("`{s}`: {w} is named twice"));
                    }
                    seen |= 1 << n;
                    if i < bar {
                        mask |= 1 << n;
                    }
                }
                if seen.count_ones() as usize != servers || mask == 0 || mask == seen {
                    return Err(format!(
                        "`{s}`: a partition puts every server on one of two non-empty sides"
                    ));
                }
                Ok(Choice::Partition(mask))
            }
            _ => Err(format!(
                "`{s}` is not a step: valid steps are `step N`, `drop N`, `duplicate N`, `crash nK`, `restart nK`, `partition nA .. | nB ..` and `heal`"
            )),
        }
    }
}

/// A checked `[schedule]`: each choice with where it is written.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub steps: Vec<(Range<usize>, Choice)>,
}

/// The scenario text `src` made into a counterexample: its `[meta] seed` set
/// to `seed`, any `[schedule]` it had taken out, and the `[schedule]` of
/// `steps` (each choice with a comment saying what it did) appended after
/// `header` (comment lines). `None` if `src` is not TOML.
pub fn with_schedule(
    src: &str,
    seed: u64,
    header: &str,
    steps: &[(Choice, String)],
    servers: usize,
) -> Option<String> {
    let mut doc: toml_edit::DocumentMut = src.parse().ok()?;
    doc.remove("schedule");
    if let Some(meta) = doc.get_mut("meta").and_then(|m| m.as_table_like_mut()) {
        meta.insert("seed", toml_edit::value(seed as i64));
    }
    let mut out = doc.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push('\n');
    for line in header.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("[schedule]\nsteps = [\n");
    let words: Vec<String> = steps.iter().map(|(c, _)| c.words(servers)).collect();
    let width = words.iter().map(|w| w.len() + 3).max().unwrap_or(0);
    for (k, (w, (_, what))) in words.iter().zip(steps).enumerate() {
        let quoted = format!("\"{w}\",");
        out.push_str(&format!("  {quoted:<width$} # {:>3}. {what}\n", k + 1));
    }
    out.push_str("]\n");
    Some(out)
}
