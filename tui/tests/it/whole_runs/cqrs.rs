//! CQRS on whole runs: a lost message times a client out, and the crashes
//! the protocol refuses.

use sim::report::Report;

use crate::common::lessons::count;

/// The report of the read-model-lag setup on seed 1 with `network` added.
fn run(system: &str, network: &str, faults: &str) -> Result<Report, String> {
    let src = format!(
        "[meta]\nname = \"cqrs/t\"\nduration = \"6s\"\n\n[system]\nprotocol = \"cqrs\"\n{system}\n\
         [topology]\nservers = 6\n\n[network]\nlatency = {{ dist = \"uniform\", min = \"1ms\", max = \"3ms\" }}\n{network}\n\
         [workload]\nstop = \"4s\"\n\n{faults}"
    );
    super::report("t.toml", &src, 1).map_err(|e| e.to_string())
}

#[test]
fn a_lost_message_times_the_client_out_rather_than_stall_it() {
    let clean = run("", "", "").unwrap();
    assert_eq!(count(&clean, "writes timed out"), 0, "{}", clean.render());
    assert_eq!(count(&clean, "reads timed out"), 0, "{}", clean.render());
    let lossy = run("client_timeout = \"200ms\"\n", "loss = 0.02\n", "").unwrap();
    let timed_out = count(&lossy, "writes timed out") + count(&lossy, "reads timed out");
    assert!(timed_out > 0, "{}", lossy.render());
    // The clients go on: most of the clean run's writes still happen.
    assert!(
        count(&lossy, "writes") * 10 >= count(&clean, "writes") * 8,
        "{}\n{}",
        lossy.render(),
        clean.render()
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
