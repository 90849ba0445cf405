//! `leader-elected`, Raft's liveness property, judged on whole runs: held
//! once a partition heals, violated when the servers' election timeouts are
//! all the same (every election is a split vote: why Raft randomizes them,
//! §5.2), undecided while a partition lasts to the end.

use sim::protocol::PropertyVerdict;
use sim::report::Report;

fn run(system: &str, faults: &str) -> Report {
    let src = format!(
        "[meta]\nname = \"raft/liveness\"\nduration = \"8s\"\n\n[system]\nprotocol = \"raft\"\n{system}\n\
         [topology]\nservers = 3\nclients = 1\n\n[network]\nlatency = {{ dist = \"constant\", value = \"1ms\" }}\n\n\
         [workload]\nrate = 5\nkeys = 2\n\n[expect]\nheld = [\"leader-elected\"]\n\n{faults}"
    );
    super::report("liveness.toml", &src, 1).unwrap()
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

#[test]
fn long_election_timeouts_leave_a_short_run_undecided_not_violated() {
    // Timeouts of 2s to 4s and no fault: a correct cluster may not have
    // elected a leader in a run of 2s (none can have), or of 3s (on some
    // seeds). The settle time follows the timeouts (10 x 4s), so such a
    // run cannot judge it.
    let report = |duration: &str, seed: u64| {
        let src = format!(
            "[meta]\nname = \"raft/slow\"\nduration = \"{duration}\"\n\n[system]\nprotocol = \"raft\"\n\
             election_timeout_min = \"2s\"\nelection_timeout_max = \"4s\"\n\n\
             [topology]\nservers = 3\nclients = 0\n"
        );
        super::report("slow.toml", &src, seed).unwrap()
    };
    let r = report("2s", 1);
    let PropertyVerdict::Undecided { reason } = leader_elected(&r) else {
        panic!("{}", r.render())
    };
    assert!(reason.contains("less than the settle time 40s"), "{reason}");
    assert!(r.failures().is_empty(), "{:?}", r.failures());
    assert_eq!(r.outcome, sim::report::RunOutcome::Pass, "{}", r.render());
    let mut undecided = 0;
    for seed in 1..=20 {
        let r = report("3s", seed);
        let word = leader_elected(&r).word();
        assert!(
            word == "held" || word == "undecided",
            "seed {seed}: {}",
            r.render()
        );
        undecided += usize::from(word == "undecided");
    }
    assert!(
        undecided > 0,
        "no seed of 20 left a 3s run without a leader"
    );
}

#[test]
fn a_latency_spike_never_undone_leaves_it_undecided() {
    // 700ms on every link from the start, longer than any election
    // timeout: no election can finish, but the network never came back.
    let spike = (1..=3)
        .map(|n| {
            format!(
                "[[faults]]\nat = \"0s\"\naction = \"latency\"\ntarget = \"n{n}\"\n\
                 latency = {{ dist = \"constant\", value = \"700ms\" }}\n\n"
            )
        })
        .collect::<String>();
    let r = run("", &spike);
    assert_eq!(leader_elected(&r).word(), "undecided", "{}", r.render());
    assert!(r.failures().is_empty(), "{:?}", r.failures());
}

#[test]
fn a_settle_time_for_a_protocol_with_no_eventually_property_is_refused() {
    let src = "[meta]\nname = \"replication/settle\"\nduration = \"2s\"\n\n[system]\nprotocol = \"replication\"\n\n\
               [topology]\nservers = 3\nclients = 0\n\n[expect]\nsettle_time = \"1s\"\n";
    let e = nodes::parse("settle.toml", src).unwrap_err();
    assert_eq!((e.line, e.column), (13, 1), "{e}");
    assert_eq!(
        e.message,
        "[expect] settle_time: protocol \"replication\" has no eventually property, so a settle time judges nothing; remove it"
    );
}
