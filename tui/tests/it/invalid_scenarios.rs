//! A folder of broken scenarios, each with the message it must produce
//! (`# expect: ...` on its first line, and optionally the line it must point
//! at, `# line: N`, on its second). None may panic: each is also run through
//! the binary, which must exit 2 and point at the file and line.

use std::path::Path;
use std::process::Command;

fn fixtures() -> Vec<(String, String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} lacks a `# expect:` first line", p.display()))
            .to_string();
        out.push((p.to_string_lossy().into_owned(), text, expect));
    }
    out.sort();
    assert!(out.len() >= 30, "the fixture folder went missing");
    out
}

#[test]
fn every_invalid_scenario_is_refused_with_its_message_file_and_line() {
    for (path, text, expect) in fixtures() {
        let err = match nodes::parse(&path, &text) {
            Ok(_) => panic!("{path} was accepted; it should fail with: {expect}"),
            Err(e) => e,
        };
        let shown = err.to_string();
        assert!(
            shown.contains(&expect),
            "{path}: expected a message containing\n  {expect}\ngot\n  {shown}"
        );
        assert!(
            shown.starts_with(&format!("error: {path}:")),
            "{path}: the message must start with the file and line: {shown}"
        );
        assert!(err.line >= 1 && err.column >= 1);
        if let Some(line) = text.lines().nth(1).and_then(|l| l.strip_prefix("# line: ")) {
            assert_eq!(
                err.line.to_string(),
                line.trim(),
                "{path}: the message points at the wrong line: {shown}"
            );
        }
    }
}

#[test]
fn the_binary_exits_2_on_every_invalid_scenario_without_panicking() {
    for (path, _, expect) in fixtures() {
        let out = Command::new(env!("CARGO_BIN_EXE_chaoslab"))
            .args(["run", &path])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{path}: {stderr}");
        assert!(!stderr.contains("panicked"), "{path} panicked: {stderr}");
        assert!(stderr.contains(&expect), "{path}: {stderr}");
    }
}
