// chaoslab's g-counter solution (Gossip Glomers challenge 4,
// fly.io/dist-sys/4): the count is one key (`"counter"`) of Maelstrom's
// seq-kv service; the nodes keep no count of their own.
//
// An add: read the key, then `cas` it from what was read to that plus the
// delta (`create_if_not_exists`, so the first add creates it). seq-kv may
// answer the read from an old version; the cas is made on the newest,
// fails there with error 22 (precondition-failed), and the node reads
// again: each failure moves the node forward in the service's order, so
// it converges. Adds that arrive while one is in flight go together in the
// next cas. A cas the service does not answer within GIVE_UP is abandoned
// with its batch, unanswered: its clients have timed out (an indefinite
// add, allowed either way), and a cas retried blind after a lost answer
// could count the batch twice.
//
// A read: seq-kv promises only that each caller sees versions in order,
// so a plain read may return a count from before adds other nodes had
// acknowledged. The node first writes a key of its own (`"fresh-NODE"`)
// with a value never written before: a change is made on the newest
// version and moves the caller to it, so the read that follows sees every
// add acknowledged before the client's read began.
//
// What it gives up: availability. A node that cannot reach the service
// can neither add nor read, and every operation costs two round trips to
// it. (The lab's partitions, as Maelstrom's, cut servers off from each
// other, never from the service.)

use std::collections::BTreeMap;

use chaoslab::nodes::maelstrom::{Body, Envelope, ErrorCode, Init, LabNode, MaelNode, Out};

/// The service the count lives in.
const SERVICE: &str = "seq-kv";
/// The key of the count.
const KEY: &str = "counter";
/// A service request not answered in this long (nanoseconds) is abandoned.
const GIVE_UP: u64 = 1_000_000_000;
const TICK: u64 = 1;
/// How often the node looks for requests to give up, in nanoseconds.
const TICK_EVERY: u64 = 100_000_000;

/// Where the batch of adds in flight is.
#[derive(Clone, Debug)]
enum Stage {
    /// Reading the count.
    Reading,
    /// Asked to cas the count from `from`.
    Cas,
}

#[derive(Clone, Debug)]
struct Batch {
    /// The service request in flight.
    id: u64,
    stage: Stage,
    /// The client requests and their deltas.
    adds: Vec<(Envelope, i64)>,
    sent: u64,
}

/// A client read under way: the request, and whether the freshness write
/// is still in flight.
#[derive(Clone, Debug)]
struct PendingRead {
    request: Envelope,
    writing: bool,
    sent: u64,
}

#[derive(Clone, Debug, Default)]
pub struct GCounterNode {
    init: Init,
    /// Adds waiting for the batch in flight to end.
    waiting: Vec<(Envelope, i64)>,
    batch: Option<Batch>,
    /// Client reads, by the msg_id of their service request.
    reads: BTreeMap<u64, PendingRead>,
    /// The last count the service answered (for the TUI).
    last_seen: i64,
}

impl LabNode for GCounterNode {
    const PROTOCOL: &'static str = "lab-g-counter";
}

impl GCounterNode {
    fn read_body() -> Body {
        Body::new("read").with("key", KEY)
    }

    /// Starts a batch of every waiting add, if none is in flight.
    fn start(&mut self, out: &mut Out<'_>) {
        if self.batch.is_some() || self.waiting.is_empty() {
            return;
        }
        let adds = std::mem::take(&mut self.waiting);
        let id = out.rpc(SERVICE, Self::read_body());
        self.batch = Some(Batch {
            id,
            stage: Stage::Reading,
            adds,
            sent: out.mono_time(),
        });
    }

    /// The service answered the batch's request.
    fn batch_answer(&mut self, out: &mut Out<'_>, answer: &Body) {
        let Some(mut batch) = self.batch.take() else {
            return;
        };
        let now = out.mono_time();
        match (&batch.stage, answer.kind.as_str()) {
            (Stage::Reading, _) => {
                let from = match (answer.kind.as_str(), answer.error_code()) {
                    ("read_ok", _) => answer.int("value"),
                    (_, Some(ErrorCode::KeyDoesNotExist)) => Some(0),
                    _ => None,
                };
                let Some(from) = from else {
                    // Anything else (a temporary error): read again.
                    batch.id = out.rpc(SERVICE, Self::read_body());
                    batch.sent = now;
                    self.batch = Some(batch);
                    return;
                };
                self.last_seen = from;
                let delta: i64 = batch.adds.iter().map(|(_, d)| *d).sum();
                let cas = Body::new("cas")
                    .with("key", KEY)
                    .with("from", from)
                    .with("to", from.saturating_add(delta))
                    .with("create_if_not_exists", true);
                batch.id = out.rpc(SERVICE, cas);
                batch.stage = Stage::Cas;
                batch.sent = now;
                self.batch = Some(batch);
            }
            (Stage::Cas, "cas_ok") => {
                for (request, _) in &batch.adds {
                    out.reply(request, Body::new("add_ok"));
                }
                self.start(out);
            }
            (Stage::Cas, _) => {
                // Another node changed the count first (error 22), or the
                // service refused for now: the cas made no change, so
                // reading again and retrying counts the batch once.
                batch.id = out.rpc(SERVICE, Self::read_body());
                batch.stage = Stage::Reading;
                batch.sent = now;
                self.batch = Some(batch);
            }
        }
    }

    /// The service answered a client read's request.
    fn read_answer(&mut self, out: &mut Out<'_>, mut read: PendingRead, answer: &Body) {
        if read.writing {
            if answer.kind != "write_ok" {
                return;
            }
            let id = out.rpc(SERVICE, Self::read_body());
            read.writing = false;
            read.sent = out.mono_time();
            self.reads.insert(id, read);
            return;
        }
        let value = match (answer.kind.as_str(), answer.error_code()) {
            ("read_ok", _) => answer.int("value"),
            (_, Some(ErrorCode::KeyDoesNotExist)) => Some(0),
            _ => None,
        };
        if let Some(v) = value {
            self.last_seen = v;
            out.reply(&read.request, Body::new("read_ok").with("value", v));
        }
    }
}

impl MaelNode for GCounterNode {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        if let Some(init) = Init::answer(out, &msg) {
            self.init = init;
            out.set_timer(TICK, TICK_EVERY);
            return;
        }
        if msg.src == SERVICE {
            let Some(id) = msg.body.in_reply_to else {
                return;
            };
            if self.batch.as_ref().is_some_and(|b| b.id == id) {
                self.batch_answer(out, &msg.body);
            } else if let Some(read) = self.reads.remove(&id) {
                self.read_answer(out, read, &msg.body);
            }
            return;
        }
        match msg.body.kind.as_str() {
            "add" => match msg.body.int("delta") {
                Some(d) => {
                    self.waiting.push((msg, d));
                    self.start(out);
                }
                None => out.reply(&msg, not_supported(&msg.body.kind)),
            },
            "read" => {
                // A value no write has used (a random number), so the
                // write is a change even after a restart.
                let token = out.rng().next_u64();
                let write = Body::new("write")
                    .with("key", format!("fresh-{}", self.init.node_id))
                    .with("value", token.to_string());
                let id = out.rpc(SERVICE, write);
                let read = PendingRead {
                    request: msg,
                    writing: true,
                    sent: out.mono_time(),
                };
                self.reads.insert(id, read);
            }
            _ if msg.body.msg_id.is_some() => out.reply(&msg, not_supported(&msg.body.kind)),
            _ => {}
        }
    }

    fn on_timer(&mut self, out: &mut Out<'_>, timer: u64) {
        if timer != TICK {
            return;
        }
        let now = out.mono_time();
        if self
            .batch
            .as_ref()
            .is_some_and(|b| now.saturating_sub(b.sent) >= GIVE_UP)
        {
            // Unanswered: whether the cas was made is unknown, so the
            // batch is dropped (its clients have timed out), never retried.
            self.batch = None;
            self.start(out);
        }
        self.reads
            .retain(|_, r| now.saturating_sub(r.sent) < GIVE_UP);
        out.set_timer(TICK, TICK_EVERY);
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        let in_flight = self.batch.as_ref().map_or(0, |b| b.adds.len());
        vec![
            ("last count seen", self.last_seen.to_string()),
            ("adds in flight", in_flight.to_string()),
            ("adds waiting", self.waiting.len().to_string()),
        ]
    }

    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}

/// The answer to a request this node does not handle.
fn not_supported(kind: &str) -> Body {
    Body::error(
        ErrorCode::NotSupported,
        format!("this node does not handle {kind:?}"),
    )
}
