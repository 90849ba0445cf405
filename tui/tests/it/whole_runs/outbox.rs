//! The outbox on whole runs: what a short relay window loses, and the
//! crashes and settings the protocol refuses.

use sim::report::Report;

use crate::common::lessons::count;

/// A report of protocol "outbox" on seed 1 with `system` and `extra`.
fn run(system: &str, extra: &str) -> Result<Report, String> {
    let src = format!(
        "[meta]\nname = \"outbox/t\"\nduration = \"3s\"\n\n[system]\nprotocol = \"outbox\"\n{system}\n\
         [topology]\nservers = 3\n\n[network]\nlatency = {{ dist = \"uniform\", min = \"1ms\", max = \"3ms\" }}\n\n\
         [workload]\nstop = \"2s\"\n\n{extra}"
    );
    super::report("t.toml", &src, 1).map_err(|e| e.to_string())
}

#[test]
fn a_window_shorter_than_the_round_trip_loses_nothing() {
    // The broker's round trip is 2 to 6ms; the relay marks after 1ms, so
    // every acknowledgement comes late and is taken when it comes.
    let crash = "[[faults]]\nat = \"1s\"\naction = \"crash\"\ntarget = \"n1\"\n\n\
                 [[faults]]\nat = \"1.1s\"\naction = \"restart\"\ntarget = \"n1\"\n";
    let r = run(
        "publish = \"outbox\"\ndedup = true\npublish_delay = \"1ms\"\nrelay_interval = \"5ms\"\n",
        crash,
    )
    .unwrap();
    let committed = count(&r, "orders committed");
    assert!(committed > 100, "{}", r.render());
    assert_eq!(count(&r, "lost events"), 0, "{}", r.render());
    assert_eq!(count(&r, "pending outbox rows"), 0, "{}", r.render());
    assert_eq!(count(&r, "view divergence"), 0, "{}", r.render());
    // Republished only around the crash, not forever.
    assert!(
        count(&r, "events published") < committed + 50,
        "{}",
        r.render()
    );
}

#[test]
fn publish_delay_and_relay_retry_out_of_bounds_are_refused() {
    for (system, field) in [
        ("publish_delay = \"0s\"\n", "publish_delay"),
        ("publish_delay = \"2m\"\n", "publish_delay"),
        ("relay_retry = \"0s\"\n", "relay_retry"),
    ] {
        let e = run(system, "").unwrap_err();
        assert!(e.contains(field), "{system}: {e}");
    }
}

#[test]
fn a_crash_of_the_broker_or_consumer_is_refused() {
    let crash =
        |t: &str| format!("[[faults]]\nat = \"1s\"\naction = \"crash\"\ntarget = \"{t}\"\n");
    for t in ["n2", "n3", "random", "broker"] {
        let e = run("", &crash(t)).unwrap_err();
        assert!(e.contains("can crash only n1"), "{t}: {e}");
    }
    let nemesis =
        "[nemesis]\ninterval = \"500ms\"\nfault_duration = \"100ms\"\nkinds = [\"crash\"]\n";
    let e = run("", nemesis).unwrap_err();
    assert!(
        e.contains("[nemesis]") && e.contains("can crash only n1"),
        "{e}"
    );
    assert!(run("", &crash("n1")).is_ok());
}
