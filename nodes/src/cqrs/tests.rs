//! The projection and its rebuild.

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

/// The report of the read-model-lag setup on seed 1 with `network` added.
fn run(system: &str, network: &str, faults: &str) -> Result<String, String> {
    use sim::kernel::TraceMode;
    use sim::report::Report;
    let c = crate::builtin();
    let src = format!(
        "[meta]\nname = \"cqrs/t\"\nduration = \"6s\"\n\n[system]\nprotocol = \"cqrs\"\n{system}\n\
         [topology]\nservers = 6\n\n[network]\nlatency = {{ dist = \"uniform\", min = \"1ms\", max = \"3ms\" }}\n{network}\n\
         [workload]\nstop = \"4s\"\n\n{faults}"
    );
    let s = c.parse("t.toml", &src).map_err(|e| e.to_string())?;
    Ok(Report::build(&s, &c.run(&s, 1, TraceMode::Off).unwrap()).render())
}

fn figure(report: &str, name: &str) -> u64 {
    let line = report
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name} in\n{report}"));
    line[name.len()..]
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no count in {line}"))
}

#[test]
fn a_lost_message_times_the_client_out_rather_than_stall_it() {
    let clean = run("", "", "").unwrap();
    assert_eq!(figure(&clean, "writes timed out"), 0, "{clean}");
    assert_eq!(figure(&clean, "reads timed out"), 0, "{clean}");
    let lossy = run("client_timeout = \"200ms\"\n", "loss = 0.02\n", "").unwrap();
    let timed_out = figure(&lossy, "writes timed out") + figure(&lossy, "reads timed out");
    assert!(timed_out > 0, "{lossy}");
    // The clients go on: most of the clean run's writes still happen.
    assert!(
        figure(&lossy, "writes") * 10 >= figure(&clean, "writes") * 8,
        "{lossy}\n{clean}"
    );
}

#[test]
fn a_crash_of_the_store_or_projector_is_refused() {
    let crash =
        |t: &str| format!("[[faults]]\nat = \"1s\"\naction = \"crash\"\ntarget = \"{t}\"\n");
    for t in ["n1", "n2", "random", "projector"] {
        let e = run("", "", &crash(t)).unwrap_err();
        assert!(e.contains("can crash only n3"), "{t}: {e}");
    }
    assert!(run("", "", &crash("n4")).is_ok());
}
