//! The projection and its rebuild (whole runs: tui's `it` binary, `whole_runs::cqrs`).

use super::store::{hash, project, Model};
use super::Event;

fn events() -> Vec<Event> {
    vec![
        Event {
            version: 1,
            key: 1,
            value: 10,
            at: 100,
        },
        Event {
            version: 2,
            key: 2,
            value: 20,
            at: 200,
        },
        Event {
            version: 3,
            key: 1,
            value: 30,
            at: 300,
        },
    ]
}

fn build(now: &[u64], arrival: bool) -> Model {
    let mut m = Model::new();
    for (e, &t) in events().iter().zip(now) {
        project(&mut m, e, t, arrival);
    }
    m
}

#[test]
fn a_projection_of_the_events_alone_rebuilds_the_same_model() {
    // Applied at different times (live, then replayed), same model.
    let live = build(&[150, 250, 400], false);
    let replayed = build(&[9_000, 9_000, 9_000], false);
    assert_eq!(live, replayed);
    assert_eq!(hash(&live), hash(&replayed));
    assert_eq!(live[&1].value, 30);
    assert_eq!(live[&1].version, 3);
}

#[test]
fn a_projection_that_reads_the_clock_rebuilds_another_model() {
    let live = build(&[150, 250, 400], true);
    let replayed = build(&[9_000, 9_000, 9_000], true);
    assert_ne!(live, replayed);
    assert_ne!(hash(&live), hash(&replayed));
}
