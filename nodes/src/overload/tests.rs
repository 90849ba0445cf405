//! The service and a caller, one handler at a time.

use std::sync::Arc;

use sim::node::{Cluster, NodeId, TimerId};
use sim::protocol::Protocol;
use sim::testing::Harness;
use sim::time::{ms, secs};

use super::backoff::Backoff;
use super::params::{BreakerSpec, BudgetSpec, Slowdown};
use super::*;

const CALLER: NodeId = NodeId(1);

fn params() -> Params {
    let mut p = Params {
        population: 1,
        ..Params::default()
    };
    p.service = sim::dist::DistSpec {
        dist: Some("constant".into()),
        value: Some(ms(10)),
        ..Default::default()
    };
    p.retry.backoff = Backoff::Fixed;
    p.retry.base = ms(100);
    p
}

fn config(p: Params) -> Arc<Config> {
    Arc::new(p.check(1, secs(100), secs(100)).unwrap())
}

fn server(c: Arc<Config>) -> Harness<OverloadNode> {
    Harness::new(
        Cluster::new(2, 0),
        SERVICE,
        OverloadNode::Server(Server::new(c)),
    )
}

fn caller(c: Arc<Config>) -> Harness<OverloadNode> {
    Harness::new(
        Cluster::new(2, 0),
        CALLER,
        OverloadNode::Caller(Caller::new(c, 0)),
    )
}

fn request(op: u64, deadline: u64) -> Msg {
    Msg::Request {
        op,
        attempt: 1,
        deadline,
        kind: 0,
    }
}

fn reply(op: u64, attempt: u32, answer: Answer) -> Msg {
    Msg::Reply {
        op,
        attempt,
        answer,
    }
}

fn stats(h: &Harness<OverloadNode>) -> &CallerStats {
    &h.node.as_caller().expect("a caller").stats
}

#[test]
fn under_occ_two_attempts_that_read_one_version_the_first_to_commit_wins_and_the_second_conflicts()
{
    let mut h = server(config(Params {
        resource: Resource::Occ,
        ..params()
    }));
    let fx = h.deliver(CALLER, request(1, secs(1)));
    assert_eq!(
        fx.timers_set(),
        [(TimerId(1), ms(10))],
        "timers from `workers` up"
    );
    h.advance(ms(2));
    h.deliver(CALLER, request(2, secs(1)));
    h.advance(ms(8));
    assert_eq!(
        h.fire(TimerId(1)).sends(),
        [(CALLER, reply(1, 1, Answer::Ok))]
    );
    h.advance(ms(2));
    assert_eq!(
        h.fire(TimerId(2)).sends(),
        [(CALLER, reply(2, 1, Answer::Conflict))]
    );
    // A read after the commit sees the new version and commits.
    h.deliver(CALLER, request(3, secs(1)));
    h.advance(ms(10));
    assert_eq!(
        h.fire(TimerId(3)).sends(),
        [(CALLER, reply(3, 1, Answer::Ok))]
    );
}

#[test]
fn with_drop_expired_a_worker_skips_requests_whose_caller_stopped_waiting_and_says_so() {
    let mut h = server(config(Params {
        drop_expired: true,
        ..params()
    }));
    h.deliver(CALLER, request(1, secs(1)));
    h.deliver(CALLER, request(2, ms(5))); // expires while it waits
    h.deliver(CALLER, request(3, secs(1)));
    h.advance(ms(10));
    let fx = h.fire(TimerId(0));
    assert_eq!(
        fx.sends(),
        [
            (CALLER, reply(1, 1, Answer::Ok)),
            (CALLER, reply(2, 1, Answer::Expired))
        ]
    );
    assert_eq!(fx.timers_set(), [(TimerId(0), ms(10))], "3 is served");
    assert_eq!(h.node.as_server().unwrap().expired, 1);
}

#[test]
fn a_slowdown_stretches_the_service_times_drawn_inside_it() {
    let mut h = server(config(Params {
        slowdown: Some(Slowdown {
            at: secs(1),
            length: secs(1),
            factor: 4.0,
        }),
        workers: 2,
        ..params()
    }));
    assert_eq!(
        h.deliver(CALLER, request(1, secs(1))).timers_set(),
        [(TimerId(0), ms(10))]
    );
    h.advance(secs(1));
    assert_eq!(
        h.deliver(CALLER, request(2, secs(1))).timers_set(),
        [(TimerId(1), ms(40))]
    );
}

#[test]
fn a_timed_out_attempt_is_retried_after_its_backoff_and_its_late_answer_is_not_a_success() {
    let mut h = caller(config(params()));
    let fx = h.start();
    assert_eq!(fx.sends(), [(SERVICE, request(1, secs(1)))]);
    assert_eq!(fx.timers_set(), [(TimerId(3), secs(1))]);
    h.advance(secs(1));
    let fx = h.fire(TimerId(3));
    assert!(fx.sends().is_empty());
    assert_eq!(fx.timers_set(), [(TimerId(4), ms(100))], "fixed backoff");
    h.advance(ms(50));
    h.deliver(SERVICE, reply(1, 1, Answer::Ok));
    assert_eq!((stats(&h).late_served, stats(&h).succeeded), (1, 0));
    h.advance(ms(50));
    let fx = h.fire(TimerId(4));
    assert_eq!(
        fx.sends(),
        [(
            SERVICE,
            Msg::Request {
                op: 1,
                attempt: 2,
                deadline: secs(1),
                kind: 0,
            }
        )]
    );
    let fx = h.deliver(SERVICE, reply(1, 2, Answer::Ok));
    assert_eq!(fx.timers_cancelled(), [TimerId(3)]);
    let st = stats(&h);
    assert_eq!((st.operations, st.succeeded, st.attempts), (1, 1, 2));
}

#[test]
fn the_deadline_travels_with_each_attempt_as_the_time_left() {
    let mut h = caller(config(Params {
        deadline: Some(ms(1500)),
        ..params()
    }));
    h.start();
    h.advance(secs(1));
    h.fire(TimerId(3));
    h.advance(ms(100));
    let fx = h.fire(TimerId(4));
    assert_eq!(
        fx.sends(),
        [(
            SERVICE,
            Msg::Request {
                op: 1,
                attempt: 2,
                deadline: ms(400),
                kind: 0,
            }
        )]
    );
    assert_eq!(fx.timers_set(), [(TimerId(3), ms(400))]);
}

#[test]
fn without_a_token_in_the_retry_budget_an_operation_fails_instead_of_retrying() {
    let mut h = caller(config(Params {
        population: 2,
        retry_budget: Some(BudgetSpec {
            ratio: 0.0,
            max_tokens: 1.0,
        }),
        ..params()
    }));
    h.start();
    h.deliver(SERVICE, reply(1, 1, Answer::QueueFull));
    let fx = h.deliver(SERVICE, reply(2, 1, Answer::QueueFull));
    assert!(fx.timers_set().is_empty(), "no retry for the second");
    let st = stats(&h);
    assert_eq!(st.ended_by_of(Failure::Budget), 1);
    assert_eq!(st.attempt_failures_of(Failure::QueueFull), 2);
}

#[test]
fn an_open_breaker_ends_operations_without_sending_them() {
    let mut h = caller(config(Params {
        population: 2,
        breaker: Some(BreakerSpec {
            window: 2,
            min_calls: 2,
            ..BreakerSpec::default()
        }),
        ..params()
    }));
    assert_eq!(h.start().sends().len(), 2, "both sent while closed");
    h.deliver(SERVICE, reply(1, 1, Answer::QueueFull));
    h.deliver(SERVICE, reply(2, 1, Answer::QueueFull));
    assert_eq!(
        h.node.as_caller().unwrap().breaker.as_ref().unwrap().opened,
        1
    );
    h.advance(ms(100));
    let fx = h.fire(TimerId(4)); // op 1's backoff is up: its retry
    assert!(fx.sends().is_empty(), "refused by the open breaker");
    assert_eq!(stats(&h).ended_by_of(Failure::BreakerOpen), 1);
}

#[test]
fn every_figure_the_report_prints_is_declared() {
    let c = config(Params {
        breaker: Some(BreakerSpec::default()),
        retry_budget: Some(BudgetSpec {
            ratio: 0.1,
            max_tokens: 10.0,
        }),
        deadline: Some(secs(2)),
        drop_expired: true,
        ..params()
    });
    let mut h = caller(c.clone());
    h.start();
    h.deliver(SERVICE, reply(1, 1, Answer::Ok));
    let p = Overload::new(c.clone());
    let mut out = sim::metric::Metrics::new();
    let node = std::mem::replace(&mut h.node, OverloadNode::Server(Server::new(c.clone())));
    p.metrics(
        &[Some(OverloadNode::Server(Server::new(c))), Some(node)],
        &mut out,
    );
    sim::metric::check_declared(&out, METRICS).unwrap();
    assert!(out.len() > 20, "{}", out.len());
}

fn front(pools: Pools, propagate: bool) -> Harness<OverloadNode> {
    let backend = |value| super::params::BackendSpec {
        service: sim::dist::DistSpec {
            dist: Some("constant".into()),
            value: Some(value),
            ..Default::default()
        },
        workers: 10,
        queue_limit: 10,
        share: 1.0,
    };
    let c = Arc::new(
        Params {
            workers: 2,
            pools,
            propagate_deadline: propagate,
            front_timeout: secs(10),
            backends: vec![backend(secs(5)), backend(ms(10))],
            ..params()
        }
        .check(3, secs(100), secs(100))
        .unwrap(),
    );
    Harness::new(
        Cluster::new(4, 0),
        SERVICE,
        OverloadNode::Front(Front::new(c)),
    )
}

const CALLER_OF_FRONT: NodeId = NodeId(3);

fn for_backend(op: u64, kind: u8) -> Msg {
    Msg::Request {
        op,
        attempt: 1,
        deadline: secs(1),
        kind,
    }
}

#[test]
fn the_front_holds_a_worker_for_the_backend_call_and_passes_on_the_time_left() {
    let mut h = front(Pools::Shared, true);
    let fx = h.deliver(CALLER_OF_FRONT, for_backend(7, 0));
    assert_eq!(
        fx.sends(),
        [(
            NodeId(1),
            Msg::Request {
                op: 1,
                attempt: 0,
                deadline: secs(1),
                kind: 0
            }
        )]
    );
    assert_eq!(fx.timers_set(), [(TimerId(1), secs(1))]);
    // The caller's time runs out: the front stops waiting and frees the worker.
    h.advance(secs(1));
    let fx = h.fire(TimerId(1));
    assert_eq!(
        fx.sends(),
        [(CALLER_OF_FRONT, reply(7, 1, Answer::Expired))]
    );
    assert_eq!(h.node.as_front().unwrap().busy(), 0);
    // The backend's answer comes too late and is dropped.
    let fx = h.deliver(NodeId(1), reply(1, 0, Answer::Ok));
    assert!(fx.sends().is_empty());
}

#[test]
fn without_deadline_propagation_the_front_waits_its_own_timeout() {
    let mut h = front(Pools::Shared, false);
    let fx = h.deliver(CALLER_OF_FRONT, for_backend(7, 0));
    assert_eq!(fx.timers_set(), [(TimerId(1), secs(10))]);
}

#[test]
fn in_a_shared_pool_the_slow_backend_takes_every_worker_and_separate_pools_keep_one_for_the_healthy(
) {
    for (pools, healthy_waits) in [(Pools::Shared, true), (Pools::Separate, false)] {
        let mut h = front(pools, false);
        h.deliver(CALLER_OF_FRONT, for_backend(1, 0));
        h.deliver(CALLER_OF_FRONT, for_backend(2, 0));
        let fx = h.deliver(CALLER_OF_FRONT, for_backend(3, 1));
        assert_eq!(fx.sends().is_empty(), healthy_waits, "{pools:?}");
        // Shared: the healthy request waits behind the slow ones. Separate:
        // the second slow request waits in the slow pool's queue instead.
        assert_eq!(h.node.as_front().unwrap().queued(), 1, "{pools:?}");
    }
}

#[test]
fn a_too_short_period_names_its_field_once() {
    let e = Params {
        breaker: Some(BreakerSpec {
            open_for: 0,
            ..BreakerSpec::default()
        }),
        ..params()
    }
    .check(1, secs(100), secs(100))
    .unwrap_err();
    assert_eq!(e.0, "breaker");
    assert!(
        e.1.starts_with("breaker: open_for = \"0s\": must be at least"),
        "{}",
        e.1
    );
    let e = Params {
        retry: super::params::RetrySpec {
            base: 0,
            ..Default::default()
        },
        ..params()
    }
    .check(1, secs(100), secs(100))
    .unwrap_err();
    assert_eq!(e.0, "retry");
    assert!(
        e.1.starts_with("retry: base = \"0s\": must be at least"),
        "{}",
        e.1
    );
}
