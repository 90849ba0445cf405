//! docs/caching.md makes claims about the cache scenarios; each test here
//! runs the scenarios and checks one claim, and the two tables in the lesson
//! are regenerated here and must match the document word for word:
//!
//! ```sh
//! cargo test -p chaoslab --test it caching_lesson -- --nocapture
//! ```
//!
//! prints both tables.

use std::path::Path;

use sim::check::weak::WeakReport;
use sim::kernel::TraceMode;
use sim::metric::Unit;
use sim::report::{Consistency, Report};
use sim::scenario::Scenario;
use sim::time::{fmt_duration, ms, secs};

use crate::common::figures;
use figures::Figures;

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn text(name: &str) -> String {
    std::fs::read_to_string(root().join(format!("scenarios/cache/{name}.toml"))).unwrap()
}

fn parse(name: &str, text: &str) -> Scenario {
    nodes::parse(&format!("scenarios/cache/{name}.toml"), text).unwrap_or_else(|e| panic!("{e}"))
}

fn report(name: &str, text: &str) -> Report {
    let s = parse(name, text);
    let out = nodes::run(&s, s.meta.seed, TraceMode::Off).unwrap();
    Report::build(&s, &out)
}

fn weak(r: &Report) -> &WeakReport {
    match &r.consistency {
        Consistency::Checked { weak, .. } => weak.as_ref().expect("a key-value history"),
    }
}

/// The report's figures, typed, from its JSON.
fn figures(r: &Report) -> Figures {
    Figures::of(r)
}

fn lesson() -> String {
    std::fs::read_to_string(root().join("docs/caching.md")).unwrap()
}

const SIZES: [u32; 5] = [10, 50, 100, 200, 500];
const EVICTIONS: [&str; 4] = ["lru", "lfu", "fifo", "random"];

#[test]
fn the_hit_ratio_table_is_the_runs_and_the_policies_rank_as_the_lesson_says() {
    let base = text("zipf-hit-ratio");
    let mut table =
        String::from("| capacity | lru | lfu | fifo | random |\n|---|---|---|---|---|\n");
    let mut grid: Vec<Vec<f64>> = Vec::new();
    for size in SIZES {
        let mut row = Vec::new();
        for ev in EVICTIONS {
            let t = base
                .replace("capacity = 100", &format!("capacity = {size}"))
                .replace("eviction = \"lru\"", &format!("eviction = \"{ev}\""));
            let r = report("zipf-hit-ratio", &t);
            row.push(figures(&r).ratio("hit ratio") * 100.0);
        }
        table.push_str(&format!(
            "| {size} ({:.0}% of the keys) | {} |\n",
            size as f64 / 10.0,
            row.iter()
                .map(|h| format!("{h:.1}%"))
                .collect::<Vec<_>>()
                .join(" | ")
        ));
        grid.push(row);
    }
    println!("{table}");
    assert!(
        lesson().contains(&table),
        "docs/caching.md must hold this table as printed:\n{table}"
    );
    for (i, row) in grid.iter().enumerate() {
        let [lru, lfu, fifo, random] = row[..] else {
            unreachable!()
        };
        assert!(
            lfu >= lru && lru > fifo && lru > random,
            "size {}: {row:?}",
            SIZES[i]
        );
        if i > 0 {
            assert!(
                row.iter().zip(&grid[i - 1]).all(|(a, b)| a > b),
                "bigger is better"
            );
        }
    }
}

#[test]
fn the_cache_aside_race_leaves_stale_reads_that_the_ttl_bounds() {
    let r = report("cache-aside-race", &text("cache-aside-race"));
    let w = weak(&r);
    assert!(w.stale_reads > 0, "{}", r.render());
    // The ttl (2s), plus the slow clients' 100ms to the cache for the set.
    assert!(
        w.staleness_ns_max <= secs(2) + ms(150),
        "staleness {}",
        w.staleness_ns_max
    );
    let r = report("read-through-no-race", &text("read-through-no-race"));
    assert_eq!(weak(&r).stale_reads, 0, "{}", r.render());
}

#[test]
fn write_back_loses_acknowledged_writes_in_a_crash_and_write_through_loses_none() {
    let wb = report("write-back-crash", &text("write-back-crash"));
    assert!(figures(&wb).count("acked writes not in db") > 0);
    assert!(figures(&wb).count("dirty entries lost in crashes") > 0);
    assert!(weak(&wb).stale_reads > 0);
    // A restart at the very instant of the crash still counts what was lost.
    let instant = text("write-back-crash").replace("at = \"6s\"", "at = \"5.5s\"");
    let r = report("write-back-crash", &instant);
    assert!(figures(&r).count("dirty entries lost in crashes") > 0);
    let wt = report("write-through-crash", &text("write-through-crash"));
    assert_eq!(figures(&wt).count("acked writes not in db"), 0);
    assert_eq!(weak(&wt).stale_reads, 0);
    assert!(weak(&wt).lost_writes.is_empty());
}

/// The herd table of the lesson's section 4 (seed 1), and the counts its
/// text quotes.
#[test]
fn the_herd_table_and_counts_are_the_seed_1_figures() {
    let mut table = String::from(
        "| scenario | db requests/s peak | db requests/s mean | db queue peak | db latency max |\n|---|---|---|---|---|\n",
    );
    for p in [
        "none",
        "coalescing",
        "early-expiration",
        "background-refresh",
    ] {
        let name = format!("herd-{p}");
        let r = report(&name, &text(&name));
        let f = figures(&r);
        table.push_str(&format!(
            "| {name} | {:.0} | {:.1} | {} | {} |\n",
            f.rate("db requests/s peak"),
            f.rate("db requests/s mean"),
            f.count("db queue peak"),
            fmt_duration(f.duration("db latency max")),
        ));
        let quoted = match p {
            "coalescing" => Some("136 misses coalesced"),
            "early-expiration" => Some("11 early refreshes"),
            "background-refresh" => Some("13 background refreshes"),
            _ => None,
        };
        if let Some(q) = quoted {
            // The count the lesson quotes is in the figure's words.
            assert!(
                f.note("stampede").contains(q),
                "{name}: {}",
                f.note("stampede")
            );
        }
    }
    println!("{table}");
    assert!(
        lesson().contains(&table),
        "docs/caching.md must hold this table as printed:\n{table}"
    );
}

#[test]
fn every_stampede_protection_flattens_the_database_peak() {
    let none = report("herd-none", &text("herd-none"));
    let peak = |r: &Report| figures(r).rate("db requests/s peak");
    let queue = |r: &Report| figures(r).count("db queue peak");
    for p in ["coalescing", "early-expiration", "background-refresh"] {
        let name = format!("herd-{p}");
        let r = report(&name, &text(&name));
        assert!(
            peak(&r) * 5.0 <= peak(&none),
            "{p}: peak {} against {}",
            peak(&r),
            peak(&none)
        );
        assert!(queue(&r) < queue(&none));
        assert!(r.passed, "{}", r.render());
    }
}

#[test]
fn ttl_jitter_breaks_the_expiry_wave() {
    let peak = |name: &str| figures(&report(name, &text(name))).rate("db requests/s peak");
    let (wave, jitter) = (peak("expiry-wave"), peak("expiry-wave-jitter"));
    assert!(
        jitter * 2.0 <= wave,
        "peak {jitter} with jitter against {wave}"
    );
}

/// The per-second series of database requests, read typed from the
/// report's JSON (one `[time, value]` point per second): the wave of
/// `expiry-wave` comes back every ttl (5s), as the lesson's section 4 shows,
/// and `ttl_jitter` spreads it.
#[test]
fn the_expiry_wave_returns_every_ttl_in_the_per_second_series_and_jitter_spreads_it() {
    let wave = figures(&report("expiry-wave", &text("expiry-wave")));
    let s = wave.series("db requests per second over time");
    assert_eq!(s.of, Unit::Rate);
    assert_eq!(s.points.len(), 20, "one point per second of the 20s run");
    for (i, (t, _)) in s.points.iter().enumerate() {
        assert_eq!(*t, secs(i as u64));
    }
    let at = |i: usize| s.points[i].1;
    for w in [5, 10, 15] {
        assert!(
            at(w) + at(w + 1) > 200.0 && at(w - 1) < 10.0,
            "a wave at {w}s: {:?}",
            s.points
        );
    }
    // The series and the mean count the same requests (the mean from
    // measure_after = 1s, over the 19s left).
    let counted: f64 = s.points[1..].iter().map(|p| p.1).sum();
    assert_eq!((wave.rate("db requests/s mean") * 19.0).round(), counted);
    let jitter = figures(&report("expiry-wave-jitter", &text("expiry-wave-jitter")))
        .series("db requests per second over time");
    let highest = |s: &sim::metric::Series| s.points[2..].iter().map(|p| p.1).fold(0.0, f64::max);
    assert!(
        highest(&jitter) * 3.0 < highest(&s),
        "jitter {:?} against {:?}",
        jitter.points,
        s.points
    );
}

/// The partition scenario run with every policy, as the lesson's table.
#[test]
fn a_cache_cut_off_from_the_database_serves_what_its_policy_allows() {
    let base = text("partition-read-through");
    let mut table = String::from(
        "| policy | ok / fail / info | cache unavailable answers | stale reads | staleness max |\n|---|---|---|---|---|\n",
    );
    let mut rows = Vec::new();
    for policy in [
        "cache-aside",
        "read-through",
        "write-through",
        "write-back",
        "write-around",
    ] {
        let t = base.replace("read-through", policy);
        let r = report("partition", &t);
        let w = weak(&r);
        let unavailable = figures(&r).count("cache unavailable answers");
        table.push_str(&format!(
            "| {policy} | {} / {} / {} | {unavailable} | {} | {} |\n",
            r.ops.ok,
            r.ops.fail,
            r.ops.info,
            w.stale_reads,
            sim::time::fmt_duration(w.staleness_ns_max)
        ));
        if policy == "write-back" {
            // Two write-back caches: the last flush of a key wins, even when
            // it is the older write (the lesson's lost update, seed 1).
            assert_eq!(figures(&r).count("acked writes not in db"), 0);
            assert_eq!(figures(&r).count("acked writes overwritten"), 1);
            assert!(w.read_your_writes_total() > 0, "{}", r.render());
        }
        if policy == "write-around" {
            // Not even the writer's own cache is told of its write.
            assert_eq!(w.read_your_writes_total(), 391, "{}", r.render());
        }
        rows.push((policy, unavailable, w.staleness_ns_max));
    }
    println!("{table}");
    assert!(
        lesson().contains(&table),
        "docs/caching.md must hold this table as printed:\n{table}"
    );
    let ttl = secs(3);
    for (policy, unavailable, staleness) in rows {
        match policy {
            "cache-aside" => assert_eq!(unavailable, 0),
            "write-back" => assert!(staleness > ttl, "write-back serves past the ttl"),
            _ => {
                assert!(unavailable > 50, "{policy}");
                assert!(staleness <= ttl, "{policy}: the ttl bounds staleness");
            }
        }
    }
}

#[test]
fn an_l1_answers_reads_locally_and_is_stale_by_at_most_its_ttl() {
    let r = report("l1", &text("l1"));
    let w = weak(&r);
    assert!(figures(&r).ratio("L1 hit ratio") > 0.40);
    assert!(w.stale_reads > 0 && w.staleness_ns_max <= secs(1));
    assert_eq!(w.read_your_writes_total(), 0);
    let without = text("l1").replace("l1_capacity = 20", "l1_capacity = 0");
    let r = report("l1", &without);
    assert_eq!(
        weak(&r).stale_reads,
        0,
        "one write-through cache alone is not stale"
    );
}

#[test]
fn leases_close_the_cache_aside_race() {
    let r = report("cache-aside-leases", &text("cache-aside-leases"));
    assert_eq!(weak(&r).stale_reads, 0, "{}", r.render());
    assert!(figures(&r).count("lease fills refused") > 0);
}
