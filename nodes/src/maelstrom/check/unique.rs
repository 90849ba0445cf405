//! Unique ids: no id is handed out twice, and (Gossip Glomers' challenge 2:
//! "totally available") every `generate` is answered, partitions or not.

use std::collections::BTreeMap;

use sim::metric::Metrics;

use super::super::client::{Call, Reply};
use super::super::ops::MaelOp;
use super::{malformed, some};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct UniqueReport {
    pub attempted: u64,
    pub acknowledged: u64,
    /// Ids returned more than once, with how many times.
    pub duplicated: BTreeMap<String, u64>,
    /// Requests with no `generate_ok`: a totally available system has none.
    pub unanswered: u64,
    pub malformed: Vec<String>,
}

impl UniqueReport {
    /// Maelstrom's criterion: no duplicate id. Availability is judged by
    /// the scenario (`[expect.measure."unanswered"] max = 0`), as
    /// Maelstrom's `--availability total` does.
    pub fn valid(&self) -> bool {
        self.duplicated.is_empty() && self.malformed.is_empty()
    }

    pub fn metrics(&self, out: &mut Metrics) {
        out.count("ids generated", self.acknowledged)
            .note(format!("of {} generate requests", self.attempted));
        out.count("duplicate ids", self.duplicated.len() as u64)
            .note(if self.duplicated.is_empty() {
                "every id was handed out once".to_string()
            } else {
                format!(
                    "id x times: {}",
                    some(self.duplicated.iter().map(|(id, n)| format!("{id} x{n}")))
                )
            });
        out.count("unanswered", self.unanswered)
            .note("timed out or answered with an error");
        out.count("malformed replies", self.malformed.len() as u64)
            .note(some(&self.malformed));
    }
}

pub fn check_unique(calls: &[Call]) -> UniqueReport {
    let mut r = UniqueReport {
        malformed: malformed(calls),
        ..UniqueReport::default()
    };
    let mut seen: BTreeMap<&str, u64> = BTreeMap::new();
    for c in calls {
        if c.op != MaelOp::Generate {
            continue;
        }
        r.attempted += 1;
        match (&c.reply, c.ok()) {
            (Reply::Id(id), true) => {
                r.acknowledged += 1;
                *seen.entry(id).or_default() += 1;
            }
            _ => r.unanswered += 1,
        }
    }
    r.duplicated = seen
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(id, n)| (id.to_string(), n))
        .collect();
    r
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use sim::history::Outcome;

    fn generate(p: u64, node: &str, id: &str, at: u64) -> Call {
        ok(p, node, MaelOp::Generate, Reply::Id(id.into()), at)
    }

    #[test]
    fn distinct_ids_pass() {
        let calls = vec![
            generate(1, "n1", "\"n1-1\"", 0),
            generate(2, "n2", "\"n2-1\"", 0),
            generate(1, "n1", "\"n1-2\"", 3),
        ];
        let r = check_unique(&calls);
        assert!(r.valid(), "{r:?}");
        assert_eq!((r.attempted, r.acknowledged, r.unanswered), (3, 3, 0));
    }

    #[test]
    fn the_same_id_from_two_nodes_is_a_duplicate() {
        let calls = vec![
            generate(1, "n1", "1", 0),
            generate(2, "n2", "1", 0),
            generate(1, "n1", "2", 3),
        ];
        let r = check_unique(&calls);
        assert!(!r.valid());
        assert_eq!(r.duplicated, BTreeMap::from([("1".to_string(), 2)]));
    }

    #[test]
    fn an_unanswered_generate_is_counted_but_not_a_duplicate() {
        let calls = vec![
            generate(1, "n1", "1", 0),
            ended(generate(2, "n2", "", 0), Outcome::Info, Reply::None),
        ];
        let r = check_unique(&calls);
        assert!(r.valid());
        assert_eq!(r.unanswered, 1);
    }
}
