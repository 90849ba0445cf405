//! `chaoslab explore`: every run of a small configuration, instead of a
//! sample of them.
//!
//! The kernel runs in its exploring mode (see `kernel::explore`): the
//! explorer makes every choice a run has (which pending event happens next,
//! and the faults within the `[explore]` budget), forking the run at each.
//! Runs that reach the same state (see [`Sim::state_hash`]) are explored
//! once. What is checked:
//!
//! - every `always` property, at every step: the first step that breaks one
//!   ends that run with a counterexample;
//! - at the end of each run (nothing more can happen before the scenario's
//!   duration), every `eventually` property, where the run's quiet period
//!   was long enough to decide it (an undecided one is never a failure), and
//!   linearizability of the finished history when `[expect] linearizable =
//!   true` (an undecided search is counted, never a failure).
//!
//! Strategies: breadth-first (the first counterexample found is a shortest
//! one), depth-first (within a depth bound), and PCT (Burckhardt et al.,
//! ASPLOS 2010): random runs under random priorities with `d - 1` priority
//! change points, which find a bug of depth `d` with probability at least
//! `1 / (n k^(d-1))` per run (`n` nodes, `k` steps), for configurations too
//! large to exhaust.
//!
//! Nothing here reads the wall clock: the caller's `stop` decides when a
//! time or memory budget has run out.

use std::collections::VecDeque;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::check::fxhash::ProbeMap;
use crate::check::{Budget, Verdict};
use crate::kernel::{Sim, StateHash, TraceMode};
use crate::protocol::{PropertyVerdict, Protocol};
use crate::scenario::{Choice, Scenario};
use crate::time::Nanos;

/// How the explorer walks the runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Level by level: the first counterexample is a shortest one.
    Bfs,
    /// Depth first, within the depth bound.
    Dfs,
    /// `runs` random runs under PCT priorities with `depth - 1` change
    /// points, seeded from `seed`.
    Pct { runs: u64, depth: u32, seed: u64 },
}

impl Strategy {
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Bfs => "bfs",
            Strategy::Dfs => "dfs",
            Strategy::Pct { .. } => "pct",
        }
    }
}

/// The explorer's limits beyond the scenario's own bounds.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The most states it expands.
    pub max_states: u64,
    /// The longest run, in steps (`None`: the scenario's `[explore] depth`,
    /// else no bound but the run's duration).
    pub max_depth: Option<u32>,
    /// Search steps the linearizability check of each finished run may take.
    pub check_steps: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_states: 1_000_000,
            max_depth: None,
            check_steps: 1_000_000,
        }
    }
}

/// The figures of a search.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// States reached (a choice made from an expanded state), repeats
    /// included.
    pub explored: u64,
    /// Distinct states.
    pub unique: u64,
    /// The deepest run, in steps.
    pub max_depth: u32,
    /// Runs that reached their end (nothing more could happen).
    pub finished_runs: u64,
    /// Runs cut short by the depth bound.
    pub cut_by_depth: u64,
    /// Finished runs whose linearizability the search could not decide
    /// within its budget (never counted as failures).
    pub undecided_checks: u64,
    /// `eventually` properties left undecided at the end of a run (the quiet
    /// period was too short).
    pub undecided_properties: u64,
}

/// What broke, and where.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Counterexample {
    /// The property (`election-safety`) or `linearizability`.
    pub property: String,
    pub detail: String,
    /// The choices from the start, each with what it did.
    pub steps: Vec<(Choice, String)>,
    /// When it broke, in virtual time.
    pub at: Nanos,
}

/// How a search came out.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Outcome {
    pub strategy: &'static str,
    pub stats: Stats,
    /// Every run within the bounds was explored (no budget ran out, no run
    /// was cut by the depth bound, and the strategy is exhaustive).
    pub exhaustive: bool,
    /// Why not, when it is not.
    pub bounded_by: Vec<String>,
    pub counterexample: Option<Counterexample>,
}

/// What the caller learns while it runs, and how it stops a search: return
/// `Some(reason)` ("the time limit of 60s") to stop.
pub type Stop<'a> = &'a mut dyn FnMut(&Stats) -> Option<String>;

/// The problem with a scenario that cannot be explored.
pub fn explorable(scenario: &Scenario) -> Result<(), String> {
    if scenario.explore.is_none() {
        return Err(format!(
            "{} has no [explore] table: add one to say what to explore, e.g.\n[explore]\nops = 2\ncrashes = 1",
            scenario.file
        ));
    }
    Ok(())
}

/// Explores `scenario` run by `protocol` with `seed` (nodes' own random
/// draws and the workload's still come from it).
pub fn explore<P>(
    scenario: &Scenario,
    protocol: P,
    seed: u64,
    strategy: Strategy,
    limits: Limits,
    stop: Stop<'_>,
) -> Result<Outcome, String>
where
    P: StateHash + Clone,
    P::Node: Clone,
{
    explorable(scenario)?;
    let mut root = Sim::new(scenario, protocol, seed, TraceMode::Off);
    root.begin_search();
    if root.fork().is_none() {
        return Err(format!(
            "protocol `{}` cannot be explored: its workload cannot be copied (implement Workload::fork)",
            scenario.protocol
        ));
    }
    let max_depth = limits
        .max_depth
        .or_else(|| scenario.explore.as_ref().and_then(|x| x.depth));
    let mut e = Explorer {
        root: root.fork().expect("checked"),
        limits,
        max_depth,
        stats: Stats::default(),
        bounded_by: Vec::new(),
        linearizable: scenario.expect.linearizable == Some(true),
        stop,
        next_poll: 0,
    };
    let found = match strategy {
        Strategy::Bfs => e.bfs(root),
        Strategy::Dfs => e.dfs(root),
        Strategy::Pct { runs, depth, seed } => e.pct(root, runs, depth, seed),
    };
    let counterexample = found.map(|(path, property, detail, at)| Counterexample {
        property,
        detail,
        steps: e.describe(&path),
        at,
    });
    let exhaustive = counterexample.is_none()
        && e.bounded_by.is_empty()
        && e.stats.cut_by_depth == 0
        && e.stats.undecided_checks == 0
        && !matches!(strategy, Strategy::Pct { .. });
    let mut bounded_by = e.bounded_by;
    if e.stats.undecided_checks > 0 {
        bounded_by.push(format!(
            "{} finished runs' linearizability was left undecided by the check's step budget ([meta] check_max_steps)",
            e.stats.undecided_checks
        ));
    }
    if e.stats.cut_by_depth > 0 {
        bounded_by.push(format!(
            "the depth bound of {} steps cut {} runs short",
            max_depth.unwrap_or(0),
            e.stats.cut_by_depth
        ));
    }
    if matches!(strategy, Strategy::Pct { .. }) {
        bounded_by.push("PCT samples runs; it never exhausts them".into());
    }
    Ok(Outcome {
        strategy: strategy.name(),
        stats: e.stats,
        exhaustive,
        bounded_by,
        counterexample,
    })
}

/// PCT's random streams start here, far from the run's own (see
/// `kernel::streams`).
const PCT_STREAMS: u64 = 1 << 40;

/// A found failure: the path to it, the property, the detail, when.
type Found = (Vec<Choice>, String, String, Nanos);

struct Explorer<'s, 'a, P: Protocol> {
    /// The run before any choice, to replay paths from.
    root: Sim<'s, P>,
    limits: Limits,
    max_depth: Option<u32>,
    stats: Stats,
    bounded_by: Vec<String>,
    linearizable: bool,
    stop: Stop<'a>,
    /// When (in states explored) to ask `stop` next.
    next_poll: u64,
}

/// The choices that led to a state: each state names its parent.
struct Tree {
    nodes: Vec<(u32, Choice)>,
}

impl Tree {
    fn path(&self, i: u32) -> Vec<Choice> {
        let mut out = Vec::new();
        self.path_into(i, &mut out);
        out.into_iter()
            .map(|i| self.nodes[i as usize].1.clone())
            .collect()
    }

    /// The tree nodes from the root's child down to `i`.
    fn path_into(&self, mut i: u32, out: &mut Vec<u32>) {
        out.clear();
        while i != u32::MAX {
            out.push(i);
            i = self.nodes[i as usize].0;
        }
        out.reverse();
    }
}

/// The runs along the last path rebuilt: `sims[k]` is the state after the
/// first `k` choices of `ids` (tree nodes).
struct Cursor<'s, P: Protocol> {
    path: Vec<Choice>,
    ids: Vec<u32>,
    sims: Vec<Box<Sim<'s, P>>>,
    /// Each run's number and the number of the run it is a copy of
    /// (with its choice taken since): a run cut off the path is copied
    /// over by the parts' versions (see `Sim::fork_into`), so a spare
    /// that was a copy of the same run copies back only what its choice
    /// changed; any spare is correct, that one is the cheapest.
    /// (`tui/tests/it/explore_copy.rs` checks copies over runs against
    /// fresh forks.)
    ids_of: Vec<(u64, u64)>,
    /// Runs cut off the path, kept to be copied over (see
    /// `Sim::fork_into`) rather than allocated again, with the number of
    /// the run each is a copy of.
    spare: Vec<(Box<Sim<'s, P>>, u64)>,
    /// The next run's number.
    next_id: u64,
}

impl<'s, P> Cursor<'s, P>
where
    P: StateHash + Clone,
    P::Node: Clone,
{
    /// The run at the end of the tree path `ids` (ending at `id`),
    /// rebuilt from the longest prefix kept.
    fn goto(&mut self, tree: &Tree, ids: &[u32], id: u32) -> &mut Sim<'s, P> {
        debug_assert!(ids.last().is_none_or(|&l| l == id));
        let common = self.ids.iter().zip(ids).take_while(|(a, b)| a == b).count();
        self.ids.truncate(common);
        self.path.truncate(common);
        if self.sims.len() > common + 1 {
            let cut = self.ids_of.drain(common + 1..).map(|(_, from)| from);
            self.spare.extend(self.sims.drain(common + 1..).zip(cut));
        }
        for &i in &ids[common..] {
            let c = &tree.nodes[i as usize].1;
            let last = self.sims.last().expect("the root");
            let (last_id, _) = *self.ids_of.last().expect("the root");
            // Boxed, so that moving a run between the path and the spares
            // moves a pointer; the spare copied from `last`, if one is.
            let spare = match self.spare.iter().rposition(|&(_, f)| f == last_id) {
                Some(k) => Some(self.spare.swap_remove(k)),
                None => self.spare.pop(),
            };
            let mut next = match spare {
                Some((mut next, _)) => {
                    assert!(last.fork_into(&mut next), "forkable");
                    next
                }
                None => Box::new(last.fork().expect("forkable")),
            };
            next.take(c, 0);
            // Sealed (see `Sim::seal`): the runs copied from it then copy
            // back only what changed since.
            next.seal();
            self.sims.push(next);
            self.ids_of.push((self.next_id, last_id));
            self.next_id += 1;
            self.ids.push(i);
            self.path.push(c.clone());
        }
        self.sims.last_mut().expect("the root")
    }

    /// The run at the end of the path.
    fn last(&self) -> &Sim<'s, P> {
        self.sims.last().expect("the root")
    }

    /// Takes the run at the end of the path off it, with the number of the
    /// run it is a copy of (its parent's, the new end of the path), for
    /// the explorer to take its state's last choice on it rather than on a
    /// copy: the run is then a spare (give it back to `spare`), copied
    /// over as any other (see `Sim::fork_into`: its versions, not its
    /// number, decide what is copied). Never the root, from which every
    /// path is rebuilt.
    fn detach(&mut self) -> (Box<Sim<'s, P>>, u64) {
        assert!(self.sims.len() > 1, "the root stays on the path");
        self.ids.pop();
        self.path.pop();
        let (_, from) = self.ids_of.pop().expect("one per run");
        (self.sims.pop().expect("not the root"), from)
    }
}

impl<'s, P> Explorer<'s, '_, P>
where
    P: StateHash + Clone,
    P::Node: Clone,
{
    /// The first always-property broken, if any.
    fn broken(sim: &Sim<'s, P>) -> Option<(String, String, Nanos)> {
        sim.violations()
            .first()
            .map(|(at, v)| (v.invariant.to_string(), v.detail.clone(), *at))
    }

    /// Judges a run that has ended: its `eventually` properties and, when
    /// the scenario claims it, the linearizability of its history.
    fn judge_end(&mut self, sim: &Sim<'s, P>) -> Option<(String, String, Nanos)> {
        self.stats.finished_runs += 1;
        // Nothing more happens before the duration: the run ends there, and
        // is judged as a run that reached its end (as its replay is).
        let mut end = sim.fork().expect("forkable");
        end.end_at(end.scenario_duration());
        let end = end.finish();
        for j in &end.properties {
            match &j.verdict {
                PropertyVerdict::Violated { detail } => {
                    return Some((j.property.name.to_string(), detail.clone(), end.end_ns))
                }
                PropertyVerdict::Undecided { .. } => self.stats.undecided_properties += 1,
                _ => {}
            }
        }
        if self.linearizable && !end.history.is_empty() {
            let (lin, _) = end.history.judge(Budget::steps(self.limits.check_steps));
            match lin.verdict {
                Verdict::NotLinearizable { .. } => {
                    return Some((
                        "linearizability".into(),
                        "the history of this run is not linearizable".into(),
                        end.end_ns,
                    ))
                }
                Verdict::Linearizable => {}
                _ => self.stats.undecided_checks += 1,
            }
        }
        None
    }

    fn poll(&mut self) -> bool {
        if self.stats.explored >= self.next_poll {
            self.next_poll = self.stats.explored + 256;
            if let Some(why) = (self.stop)(&self.stats) {
                self.bounded_by.push(why);
                return true;
            }
        }
        if self.stats.unique >= self.limits.max_states {
            self.bounded_by.push(format!(
                "the state budget of {} states ran out",
                self.limits.max_states
            ));
            return true;
        }
        false
    }

    /// Whether a state must be explored from here: never seen (then it
    /// counts as unique), or seen only deeper (then the depth bound left
    /// more of it unexplored; the time is part of the state).
    fn fresh(&mut self, seen: &mut ProbeMap<u64, u32>, h: u64, depth: u32) -> bool {
        match seen.get_mut(&h) {
            Some(at) if *at <= depth => false,
            Some(at) => {
                *at = depth;
                true
            }
            None => {
                seen.insert(h, depth);
                self.stats.unique += 1;
                true
            }
        }
    }

    fn bfs(&mut self, root: Sim<'s, P>) -> Option<Found> {
        // The frontier holds no runs, only where each state is in the tree
        // of choices: a run is rebuilt from the runs kept along the last
        // path (siblings follow each other in the frontier, so usually
        // one step from their parent's). A state costs a few dozen bytes,
        // not a whole run.
        let mut tree = Tree { nodes: Vec::new() };
        let mut seen: ProbeMap<u64, u32> = ProbeMap::default();
        seen.insert(root.state_hash(), 0);
        self.stats.unique = 1;
        let mut cursor = Cursor {
            path: Vec::new(),
            ids: Vec::new(),
            sims: vec![Box::new(root)],
            ids_of: vec![(0, u64::MAX)],
            spare: Vec::new(),
            next_id: 1,
        };
        let mut frontier: VecDeque<(u32, u32)> = VecDeque::new();
        frontier.push_back((u32::MAX, 0));
        let mut choices = Vec::new();
        let mut path = Vec::new();
        let mut scratch: Option<Sim<'s, P>> = None;
        while let Some((id, depth)) = frontier.pop_front() {
            tree.path_into(id, &mut path);
            let sim = cursor.goto(&tree, &path, id);
            sim.choices(&mut choices);
            // Sealed (see `Sim::seal`; the root's first choices may change
            // it): the scratch run copied from it copies only what it
            // changed since.
            sim.seal();
            if choices.is_empty() {
                if let Some((p, d, at)) = self.judge_end(sim) {
                    return Some((tree.path(id), p, d, at));
                }
                continue;
            }
            if self.max_depth.is_some_and(|m| depth >= m) {
                self.stats.cut_by_depth += 1;
                continue;
            }
            // The last choice is taken on this run itself, taken off the
            // path (see `Cursor::detach`), instead of on a copy of it: its
            // choices are all taken by then. Should the next state in the
            // queue be one of its children, that child is rebuilt from this
            // state's parent (one copy and step more, at most once a level).
            // Not the root's: every path is rebuilt from the root.
            let detach = cursor.sims.len() > 1;
            let mut own: Option<(Box<Sim<'s, P>>, u64)> = None;
            for (k, c) in choices.iter().enumerate() {
                if detach && k + 1 == choices.len() {
                    own = Some(cursor.detach());
                }
                // Else one child reused for every choice: made a copy of
                // this run by copying only the parts in which the two may
                // differ (see `Sim::fork_into`): for a choice after the
                // first, what the last choice changed; for the first, that
                // and what tells this run from the one the child was last
                // copied from (usually a sibling or a cousin of this one).
                let child: &mut Sim<'s, P> = match own.as_mut() {
                    Some((run, _)) => run,
                    None => {
                        let sim = cursor.last();
                        match scratch.as_mut() {
                            Some(child) => {
                                assert!(sim.fork_into(child), "forkable");
                                child
                            }
                            None => scratch.insert(sim.fork().expect("forkable")),
                        }
                    }
                };
                child.take(c, 0);
                self.stats.explored += 1;
                self.stats.max_depth = self.stats.max_depth.max(depth + 1);
                let child_id = tree.nodes.len() as u32;
                tree.nodes.push((id, c.clone()));
                if let Some((p, d, at)) = Self::broken(child) {
                    return Some((tree.path(child_id), p, d, at));
                }
                if !self.fresh(&mut seen, child.state_hash(), depth + 1) {
                    continue;
                }
                frontier.push_back((child_id, depth + 1));
                if self.poll() {
                    return None;
                }
            }
            // Kept to be copied over, as a run cut off the path is.
            if let Some(run) = own {
                cursor.spare.push(run);
            }
        }
        None
    }

    fn dfs(&mut self, root: Sim<'s, P>) -> Option<Found> {
        let mut seen: ProbeMap<u64, u32> = ProbeMap::default();
        seen.insert(root.state_hash(), 0);
        self.stats.unique = 1;
        // Each level: the run there, its choices not yet taken, and the
        // choice that led to it.
        let mut path: Vec<Choice> = Vec::new();
        let mut stack: Vec<(Sim<'s, P>, Vec<Choice>)> = Vec::new();
        let mut choices = Vec::new();
        let mut root = root;
        root.choices(&mut choices);
        if choices.is_empty() {
            return self.judge_end(&root).map(|(p, d, at)| (path, p, d, at));
        }
        let mut rest = choices.clone();
        rest.reverse();
        stack.push((root, rest));
        loop {
            let depth = stack.len() as u32;
            let Some((sim, rest)) = stack.last_mut() else {
                break;
            };
            let Some(c) = rest.pop() else {
                stack.pop();
                path.pop();
                continue;
            };
            let mut child = sim.fork().expect("forkable");
            child.take(&c, 0);
            self.stats.explored += 1;
            self.stats.max_depth = self.stats.max_depth.max(depth);
            path.push(c);
            if let Some((p, d, at)) = Self::broken(&child) {
                return Some((path, p, d, at));
            }
            if !self.fresh(&mut seen, child.state_hash(), depth) {
                path.pop();
                continue;
            }
            if self.poll() {
                return None;
            }
            child.choices(&mut choices);
            if choices.is_empty() {
                if let Some((p, d, at)) = self.judge_end(&child) {
                    return Some((path, p, d, at));
                }
                path.pop();
                continue;
            }
            if self.max_depth.is_some_and(|m| depth >= m) {
                self.stats.cut_by_depth += 1;
                path.pop();
                continue;
            }
            let mut rest = choices.clone();
            rest.reverse();
            stack.push((child, rest));
        }
        None
    }

    /// The node a choice runs a handler of (its "thread" for PCT): a
    /// message's receiver, a timer's node, a client; `None` for faults.
    fn owner(sim: &Sim<'s, P>, c: &Choice) -> Option<u32> {
        match c {
            Choice::Step(seq) => sim.event_node(*seq),
            _ => None,
        }
    }

    fn pct(&mut self, root: Sim<'s, P>, runs: u64, d: u32, seed: u64) -> Option<Found> {
        let nodes = root.cluster().len() as u32;
        // k: the steps a run may take, for placing the change points.
        let k = self.max_depth.unwrap_or(1_000).max(1) as u64;
        let mut choices = Vec::new();
        let mut seen: ProbeMap<u64, u32> = ProbeMap::default();
        for run in 0..runs {
            // Streams of their own, apart from the run's (see
            // `kernel::streams`).
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(PCT_STREAMS + run);
            // Priorities d..d+n, shuffled; change point i lowers to d-1-i.
            let mut prio: Vec<u64> = (0..nodes as u64).map(|i| d as u64 + i).collect();
            for i in (1..prio.len()).rev() {
                let j = rng.gen_range(0..=i);
                prio.swap(i, j);
            }
            let changes: Vec<u64> = (0..d.saturating_sub(1))
                .map(|_| rng.gen_range(1..=k))
                .collect();
            let mut sim = root.fork().expect("forkable");
            let mut path = Vec::new();
            let mut step = 0u64;
            loop {
                sim.choices(&mut choices);
                let events: Vec<&Choice> = choices
                    .iter()
                    .filter(|c| matches!(c, Choice::Step(_)))
                    .collect();
                if choices.is_empty() {
                    if let Some((p, dd, at)) = self.judge_end(&sim) {
                        return Some((path, p, dd, at));
                    }
                    break;
                }
                if self.max_depth.is_some_and(|m| step >= m as u64) {
                    self.stats.cut_by_depth += 1;
                    break;
                }
                step += 1;
                // A fault (or a drop, a duplicate) now and then, within the
                // budget: with probability 1 in k per step.
                let faults: Vec<&Choice> = choices
                    .iter()
                    .filter(|c| !matches!(c, Choice::Step(_)))
                    .collect();
                let c = if events.is_empty()
                    || (!faults.is_empty() && rng.gen_range(0..k) < faults.len() as u64)
                {
                    faults[rng.gen_range(0..faults.len())].clone()
                } else {
                    // The highest-priority node goes; among its own
                    // events, one at random.
                    let rank =
                        |c: &&&Choice| Self::owner(&sim, c).map_or(u64::MAX, |n| prio[n as usize]);
                    let top = events.iter().map(|c| rank(&c)).max().expect("non-empty");
                    let mine: Vec<&&Choice> = events.iter().filter(|c| rank(c) == top).collect();
                    (*mine[rng.gen_range(0..mine.len())]).clone()
                };
                if let Some(i) = changes.iter().position(|&s| s == step) {
                    if let Some(n) = Self::owner(&sim, &c) {
                        prio[n as usize] = (d as u64).saturating_sub(1 + i as u64);
                    }
                }
                sim.take(&c, 0);
                path.push(c);
                self.stats.explored += 1;
                self.stats.max_depth = self.stats.max_depth.max(step as u32);
                if let Some((p, dd, at)) = Self::broken(&sim) {
                    return Some((path, p, dd, at));
                }
                self.fresh(&mut seen, sim.state_hash(), 0);
                if self.poll() {
                    return None;
                }
            }
        }
        None
    }

    /// Replays a path from the start, saying what each choice did.
    fn describe(&self, path: &[Choice]) -> Vec<(Choice, String)> {
        let mut sim = self.root.fork().expect("forkable");
        path.iter()
            .map(|c| {
                let what = sim.describe(c);
                sim.choose(c, 0).expect("a path replays");
                (c.clone(), what)
            })
            .collect()
    }
}
