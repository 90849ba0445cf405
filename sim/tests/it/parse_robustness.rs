//! Bad input never panics: mangled history files give an error with a line
//! number, or a history the checkers accept without panicking.

use crate::shared_corpus;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sim::check::parse::{parse_history, Format};
use sim::check::{check_linearizable, check_weak, Budget, ModelKind};

fn corpus(file: &str) -> Option<String> {
    let path = shared_corpus::shared("reference-histories/porcupine")?.join(file);
    Some(std::fs::read_to_string(path).expect("reference history is readable"))
}

#[test]
fn mangled_reference_files_never_panic_the_parsers_or_the_checkers() {
    // Built-in samples of every format, so the test has teeth without the
    // corpus; the reference files join them when present.
    let jsonl = sim::check::synth::linearizable_kv_history(3, 40, 3, 3).to_jsonl();
    let etcd = "INFO  jepsen.util - 0\t:invoke\t:write\t3\nINFO  jepsen.util - 1\t:invoke\t:cas\t[3 4]\nINFO  jepsen.util - 0\t:ok\t:write\t3\nINFO  jepsen.util - 1\t:fail\t:cas\t[3 4]\nINFO  jepsen.util - :nemesis\t:info\t:start\tnil\nINFO  jepsen.util - 2\t:invoke\t:read\tnil\nINFO  jepsen.util - 2\t:ok\t:read\t3\n".to_string();
    let edn = "{:type :invoke, :f :put, :key \"1\", :value \"x\", :process 0}\n{:type :ok, :f :put, :key \"1\", :value \"x\", :process 0}\n{:type :invoke, :f :append, :key \"1\", :value \"y\", :process 1}\n{:type :info, :f :append, :key \"1\", :value \"y\", :process 1}\n{:type :invoke, :f :get, :key \"1\", :value nil, :process 2}\n{:type :ok, :f :get, :key \"1\", :value \"xy\", :process 2}\n".to_string();
    let mut sources = vec![etcd, edn, jsonl];
    for file in [
        "jepsen/etcd_000.log",
        "jepsen/etcd_100.log",
        "kv/c01-ok.txt",
    ] {
        sources.extend(corpus(file));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let alphabet = b"{}[]():\"\\ \t\n,0123456789-abcnil#;";
    for case in 0..600 {
        let src = &sources[case % sources.len()];
        let mut bytes = src.as_bytes().to_vec();
        for _ in 0..rng.gen_range(1..6) {
            if bytes.is_empty() {
                break;
            }
            let at = rng.gen_range(0..bytes.len());
            match rng.gen_range(0..3) {
                0 => bytes[at] = alphabet[rng.gen_range(0..alphabet.len())],
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.truncate(at.max(1)),
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        for format in [Format::Auto, Format::Edn, Format::Etcd, Format::Jsonl] {
            for model in ModelKind::ALL {
                match parse_history(&text, format, model) {
                    Ok(h) => {
                        let _ = check_linearizable(&h, model, Budget::steps(20_000));
                        let _ = check_weak(&h);
                    }
                    Err(e) => {
                        let lines = text.lines().count().max(1);
                        assert!(
                            e.line <= lines + 1,
                            "case {case}: line {} beyond {lines}: {e}",
                            e.line
                        );
                        assert!(!e.expected.is_empty());
                    }
                }
            }
        }
    }
}

#[test]
fn an_error_names_the_offending_line_of_an_otherwise_good_file() {
    let Some(text) = corpus("kv/c01-ok.txt") else {
        return;
    };
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[6] = "{:process 0, :type :ok, :f :get, :key \"5\" :value".to_string();
    let e = parse_history(&lines.join("\n"), Format::Edn, ModelKind::Kv).unwrap_err();
    assert_eq!(e.line, 7, "{e}");
}
