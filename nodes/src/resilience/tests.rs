//! The service and its sources, one handler at a time.

use std::sync::Arc;

use sim::arrivals::{Arrivals, OpenLoop};
use sim::dist::Dist;
use sim::node::{Cluster, NodeId, TimerId};
use sim::testing::Harness;
use sim::time::{ms, secs};

use super::*;

const SOURCE: NodeId = NodeId(1);
const OTHER: NodeId = NodeId(2);

fn config(workers: u32, queue_limit: u32, discipline: Discipline) -> Arc<Config> {
    Arc::new(Config {
        arrivals: Arrivals::poisson(50.0),
        service: Dist::Constant { value: ms(10) },
        workers,
        queue_limit,
        discipline,
        warmup: 0,
        stop: secs(10),
        end: secs(10),
        sources: 2,
    })
}

fn service(c: Arc<Config>) -> Harness<QueueNode> {
    Harness::new(
        Cluster::new(3, 0),
        SERVICE,
        QueueNode::Service(Service::new(c)),
    )
}

fn request(id: u64) -> Msg {
    Msg::Request { id }
}

fn served(id: u64) -> Msg {
    Msg::Reply { id, refused: None }
}

fn the_service(h: &Harness<QueueNode>) -> &Service {
    h.node.as_service().expect("the service")
}

#[test]
fn a_request_that_finds_a_free_worker_starts_at_once_and_is_answered_when_its_time_is_up() {
    let mut h = service(config(2, 10, Discipline::Fifo));
    let fx = h.deliver(SOURCE, request(1));
    assert_eq!(fx.timers_set(), [(TimerId(0), ms(10))]);
    let fx = h.deliver(OTHER, request(7));
    assert_eq!(fx.timers_set(), [(TimerId(1), ms(10))], "the second worker");
    h.advance(ms(10));
    let fx = h.fire(TimerId(1));
    assert_eq!(fx.sends(), [(OTHER, served(7))]);
    assert_eq!(the_service(&h).busy(), 1);
}

#[test]
fn a_full_queue_refuses_at_once_and_says_why() {
    let mut h = service(config(1, 1, Discipline::Fifo));
    h.deliver(SOURCE, request(1)); // served
    h.deliver(SOURCE, request(2)); // waits
    let fx = h.deliver(SOURCE, request(3));
    assert_eq!(
        fx.sends(),
        [(
            SOURCE,
            Msg::Reply {
                id: 3,
                refused: Some(Refusal::QueueFull)
            }
        )]
    );
    assert!(fx.timers_set().is_empty());
    let s = the_service(&h);
    assert_eq!((s.queued(), s.stats.refused_full), (1, 1));
}

#[test]
fn fifo_serves_the_oldest_waiting_request_and_lifo_the_newest() {
    for (discipline, next) in [(Discipline::Fifo, 2), (Discipline::Lifo, 4)] {
        let mut h = service(config(1, 10, discipline));
        for id in 1..=4 {
            h.deliver(SOURCE, request(id));
        }
        h.advance(ms(10));
        h.fire(TimerId(0)); // 1 is done; the worker takes the next
        h.advance(ms(10));
        let fx = h.fire(TimerId(0));
        assert_eq!(fx.sends(), [(SOURCE, served(next))], "{discipline:?}");
    }
}

#[test]
fn time_in_system_counts_the_wait_and_the_service() {
    let mut h = service(config(1, 10, Discipline::Fifo));
    h.deliver(SOURCE, request(1));
    h.advance(ms(4));
    h.deliver(SOURCE, request(2)); // waits 6ms, then 10ms of service
    h.advance(ms(6));
    h.fire(TimerId(0));
    h.advance(ms(10));
    h.fire(TimerId(0));
    let st = &the_service(&h).stats;
    assert_eq!(st.measured_served, 2);
    assert_eq!(st.mean_sojourn(), Some(ms(13) as f64)); // (10 + 16) / 2
    assert_eq!(st.mean_wait(), Some(ms(3) as f64)); // (0 + 6) / 2
                                                    // Over the 20ms: one in system for 4ms, two for 6ms, one for 10ms.
    let (system, queue, busy) = st.averages(ms(20), 0, 0).unwrap();
    assert!((system - 26.0 / 20.0).abs() < 1e-9, "{system}");
    assert!((queue - 6.0 / 20.0).abs() < 1e-9, "{queue}");
    assert!((busy - 1.0).abs() < 1e-9, "{busy}");
}

#[test]
fn a_source_sends_without_waiting_for_answers() {
    let arrivals = Arrivals {
        spacing: sim::arrivals::Spacing::Even,
        ..Arrivals::poisson(100.0)
    };
    let mut h = Harness::new(
        Cluster::new(2, 0),
        SOURCE,
        QueueNode::Source(Source::new(arrivals, secs(1))),
    );
    let fx = h.start();
    assert_eq!(fx.timers_set(), [(OpenLoop::ARRIVE, ms(10))]);
    for id in 1..=3 {
        h.advance(ms(10));
        let fx = h.fire(OpenLoop::ARRIVE);
        assert_eq!(fx.sends(), [(SERVICE, request(id))]);
        assert_eq!(fx.timers_set(), [(OpenLoop::ARRIVE, ms(10))]);
    }
}

#[test]
fn every_figure_the_report_prints_is_declared() {
    let c = config(1, 10, Discipline::Fifo);
    let mut h = service(c.clone());
    h.deliver(SOURCE, request(1));
    h.advance(ms(10));
    h.fire(TimerId(0));
    let q = Queue { config: c };
    let mut out = sim::metric::Metrics::new();
    let node = std::mem::replace(
        &mut h.node,
        QueueNode::Service(Service::new(q.config.clone())),
    );
    q.metrics(&[Some(node)], &mut out);
    sim::metric::check_declared(&out, METRICS).unwrap();
    assert!(out.len() > 10);
}
