//! The linearizability search: Wing & Gong's algorithm (1993) with Lowe's
//! memoisation and just-in-time linearisation ("Testing for linearizability",
//! Concurrency and Computation 2017), as porcupine implements it.
//!
//! The history of one key becomes a list of entries, an invocation and (for
//! operations that completed) a return, in time order. The search walks the list:
//! at an invocation it tries to *linearize* that operation now (apply it to the
//! model state); if the model accepts, the operation's two entries are lifted out
//! of the list and the walk restarts from the front. At a return entry, the
//! operation it closes was not linearized before it returned, which is
//! impossible, so the search backtracks: it pops the last linearized operation,
//! puts its entries back and tries the next invocation after it.
//!
//! The candidates (invocations before the first return entry) are tried in
//! three passes: pure observations first (completed reads, and cas operations
//! that found another value), then the other completed operations, then the
//! `Info` ones, which need not be placed at all. An observation that fits the
//! current state is placed *greedily*, with no alternative tried: any complete
//! order that places it later can move it here, because it changes no state,
//! everything that had to precede it in real time is already placed (else that
//! operation's return entry would come first in the list), and moving it earlier
//! keeps it before everything that had to follow it. So when the search
//! backtracks over an observation, it backtracks over its parent too.
//!
//! Two configurations with the same set of linearized operations and the same
//! model state have the same future, so each (set, state) pair is explored once.
//! The memo stores the set exactly, as run lengths of placed and unplaced
//! operations in history order (LEB128 varints): the placed operations are
//! nearly a prefix of the history, so an entry takes a few bytes where a bitset
//! takes one bit per operation. Entries are compared byte for byte after the
//! hash, never by hash alone, so a collision cannot make a verdict wrong. The
//! stack is an explicit `Vec`, so deep histories cannot overflow the thread's
//! stack.
//!
//! `Info` operations have no return entry: they may be linearized anywhere after
//! their invocation, and an `Info` operation still pending when every completed
//! operation has been placed simply never took effect (or took effect after
//! everything, which no one observed). `Fail` operations (except a cas that
//! found another value, an observation) and reads with no result are dropped
//! before the search: they constrain nothing.

use std::hash::Hash;

use super::fxhash::{splitmix64, FxBuild, ProbeMap};
use super::model::Model;
use crate::history::{Op, OpFn, Outcome};
use crate::workload::Operation;

const NONE: u32 = u32::MAX;
const HEAD: u32 = 0;
const TAIL: u32 = 1;

/// How much work the search may do before it answers "undecided".
///
/// The step count is deterministic, so a simulated run's verdict never depends
/// on the machine. `expired` lets a caller outside the simulator (the CLI) add a
/// wall-clock deadline; it is polled every few thousand steps.
#[derive(Clone, Copy)]
pub struct Budget<'a> {
    /// Search steps over all keys (one step = one candidate operation tried,
    /// or one return entry met).
    pub max_steps: u64,
    /// Returns true once the caller's deadline has passed.
    pub expired: Option<&'a dyn Fn() -> bool>,
    /// Memory the memo tables may hold at once, over all keys; a search that
    /// needs more answers "undecided" instead of exhausting the machine.
    pub max_memo_bytes: u64,
}

impl Budget<'static> {
    /// Ten times what the hardest reference history needs (under a million
    /// steps); a few seconds at worst. A simulated run that exceeds it gets
    /// "undecided".
    pub const DEFAULT_MAX_STEPS: u64 = 10_000_000;
    /// 1 GiB.
    pub const DEFAULT_MAX_MEMO_BYTES: u64 = 1 << 30;

    pub fn steps(max_steps: u64) -> Budget<'static> {
        Budget {
            max_steps,
            expired: None,
            max_memo_bytes: Budget::DEFAULT_MAX_MEMO_BYTES,
        }
    }
}

impl Default for Budget<'static> {
    fn default() -> Self {
        Budget::steps(Budget::DEFAULT_MAX_STEPS)
    }
}

impl std::fmt::Debug for Budget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field("max_steps", &self.max_steps)
            .field("expired", &self.expired.is_some())
            .field("max_memo_bytes", &self.max_memo_bytes)
            .finish()
    }
}

/// Why a key's search stopped without an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exhausted {
    Steps,
    Deadline,
    Memory,
}

/// Tracks the budget across keys.
pub(crate) struct Meter<'a> {
    pub budget: Budget<'a>,
    pub steps: u64,
    /// Bytes held by the memos of keys still being searched.
    pub memo_bytes: u64,
    /// The most `memo_bytes` has been.
    pub memo_bytes_peak: u64,
    /// When kept: (the key's steps, its memo's bytes) at each count, so a search
    /// of one key at a time can replay what keys taking turns would hold.
    pub memo_log: Option<Vec<(u64, u64)>>,
}

impl Meter<'_> {
    #[inline]
    fn tick(&mut self) -> Result<(), Exhausted> {
        self.steps += 1;
        if self.steps > self.budget.max_steps {
            return Err(Exhausted::Steps);
        }
        if self.steps & 0xfff == 0 {
            if let Some(expired) = self.budget.expired {
                if expired() {
                    return Err(Exhausted::Deadline);
                }
            }
        }
        Ok(())
    }
}

/// One key's outcome.
pub(crate) enum KeyOutcome<S> {
    Linearizable,
    /// `prefix` is the deepest sequence of operations (indices into the key's op
    /// list) that the search could linearize, with the state after each;
    /// `blocked` is the operation whose return came before it could be placed.
    Violation {
        prefix: Vec<(usize, S)>,
        blocked: usize,
        init: S,
    },
    Unknown(Exhausted),
}

/// One operation as the search sees it.
pub(crate) struct SearchOp<'h, F> {
    pub op: &'h Op<F>,
    /// `None`: the operation has no return entry (outcome `Info`).
    pub ret: Option<u64>,
}

/// Whether the search needs this operation at all.
pub(crate) fn relevant<F: Operation>(op: &Op<F>) -> bool {
    match op.outcome {
        // Did not take effect, unless it is a cas's observation.
        Outcome::Fail => is_found_other(op),
        // A read that did not return a value constrains nothing.
        Outcome::Info => !op.f.is_read(),
        Outcome::Ok => !(op.f.is_read() && op.output.is_none()),
    }
}

/// A cas that completed with "the key holds another value".
pub(crate) fn is_found_other<F: Operation>(op: &Op<F>) -> bool {
    op.outcome == Outcome::Fail
        && op.found_other
        && op.return_ns.is_some()
        && matches!(op.f.as_kv(), Some(OpFn::Cas { .. }))
}

pub(crate) fn search_op<F: Operation>(op: &Op<F>) -> SearchOp<'_, F> {
    let ret = match op.outcome {
        Outcome::Ok => op.return_ns.map(|r| r.max(op.call_ns)),
        Outcome::Fail if is_found_other(op) => op.return_ns.map(|r| r.max(op.call_ns)),
        _ => None,
    };
    SearchOp { op, ret }
}

/// The most entries one key's memo can hold (its ids are u32, NONE excluded).
const MAX_MEMO_ENTRIES: usize = (u32::MAX - 1) as usize;

/// The three passes over the candidates (see the module documentation).
const OBSERVATION: u8 = 0;
const UPDATE: u8 = 1;
const PENDING: u8 = 2;

#[derive(Clone, Copy)]
struct Node {
    prev: u32,
    next: u32,
    /// Index into the key's op list.
    op: u32,
    /// For a call entry, the node of its return (or NONE); NONE for returns.
    matching: u32,
    is_call: bool,
}

/// The deepest configuration where the search got stuck.
///
/// Copying the whole stack each time the search gets deeper would cost
/// O(depth^2) on long keys; instead only the part that changed since the last
/// copy is rewritten: `common` is how long a prefix of the live stack still
/// equals `stack` here.
struct Stuck {
    /// (call node, state before it) of each linearized operation.
    stack: Vec<(u32, u32)>,
    /// The operation whose return entry stopped the search (NONE: not yet).
    blocked: u32,
    /// The state then.
    state: u32,
    common: usize,
}

/// The memo: every (set of linearized operations, state) pair explored so far.
///
/// An open-addressing table of indices into flat arrays, so an insert costs no
/// allocation once the arrays have grown: the encoded sets live back to back in
/// `arena`. It is only probed, never iterated.
struct Memo {
    slots: Vec<u32>,
    hashes: Vec<u64>,
    states: Vec<u32>,
    /// Entry `e`'s encoded set is `arena[starts[e]..starts[e + 1]]`.
    starts: Vec<u64>,
    arena: Vec<u8>,
    /// The set being looked up, encoded.
    scratch: Vec<u8>,
}

impl Memo {
    fn new() -> Memo {
        Memo {
            slots: vec![NONE; 1024],
            hashes: Vec::new(),
            states: Vec::new(),
            starts: vec![0],
            arena: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// The memory it holds (what its arrays have reserved).
    fn bytes(&self) -> u64 {
        (self.slots.capacity() * 4
            + self.hashes.capacity() * 8
            + self.states.capacity() * 4
            + self.starts.capacity() * 8
            + self.arena.capacity()
            + self.scratch.capacity()) as u64
    }

    /// Entries held.
    fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Inserts the pair; false if it was already there.
    fn insert(&mut self, hash: u64, state: u32, bits: &[u64]) -> bool {
        encode_runs(bits, &mut self.scratch);
        let mask = self.slots.len() - 1;
        let mut i = (hash as usize) & mask;
        loop {
            let slot = self.slots[i];
            if slot == NONE {
                break;
            }
            let e = slot as usize;
            if self.hashes[e] == hash
                && self.states[e] == state
                && self.arena[self.starts[e] as usize..self.starts[e + 1] as usize] == *self.scratch
            {
                return false;
            }
            i = (i + 1) & mask;
        }
        let id = self.hashes.len() as u32;
        self.hashes.push(hash);
        self.states.push(state);
        self.arena.extend_from_slice(&self.scratch);
        self.starts.push(self.arena.len() as u64);
        self.slots[i] = id;
        if self.hashes.len() * 2 > self.slots.len() {
            self.grow();
        }
        true
    }

    fn grow(&mut self) {
        let cap = self.slots.len() * 2;
        let mask = cap - 1;
        let mut slots = vec![NONE; cap];
        for (e, &h) in self.hashes.iter().enumerate() {
            let mut i = (h as usize) & mask;
            while slots[i] != NONE {
                i = (i + 1) & mask;
            }
            slots[i] = e as u32;
        }
        self.slots = slots;
    }
}

/// Encodes a bitset exactly as the lengths of its alternating runs, starting
/// with a run of ones (possibly empty) and ending with the last one bit, each
/// length a LEB128 varint. The encoding is canonical: two sets are equal iff
/// their encodings are.
fn encode_runs(bits: &[u64], out: &mut Vec<u8>) {
    out.clear();
    let total = bits.len() * 64;
    let mut pos = 0;
    let mut ones = true;
    loop {
        let next = next_change(bits, pos, ones);
        if !ones && next == total {
            break;
        }
        push_varint(out, (next - pos) as u64);
        if next == total {
            break;
        }
        pos = next;
        ones = !ones;
    }
}

/// The first position at or after `pos` whose bit is not `ones`.
#[inline]
fn next_change(bits: &[u64], pos: usize, ones: bool) -> usize {
    let mut w = pos / 64;
    if w >= bits.len() {
        return bits.len() * 64;
    }
    let flip = |x: u64| if ones { !x } else { x };
    let mut word = flip(bits[w]) & (!0u64 << (pos % 64));
    loop {
        if word != 0 {
            return w * 64 + word.trailing_zeros() as usize;
        }
        w += 1;
        if w == bits.len() {
            return bits.len() * 64;
        }
        word = flip(bits[w]);
    }
}

#[inline]
fn push_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// Interns model states so the memo and the transition cache hold small ids.
/// Each state is stored once (an insertion-ordered set: its index is its id),
/// so interning a new state moves it in instead of cloning it.
struct States<S> {
    set: indexmap::IndexSet<S, FxBuild>,
}

impl<S: Eq + Hash> States<S> {
    fn intern(&mut self, s: S) -> u32 {
        self.set.insert_full(s).0 as u32
    }

    fn get(&self, id: u32) -> &S {
        &self.set[id as usize]
    }
}

/// The search of one key, resumable: [`KeySearch::run`] works for a number of
/// steps and returns `None` if it has not finished, so that many keys can share
/// a budget fairly (a violation on one key is found even when another key's
/// search is hopelessly large, as porcupine does by running keys in parallel).
pub(crate) struct KeySearch<'h, 'm, M: Model> {
    model: &'m M,
    ops: Vec<SearchOp<'h, M::Op>>,
    nodes: Vec<Node>,
    must_place: usize,
    /// Per pass, how many of its operations are not placed yet (a pass with
    /// none left is skipped).
    left: [usize; 3],
    zobrist: Vec<u64>,
    bits: Vec<u64>,
    bits_hash: u64,
    states: States<M::State>,
    state: u32,
    /// Per op: the pass it belongs to.
    pass_of: Vec<u8>,
    /// Per op: the only state in which it succeeds, for pure observations.
    observes: Vec<u32>,
    /// Per op: the only state in which it fails, for pure observations that
    /// succeed everywhere else.
    observes_not: Vec<u32>,
    /// (state, op) -> next state, or NONE if the model refuses.
    transitions: ProbeMap<u64, u32>,
    memo: Memo,
    /// Memory this key's memo held when last counted against the budget.
    memo_counted: u64,
    /// The explicit stack: (call node, state before it).
    stack: Vec<(u32, u32)>,
    /// The deepest configuration that got stuck: its stack, the operation whose
    /// return entry stopped it, and the state then.
    best: Stuck,
    entry: u32,
    pass: u8,
    /// Steps this key has used.
    pub steps: u64,
    /// How many `info` operations the search may place at once, and how many
    /// it has placed (see [`KeySearch::capped`]).
    max_pending: usize,
    pending_placed: usize,
}

impl<'h, 'm, M: Model> KeySearch<'h, 'm, M> {
    pub fn new(model: &'m M, ops: Vec<SearchOp<'h, M::Op>>) -> Self {
        let n = ops.len();
        assert!(
            n < (u32::MAX / 2) as usize,
            "too many operations on one key"
        );

        // Entries in time order; at equal times invocations come first, so
        // operations whose intervals touch count as concurrent (the charitable
        // reading).
        let mut order: Vec<(u64, u8, u32)> = Vec::with_capacity(2 * n);
        for (i, o) in ops.iter().enumerate() {
            order.push((o.op.call_ns, 0, i as u32));
            if let Some(r) = o.ret {
                order.push((r, 1, i as u32));
            }
        }
        order.sort_unstable();

        let mut nodes: Vec<Node> = Vec::with_capacity(order.len() + 2);
        nodes.push(Node {
            prev: NONE,
            next: TAIL,
            op: NONE,
            matching: NONE,
            is_call: false,
        });
        nodes.push(Node {
            prev: HEAD,
            next: NONE,
            op: NONE,
            matching: NONE,
            is_call: false,
        });
        let mut call_node = vec![NONE; n];
        for &(_, kind, op) in &order {
            let id = nodes.len() as u32;
            let last = nodes[TAIL as usize].prev;
            nodes.push(Node {
                prev: last,
                next: TAIL,
                op,
                matching: NONE,
                is_call: kind == 0,
            });
            nodes[last as usize].next = id;
            nodes[TAIL as usize].prev = id;
            if kind == 0 {
                call_node[op as usize] = id;
            } else {
                let c = call_node[op as usize];
                nodes[c as usize].matching = id;
            }
        }

        let must_place = ops.iter().filter(|o| o.ret.is_some()).count();
        let words = n.div_ceil(64).max(1);
        let mut states = States {
            set: indexmap::IndexSet::default(),
        };
        let state = states.intern(model.init());
        // Observations succeed in exactly one state (or in all but one):
        // compare ids, skip the model.
        let mut observes = Vec::with_capacity(n);
        let mut observes_not = Vec::with_capacity(n);
        let mut pass_of = Vec::with_capacity(n);
        let mut left = [0usize; 3];
        for o in &ops {
            let (f, out, outcome) = (&o.op.f, o.op.output.as_ref(), o.op.outcome);
            let is = model.observes(f, out, outcome).map(|s| states.intern(s));
            let not = if is.is_none() {
                model
                    .observes_not(f, out, outcome)
                    .map(|s| states.intern(s))
            } else {
                None
            };
            observes.push(is.unwrap_or(NONE));
            observes_not.push(not.unwrap_or(NONE));
            // Only completed observations are placed greedily: they must be
            // placed anyway, so placing one early loses nothing.
            let pass = if o.ret.is_none() {
                PENDING
            } else if is.is_some() || not.is_some() || model.is_observation(f, out, outcome) {
                OBSERVATION
            } else {
                UPDATE
            };
            pass_of.push(pass);
            left[pass as usize] += 1;
        }
        let entry = nodes[HEAD as usize].next;
        KeySearch {
            model,
            ops,
            nodes,
            must_place,
            left,
            zobrist: (0..n as u64).map(splitmix64).collect(),
            bits: vec![0u64; words],
            bits_hash: 0,
            states,
            state,
            pass_of,
            observes,
            observes_not,
            transitions: ProbeMap::with_capacity_and_hasher(4 * n, Default::default()),
            memo: Memo::new(),
            memo_counted: 0,
            stack: Vec::new(),
            best: Stuck {
                stack: Vec::new(),
                blocked: NONE,
                state: 0,
                common: 0,
            },
            entry,
            pass: OBSERVATION,
            steps: 0,
            max_pending: usize::MAX,
            pending_placed: 0,
        }
    }

    /// A search that places at most `max` `info` operations. Its
    /// "linearizable" is an answer (an order that leaves the other `info`
    /// operations out is an order: they may never have happened); its
    /// "violation" is not, only a reason to search with a higher cap.
    pub fn capped(mut self, max: usize) -> Self {
        self.max_pending = max;
        self
    }

    /// Whether the cap forbids placing another `info` operation.
    #[inline]
    fn pending_full(&self) -> bool {
        self.pending_placed >= self.max_pending
    }

    /// The first pass at or after `from` with operations left to place.
    #[inline]
    fn first_pass(&self, from: u8) -> Option<u8> {
        (from..=PENDING)
            .find(|&p| self.left[p as usize] > 0 && (p != PENDING || !self.pending_full()))
    }

    /// Searches for at most `max_steps` more steps (fewer if `meter` runs out).
    /// `None`: not finished yet.
    pub fn run(&mut self, max_steps: u64, meter: &mut Meter<'_>) -> Option<KeyOutcome<M::State>> {
        let limit = self.steps + max_steps;
        let mut entry = self.entry;
        let mut state = self.state;
        let mut pass = self.pass;
        let outcome = 'search: loop {
            if self.must_place == 0 {
                break Some(KeyOutcome::Linearizable);
            }
            if self.steps >= limit {
                break None;
            }
            // A completed operation still waits, so its return entry lies ahead
            // and the walk meets it before the end of the list.
            debug_assert!(entry != TAIL, "walked past every return entry");
            let node = self.nodes[entry as usize];
            // Another pass's candidate is passed over without a step: a step is
            // a candidate tried or a return entry met, as in one-pass search.
            if node.is_call
                && (self.pass_of[node.op as usize] != pass
                    || (pass == PENDING && self.pending_full()))
            {
                entry = node.next;
                continue;
            }
            self.steps += 1;
            if let Err(e) = meter.tick() {
                break Some(KeyOutcome::Unknown(e));
            }
            let mut dead = false;
            if node.is_call {
                let op = node.op as usize;
                let next = self.next_state(state, op);
                if next != NONE {
                    // Entry ids are u32: past that, the memo is full whatever
                    // the byte budget says.
                    if self.memo.len() >= MAX_MEMO_ENTRIES {
                        break Some(KeyOutcome::Unknown(Exhausted::Memory));
                    }
                    self.bits[op / 64] |= 1 << (op % 64);
                    self.bits_hash ^= self.zobrist[op];
                    let hash = self.bits_hash ^ splitmix64(u64::from(next) ^ 0xa5a5_0000_0000);
                    if self.memo.insert(hash, next, &self.bits) {
                        if self.memo.len() & 0x3ff == 0 {
                            let now = self.memo.bytes();
                            meter.memo_bytes += now.saturating_sub(self.memo_counted);
                            meter.memo_bytes_peak = meter.memo_bytes_peak.max(meter.memo_bytes);
                            self.memo_counted = now;
                            if let Some(log) = meter.memo_log.as_mut() {
                                log.push((self.steps, now));
                            }
                            if meter.memo_bytes > meter.budget.max_memo_bytes {
                                break Some(KeyOutcome::Unknown(Exhausted::Memory));
                            }
                        }
                        self.stack.push((entry, state));
                        state = next;
                        if self.ops[op].ret.is_some() {
                            self.must_place -= 1;
                        }
                        self.left[pass as usize] -= 1;
                        if pass == PENDING {
                            self.pending_placed += 1;
                        }
                        lift(&mut self.nodes, entry);
                        entry = self.nodes[HEAD as usize].next;
                        pass = self.first_pass(OBSERVATION).unwrap_or(PENDING);
                        continue;
                    }
                    undo(&mut self.bits, &mut self.bits_hash, &self.zobrist, op);
                    // An observation that fits is the only move worth trying
                    // here; its configuration was explored before and failed, so
                    // this one fails too.
                    dead = pass == OBSERVATION;
                }
                if !dead {
                    entry = node.next;
                    continue;
                }
            } else if let Some(p) = self.first_pass(pass + 1) {
                // This pass found nothing to place before the first return
                // entry: try the next kind of operation from the front.
                pass = p;
                entry = self.nodes[HEAD as usize].next;
                continue;
            } else {
                // A return entry: its operation was not placed before it returned.
                let best = &mut self.best;
                if best.blocked == NONE || self.stack.len() > best.stack.len() {
                    let c = best.common.min(best.stack.len());
                    best.stack.truncate(c);
                    best.stack.extend_from_slice(&self.stack[c..]);
                    best.common = self.stack.len();
                    best.blocked = node.op;
                    best.state = state;
                }
            }
            // Backtrack: undo the last placed operation and try the candidates
            // after it. Undoing an observation undoes its parent too.
            loop {
                let Some((e, s)) = self.stack.pop() else {
                    break 'search Some(self.violation());
                };
                self.best.common = self.best.common.min(self.stack.len());
                state = s;
                let op = self.nodes[e as usize].op as usize;
                undo(&mut self.bits, &mut self.bits_hash, &self.zobrist, op);
                if self.ops[op].ret.is_some() {
                    self.must_place += 1;
                }
                let p = self.pass_of[op];
                self.left[p as usize] += 1;
                if p == PENDING {
                    self.pending_placed -= 1;
                }
                unlift(&mut self.nodes, e);
                if p != OBSERVATION {
                    entry = self.nodes[e as usize].next;
                    pass = p;
                    break;
                }
            }
        };
        self.entry = entry;
        self.state = state;
        self.pass = pass;
        outcome
    }

    /// The state after placing `op` in `state`, or NONE if it cannot go there.
    #[inline]
    fn next_state(&mut self, state: u32, op: usize) -> u32 {
        let is = self.observes[op];
        if is != NONE {
            // A read: it fits exactly when the state is what it saw.
            return if is == state { state } else { NONE };
        }
        let not = self.observes_not[op];
        if not != NONE {
            return if not != state { state } else { NONE };
        }
        let key = (u64::from(state) << 32) | op as u64;
        if let Some(&t) = self.transitions.get(&key) {
            return t;
        }
        let o = self.ops[op].op;
        let before = self.states.get(state);
        let t = match self.model.step(before, &o.f, o.output.as_ref(), o.outcome) {
            Some(s) => self.states.intern(s),
            None => NONE,
        };
        self.transitions.insert(key, t);
        t
    }

    /// Memory held by this key's memo, as counted against the budget so far.
    pub fn memo_bytes(&self) -> u64 {
        self.memo_counted
    }

    /// Memory held by this key's memo now (counted every 1024 entries).
    pub fn memo_bytes_now(&self) -> u64 {
        self.memo.bytes()
    }

    fn violation(&self) -> KeyOutcome<M::State> {
        let Stuck {
            stack: best_stack,
            blocked,
            state: last_state,
            ..
        } = &self.best;
        assert!(*blocked != NONE, "a violation is found at a return entry");
        // The state after each operation of the deepest prefix is the state
        // before the next one (or, for the last, the state when it got stuck).
        let prefix = best_stack
            .iter()
            .enumerate()
            .map(|(i, &(e, _))| {
                let after = best_stack.get(i + 1).map_or(*last_state, |&(_, s)| s);
                (
                    self.nodes[e as usize].op as usize,
                    self.states.get(after).clone(),
                )
            })
            .collect();
        KeyOutcome::Violation {
            prefix,
            blocked: *blocked as usize,
            init: self.states.get(0).clone(),
        }
    }
}

#[inline]
fn undo(bits: &mut [u64], bits_hash: &mut u64, zobrist: &[u64], op: usize) {
    bits[op / 64] &= !(1 << (op % 64));
    *bits_hash ^= zobrist[op];
}

#[inline]
fn lift(nodes: &mut [Node], e: u32) {
    let n = nodes[e as usize];
    nodes[n.prev as usize].next = n.next;
    nodes[n.next as usize].prev = n.prev;
    if n.matching != NONE {
        let m = nodes[n.matching as usize];
        nodes[m.prev as usize].next = m.next;
        nodes[m.next as usize].prev = m.prev;
    }
}

#[inline]
fn unlift(nodes: &mut [Node], e: u32) {
    let n = nodes[e as usize];
    if n.matching != NONE {
        let m = nodes[n.matching as usize];
        nodes[m.prev as usize].next = n.matching;
        nodes[m.next as usize].prev = n.matching;
    }
    nodes[n.prev as usize].next = e;
    nodes[n.next as usize].prev = e;
}
