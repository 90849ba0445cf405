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

/// A partition counts as blocked when the message at its committed offset
/// has been readable (below the high watermark) for this long, and the
/// group has not committed past it.
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
            let since = readable_since(
                &partition_name(p),
                at,
                g.progress_at.get(&p).copied().unwrap_or(0),
                ops,
            );
            let still = g.last_tick.saturating_sub(since);
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
                "partitions whose next message to process has been readable for at least {} without being committed past",
                fmt_duration(BLOCKED_AFTER)
            )
        } else {
            blocked.join("; ")
        };
        out.count("blocked partitions", blocked.len() as u64)
            .note(note);
    }
    dlq_metrics(config, &brokers, ops, out);
}

/// Since when the message at offset `at` of `partition` has been readable,
/// as far as the history shows: no earlier than the group's last commit on
/// it (`committed_at`, when `at` became the next to process), nor than the
/// first acknowledgement of a send at `at` or past it. With `acks = "all"`
/// that acknowledgement means the high watermark had passed `at` (with
/// `acks = 1` it comes a fetch interval before, near enough); with no
/// acknowledged send there (`acks = 0`) only the commit time is known.
/// Measuring from the last commit alone would call an idle partition that
/// got one message just before the end blocked.
pub fn readable_since(partition: &str, at: u64, committed_at: Nanos, ops: &[LogOp]) -> Nanos {
    let acked = ops
        .iter()
        .filter_map(|op| match (&op.f, op.outcome, op.return_ns) {
            (
                LogFn::Send {
                    partition: q,
                    offset: Some(o),
                    ..
                },
                Outcome::Ok,
                Some(ret),
            ) if q == partition && *o >= at => Some(ret),
            _ => None,
        })
        .min();
    acked.map_or(committed_at, |t| t.max(committed_at))
}

/// The dead letter partition's figures: what it holds against what the
/// group read and found poison.
fn dlq_metrics(config: &Config, brokers: &[&super::Broker], ops: &[LogOp], out: &mut Metrics) {
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
        "{} acknowledged poison message(s); the dead letter queue misses {}, holds {} that are not acknowledged poison and {} twice",
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

#[cfg(test)]
mod tests {
    use super::*;
    use sim::time::ms;

    fn sent(offset: u64, ret: Nanos) -> LogOp {
        LogOp {
            process: 3,
            f: LogFn::Send {
                partition: "t-0".into(),
                value: 7,
                offset: Some(offset),
            },
            outcome: Outcome::Ok,
            call_ns: ret - ms(2),
            return_ns: Some(ret),
        }
    }

    #[test]
    fn an_idle_partition_that_gets_a_message_just_before_the_end_is_not_blocked() {
        // The group committed offset 5 at 1s; the partition then stayed
        // empty until a message at offset 5 was acknowledged at 5.995s.
        let end = ms(6000);
        let ops = vec![sent(4, ms(900)), sent(5, ms(5995))];
        let since = readable_since("t-0", 5, ms(1000), &ops);
        assert_eq!(since, ms(5995));
        assert!(end - since < BLOCKED_AFTER, "readable for 5ms only");
        // Time since the last commit alone would have said 5s.
        assert!(end - ms(1000) >= BLOCKED_AFTER);
        // The same message acknowledged at 2s has waited 4s: blocked.
        let ops = vec![sent(4, ms(900)), sent(5, ms(2000)), sent(6, ms(2100))];
        let since = readable_since("t-0", 5, ms(1000), &ops);
        assert_eq!(since, ms(2000));
        assert!(end - since >= BLOCKED_AFTER);
        // Another partition's sends, unacknowledged ones and sends below
        // the committed offset say nothing; then the commit time counts.
        let mut other = sent(9, ms(1500));
        other.f = LogFn::Send {
            partition: "t-1".into(),
            value: 7,
            offset: Some(9),
        };
        let failed = LogOp {
            outcome: Outcome::Info,
            return_ns: None,
            f: LogFn::Send {
                partition: "t-0".into(),
                value: 8,
                offset: None,
            },
            ..sent(0, ms(1600))
        };
        let ops = vec![sent(4, ms(900)), other, failed];
        assert_eq!(readable_since("t-0", 5, ms(1000), &ops), ms(1000));
    }
}
