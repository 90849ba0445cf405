//! What each consumer group received: which acknowledged messages reached it,
//! which reached it more than once, the delivery guarantee that makes, and
//! how far behind the log the group was over the run (its lag).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Anomaly, AnomalyKind, Found, LogFn, LogHistory};
use crate::check::client_name;
use crate::history::{Outcome, ProcessId};

/// The delivery guarantee a run gave, read off its history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guarantee {
    /// Every acknowledged message delivered, none twice.
    ExactlyOnce,
    /// Every acknowledged message delivered; some more than once.
    AtLeastOnce,
    /// None delivered twice; some acknowledged ones below what was
    /// delivered never were (lost).
    AtMostOnce,
    /// Some never delivered and some delivered twice: no guarantee at all.
    None,
    /// Nothing to judge: no acknowledged message, no consumer polled, or
    /// nothing acknowledged was delivered.
    Undetermined,
}

impl Guarantee {
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::ExactlyOnce => "exactly-once effect",
            Guarantee::AtLeastOnce => "at-least-once",
            Guarantee::AtMostOnce => "at-most-once",
            Guarantee::None => "no guarantee",
            Guarantee::Undetermined => "undetermined",
        }
    }

    /// The guarantee of `lost` undelivered (at or below a delivered offset)
    /// and `duplicated` twice-delivered messages out of `acknowledged`.
    /// Messages beyond the consumers' reach at the end (unseen) do not count:
    /// the run ended before they could be read, which no guarantee forbids.
    pub fn of(acknowledged: u64, lost: u64, duplicated: u64) -> Guarantee {
        match (acknowledged, lost > 0, duplicated > 0) {
            (0, _, _) => Guarantee::Undetermined,
            (_, false, false) => Guarantee::ExactlyOnce,
            (_, false, true) => Guarantee::AtLeastOnce,
            (_, true, false) => Guarantee::AtMostOnce,
            (_, true, true) => Guarantee::None,
        }
    }
}

/// A group's lag at one instant: acknowledged or polled messages beyond its
/// position, over all its partitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LagPoint {
    pub at_ns: u64,
    pub lag: u64,
}

/// One consumer group's deliveries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupReport {
    /// Its name; a consumer polling with no group is a group of one, named
    /// after its process (`c4`).
    pub group: String,
    /// The partitions it read or was assigned; when no consumer in the
    /// history records an assignment, every partition sent to.
    pub partitions: Vec<String>,
    /// Acknowledged sends to those partitions.
    pub acknowledged: u64,
    /// Of those, how many reached the group at least once.
    pub delivered: u64,
    /// Of those, how many it read but gave up to a dead letter queue:
    /// handled, not processed, and neither delivered nor missing.
    pub dead_lettered: u64,
    /// Of those, how many never reached it: `lost` ones at or below the
    /// furthest offset it was delivered on their partition, the rest beyond.
    pub missing: u64,
    pub missing_lost: u64,
    /// The rest of `missing`: beyond the furthest delivered offset (or on a
    /// partition nothing was delivered from), not a violation in itself.
    pub missing_unseen: u64,
    /// Values (acknowledged or not) delivered to it more than once, and the
    /// deliveries beyond the first, summed.
    pub duplicated: u64,
    pub extra_deliveries: u64,
    pub guarantee: Guarantee,
    /// Its lag when the history ends, the most it reached and when.
    pub lag_final: u64,
    pub lag_max: u64,
    pub lag_max_at_ns: u64,
    /// Its lag at each instant it changed.
    pub lag: Vec<LagPoint>,
}

/// The group a poll by `process` counts for.
fn group_of(group: &Option<String>, process: ProcessId) -> String {
    group.clone().unwrap_or_else(|| client_name(process))
}

/// Every group's report, by name; pushes the `duplicate-delivery` anomalies.
pub(super) fn groups(history: &LogHistory, found: &mut Found) -> Vec<GroupReport> {
    // Per group: deliveries per value (with the polls that made them), the
    // furthest offset delivered per partition, and its partitions.
    #[derive(Default)]
    struct Seen {
        deliveries: BTreeMap<i64, Vec<usize>>,
        dead: BTreeSet<i64>,
        furthest: BTreeMap<String, u64>,
        partitions: BTreeSet<String>,
    }
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let mut member_of: BTreeMap<ProcessId, String> = BTreeMap::new();
    for (i, op) in history.ops.iter().enumerate() {
        let (g, dead) = match &op.f {
            LogFn::Poll { group, .. } => (group_of(group, op.process), false),
            LogFn::DeadLetter { group, .. } => (group.clone(), true),
            _ => continue,
        };
        let messages = op.f.read().expect("a poll or a dead letter");
        member_of.entry(op.process).or_insert_with(|| g.clone());
        let s = seen.entry(g).or_default();
        if op.outcome != Outcome::Ok {
            continue;
        }
        for m in messages {
            if dead {
                s.dead.insert(m.value);
            } else {
                s.deliveries.entry(m.value).or_default().push(i);
            }
            let f = s.furthest.entry(m.partition.clone()).or_insert(m.offset);
            *f = (*f).max(m.offset);
            s.partitions.insert(m.partition.clone());
        }
    }
    // A group answers for every partition it was assigned. A history with
    // no assignment at all (consumers that never say what they read) makes
    // each group answer for every partition sent to: otherwise a partition
    // no consumer ever read would drop out of the count, and a run that
    // delivered half its messages could pass for exactly-once.
    let assigns = history
        .ops
        .iter()
        .any(|op| matches!(op.f, LogFn::Assign { .. }) && op.outcome == Outcome::Ok);
    if assigns {
        for op in &history.ops {
            if op.outcome != Outcome::Ok {
                continue;
            }
            if let (LogFn::Assign { partitions }, Some(g)) = (&op.f, member_of.get(&op.process)) {
                let s = seen.get_mut(g).expect("a member's group was seen");
                s.partitions.extend(partitions.iter().cloned());
            }
        }
    } else {
        let sent: BTreeSet<String> = history
            .ops
            .iter()
            .filter_map(|op| match &op.f {
                LogFn::Send { partition, .. } => Some(partition.clone()),
                _ => None,
            })
            .collect();
        for s in seen.values_mut() {
            s.partitions.extend(sent.iter().cloned());
        }
    }

    let mut reports = Vec::new();
    for (group, s) in &seen {
        let mut acknowledged = 0;
        let mut delivered = 0;
        let mut dead_lettered = 0;
        let mut missing_lost = 0;
        for op in &history.ops {
            let (
                LogFn::Send {
                    partition,
                    value,
                    offset,
                },
                Outcome::Ok,
            ) = (&op.f, op.outcome)
            else {
                continue;
            };
            if !s.partitions.contains(partition) {
                continue;
            }
            acknowledged += 1;
            if s.deliveries.contains_key(value) {
                delivered += 1;
            } else if s.dead.contains(value) {
                dead_lettered += 1;
            } else if let (Some(o), Some(f)) = (offset, s.furthest.get(partition)) {
                if o <= f {
                    missing_lost += 1;
                }
            }
        }
        let mut duplicated = 0;
        let mut extra = 0;
        for (value, polls) in &s.deliveries {
            if polls.len() < 2 {
                continue;
            }
            duplicated += 1;
            extra += polls.len() as u64 - 1;
            found.push(Anomaly {
                kind: AnomalyKind::DuplicateDelivery,
                partition: None,
                values: vec![*value],
                offsets: Vec::new(),
                ops: polls.clone(),
                detail: format!(
                    "value {value} was delivered to group {group} {} times",
                    polls.len()
                ),
            });
        }
        let missing = acknowledged - delivered - dead_lettered;
        let guarantee = if delivered == 0 {
            Guarantee::Undetermined
        } else {
            Guarantee::of(acknowledged, missing_lost, duplicated)
        };
        let lag = lag_of(history, group, &s.partitions, &member_of);
        let (lag_max_at_ns, lag_max) = lag.iter().fold((0, 0), |best, p| {
            if p.lag > best.1 {
                (p.at_ns, p.lag)
            } else {
                best
            }
        });
        reports.push(GroupReport {
            group: group.clone(),
            partitions: s.partitions.iter().cloned().collect(),
            acknowledged,
            delivered,
            dead_lettered,
            missing,
            missing_lost,
            missing_unseen: missing - missing_lost,
            duplicated,
            extra_deliveries: extra,
            guarantee,
            lag_final: lag.last().map_or(0, |p| p.lag),
            lag_max,
            lag_max_at_ns,
            lag,
        });
    }
    reports
}

/// A group's lag over the run. The log's end on a partition is one past the
/// highest offset acknowledged or polled there so far; the group's position
/// is its last committed offset if it ever commits, else one past the highest
/// offset delivered to it. Both move when the operation that shows them
/// completes.
fn lag_of(
    history: &LogHistory,
    group: &str,
    partitions: &BTreeSet<String>,
    member_of: &BTreeMap<ProcessId, String>,
) -> Vec<LagPoint> {
    let commits = history.ops.iter().any(|op| {
        matches!(&op.f, LogFn::Commit { group: g, .. } if g == group) && op.outcome == Outcome::Ok
    });
    let mut events: Vec<(u64, usize)> = history
        .ops
        .iter()
        .enumerate()
        .filter(|(_, op)| op.outcome == Outcome::Ok)
        .map(|(i, op)| (op.return_ns.expect("validated: ok has a return"), i))
        .collect();
    events.sort();
    let mut end: BTreeMap<&str, u64> = BTreeMap::new();
    let mut position: BTreeMap<&str, u64> = BTreeMap::new();
    let mut points: Vec<LagPoint> = Vec::new();
    for (at_ns, i) in events {
        let op = &history.ops[i];
        match &op.f {
            LogFn::Send {
                partition,
                offset: Some(o),
                ..
            } => {
                let e = end.entry(partition.as_str()).or_insert(0);
                *e = (*e).max(o + 1);
            }
            LogFn::Poll { .. } | LogFn::DeadLetter { .. } => {
                let g = match &op.f {
                    LogFn::DeadLetter { group: g, .. } => g.clone(),
                    LogFn::Poll { group: g, .. } => group_of(g, op.process),
                    _ => unreachable!("matched above"),
                };
                let messages = op.f.read().expect("a poll or a dead letter");
                let mine =
                    member_of.get(&op.process).map(String::as_str) == Some(group) && g == group;
                for m in messages {
                    let e = end.entry(m.partition.as_str()).or_insert(0);
                    *e = (*e).max(m.offset + 1);
                    if mine && !commits {
                        let p = position.entry(m.partition.as_str()).or_insert(0);
                        *p = (*p).max(m.offset + 1);
                    }
                }
            }
            LogFn::Commit {
                group: g,
                partition,
                offset,
            } if g == group => {
                position.insert(partition.as_str(), *offset);
            }
            _ => continue,
        }
        let lag: u64 = partitions
            .iter()
            .map(|p| {
                let e = end.get(p.as_str()).copied().unwrap_or(0);
                e.saturating_sub(position.get(p.as_str()).copied().unwrap_or(0))
            })
            .sum();
        match points.last_mut() {
            Some(last) if last.lag == lag => {}
            Some(last) if last.at_ns == at_ns => last.lag = lag,
            _ => points.push(LagPoint { at_ns, lag }),
        }
    }
    points
}

/// The guarantee over all groups, and the sentence with its numbers. It is
/// judged on what was lost (missing at or below a delivered offset) and what
/// was delivered twice; acknowledged messages beyond the consumers' reach at
/// the end (unseen) are reported beside it, and when there are any the
/// guarantee holds only for the delivered prefix of each partition.
pub(super) fn overall(groups: &[GroupReport], acknowledged: u64) -> (Guarantee, String) {
    if groups.is_empty() {
        return (
            Guarantee::Undetermined,
            "undetermined: no consumer polled, so nothing shows what was delivered".to_string(),
        );
    }
    if acknowledged == 0 {
        return (
            Guarantee::Undetermined,
            "undetermined: no send was acknowledged".to_string(),
        );
    }
    let expected: u64 = groups.iter().map(|g| g.acknowledged).sum();
    let delivered: u64 = groups.iter().map(|g| g.delivered).sum();
    let lost: u64 = groups.iter().map(|g| g.missing_lost).sum();
    let unseen: u64 = groups.iter().map(|g| g.missing_unseen).sum();
    let duplicated: u64 = groups.iter().map(|g| g.duplicated).sum();
    let dead: u64 = groups.iter().map(|g| g.dead_lettered).sum();
    let extra: u64 = groups.iter().map(|g| g.extra_deliveries).sum();
    let across = if groups.len() == 1 {
        format!("group {}", groups[0].group)
    } else {
        format!("{} groups", groups.len())
    };
    if delivered == 0 {
        return (
            Guarantee::Undetermined,
            format!("undetermined: none of the {expected} acknowledged messages reached {across}, so nothing shows what delivery would have done"),
        );
    }
    let guarantee = Guarantee::of(expected, lost, duplicated);
    // Judged are the deliveries that happened or were lost: dead-lettered
    // and unseen ones are named apart below, as the exactly-once sentence
    // counts only what was delivered.
    let judged_n = delivered + lost;
    let lost_words = format!(
        "{lost} of {judged_n} acknowledged deliveries to {across} were lost (never delivered, below messages that were)"
    );
    let dup_words =
        format!("{duplicated} message(s) delivered more than once ({extra} extra deliveries)");
    // Dead letters are named only when there are any, so the sentence of a
    // run without a dead letter queue reads as before.
    let dead_words = if dead > 0 {
        format!("; {dead} acknowledged message(s) were dead-lettered: read and handled, never processed, and counted neither delivered nor lost")
    } else {
        String::new()
    };
    let judged = dead_words
        + &if unseen > 0 {
            format!(
            "; judged on the delivered prefix only: {unseen} acknowledged deliveries were beyond {across}'s reach when the run ended (unseen), and nothing is said of them"
        )
        } else {
            String::new()
        };
    let evidence = match guarantee {
        Guarantee::ExactlyOnce => format!(
            "exactly-once effect: each of the {delivered} acknowledged deliveries to {across} happened once, none was lost{judged}"
        ),
        Guarantee::AtLeastOnce => {
            format!("at-least-once: none of the {delivered} acknowledged deliveries to {across} was lost; {dup_words}{judged}")
        }
        Guarantee::AtMostOnce => format!("at-most-once: {lost_words}; none delivered twice{judged}"),
        Guarantee::None => format!("no guarantee: {lost_words}, and {dup_words}{judged}"),
        Guarantee::Undetermined => format!("undetermined: no acknowledged send to a partition {across} read"),
    };
    (guarantee, evidence)
}
