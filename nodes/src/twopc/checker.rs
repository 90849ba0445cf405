use std::collections::{BTreeMap, BTreeSet};

use sim::metric::{Metric, Unit};
use sim::node::NodeId;
use sim::protocol::Violation;
use sim::time::{fmt_duration, Nanos};

use super::{Config, Decision, Mode, TwopcNode, Tx};

/// What one node has told the checker so far.
#[derive(Clone, Debug, Default)]
struct Seen {
    incarnation: Nanos,
    cursor: usize,
    /// Transactions this node committed (journal entries), to check they
    /// survive its crashes.
    committed: BTreeSet<Tx>,
    /// Figures of the node's current incarnation as last seen, and those of
    /// its earlier incarnations added up (a crash resets a node's counters).
    current: Figures,
    banked: Figures,
    /// Clients whose reads this node blocked, in any incarnation.
    blocked_clients: BTreeSet<NodeId>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Figures {
    in_doubt_total: Nanos,
    in_doubt_max: Nanos,
    reads_blocked: u64,
    read_wait_max: Nanos,
    resolved_by_peer: u64,
    decided_alone: u64,
    intermediate_reads: u64,
}

impl Figures {
    fn add(&mut self, o: &Figures) {
        self.in_doubt_total += o.in_doubt_total;
        self.in_doubt_max = self.in_doubt_max.max(o.in_doubt_max);
        self.reads_blocked += o.reads_blocked;
        self.read_wait_max = self.read_wait_max.max(o.read_wait_max);
        self.resolved_by_peer += o.resolved_by_peer;
        self.decided_alone += o.decided_alone;
        self.intermediate_reads += o.intermediate_reads;
    }
}

/// Where each transaction was decided how.
#[derive(Clone, Copy, Debug, Default)]
struct Outcomes {
    commit_at: Option<NodeId>,
    abort_at: Option<NodeId>,
    reported: bool,
}

/// The bank's invariants, checked incrementally from each node's journal of
/// decisions, and the measures for the report.
#[derive(Clone, Debug)]
pub struct Checker {
    total: i64,
    servers: usize,
    seen: Vec<Seen>,
    outcomes: BTreeMap<Tx, Outcomes>,
    commits: u64,
    aborts: u64,
    now: Nanos,
    locks: usize,
    locks_max: usize,
    /// Lock-nanoseconds, for the mean number of locks held.
    locks_area: u128,
    /// The most locks held at once in each second of the run.
    locks_by_second: Vec<usize>,
    /// Stretches when all participants were up and the balances did not add up.
    off_since: Option<Nanos>,
    off_total: Nanos,
    off_max: Nanos,
    off_count: u64,
    conservation_reported: Option<i64>,
}

impl Checker {
    pub fn new(total: i64, servers: usize) -> Self {
        Checker {
            total,
            servers,
            seen: Vec::new(),
            outcomes: BTreeMap::new(),
            commits: 0,
            aborts: 0,
            now: 0,
            locks: 0,
            locks_max: 0,
            locks_area: 0,
            locks_by_second: Vec::new(),
            off_since: None,
            off_total: 0,
            off_max: 0,
            off_count: 0,
            conservation_reported: None,
        }
    }

    pub fn check(
        &mut self,
        now: Nanos,
        stepped: NodeId,
        nodes: &[Option<TwopcNode>],
        out: &mut Vec<Violation>,
    ) {
        let Some(node) = nodes[stepped.index()].as_ref() else {
            return;
        };
        let (journal, incarnation) = match node {
            TwopcNode::Client(_) => return,
            TwopcNode::Coordinator(c) => (&c.journal, c.incarnation),
            TwopcNode::Participant(p) => (&p.journal, p.incarnation),
        };
        if self.seen.len() < nodes.len() {
            self.seen.resize_with(nodes.len(), Seen::default);
        }
        let i = stepped.index();

        // Durability: a node rebuilt from its disk must still know every
        // commit it made before.
        if self.seen[i].incarnation != incarnation {
            if self.seen[i].incarnation != 0 {
                let s = &mut self.seen[i];
                let cur = s.current;
                s.banked.add(&cur);
                s.current = Figures::default();
                for &tx in &s.committed {
                    let kept = match node {
                        TwopcNode::Coordinator(c) => c.knows_committed(tx),
                        TwopcNode::Participant(p) => {
                            p.state_of(tx) == Some(super::participant::PState::Committed)
                        }
                        TwopcNode::Client(_) => true,
                    };
                    if !kept {
                        out.push(Violation {
                            invariant: "durability",
                            detail: format!(
                                "n{} had committed transaction t{tx}, and after its restart at {} its log has no commit for it",
                                i + 1,
                                fmt_duration(now)
                            ),
                        });
                    }
                }
            }
            self.seen[i].incarnation = incarnation;
            self.seen[i].cursor = 0;
        }

        // Atomicity: no transaction decided both ways on two participants
        // (or on one, before and after a crash).
        for &(tx, d) in &journal[self.seen[i].cursor..] {
            if i == 0 {
                match d {
                    Decision::Commit => self.commits += 1,
                    Decision::Abort => self.aborts += 1,
                }
            }
            if d == Decision::Commit {
                self.seen[i].committed.insert(tx);
            }
            // Atomicity is about the participants: the coordinator's own
            // change of mind after a crash is a durability failure.
            if i == 0 {
                continue;
            }
            let o = self.outcomes.entry(tx).or_default();
            match d {
                Decision::Commit => {
                    o.commit_at.get_or_insert(stepped);
                }
                Decision::Abort => {
                    o.abort_at.get_or_insert(stepped);
                }
            }
            if let (Some(c), Some(a), false) = (o.commit_at, o.abort_at, o.reported) {
                o.reported = true;
                out.push(Violation {
                    invariant: "atomicity",
                    detail: if c == a {
                        format!(
                            "transaction t{tx} committed at n{} and, after a crash, aborted there too",
                            c.0 + 1
                        )
                    } else {
                        format!(
                            "transaction t{tx} committed at n{} and aborted at n{}",
                            c.0 + 1,
                            a.0 + 1
                        )
                    },
                });
            }
        }
        self.seen[i].cursor = journal.len();
        if let TwopcNode::Participant(p) = node {
            if p.reads_blocked != self.seen[i].current.reads_blocked {
                let s = &mut self.seen[i];
                s.blocked_clients.extend(p.blocked_clients.iter().copied());
            }
            self.seen[i].current = Figures {
                in_doubt_total: p.in_doubt_total,
                in_doubt_max: p.in_doubt_max,
                reads_blocked: p.reads_blocked,
                read_wait_max: p.read_wait_max,
                resolved_by_peer: p.resolved_by_peer,
                decided_alone: p.decided_alone,
                intermediate_reads: p.intermediate_reads,
            };
        }

        // Locks over time, and conservation.
        self.locks_area += self.locks as u128 * (now - self.now) as u128;
        self.now = now;
        let mut locks = 0;
        let mut sum = 0;
        // Balances are known when every participant is up; the transfers
        // are settled when, besides, the coordinator is up with nothing in
        // flight and no participant is in doubt.
        let mut participants_up = true;
        let mut settled = nodes[0]
            .as_ref()
            .and_then(|n| n.coordinator())
            .is_some_and(|c| c.in_flight() == 0);
        for n in &nodes[1..self.servers] {
            match n {
                None => {
                    participants_up = false;
                    settled = false;
                }
                Some(TwopcNode::Participant(p)) => {
                    locks += p.locks_held();
                    sum += p.balance_total();
                    settled &= p.in_doubt() == 0;
                }
                Some(TwopcNode::Coordinator(c)) => settled &= c.in_flight() == 0,
                Some(TwopcNode::Client(_)) => {}
            }
        }
        self.locks = locks;
        self.locks_max = self.locks_max.max(locks);
        let second = (now / 1_000_000_000) as usize;
        if self.locks_by_second.len() <= second {
            self.locks_by_second.resize(second + 1, 0);
        }
        let slot = &mut self.locks_by_second[second];
        *slot = (*slot).max(locks);
        if participants_up {
            let off = sum != self.total;
            match (off, self.off_since) {
                (true, None) => {
                    self.off_since = Some(now);
                    self.off_count += 1;
                }
                (false, Some(t)) => {
                    self.off_total += now - t;
                    self.off_max = self.off_max.max(now - t);
                    self.off_since = None;
                }
                _ => {}
            }
            if settled && off && self.conservation_reported != Some(sum) {
                self.conservation_reported = Some(sum);
                out.push(Violation {
                    invariant: "conservation",
                    detail: format!(
                        "nothing in flight, yet the balances add up to {sum} instead of {}",
                        self.total
                    ),
                });
            }
        }
    }

    pub fn metrics(&self, config: &Config, nodes: &[Option<TwopcNode>], out: &mut Vec<Metric>) {
        let p = &config.params;
        let mut mode = match p.mode {
            Mode::TwoPc if p.cooperative_termination => {
                "two-phase commit, cooperative termination".to_string()
            }
            Mode::TwoPc => "two-phase commit, presumed abort".to_string(),
            Mode::ThreePc => "three-phase commit".to_string(),
            Mode::Saga => "orchestrated saga".to_string(),
        };
        let bugs: Vec<&str> = [
            (p.decide_before_logging, "decide_before_logging"),
            (p.participant_forgets_vote, "participant_forgets_vote"),
            (p.unilateral_abort_after_yes, "unilateral_abort_after_yes"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .collect();
        if !bugs.is_empty() {
            mode.push_str(&format!("; bug flags: {}", bugs.join(", ")));
        }
        let mut f = Figures::default();
        for s in &self.seen {
            f.add(&s.banked);
            f.add(&s.current);
        }
        let secs = self.now as f64 / 1e9;
        let decided = self.commits + self.aborts;
        out.push(Metric::text("bank", mode));
        out.push(Metric::count("transactions", self.commits).note(format!(
            "committed, {} aborted ({:.1}% aborts), {:.1} commits/s",
            self.aborts,
            if decided > 0 {
                self.aborts as f64 * 100.0 / decided as f64
            } else {
                0.0
            },
            if secs > 0.0 {
                self.commits as f64 / secs
            } else {
                0.0
            }
        )));
        if p.mode == Mode::Saga {
            let comp: u64 = nodes
                .iter()
                .flatten()
                .filter_map(|n| n.coordinator())
                .map(|c| c.compensations)
                .sum();
            out.push(
                Metric::count("compensations", comp)
                    .note("(counted by the coordinator since its last start)"),
            );
            out.push(
                Metric::count("dirty reads", f.intermediate_reads)
                    .note("balance reads saw a saga half done on their account"),
            );
        } else {
            // In doubt at the end: still blocked, and for how long so far.
            let mut stuck = 0;
            let mut oldest: Nanos = 0;
            let mut queued = 0;
            let mut clients: BTreeSet<NodeId> = BTreeSet::new();
            for s in &self.seen {
                clients.extend(s.blocked_clients.iter().copied());
            }
            for n in nodes.iter().flatten().filter_map(|n| n.participant()) {
                for since in n.in_doubt_since() {
                    stuck += 1;
                    oldest = oldest.max(self.now.saturating_sub(since));
                }
                for (client, since) in n.queued_reads() {
                    queued += 1;
                    if self.now.saturating_sub(since) >= config.client.timeout {
                        f.reads_blocked += 1;
                        clients.insert(client);
                    }
                }
            }
            out.push(
                Metric::duration("time in doubt", f.in_doubt_total).note(format!(
                    "in all, longest {} (participants, finished periods)",
                    fmt_duration(f.in_doubt_max)
                )),
            );
            out.push(if stuck == 0 {
                Metric::count("in doubt at end", 0).note("transactions")
            } else {
                Metric::count("in doubt at end", stuck).note(format!(
                    "transactions, the oldest for {}",
                    fmt_duration(oldest)
                ))
            });
            let mean = if self.now > 0 {
                self.locks_area as f64 / self.now as f64
            } else {
                0.0
            };
            out.push(
                Metric::count("locks held", self.locks_max as u64)
                    .lead("at most")
                    .note(format!("at once, {mean:.2} on average")),
            );
            let by_second = (self.locks_by_second.iter().enumerate())
                .map(|(i, n)| (i as Nanos * sim::time::secs(1), *n as f64))
                .collect();
            out.push(
                Metric::series("locks by second", Unit::Count, by_second)
                    .lead("most held at once in each second:"),
            );
            out.push(Metric::count("blocked reads", f.reads_blocked).note(format!(
                    "reads from {} clients waited longer than the client timeout behind an in-doubt lock (longest wait {}); {queued} still waiting at the end",
                    clients.len(),
                    fmt_duration(f.read_wait_max)
            )));
            if p.cooperative_termination {
                out.push(
                    Metric::count("cooperative", f.resolved_by_peer)
                        .note("in-doubt transactions settled by a peer's answer"),
                );
            }
            if p.mode == Mode::ThreePc || p.unilateral_abort_after_yes {
                out.push(
                    Metric::count("decided alone", f.decided_alone)
                        .note("times a participant timed out and decided without the coordinator"),
                );
            }
        }
        let mut off_total = self.off_total;
        let mut off_max = self.off_max;
        if let Some(t) = self.off_since {
            off_total += self.now - t;
            off_max = off_max.max(self.now - t);
        }
        out.push(
            Metric::duration("balances off", off_total)
                .lead(format!("the total differed from {} for", self.total))
                .note(format!(
                    "in {} stretches (longest {})",
                    self.off_count,
                    fmt_duration(off_max)
                )),
        );
    }
}
