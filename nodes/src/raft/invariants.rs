//! Raft's safety properties (Figure 3 of the paper), checked incrementally after
//! every step of the run. The checker looks at servers from the outside, as an
//! observer with a view of every node's memory, and keeps just enough history
//! to judge each step: which node led each term, every (index, term) entry ever
//! seen, and the first entry committed and applied at each index.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sim::node::NodeId;
use sim::protocol::{NodeTable, Property, Step, Violation};

use super::log::Command;
use super::node::RaftNode;
use super::server::{Role, Server};

pub const ELECTION_SAFETY: &str = "election-safety";
pub const LEADER_APPEND_ONLY: &str = "leader-append-only";
pub const LOG_MATCHING: &str = "log-matching";
pub const LEADER_COMPLETENESS: &str = "leader-completeness";
pub const STATE_MACHINE_SAFETY: &str = "state-machine-safety";
/// A leader answers a read on its lease alone only while no newer leader can
/// exist: that is the whole promise of a lease (dissertation §6.4.1).
pub const LEASE_SAFETY: &str = "lease-safety";

/// Liveness: once the faults heal, the servers settle on a leader.
pub const LEADER_ELECTED: &str = "leader-elected";

pub const PROPERTIES: &[Property] = &[
    Property::always(ELECTION_SAFETY, "at most one leader per term (Raft §5.2)"),
    Property::always(
        LEADER_APPEND_ONLY,
        "a leader never overwrites or deletes entries in its log (§5.3)",
    ),
    Property::always(
        LOG_MATCHING,
        "two logs with an entry of the same index and term agree up to it (§5.3)",
    ),
    Property::always(
        LEADER_COMPLETENESS,
        "a leader holds every entry committed in an earlier term (§5.4)",
    ),
    Property::always(
        STATE_MACHINE_SAFETY,
        "no two servers apply different commands at one index (§5.4.3)",
    ),
    Property::always(
        LEASE_SAFETY,
        "a lease read is answered only while no newer leader exists (§6.4.1)",
    ),
    Property::eventually(
        LEADER_ELECTED,
        "after the faults heal, a leader of the highest term is followed by a majority",
    ),
];

/// What a server says of leadership at its last step: (term, is leader,
/// the leader it knows).
type Following = (u64, bool, Option<NodeId>);

/// Who each server follows, for `leader-elected`: what each server said at
/// its last step.
#[derive(Clone, Default)]
pub struct Leadership {
    /// By node index: what the server said at its last step, `None` for a
    /// server not seen yet (and for every client).
    servers: Vec<Option<Following>>,
    /// By node index: whether the server was up when the answer was last
    /// worked out (only meaningful for the servers seen).
    up: Vec<bool>,
    /// How many servers have been seen (the `Some` entries of `servers`).
    seen: usize,
    /// The answer at the last server's step: a client's step changes
    /// nothing it reads.
    elected: bool,
    /// A server seen went down since the answer was last worked out.
    crash_seen: bool,
    /// The last answer [`Leadership::news`] gave, if any.
    told: Option<bool>,
}

/// Shown without `told`: an explored state's hash is made from what the
/// protocol shows, and `told` is either unset or the truth the kernel keeps
/// (and hashes) already, so two states that differ only by it act alike.
impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leadership")
            .field("servers", &self.servers)
            .field("up", &self.up)
            .field("seen", &self.seen)
            .field("elected", &self.elected)
            .field("crash_seen", &self.crash_seen)
            .finish()
    }
}

impl Leadership {
    /// Records server `stepped` and says whether a leader is elected now: a
    /// server up and leading the highest term of the servers up, and more
    /// than half of all the servers (up or down, counted among those seen
    /// at least once: every server steps at its start) following it in that
    /// term, itself included, each of those up. A server is up from its
    /// step (a restarted server steps at once, to start) until its crash
    /// ([`Leadership::crashed`]). Work: nothing at a client's step; at a
    /// server's step, the answer worked out again only when what it reads
    /// (what each server said, which of them are up) changed since it was
    /// last worked out, which in a steady cluster is seldom. (Inlined, as
    /// [`Leadership::news`] and [`Checker::check`] are: they run at every
    /// step, and a call each cost about as much as their work.)
    #[inline]
    pub fn check(&mut self, step: Step<'_, RaftNode>) -> bool {
        let Some(RaftNode::Server(s)) = step.node() else {
            return self.elected;
        };
        let now: Following = (s.term(), s.role() == Role::Leader, s.leader());
        let i = step.stepped.index();
        if self.servers.len() <= i {
            self.servers.resize(i + 1, None);
            self.up.resize(i + 1, false);
        }
        let mut changed = std::mem::take(&mut self.crash_seen) || self.servers[i] != Some(now);
        if self.servers[i].is_none() {
            self.seen += 1;
        }
        self.servers[i] = Some(now);
        if !self.up[i] {
            self.up[i] = true;
            changed = true;
        }
        if changed {
            self.elected = self.elected_now();
        }
        self.elected
    }

    /// Server `id` crashed: it is down until its next step. (Read at the
    /// next server's step, as every change is.)
    pub fn crashed(&mut self, id: NodeId) {
        let i = id.index();
        if self.servers.get(i).is_some_and(Option::is_some) && self.up[i] {
            self.up[i] = false;
            self.crash_seen = true;
        }
    }

    /// [`Leadership::check`], but only when its answer differs from the
    /// last one this gave: the kernel keeps the last truth reported, so a
    /// step that changed nothing need not report it again (a report at
    /// every step was most of the cost of judging `leader-elected`).
    #[inline]
    pub fn news(&mut self, step: Step<'_, RaftNode>) -> Option<bool> {
        let now = self.check(step);
        (self.told != Some(now)).then(|| {
            self.told = Some(now);
            now
        })
    }

    /// The answer from what each server said and which servers are up (as
    /// recorded in `up`), servers in the order of their ids.
    #[inline(never)]
    fn elected_now(&self) -> bool {
        let live = || {
            self.servers
                .iter()
                .enumerate()
                .filter_map(|(k, s)| s.as_ref().filter(|_| self.up[k]).map(|s| (k, s)))
        };
        let Some(top) = live().map(|(_, s)| s.0).max() else {
            return false;
        };
        let Some((leader, _)) = live().find(|(_, s)| s.0 == top && s.1) else {
            return false;
        };
        let leader_id = NodeId(leader as u32);
        let following = live()
            .filter(|(k, s)| s.0 == top && (*k == leader || s.2 == Some(leader_id)))
            .count();
        following > self.seen / 2
    }
}

/// What the checker saw of one server at its last step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Seen {
    len: u64,
    truncations: usize,
    commit: u64,
    applied: u64,
    lease_reads: u64,
    /// The term in which the server was leader at the last check, if it was.
    leading: Option<u64>,
}

#[derive(Clone, Debug, Default)]
pub struct Checker {
    /// Election safety: the leader of each term.
    leaders: BTreeMap<u64, NodeId>,
    /// By node index: what was seen of the server at its last step.
    seen: Vec<Option<Seen>>,
    /// Log matching: for each (index, term) ever held by any server, the term
    /// of the entry before it and the command. Only the leader of `term`
    /// creates an entry of that term at an index, so these are unique for all
    /// time, and equal predecessors at every (index, term) give equal prefixes.
    entries: Entries,
    /// By index: for each index reported committed, the entry's term, and
    /// the term in which it was committed (the term of the server that first
    /// reported it, which is the leader that committed it).
    committed: Vec<Option<(u64, u64)>>,
    /// By index: the first entry any server applied there.
    applied: Vec<Option<(u64, Arc<Command>)>>,
    /// Each broken fact is reported once, not at every later step.
    reported: BTreeSet<(&'static str, u64, u64)>,
}

impl Checker {
    pub fn leaders_elected(&self) -> usize {
        self.leaders.len()
    }

    pub fn highest_term(&self) -> u64 {
        self.leaders.keys().next_back().copied().unwrap_or(0)
    }

    pub fn committed_entries(&self) -> usize {
        self.committed.iter().flatten().count()
    }

    fn report(
        &mut self,
        out: &mut Vec<Violation>,
        invariant: &'static str,
        key: (u64, u64),
        detail: String,
    ) {
        if self.reported.insert((invariant, key.0, key.1)) {
            out.push(Violation { invariant, detail });
        }
    }

    /// Checks node `stepped` after it ran a handler.
    #[inline]
    pub fn check(
        &mut self,
        stepped: NodeId,
        nodes: &NodeTable<RaftNode>,
        out: &mut Vec<Violation>,
    ) {
        let Some(Some(RaftNode::Server(s))) = nodes.get(stepped.index()) else {
            // A client, or a server that just crashed: nothing of it changed
            // that the checks read. Forget what was seen so a restart is
            // checked from scratch.
            if let Some(None) = nodes.get(stepped.index()) {
                if let Some(seen) = self.seen.get_mut(stepped.index()) {
                    *seen = None;
                }
            }
            return;
        };
        self.check_server(s, out);
    }

    #[inline]
    pub fn check_server(&mut self, s: &Server, out: &mut Vec<Violation>) {
        let log = s.log();
        let leading = (s.role() == Role::Leader).then_some(s.term());
        let now = Seen {
            lease_reads: s.lease_reads(),
            len: log.last_index(),
            truncations: log.truncations().len(),
            commit: s.commit_index(),
            applied: s.applied_index(),
            leading,
        };
        // Most steps change nothing the checks read (a heartbeat, a reply
        // that moves no index): when all of it is as seen at the server's
        // last step, every check below would find nothing new (the ranges
        // it walks are empty, a leader of the same term was recorded then,
        // and a fact reported then is not reported twice), so none runs.
        // (This test is inlined; the checks are not.)
        if self.seen.get(s.id().index()).copied().flatten() != Some(now) {
            self.check_changed(s, now, out);
        }
    }

    #[inline(never)]
    fn check_changed(&mut self, s: &Server, now: Seen, out: &mut Vec<Violation>) {
        let id = s.id();
        let log = s.log();
        let leading = now.leading;
        // Formatted only when a violation is reported: this runs after every step.
        let name = ServerName(id.0);
        // Read, and replaced at the end: a removal and a fresh insert at
        // every step cost more than the two look-ups.
        let mut seen = self
            .seen
            .get(id.index())
            .copied()
            .flatten()
            .unwrap_or_default();

        // A server that restarted comes back with less than we saw: check it
        // again from the start.
        let truncations = log.truncations();
        let restarted = truncations.len() < seen.truncations
            || (truncations.len() == seen.truncations && log.last_index() < seen.len)
            || s.commit_index() < seen.commit;
        if restarted {
            seen = Seen::default();
        }
        let new_truncations = &truncations[seen.truncations..];

        // Leader append-only: a leader never overwrites or deletes entries.
        if leading.is_some() && seen.leading == leading {
            if let Some(&from) = new_truncations.iter().min() {
                self.report(
                    out,
                    LEADER_APPEND_ONLY,
                    (s.term(), from),
                    format!(
                        "{name}, leader of term {}, removed entries from index {from} on",
                        s.term()
                    ),
                );
            }
        }

        // Election safety: at most one leader per term.
        if let Some(term) = leading {
            match self.leaders.get(&term) {
                Some(&other) if other != id => {
                    let detail = format!("two leaders in term {term}: n{} and {name}", other.0 + 1);
                    self.report(out, ELECTION_SAFETY, (term, 0), detail);
                }
                Some(_) => {}
                None => {
                    self.leaders.insert(term, id);
                    // Leader completeness: a leader holds every entry
                    // committed in an earlier term. Only earlier terms: with
                    // pauses and delays a leader of term 92 can be elected
                    // after term 93 committed entries, and it need not have
                    // those (it will never commit anything over them: the
                    // servers that hold them are in term 93 already).
                    let missing: Vec<(u64, u64)> = self
                        .committed
                        .iter()
                        .enumerate()
                        .filter_map(|(i, c)| c.map(|(t, in_term)| (i as u64, t, in_term)))
                        .filter(|(_, _, in_term)| *in_term < term)
                        .filter(|(i, t, _)| log.term_at(*i) != Some(*t))
                        .map(|(i, t, _)| (i, t))
                        .collect();
                    if let Some(&(i, t)) = missing.first() {
                        let detail = format!(
                            "{name} became leader of term {term} without committed entry {i} (term {t}); {} committed entries missing",
                            missing.len()
                        );
                        self.report(out, LEADER_COMPLETENESS, (term, i), detail);
                    }
                }
            }
        }

        // Log matching, on the entries that changed since the last check.
        let from = new_truncations.iter().copied().fold(seen.len + 1, u64::min);
        for i in from..=log.last_index() {
            let Some(e) = log.get(i) else { break };
            let prev = log.term_at(i - 1).unwrap_or(0);
            match self.entries.get(i, e.term) {
                None => self.entries.insert(i, e.term, prev, &e.command),
                Some((p, c)) if p != prev || *c != e.command => {
                    let detail = format!(
                        "{name} holds an entry at index {i} of term {} that differs from another server's (previous term {prev} vs {p})",
                        e.term
                    );
                    self.report(out, LOG_MATCHING, (i, e.term), detail);
                }
                Some(_) => {}
            }
        }

        // What was committed, for leader completeness.
        for i in seen.commit + 1..=s.commit_index() {
            if let Some(t) = log.term_at(i) {
                let at = slot(&mut self.committed, i);
                if at.is_none() {
                    *at = Some((t, s.term()));
                }
            }
        }

        // State machine safety: one command per index, whoever applies it.
        for i in seen.applied + 1..=s.applied_index() {
            let Some(e) = log.get(i) else { break };
            match slot(&mut self.applied, i) {
                at @ None => *at = Some((e.term, e.command.clone())),
                Some((t, c)) if *t != e.term || *c != e.command => {
                    let t = *t;
                    let detail = format!(
                        "{name} applied entry {i} of term {} but another server applied term {t}'s entry there",
                        e.term
                    );
                    self.report(out, STATE_MACHINE_SAFETY, (i, 0), detail);
                }
                Some(_) => {}
            }
        }

        // Lease safety: a lease read while a newer term already has a leader.
        if s.lease_reads() > seen.lease_reads {
            if let Some((&newer, &by)) = self.leaders.range(s.term() + 1..).next() {
                let detail = format!(
                    "{name}, leader of term {}, answered a read on its lease after n{} became leader of term {newer}",
                    s.term(),
                    by.0 + 1
                );
                self.report(out, LEASE_SAFETY, (s.term(), newer), detail);
            }
        }

        *slot(&mut self.seen, id.index() as u64) = Some(now);
    }
}

/// The place of index `i` in a table by index, made if it is not there yet.
fn slot<T>(table: &mut Vec<Option<T>>, i: u64) -> &mut Option<T> {
    let i = i as usize;
    if table.len() == i {
        // The usual growth: the next index, one at a time.
        table.push(None);
    } else if table.len() < i {
        table.resize_with(i + 1, || None);
    }
    &mut table[i]
}

/// Every (index, term) entry ever seen, with the term before it and its
/// command. Nearly every index only ever holds one term's entry: the first
/// one seen there is kept in a table by index, and any other term's entry
/// at that index (after a leader change overwrote an uncommitted tail) in
/// a map beside it.
#[derive(Clone, Debug, Default)]
struct Entries {
    /// By index: (term, previous term, command) of the first entry seen.
    first: Vec<Option<(u64, u64, Arc<Command>)>>,
    /// (index, term) -> (previous term, command), for the others.
    others: BTreeMap<(u64, u64), (u64, Arc<Command>)>,
}

impl Entries {
    fn get(&self, index: u64, term: u64) -> Option<(u64, &Arc<Command>)> {
        match self.first.get(index as usize) {
            Some(Some((t, p, c))) if *t == term => Some((*p, c)),
            Some(Some(_)) => self.others.get(&(index, term)).map(|(p, c)| (*p, c)),
            _ => None,
        }
    }

    fn insert(&mut self, index: u64, term: u64, prev: u64, command: &Arc<Command>) {
        match slot(&mut self.first, index) {
            at @ None => *at = Some((term, prev, command.clone())),
            Some(_) => {
                self.others.insert((index, term), (prev, command.clone()));
            }
        }
    }
}

/// A server's name (`n3`) as a value that formats itself, so the per-step check
/// allocates nothing unless it has something to report.
#[derive(Clone, Copy)]
struct ServerName(u32);

impl std::fmt::Display for ServerName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "n{}", self.0 + 1)
    }
}
