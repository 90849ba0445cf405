//! Broadcast and g-set, judged after Jepsen's set-full checker (Maelstrom
//! uses it for both), with the differences listed at the end: elements
//! are added (`broadcast`, `add`) and reads return the set a node holds.
//!
//! For each element added, over the reads that began after its add began:
//!
//! - **stable** once every later read contains it: its *stable latency*
//!   is the time from the add's invocation to the end of the last read
//!   that missed it (zero if none did);
//! - **lost** if it was acknowledged and the last reads miss it: some
//!   node's final read (made after the faults healed and the workload
//!   stopped) does not have it;
//! - **stale** if it was acknowledged, became stable, yet a read that
//!   began after the acknowledgement missed it (fine for an eventually
//!   consistent system; the count says how eventual);
//! - **never read** if acknowledged and no read after its add saw it and
//!   none missed it either (no read came after it).
//!
//! A read may also return an element nobody added: **unexpected**.
//! Maelstrom's criterion: nothing lost, nothing unexpected, and (here)
//! every node answered a final read.
//!
//! Where this differs from Jepsen's set-full (`jepsen.checker/set-full`):
//!
//! - stable latency runs from the add's invocation to the *end* of the last
//!   read that missed it; Jepsen's from the element's known time (its
//!   acknowledgement or the first read that saw it) to the *invocation* of
//!   that read. Ours is longer, by up to two round trips. Both are
//!   reported: `stable latency` is ours, `jepsen stable latency` Jepsen's
//!   (what Maelstrom's challenge targets bound);
//! - lost needs every node's final read, and one final read lacking an
//!   acknowledged element makes it lost; Jepsen's lost is an element known
//!   and then missed by every later read, whichever node served them.
//!   Ours asks that every node converge;
//! - an add never acknowledged is never lost, even if a read saw it before
//!   it vanished; Jepsen counts it lost once a read made it known;
//! - stale counts reads that began after the acknowledgement (Jepsen: after
//!   the known time), and never read cannot happen once final reads follow
//!   every add.

use std::collections::{BTreeMap, BTreeSet};

use sim::metric::Metrics;
use sim::time::Nanos;

use super::super::client::{Call, Reply};
use super::super::ops::MaelOp;
use super::{malformed, quantile, some};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SetReport {
    pub attempted: u64,
    pub acknowledged: u64,
    pub lost: Vec<i64>,
    pub unexpected: Vec<i64>,
    pub stale: Vec<i64>,
    pub never_read: Vec<i64>,
    /// Stable latencies of the elements that became stable, sorted:
    /// chaoslab's, from the add's invocation to the end of the last read
    /// that missed it.
    pub stable_latencies: Vec<Nanos>,
    /// The same elements' stable latencies as Jepsen's set-full measures
    /// them, sorted: from the element's known time (its acknowledgement or
    /// the end of the first read that saw it, whichever came first) to the
    /// invocation of the last read that missed it (zero if that was before).
    pub jepsen_stable_latencies: Vec<Nanos>,
    /// Servers that answered no final read.
    pub no_final_read: Vec<String>,
    /// Client operations, final reads included (the denominator of
    /// messages per operation).
    pub operations: u64,
    pub malformed: Vec<String>,
}

impl SetReport {
    pub fn valid(&self) -> bool {
        self.lost.is_empty()
            && self.unexpected.is_empty()
            && self.no_final_read.is_empty()
            && self.malformed.is_empty()
    }

    pub fn metrics(&self, out: &mut Metrics) {
        out.count("acknowledged", self.acknowledged)
            .note(format!("of {} adds or broadcasts", self.attempted));
        out.count("lost", self.lost.len() as u64)
            .note(if self.lost.is_empty() {
                "every acknowledged element is in every node's final read".to_string()
            } else {
                format!("missing from a final read: {}", some(&self.lost))
            });
        out.count("unexpected", self.unexpected.len() as u64)
            .note("read but never added");
        out.count("stale", self.stale.len() as u64)
            .note("acknowledged, then missed by a later read, before becoming stable");
        out.count("never read", self.never_read.len() as u64);
        out.count("nodes without final read", self.no_final_read.len() as u64)
            .note(some(&self.no_final_read));
        out.count("malformed replies", self.malformed.len() as u64)
            .note(some(&self.malformed));
        match (
            quantile(&self.stable_latencies, 0.5),
            self.stable_latencies.last(),
        ) {
            (Some(p50), Some(max)) => {
                out.duration("stable latency p50", p50)
                    .note("from the add to the point after which every read has it");
                out.duration("stable latency max", *max);
            }
            _ => {
                out.none("stable latency p50", "no element became stable");
                out.none("stable latency max", "no element became stable");
            }
        }
        match (
            quantile(&self.jepsen_stable_latencies, 0.5),
            self.jepsen_stable_latencies.last(),
        ) {
            (Some(p50), Some(max)) => {
                out.duration("jepsen stable latency p50", p50).note(
                    "Jepsen's set-full: from the ack or first read that saw it to the start of the last read that missed it",
                );
                out.duration("jepsen stable latency max", *max);
            }
            _ => {
                out.none("jepsen stable latency p50", "no element became stable");
                out.none("jepsen stable latency max", "no element became stable");
            }
        }
    }
}

/// A read that returned a set.
struct Read<'c> {
    call_ns: Nanos,
    return_ns: Nanos,
    has: BTreeSet<i64>,
    call: &'c Call,
}

pub fn check_set(calls: &[Call], nodes: &[String]) -> SetReport {
    let mut r = SetReport {
        malformed: malformed(calls),
        operations: calls.len() as u64,
        ..SetReport::default()
    };
    // Element -> (add invoked, add acknowledged at).
    let mut adds: BTreeMap<i64, (Nanos, Option<Nanos>)> = BTreeMap::new();
    let mut reads: Vec<Read> = Vec::new();
    for c in calls {
        match (&c.op, &c.reply) {
            (MaelOp::Broadcast(x) | MaelOp::AddElement(x), _) => {
                r.attempted += 1;
                let acked = c.ok().then_some(c.return_ns).flatten();
                if acked.is_some() {
                    r.acknowledged += 1;
                }
                let e = adds.entry(*x).or_insert((c.call_ns, None));
                e.0 = e.0.min(c.call_ns);
                e.1 = match (e.1, acked) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            (MaelOp::Read, Reply::Elements(xs)) if c.ok() => reads.push(Read {
                call_ns: c.call_ns,
                return_ns: c.return_ns.unwrap_or(c.call_ns),
                has: xs.iter().copied().collect(),
                call: c,
            }),
            _ => {}
        }
    }
    reads.sort_by_key(|x| (x.call_ns, x.return_ns));

    // The final read of each node: its last one, by invocation.
    let mut finals: BTreeMap<&str, &Read> = BTreeMap::new();
    for read in reads.iter().filter(|x| x.call.final_read) {
        finals.insert(read.call.node.as_str(), read);
    }
    r.no_final_read = nodes
        .iter()
        .filter(|n| !finals.contains_key(n.as_str()))
        .cloned()
        .collect();

    let mut unexpected = BTreeSet::new();
    for read in &reads {
        unexpected.extend(read.has.iter().filter(|x| !adds.contains_key(x)));
    }
    r.unexpected = unexpected.into_iter().collect();

    for (&x, &(invoked, acked)) in &adds {
        let after: Vec<&Read> = reads.iter().filter(|rd| rd.call_ns >= invoked).collect();
        let last_miss = after.iter().rposition(|rd| !rd.has.contains(&x));
        let seen_after_miss = match last_miss {
            Some(i) => i + 1 < after.len(),
            None => !after.is_empty(),
        };
        let Some(acked) = acked else {
            // Unacknowledged adds may or may not take effect: only their
            // latency, if they became stable, is of interest.
            if seen_after_miss {
                let stable = last_miss.map_or(invoked, |i| after[i].return_ns);
                r.stable_latencies.push(stable.saturating_sub(invoked));
                r.jepsen_stable_latencies
                    .push(jepsen_latency(x, None, &after, last_miss));
            }
            continue;
        };
        let missing_finally = finals.values().any(|f| !f.has.contains(&x));
        if missing_finally {
            r.lost.push(x);
        } else if after.is_empty() {
            r.never_read.push(x);
        } else if seen_after_miss {
            let stable = last_miss.map_or(invoked, |i| after[i].return_ns);
            r.stable_latencies.push(stable.saturating_sub(invoked));
            r.jepsen_stable_latencies
                .push(jepsen_latency(x, Some(acked), &after, last_miss));
            let missed_after_ack = after
                .iter()
                .any(|rd| rd.call_ns >= acked && !rd.has.contains(&x));
            if missed_after_ack {
                r.stale.push(x);
            }
        } else {
            r.lost.push(x);
        }
    }
    r.stable_latencies.sort_unstable();
    r.jepsen_stable_latencies.sort_unstable();
    r
}

/// Jepsen's stable latency of `x`: from its known time (`acked`, or the
/// end of the first read in `after` that saw it, whichever is first) to the
/// invocation of the last read that missed it, `after[last_miss]`; zero
/// when no read missed it after it was known.
fn jepsen_latency(
    x: i64,
    acked: Option<Nanos>,
    after: &[&Read],
    last_miss: Option<usize>,
) -> Nanos {
    let seen = after
        .iter()
        .filter(|rd| rd.has.contains(&x))
        .map(|rd| rd.return_ns)
        .min();
    let known = match (acked, seen) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(0),
    };
    last_miss.map_or(0, |i| after[i].call_ns.saturating_sub(known))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use sim::history::Outcome;
    use sim::time::ms;

    fn bcast(p: u64, node: &str, x: i64, at: u64) -> Call {
        ok(p, node, MaelOp::Broadcast(x), Reply::None, at)
    }

    fn read(p: u64, node: &str, xs: &[i64], at: u64) -> Call {
        ok(p, node, MaelOp::Read, Reply::Elements(xs.to_vec()), at)
    }

    fn finals(xs: &[i64], at: u64) -> Vec<Call> {
        nodes(2)
            .iter()
            .map(|n| final_read(1, n, Reply::Elements(xs.to_vec()), at))
            .collect()
    }

    #[test]
    fn every_value_in_every_final_read_passes_with_its_stable_latency() {
        let mut calls = vec![
            bcast(1, "n1", 0, 0),
            read(2, "n2", &[], 10),
            read(2, "n2", &[0], 20),
            bcast(1, "n2", 1, 30),
            read(1, "n1", &[0, 1], 40),
        ];
        calls.extend(finals(&[0, 1], 100));
        let r = check_set(&calls, &nodes(2));
        assert!(r.valid(), "{r:?}");
        assert_eq!((r.attempted, r.acknowledged), (2, 2));
        // 0 was missed by the read that ended at 11ms; 1 never was.
        assert_eq!(r.stable_latencies, vec![0, ms(11)]);
        // Jepsen's: 0 was known at its ack (1ms), the read that missed it
        // began at 10ms.
        assert_eq!(r.jepsen_stable_latencies, vec![0, ms(9)]);
        assert_eq!(
            r.stale,
            vec![0],
            "the read at 10ms began after 0 was acknowledged at 1ms"
        );
        assert!(r.lost.is_empty() && r.never_read.is_empty());
    }

    #[test]
    fn an_acknowledged_value_missing_from_a_final_read_is_lost() {
        let mut calls = vec![bcast(1, "n1", 0, 0), bcast(1, "n1", 1, 5)];
        calls.push(final_read(1, "n1", Reply::Elements(vec![0, 1]), 100));
        calls.push(final_read(1, "n2", Reply::Elements(vec![0]), 101));
        let r = check_set(&calls, &nodes(2));
        assert!(!r.valid());
        assert_eq!(r.lost, vec![1]);
    }

    #[test]
    fn a_value_nobody_added_is_unexpected() {
        let mut calls = vec![bcast(1, "n1", 0, 0)];
        calls.extend(finals(&[0, 42], 100));
        let r = check_set(&calls, &nodes(2));
        assert!(!r.valid());
        assert_eq!(r.unexpected, vec![42]);
    }

    #[test]
    fn a_node_without_a_final_read_fails_the_run() {
        let mut calls = vec![bcast(1, "n1", 0, 0)];
        calls.push(final_read(1, "n1", Reply::Elements(vec![0]), 100));
        calls.push(ended(
            final_read(1, "n2", Reply::None, 101),
            Outcome::Info,
            Reply::None,
        ));
        let r = check_set(&calls, &nodes(2));
        assert!(!r.valid());
        assert_eq!(r.no_final_read, vec!["n2".to_string()]);
    }

    #[test]
    fn an_unacknowledged_value_may_be_missing() {
        let mut calls = vec![
            bcast(1, "n1", 0, 0),
            ended(bcast(1, "n1", 1, 5), Outcome::Info, Reply::None),
        ];
        calls.extend(finals(&[0], 100));
        let r = check_set(&calls, &nodes(2));
        assert!(r.valid(), "{r:?}");
        assert_eq!((r.attempted, r.acknowledged), (2, 1));
    }

    #[test]
    fn g_set_adds_are_judged_the_same_way() {
        let mut calls = vec![ok(1, "n1", MaelOp::AddElement(7), Reply::None, 0)];
        calls.extend(finals(&[], 100));
        let r = check_set(&calls, &nodes(2));
        assert_eq!(r.lost, vec![7]);
    }
}
