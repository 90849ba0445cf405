//! The report's figures on poison messages and the dead letter queue: how
//! often processing failed, which partitions are blocked behind a message
//! that never gets through, and what the dead letter partition holds
//! against what it should hold (every acknowledged poison message, once).

use std::collections::{BTreeMap, BTreeSet};

use sim::check::log::{LogFn, LogOp};
use sim::history::Outcome;
use sim::metric::Metrics;
use sim::node::NodeId;
use sim::protocol::NodeTable;
use sim::time::{fmt_duration, Nanos, NANOS_PER_MILLI};

use super::params::partition_name;
use super::{Config, LogNode};

/// A partition whose committed offset has not moved for this long while
/// the log holds messages past it counts as blocked.
pub const BLOCKED_AFTER: Nanos = 1_000 * NANOS_PER_MILLI;

/// How many of the dead letter partition's values the report lists.
const SHOWN: usize = 10;

/// Reports the figures, if the scenario has poison messages or a dead
/// letter queue. `attempts` is every member life's failed attempts.
pub fn metrics(
    config: &Config,
    nodes: &NodeTable<LogNode>,
    ops: &[LogOp],
    attempts: &BTreeMap<(NodeId, u64), u64>,
    out: &mut Metrics,
) {
    if config.poison_every == 0 && !config.dlq {
        return;
    }
    out.count("poison attempts", attempts.values().sum())
        .note("processing attempts of poison messages, each failed");
    let brokers: Vec<&super::Broker> = nodes
        .iter()
        .filter_map(|n| n.as_ref().and_then(LogNode::as_broker))
        .collect();
    let controller = nodes
        .first()
        .and_then(Option::as_ref)
        .and_then(LogNode::as_controller);
    if let Some(c) = controller {
        let g = &c.group;
        let mut blocked = Vec::new();
        for p in 0..config.partitions {
            // The log's end: the highest high watermark a live replica
            // knows (the leader's, unless it just changed).
            let end = brokers
                .iter()
                .filter_map(|b| b.replicas.get(&p))
                .map(|r| r.hw)
                .max()
                .unwrap_or(0);
            let at = g.committed.get(&p).copied().unwrap_or(0);
            let still = g
                .last_tick
                .saturating_sub(g.progress_at.get(&p).copied().unwrap_or(0));
            if end > at && still >= BLOCKED_AFTER {
                blocked.push(format!(
                    "{} stuck at offset {at} for {}, {} behind",
                    partition_name(p),
                    fmt_duration(still),
                    end - at
                ));
            }
        }
        let note = if blocked.is_empty() {
            format!(
                "partitions whose committed offset stood still for the last {} with messages past it",
                fmt_duration(BLOCKED_AFTER)
            )
        } else {
            blocked.join("; ")
        };
        out.count("blocked partitions", blocked.len() as u64)
            .note(note);
    }
    let Some(d) = config.dlq_partition() else {
        return;
    };
    // What the dead letter partition holds: the longest committed prefix
    // any replica has (below its high watermark, as a consumer would read).
    let held: Vec<i64> = brokers
        .iter()
        .filter_map(|b| b.replicas.get(&d))
        .max_by_key(|r| r.hw)
        .map(|r| r.log[..r.hw as usize].iter().map(|e| e.value).collect())
        .unwrap_or_default();
    let poison: BTreeSet<i64> = ops
        .iter()
        .filter_map(|op| match (&op.f, op.outcome) {
            (LogFn::Send { value, .. }, Outcome::Ok) if config.is_poison(*value) => Some(*value),
            _ => None,
        })
        .collect();
    let distinct: BTreeSet<i64> = held.iter().copied().collect();
    let repeats = (held.len() - distinct.len()) as u64;
    let mismatch = distinct.symmetric_difference(&poison).count() as u64 + repeats;
    out.count("dlq size", held.len() as u64).note(format!(
        "messages in the dead letter partition {}",
        partition_name(d)
    ));
    out.count("dlq mismatch", mismatch).note(format!(
        "{} acknowledged poison message(s); the dead letter queue misses {}, holds {} that are not poison and {} twice",
        poison.len(),
        poison.difference(&distinct).count(),
        distinct.difference(&poison).count(),
        repeats
    ));
    let shown: Vec<String> = held.iter().take(SHOWN).map(i64::to_string).collect();
    let more = if held.len() > SHOWN {
        format!(" and {} more", held.len() - SHOWN)
    } else {
        String::new()
    };
    out.text("dlq", format!("[{}]{more}", shown.join(", ")));
}
