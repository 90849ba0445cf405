//! `chaoslab check` end to end: exit codes, messages, the SVG and JSON outputs.

use std::path::PathBuf;
use std::process::{Command, Output};

fn corpus(file: &str) -> String {
    format!(
        "{}/../../shared/reference-histories/porcupine/{file}",
        env!("CARGO_MANIFEST_DIR")
    )
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
    let o = chaoslab(&[
        "check",
        &corpus("jepsen/etcd_002.log"),
        "--model",
        "cas-register",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("verdict: linearizable"));
}

#[test]
fn a_violating_etcd_run_exits_1_explains_itself_and_draws_the_culprit() {
    let svg = std::env::temp_dir().join(format!(
        "chaoslab-check-cli-{}-etcd0.svg",
        std::process::id()
    ));
    let o = chaoslab(&[
        "check",
        &corpus("jepsen/etcd_000.log"),
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
    let ok = chaoslab(&["check", &corpus("kv/c50-ok.txt"), "--model", "kv"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let bad = chaoslab(&["check", &corpus("kv/c50-bad.txt"), "--model", "kv"]);
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
    assert_eq!(
        chaoslab(&["check", "/definitely/not/here.edn", "--model", "kv"])
            .status
            .code(),
        Some(2)
    );
    let o = chaoslab(&["check", &corpus("kv/c01-ok.txt"), "--model", "cas-register"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--model kv"), "{}", stderr(&o));
    assert_eq!(
        chaoslab(&["check", &corpus("kv/c01-ok.txt"), "--model", "queue"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn running_out_of_budget_exits_3() {
    let o = chaoslab(&[
        "check",
        &corpus("jepsen/etcd_002.log"),
        "--model",
        "cas-register",
        "--max-steps",
        "10",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    assert!(stdout(&o).contains("unknown"));
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
