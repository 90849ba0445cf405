//! Versions and conflict resolution: last-writer-wins on local-clock
//! timestamps, or vector clocks that keep concurrent writes as siblings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim::history::Value;
use sim::time::Nanos;

/// How replicas order writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Versioning {
    /// Each write carries (coordinator's local clock, coordinator id); the
    /// larger wins and the other is dropped. A coordinator whose clock runs
    /// ahead silently wins against later writes.
    Lww,
    /// Each write carries a vector clock; a write replaces only what its clock
    /// descends from, and concurrent writes are kept side by side (siblings).
    Vector,
}

/// A vector clock: node index to counter.
pub type VClock = BTreeMap<u32, u64>;

/// `a` descends from (has seen everything in) `b`.
pub fn descends(a: &VClock, b: &VClock) -> bool {
    b.iter().all(|(n, c)| a.get(n).copied().unwrap_or(0) >= *c)
}

/// The pointwise maximum.
pub fn vc_merge(a: &VClock, b: &VClock) -> VClock {
    let mut out = a.clone();
    for (n, c) in b {
        let e = out.entry(*n).or_insert(0);
        *e = (*e).max(*c);
    }
    out
}

/// One version of a key's value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sibling {
    /// LWW: (coordinator's local clock, coordinator index).
    pub ts: (Nanos, u32),
    /// Vector clocks: the clock of this version.
    pub clock: VClock,
    pub value: Value,
    /// True time the write was created. Only the invariant checks read it
    /// (to tell an older write from a newer one); the protocol never does.
    pub born_ns: Nanos,
}

impl Sibling {
    /// Does this version make `other` obsolete?
    pub fn supersedes(&self, other: &Sibling, mode: Versioning) -> bool {
        match mode {
            Versioning::Lww => self.ts > other.ts,
            Versioning::Vector => self.clock != other.clock && descends(&self.clock, &other.clock),
        }
    }
}

/// Merges `incoming` into `current`: LWW keeps the one version with the largest
/// timestamp; vector clocks keep every version no other version descends from.
/// The result is sorted, so equal sets compare equal.
pub fn merge(current: &[Sibling], incoming: &[Sibling], mode: Versioning) -> Vec<Sibling> {
    match mode {
        Versioning::Lww => current
            .iter()
            .chain(incoming)
            .max_by(|a, b| a.ts.cmp(&b.ts))
            .cloned()
            .into_iter()
            .collect(),
        Versioning::Vector => {
            let all: Vec<&Sibling> = current.iter().chain(incoming).collect();
            let mut out: Vec<Sibling> = Vec::new();
            for s in &all {
                let dominated = all.iter().any(|o| o.supersedes(s, mode));
                if !dominated && !out.iter().any(|o| o.clock == s.clock) {
                    out.push((*s).clone());
                }
            }
            out.sort();
            out
        }
    }
}

/// The one value a client sees for a set of siblings, so the history holds a
/// single value: no siblings reads `Nil`; one sibling its value; several (only
/// with vector clocks) the application's merge: the largest integer (the
/// workload writes ever larger integers, so this is the newest write), or the
/// union of lists in order of first appearance.
pub fn resolve(sibs: &[Sibling]) -> Value {
    let live: Vec<&Value> = sibs
        .iter()
        .map(|s| &s.value)
        .filter(|v| **v != Value::Nil)
        .collect();
    match live.len() {
        0 => Value::Nil,
        1 => live[0].clone(),
        _ => {
            if live.iter().all(|v| matches!(v, Value::List(_))) {
                let mut out: Vec<i64> = Vec::new();
                for v in &live {
                    if let Value::List(l) = v {
                        for x in l {
                            if !out.contains(x) {
                                out.push(*x);
                            }
                        }
                    }
                }
                Value::List(out)
            } else {
                live.iter()
                    .copied()
                    .max_by(|a, b| match (a, b) {
                        (Value::Int(x), Value::Int(y)) => x.cmp(y),
                        _ => a.cmp(b),
                    })
                    .cloned()
                    .unwrap_or(Value::Nil)
            }
        }
    }
}

/// The clock a new write by `node` carries: after everything in `seen`.
pub fn next_clock(seen: &[Sibling], node: u32, counter: u64) -> VClock {
    let mut c = seen
        .iter()
        .fold(VClock::new(), |acc, s| vc_merge(&acc, &s.clock));
    let e = c.entry(node).or_insert(0);
    *e = (*e + 1).max(counter);
    c
}
