//! Reading each format, and the errors bad input gets.

use super::*;

/// Parses `text`: its first operation must be `f` from `call` to `ret`, and
/// its second must have returned `output`.
fn assert_first_two(
    text: &str,
    format: Format,
    model: ModelKind,
    (f, call, ret): (OpFn, u64, Option<u64>),
    output: Value,
) -> History {
    let h = parse_history(text, format, model).unwrap();
    assert_eq!(h.ops[0].f, f);
    assert_eq!((h.ops[0].call_ns, h.ops[0].return_ns), (call, ret));
    assert_eq!(h.ops[1].output, Some(output));
    h
}

#[test]
fn etcd_lines_pair_by_process() {
    let text = "INFO  jepsen.util - 0\t:invoke\t:write\t3\nINFO  jepsen.util - 1\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:write\t3\nINFO  jepsen.util - 1\t:ok\t:read\t3\n";
    let write = (OpFn::Write(Value::Int(3)), 1, Some(3));
    let h = assert_first_two(
        text,
        Format::Auto,
        ModelKind::CasRegister,
        write,
        Value::Int(3),
    );
    assert_eq!(h.ops.len(), 2);
}

#[test]
fn etcd_timed_out_read_is_unknown_and_info_write_stays_open() {
    let text = "INFO  jepsen.util - 0 :invoke :read nil\nINFO  jepsen.util - 1 :invoke :write 2\nINFO  jepsen.util - 0 :fail :read :timed-out\nINFO  jepsen.util - 1 :info :write :timed-out\n";
    let h = parse_history(text, Format::Etcd, ModelKind::CasRegister).unwrap();
    assert_eq!(h.ops[0].outcome, Outcome::Info);
    assert_eq!(h.ops[1].outcome, Outcome::Info);
    assert_eq!(h.ops[1].f, OpFn::Write(Value::Int(2)));
    assert_eq!(h.ops[1].return_ns, None);
}

#[test]
fn maelstrom_lin_kv_tuples_give_keys() {
    let text = r#"{:type :invoke, :f :cas, :value [1 [2 3]], :process 0, :time 5}
{:type :ok, :f :cas, :value [1 [2 3]], :process 0, :time 9}
{:type :invoke, :f :read, :value [1 nil], :process 1, :time 10}
{:type :ok, :f :read, :value [1 3], :process 1, :time 12}"#;
    let (expected, new) = (Value::Int(2), Value::Int(3));
    let cas = (OpFn::Cas { expected, new }, 5, Some(9));
    let h = assert_first_two(text, Format::Auto, ModelKind::Kv, cas, Value::Int(3));
    assert_eq!(h.ops[0].key, "1");
}

#[test]
fn a_vector_of_maps_is_a_history_too() {
    let text = "[{:type :invoke :f :write :value 1 :process 0}\n {:type :ok :f :write :value 1 :process 0}]";
    let h = parse_history(text, Format::Edn, ModelKind::Register).unwrap();
    assert_eq!(h.ops.len(), 1);
}

#[test]
fn bad_input_names_the_line_and_what_is_valid() {
    // (input, format, the line named if checked, part of the problem, part
    // of what would be valid)
    let cases: [(&str, Format, Option<usize>, &str, &str); 5] = [
        (
            "{:type :invoke, :f :write, :value 1, :process 0}\n{:type :done, :f :write, :value 1, :process 0}\n",
            Format::Edn,
            Some(2),
            "",
            ":invoke, :ok, :fail or :info",
        ),
        ("{:type :ok, :f :read, :value 1, :process 4}", Format::Edn, None, "never invoked", ""),
        ("{:type :invoke, :f :write", Format::Edn, None, "unclosed", ""),
        ("{\"process\": 1}\n", Format::Jsonl, Some(1), "", ""),
        ("hello\n", Format::Etcd, Some(1), "", ""),
    ];
    for (text, format, line, problem, expected) in cases {
        let e = parse_history(text, format, ModelKind::Register).unwrap_err();
        if let Some(line) = line {
            assert_eq!(e.line, line, "{e}");
        }
        assert!(e.problem.contains(problem), "{e}");
        assert!(e.expected.contains(expected), "{e}");
    }
}

#[test]
fn raw_jepsen_log_lines_that_are_not_history_lines_are_skipped_and_counted() {
    let text = "INFO  jepsen.core - Running test\n\
INFO  jepsen.util - 0\t:invoke\t:write\t3\n\
WARN  jepsen.util - Worker 2 crashed with java.net.SocketException\n\
\tat clojure.core$foo.invoke(core.clj:12)\n\
INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n\
INFO  jepsen.util - 0\t:ok\t:write\t3\n";
    assert_eq!(detect_format(text), Format::Etcd);
    let p = parse_history_counted(text, Format::Auto, ModelKind::CasRegister).unwrap();
    assert_eq!(p.history.ops.len(), 1);
    assert_eq!(p.skipped_lines, 3);
}

#[test]
fn etcd_fail_cas_is_an_observation_but_edn_fail_cas_did_not_happen() {
    let etcd = "INFO  jepsen.util - 0 :invoke :cas [1 2]\nINFO  jepsen.util - 0 :fail :cas [1 2]\n";
    let h = parse_history(etcd, Format::Etcd, ModelKind::CasRegister).unwrap();
    assert_eq!(h.ops[0].outcome, Outcome::Fail);
    assert!(h.ops[0].found_other);
    let edn = "{:type :invoke, :f :cas, :value [1 2], :process 0}\n{:type :fail, :f :cas, :value [1 2], :process 0}\n";
    let h = parse_history(edn, Format::Edn, ModelKind::CasRegister).unwrap();
    assert_eq!(h.ops[0].outcome, Outcome::Fail);
    assert!(!h.ops[0].found_other);
}

#[test]
fn etcd_fail_write_did_not_happen() {
    // Jepsen's meaning (docs/checking.md, section 6); porcupine's parser
    // has no rule for the line and leaves the write open.
    let etcd = "INFO  jepsen.util - 1 :invoke :write 2\nINFO  jepsen.util - 1 :fail :write 2\n";
    let h = parse_history(etcd, Format::Etcd, ModelKind::CasRegister).unwrap();
    assert_eq!(h.ops[0].outcome, Outcome::Fail);
    assert!(!h.ops[0].found_other);
    assert!(h.ops[0].return_ns.is_some());
}
