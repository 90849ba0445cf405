//! A client: write, then read what it wrote, then think; again.

use std::sync::Arc;

use rand::Rng;
use sim::node::{Ctx, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::params::{Config, ReadFrom};
use super::{Msg, PROJECTOR, STORE};

const NEXT: TimerId = TimerId(0);
/// The open write or read has waited `client_timeout`: give it up.
const TIMEOUT: TimerId = TimerId(1);

/// The width of a point of the series over time.
pub const BUCKET: Nanos = sim::time::ms(500);

/// The client's open write-then-read.
#[derive(Clone, Copy, Debug)]
enum Open {
    None,
    Write { req: u64, key: u32 },
    Read { req: u64, version: u64, sent: Nanos },
}

/// Writes a random key, then reads it from the read model (at once, or
/// naming the write's version), and counts a read-your-writes miss when the
/// read returns an older version of the key than its own write.
#[derive(Clone, Debug)]
pub struct Client {
    config: Arc<Config>,
    me: u64,
    req: u64,
    open: Open,
    pub reads: u64,
    pub misses: u64,
    /// Versions the model was behind the write, summed and at most, over
    /// the misses.
    pub behind_sum: u64,
    pub behind_max: u64,
    /// Every read's latency.
    pub latencies: Vec<Nanos>,
    /// Misses per [`BUCKET`].
    pub misses_series: Vec<u64>,
    /// Writes and reads given up after `client_timeout` (a lost message:
    /// the client goes on with its next write rather than stall).
    pub writes_timed_out: u64,
    pub reads_timed_out: u64,
}

impl Client {
    pub fn new(config: Arc<Config>, me: u64) -> Client {
        Client {
            config,
            me,
            req: 0,
            open: Open::None,
            reads: 0,
            misses: 0,
            behind_sum: 0,
            behind_max: 0,
            latencies: Vec::new(),
            misses_series: Vec::new(),
            writes_timed_out: 0,
            reads_timed_out: 0,
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        // Clients start a little apart, so they do not move in lockstep.
        let jitter = ctx.rng().gen_range(0..=self.config.think_time);
        ctx.set_timer(NEXT, jitter);
    }

    /// Whether a write (first) or a read (second) is open: still waiting
    /// at the end of the run, it is counted apart.
    pub fn open_at_end(&self) -> (bool, bool) {
        (
            matches!(self.open, Open::Write { .. }),
            matches!(self.open, Open::Read { .. }),
        )
    }

    /// Gives up the open write or read and goes on after the think time.
    fn time_out(&mut self, ctx: &mut Ctx<Msg>) {
        match self.open {
            Open::Write { .. } => self.writes_timed_out += 1,
            Open::Read { .. } => self.reads_timed_out += 1,
            Open::None => return,
        }
        self.open = Open::None;
        ctx.set_timer(NEXT, self.config.think_time);
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        if timer == TIMEOUT {
            self.time_out(ctx);
            return;
        }
        if timer != NEXT || ctx.now() >= self.config.stop {
            return;
        }
        self.req += 1;
        let key = ctx.rng().gen_range(0..self.config.keys);
        // A value no other write has: this client's id and request number.
        let value = (self.me * 1_000_000_000 + self.req) as i64;
        self.open = Open::Write { req: self.req, key };
        ctx.set_timer(TIMEOUT, self.config.client_timeout);
        ctx.send(
            STORE,
            Msg::Append {
                req: self.req,
                key,
                value,
            },
        );
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, _from: NodeId, msg: Msg) {
        match (msg, self.open) {
            (Msg::Appended { req, version }, Open::Write { req: r, key }) if req == r => {
                let min_version = match self.config.read {
                    ReadFrom::ReadModel => 0,
                    ReadFrom::WaitForVersion => version,
                };
                self.open = Open::Read {
                    req,
                    version,
                    sent: ctx.now(),
                };
                ctx.set_timer(TIMEOUT, self.config.client_timeout);
                ctx.send(
                    PROJECTOR,
                    Msg::Read {
                        req,
                        key,
                        min_version,
                    },
                );
            }
            (
                Msg::ReadReply {
                    req,
                    key_version,
                    model_version,
                    ..
                },
                Open::Read {
                    req: r,
                    version,
                    sent,
                },
            ) if req == r => {
                ctx.cancel_timer(TIMEOUT);
                let now = ctx.now();
                self.reads += 1;
                self.latencies.push(now - sent);
                if key_version < version {
                    self.misses += 1;
                    let behind = version.saturating_sub(model_version);
                    self.behind_sum += behind;
                    self.behind_max = self.behind_max.max(behind);
                    let b = (now / BUCKET) as usize;
                    if self.misses_series.len() <= b {
                        self.misses_series.resize(b + 1, 0);
                    }
                    self.misses_series[b] += 1;
                }
                self.open = Open::None;
                ctx.set_timer(NEXT, self.config.think_time);
            }
            _ => {}
        }
    }

    pub fn status(&self) -> Status {
        Status {
            role: "client",
            fields: vec![
                ("reads", self.reads.to_string()),
                ("misses", self.misses.to_string()),
            ],
        }
    }
}
