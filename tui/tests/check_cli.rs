//! `chaoslab check` end to end: exit codes, messages, the SVG and JSON outputs.

use std::path::PathBuf;
use std::process::{Command, Output};

// One lookup of the shared corpora for every test crate (both sit one level
// below the workspace, so its `CARGO_MANIFEST_DIR/../../shared` is the same).
#[path = "../../sim/tests/shared_corpus/mod.rs"]
mod shared_corpus;
use shared_corpus::shared;

/// A file of the porcupine reference corpus.
fn corpus(file: &str) -> Option<String> {
    shared(&format!("reference-histories/porcupine/{file}"))
        .map(|p| p.to_string_lossy().into_owned())
}

fn chaoslab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chaoslab"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn temp(name: &str, contents: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("chaoslab-check-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).expect("temp file is writable");
    path
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_linearizable_etcd_run_exits_0() {
    let Some(file0) = corpus("jepsen/etcd_002.log") else {
        return;
    };
    let o = chaoslab(&["check", &file0, "--model", "cas-register"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("verdict: linearizable"));
}

#[test]
fn a_violating_etcd_run_exits_1_explains_itself_and_draws_the_culprit() {
    let Some(file0) = corpus("jepsen/etcd_000.log") else {
        return;
    };
    let svg = std::env::temp_dir().join(format!(
        "chaoslab-check-cli-{}-etcd0.svg",
        std::process::id()
    ));
    let o = chaoslab(&[
        "check",
        &file0,
        "--model",
        "cas-register",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("NOT linearizable"), "{out}");
    assert!(out.contains("cannot be placed"), "{out}");
    assert!(
        stderr(&o).contains("reproduce with: chaoslab check"),
        "{}",
        stderr(&o)
    );
    let picture = std::fs::read_to_string(&svg).expect("the SVG was written");
    assert!(picture.starts_with("<svg") && picture.contains("#e4572e"));
}

#[test]
fn the_kv_corpus_gets_its_verdicts() {
    let Some(file0) = corpus("kv/c50-ok.txt") else {
        return;
    };
    let Some(file1) = corpus("kv/c50-bad.txt") else {
        return;
    };
    let ok = chaoslab(&["check", &file0, "--model", "kv"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let bad = chaoslab(&["check", &file1, "--model", "kv"]);
    assert_eq!(bad.status.code(), Some(1), "{}", stdout(&bad));
}

#[test]
fn bad_input_exits_2_with_the_line_and_what_is_valid() {
    let f = temp("bad.edn", "{:type :invoke, :f :write, :value 1, :process 0}\n{:type :okk, :f :write, :value 1, :process 0}\n");
    let o = chaoslab(&["check", f.to_str().unwrap(), "--model", "register"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(":2:") && err.contains(":invoke, :ok, :fail or :info"),
        "{err}"
    );
}

#[test]
fn a_missing_file_and_a_wrong_model_exit_2() {
    let Some(file0) = corpus("kv/c01-ok.txt") else {
        return;
    };
    assert_eq!(
        chaoslab(&["check", "/definitely/not/here.edn", "--model", "kv"])
            .status
            .code(),
        Some(2)
    );
    let o = chaoslab(&["check", &file0, "--model", "cas-register"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--model kv"), "{}", stderr(&o));
    assert_eq!(
        chaoslab(&["check", &file0, "--model", "queue"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn running_out_of_budget_exits_3() {
    let Some(file0) = corpus("jepsen/etcd_002.log") else {
        return;
    };
    let o = chaoslab(&[
        "check",
        &file0,
        "--model",
        "cas-register",
        "--max-steps",
        "10",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    // One word for it everywhere: the report, the hint, `run`'s report.
    assert!(
        stdout(&o).contains("verdict: undecided: "),
        "{}",
        stdout(&o)
    );
    assert!(
        stderr(&o).starts_with("undecided: the step budget"),
        "{}",
        stderr(&o)
    );
    assert!(!stdout(&o).contains("unknown"), "{}", stdout(&o));
}

#[test]
fn chaoslab_json_lines_round_trip() {
    let h = sim::check::synth::linearizable_kv_history(7, 300, 5, 4);
    let f = temp("h.jsonl", &h.to_jsonl());
    let o = chaoslab(&["check", f.to_str().unwrap(), "--model", "kv"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // Corrupt one read: a value nobody wrote.
    let mut bad = h.clone();
    let i = bad
        .ops
        .iter()
        .position(|o| o.output.is_some())
        .expect("a read");
    bad.ops[i].output = Some(sim::history::Value::Int(12345));
    let f = temp("bad.jsonl", &bad.to_jsonl());
    assert_eq!(
        chaoslab(&["check", f.to_str().unwrap(), "--model", "kv"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn maelstrom_lin_kv_histories_are_read_with_keys() {
    let edn = "{:type :invoke, :f :write, :value [0 1], :process 0, :time 10}
{:type :ok, :f :write, :value [0 1], :process 0, :time 20}
{:type :invoke, :f :read, :value [0 nil], :process 1, :time 30}
{:type :ok, :f :read, :value [0 1], :process 1, :time 40}
{:type :invoke, :f :cas, :value [1 [5 6]], :process 2, :time 50}
{:type :fail, :f :cas, :value [1 [5 6]], :process 2, :time 60, :error :precondition-failed}
{:type :invoke, :f :read, :value [1 nil], :process 1, :time 70}
{:type :ok, :f :read, :value [1 nil], :process 1, :time 80}
";
    let f = temp("lin-kv.edn", edn);
    let o = chaoslab(&["check", f.to_str().unwrap(), "--model", "kv", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("--json prints JSON");
    assert_eq!(v["linearizability"]["verdict"]["verdict"], "linearizable");
    assert_eq!(v["linearizability"]["keys_total"], 2);
}

#[test]
fn an_empty_history_exits_2_and_says_there_is_nothing_to_check() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/histories/empty.edn"
    );
    for model in ["register", "kv"] {
        let o = chaoslab(&["check", fixture, "--model", model]);
        assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
        assert!(stderr(&o).contains("no operations"), "{}", stderr(&o));
        assert!(!stdout(&o).contains("linearizable"), "{}", stdout(&o));
    }
    let blank = temp("blank.jsonl", "\n\n");
    let o = chaoslab(&["check", blank.to_str().unwrap(), "--model", "kv"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// One key, many clients, every operation concurrent with its neighbours.
fn busy_history() -> PathBuf {
    let h = sim::check::synth::linearizable_kv_history(11, 3000, 1, 12);
    temp("busy.jsonl", &h.to_jsonl())
}

#[test]
fn an_exhausted_step_budget_exits_3_and_names_max_steps() {
    let f = busy_history();
    let o = chaoslab(&[
        "check",
        f.to_str().unwrap(),
        "--model",
        "kv",
        "--max-steps",
        "10",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}{}", stdout(&o), stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("--max-steps 100"), "{err}");
    assert!(!err.contains("--timeout"), "{err}");
}

#[test]
fn a_full_memo_exits_3_and_names_max_memory() {
    let f = busy_history();
    let o = chaoslab(&[
        "check",
        f.to_str().unwrap(),
        "--model",
        "kv",
        "--max-memory",
        "1KiB",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}{}", stdout(&o), stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("--max-memory"), "{err}");
    assert!(!err.contains("--timeout"), "{err}");
    let o = chaoslab(&[
        "check",
        f.to_str().unwrap(),
        "--model",
        "kv",
        "--max-memory",
        "512MiB",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = chaoslab(&[
        "check",
        f.to_str().unwrap(),
        "--model",
        "kv",
        "--max-memory",
        "lots",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("512MiB"), "{}", stderr(&o));
}

#[test]
fn a_raw_jepsen_log_skips_and_counts_lines_that_are_not_history_lines() {
    let log = "INFO  jepsen.core - Running test etcd
INFO  jepsen.util - 0\t:invoke\t:write\t3
INFO  jepsen.util - :nemesis\t:info\t:start\tnil
WARN  jepsen.util - Worker 1 crashed
\tat java.base/java.lang.Thread.run(Thread.java:829)
INFO  jepsen.util - 0\t:ok\t:write\t3
INFO  jepsen.util - 1\t:invoke\t:read\tnil
INFO  jepsen.util - 1\t:ok\t:read\t3
INFO  jepsen.core - Everything looks good!
";
    let f = temp("raw.log", log);
    let o = chaoslab(&["check", f.to_str().unwrap(), "--model", "cas-register"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("skipped 4 line(s) that are not history lines"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn an_etcd_cas_that_says_it_found_another_value_while_the_value_was_there_exits_1() {
    // The register holds 1 from before the cas began until after it ended,
    // yet the cas reports it found another value: a stale refusal.
    let log = "INFO  jepsen.util - 0\t:invoke\t:write\t1
INFO  jepsen.util - 0\t:ok\t:write\t1
INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2]
INFO  jepsen.util - 1\t:fail\t:cas\t[1 2]
INFO  jepsen.util - 0\t:invoke\t:read\tnil
INFO  jepsen.util - 0\t:ok\t:read\t1
";
    let f = temp("stale-cas.log", log);
    let o = chaoslab(&["check", f.to_str().unwrap(), "--model", "cas-register"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("c1 cas 1 -> 2 (found another value)"),
        "{}",
        stdout(&o)
    );
    // Knossos's EDN: `:fail` did not happen, and constrains nothing.
    let edn = "{:type :invoke, :f :write, :value 1, :process 0}
{:type :ok, :f :write, :value 1, :process 0}
{:type :invoke, :f :cas, :value [1 2], :process 1}
{:type :fail, :f :cas, :value [1 2], :process 1}
{:type :invoke, :f :read, :value nil, :process 0}
{:type :ok, :f :read, :value 1, :process 0}
";
    let f = temp("stale-cas.edn", edn);
    let o = chaoslab(&["check", f.to_str().unwrap(), "--model", "cas-register"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn a_simulated_run_records_a_cas_that_found_another_value_as_an_observation() {
    let h = std::env::temp_dir().join(format!(
        "chaoslab-check-cli-{}-single-normal.jsonl",
        std::process::id()
    ));
    let trace = h.with_extension("trace.jsonl");
    let run = chaoslab(&[
        "run",
        "single/normal",
        "--seed",
        "1",
        "--history",
        h.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        stdout(&run),
        stderr(&run)
    );
    let text = std::fs::read_to_string(&h).expect("the history was written");
    let history = sim::history::History::from_jsonl(&text).expect("it reads back");
    let observations: Vec<_> = history.ops.iter().filter(|o| o.found_other).collect();
    assert!(!observations.is_empty(), "single/normal has cas misses");
    assert!(observations.iter().all(|o| {
        o.outcome == sim::history::Outcome::Fail
            && matches!(o.f, sim::history::OpFn::Cas { .. })
            && o.return_ns.is_some()
    }));
    assert!(
        stdout(&run).contains("cas found another value") && stdout(&run).contains("fail 0"),
        "{}",
        stdout(&run)
    );
    // The trace's `complete` records say which ones, and only those.
    let traced: Vec<u64> = std::fs::read_to_string(&trace)
        .expect("the trace was written")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
        .filter(|v| v["kind"] == "complete" && v["found_other"] == true)
        .map(|v| {
            assert_eq!(v["outcome"], "fail", "{v}");
            v["op"].as_u64().expect("an op index")
        })
        .collect();
    let recorded: Vec<u64> = history
        .ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.found_other)
        .map(|(i, _)| i as u64)
        .collect();
    let mut traced_sorted = traced.clone();
    traced_sorted.sort_unstable();
    assert_eq!(traced_sorted, recorded);
    let o = chaoslab(&["check", h.to_str().unwrap(), "--model", "kv"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn a_retried_cas_that_finds_its_own_value_on_a_lossy_network_is_not_a_violation() {
    // Attempt 1 applies the cas, its reply is lost, the retry finds the cas's
    // own new value. That is not "found another value, did not happen" (which
    // made a correct single server look not linearizable on every seed), but
    // an operation that may have taken effect (info). No puts: a retried put
    // can take effect twice on this server (it has no request ids), a real
    // anomaly; a retried cas cannot, as every cas writes a fresh value.
    let scenario = temp(
        "single-cas-loss.toml",
        r#"[meta]
name = "test/single-cas-loss"
description = "single server, cas-heavy, lossy network, retries"
seed = 1
duration = "10s"

[system]
protocol = "single"

[topology]
servers = 1
clients = 3

[network]
loss = 0.2

[workload]
rate = 30
keys = 1
mix = { get = 0.5, cas = 0.5 }
timeout = "50ms"
retry = { policy = "fixed", delay = "10ms", attempts = 5 }

[expect]
linearizable = true
"#,
    );
    let o = chaoslab(&["sweep", scenario.to_str().unwrap(), "--seeds", "1..10"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("10 passed"), "{}", stdout(&o));
}

#[test]
fn json_lines_that_contradict_themselves_exit_2_naming_the_field() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/histories");
    for (file, says) in [
        (
            "invalid-ok-without-return.jsonl",
            "operation 1 (c2 read -> 1) has outcome ok but return_ns is null",
        ),
        (
            "invalid-found-other-on-a-read.jsonl",
            "operation 1 (c2 read (fail)) has found_other true, which only a cas can have",
        ),
        (
            "invalid-found-other-without-return.jsonl",
            "which needs a return_ns",
        ),
        (
            "invalid-found-other-on-an-ok-cas.jsonl",
            "which only an outcome fail can have",
        ),
    ] {
        let path = format!("{dir}/{file}");
        let o = chaoslab(&["check", &path, "--model", "kv"]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{file}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        assert!(stderr(&o).contains(says), "{file}: {}", stderr(&o));
        assert!(stderr(&o).contains(file), "{file}: {}", stderr(&o));
    }
}

#[test]
fn a_chain_of_20000_crashed_cas_is_set_aside_and_decided() {
    // Each crashed cas `i -> i+1` is needed only by the next one. Pruning by
    // rounds left out one per round and took 97 s here, past `--timeout 10s`,
    // which it never polled (review Medium 2); the worklist takes 0.14 s.
    // Speed is a benchmark's business, not a test's: this checks the verdict
    // and that every write was set aside.
    let mut text = String::from(
        r#"{"process":0,"key":"","f":{"write":{"int":0}},"output":null,"outcome":"ok","call_ns":0,"return_ns":1}"#,
    );
    text.push('\n');
    for i in 0..20_000u64 {
        text.push_str(&format!(
            r#"{{"process":{},"key":"","f":{{"cas":{{"expected":{{"int":{i}}},"new":{{"int":{}}}}}}},"output":null,"outcome":"info","call_ns":{},"return_ns":null}}"#,
            i + 1,
            i + 1,
            i + 2
        ));
        text.push('\n');
    }
    let f = temp("chain.jsonl", &text);
    let o = chaoslab(&[
        "check",
        f.to_str().unwrap(),
        "--model",
        "cas-register",
        "--timeout",
        "10s",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("(20000 crashed write(s) nobody could observe set aside)"),
        "{}",
        stdout(&o)
    );
}
