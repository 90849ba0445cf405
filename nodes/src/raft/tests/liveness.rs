//! `leader-elected`, Raft's liveness property, judged on whole runs: held
//! once a partition heals, violated when the servers' election timeouts are
//! all the same (every election is a split vote: why Raft randomizes them,
//! §5.2), undecided while a partition lasts to the end.

use sim::kernel::TraceMode;
use sim::protocol::PropertyVerdict;
use sim::report::Report;

fn run(system: &str, faults: &str) -> Report {
    let c = crate::builtin();
    let src = format!(
        "[meta]\nname = \"raft/liveness\"\nduration = \"8s\"\n\n[system]\nprotocol = \"raft\"\n{system}\n\
         [topology]\nservers = 3\nclients = 1\n\n[network]\nlatency = {{ dist = \"constant\", value = \"1ms\" }}\n\n\
         [workload]\nrate = 5\nkeys = 2\n\n[expect]\nheld = [\"leader-elected\"]\n\n{faults}"
    );
    let s = c.parse("liveness.toml", &src).unwrap();
    Report::build(&s, &c.run(&s, 1, TraceMode::Off).unwrap())
}

fn leader_elected(r: &Report) -> PropertyVerdict {
    r.invariants
        .iter()
        .find(|i| i.name == "leader-elected")
        .expect("raft declares leader-elected")
        .verdict
        .clone()
}

const ISOLATE_N1: &str = "[[faults]]\nat = \"1s\"\naction = \"partition\"\ngroups = [[\"n1\"], [\"n2\", \"n3\", \"c1\"]]\n";

#[test]
fn a_leader_is_elected_after_the_partition_heals() {
    let r = run(
        "",
        &format!("{ISOLATE_N1}\n[[faults]]\nat = \"3s\"\naction = \"heal\"\n"),
    );
    let PropertyVerdict::Held { at: Some(at) } = leader_elected(&r) else {
        panic!("{}", r.render())
    };
    assert!(at >= sim::time::secs(3), "held at {at}, before the heal");
    assert!(r.passed, "{}", r.render());
}

#[test]
fn equal_election_timeouts_split_every_vote_and_no_leader_is_elected() {
    let r = run(
        "election_timeout_min = \"150ms\"\nelection_timeout_max = \"150ms\"\n",
        "",
    );
    let PropertyVerdict::Violated { detail } = leader_elected(&r) else {
        panic!("{}", r.render())
    };
    assert_eq!(
        detail,
        "never true in the 8s of quiet time from 0s to the end (settle time 2s)"
    );
    assert!(!r.passed);
    assert!(r.failed_checks().contains("leader-elected violated"));
    // The same timeouts with a spread elect a leader.
    let r = run(
        "election_timeout_min = \"150ms\"\nelection_timeout_max = \"300ms\"\n",
        "",
    );
    assert_eq!(leader_elected(&r).word(), "held", "{}", r.render());
}

#[test]
fn a_partition_that_never_heals_leaves_it_undecided() {
    let r = run("", ISOLATE_N1);
    assert_eq!(leader_elected(&r).word(), "undecided", "{}", r.render());
    assert_eq!(r.outcome, sim::report::RunOutcome::Undecided);
    assert!(r.failures().is_empty(), "{:?}", r.failures());
}
