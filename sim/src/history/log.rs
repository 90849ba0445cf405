//! The history as a run records it: one fixed-size record per operation.
//!
//! A run of the single-server bench invokes two million operations; kept as
//! [`Op`]s (a key `String` each, an `Option<Value>` inline, the kernel's
//! [`OpMeta`] beside) they cost over 200 bytes apiece, and the history alone
//! would be most of the run's memory. Here an operation is a 48-byte [`Rec`]:
//! its key an index into a table of the keys seen, its times plain `u64`s,
//! its outcome and the kernel's facts about it bits of one byte, and the
//! values it carries (a key-value operation's operands and its output) two
//! 8-byte slots that hold a nil or an integer inline and anything else (a
//! string, a list) as an index into a side table. What does not fit (a
//! protocol's own operation type, a cas that also returned a value) goes
//! whole into a second side table. Decoding gives back exactly the [`Op`]
//! that was recorded.
//!
//! Records live in fixed-size chunks, so the log never copies itself to grow
//! (a growing `Vec` briefly holds its old and new buffers at once).

use std::any::Any;

use crate::check::fxhash::ProbeMap;
use crate::history::{History, Op, OpFn, Outcome, ProcessId, Value};
use crate::kernel::OpMeta;
use crate::node::NodeId;
use crate::workload::Operation;

/// Records per chunk: 3 MiB of 48-byte records.
const CHUNK_BITS: u32 = 16;
const CHUNK: usize = 1 << CHUNK_BITS;

/// `done_ns` of an operation still open.
const NOT_DONE: u64 = u64::MAX;

/// `Rec::kind`: the key-value operations kept inline, and the rest.
const READ: u8 = 0;
const WRITE: u8 = 1;
const CAS: u8 = 2;
const APPEND: u8 = 3;
const DELETE: u8 = 4;
/// The operation and its output are `spilled[a]`.
const SPILLED: u8 = 5;

/// A slot's tag (two bits of `Rec::tags` per slot; 0 for an empty slot).
const NIL: u8 = 1;
const INT: u8 = 2;
/// The slot is an index into `values`.
const SIDE: u8 = 3;

/// `Rec::flags`: bits 0-1 the outcome, then one bit per fact.
const OUTCOME_MASK: u8 = 0b11;
const FOUND_OTHER: u8 = 1 << 2;
const IN_PARTITION: u8 = 1 << 3;
const CUT_OFF: u8 = 1 << 4;
const SERVED: u8 = 1 << 5;
/// The output is in the slot after the operation's operands.
const HAS_OUTPUT: u8 = 1 << 6;

/// One operation, from invocation to completion, with the kernel's facts
/// about it ([`OpMeta`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rec {
    call_ns: u64,
    /// When the client completed it or gave up on it (`NOT_DONE`: neither).
    /// Its return time is this, unless the outcome is `Info`.
    done_ns: u64,
    /// The operands, then the output (see the slot tags).
    a: u64,
    b: u64,
    key: u32,
    process: u32,
    client: u32,
    kind: u8,
    tags: u8,
    flags: u8,
}

fn outcome_bits(o: Outcome) -> u8 {
    match o {
        Outcome::Ok => 0,
        Outcome::Fail => 1,
        Outcome::Info => 2,
    }
}

fn outcome_of(bits: u8) -> Outcome {
    match bits & OUTCOME_MASK {
        0 => Outcome::Ok,
        1 => Outcome::Fail,
        _ => Outcome::Info,
    }
}

/// The key-value operation `f` is, when `F` is [`OpFn`].
fn as_opfn<F: 'static>(f: &F) -> Option<&OpFn> {
    (f as &dyn Any).downcast_ref::<OpFn>()
}

/// `f` as an `F`; only called when `F` is [`OpFn`] (the record's kind says so).
fn from_opfn<F: 'static>(f: OpFn) -> F {
    let mut slot = Some(f);
    (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<F>>()
        .and_then(Option::take)
        .expect("an inline operation is only recorded when F is OpFn")
}

/// A run's client history, compact (see the module documentation).
pub struct OpLog<F = OpFn> {
    chunks: Vec<Vec<Rec>>,
    len: usize,
    /// Every key seen, in order of first use; a record names its index.
    keys: Vec<Box<str>>,
    /// Key -> index into `keys`; only probed, never iterated.
    key_ids: ProbeMap<Box<str>, u32>,
    /// Values a slot cannot hold inline (strings, lists).
    values: Vec<Value>,
    /// Operations kept whole: a protocol's own operation types, and key-value
    /// operations whose operands and output need more than two slots.
    spilled: Vec<(F, Option<Value>)>,
}

impl<F: Clone> Clone for OpLog<F> {
    fn clone(&self) -> Self {
        OpLog {
            chunks: self.chunks.clone(),
            len: self.len,
            keys: self.keys.clone(),
            key_ids: self.key_ids.clone(),
            values: self.values.clone(),
            spilled: self.spilled.clone(),
        }
    }

    /// Reuses the buffers (the explorer copies a run's history at every
    /// choice it makes).
    fn clone_from(&mut self, src: &Self) {
        // Every field, by name: one added later fails to compile here.
        let OpLog {
            chunks,
            len,
            keys,
            key_ids,
            values,
            spilled,
        } = src;
        self.chunks.clone_from(chunks);
        self.len = *len;
        // `key_ids` is made from `keys`: equal keys, equal ids.
        if self.keys != *keys {
            self.keys.clone_from(keys);
            self.key_ids.clone_from(key_ids);
        }
        self.values.clone_from(values);
        self.spilled.clone_from(spilled);
    }
}

impl<F> Default for OpLog<F> {
    fn default() -> Self {
        OpLog {
            chunks: Vec::new(),
            len: 0,
            keys: Vec::new(),
            key_ids: ProbeMap::default(),
            values: Vec::new(),
            spilled: Vec::new(),
        }
    }
}

/// What the kernel knows about an operation when it is invoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Invocation {
    pub process: ProcessId,
    pub client: NodeId,
    pub call_ns: u64,
    pub in_partition: bool,
    pub cut_off: bool,
}

impl<F: Operation> OpLog<F> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Operations recorded, in order of invocation.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn rec(&self, i: usize) -> &Rec {
        assert!(i < self.len, "operation {i} of {}", self.len);
        &self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }

    fn rec_mut(&mut self, i: usize) -> &mut Rec {
        assert!(i < self.len, "operation {i} of {}", self.len);
        &mut self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }

    fn key_id(&mut self, key: &str) -> u32 {
        if let Some(&id) = self.key_ids.get(key) {
            return id;
        }
        let id = u32::try_from(self.keys.len()).expect("fewer than 2^32 keys");
        self.keys.push(key.into());
        self.key_ids.insert(key.into(), id);
        id
    }

    /// A slot holding `v`: (tag, payload).
    fn slot(&mut self, v: &Value) -> (u8, u64) {
        match v {
            Value::Nil => (NIL, 0),
            Value::Int(x) => (INT, *x as u64),
            Value::Str(_) | Value::List(_) => {
                self.values.push(v.clone());
                (SIDE, (self.values.len() - 1) as u64)
            }
        }
    }

    fn value(&self, tag: u8, payload: u64) -> Value {
        match tag {
            NIL => Value::Nil,
            INT => Value::Int(payload as i64),
            SIDE => self.values[payload as usize].clone(),
            _ => unreachable!("an empty slot holds no value"),
        }
    }

    /// Records a newly invoked operation (outcome `Info`, no output, not
    /// done) and returns its index.
    pub fn push(&mut self, key: &str, f: &F, at: Invocation) -> usize {
        let mut rec = Rec {
            call_ns: at.call_ns,
            done_ns: NOT_DONE,
            a: 0,
            b: 0,
            key: self.key_id(key),
            process: u32::try_from(at.process).expect("a simulated process id fits in u32"),
            client: at.client.0,
            kind: SPILLED,
            tags: 0,
            flags: outcome_bits(Outcome::Info)
                | if at.in_partition { IN_PARTITION } else { 0 }
                | if at.cut_off { CUT_OFF } else { 0 },
        };
        match as_opfn(f) {
            Some(kv) => {
                let (kind, operands): (u8, [Option<&Value>; 2]) = match kv {
                    OpFn::Read => (READ, [None, None]),
                    OpFn::Write(v) => (WRITE, [Some(v), None]),
                    OpFn::Cas { expected, new } => (CAS, [Some(expected), Some(new)]),
                    OpFn::Append(v) => (APPEND, [Some(v), None]),
                    OpFn::Delete => (DELETE, [None, None]),
                };
                rec.kind = kind;
                if let Some(v) = operands[0] {
                    let (tag, payload) = self.slot(v);
                    rec.tags |= tag;
                    rec.a = payload;
                }
                if let Some(v) = operands[1] {
                    let (tag, payload) = self.slot(v);
                    rec.tags |= tag << 2;
                    rec.b = payload;
                }
            }
            None => {
                self.spilled.push((f.clone(), None));
                rec.a = (self.spilled.len() - 1) as u64;
            }
        }
        if self.len == self.chunks.len() * CHUNK {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        self.chunks.last_mut().expect("a chunk with room").push(rec);
        self.len += 1;
        self.len - 1
    }

    /// Operation `i` is a cas that found another value.
    pub fn set_found_other(&mut self, i: usize) {
        self.rec_mut(i).flags |= FOUND_OTHER;
    }

    /// Operation `i` completed at `now` with `outcome`: a completion that is
    /// not `Info` returns then; an `ok` one returned `output`, or what its
    /// operation returns by default ([`Operation::default_output`]).
    pub fn complete(
        &mut self,
        i: usize,
        outcome: Outcome,
        output: Option<Value>,
        now: u64,
        served: bool,
    ) {
        let output = if outcome == Outcome::Ok {
            output.or_else(|| self.default_output(i))
        } else {
            None
        };
        {
            let rec = self.rec_mut(i);
            rec.flags = (rec.flags & !OUTCOME_MASK) | outcome_bits(outcome);
            rec.done_ns = now;
            if served {
                rec.flags |= SERVED;
            }
        }
        if let Some(out) = output {
            self.set_output(i, out);
        }
    }

    fn default_output(&self, i: usize) -> Option<Value> {
        let rec = self.rec(i);
        match rec.kind {
            SPILLED => self.spilled[rec.a as usize].0.default_output(),
            _ => self.f(i).default_output(),
        }
    }

    /// Operation `i`'s client gave up on it at `now` (it crashed): the outcome
    /// stays `Info`.
    pub fn give_up(&mut self, i: usize, now: u64) {
        self.rec_mut(i).done_ns = now;
    }

    fn set_output(&mut self, i: usize, out: Value) {
        let rec = *self.rec(i);
        // The first free slot: after the operands of an inline operation.
        let free = match rec.kind {
            READ | DELETE => Some(0),
            WRITE | APPEND => Some(1),
            _ => None,
        };
        match free {
            Some(s) => {
                let (tag, payload) = self.slot(&out);
                let rec = self.rec_mut(i);
                if s == 0 {
                    rec.tags |= tag;
                    rec.a = payload;
                } else {
                    rec.tags |= tag << 2;
                    rec.b = payload;
                }
                rec.flags |= HAS_OUTPUT;
            }
            None if rec.kind == SPILLED => self.spilled[rec.a as usize].1 = Some(out),
            None => {
                // A cas that returned a value: three values, two slots.
                let f = self.f(i);
                self.spilled.push((f, Some(out)));
                let at = (self.spilled.len() - 1) as u64;
                let rec = self.rec_mut(i);
                rec.kind = SPILLED;
                rec.a = at;
                rec.tags = 0;
            }
        }
    }

    fn slot_value(&self, rec: &Rec, s: u8) -> Value {
        if s == 0 {
            self.value(rec.tags & 0b11, rec.a)
        } else {
            self.value((rec.tags >> 2) & 0b11, rec.b)
        }
    }

    /// What operation `i` asked for.
    pub fn f(&self, i: usize) -> F {
        let rec = self.rec(i);
        let kv = match rec.kind {
            READ => OpFn::Read,
            WRITE => OpFn::Write(self.slot_value(rec, 0)),
            CAS => OpFn::Cas {
                expected: self.slot_value(rec, 0),
                new: self.slot_value(rec, 1),
            },
            APPEND => OpFn::Append(self.slot_value(rec, 0)),
            DELETE => OpFn::Delete,
            _ => return self.spilled[rec.a as usize].0.clone(),
        };
        from_opfn(kv)
    }

    /// What operation `i` returned (`None` unless it completed `ok` with a value).
    pub fn output(&self, i: usize) -> Option<Value> {
        let rec = self.rec(i);
        match rec.kind {
            SPILLED => self.spilled[rec.a as usize].1.clone(),
            _ if rec.flags & HAS_OUTPUT == 0 => None,
            READ | DELETE => Some(self.slot_value(rec, 0)),
            _ => Some(self.slot_value(rec, 1)),
        }
    }

    pub fn key(&self, i: usize) -> &str {
        &self.keys[self.rec(i).key as usize]
    }

    pub fn outcome(&self, i: usize) -> Outcome {
        outcome_of(self.rec(i).flags)
    }

    pub fn found_other(&self, i: usize) -> bool {
        self.rec(i).flags & FOUND_OTHER != 0
    }

    pub fn call_ns(&self, i: usize) -> u64 {
        self.rec(i).call_ns
    }

    pub fn return_ns(&self, i: usize) -> Option<u64> {
        let rec = self.rec(i);
        (outcome_of(rec.flags) != Outcome::Info && rec.done_ns != NOT_DONE).then_some(rec.done_ns)
    }

    pub fn process(&self, i: usize) -> ProcessId {
        ProcessId::from(self.rec(i).process)
    }

    /// The kernel's facts about operation `i`.
    pub fn meta(&self, i: usize) -> OpMeta {
        let rec = self.rec(i);
        OpMeta {
            client: NodeId(rec.client),
            in_partition: rec.flags & IN_PARTITION != 0,
            cut_off: rec.flags & CUT_OFF != 0,
            done_ns: (rec.done_ns != NOT_DONE).then_some(rec.done_ns),
            served: rec.flags & SERVED != 0,
        }
    }

    /// Operation `i`, decoded.
    pub fn op(&self, i: usize) -> Op<F> {
        Op {
            process: self.process(i),
            key: self.key(i).to_string(),
            f: self.f(i),
            output: self.output(i),
            outcome: self.outcome(i),
            call_ns: self.call_ns(i),
            return_ns: self.return_ns(i),
            found_other: self.found_other(i),
        }
    }

    /// Operation `i`, decoded into `into`, reusing its key's buffer.
    pub fn op_into(&self, i: usize, into: &mut Op<F>) {
        into.process = self.process(i);
        into.key.clear();
        into.key.push_str(self.key(i));
        into.f = self.f(i);
        into.output = self.output(i);
        into.outcome = self.outcome(i);
        into.call_ns = self.call_ns(i);
        into.return_ns = self.return_ns(i);
        into.found_other = self.found_other(i);
    }

    /// Each key with the indices of its operations, keys in order, indices
    /// ascending.
    pub fn by_key(&self) -> Vec<(&str, Vec<usize>)> {
        let mut per_id: Vec<Vec<usize>> = vec![Vec::new(); self.keys.len()];
        for i in 0..self.len {
            per_id[self.rec(i).key as usize].push(i);
        }
        let mut out: Vec<(&str, Vec<usize>)> = self
            .keys
            .iter()
            .map(|k| &**k)
            .zip(per_id)
            .filter(|(_, v)| !v.is_empty())
            .collect();
        out.sort_unstable_by(|a, b| a.0.cmp(b.0));
        out
    }

    /// The whole history, decoded.
    pub fn to_history(&self) -> History<F> {
        History {
            ops: (0..self.len).map(|i| self.op(i)).collect(),
        }
    }
}

impl<F: Operation> PartialEq for OpLog<F> {
    fn eq(&self, other: &OpLog<F>) -> bool {
        self.len == other.len
            && (0..self.len).all(|i| self.op(i) == other.op(i) && self.meta(i) == other.meta(i))
    }
}

impl<F: Operation> std::fmt::Debug for OpLog<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries((0..self.len).map(|i| (self.op(i), self.meta(i))))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_48_bytes() {
        // The bench records two million of these: a growth here is a growth
        // of every long run's memory.
        assert_eq!(std::mem::size_of::<Rec>(), 48);
    }

    fn at(process: u64, call_ns: u64) -> Invocation {
        Invocation {
            process,
            client: NodeId(process as u32 + 2),
            call_ns,
            in_partition: process % 2 == 0,
            cut_off: process % 3 == 0,
        }
    }

    /// Records `op` as the kernel would (invoke, then complete unless it is
    /// an `Info` that never returned) and checks it decodes to itself.
    fn round_trip(log: &mut OpLog, op: Op, served: bool) {
        let i = log.push(&op.key, &op.f, at(op.process, op.call_ns));
        if op.found_other {
            log.set_found_other(i);
        }
        let done = op.return_ns.unwrap_or(op.call_ns + 77);
        if op.return_ns.is_some() || op.outcome != Outcome::Info {
            log.complete(i, op.outcome, op.output.clone(), done, served);
        } else {
            log.give_up(i, done);
        }
        assert_eq!(log.op(i), op, "operation {i}");
        let meta = log.meta(i);
        assert_eq!(meta.done_ns, Some(done));
        assert_eq!(meta.served, served && op.outcome != Outcome::Info);
        assert_eq!(meta.client, NodeId(op.process as u32 + 2));
        assert_eq!(meta.in_partition, op.process % 2 == 0);
        assert_eq!(meta.cut_off, op.process % 3 == 0);
        let mut scratch = log.op(0);
        log.op_into(i, &mut scratch);
        assert_eq!(scratch, op);
    }

    fn values() -> Vec<Value> {
        vec![
            Value::Nil,
            Value::Int(0),
            Value::Int(-1),
            Value::Int(i64::MAX),
            Value::Int(i64::MIN),
            Value::Str(String::new()),
            Value::Str("x y".into()),
            Value::List(vec![]),
            Value::List(vec![1, -2, 3]),
        ]
    }

    #[test]
    fn every_operation_and_value_shape_decodes_to_what_was_recorded() {
        let mut log = OpLog::new();
        let mut fs = vec![OpFn::Read, OpFn::Delete];
        for v in values() {
            fs.push(OpFn::Write(v.clone()));
            fs.push(OpFn::Append(v.clone()));
            for w in values() {
                fs.push(OpFn::Cas {
                    expected: v.clone(),
                    new: w,
                });
            }
        }
        let mut n = 0u64;
        let mut expected: Vec<Op> = Vec::new();
        for f in fs {
            let mut outputs: Vec<Option<Value>> = values().into_iter().map(Some).collect();
            outputs.push(None);
            for output in outputs {
                for outcome in [Outcome::Ok, Outcome::Fail, Outcome::Info] {
                    n += 1;
                    let key = format!("k{}", n % 7);
                    let done = if outcome == Outcome::Info {
                        None
                    } else {
                        Some(100 * n + 5)
                    };
                    // Only an ok operation keeps an output; a read with none
                    // returned nil.
                    let kept = match (outcome, &output, &f) {
                        (Outcome::Ok, None, OpFn::Read) => Some(Value::Nil),
                        (Outcome::Ok, o, _) => o.clone(),
                        _ => None,
                    };
                    let found_other =
                        outcome == Outcome::Fail && matches!(f, OpFn::Cas { .. }) && n % 2 == 0;
                    let op = Op {
                        process: n % 5,
                        key,
                        f: f.clone(),
                        output: kept,
                        outcome,
                        call_ns: 100 * n,
                        return_ns: done,
                        found_other,
                    };
                    let i = log.len();
                    round_trip(&mut log, op.clone(), n % 3 != 0);
                    expected.push(op.clone());
                    // The output given to complete is what the protocol said,
                    // before the ok-only rule: check that rule separately.
                    let j = log.push(&op.key, &op.f, at(op.process, op.call_ns));
                    log.complete(j, outcome, output.clone(), 1 + 100 * n, true);
                    assert_eq!(log.output(j), op.output, "operation {i}");
                    expected.push(log.op(j));
                }
            }
        }
        // Every operation is still intact once the rest were recorded: no
        // later record or side-table entry overwrote an earlier one.
        assert_eq!(log.to_history().ops, expected);
    }

    #[test]
    fn an_info_operation_never_completed_has_no_return_and_is_not_done() {
        let mut log: OpLog = OpLog::new();
        let i = log.push("k", &OpFn::Write(Value::Int(3)), at(1, 10));
        let op = log.op(i);
        assert_eq!(op.outcome, Outcome::Info);
        assert_eq!(op.return_ns, None);
        assert_eq!(op.output, None);
        assert_eq!(log.meta(i).done_ns, None);
        // An info completion (a timeout) is done but never returned.
        log.complete(i, Outcome::Info, Some(Value::Int(9)), 50, false);
        assert_eq!(log.op(i).return_ns, None);
        assert_eq!(log.op(i).output, None);
        assert_eq!(log.meta(i).done_ns, Some(50));
    }

    #[test]
    fn keys_are_stored_once_and_grouped_in_key_order() {
        let mut log: OpLog = OpLog::new();
        for (n, k) in ["k2", "k10", "k2", "", "k10", "k2"].iter().enumerate() {
            log.push(k, &OpFn::Read, at(1, n as u64));
        }
        assert_eq!(log.keys.len(), 3);
        let groups = log.by_key();
        assert_eq!(
            groups,
            vec![("", vec![3]), ("k10", vec![1, 4]), ("k2", vec![0, 2, 5])]
        );
    }

    #[test]
    fn records_past_one_chunk_stay_addressable() {
        let mut log: OpLog = OpLog::new();
        for n in 0..(CHUNK as i64 + 10) {
            let i = log.push("k", &OpFn::Write(Value::Int(n)), at(1, n as u64));
            log.complete(i, Outcome::Ok, None, n as u64 + 1, true);
        }
        assert_eq!(log.chunks.len(), 2);
        let last = log.len() - 1;
        assert_eq!(log.f(last), OpFn::Write(Value::Int(CHUNK as i64 + 9)));
        assert_eq!(log.f(CHUNK - 1), OpFn::Write(Value::Int(CHUNK as i64 - 1)));
    }

    /// A protocol's own operation type, kept whole.
    #[derive(Clone, Debug, PartialEq, serde::Serialize)]
    struct Transfer(u32);

    impl Operation for Transfer {
        fn describe(&self, key: &str) -> String {
            format!("transfer {} {key}", self.0)
        }
        fn describe_done(&self, _: Option<&Value>) -> String {
            "transfer".into()
        }
        fn is_read(&self) -> bool {
            false
        }
    }

    #[test]
    fn a_protocols_own_operations_decode_to_what_was_recorded() {
        let mut log: OpLog<Transfer> = OpLog::new();
        let i = log.push("", &Transfer(5), at(3, 10));
        log.complete(i, Outcome::Ok, Some(Value::List(vec![1])), 20, true);
        let j = log.push("", &Transfer(6), at(4, 11));
        log.give_up(j, 30);
        assert_eq!(log.op(i).f, Transfer(5));
        assert_eq!(log.op(i).output, Some(Value::List(vec![1])));
        assert_eq!(log.op(i).return_ns, Some(20));
        assert_eq!(log.op(j).f, Transfer(6));
        assert_eq!(log.op(j).return_ns, None);
        assert_eq!(log.meta(j).done_ns, Some(30));
    }
}
