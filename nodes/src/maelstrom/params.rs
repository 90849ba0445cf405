//! `[system]` for `protocol = "maelstrom"`, and its checked form.

use std::collections::BTreeMap;

use serde::Deserialize;
use sim::scenario::Scenario;
use sim::time::{fmt_duration, ms, secs, Nanos};

use super::check::TxnConsistency;
use super::ops::WorkloadKind;
use super::reference;
use super::services::ServiceKind;

/// `[system]` as the scenario writes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Maelstrom's workload name: `echo`, `unique-ids`, `broadcast`,
    /// `g-counter`, `pn-counter`, `g-set`, `lin-kv`.
    pub workload: String,
    /// Which node implementation serves: `reference` (chaoslab's own), or
    /// for g-counter `seq-kv` (the count kept in the seq-kv service). A lab's protocol (see
    /// [`super::Lab`]) always hosts the lab's own node and refuses the field.
    pub node: Option<String>,
    /// A bug flag of the reference node (see `reference::bugs`).
    pub bug: Option<String>,
    /// Broadcast's `topology` message: `grid`, `line` or `total`.
    pub topology: String,
    /// Share of reads among the operations of the workloads that read
    /// (0.5 unless set; the txn workloads refuse it).
    pub read_share: Option<f64>,
    /// How often the reference nodes gossip.
    #[serde(with = "sim::time::serde_duration")]
    pub gossip: Nanos,
    /// How long after `[workload] stop` the clients make their final reads
    /// (1s unless set; the txn workloads, which make none, refuse it).
    #[serde(with = "sim::time::serde_duration::option")]
    pub final_reads_after: Option<Nanos>,
    /// txn-list-append and txn-rw-register: the consistency model the
    /// history is checked against (Maelstrom's `--consistency-models`).
    pub consistency: Option<String>,
    /// Maelstrom's services the run starts as nodes (`lin-kv`, `seq-kv`,
    /// `lww-kv`, `lin-tso`), besides those the reference node calls.
    pub services: Vec<String>,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            workload: String::new(),
            node: None,
            bug: None,
            topology: "grid".to_string(),
            read_share: None,
            gossip: ms(100),
            final_reads_after: None,
            consistency: None,
            services: Vec::new(),
        }
    }
}

/// When a scenario's faults are over: the final reads wait for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultsEnd {
    /// No fault is scheduled and no nemesis runs.
    None,
    /// The last scheduled fault (a heal, most often) fires at this time,
    /// or the nemesis stops (undoing its faults), whichever is later.
    At(Nanos),
    /// A nemesis runs to the end of the run.
    Never,
}

impl FaultsEnd {
    /// From a scenario: the time of its last `[[faults]]` entry (a
    /// triggered one counts from its `at`; when it fires is not known in
    /// advance) and `[nemesis] stop`.
    pub fn of(s: &Scenario) -> FaultsEnd {
        let last = s.faults.iter().map(|f| f.at).max();
        match (&s.nemesis, last) {
            (Some(n), last) => match n.stop {
                Some(stop) => FaultsEnd::At(last.map_or(stop, |t| t.max(stop))),
                None => FaultsEnd::Never,
            },
            (None, Some(t)) => FaultsEnd::At(t),
            (None, None) => FaultsEnd::None,
        }
    }
}

/// The topologies the harness can send.
pub const TOPOLOGIES: &[&str] = &["grid", "line", "total"];

/// The checked setting.
#[derive(Clone, Debug)]
pub struct Config {
    pub kind: WorkloadKind,
    /// Who wrote the node that serves: `reference node`, or a lab's
    /// protocol name (`lab-broadcast node`), for the report.
    pub node: String,
    /// The reference node other than `reference` that serves
    /// (`[system] node = "seq-kv"`), if one does.
    pub variant: Option<String>,
    pub bug: Option<String>,
    pub topology: String,
    pub read_share: f64,
    pub gossip: Nanos,
    /// When the clients begin their final reads (`None`: no final reads).
    pub final_reads_at: Option<Nanos>,
    pub timeout: Nanos,
    /// The end of the run.
    pub end: Nanos,
    /// The servers' names, in order.
    pub nodes: Vec<String>,
    /// The txn workloads' consistency model (strict-serializable unless
    /// the scenario names another).
    pub consistency: TxnConsistency,
    /// The services the run starts, in [`ServiceKind::ALL`]'s order.
    pub services: Vec<ServiceKind>,
    /// When a workload judged once every request has ended (lin-kv) gives
    /// its verdict: a timeout after `[workload] stop`.
    pub verdict_at: Option<Nanos>,
}

/// A `[system]` field and what is wrong with it.
pub type Bad = (&'static str, String);

impl Params {
    /// Checks the fields; `stop` is `[workload] stop` if set, `end` the
    /// run's duration, `faults` when the scenario's faults are over (see
    /// [`FaultsEnd`]). `hosted` is `None` for protocol `maelstrom` (the
    /// reference nodes, with their bug flags), or the name of a lab's
    /// protocol, whose own node serves.
    pub fn check(
        &self,
        hosted: Option<&str>,
        nodes: Vec<String>,
        timeout: Nanos,
        stop: Option<Nanos>,
        end: Nanos,
        faults: FaultsEnd,
    ) -> Result<Config, Bad> {
        let names: Vec<String> = WorkloadKind::ALL
            .iter()
            .map(|w| format!("\"{}\"", w.name()))
            .collect();
        let kind = WorkloadKind::from_name(&self.workload).ok_or_else(|| {
            let said = if self.workload.is_empty() {
                "is missing".to_string()
            } else {
                format!("= \"{}\" is not a workload chaoslab runs", self.workload)
            };
            (
                "workload",
                format!("workload {said}; it must be one of {}", names.join(", ")),
            )
        })?;
        if let Some(lab) = hosted {
            if let Some(node) = &self.node {
                return Err((
                    "node",
                    format!(
                        "node = \"{node}\": protocol \"{lab}\" always runs its lab's own node; remove the line (node = \"reference\" belongs to protocol \"maelstrom\")"
                    ),
                ));
            }
            if let Some(bug) = &self.bug {
                return Err((
                    "bug",
                    format!(
                        "bug = \"{bug}\": bug flags belong to the reference nodes of protocol \"maelstrom\"; a lab's node has only the bugs its author wrote. Remove the line"
                    ),
                ));
            }
        } else if let Some(node) = self.node.as_deref().filter(|n| *n != "reference") {
            let variants = reference::variants(kind);
            if !variants.iter().any(|(v, _)| *v == node) {
                let also: String = variants
                    .iter()
                    .map(|(v, about)| format!(" and, for {}, \"{v}\" ({about})", kind.name()))
                    .collect();
                return Err((
                    "node",
                    format!(
                        "node = \"{node}\": protocol \"maelstrom\" hosts only \"reference\" (chaoslab's own nodes){also}; to grade a node of your own, start a lab (`chaoslab lab new WORKLOAD`, docs/labs.md), whose protocol hosts it"
                    ),
                ));
            }
        }
        // A reference node other than `reference` (`node = "seq-kv"`).
        let variant = match (hosted, self.node.as_deref()) {
            (None, Some(n)) if n != "reference" => Some(n.to_string()),
            _ => None,
        };
        if let Some(bug) = &self.bug {
            let known = reference::bugs(kind, variant.as_deref());
            if !known.iter().any(|(b, _)| b == bug) {
                let which = match &variant {
                    Some(v) => format!("{} reference node \"{v}\"", kind.name()),
                    None => format!("{} reference node", kind.name()),
                };
                let valid = if known.is_empty() {
                    format!("the {which} has no bug flags")
                } else {
                    let list: Vec<String> = known.iter().map(|(b, _)| format!("\"{b}\"")).collect();
                    format!("the {which}'s bug flags are {}", list.join(", "))
                };
                // The flag may be a flag of another node of this workload.
                let elsewhere: Vec<String> = reference::variants(kind)
                    .iter()
                    .map(|(v, _)| *v)
                    .chain(std::iter::once("reference"))
                    .filter(|v| Some(*v) != variant.as_deref().or(Some("reference")))
                    .filter(|v| {
                        let other = (*v != "reference").then_some(*v);
                        reference::bugs(kind, other).iter().any(|(b, _)| b == bug)
                    })
                    .map(|v| format!(" (\"{bug}\" is a flag of node = \"{v}\")"))
                    .collect();
                return Err((
                    "bug",
                    format!("bug = \"{bug}\": {valid}{}", elsewhere.concat()),
                ));
            }
        }
        if !TOPOLOGIES.contains(&self.topology.as_str()) {
            return Err((
                "topology",
                format!(
                    "topology = \"{}\": must be \"grid\", \"line\" or \"total\"",
                    self.topology
                ),
            ));
        }
        if kind.is_txn() {
            // The txn workloads' clients draw their own mix of micro-ops
            // and make no final reads: the fields would do nothing.
            let set = [
                ("read_share", self.read_share.map(|r| r.to_string())),
                (
                    "final_reads_after",
                    self.final_reads_after.map(fmt_duration),
                ),
            ];
            for (field, value) in set {
                if let Some(v) = value {
                    return Err((
                        field,
                        format!(
                            "{field} = {v}: the {} workload does not use it (its transactions mix reads and writes themselves, and it makes no final reads); remove the line",
                            kind.name()
                        ),
                    ));
                }
            }
        }
        let read_share = self.read_share.unwrap_or(0.5);
        let final_reads_after = self.final_reads_after.unwrap_or(secs(1));
        if !(0.0..=1.0).contains(&read_share) {
            return Err((
                "read_share",
                format!("read_share = {read_share}: must be between 0 and 1"),
            ));
        }
        crate::check_period("gossip", self.gossip, "", "100ms")?;
        let mut services = Vec::new();
        for name in &self.services {
            let Some(service) = ServiceKind::from_name(name) else {
                let valid: Vec<String> = ServiceKind::ALL
                    .iter()
                    .map(|s| format!("\"{}\"", s.name()))
                    .collect();
                return Err((
                    "services",
                    format!(
                        "services lists \"{name}\", which is not one of Maelstrom's services: they are {}",
                        valid.join(", ")
                    ),
                ));
            };
            services.push(service);
        }
        if hosted.is_none() {
            services.extend(reference::services(
                kind,
                variant.as_deref(),
                self.bug.as_deref(),
            ));
        }
        services.sort_unstable();
        services.dedup();
        let verdict_at = if kind == WorkloadKind::LinKv {
            // Judged once every request has ended: a timeout after the
            // workload stops, the last request is answered or timed out.
            let at = stop.map(|stop| stop + timeout + sim::time::ms(1));
            match at {
                Some(at) if at < end => Some(at),
                _ => {
                    return Err((
                        "workload",
                        format!(
                            "the lin-kv workload is judged once every request has ended, a [workload] timeout ({}) after [workload] stop: set stop at most {} (the run lasts {})",
                            fmt_duration(timeout),
                            fmt_duration(end.saturating_sub(timeout + sim::time::ms(2))),
                            fmt_duration(end)
                        ),
                    ))
                }
            }
        } else {
            None
        };
        let final_reads_at = if kind.has_final_reads() {
            let Some(stop) = stop else {
                return Err((
                    "final_reads_after",
                    format!(
                        "the {} workload ends with a final read on every node, which begins final_reads_after ({}) after the workload stops: set [workload] stop before the end of the run ({})",
                        kind.name(),
                        fmt_duration(final_reads_after),
                        fmt_duration(end)
                    ),
                ));
            };
            // Final reads made during a fault would find a cut-off node
            // behind and call its elements lost: they begin once the
            // workload stopped and the last fault is over (Maelstrom heals
            // the network, then waits, before its final reads).
            let quiet = match faults {
                FaultsEnd::Never => {
                    return Err((
                        "final_reads_after",
                        format!(
                            "the {} workload ends with a final read on every node, made after the faults are over, but [nemesis] has no stop: set [nemesis] stop before [workload] stop",
                            kind.name()
                        ),
                    ))
                }
                FaultsEnd::At(t) => stop.max(t),
                FaultsEnd::None => stop,
            };
            let at = quiet + final_reads_after;
            // Each client reads every node once, one at a time.
            let needed = at + timeout * nodes.len() as u64;
            if needed > end {
                return Err((
                    "final_reads_after",
                    format!(
                        "the final reads begin at {} (the later of [workload] stop {} and the last fault {}, + final_reads_after {}) and may take a timeout ({}) per node: the run ({}) must last at least {}",
                        fmt_duration(at),
                        fmt_duration(stop),
                        match faults {
                            FaultsEnd::At(t) => fmt_duration(t),
                            _ => "(none)".to_string(),
                        },
                        fmt_duration(final_reads_after),
                        fmt_duration(timeout),
                        fmt_duration(end),
                        fmt_duration(needed)
                    ),
                ));
            }
            Some(at)
        } else if kind.is_txn() {
            // No final reads: the verdict is given once every transaction
            // has ended, a timeout after the workload stops (the clients
            // mark that moment as they would their final reads).
            let Some(stop) = stop else {
                return Err((
                    "workload",
                    format!(
                        "the {} workload is judged once every transaction has ended: set [workload] stop, at least a timeout ({}) before the end of the run ({})",
                        kind.name(),
                        fmt_duration(timeout),
                        fmt_duration(end)
                    ),
                ));
            };
            let at = stop + timeout + ms(1);
            if at >= end {
                return Err((
                    "workload",
                    format!(
                        "the {} workload is judged a timeout ({}) after [workload] stop ({}): the run ({}) must last longer than {}",
                        kind.name(),
                        fmt_duration(timeout),
                        fmt_duration(stop),
                        fmt_duration(end),
                        fmt_duration(at)
                    ),
                ));
            }
            Some(at)
        } else {
            None
        };
        let consistency = match (&self.consistency, kind.is_txn()) {
            (None, _) => TxnConsistency::StrictSerializable,
            (Some(c), true) => TxnConsistency::from_name(c).ok_or_else(|| {
                let names: Vec<String> = TxnConsistency::ALL
                    .iter()
                    .map(|c| format!("\"{}\"", c.name()))
                    .collect();
                (
                    "consistency",
                    format!(
                        "consistency = \"{c}\" is not a model the txn checker judges; it must be one of {}",
                        names.join(", ")
                    ),
                )
            })?,
            (Some(c), false) => {
                return Err((
                    "consistency",
                    format!(
                        "consistency = \"{c}\": only the txn-list-append and txn-rw-register workloads are checked against a consistency model; remove the line for {}",
                        kind.name()
                    ),
                ))
            }
        };
        Ok(Config {
            consistency,
            kind,
            node: match (hosted, &variant) {
                (Some(lab), _) => format!("{lab} node"),
                (None, Some(v)) => format!("reference node {v}"),
                (None, None) => "reference node".to_string(),
            },
            variant,
            bug: self.bug.clone(),
            topology: self.topology.clone(),
            read_share,
            gossip: self.gossip,
            final_reads_at,
            timeout,
            end,
            nodes,
            services,
            verdict_at,
        })
    }
}

impl Config {
    /// Each node's neighbours, as broadcast's `topology` message gives them.
    /// `grid`: the nodes in rows of ceil(sqrt(n)), neighbours left, right,
    /// above and below (Maelstrom's default); `line`: a chain; `total`:
    /// everyone.
    pub fn neighbours(&self) -> BTreeMap<String, Vec<String>> {
        let n = self.nodes.len();
        let width = (1..=n).find(|w| w * w >= n).unwrap_or(1);
        let mut map = BTreeMap::new();
        for i in 0..n {
            let mut next: Vec<usize> = match self.topology.as_str() {
                "line" => [i.checked_sub(1), Some(i + 1)]
                    .into_iter()
                    .flatten()
                    .collect(),
                "total" => (0..n).filter(|j| *j != i).collect(),
                _ => {
                    let mut v = vec![i + width];
                    v.extend(i.checked_sub(width));
                    if i % width > 0 {
                        v.push(i - 1);
                    }
                    if i % width + 1 < width {
                        v.push(i + 1);
                    }
                    v
                }
            };
            next.retain(|j| *j < n);
            next.sort_unstable();
            map.insert(
                self.nodes[i].clone(),
                next.into_iter().map(|j| self.nodes[j].clone()).collect(),
            );
        }
        map
    }

    /// One line for the report: `broadcast, reference node, bug no-retry`.
    pub fn describe(&self) -> String {
        let mut s = format!("{}, {}", self.kind.name(), self.node);
        if let Some(b) = &self.bug {
            s.push_str(&format!(", bug {b}"));
        }
        if self.kind == WorkloadKind::Broadcast {
            s.push_str(&format!(", {} topology", self.topology));
        }
        if self.kind.is_txn() {
            s.push_str(&format!(", checked as {}", self.consistency.name()));
        }
        if !self.services.is_empty() {
            let names: Vec<&str> = self.services.iter().map(|s| s.name()).collect();
            s.push_str(&format!(", services {}", names.join(" ")));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    fn params(workload: &str) -> Params {
        Params {
            workload: workload.to_string(),
            ..Params::default()
        }
    }

    #[test]
    fn txn_workloads_refuse_fields_they_do_not_use() {
        let run = |p: &Params| {
            p.check(
                None,
                nodes(3),
                ms(500),
                Some(secs(5)),
                secs(10),
                FaultsEnd::None,
            )
        };
        for w in ["txn-list-append", "txn-rw-register"] {
            assert!(run(&params(w)).is_ok());
            let mut p = params(w);
            p.read_share = Some(0.5);
            let err = run(&p).unwrap_err();
            assert_eq!(err.0, "read_share");
            assert!(err.1.contains("remove the line"), "{}", err.1);
            let mut p = params(w);
            p.final_reads_after = Some(secs(1));
            let err = run(&p).unwrap_err();
            assert_eq!(err.0, "final_reads_after");
            assert!(err.1.contains(w), "{}", err.1);
        }
        let mut p = params("kafka");
        p.read_share = Some(0.3);
        p.final_reads_after = Some(ms(500));
        assert_eq!(run(&p).unwrap().read_share, 0.3);
    }

    #[test]
    fn a_grid_of_five_has_rows_of_three() {
        let c = params("broadcast")
            .check(
                None,
                nodes(5),
                ms(500),
                Some(secs(5)),
                secs(10),
                FaultsEnd::None,
            )
            .unwrap();
        let t = c.neighbours();
        assert_eq!(t["n1"], vec!["n2", "n4"]);
        assert_eq!(t["n2"], vec!["n1", "n3", "n5"]);
        assert_eq!(t["n3"], vec!["n2"]);
        assert_eq!(t["n5"], vec!["n2", "n4"]);
    }

    #[test]
    fn bad_fields_say_what_would_be_valid() {
        let err = params("queue")
            .check(None, nodes(3), ms(500), None, secs(10), FaultsEnd::None)
            .unwrap_err();
        assert_eq!(err.0, "workload");
        assert!(err.1.contains("\"broadcast\""), "{}", err.1);
        let mut p = params("broadcast");
        p.bug = Some("sum-merge".into());
        let err = p
            .check(
                None,
                nodes(3),
                ms(500),
                Some(secs(5)),
                secs(10),
                FaultsEnd::None,
            )
            .unwrap_err();
        assert_eq!(err.0, "bug");
        assert!(err.1.contains("\"no-retry\""), "{}", err.1);
        let err = params("g-set")
            .check(None, nodes(3), ms(500), None, secs(10), FaultsEnd::None)
            .unwrap_err();
        assert_eq!(err.0, "final_reads_after");
        assert!(err.1.contains("[workload] stop"), "{}", err.1);
        let err = params("g-set")
            .check(
                None,
                nodes(3),
                secs(1),
                Some(secs(8)),
                secs(10),
                FaultsEnd::None,
            )
            .unwrap_err();
        assert!(err.1.contains("at least 12s"), "{}", err.1);
        // The final reads wait for the last fault: a heal at 11s puts them
        // at 12s, and the run must last past them.
        let err = params("g-set")
            .check(
                None,
                nodes(3),
                ms(500),
                Some(secs(8)),
                secs(12),
                FaultsEnd::At(secs(11)),
            )
            .unwrap_err();
        assert!(err.1.contains("at least 13.5s"), "{}", err.1);
        let c = params("g-set")
            .check(
                None,
                nodes(3),
                ms(500),
                Some(secs(8)),
                secs(20),
                FaultsEnd::At(secs(11)),
            )
            .unwrap();
        assert_eq!(c.final_reads_at, Some(secs(12)));
        let err = params("broadcast")
            .check(
                None,
                nodes(3),
                ms(500),
                Some(secs(8)),
                secs(20),
                FaultsEnd::Never,
            )
            .unwrap_err();
        assert!(err.1.contains("[nemesis] stop"), "{}", err.1);
    }
}
