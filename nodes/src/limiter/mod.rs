//! # Rate limiters, on one node and on many
//!
//! A rate limiter promises that a service sees at most `limit` requests
//! per `window`, and refuses the rest at once (a cheap "429" instead of a
//! queue that grows). What each algorithm means by "per window" differs,
//! and the difference is what a burst sees:
//!
//! - a **token bucket** (rate `limit / window`, `burst` tokens) allows a
//!   burst of `burst` at once and `limit / window` after it: any interval
//!   of length T passes at most `burst + T · limit / window`;
//! - a **leaky bucket**, modelled as a *queue* (the variant of Tanenbaum's
//!   networks text and nginx's `limit_req` without `nodelay`: requests
//!   wait and leave at a constant rate, a full queue refuses), not as a
//!   counter (which is the token bucket again, GCRA). The queue is the
//!   variant with something new to show: the output is smooth, at most one
//!   request per `window / limit`, and the price is latency, up to `burst`
//!   drain intervals;
//! - a **fixed window** counts per aligned window `[k·w, (k+1)·w)`; a
//!   burst that straddles a boundary gets `limit` on each side, so up to
//!   **twice the limit** passes in one window's length;
//! - a **sliding log** keeps the time of every request allowed in the last
//!   window: exact (never more than `limit` in any window's length), at
//!   the price of memory per request. It logs allowed requests only; some
//!   write-ups log refused ones too, which keeps a client that never
//!   stops refused for good;
//! - a **sliding window counter** (Cloudflare, "How we built rate limiting
//!   capable of scaling to millions of domains", 2017) keeps two counts and
//!   estimates the sliding window as `previous · (1 - elapsed/w) +
//!   current`, assuming the previous window's requests were spread evenly;
//!   a request passes while the estimate, this request included, is at
//!   most `limit` (write-ups differ on `<` or `<=` before counting it:
//!   one request either way). When they were not spread evenly the error
//!   is bounded but not small: a fraction `e` into a window, this window
//!   holds at most `limit - previous · (1 - e)`, so a true sliding window
//!   ending there holds at most `previous + current <= limit · (1 + e)`,
//!   **under twice the limit**, and nearly twice when the previous
//!   window's requests all came at its very end and steady load follows.
//!   Under steady load the assumption holds and the error all but
//!   vanishes.
//!
//! Spread over N limiter nodes (`limiters`, each source sending to one,
//! at least one source per limiter),
//! one global limit gets harder (`mode`):
//! - **local**: each node enforces the whole limit on what it sees, and the
//!   system passes up to N times the limit;
//! - **central**: every limiter asks one counter (`n1`) about every
//!   request. The limit is exact, each request pays a round trip, and when
//!   the counter is unreachable (`counter_timeout`) the limiter must choose
//!   (`fail`): **open** (allow: the limit is gone for as long as the
//!   partition lasts) or **closed** (refuse: the service is gone instead);
//! - **synced**: each node counts its own requests per fixed window and
//!   sends its count to the others every `sync_interval`; it allows a
//!   request while its count plus the others' last counts is under the
//!   limit. What it does not know is what the others allowed since their
//!   last report, so the overshoot grows with the sync interval. Every
//!   node's sync timer starts at 0, so when the interval divides the
//!   window a sync falls on each window boundary and carries the new
//!   window's count, 0: the first useful sync of a window comes one
//!   interval into it.
//!
//! The report merges the times every limiter let a request through and
//! measures what a service behind them would see: the count per aligned
//! window and, sliding over the whole run, the most in any interval one
//! window long, both against the limit; refusals by reason; and the
//! latency the limiter adds.
//!
//! Every decision reads the true time (`ctx.now()`), not the node's own
//! clock: a modelling limit. Real limiters read their clock, and skewed
//! clocks would move their windows apart; here clock skew cannot.
//!
//! Layout: `n1` is the counter (idle unless `mode = "central"`),
//! `n2..n(limiters+1)` the limiters, the servers after them the open-loop
//! sources ([`crate::resilience`]'s arrival processes), source `k` sending
//! to limiter `k mod limiters`. There must be a source per limiter at
//! least (a limiter with none would sit idle); when the sources are not a
//! multiple of the limiters, the first limiters get one source more and
//! so a larger share of the load.

mod algo;
mod counter;
mod node;
mod params;
mod report;
mod source;
mod stats;

pub use algo::{Algo, Decision};
pub use counter::Counter;
pub use node::Limiter;
pub use params::{Algorithm, Config, Failure, Mode, Params, MAX_LIMIT, MAX_LIMITERS};
pub use source::Source;
pub use stats::{Refusal, Shape, Stats};

use std::sync::Arc;

use sim::metric::{Figure, Metrics};
use sim::node::{Cluster, Disk, NodeId};
use sim::protocol::{NodeTable, Protocol};

pub const ROLES: &[&str] = &["counter", "limiter", "source"];

/// The central counter is always `n1`.
pub const COUNTER: NodeId = NodeId(0);

sim::message! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum Msg {
        /// Source -> limiter: one request.
        Request { id: u64 },
        /// Limiter -> source: allowed, or refused and why.
        Reply { id: u64, refused: Option<Refusal> },
        /// Limiter -> counter: may request `ask` pass?
        Ask { ask: u64 },
        Verdict { ask: u64, allowed: bool },
        /// Limiter -> the other limiters: what it allowed in fixed window
        /// `window` so far.
        Sync { window: u64, count: u64 },
    }
}

sim::node_enum! {
    /// A node of the rate-limited system.
    pub enum LimiterNode: Msg {
        Counter(Counter) { role: |_| "counter", get as_counter },
        Limiter(Limiter) { role: |_| "limiter", start, get as_limiter },
        Source(Source) { role: |_| "source", start, get as_source },
    }
}

/// The figures of the report, in the order it prints them.
pub const METRICS: &[Figure] = &[
    Figure::text("limiter"),
    Figure::rate("offered load"),
    Figure::rate("allowed rate"),
    Figure::number("allowed rate, times the limit"),
    Figure::count("allowed"),
    Figure::count("queued at the end"),
    Figure::count("refused, over limit"),
    Figure::count("refused, counter unreachable"),
    Figure::count("allowed, counter unreachable"),
    Figure::count("allowed per window max"),
    Figure::number("allowed per window max, times the limit"),
    Figure::count("sliding-window max"),
    Figure::number("sliding-window max, times the limit"),
    Figure::count("allowed over the limit"),
    Figure::ratio("allowed over the limit, share"),
    Figure::duration("added latency mean"),
    Figure::duration("added latency p50"),
    Figure::duration("added latency p99"),
    Figure::duration("added latency max"),
    Figure::series("allowed per window over time"),
    Figure::series("refused per window over time"),
];

/// The rate-limiter protocol: the counter, the limiters, their sources.
#[derive(Clone, Debug)]
pub struct RateLimit {
    pub config: Arc<Config>,
}

impl Protocol for RateLimit {
    type Node = LimiterNode;

    fn build(&self, id: NodeId, _cluster: &Cluster, _disk: &Disk) -> LimiterNode {
        let c = &self.config;
        let i = id.index();
        if id == COUNTER {
            LimiterNode::Counter(Counter::new(c.clone()))
        } else if i <= c.limiters {
            LimiterNode::Limiter(Limiter::new(c.clone(), id))
        } else {
            let k = i - 1 - c.limiters;
            let to = NodeId((1 + k % c.limiters) as u32);
            LimiterNode::Source(Source::new(c.arrivals.split(c.sources), c.stop, to))
        }
    }

    fn metrics(&self, nodes: &NodeTable<LimiterNode>, out: &mut Metrics) {
        let c = &self.config;
        out.text("limiter", c.describe());
        let limiters: Vec<Option<&Limiter>> = (1..=c.limiters)
            .map(|i| {
                nodes
                    .get(i)
                    .and_then(Option::as_ref)
                    .and_then(LimiterNode::as_limiter)
            })
            .collect();
        report::report(c, &limiters, out);
    }
}

#[cfg(test)]
mod tests;
