//! The explorer copies a run over another it no longer needs
//! (`Sim::fork_into`) instead of forking a new one: the copy must be the
//! same run as a fresh fork, whatever the run it overwrites was.

use sim::kernel::{Sim, StateHash, TraceMode};
use sim::registry::{Declared, Spec};
use sim::scenario::Scenario;

/// Twopc on 3 servers and a client with one operation, every kind of fault
/// in the budget: the copies then cover written disks, clients' open
/// operations and the explorer's history, cut and clogged links, drops and
/// duplicates (raft-forget-vote has none of these).
const TWOPC_EVERY_FAULT: &str = r#"[meta]
name = "explore-copy/twopc-every-fault"
seed = 1
duration = "300ms"
[system]
protocol = "twopc"
mode = "2pc"
[topology]
servers = 3
clients = 1
[network]
latency = { dist = "uniform", min = "1ms", max = "5ms" }
[workload]
mix = { put = 1.0 }
timeout = "200ms"
[explore]
ops = 1
crashes = 1
restarts = 1
partitions = 1
drops = 1
duplicates = 1
"#;

fn scenario(name: &str, text: &str) -> Scenario {
    nodes::builtin().parse(name, text).expect("it parses")
}

#[test]
fn a_run_copied_over_another_is_the_same_as_a_fresh_fork() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/explore/raft-forget-vote.toml"
    );
    let text = std::fs::read_to_string(path).expect("the scenario");
    let raft = scenario("explore/raft-forget-vote", &text);
    copies_agree(&raft, Declared::new(nodes::raft::Raft::default()));
    let twopc = scenario("explore-copy/twopc-every-fault", TWOPC_EVERY_FAULT);
    let params = sim::registry::params::<nodes::twopc::Twopc>(&twopc).expect("params");
    copies_agree(
        &twopc,
        Declared::new(<nodes::twopc::Twopc as Spec>::new(params, &twopc).expect("a protocol")),
    );
}

/// The copies of every state of the first levels (then of a spread of
/// them) over a run of another branch (other nodes crashed, other messages
/// queued, other disks) have the same state hash as a fresh fork after
/// every step, and the same fingerprint, counters and history at the end.
/// So do the copies the explorer restores between one choice and the next
/// (`Sim::fork_into`: only what the sibling's step changed is copied
/// back), checked by the kernel's own digest too (streams, ids, queue).
fn copies_agree<P>(scenario: &Scenario, protocol: P)
where
    P: StateHash + Clone,
    P::Node: Clone,
{
    let mut root = Sim::new(scenario, protocol, scenario.meta.seed, TraceMode::Off);
    root.begin_search();
    let mut scratch = root.fork().expect("forkable");
    let mut restored = root.fork().expect("forkable");
    let mut level = vec![root];
    let mut choices = Vec::new();
    let mut compared = 0;
    let mut restores = 0;
    for _ in 0..5 {
        let mut next = Vec::new();
        for (k, sim) in level.iter_mut().enumerate() {
            sim.choices(&mut choices);
            // Sealed, as the explorer seals the runs it copies from (then
            // a copy skips every part of the version it holds already:
            // `scratch` and `restored` were last copies of a sibling or a
            // cousin), but for one run in three (then whatever it changed
            // is copied).
            if k % 3 != 0 {
                sim.seal();
            }
            for (i, c) in choices.clone().into_iter().enumerate() {
                let mut fresh = sim.fork().expect("forkable");
                assert!(sim.fork_into(&mut scratch));
                assert_eq!(sim.state_hash(), scratch.state_hash());
                // The first choice copies over a copy of another run (what
                // differs from it, by version, when this run is sealed), each
                // next one copies back what the last changed.
                assert!(sim.fork_into(&mut restored));
                if i > 0 {
                    restores += 1;
                }
                assert_eq!(sim.state_hash(), restored.state_hash(), "before {c:?}");
                assert_eq!(sim.copy_digest(), restored.copy_digest(), "before {c:?}");
                fresh.take(&c, 0);
                scratch.take(&c, 0);
                restored.take(&c, 0);
                assert_eq!(fresh.state_hash(), scratch.state_hash(), "after {c:?}");
                assert_eq!(fresh.state_hash(), restored.state_hash(), "after {c:?}");
                assert_eq!(fresh.copy_digest(), restored.copy_digest(), "after {c:?}");
                compared += 1;
                next.push(fresh);
            }
        }
        // A spread of the level, bounded: the last states differ most.
        let keep = next.len().min(60);
        level = next.split_off(next.len() - keep);
    }
    assert!(
        compared > 100 && restores > 50,
        "{}: {compared} copies compared, {restores} restored",
        scenario.meta.name
    );
    // Each kept run to its end, its copy (over the last copy made) beside
    // it, by a varied choice at every step (crashes and restarts too); and
    // a copy sent down another branch for a step, then restored.
    for (k, sim) in level.iter_mut().enumerate().step_by(7) {
        assert!(sim.fork_into(&mut scratch));
        assert!(sim.fork_into(&mut restored));
        sim.choices(&mut choices);
        if !choices.is_empty() {
            restored.take(&choices[(k + 1) % choices.len()].clone(), 0);
        }
        assert!(sim.fork_into(&mut restored));
        let mut fresh = sim.fork().expect("forkable");
        let mut step = k;
        loop {
            fresh.choices(&mut choices);
            if choices.is_empty() {
                break;
            }
            let c = choices[step % choices.len()].clone();
            step += 3;
            fresh.take(&c, 0);
            scratch.take(&c, 0);
            restored.take(&c, 0);
            assert_eq!(fresh.state_hash(), scratch.state_hash(), "after {c:?}");
            assert_eq!(fresh.state_hash(), restored.state_hash(), "after {c:?}");
        }
        let a = fresh.finish();
        for copy in [&scratch, &restored] {
            let b = copy.fork().expect("forkable").finish();
            assert_eq!(a.fingerprint, b.fingerprint);
            assert_eq!(a.counters, b.counters);
            assert_eq!(a.violations, b.violations);
            assert_eq!(a.history.len(), b.history.len());
            assert!(a.history.metas().eq(b.history.metas()));
        }
    }
}

/// Breadth first, the explorer takes a state's last choice on the state's
/// own run, cut off the path (`Cursor::detach`), and copies runs over
/// others by difference; depth first, it forks every run afresh. Searched
/// to the end, both must reach the same states: a copy that kept a stale
/// part would merge two states into one (fewer unique states) or make one
/// state two (more). Checked on the bench protocol (729 states, a closed
/// form), and on 2PC with a crash (2,969 states: written disks, a node
/// gone) and with a duplicate (3,683 states: an event queued twice); in a
/// debug build every kept hash is compared with its value on the way. (The
/// whole fault budget above is millions of states: too many for a test.)
#[test]
fn breadth_first_and_depth_first_reach_the_same_states() {
    use sim::explore::{Limits, Strategy};
    let bench = chaoslab::explore_bench::catalog();
    let lww = bench
        .parse(
            "bench/explore-lww-3",
            &chaoslab::explore_bench::scenario_toml(3),
        )
        .expect("it parses");
    // The 2PC scenario above with one fault of its budget kept.
    let one_fault = |name: &str, kept: &str| {
        let (head, budget) = TWOPC_EVERY_FAULT
            .split_once("[explore]\n")
            .expect("a budget");
        let lines = budget
            .lines()
            .filter(|l| l.starts_with("ops") || *l == kept);
        let text = format!(
            "{head}[explore]\n{}\n",
            lines.collect::<Vec<_>>().join("\n")
        );
        scenario(name, &text)
    };
    let crash = one_fault("explore-copy/twopc-crash", "crashes = 1");
    let duplicate = one_fault("explore-copy/twopc-duplicate", "duplicates = 1");
    let builtin = nodes::builtin();
    let searches = [
        (&bench, &lww, 729),
        (&builtin, &crash, 2_969),
        (&builtin, &duplicate, 3_683),
    ];
    for (catalog, scenario, unique) in searches {
        let search = |strategy| {
            let limits = Limits {
                max_states: 100_000,
                max_depth: None,
                check_steps: scenario.meta.check_steps(),
            };
            catalog
                .explore(scenario, scenario.meta.seed, strategy, limits, &mut |_| {
                    None
                })
                .expect("a scenario of the catalog")
                .expect("explorable")
        };
        let (bfs, dfs) = (search(Strategy::Bfs), search(Strategy::Dfs));
        let name = &scenario.meta.name;
        for found in [&bfs, &dfs] {
            assert!(found.counterexample.is_none(), "{name}");
            assert!(found.exhaustive, "{name}: searched to the end");
        }
        // Unique states as `chaoslab explore` counted them, and the same
        // for both strategies.
        assert_eq!(
            bfs.stats.unique, unique,
            "{name}: unique states, breadth first"
        );
        assert_eq!(
            dfs.stats.unique, unique,
            "{name}: unique states, depth first"
        );
        // Depth first reaches a state again by a shorter path now and
        // then, and explores it again (the depth bound could have cut it
        // the first time): an ended run may be judged more than once.
        assert!(dfs.stats.finished_runs >= bfs.stats.finished_runs, "{name}");
    }
}
