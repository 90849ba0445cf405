//! The balancer, its policies and its backends, one handler at a time.

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sim::node::{Cluster, NodeId};
use sim::testing::Harness;
use sim::time::{ms, secs};

use super::pick::Picker;
use super::*;

const SOURCE: NodeId = NodeId(4);

fn params(policy: Policy) -> Params {
    Params {
        policy,
        backends: Some(3),
        ..Params::default()
    }
}

fn config(p: Params) -> Arc<Config> {
    Arc::new(p.check(5, secs(10), secs(10)).expect("valid"))
}

fn balancer(c: Arc<Config>) -> Harness<BalancerNode> {
    Harness::new(
        Cluster::new(5, 0),
        BALANCER,
        BalancerNode::Balancer(Balancer::new(c)),
    )
}

fn the_balancer(h: &Harness<BalancerNode>) -> &Balancer {
    h.node.as_balancer().expect("the balancer")
}

/// The share of `picks` picks each backend gets, with every backend up and
/// none with anything outstanding.
fn split(p: &mut Picker, backends: usize, picks: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let up = vec![true; backends];
    let idle = vec![0; backends];
    let mut n = vec![0usize; backends];
    for key in 0..picks {
        n[p.pick(&up, &idle, key as u64, &mut rng).unwrap()] += 1;
    }
    n.iter().map(|&k| k as f64 / picks as f64).collect()
}

fn weighted(naive: bool) -> Picker {
    let mut p = params(Policy::WeightedRoundRobin);
    p.weights = vec![3, 2, 1];
    p.naive_weights = naive;
    Picker::new(&config(p))
}

#[test]
fn smooth_weighted_round_robin_spreads_3_2_1_as_a_b_a_c_b_a() {
    let mut p = weighted(false);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let seq: Vec<usize> = (0..12)
        .map(|_| p.pick(&[true; 3], &[0; 3], 0, &mut rng).unwrap())
        .collect();
    assert_eq!(seq, [0, 1, 0, 2, 1, 0, 0, 1, 0, 2, 1, 0]);
    let s = split(&mut weighted(false), 3, 6000);
    assert_eq!(s, [0.5, 2000.0 / 6000.0, 1000.0 / 6000.0]);
}

#[test]
fn the_naive_weighted_pick_gives_3_2_1_a_77_8_16_7_5_6_split() {
    let s = split(&mut weighted(true), 3, 180_000);
    for (got, want) in s.iter().zip([14.0 / 18.0, 3.0 / 18.0, 1.0 / 18.0]) {
        assert!((got - want).abs() < 0.005, "{s:?}");
    }
}

#[test]
fn round_robin_takes_each_backend_in_turn_and_skips_one_out_of_rotation() {
    let mut p = Picker::new(&config(params(Policy::RoundRobin)));
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let up = [true, false, true];
    let seq: Vec<usize> = (0..4)
        .map(|_| p.pick(&up, &[0; 3], 0, &mut rng).unwrap())
        .collect();
    assert_eq!(seq, [0, 2, 0, 2]);
    assert_eq!(p.pick(&[false; 3], &[0; 3], 0, &mut rng), None);
}

#[test]
fn least_outstanding_takes_the_least_loaded_and_two_choices_the_lesser_of_two() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut p = Picker::new(&config(params(Policy::LeastOutstanding)));
    assert_eq!(p.pick(&[true; 3], &[4, 1, 2], 0, &mut rng), Some(1));
    assert_eq!(
        p.pick(&[true, false, true], &[4, 1, 2], 0, &mut rng),
        Some(2)
    );
    // Two choices never takes the most loaded of three: it loses to
    // whichever other backend is drawn with it.
    let mut p = Picker::new(&config(params(Policy::TwoChoices)));
    for _ in 0..100 {
        assert_ne!(p.pick(&[true; 3], &[9, 1, 2], 0, &mut rng), Some(0));
    }
}

#[test]
fn consistent_hashing_keeps_a_key_on_one_backend_and_moves_only_a_down_backends_keys() {
    let mut p = Picker::new(&config(params(Policy::ConsistentHash)));
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut moved = 0;
    for key in 0..300 {
        let a = p.pick(&[true; 3], &[0; 3], key, &mut rng).unwrap();
        assert_eq!(p.pick(&[true; 3], &[5, 0, 0], key, &mut rng), Some(a));
        let b = p
            .pick(&[true, false, true], &[0; 3], key, &mut rng)
            .unwrap();
        if a != 1 {
            assert_eq!(a, b, "key {key} moved though its backend is up");
        } else {
            moved += 1;
        }
    }
    assert!(moved > 50, "{moved}");
}

#[test]
fn a_request_goes_to_a_backend_and_its_reply_back_to_the_source() {
    let mut h = balancer(config(params(Policy::RoundRobin)));
    let fx = h.deliver(SOURCE, Msg::Request { id: 7, key: 3 });
    assert_eq!(fx.sends(), [(NodeId(1), Msg::Request { id: 1, key: 3 })]);
    assert_eq!(fx.timers_set(), [(lb::TIMEOUT, secs(1))]);
    assert_eq!(the_balancer(&h).backends[0].outstanding, 1);
    h.advance(ms(12));
    // A reply with that id from another backend (a late one from before a
    // restart) is not this request's answer.
    let fx = h.deliver(
        NodeId(2),
        Msg::Reply {
            id: 1,
            refused: None,
        },
    );
    assert!(fx.sends().is_empty());
    assert_eq!(the_balancer(&h).backends[0].outstanding, 1);
    let fx = h.deliver(
        NodeId(1),
        Msg::Reply {
            id: 1,
            refused: None,
        },
    );
    assert_eq!(
        fx.sends(),
        [(
            SOURCE,
            Msg::Reply {
                id: 7,
                refused: None
            }
        )]
    );
    let b = the_balancer(&h);
    assert_eq!((b.backends[0].outstanding, b.stats.served), (0, 1));
    assert_eq!(b.stats.mean_response(), Some(ms(12) as f64));
}

#[test]
fn an_unanswered_request_times_out_and_enough_failures_in_a_row_eject_the_backend() {
    let mut p = params(Policy::RoundRobin);
    p.timeout = ms(100);
    p.outlier_ejection = Some(Outlier {
        consecutive_failures: 2,
        ejection_time: secs(5),
        max_ejection_time: secs(300),
        // 0.3 of 3 backends floors to none; one may always be ejected.
        max_ejected: 0.3,
    });
    let mut h = balancer(config(p));
    // Six requests, two to each backend; only n3 and n4 answer.
    for id in 1..=6 {
        h.deliver(SOURCE, Msg::Request { id, key: 0 });
    }
    for lb_id in [2, 3, 5, 6] {
        h.deliver(
            NodeId(if lb_id % 3 == 2 { 2 } else { 3 }),
            Msg::Reply {
                id: lb_id,
                refused: None,
            },
        );
    }
    h.advance(ms(100));
    let fx = h.fire(lb::TIMEOUT);
    let timed_out: Vec<_> = fx.sent_to(SOURCE);
    assert_eq!(timed_out.len(), 2, "{timed_out:?}");
    assert!(timed_out.iter().all(|m| matches!(
        m,
        Msg::Reply {
            refused: Some(Refusal::Timeout),
            ..
        }
    )));
    let b = the_balancer(&h);
    assert_eq!((b.stats.timed_out, b.stats.ejections), (2, 1));
    // n2 is out: the next requests go to n3 and n4 only.
    for id in 7..=10 {
        let fx = h.deliver(SOURCE, Msg::Request { id, key: 0 });
        assert_ne!(fx.sends()[0].0, NodeId(1));
    }
    // A second backend failing is not ejected: 2 of 3 is past max_ejected.
    for id in 11..=14 {
        h.deliver(SOURCE, Msg::Request { id, key: 0 });
    }
    h.advance(ms(200));
    h.fire(lb::TIMEOUT);
    assert_eq!(the_balancer(&h).stats.ejections, 1);
}

#[test]
fn health_checks_take_a_silent_backend_out_and_bring_it_back() {
    let mut p = params(Policy::RoundRobin);
    p.health_check = Some(HealthCheck {
        interval: secs(1),
        timeout: ms(100),
        unhealthy_threshold: 2,
        healthy_threshold: 1,
    });
    let mut h = balancer(config(p));
    h.start();
    for round in 1..=2 {
        h.advance(secs(1));
        let fx = h.fire(lb::PROBE);
        assert_eq!(fx.sends().len(), 3);
        for b in [2, 3] {
            h.deliver(NodeId(b), Msg::ProbeOk { seq: round });
        }
        h.advance(ms(100));
        h.fire(lb::PROBE_DEADLINE);
    }
    assert!(the_balancer(&h).backends[0].unhealthy);
    let fx = h.deliver(SOURCE, Msg::Request { id: 1, key: 0 });
    assert_ne!(fx.sends()[0].0, NodeId(1));
    h.advance(ms(900));
    h.fire(lb::PROBE);
    for b in [1, 2, 3] {
        h.deliver(NodeId(b), Msg::ProbeOk { seq: 3 });
    }
    h.advance(ms(100));
    h.fire(lb::PROBE_DEADLINE);
    assert!(!the_balancer(&h).backends[0].unhealthy);
}

#[test]
fn a_backend_answers_probes_at_once_and_serves_requests_through_its_queue() {
    let c = config(params(Policy::RoundRobin));
    let mut h = Harness::new(
        Cluster::new(5, 0),
        NodeId(1),
        BalancerNode::Backend(Backend::new(c.backend[0].clone())),
    );
    let fx = h.deliver(BALANCER, Msg::Probe { seq: 4 });
    assert_eq!(fx.sends(), [(BALANCER, Msg::ProbeOk { seq: 4 })]);
    let fx = h.deliver(BALANCER, Msg::Request { id: 9, key: 0 });
    let (timer, took) = fx.timers_set()[0];
    h.advance(took);
    let fx = h.fire(timer);
    assert_eq!(
        fx.sends(),
        [(
            BALANCER,
            Msg::Reply {
                id: 9,
                refused: None
            }
        )]
    );
}

#[test]
fn bad_parameters_are_refused_with_the_field_and_what_would_do() {
    let mut p = params(Policy::WeightedRoundRobin);
    let e = p.check(5, secs(10), secs(10)).unwrap_err();
    assert_eq!(e.0, "weights");
    assert!(e.1.contains("weights = [3, 2, 1]"), "{}", e.1);
    p.weights = vec![1, 2];
    assert_eq!(p.check(5, secs(10), secs(10)).unwrap_err().0, "weights");
    p.weights = vec![u32::MAX, 1, 1];
    let e = p.check(5, secs(10), secs(10)).unwrap_err();
    assert!(e.1.contains("above the most, 1000000"), "{}", e.1);
    let mut p = params(Policy::RoundRobin);
    p.outlier_ejection = Some(Outlier {
        consecutive_failures: 5,
        ejection_time: secs(10),
        max_ejection_time: secs(300),
        max_ejected: 0.0,
    });
    let e = p.check(5, secs(10), secs(10)).unwrap_err();
    assert!(e.1.contains("must be above 0"), "{}", e.1);
    let mut p = params(Policy::Random);
    p.backends = Some(4);
    let e = p.check(5, secs(10), secs(10)).unwrap_err();
    assert!(e.1.contains("servers = 6"), "{}", e.1);
    let mut p = params(Policy::Random);
    p.slowdown.insert("n9".into(), 10.0);
    assert!(p
        .check(5, secs(10), secs(10))
        .unwrap_err()
        .1
        .contains("n2..n4"));
}

#[test]
fn every_figure_the_report_prints_is_declared() {
    let c = config(params(Policy::RoundRobin));
    let mut h = balancer(c.clone());
    h.deliver(SOURCE, Msg::Request { id: 1, key: 0 });
    h.advance(ms(5));
    h.deliver(
        NodeId(1),
        Msg::Reply {
            id: 1,
            refused: None,
        },
    );
    let node = std::mem::replace(
        &mut h.node,
        BalancerNode::Balancer(Balancer::new(c.clone())),
    );
    let backend = BalancerNode::Backend(Backend::new(c.backend[0].clone()));
    let mut out = sim::metric::Metrics::new();
    LoadBalancer { config: c }.metrics(&[Some(node), Some(backend), None, None, None], &mut out);
    sim::metric::check_declared(&out, METRICS).unwrap();
    assert!(out.len() > 15);
}
