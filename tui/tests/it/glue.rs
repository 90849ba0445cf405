//! How many lines of glue a protocol writes to plug into chaoslab (issue 15:
//! "under 60 lines, measured for raft and the lock service"): its `impl
//! Spec` (name, parameters, registration), its `impl Protocol` (building
//! nodes, the property check, the figures) and its `node_enum!` (dispatch).
//! Code lines only: blank and comment lines are not counted.
//!
//! Counted apart, and printed: the named lists those blocks point at (roles,
//! notes, figures: one name per line), and the rules a protocol checks its
//! parameters with beyond serde when they live in a function of their own
//! (raft's `Params::validate`; the lock service's one rule is inside its
//! `Spec::new`, so counted in it). The target is on the blocks.
//!
//! `cargo test -p chaoslab --test it glue -- --nocapture` prints the table.

use std::path::{Path, PathBuf};

/// The workspace folder.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(file: &str) -> String {
    std::fs::read_to_string(root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The item of `src` that starts with the line starting with `start`: up
/// to its closing brace, or for a `const`, its semicolon.
fn item<'a>(src: &'a str, file: &str, start: &str) -> &'a str {
    let at = src
        .match_indices(start)
        .map(|(i, _)| i)
        .find(|&i| i == 0 || src.as_bytes()[i - 1] == b'\n')
        .unwrap_or_else(|| panic!("{file}: no line starts with {start:?}"));
    let is_const = start.contains("const ");
    let mut depth = 0i32;
    let mut opened = false;
    for (i, c) in src[at..].char_indices() {
        match c {
            '{' | '[' | '(' => {
                depth += 1;
                opened |= c == '{';
            }
            '}' | ']' | ')' => {
                depth -= 1;
                if depth == 0 && c == '}' && opened && !is_const {
                    return &src[at..at + i + 1];
                }
            }
            ';' if depth == 0 && is_const => return &src[at..at + i + 1],
            _ => {}
        }
    }
    panic!("{file}: {start:?} does not end")
}

/// Lines that are neither blank nor comments.
fn code_lines(text: &str) -> usize {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .count()
}

/// One protocol's glue: the blocks, and the lists counted apart.
struct Glue {
    name: &'static str,
    blocks: Vec<(&'static str, &'static str)>,
    lists: Vec<(&'static str, &'static str)>,
}

impl Glue {
    fn count(parts: &[(&str, &str)]) -> Vec<(String, usize)> {
        parts
            .iter()
            .map(|&(file, start)| {
                let src = read(file);
                (start.to_string(), code_lines(item(&src, file, start)))
            })
            .collect()
    }
}

fn protocols() -> Vec<Glue> {
    const RAFT: &str = "nodes/src/raft/mod.rs";
    const LOCK: &str = "examples/lock-service/src/lib.rs";
    let raft = Glue {
        name: "raft",
        blocks: vec![
            ("nodes/src/builtin.rs", "impl Spec for raft::Raft "),
            (RAFT, "impl Protocol for Raft "),
            ("nodes/src/raft/node.rs", "sim::node_enum! {"),
        ],
        lists: vec![
            (RAFT, "pub const ROLES"),
            (RAFT, "pub const NOTES"),
            (RAFT, "pub const METRICS"),
            ("nodes/src/raft/params.rs", "    pub fn validate"),
        ],
    };
    let lock = Glue {
        name: "lock-service",
        blocks: vec![
            (LOCK, "impl Spec for LockService "),
            (LOCK, "impl Protocol for LockService "),
            (LOCK, "chaoslab::sim::node_enum! {"),
        ],
        lists: vec![(LOCK, "pub const NOTES"), (LOCK, "pub const METRICS")],
    };
    vec![raft, lock]
}

#[test]
fn raft_and_the_lock_service_plug_in_with_under_60_lines_of_glue() {
    for glue in protocols() {
        let blocks = Glue::count(&glue.blocks);
        let lists = Glue::count(&glue.lists);
        let total: usize = blocks.iter().map(|b| b.1).sum();
        let listed: usize = lists.iter().map(|b| b.1).sum();
        println!("{}: {total} lines of glue", glue.name);
        for (start, n) in &blocks {
            println!("  {n:3}  {start}");
        }
        println!(
            "  and {listed} lines of lists and parameter rules apart ({} in all):",
            total + listed
        );
        for (start, n) in &lists {
            println!("  {n:3}  {start}");
        }
        assert!(
            total < 60,
            "{}: {total} lines of glue, the target is under 60",
            glue.name
        );
    }
}

#[test]
fn the_counter_counts_code_lines_of_the_whole_item() {
    let src = "// x\nimpl Protocol for A {\n    // a comment\n\n    fn f() {\n        g();\n    }\n}\nfn after() {}\npub const L: &[&str] = &[\n    \"a\",\n];\n";
    assert_eq!(code_lines(item(src, "t", "impl Protocol for ")), 5);
    assert_eq!(code_lines(item(src, "t", "pub const L")), 3);
}
