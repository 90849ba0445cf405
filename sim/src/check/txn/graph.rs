//! The dependency graph: transactions as nodes, inferred ww, wr and rw edges,
//! each with the observation that justifies it, and the search for short
//! cycles inside its strongly connected components.

use std::collections::VecDeque;

use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use super::{EdgeCounts, CYCLE_TRIES_MAX};

/// An edge's kind, as a bit so that a pair's kinds fit one mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Kind {
    Ww,
    Wr,
    Rw,
    /// One process ran `from` and then `to` (strong session serializability).
    Process,
    /// `from` completed before `to` was invoked (strict serializability).
    Realtime,
}

impl Kind {
    fn bit(self) -> u8 {
        match self {
            Kind::Ww => WW,
            Kind::Wr => WR,
            Kind::Rw => RW,
            Kind::Process => PROCESS,
            Kind::Realtime => REALTIME,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Kind::Ww => "ww",
            Kind::Wr => "wr",
            Kind::Rw => "rw",
            Kind::Process => "process",
            Kind::Realtime => "realtime",
        }
    }

    /// The weakest kind in `mask` (ww before wr before rw, and data
    /// dependencies before the orders), so that a cycle found through a pair
    /// with several kinds takes the one that names it most strongly: a ww
    /// step never adds an rw, a data step never needs the process or
    /// real-time order.
    fn weakest(mask: u8) -> Kind {
        [Kind::Ww, Kind::Wr, Kind::Rw, Kind::Process, Kind::Realtime]
            .into_iter()
            .find(|k| mask & k.bit() != 0)
            .unwrap_or(Kind::Realtime)
    }
}

pub(super) const WW: u8 = 1;
pub(super) const WR: u8 = 2;
pub(super) const RW: u8 = 4;
const PROCESS: u8 = 8;
const REALTIME: u8 = 16;
/// The data dependencies.
const DATA: u8 = WW | WR | RW;
/// The orders a stronger model adds.
const ORDER: u8 = PROCESS | REALTIME;

/// Why an edge exists. Keys are indices into the inference's key table,
/// reads are (transaction, micro-op) positions in the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Why {
    /// list-append ww: `to` appended `after` right after `from`'s `before`.
    AppendedAfter { key: u32, before: i64, after: i64 },
    /// list-append wr: `from` appended `value`, the last element `to` read.
    ReadAppended {
        key: u32,
        value: i64,
        read: (u32, u32),
    },
    /// list-append rw: `from` read a list that stops just before `next`,
    /// appended by `to`.
    ReadMissed {
        key: u32,
        read: (u32, u32),
        next: i64,
    },
    /// rw-register wr: `from` wrote `value`, `to` read it.
    ReadWritten { key: u32, value: i64 },
    /// rw-register ww: `to` read `read` (written by `from`) and then wrote
    /// `wrote`.
    WroteOver { key: u32, read: i64, wrote: i64 },
    /// rw-register rw: `from` read `read` (`None`: the initial nil), and
    /// `to` installed `wrote` after it.
    ReadBefore {
        key: u32,
        read: Option<i64>,
        wrote: i64,
    },
    /// Process order: `process` ran `from` and then `to`.
    SameProcess { process: u64 },
    /// Real-time order: `from` completed at `done`, before `to` was invoked
    /// at `invoked`.
    CompletedBefore { done: u64, invoked: u64 },
}

#[derive(Clone, Debug)]
pub(super) struct Edge {
    pub from: u32,
    pub to: u32,
    pub kind: Kind,
    pub why: Why,
}

/// One step of a cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Step {
    pub from: u32,
    pub to: u32,
    pub kind: Kind,
}

pub(super) struct DepGraph {
    n: usize,
    /// Sorted by (from, to, kind), one per triple (the first inferred).
    edges: Vec<Edge>,
    /// Per node: (successor, kinds mask), sorted by successor.
    adj: Vec<Vec<(u32, u8)>>,
    /// Transactions that are not in the graph (failed ones).
    excluded: Vec<bool>,
}

impl DepGraph {
    pub(super) fn new(n: usize, excluded: Vec<bool>) -> Self {
        DepGraph {
            n,
            edges: Vec::new(),
            adj: Vec::new(),
            excluded,
        }
    }

    /// Adds an edge unless it is a self-loop or touches a failed transaction.
    pub(super) fn add(&mut self, from: u32, to: u32, kind: Kind, why: Why) {
        if from == to || self.excluded[from as usize] || self.excluded[to as usize] {
            return;
        }
        self.edges.push(Edge {
            from,
            to,
            kind,
            why,
        });
    }

    /// Sorts and deduplicates the edges (keeping the first justification of
    /// each) and builds the adjacency lists.
    pub(super) fn finish(&mut self) {
        self.edges.sort_by_key(|e| (e.from, e.to, e.kind));
        self.edges
            .dedup_by(|b, a| (a.from, a.to, a.kind) == (b.from, b.to, b.kind));
        let mut adj: Vec<Vec<(u32, u8)>> = vec![Vec::new(); self.n];
        for e in &self.edges {
            let list = &mut adj[e.from as usize];
            match list.last_mut() {
                Some((to, mask)) if *to == e.to => *mask |= e.kind.bit(),
                _ => list.push((e.to, e.kind.bit())),
            }
        }
        self.adj = adj;
    }

    pub(super) fn counts(&self) -> EdgeCounts {
        let mut c = EdgeCounts::default();
        for e in &self.edges {
            match e.kind {
                Kind::Ww => c.ww += 1,
                Kind::Wr => c.wr += 1,
                Kind::Rw => c.rw += 1,
                Kind::Process => c.process += 1,
                Kind::Realtime => c.realtime += 1,
            }
        }
        c
    }

    /// The justification of an edge the graph holds.
    pub(super) fn why(&self, step: Step) -> &Why {
        let key = (step.from, step.to, step.kind);
        let i = self
            .edges
            .binary_search_by_key(&key, |e| (e.from, e.to, e.kind))
            .expect("a cycle only uses edges of the graph");
        &self.edges[i].why
    }

    /// Strongly connected components (of two or more transactions) of the
    /// edges whose kinds meet `mask`, each sorted, in order of their first
    /// transaction; and each node's component number (`u32::MAX`: none).
    fn components(&self, mask: u8) -> (Vec<Vec<u32>>, Vec<u32>) {
        let mut g: DiGraph<(), (), u32> = DiGraph::with_capacity(self.n, self.edges.len());
        for _ in 0..self.n {
            g.add_node(());
        }
        for (from, list) in self.adj.iter().enumerate() {
            for &(to, m) in list {
                if m & mask != 0 {
                    g.add_edge(NodeIndex::new(from), NodeIndex::new(to as usize), ());
                }
            }
        }
        let mut comps: Vec<Vec<u32>> = kosaraju_scc(&g)
            .into_iter()
            .filter(|c| c.len() > 1)
            .map(|c| {
                let mut c: Vec<u32> = c.into_iter().map(|n| n.index() as u32).collect();
                c.sort_unstable();
                c
            })
            .collect();
        comps.sort_unstable();
        let mut id = vec![u32::MAX; self.n];
        for (i, c) in comps.iter().enumerate() {
            for &v in c {
                id[v as usize] = i as u32;
            }
        }
        (comps, id)
    }

    /// A shortest path from `start` to `goal` over edges meeting `mask`,
    /// inside component `comp` (node ids in `ids`), as steps.
    fn path(
        &self,
        start: u32,
        goal: u32,
        mask: u8,
        comp: &[u32],
        comp_id: u32,
        ids: &[u32],
    ) -> Option<Vec<Step>> {
        let pos = |v: u32| comp.binary_search(&v).expect("node in its component");
        let mut parent: Vec<u32> = vec![u32::MAX; comp.len()];
        let mut queue = VecDeque::new();
        parent[pos(start)] = start;
        queue.push_back(start);
        while let Some(v) = queue.pop_front() {
            if v == goal {
                let mut steps = Vec::new();
                let mut at = goal;
                while at != start {
                    let from = parent[pos(at)];
                    let m = self.mask(from, at) & mask;
                    steps.push(Step {
                        from,
                        to: at,
                        kind: Kind::weakest(m),
                    });
                    at = from;
                }
                steps.reverse();
                return Some(steps);
            }
            for &(to, m) in &self.adj[v as usize] {
                if m & mask == 0 || ids[to as usize] != comp_id {
                    continue;
                }
                let p = pos(to);
                if parent[p] == u32::MAX {
                    parent[p] = v;
                    queue.push_back(to);
                }
            }
        }
        None
    }

    fn mask(&self, from: u32, to: u32) -> u8 {
        let list = &self.adj[from as usize];
        list.binary_search_by_key(&to, |&(t, _)| t)
            .map(|i| list[i].1)
            .unwrap_or(0)
    }

    /// The edges of `kind` from nodes of `comp` to nodes of the same
    /// component, in order; only pairs without a weaker edge beside them (a
    /// cycle through a pair that also has a ww edge is that ww edge's cycle,
    /// already found and named by the weaker search). An order edge is
    /// weaker than nothing but the data edges.
    fn edges_of(&self, kind: Kind, comp: &[u32], comp_id: u32, ids: &[u32]) -> Vec<(u32, u32)> {
        let bit = kind.bit();
        let weaker = if bit & ORDER != 0 { DATA } else { bit - 1 };
        let mut out = Vec::new();
        for &v in comp {
            for &(to, m) in &self.adj[v as usize] {
                if m & bit != 0 && m & weaker == 0 && ids[to as usize] == comp_id {
                    out.push((v, to));
                }
            }
        }
        out
    }

    /// The cycle closed by the edge `u -kind-> v`, through a shortest path
    /// back from `v` to `u` over `mask`.
    fn cycle_through(
        &self,
        (u, v): (u32, u32),
        kind: Kind,
        mask: u8,
        comp: &[u32],
        comp_id: u32,
        ids: &[u32],
    ) -> Option<Vec<Step>> {
        let back = self.path(v, u, mask, comp, comp_id, ids)?;
        let mut cycle = vec![Step {
            from: u,
            to: v,
            kind,
        }];
        cycle.extend(back);
        Some(cycle)
    }

    /// Short cycles, at most one per component of each of three graphs: the
    /// ww edges (G0), the ww and wr edges (G1c, a cycle through a wr edge),
    /// and all edges (a cycle through an rw edge: G-single when one comes
    /// back without another rw, else G2). Rotated to start at their smallest
    /// transaction.
    pub(super) fn cycles(&self) -> Vec<Vec<Step>> {
        let mut out = Vec::new();
        // G0: any cycle of a ww component is all ww.
        let (comps, ids) = self.components(WW);
        for (c, comp) in comps.iter().enumerate() {
            if let Some(&first) = self.edges_of(Kind::Ww, comp, c as u32, &ids).first() {
                out.extend(self.cycle_through(first, Kind::Ww, WW, comp, c as u32, &ids));
            }
        }
        // G1c: a component of ww and wr edges that holds a wr edge.
        let (comps, ids) = self.components(WW | WR);
        for (c, comp) in comps.iter().enumerate() {
            if let Some(&first) = self.edges_of(Kind::Wr, comp, c as u32, &ids).first() {
                out.extend(self.cycle_through(first, Kind::Wr, WW | WR, comp, c as u32, &ids));
            }
        }
        // G-single, else G2: a component that holds an rw edge.
        let (comps, ids) = self.components(DATA);
        for (c, comp) in comps.iter().enumerate() {
            let rws = self.edges_of(Kind::Rw, comp, c as u32, &ids);
            let Some(&first) = rws.first() else { continue };
            let single = rws
                .iter()
                .take(CYCLE_TRIES_MAX)
                .find_map(|&e| self.cycle_through(e, Kind::Rw, WW | WR, comp, c as u32, &ids));
            let cycle =
                single.or_else(|| self.cycle_through(first, Kind::Rw, DATA, comp, c as u32, &ids));
            out.extend(cycle);
        }
        if self.edges.iter().any(|e| e.kind.bit() & ORDER != 0) {
            out.extend(self.order_cycles());
        }
        for cycle in &mut out {
            let start = (0..cycle.len()).min_by_key(|&i| cycle[i].from).unwrap_or(0);
            cycle.rotate_left(start);
        }
        out
    }
}

impl DepGraph {
    /// The cycles that need the process or real-time order: the same three
    /// searches over the data edges plus the order edges, each cycle closed
    /// by an order edge (G0 and G1c with it) or by an rw edge coming back
    /// through one; only cycles that hold an order edge are kept (the
    /// others are the data cycles already found).
    fn order_cycles(&self) -> Vec<Vec<Step>> {
        let has_order = |c: &Vec<Step>| c.iter().any(|s| s.kind.bit() & ORDER != 0);
        let has_wr = |c: &Vec<Step>| c.iter().any(|s| s.kind == Kind::Wr);
        let orders = |comp: &[u32], c: usize, ids: &[u32]| {
            let mut e: Vec<(u32, u32, Kind)> = Vec::new();
            for kind in [Kind::Process, Kind::Realtime] {
                e.extend(
                    self.edges_of(kind, comp, c as u32, ids)
                        .into_iter()
                        .map(|(u, v)| (u, v, kind)),
                );
            }
            e.sort_unstable();
            e
        };
        let mut out = Vec::new();
        let (comps, ids) = self.components(WW | ORDER);
        for (c, comp) in comps.iter().enumerate() {
            if let Some(&(u, v, kind)) = orders(comp, c, &ids).first() {
                out.extend(self.cycle_through((u, v), kind, WW | ORDER, comp, c as u32, &ids));
            }
        }
        let (comps, ids) = self.components(WW | WR | ORDER);
        for (c, comp) in comps.iter().enumerate() {
            if self.edges_of(Kind::Wr, comp, c as u32, &ids).is_empty() {
                continue;
            }
            let found = orders(comp, c, &ids)
                .into_iter()
                .take(CYCLE_TRIES_MAX)
                .filter_map(|(u, v, kind)| {
                    self.cycle_through((u, v), kind, WW | WR | ORDER, comp, c as u32, &ids)
                })
                .find(|cy| has_wr(cy));
            out.extend(found);
        }
        let (comps, ids) = self.components(DATA | ORDER);
        for (c, comp) in comps.iter().enumerate() {
            let rws = self.edges_of(Kind::Rw, comp, c as u32, &ids);
            let single = rws
                .iter()
                .take(CYCLE_TRIES_MAX)
                .filter_map(|&e| {
                    self.cycle_through(e, Kind::Rw, WW | WR | ORDER, comp, c as u32, &ids)
                })
                .find(|cy| has_order(cy));
            let cycle = single.or_else(|| {
                let &first = rws.first()?;
                self.cycle_through(first, Kind::Rw, DATA | ORDER, comp, c as u32, &ids)
                    .filter(|cy| has_order(cy))
            });
            out.extend(cycle);
        }
        out
    }
}

/// The kinds of a cycle, counted.
pub(super) fn tally(cycle: &[Step]) -> Tally {
    let n = |k: Kind| cycle.iter().filter(|s| s.kind == k).count();
    Tally {
        wr: n(Kind::Wr),
        rw: n(Kind::Rw),
        process: n(Kind::Process),
        realtime: n(Kind::Realtime),
    }
}

/// How many edges of each kind that matters for its name a cycle has.
pub(super) struct Tally {
    pub wr: usize,
    pub rw: usize,
    pub process: usize,
    pub realtime: usize,
}
