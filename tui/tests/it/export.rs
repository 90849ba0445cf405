//! `run --export perfetto|shiviz FILE` (docs/export.md): the exports of
//! raft/leader-minority checked against what each format's documentation
//! asks of a file, against the trace of the same run, and against the
//! numbers docs/export.md quotes.
//!
//! - Perfetto / chrome://tracing: Google's "Trace Event Format" document
//!   (the fields each phase `ph` requires, flow events `s`/`t`/`f` with
//!   binding point `e`, metadata `M` naming processes and threads) and how
//!   Perfetto's JSON importer binds a flow event: to the slice open on its
//!   track when it reads the event, events read in timestamp order and, at
//!   one timestamp, in file order.
//! - ShiViz: its parser (js/model/parser.js) and graph builder
//!   (js/model/modelGraph.js): the regex on the first line with groups
//!   `host`, `clock`, `event`; the clock a JSON object; each host's own
//!   entry 1, 2, 3, ... over its events; every host of a clock one with at
//!   least that many events.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

const SCENARIO: &str = "raft/leader-minority";

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chaoslab-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

use crate::common::chaoslab;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs the scenario with the trace and both exports; returns the files.
fn export_all(tag: &str) -> (PathBuf, PathBuf, PathBuf) {
    let (files, code, out, err) = export_all_of(SCENARIO, tag);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    files
}

/// Runs `scenario` with the trace and both exports: the files, the exit
/// code, stdout and stderr.
fn export_all_of(scenario: &str, tag: &str) -> ((PathBuf, PathBuf, PathBuf), i32, String, String) {
    let (trace, perfetto, shiviz) = (
        tmp(&format!("{tag}.jsonl")),
        tmp(&format!("{tag}.json")),
        tmp(&format!("{tag}.shiviz")),
    );
    let (code, out, err) = chaoslab(&[
        "run",
        scenario,
        "--trace",
        s(&trace),
        "--export",
        "perfetto",
        s(&perfetto),
        "--export",
        "shiviz",
        s(&shiviz),
    ]);
    ((trace, perfetto, shiviz), code, out, err)
}

fn trace_records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn count_kind(trace: &[Value], kind: &str) -> usize {
    trace.iter().filter(|r| r["kind"] == kind).count()
}

/// Microseconds as written back to whole nanoseconds (as Perfetto does).
fn ns(v: &Value) -> i64 {
    (v.as_f64().expect("a number") * 1000.0).round() as i64
}

/// docs/export.md, for the numbers it quotes.
fn doc() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/export.md"))
        .expect("docs/export.md")
}

/// A track: (pid, tid).
type Track = (i64, i64);
/// A slice or instant: (start ns, end ns, index in the file).
type Span = (i64, i64, usize);

/// Checks `file` against the Trace Event Format and Perfetto's binding
/// rules; returns its events.
fn check_trace_event_format(file: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(file).unwrap();
    let top: Value = serde_json::from_str(&text).expect("the export is one JSON object");
    assert_eq!(top["displayTimeUnit"], "ms");
    let events = top["traceEvents"]
        .as_array()
        .expect("traceEvents is an array")
        .clone();
    assert!(events.len() > 100, "{} events", events.len());

    let mut named_threads = BTreeSet::new();
    let mut named_processes = BTreeSet::new();
    let mut used = BTreeSet::new();
    // Per track: (start ns, end ns, file index) of slices and instants.
    let mut slices: BTreeMap<Track, Vec<Span>> = BTreeMap::new();
    let mut flows: BTreeMap<i64, Vec<(usize, &Value)>> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        let ph = e["ph"]
            .as_str()
            .unwrap_or_else(|| panic!("event {i} has no ph: {e}"));
        assert!(e["name"].is_string(), "event {i} has no name: {e}");
        let track = (
            e["pid"]
                .as_i64()
                .unwrap_or_else(|| panic!("event {i} has no pid: {e}")),
            e["tid"]
                .as_i64()
                .unwrap_or_else(|| panic!("event {i} has no tid: {e}")),
        );
        if ph == "M" {
            let name = e["name"].as_str().unwrap();
            match name {
                "process_name" => {
                    assert!(e["args"]["name"].is_string(), "{e}");
                    named_processes.insert(track.0);
                }
                "thread_name" => {
                    assert!(e["args"]["name"].is_string(), "{e}");
                    named_threads.insert(track);
                }
                "process_sort_index" | "thread_sort_index" => {
                    assert!(e["args"]["sort_index"].is_i64(), "{e}")
                }
                other => panic!("unexpected metadata {other}: {e}"),
            }
            continue;
        }
        used.insert(track);
        assert!(e["cat"].is_string(), "event {i} has no cat: {e}");
        let ts = ns(&e["ts"]);
        assert!(ts >= 0, "event {i}: negative ts: {e}");
        match ph {
            "X" => {
                let dur = ns(&e["dur"]);
                assert!(dur >= 0, "event {i}: negative dur: {e}");
                slices.entry(track).or_default().push((ts, ts + dur, i));
            }
            "i" => {
                assert!(
                    ["g", "p", "t"].contains(&e["s"].as_str().unwrap_or("")),
                    "event {i}: instant scope: {e}"
                );
                slices.entry(track).or_default().push((ts, ts, i));
            }
            "s" | "t" | "f" => {
                let id = e["id"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("flow {i} has no id: {e}"));
                if ph != "s" {
                    assert_eq!(e["bp"], "e", "flow {i} binds to its enclosing slice: {e}");
                }
                flows.entry(id).or_default().push((i, e));
            }
            other => panic!("event {i}: phase {other} is not one this export writes: {e}"),
        }
    }
    for track in &used {
        assert!(
            named_threads.contains(track),
            "track {track:?} has no thread_name"
        );
        assert!(
            named_processes.contains(&track.0),
            "process {} has no process_name",
            track.0
        );
    }

    // Slices of a track come in time order and nest, never overlap.
    for (track, list) in &slices {
        for w in list.windows(2) {
            assert!(
                w[0].0 <= w[1].0,
                "track {track:?}: events {} and {} out of order",
                w[0].2,
                w[1].2
            );
        }
        let mut sorted = list.clone();
        sorted.sort_by_key(|&(start, end, i)| (start, std::cmp::Reverse(end), i));
        let mut open: Vec<Span> = Vec::new();
        for slice in sorted {
            while open
                .last()
                .is_some_and(|top| top.1 <= slice.0 && top.0 < slice.0)
            {
                open.pop();
            }
            if let Some(top) = open.last() {
                assert!(
                    slice.1 <= top.1,
                    "track {track:?}: event {} [{}, {}] overlaps event {} [{}, {}]",
                    slice.2,
                    slice.0,
                    slice.1,
                    top.2,
                    top.0,
                    top.1
                );
            }
            open.push(slice);
        }
    }

    // Every flow: one start, one finish, same name and category, in time
    // order, each event bound to a slice of its track that encloses it and
    // comes before it in the file; at one instant the start before the rest.
    let enclosing = |e: &Value, i: usize| {
        let track = (e["pid"].as_i64().unwrap(), e["tid"].as_i64().unwrap());
        let ts = ns(&e["ts"]);
        slices.get(&track).is_some_and(|list| {
            list.iter()
                .any(|&(start, end, j)| start <= ts && ts <= end && j < i && events[j]["ph"] == "X")
        })
    };
    for (id, list) in &flows {
        let phases: Vec<&str> = list
            .iter()
            .map(|(_, e)| e["ph"].as_str().unwrap())
            .collect();
        assert_eq!(
            phases.iter().filter(|p| **p == "s").count(),
            1,
            "flow {id}: {phases:?}"
        );
        assert_eq!(
            phases.iter().filter(|p| **p == "f").count(),
            1,
            "flow {id}: {phases:?}"
        );
        let (si, start) = list.iter().find(|(_, e)| e["ph"] == "s").unwrap();
        for (i, e) in list {
            assert_eq!(e["name"], start["name"], "flow {id}");
            assert_eq!(e["cat"], start["cat"], "flow {id}");
            assert!(
                ns(&e["ts"]) >= ns(&start["ts"]),
                "flow {id} goes back in time"
            );
            if ns(&e["ts"]) == ns(&start["ts"]) {
                assert!(i >= si, "flow {id}: at one instant its start comes first");
            }
            assert!(
                enclosing(e, *i),
                "flow {id}: event {i} is bound to no slice: {e}"
            );
        }
    }
    check_flow_binding(&events);
    check_track_order(&events);
    events
}

/// Perfetto orders processes and tracks by pid and tid (its JSON importer
/// does not read the sort indexes); chrome://tracing by the sort indexes.
/// Both orders must be the same.
fn check_track_order(events: &[Value]) {
    let sort_index = |name: &str| -> Vec<(i64, i64, i64)> {
        let mut list: Vec<(i64, i64, i64)> = events
            .iter()
            .filter(|e| e["ph"] == "M" && e["name"] == name)
            .map(|e| {
                let pid = e["pid"].as_i64().unwrap();
                let tid = e["tid"].as_i64().unwrap();
                (pid, tid, e["args"]["sort_index"].as_i64().unwrap())
            })
            .collect();
        list.sort();
        list
    };
    let processes = sort_index("process_sort_index");
    assert!(
        processes.windows(2).all(|w| w[0].2 < w[1].2),
        "processes in pid order are not in sort_index order: {processes:?}"
    );
    let threads = sort_index("thread_sort_index");
    assert!(
        threads
            .windows(2)
            .all(|w| w[0].0 != w[1].0 || w[0].2 < w[1].2),
        "tracks in tid order are not in sort_index order: {threads:?}"
    );
    let names = thread_names(events);
    assert!(threads
        .iter()
        .all(|(p, t, _)| names.contains_key(&(*p, *t))));
}

/// Perfetto's slice stack, per track: events read in time order and, at
/// one time, in file order; an `X` or `i` first takes off the slices that
/// ended at or before its start (an instant is a slice of no width), then
/// goes on top; a flow event binds to the slice on top. Every flow event
/// must bind to a step (`cat: "step"`) that holds its time.
fn check_flow_binding(events: &[Value]) {
    let mut order: Vec<usize> = (0..events.len())
        .filter(|&i| events[i]["ph"] != "M")
        .collect();
    order.sort_by_key(|&i| ns(&events[i]["ts"]));
    let mut stacks: BTreeMap<Track, Vec<Span>> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut bound = 0;
    for i in order {
        let e = &events[i];
        let track = (e["pid"].as_i64().unwrap(), e["tid"].as_i64().unwrap());
        let ts = ns(&e["ts"]);
        let stack = stacks.entry(track).or_default();
        match e["ph"].as_str().unwrap() {
            "X" | "i" => {
                while stack.last().is_some_and(|top| top.1 <= ts) {
                    stack.pop();
                }
                let end = if e["ph"] == "X" {
                    ts + ns(&e["dur"])
                } else {
                    ts
                };
                stack.push((ts, end, i));
            }
            _ => match stack.last() {
                Some(&(start, end, j))
                    if events[j]["cat"] == "step" && start <= ts && ts <= end =>
                {
                    bound += 1
                }
                top => wrong.push(format!(
                    "flow event {i} {e} binds to {}",
                    top.map_or("nothing".to_string(), |t| events[t.2].to_string())
                )),
            },
        }
    }
    assert!(bound > 0);
    assert!(
        wrong.is_empty(),
        "{} of {} flow events bind to something else than their step, e.g.\n{}",
        wrong.len(),
        wrong.len() + bound,
        wrong[..wrong.len().min(3)].join("\n")
    );
}

fn named<'a>(events: &'a [Value], ph: &str, name: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["ph"] == ph && e["name"] == name)
        .collect()
}

fn thread_names(events: &[Value]) -> BTreeMap<(i64, i64), String> {
    events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| {
            (
                (e["pid"].as_i64().unwrap(), e["tid"].as_i64().unwrap()),
                e["args"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn track_of(events: &[Value], e: &Value) -> String {
    thread_names(events)[&(e["pid"].as_i64().unwrap(), e["tid"].as_i64().unwrap())].clone()
}

#[test]
fn the_perfetto_export_of_leader_minority_follows_the_trace_event_format_and_the_trace() {
    let (trace, perfetto, _) = export_all("perfetto");
    let events = check_trace_event_format(&perfetto);
    let trace = trace_records(&trace);

    // A track per node, and one for each client's operations.
    let tracks: BTreeSet<String> = thread_names(&events).into_values().collect();
    for t in [
        "n1",
        "n2",
        "n3",
        "n4",
        "n5",
        "c1",
        "c2",
        "c3",
        "c1 ops",
        "c2 ops",
        "c3 ops",
        "faults",
        "partitions",
    ] {
        assert!(tracks.contains(t), "no track {t}: {tracks:?}");
    }

    // Every message is a flow; the dropped ones end on a slice saying so.
    let sends = count_kind(&trace, "send");
    let drops = count_kind(&trace, "drop");
    let starts = events.iter().filter(|e| e["ph"] == "s").count();
    assert_eq!(starts, sends);
    let dropped_slices = events
        .iter()
        .filter(|e| e["ph"] == "X" && e["name"].as_str().unwrap().contains("dropped ("))
        .count();
    let dropped_events: usize = events
        .iter()
        .filter(|e| e["ph"] == "X" && e["cat"] == "step")
        .map(|e| {
            e["args"]["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| x.as_str().unwrap().contains(" dropped ("))
                .count()
        })
        .sum();
    assert_eq!(dropped_events, drops);
    assert!(dropped_slices > 0 && dropped_slices <= drops);

    // Client operations: one slice each, from invoke to complete.
    let invokes = count_kind(&trace, "invoke");
    let ops: Vec<&Value> = events
        .iter()
        .filter(|e| e["ph"] == "X" && e["cat"] == "op")
        .collect();
    assert_eq!(ops.len(), invokes);
    let ok_trace = trace
        .iter()
        .filter(|r| r["kind"] == "complete" && r["outcome"] == "ok")
        .count();
    let ok_slices = ops.iter().filter(|e| e["args"]["outcome"] == "ok").count();
    assert_eq!(ok_slices, ok_trace);
    for op in &ops {
        let t = &op["args"];
        assert_eq!(ns(&op["ts"]), t["invoke_ns"].as_i64().unwrap(), "{op}");
        assert_eq!(
            ns(&op["ts"]) + ns(&op["dur"]),
            t["complete_ns"].as_i64().unwrap(),
            "{op}"
        );
    }

    // The partition and the heal, the new leader and the old one stepping down.
    let faults: Vec<&Value> = events
        .iter()
        .filter(|e| e["cat"] == "fault" && e["ph"] == "i")
        .collect();
    assert_eq!(faults.len(), 2);
    let partition = named(&events, "X", "partition {n5,c1} | {n1,n2,n3,n4,c2,c3}");
    assert_eq!(partition.len(), 1, "one partition window");
    let (from_ns, to_ns) = (
        ns(&partition[0]["ts"]),
        ns(&partition[0]["ts"]) + ns(&partition[0]["dur"]),
    );
    assert_eq!((from_ns, to_ns), (5_000_000_000, 12_000_000_000));
    let leaders: Vec<(String, i64)> = named(&events, "i", "candidate → leader")
        .into_iter()
        .map(|e| (track_of(&events, e), ns(&e["ts"])))
        .collect();
    let step_down: Vec<(String, i64)> = named(&events, "i", "leader → follower")
        .into_iter()
        .map(|e| (track_of(&events, e), ns(&e["ts"])))
        .collect();
    let roles = count_kind(&trace, "role");
    assert_eq!(events.iter().filter(|e| e["cat"] == "role").count(), roles);
    assert_eq!(leaders.len(), 2, "{leaders:?}");
    assert_eq!(step_down.len(), 1, "{step_down:?}");

    // The operations the doc names are slices of this run.
    for quoted in [
        "get k3 → 5 (ok)",
        "put k4 2 (ok)",
        "cas k0 nil->4 (fail, found another value)",
    ] {
        assert!(
            ops.iter().any(|e| e["name"] == quoted),
            "no operation `{quoted}`"
        );
        assert!(
            doc().contains(&format!("`{quoted}`")),
            "docs/export.md: `{quoted}`"
        );
    }

    // The first dropped message, and the operations of `c1` the
    // partition left unanswered.
    let first_drop = events
        .iter()
        .filter(|e| e["ph"] == "X" && e["name"].as_str().unwrap().contains(" dropped ("))
        .min_by_key(|e| ns(&e["ts"]))
        .unwrap();
    let unanswered = ops
        .iter()
        .filter(|e| track_of(&events, e) == "c1 ops" && e["args"]["outcome"] == "info")
        .filter(|e| (from_ns..to_ns).contains(&ns(&e["ts"])))
        .count();

    // What docs/export.md says a user sees is this run.
    let doc = doc();
    let seconds = |ns: i64| format!("{}.{:09} s", ns / 1_000_000_000, ns % 1_000_000_000);
    for quoted in [
        format!("{sends} messages"),
        format!("{drops} of them dropped"),
        format!("{invokes} client operations"),
        format!(
            "`{}` becomes leader at {}",
            leaders[0].0,
            seconds(leaders[0].1)
        ),
        format!(
            "`{}` becomes leader at {}",
            leaders[1].0,
            seconds(leaders[1].1)
        ),
        format!(
            "`{}` steps down at {}",
            step_down[0].0,
            seconds(step_down[0].1)
        ),
        format!(
            "`{}`, at {}",
            track_of(&events, first_drop),
            seconds(ns(&first_drop["ts"]))
        ),
        format!(
            "slice `{}` on the track",
            first_drop["name"].as_str().unwrap()
        ),
        format!("{unanswered} operations of `c1` that end `info`"),
    ] {
        assert!(
            doc.contains(&quoted),
            "docs/export.md does not say `{quoted}`"
        );
    }
}

#[test]
fn the_shiviz_export_of_leader_minority_parses_with_its_regex_and_its_clocks_are_vector_clocks() {
    let (trace, _, shiviz) = export_all("shiviz");
    let trace = trace_records(&trace);
    let log = check_shiviz(&shiviz, &trace);
    let hosts: BTreeSet<&str> = log.hosts.iter().map(String::as_str).collect();
    assert_eq!(
        hosts,
        BTreeSet::from(["n1", "n2", "n3", "n4", "n5", "c1", "c2", "c3", "network", "faults"])
    );
    assert_eq!(log.receives, count_kind(&trace, "deliver"));
    assert_eq!(log.drops, count_kind(&trace, "drop"));
    assert!(
        doc().contains(&format!("{} events", log.events)),
        "docs/export.md quotes the event count"
    );
    let arrivals = log.receives + log.drops + count_kind(&trace, "hold");
    eprintln!("{} of {arrivals} arrivals have no arrow", log.no_arrow);
    assert!(log.no_arrow > 0);
    assert!(
        doc().contains(&format!("{} of its {arrivals} arrivals", log.no_arrow)),
        "docs/export.md quotes the arrivals without an arrow: {} of its {arrivals} arrivals",
        log.no_arrow
    );
}

/// What [`check_shiviz`] counted.
struct ShivizLog {
    events: usize,
    hosts: BTreeSet<String>,
    receives: usize,
    drops: usize,
    /// Arrivals (receives, drops, holds) ShiViz draws no arrow into.
    no_arrow: usize,
}

/// Checks `file` against ShiViz's parser and vector-clock rules, and that
/// it holds one event per record of `trace`.
fn check_shiviz(file: &Path, trace: &[Value]) -> ShivizLog {
    let text = std::fs::read_to_string(file).unwrap();
    let (first, rest) = text.split_once('\n').unwrap();
    let (delimiter, body) = rest.split_once('\n').unwrap();
    assert_eq!(delimiter, "", "one execution: the delimiter line is empty");
    let regex = regex::Regex::new(first).expect("the first line is the parsing regex");
    for group in ["host", "clock", "event"] {
        assert!(
            regex.capture_names().any(|n| n == Some(group)),
            "no group {group}"
        );
    }

    // The regex, applied as ShiViz does (match after match), takes every
    // line of the log and nothing else.
    let mut end = 0;
    let mut parsed = Vec::new();
    for c in regex.captures_iter(body) {
        let m = c.get(0).unwrap();
        assert_eq!(
            &body[end..m.start()].trim(),
            &"",
            "text between events at byte {end}"
        );
        end = m.end();
        let clock: BTreeMap<String, u64> = serde_json::from_str(&c["clock"]).unwrap_or_else(|e| {
            panic!(
                "clock `{}` is not a JSON object of counts: {e}",
                &c["clock"]
            )
        });
        parsed.push((c["host"].to_string(), clock, c["event"].to_string()));
    }
    assert_eq!(body[end..].trim(), "", "text after the last event");
    assert_eq!(parsed.len(), trace.len(), "one event per trace record");

    // The vector clock algorithm, entry by entry: each host's own entry
    // grows by exactly one; a receive (or the network's drop or hold) is
    // the merge of the host's last clock and the sender's clock at the
    // send, then a tick; any other event is the last clock plus a tick.
    let mut last: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut sent: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut events_of: BTreeMap<String, u64> = BTreeMap::new();
    let message = regex::Regex::new(r"^\[[0-9.]+s\] (send|receive|drop|hold) \S+ (#\d+) ").unwrap();
    let (mut receives, mut drops, mut no_arrow) = (0, 0, 0);
    // The host that sent each message, and the messages delivered or
    // dropped already (a second arrival has no send clock left).
    let mut sender: BTreeMap<String, String> = BTreeMap::new();
    let mut ended: BTreeSet<String> = BTreeSet::new();
    for (host, clock, event) in &parsed {
        let mut expected = last.get(host).cloned().unwrap_or_default();
        let kind = message.captures(event);
        if let Some(k) = &kind {
            if &k[1] != "send" {
                let at_send = sent
                    .get(&k[2])
                    .unwrap_or_else(|| panic!("{event}: never sent"));
                // ShiViz draws an arrow into an event only from a host whose
                // entry went up: the text says when there is none.
                let from = &sender[&k[2]];
                let known = expected.get(from).copied().unwrap_or(0);
                let marker = if ended.contains(&k[2]) {
                    Some(NOT_SENT)
                } else if at_send.get(from).copied().unwrap_or(0) > known {
                    None
                } else {
                    Some(ALREADY_KNOWN)
                };
                match marker {
                    Some(m) => {
                        assert!(event.ends_with(m), "{host} {event}: no arrow, says {m}");
                        no_arrow += 1;
                    }
                    None => assert!(
                        !event.ends_with(ALREADY_KNOWN) && !event.ends_with(NOT_SENT),
                        "{host} {event}: has an arrow"
                    ),
                }
                if ["receive", "drop"].contains(&&k[1]) && marker != Some(NOT_SENT) {
                    ended.insert(k[2].to_string());
                }
                if marker == Some(NOT_SENT) {
                    // The export merges nothing: the first arrival did.
                    *expected.entry(host.clone()).or_insert(0) += 1;
                    assert_eq!(clock, &expected, "{host}: {event}");
                    *events_of.entry(host.clone()).or_insert(0) += 1;
                    last.insert(host.clone(), clock.clone());
                    match &k[1] {
                        "receive" => receives += 1,
                        "drop" => drops += 1,
                        _ => {}
                    }
                    continue;
                }
                for (h, n) in at_send {
                    let e = expected.entry(h.clone()).or_insert(0);
                    *e = (*e).max(*n);
                }
                assert!(
                    at_send
                        .iter()
                        .all(|(h, n)| clock.get(h).is_some_and(|c| c >= n)),
                    "{event}: does not dominate its send"
                );
            }
        }
        *expected.entry(host.clone()).or_insert(0) += 1;
        assert_eq!(clock, &expected, "{host}: {event}");
        *events_of.entry(host.clone()).or_insert(0) += 1;
        assert_eq!(
            clock[host], events_of[host],
            "{host}'s own entry counts its events"
        );
        if let Some(k) = kind {
            match &k[1] {
                "send" => {
                    sent.insert(k[2].to_string(), clock.clone());
                    sender.insert(k[2].to_string(), host.clone());
                }
                "receive" => receives += 1,
                "drop" => drops += 1,
                _ => {}
            }
        }
        last.insert(host.clone(), clock.clone());
    }
    // Every host of a clock is a host with at least that many events.
    for (_, clock, event) in &parsed {
        for (h, n) in clock {
            assert!(
                events_of.get(h).is_some_and(|e| e >= n),
                "{event}: {h} has no event {n}"
            );
        }
    }
    ShivizLog {
        events: parsed.len(),
        hosts: events_of.into_keys().collect(),
        receives,
        drops,
        no_arrow,
    }
}

/// What the ShiViz export says after an arrival with no arrow
/// (tui/src/export/shiviz.rs).
const ALREADY_KNOWN: &str = "(already known: no arrow)";
const NOT_SENT: &str = "(delivered before, or sent before the log begins: no arrow)";

/// `--export-window` keeps the records inside the window, and what it
/// keeps still follows both formats (arrows from before the window are
/// left out, never left dangling).
#[test]
fn a_windowed_export_holds_the_window_only_and_still_follows_the_formats() {
    let (trace, perfetto, shiviz) = (tmp("w.jsonl"), tmp("w.json"), tmp("w.shiviz"));
    let (code, _, err) = chaoslab(&[
        "run",
        SCENARIO,
        "--trace",
        s(&trace),
        "--export",
        "perfetto",
        s(&perfetto),
        "--export",
        "shiviz",
        s(&shiviz),
        "--export-window",
        "4.9s..5.3s",
    ]);
    assert_eq!(code, 0, "{err}");
    let (from, to) = (4_900_000_000i64, 5_300_000_000i64);
    let inside: Vec<Value> = trace_records(&trace)
        .into_iter()
        .filter(|r| (from..=to).contains(&r["t"].as_i64().unwrap()))
        .collect();
    let events = check_trace_event_format(&perfetto);
    for e in events.iter().filter(|e| e["ph"] != "M") {
        let start = ns(&e["ts"]);
        assert!((from..=to).contains(&start), "outside the window: {e}");
    }
    let log = check_shiviz(&shiviz, &inside);
    assert_eq!(log.events, inside.len());
    assert!(
        doc().contains(&format!("{} events", log.events)),
        "docs/export.md quotes the windowed event count"
    );

    let (code, out, err) = chaoslab(&[
        "run",
        SCENARIO,
        "--export",
        "perfetto",
        s(&tmp("never-w.json")),
        "--export-window",
        "6s..5s",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("ends before it starts") && out.is_empty(),
        "{err}"
    );
}

/// Holds, pauses, crashes, duplicated replies, notes and triggers,
/// violations: both exports of scenarios that have them follow the same
/// rules as leader-minority's.
#[test]
fn exports_of_scenarios_with_holds_crashes_triggers_and_violations_follow_the_formats_too() {
    for scenario in [
        "raft/bug-figure-8",
        "replication/gc-pause-short-timeout",
        "replication/dup-replies",
        "twopc/bug-decide-before-logging",
        "cache/write-back-crash",
    ] {
        let tag = scenario.replace('/', "-");
        let ((trace, perfetto, shiviz), code, _, err) = export_all_of(scenario, &tag);
        assert!([0, 1, 3].contains(&code), "{scenario}: exit {code}: {err}");
        let trace = trace_records(&trace);
        let events = check_trace_event_format(&perfetto);
        let starts = events.iter().filter(|e| e["ph"] == "s").count();
        assert_eq!(starts, count_kind(&trace, "send"), "{scenario}");
        let violations = events.iter().filter(|e| e["cat"] == "violation").count();
        assert_eq!(violations, count_kind(&trace, "violation"), "{scenario}");
        let log = check_shiviz(&shiviz, &trace);
        assert_eq!(log.drops, count_kind(&trace, "drop"), "{scenario}");
        eprintln!(
            "{scenario}: {} trace records, {} holds, {} violations, {} Perfetto events, \
             {} ShiViz arrivals without an arrow",
            trace.len(),
            count_kind(&trace, "hold"),
            violations,
            events.len(),
            log.no_arrow
        );
    }
}

#[test]
fn the_same_seed_gives_byte_identical_exports_with_or_without_the_trace_and_from_a_saved_trace() {
    let (trace, perfetto, shiviz) = export_all("again");
    let (p2, s2) = (tmp("alone.json"), tmp("alone.shiviz"));
    let (code, _, err) = chaoslab(&[
        "run",
        SCENARIO,
        "--export",
        "perfetto",
        s(&p2),
        "--export",
        "shiviz",
        s(&s2),
    ]);
    assert_eq!(code, 0, "{err}");
    let read = |p: &Path| std::fs::read(p).unwrap();
    assert!(
        read(&perfetto) == read(&p2),
        "the Perfetto export changed between two runs"
    );
    assert!(
        read(&shiviz) == read(&s2),
        "the ShiViz export changed between two runs"
    );

    // `chaoslab export` converts the saved trace into the same files.
    let (p3, s3) = (tmp("converted.json"), tmp("converted.shiviz"));
    let (code, _, err) = chaoslab(&[
        "export",
        s(&trace),
        "--to",
        "perfetto",
        s(&p3),
        "--to",
        "shiviz",
        s(&s3),
        "--title",
        "raft/leader-minority seed 1",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        read(&perfetto) == read(&p3),
        "the converted Perfetto export differs"
    );
    assert!(
        read(&shiviz) == read(&s3),
        "the converted ShiViz export differs"
    );

    // And another seed is another run.
    let p4 = tmp("seed2.json");
    let (code, _, _) = chaoslab(&[
        "run",
        SCENARIO,
        "--seed",
        "2",
        "--export",
        "perfetto",
        s(&p4),
    ]);
    assert_eq!(code, 0);
    assert!(read(&perfetto) != read(&p4));
}

#[test]
fn a_bad_format_or_an_unwritable_file_is_refused_before_the_run_with_exit_2() {
    let never = tmp("never.json");
    let (code, out, err) = chaoslab(&["run", SCENARIO, "--export", "svg", s(&never)]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("unknown export format `svg`") && err.contains("perfetto, shiviz"),
        "{err}"
    );
    assert!(out.is_empty() && !never.exists(), "the run started: {out}");

    let (code, out, err) = chaoslab(&[
        "run",
        SCENARIO,
        "--export",
        "perfetto",
        "/nonexistent-folder/run.json",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot write the Perfetto export to /nonexistent-folder/run.json"),
        "{err}"
    );
    assert!(out.is_empty(), "the run started: {out}");

    let (code, _, err) = chaoslab(&[
        "export",
        "/nonexistent-folder/t.jsonl",
        "--to",
        "shiviz",
        s(&never),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("/nonexistent-folder/t.jsonl: cannot open the trace"),
        "{err}"
    );

    let bad = tmp("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"t\":1,\"kind\":\"timer\",\"node\":\"n1\",\"timer\":1}\n{\"t\":2}\n",
    )
    .unwrap();
    let (code, _, err) = chaoslab(&["export", s(&bad), "--to", "perfetto", s(&never)]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.jsonl:2: no `kind` field"), "{err}");

    let back = tmp("back.jsonl");
    let timer = |t: u64| format!("{{\"t\":{t},\"kind\":\"timer\",\"node\":\"n1\",\"timer\":1}}\n");
    std::fs::write(&back, timer(5) + &timer(3)).unwrap();
    let (code, _, err) = chaoslab(&["export", s(&back), "--to", "perfetto", s(&never)]);
    assert_eq!(code, 2);
    assert!(
        err.contains("back.jsonl:2: the record at t=3 comes after one at t=5"),
        "{err}"
    );
}

#[test]
fn a_write_error_during_the_run_prints_the_report_then_names_the_export_with_exit_2() {
    if !Path::new("/dev/full").exists() {
        eprintln!("skipped: no /dev/full on this system");
        return;
    }
    let trace = tmp("beside-full.jsonl");
    let (code, out, err) = chaoslab(&[
        "run",
        SCENARIO,
        "--trace",
        s(&trace),
        "--export",
        "shiviz",
        "/dev/full",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        out.contains("verdict") && out.contains("replay"),
        "the report comes first: {out}\n{err}"
    );
    assert!(
        err.contains("error: cannot write the ShiViz export to /dev/full:"),
        "{err}"
    );
    assert!(!err.contains("cannot write the trace"), "{err}");
    assert!(
        std::fs::read_to_string(&trace).unwrap().lines().count() > 1000,
        "the trace was written whole"
    );
}

#[test]
fn an_output_that_is_the_input_or_another_output_is_refused_before_anything_is_written() {
    let timer = "{\"t\":1,\"kind\":\"timer\",\"node\":\"n1\",\"timer\":1}\n";
    let input = tmp("io.jsonl");
    std::fs::write(&input, timer).unwrap();
    // The input itself, and the input by another spelling of its path.
    let dotted = input.parent().unwrap().join(".").join("io.jsonl");
    for output in [&input, &dotted] {
        let (code, _, err) = chaoslab(&["export", s(&input), "--to", "perfetto", s(output)]);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("which is the trace it is made from")
                && err.contains("nothing was written"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(&input).unwrap(),
            timer,
            "the input was emptied"
        );
    }
    // Two outputs of one command, existing or not yet, by any spelling.
    let same = tmp("same.json");
    let same_dotted = same.parent().unwrap().join(".").join("same.json");
    let trace = tmp("keep.jsonl");
    for exists in [false, true] {
        let _ = std::fs::remove_file(&same);
        std::fs::write(&trace, timer).unwrap();
        if exists {
            std::fs::write(&same, "kept").unwrap();
        }
        let cases: [&[&str]; 4] = [
            &[
                "--export",
                "perfetto",
                s(&same),
                "--export",
                "shiviz",
                s(&same_dotted),
            ],
            &["--trace", s(&same), "--export", "perfetto", s(&same)],
            &["--history", s(&same), "--trace", s(&same_dotted)],
            &[
                "--history",
                s(&same),
                "--trace",
                s(&trace),
                "--export",
                "shiviz",
                s(&same),
            ],
        ];
        for flags in cases {
            let mut args = vec!["run", SCENARIO];
            args.extend_from_slice(flags);
            let (code, out, err) = chaoslab(&args);
            assert_eq!(code, 2, "{args:?}: {err}");
            assert!(out.is_empty(), "the run started: {args:?}");
            assert!(err.contains("are the same file"), "{args:?}: {err}");
            assert_eq!(std::fs::read_to_string(&trace).unwrap(), timer);
            assert_eq!(
                std::fs::read_to_string(&same).ok(),
                exists.then(|| "kept".to_string()),
                "{args:?}"
            );
        }
    }
    let (code, _, err) = chaoslab(&[
        "export",
        s(&input),
        "--to",
        "perfetto",
        s(&same),
        "--to",
        "shiviz",
        s(&same),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("are the same file"), "{err}");
    // /dev/null may take every output: writing it twice destroys nothing.
    if Path::new("/dev/null").exists() {
        let (code, _, err) = chaoslab(&[
            "export",
            s(&input),
            "--to",
            "perfetto",
            "/dev/null",
            "--to",
            "shiviz",
            "/dev/null",
        ]);
        assert_eq!(code, 0, "{err}");
    }
}

#[test]
fn an_output_that_cannot_be_created_leaves_the_other_outputs_as_they_were() {
    let trace = tmp("untouched.jsonl");
    let history = tmp("untouched-history.jsonl");
    let fresh = tmp("not-made.json");
    let _ = std::fs::remove_file(&fresh);
    std::fs::write(&trace, "an earlier trace\n").unwrap();
    std::fs::write(&history, "an earlier history\n").unwrap();
    let (code, out, err) = chaoslab(&[
        "run",
        SCENARIO,
        "--history",
        s(&history),
        "--trace",
        s(&trace),
        "--export",
        "perfetto",
        s(&fresh),
        "--export",
        "shiviz",
        "/nonexistent-folder/run.shiviz",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "the run started: {out}");
    assert!(
        err.contains("cannot write the ShiViz export to /nonexistent-folder/run.shiviz"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&trace).unwrap(),
        "an earlier trace\n"
    );
    assert_eq!(
        std::fs::read_to_string(&history).unwrap(),
        "an earlier history\n"
    );
    assert!(!fresh.exists(), "a file was left behind");
}

#[test]
fn a_bad_or_empty_trace_leaves_no_export_behind() {
    let timer = |t: u64| format!("{{\"t\":{t},\"kind\":\"timer\",\"node\":\"n1\",\"timer\":1}}\n");
    let cases: [(&str, String, &[&str], &str); 5] = [
        (
            "not-a-trace.jsonl",
            "hello\n".to_string(),
            &[],
            "not-a-trace.jsonl:1: not JSON",
        ),
        (
            "bad-line-3.jsonl",
            timer(1) + &timer(2) + "{\"t\":3}\n",
            &[],
            "bad-line-3.jsonl:3: no `kind` field",
        ),
        ("empty.jsonl", String::new(), &[], "the trace is empty"),
        ("blank.jsonl", "\n".to_string(), &[], "the trace is empty"),
        (
            "outside.jsonl",
            timer(1) + &timer(2),
            &["--window", "1s.."],
            "no record of",
        ),
    ];
    for (name, text, flags, says) in cases {
        let input = tmp(name);
        std::fs::write(&input, text).unwrap();
        let (perfetto, shiviz) = (tmp(&format!("{name}.json")), tmp(&format!("{name}.shiviz")));
        let mut args = vec![
            "export",
            s(&input),
            "--to",
            "perfetto",
            s(&perfetto),
            "--to",
            "shiviz",
            s(&shiviz),
        ];
        args.extend_from_slice(flags);
        let (code, _, err) = chaoslab(&args);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains(says), "{name}: {err}");
        assert!(
            err.contains("nothing was exported: removed"),
            "{name}: {err}"
        );
        assert!(
            !perfetto.exists() && !shiviz.exists(),
            "{name}: an export was left behind"
        );
    }
    // A good trace still exports, to a file and to a device.
    let good = tmp("good.jsonl");
    std::fs::write(&good, timer(1)).unwrap();
    let out = tmp("good.json");
    let (code, _, err) = chaoslab(&["export", s(&good), "--to", "perfetto", s(&out)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.exists());
}

/// A trace naming a new node on every line would make both readers of the
/// format take memory in the square of its length (the UI's link table,
/// ShiViz's vector clocks: 40,000 names, a 2.4 MB file, took more than
/// 4 GB). Both refuse it at the first name too many, with the file and
/// line and exit code 2, and the export leaves no file behind.
#[test]
fn a_trace_naming_too_many_nodes_is_refused_by_export_and_by_the_tui() {
    let timer = |t: usize, node: &str| {
        format!("{{\"t\":{t},\"kind\":\"timer\",\"node\":\"{node}\",\"timer\":1}}\n")
    };
    // Every server and client a scenario may have, then other names.
    let mut names: Vec<String> = (1..=128).map(|k| format!("n{k}")).collect();
    names.extend((1..=256).map(|k| format!("c{k}")));
    names.extend((0..).map(|k| format!("svc{k}")).take(128));
    assert_eq!(names.len(), 512);
    let text: String = names.iter().enumerate().map(|(t, n)| timer(t, n)).collect();
    // 512 names are a trace (the same name again is no new one).
    let most = tmp("most-names.jsonl");
    std::fs::write(&most, text.clone() + &timer(600, "n1")).unwrap();
    let out = tmp("most-names.json");
    let (code, _, err) = chaoslab(&["export", s(&most), "--to", "shiviz", s(&out)]);
    assert_eq!(code, 0, "{err}");
    // The 513th is refused, at its line (after a blank one).
    let many = tmp("many-names.jsonl");
    std::fs::write(&many, text + "\n" + &timer(600, "svc-one-more")).unwrap();
    let says = format!(
        "{}:514: node `svc-one-more` is the trace's 513th node name: a trace names 512 nodes at most",
        s(&many)
    );
    let out = tmp("many-names.shiviz");
    let (code, _, err) = chaoslab(&["export", s(&many), "--to", "shiviz", s(&out)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&says), "{err}\nwanted {says}");
    assert!(!out.exists(), "an export was left behind");
    let (code, _, err) = chaoslab(&["tui", "--trace", s(&many)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&says), "{err}\nwanted {says}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A trace from another tool may name its nodes anything: names that
/// look like chaoslab's but are not (`n07`, huge numbers), names that are
/// one ShiViz word only once rewritten (`a b`), and the names of the
/// export's own ShiViz hosts.
#[test]
fn any_node_names_of_a_converted_trace_give_valid_exports_with_a_track_and_a_host_each() {
    let names = [
        "n7",
        "n07",
        "a b",
        "a_b",
        "network",
        "faults",
        "invariants",
        "c99999999",
        "n99999999",
        "c4294967295",
        "c1",
    ];
    let mut lines = Vec::new();
    let mut t = 1_000;
    let mut id = 1;
    for round in 0..12 {
        for (i, from) in names.iter().enumerate() {
            let to = names[(i + 1 + round) % names.len()];
            let send = serde_json::json!({"t": t, "kind": "send", "from": from, "to": to,
                "id": id, "msg": "Ping", "detail": "Ping"});
            let deliver = serde_json::json!({"t": t + 500, "kind": "deliver", "from": from,
                "to": to, "id": id, "msg": "Ping"});
            lines.push(send.to_string());
            lines.push(deliver.to_string());
            t += 1_000;
            id += 1;
        }
    }
    lines.push(
        serde_json::json!({"t": t, "kind": "fault", "action": "partition",
        "description": "{n7} | {a b}", "line": 3})
        .to_string(),
    );
    let input = tmp("names.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let (perfetto, shiviz) = (tmp("names.json"), tmp("names.shiviz"));
    let (code, _, err) = chaoslab(&[
        "export",
        s(&input),
        "--to",
        "perfetto",
        s(&perfetto),
        "--to",
        "shiviz",
        s(&shiviz),
    ]);
    assert_eq!(code, 0, "{err}");
    let trace = trace_records(&input);
    let events = check_trace_event_format(&perfetto);
    // A track of its own per node: as many named node tracks as names.
    let tracks: BTreeSet<String> = thread_names(&events)
        .into_iter()
        .filter(|((pid, _), _)| *pid != 1)
        .map(|(_, name)| name)
        .collect();
    assert_eq!(
        tracks,
        names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>()
    );
    let tids: Vec<(i64, i64)> = thread_names(&events).into_keys().collect();
    let unique: BTreeSet<i64> = tids.iter().map(|(_, tid)| *tid).collect();
    assert_eq!(unique.len(), tids.len(), "a tid in two processes: {tids:?}");

    let log = check_shiviz(&shiviz, &trace);
    assert_eq!(log.receives, count_kind(&trace, "deliver"));
    // Every node a host of its own, besides `faults`.
    assert_eq!(log.hosts.len(), names.len() + 1, "{:?}", log.hosts);
    assert!(log.hosts.contains("a_b") && log.hosts.contains("network_2"));
}

#[test]
fn the_help_and_the_doc_say_what_export_does_and_where_its_tests_are() {
    let (code, out, _) = chaoslab(&["--help"]);
    assert_eq!(code, 0);
    let help = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        help.contains("Exit codes (run, sweep, shrink, check, export)")
            && help.contains("two outputs that are one file"),
        "{help}"
    );
    let doc = doc();
    assert!(
        doc.contains("`tui/tests/it/export.rs`"),
        "docs name the tests"
    );
    assert!(
        !doc.contains("`tui/tests/export.rs`"),
        "docs name an old path"
    );
    assert!(
        !doc.contains("file layout GoVector writes"),
        "GoVector writes the event first"
    );
    assert!(Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/export.rs")
        .exists());
}

#[test]
fn an_output_that_is_the_scenario_file_is_refused_and_the_scenario_kept() {
    let scenario = tmp("mine.toml");
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/single/normal.toml"),
    )
    .unwrap();
    std::fs::write(&scenario, &text).unwrap();
    for flag in ["--trace", "--history"] {
        let (code, out, err) = chaoslab(&["run", s(&scenario), flag, s(&scenario)]);
        assert_eq!(code, 2, "{flag}: {err}");
        assert!(out.is_empty(), "the run started");
        assert!(
            err.contains("which is the scenario it is made from"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&scenario).unwrap(), text);
    }
    let (code, out, err) = chaoslab(&["run", s(&scenario), "--export", "shiviz", s(&scenario)]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(std::fs::read_to_string(&scenario).unwrap(), text);
}
