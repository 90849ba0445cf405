//! G-counter and pn-counter: once the workload stops and the faults heal,
//! every final read of every node must be a sum the history allows. Every
//! acknowledged add counts; an add that timed out or whose client crashed
//! (indefinite) may or may not, so the allowed sums lie between the
//! acknowledged sum plus every indefinite negative delta and the
//! acknowledged sum plus every indefinite positive one. Failed adds (a
//! definite error) count for nothing.
//!
//! Where it differs from Maelstrom's checker: that one keeps the exact set
//! of sums the indefinite deltas can make (a set of ranges; indefinite 3
//! and 5 allow +0, +3, +5 and +8), where this one allows the whole
//! interval (+0 to +8). It can miss a wrong value inside the interval,
//! never call a right one wrong.

use sim::history::Outcome;
use sim::metric::Metrics;

use super::super::client::{Call, Reply};
use super::super::ops::MaelOp;
use super::{malformed, some};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CounterReport {
    pub adds: u64,
    pub acknowledged: u64,
    /// The sums a final read may return, inclusive.
    pub lower: i64,
    pub upper: i64,
    /// Final reads outside the bounds: node and value.
    pub out_of_bounds: Vec<(String, i64)>,
    pub no_final_read: Vec<String>,
    pub malformed: Vec<String>,
}

impl CounterReport {
    pub fn valid(&self) -> bool {
        self.out_of_bounds.is_empty() && self.no_final_read.is_empty() && self.malformed.is_empty()
    }

    pub fn metrics(&self, out: &mut Metrics) {
        out.count("acknowledged", self.acknowledged)
            .note(format!("of {} adds", self.adds));
        out.text(
            "allowed final value",
            if self.lower == self.upper {
                self.lower.to_string()
            } else {
                format!("{} to {}", self.lower, self.upper)
            },
        )
        .note("the acknowledged sum, plus any of the adds that timed out");
        out.count("final reads out of bounds", self.out_of_bounds.len() as u64)
            .note(some(
                self.out_of_bounds
                    .iter()
                    .map(|(n, v)| format!("{n} read {v}")),
            ));
        out.count("nodes without final read", self.no_final_read.len() as u64)
            .note(some(&self.no_final_read));
        out.count("malformed replies", self.malformed.len() as u64)
            .note(some(&self.malformed));
    }
}

pub fn check_counter(calls: &[Call], nodes: &[String]) -> CounterReport {
    let mut r = CounterReport {
        malformed: malformed(calls),
        ..CounterReport::default()
    };
    // Every answered final read of each node: all are held to the bounds,
    // as Maelstrom's checker holds them.
    let mut finals: std::collections::BTreeMap<&str, Vec<i64>> = Default::default();
    for c in calls {
        match (&c.op, &c.reply, c.outcome) {
            (MaelOp::Add(d), _, outcome) => {
                r.adds += 1;
                match outcome {
                    Outcome::Ok => {
                        r.acknowledged += 1;
                        r.lower = r.lower.saturating_add(*d);
                        r.upper = r.upper.saturating_add(*d);
                    }
                    Outcome::Info if *d < 0 => r.lower = r.lower.saturating_add(*d),
                    Outcome::Info => r.upper = r.upper.saturating_add(*d),
                    Outcome::Fail => {}
                }
            }
            (MaelOp::Read, Reply::Count(v), Outcome::Ok) if c.final_read => {
                finals.entry(c.node.as_str()).or_default().push(*v);
            }
            _ => {}
        }
    }
    for n in nodes {
        match finals.get(n.as_str()) {
            None => r.no_final_read.push(n.clone()),
            Some(reads) => {
                for &v in reads {
                    if v < r.lower || v > r.upper {
                        r.out_of_bounds.push((n.clone(), v));
                    }
                }
            }
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn add(d: i64, at: u64) -> Call {
        ok(1, "n1", MaelOp::Add(d), Reply::None, at)
    }

    fn finals(v: &[i64]) -> Vec<Call> {
        v.iter()
            .enumerate()
            .map(|(i, v)| final_read(1, &format!("n{}", i + 1), Reply::Count(*v), 100))
            .collect()
    }

    #[test]
    fn final_reads_equal_to_the_acknowledged_sum_pass() {
        let mut calls = vec![add(3, 0), add(2, 5), add(-4, 9)];
        calls.extend(finals(&[1, 1]));
        let r = check_counter(&calls, &nodes(2));
        assert!(r.valid(), "{r:?}");
        assert_eq!((r.lower, r.upper), (1, 1));
    }

    #[test]
    fn an_indefinite_add_widens_the_bounds() {
        let mut calls = vec![
            add(3, 0),
            ended(add(2, 5), Outcome::Info, Reply::None),
            ended(add(-1, 6), Outcome::Info, Reply::None),
            ended(add(50, 7), Outcome::Fail, Reply::None),
        ];
        calls.extend(finals(&[5, 2]));
        let r = check_counter(&calls, &nodes(2));
        assert!(r.valid(), "{r:?}");
        assert_eq!((r.lower, r.upper), (2, 5));
    }

    #[test]
    fn a_final_read_off_the_sum_is_out_of_bounds() {
        let mut calls = vec![add(3, 0), add(2, 5)];
        calls.extend(finals(&[5, 8]));
        let r = check_counter(&calls, &nodes(2));
        assert!(!r.valid());
        assert_eq!(r.out_of_bounds, vec![("n2".to_string(), 8)]);
    }

    #[test]
    fn a_node_never_read_finally_fails() {
        let mut calls = vec![add(3, 0)];
        calls.extend(finals(&[3]));
        let r = check_counter(&calls, &nodes(2));
        assert_eq!(r.no_final_read, vec!["n2".to_string()]);
        assert!(!r.valid());
    }
}
