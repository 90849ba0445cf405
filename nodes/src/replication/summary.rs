//! Replication's figures in the run report.

use sim::metric::{Metric, Unit};
use sim::protocol::NodeTable;
use sim::time::{fmt_duration, Nanos};

use super::invariants::lost_in;
use super::{server, Checker, Mode, Params, ReadRouting, ReplNode, Role, Server};

pub(super) fn metrics(p: &Params, c: &Checker, nodes: &NodeTable<ReplNode>, out: &mut Vec<Metric>) {
    let servers: Vec<&Server> = nodes
        .iter()
        .flatten()
        .filter_map(ReplNode::as_server)
        .collect();
    out.push(Metric::text(
        "replication",
        format!(
            "{}, reads {}, fencing {}, heartbeat {} / timeout {}, lease {}",
            match p.mode {
                Mode::Sync => "sync".to_string(),
                Mode::Async => "async".to_string(),
                Mode::SemiSync => format!("semi-sync ({} ack)", p.semi_sync_acks),
            },
            match p.reads {
                ReadRouting::Primary => "from the primary",
                ReadRouting::Replicas => "from any replica",
                ReadRouting::ReadYourWrites => "from caught-up replicas (read-your-writes)",
            },
            if p.fencing { "on" } else { "off" },
            fmt_duration(p.heartbeat_interval),
            fmt_duration(p.heartbeat_timeout),
            if p.fencing {
                fmt_duration(p.lease())
            } else {
                "none".into()
            },
        ),
    ));
    let false_fo = c.failovers.iter().filter(|f| f.old_alive).count();
    out.push(
        Metric::count("failovers", c.failovers.len() as u64).note(
            c.failovers
                .iter()
                .map(|f| {
                    format!(
                        ", epoch {}: {} -> n{} at {}",
                        f.epoch,
                        f.old.map_or("-".into(), |o| format!("n{}", o.0 + 1)),
                        f.new.0 + 1,
                        fmt_duration(f.promoted_at)
                    )
                })
                .collect::<String>(),
        ),
    );
    out.push(
        Metric::count("false failovers", false_fo as u64)
            .note("(the replaced primary was still running: paused, slow or cut off)"),
    );
    let rtos: Vec<Option<Nanos>> = c
        .failovers
        .iter()
        .map(|f| f.first_write.map(|w| w.saturating_sub(f.outage_start)))
        .collect();
    let rto = "failover time (RTO)";
    out.push(match rtos.iter().flatten().max() {
        None if c.failovers.is_empty() => Metric::none(rto, "none (no failover)"),
        None => Metric::none(rto, "unknown (no new primary accepted a write)"),
        Some(max) => Metric::duration(rto, *max).note(format!(
            "at most (from the old primary's crash, lease lapse or last heartbeat, whichever came first, to the new primary's first acknowledged write); each: {}",
            rtos.iter()
                .map(|r| r.map_or("-".into(), fmt_duration))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    });
    // Writes lost so far, and those the current primary's log lacks now.
    let mut lost = c.lost.clone();
    if let Some(cur) = servers
        .iter()
        .filter(|s| s.role() == Role::Primary)
        .max_by_key(|s| s.epoch())
    {
        for k in lost_in(&c.acked, cur) {
            lost.push(c.acked[&k]);
        }
    }
    lost.sort_unstable();
    let acked_total = c.acked.len() + c.lost.len();
    // Not the history checker's `lost writes` (acknowledged writes that later
    // reads missed): a dropped write that a later write overwrote is missed
    // by no read, and one a deposed primary still serves is seen by some.
    out.push(
        Metric::count("acked writes dropped by failover", lost.len() as u64).note(format!(
            "of {acked_total} acknowledged writes are missing from the latest primary's log; \
             the history's `lost writes` below counts only acknowledged writes that later reads missed"
        )),
    );
    let rpo_name = "data loss window (RPO)";
    out.push(match (lost.first(), lost.last()) {
            (Some(a), Some(b)) => {
                // Per failover: how far before the outage began its earliest
                // lost write was acknowledged. Writes a deposed primary
                // acknowledged after that (a split brain) are lost too: the
                // span from the first to the last counts for them.
                let per_failover = c.failovers.iter().filter_map(|f| f.rpo).max();
                let late = c.lost.len() < lost.len();
                let rpo = match per_failover {
                    Some(r) if !late => r,
                    Some(r) => r.max(b - a),
                    None => b - a,
                };
                Metric::duration(rpo_name, rpo).note(format!(
                    "(per failover, from the earliest lost write's acknowledgement to the outage start; the lost writes were acknowledged between {} and {})",
                    fmt_duration(*a),
                    fmt_duration(*b)
                ))
            }
            _ => Metric::duration(rpo_name, 0).note("(nothing lost)"),
        });
    let mut total = server::Stats::default();
    for (before, current) in c.stats.values() {
        total.add(before);
        total.add(current);
    }
    let sum = |f: fn(&server::Stats) -> u64| f(&total);
    out.push(Metric::count("writes refused", sum(|s| s.writes_refused)).note(format!(
        "write attempts (not the primary, or no lease; a client retries a refused attempt while its retry policy allows), and {} appends refused by fencing",
        sum(|s| s.appends_fenced)
    )));
    let timed_out: u64 = nodes
        .iter()
        .flatten()
        .filter_map(ReplNode::as_client)
        .map(|c| c.stats().writes_timed_out)
        .sum();
    out.push(
        Metric::count("refused for want of a lease", sum(|s| s.lease_refusals))
            .note("reads and writes a primary refused because its lease had run out (fencing)"),
    );
    out.push(
        Metric::count("writes blocked", timed_out).note("write attempts got no answer in time"),
    );
    out.push(Metric::count("reads", sum(|s| s.reads_primary)).note(format!(
            "served by the primary, {} by replicas, {} sent on to the primary by a replica behind, {} attempts refused (retried while the client's retry policy allows)",
            sum(|s| s.reads_replica),
            sum(|s| s.reads_behind),
            sum(|s| s.reads_refused)
    )));
    out.push(
        Metric::duration("replication lag max", c.lag_max.0).note(format!(
            "({} entries; mean {}, sampled every 10ms)",
            c.lag_max.1,
            fmt_duration((c.lag_sum.0 / u128::from(c.lag_sum.1.max(1))) as Nanos)
        )),
    );
    // The lag over time, in ms to a tenth (a sparkline and the values).
    let points = c
        .lag_by_second
        .iter()
        .enumerate()
        .map(|(s, &lag)| {
            (
                s as Nanos * 1_000_000_000,
                (lag as f64 / 1e5).round() / 10.0,
            )
        })
        .collect();
    out.push(
        Metric::series("replication lag by second", Unit::Number, points)
            .lead("most in each second, ms, from 0s:"),
    );
    out.push(
        Metric::count("serving primaries at once", c.primaries_max as u64).note(
            "at most (primaries holding a lease, or any primary without fencing; sampled every 10ms)",
        ),
    );
    out.push(
        Metric::count("served by a deposed primary", c.stale_serves)
            .note("reads or writes after a newer primary had served (split brain)"),
    );
    out.push(
        Metric::count("divergent keys", c.divergent_max as u64)
            .note("at most between two serving primaries' data (keys k0..k63, sampled every 10ms)"),
    );
}
