//! Fault schedules written back as TOML (by `chaoslab shrink` and the TUI's
//! save) must parse back to exactly the same faults.

use sim::scenario::{ProtocolEvents, ProtocolInfo, Scenario, TriggerEvent};

fn parse(text: &str) -> Scenario {
    let roles = |_: &str| vec!["leader", "follower", "client"];
    let events = |_: &str| ProtocolEvents {
        messages: Some(vec!["Ping", "Pong"]),
        notes: Some(vec!["prepared"]),
    };
    let info = ProtocolInfo {
        protocols: &["probe"],
        roles: &roles,
        events: &events,
        services: &|_: &str| (&[][..], None),
    };
    Scenario::parse("t.toml", text, &info).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

const FAULTS: &str = r#"
[meta]
name = "every fault"
duration = "10s"
[system]
protocol = "probe"
[topology]
servers = 5
clients = 2
[topology.regions]
east = ["n1", "n2", "c1"]
west = ["n3", "n4", "n5", "c2"]

[[faults]]
at = "1s"
action = "partition"
groups = [["n1", "c1"], ["rest"]]
[[faults]]
at = "1.5s"
action = "partition"
from = ["leader"]
to = ["rest"]
[[faults]]
at = "2s"
action = "heal"
[[faults]]
at = "2.25s"
action = "crash"
target = "minority-of-leader"
[[faults]]
at = "2.5s"
action = "restart"
target = "crashed"
[[faults]]
at = "3s"
action = "pause"
target = "random"
[[faults]]
at = "3.5s"
action = "resume"
target = "paused"
[[faults]]
at = "4s"
action = "clog"
link = ["n1", "n2"]
one_way = true
[[faults]]
at = "4.5s"
action = "unclog"
target = "n1"
[[faults]]
at = "5s"
action = "latency"
region = "west"
latency = { dist = "pareto", scale = "2ms", alpha = 1.5 }
[[faults]]
at = "5.5s"
action = "latency"
latency = { dist = "normal", mean = "40ms", stddev = "4ms", min = "30ms" }
[[faults]]
at = "6s"
action = "loss"
link = ["n2", "n3"]
probability = 0.25
[[faults]]
at = "6.5s"
action = "clock"
target = "n4"
offset = "-250ms"
drift = 0.02
[[faults]]
at = "7s"
action = "fsync-loss"
target = "all"
[[faults]]
at = "7.000000123s"
action = "fsync-ok"
target = "n2"
"#;

/// Every trigger event, with and without `after`, `delay` and `count`.
const TRIGGERS: &str = r#"
[[faults]]
when = { event = "send", node = "leader", to = "n2", kind = "Ping", count = 3 }
action = "crash"
target = "trigger-to"
[[faults]]
when = { event = "deliver", kind = "Pong" }
after = "1.25s"
delay = "500ms"
action = "partition"
from = ["trigger-node"]
to = ["rest"]
[[faults]]
when = { event = "role", node = "any", role = "leader" }
after = "2s"
action = "partition"
groups = [["trigger-node", "c1"], ["rest"]]
[[faults]]
when = { event = "note", node = "n3", note = "prepared", count = 2 }
delay = "1ns"
action = "pause"
target = "trigger-node"
[[faults]]
when = { event = "fault", action = "crash", node = "n1" }
delay = "1.000000007s"
action = "restart"
target = "trigger-node"
"#;

#[test]
fn every_fault_kind_round_trips_through_toml() {
    let s = parse(FAULTS);
    assert_eq!(s.faults.len(), 15);
    let written = s.to_toml(&["a header comment".to_string()]);
    assert!(written.starts_with("# a header comment\n"));
    let back = parse(&written);
    assert_eq!(back.faults.len(), s.faults.len());
    for (a, b) in s.faults.iter().zip(&back.faults) {
        assert_eq!(a.at, b.at);
        assert_eq!(a.kind, b.kind, "\n{}", a.to_toml());
    }
    assert_eq!(back.meta.duration, s.meta.duration);
    assert_eq!(back.topology.regions.len(), 2);
}

#[test]
fn every_trigger_round_trips_through_toml() {
    let s = parse(&format!("{FAULTS}{TRIGGERS}"));
    assert_eq!(s.faults.len(), 20);
    let triggered: Vec<_> = s.faults.iter().filter(|f| f.when.is_some()).collect();
    assert_eq!(triggered.len(), 5);
    let written = s.to_toml(&[]);
    let back = parse(&written);
    assert_eq!(back.faults.len(), s.faults.len());
    for (a, b) in s.faults.iter().zip(&back.faults) {
        assert_eq!(
            (a.at, &a.kind, &a.when),
            (b.at, &b.kind, &b.when),
            "\n{}",
            a.to_toml()
        );
    }
    // Each one alone, too: what the TUI and the trace show is this text.
    for f in &triggered {
        assert!(f.to_toml().contains("when = { event = "), "{}", f.to_toml());
    }
    let w = |i: usize| triggered[i].when.as_ref().unwrap();
    // Sorted by `at` (a trigger's `after`): the three without one first.
    assert_eq!(w(0).count, 3);
    assert!(matches!(&w(0).event, TriggerEvent::Send { kind: Some(k), .. } if k == "Ping"));
    assert_eq!(w(2).delay, 1_000_000_007);
    assert_eq!(triggered[3].at, 1_250_000_000);
    assert_eq!(w(3).delay, 500_000_000);
}

#[test]
fn inexact_times_are_written_in_nanoseconds_so_nothing_moves() {
    let s = parse(FAULTS);
    let last = s.faults.last().unwrap();
    assert_eq!(last.at, 7_000_000_123);
    assert!(last.to_toml().contains("at = \"7000000123ns\""));
}

#[test]
fn key_span_finds_a_key_only_inside_its_own_section() {
    let src =
        "[system]\ntimeout = 1\n[workload]\nrate = 2\ntimeout = \"1s\"\n[[faults]]\nat = \"1s\"\n";
    let span = sim::scenario::key_span(src, "workload", "timeout").unwrap();
    assert_eq!(&src[span.clone()], "timeout");
    assert!(span.start > src.find("[workload]").unwrap());
    assert!(sim::scenario::key_span(src, "faults", "at").is_some());
    assert!(sim::scenario::key_span(src, "meta", "timeout").is_none());
}
