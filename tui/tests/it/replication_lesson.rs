//! docs/replication.md makes claims about the replication scenarios and
//! prints a table of failover times against the heartbeat timeout. This
//! test keeps them honest: each claim is checked on real runs, and the
//! table in the lesson must be the one these runs produce
//! (`cargo test -p chaoslab --test it replication_lesson -- --nocapture`
//! prints it).

use std::path::Path;

use sim::check::Verdict;
use sim::kernel::TraceMode;
use sim::report::Report;

use crate::common::figures;
use figures::Figures;

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn text(name: &str) -> String {
    std::fs::read_to_string(root().join(format!("scenarios/replication/{name}.toml"))).unwrap()
}

fn run_text(name: &str, src: &str, seed: u64) -> Report {
    let s = nodes::parse(&format!("scenarios/replication/{name}.toml"), src)
        .unwrap_or_else(|e| panic!("{e}"));
    let out = nodes::run(&s, seed, TraceMode::Off).unwrap();
    Report::build(&s, &out)
}

fn run(name: &str, seed: u64) -> Report {
    run_text(name, &text(name), seed)
}

/// A count among the report's figures, read typed from its JSON.
fn count(r: &Report, name: &str) -> u64 {
    Figures::of(r).count(name)
}

fn linearizable(r: &Report) -> bool {
    matches!(r.consistency.verdict(), Some(Verdict::Linearizable))
}

fn weak(r: &Report) -> &sim::check::weak::WeakReport {
    let sim::report::Consistency::Checked { weak, .. } = &r.consistency;
    weak.as_ref().expect("a key-value history")
}

fn violated(r: &Report, invariant: &str) -> bool {
    r.invariants
        .iter()
        .find(|i| i.name == invariant)
        .unwrap()
        .violations
        > 0
}

#[test]
fn async_loses_acknowledged_writes_and_sync_and_semi_sync_do_not() {
    for seed in 1..=3 {
        let a = run("async-crash", seed);
        assert!(
            count(&a, "acked writes dropped by failover") > 0,
            "seed {seed}"
        );
        assert!(violated(&a, "acked-writes-survive-failover"));
        assert!(!linearizable(&a));
        let s = run("sync-crash", seed);
        assert_eq!(
            count(&s, "acked writes dropped by failover"),
            0,
            "seed {seed}"
        );
        assert!(linearizable(&s));
        assert!(count(&s, "writes blocked") > 0);
        // Every sync write waits for the slow replicas: far fewer complete.
        assert!(
            s.ops.ok * 2 < a.ops.ok,
            "sync {} async {}",
            s.ops.ok,
            a.ops.ok
        );
        let m = run("semi-sync", seed);
        assert_eq!(
            count(&m, "acked writes dropped by failover"),
            0,
            "seed {seed}"
        );
        assert!(linearizable(&m));
    }
}

#[test]
fn replica_reads_break_session_guarantees_and_ryw_routing_restores_them() {
    for seed in 1..=3 {
        let r = run("replica-reads", seed);
        assert!(weak(&r).read_your_writes_total() > 0, "seed {seed}");
        assert!(weak(&r).monotonic_reads_total() > 0, "seed {seed}");
        let y = run("ryw-reads", seed);
        assert_eq!(weak(&y).read_your_writes_total(), 0, "seed {seed}");
        assert_eq!(weak(&y).monotonic_reads_total(), 0, "seed {seed}");
        // Session guarantees are not linearizability.
        assert!(!linearizable(&y), "seed {seed}");
    }
}

#[test]
fn without_fencing_two_primaries_serve_and_with_fencing_one_does() {
    for seed in 1..=5 {
        let u = run("split-brain-unfenced", seed);
        assert_eq!(count(&u, "serving primaries at once"), 2, "seed {seed}");
        assert!(violated(&u, "no-split-brain"));
        assert!(count(&u, "divergent keys") > 0);
        assert!(!linearizable(&u));
        let f = run("split-brain-fenced", seed);
        assert_eq!(count(&f, "serving primaries at once"), 1, "seed {seed}");
        assert_eq!(count(&f, "served by a deposed primary"), 0);
        assert!(count(&f, "refused for want of a lease") > 0);
        assert!(linearizable(&f), "seed {seed}");
    }
}

const TIMEOUTS: &[&str] = &["200ms", "300ms", "500ms", "1s", "2s", "3s"];

/// The lesson's table: per heartbeat timeout, the failover time after a
/// crash (rto-timeout-2s with that timeout) and the failovers during a 1.5s
/// GC pause (gc-pause-long-timeout with that timeout), seed 1.
fn rto_table() -> Vec<(String, sim::time::Nanos)> {
    let crash = text("rto-timeout-2s");
    let pause = text("gc-pause-long-timeout");
    TIMEOUTS
        .iter()
        .map(|t| {
            let set = |src: &str| {
                src.replace(
                    "heartbeat_timeout = \"2s\"",
                    &format!("heartbeat_timeout = \"{t}\""),
                )
            };
            let c = run_text("rto-timeout-2s", &set(&crash), 1);
            let p = run_text("gc-pause-long-timeout", &set(&pause), 1);
            let rto = Figures::of(&c).duration("failover time (RTO)");
            let row = format!(
                "| {t} | {} | {} | {} | {} |",
                sim::time::fmt_duration(rto),
                c.ops.ok,
                count(&p, "failovers"),
                count(&p, "writes blocked")
            );
            (row, rto)
        })
        .collect()
}

#[test]
fn the_rto_table_is_what_the_runs_produce() {
    let (table, rtos): (Vec<String>, Vec<_>) = rto_table().into_iter().unzip();
    for row in &table {
        println!("{row}");
    }
    let doc = std::fs::read_to_string(root().join("docs/replication.md")).unwrap();
    let rows: Vec<&str> = doc
        .lines()
        .skip_while(|l| !l.starts_with("| heartbeat timeout"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(rows, table, "docs/replication.md's RTO table is stale");
    // The failover time grows with the timeout.
    assert!(rtos.windows(2).all(|w| w[0] < w[1]), "{rtos:?}");
}
