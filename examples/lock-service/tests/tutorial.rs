//! What `docs/extending.md` quotes chaoslab printing is what this crate's
//! binary prints: the tutorial's commands are run here as a reader runs
//! them, in a scratch folder, and every line of each quoted output must
//! come out, in order. (The TUI view it quotes is not checked here:
//! `tui_view.rs` keeps a snapshot of another view, zombie-unfenced's.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The tutorial, from chaoslab's docs folder.
fn tutorial() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/extending.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of the first output block (a fence with no language: not
/// `sh`, not `toml`) whose fence opens after the text `after`.
fn block_after(doc: &str, after: &str) -> Vec<String> {
    let at = doc
        .find(after)
        .unwrap_or_else(|| panic!("extending.md no longer says {after:?}"));
    let mut lines = doc[at..].lines().skip(1);
    let mut fence = None;
    for line in lines.by_ref() {
        if let Some(info) = line.strip_prefix("```") {
            match fence.take() {
                // The closing fence of a block opened after `after`.
                Some(_) => {}
                None if info.trim().is_empty() => break,
                None => fence = Some(()),
            }
        }
    }
    let quoted: Vec<String> = lines
        .take_while(|l| !l.starts_with("```"))
        .map(str::to_string)
        .collect();
    assert!(
        !quoted.is_empty(),
        "no output block after {after:?} in extending.md"
    );
    quoted
}

/// A scratch folder of its own for one test, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tutorial-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `lock-service ARGS`, run in `dir`.
fn lock_service(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lock-service"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// Every line of `quoted` appears in `printed`, in that order.
fn prints_in_order(printed: &str, quoted: &[String], what: &str) {
    let mut lines = printed.lines();
    for q in quoted {
        assert!(
            lines.any(|l| l.trim_end() == q.trim_end()),
            "{what}: extending.md quotes the line\n  {q}\nwhich is not printed (in that order):\n{printed}"
        );
    }
}

fn scenario(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml"));
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn the_report_it_quotes_is_the_one_zombie_unfenced_prints() {
    let doc = tutorial();
    let quoted = block_after(&doc, "The report has your figures and\ninvariants:");
    assert!(quoted.len() >= 10, "{quoted:?}");
    let out = lock_service(&scratch("run"), &["run", "zombie-unfenced"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    prints_in_order(
        &String::from_utf8_lossy(&out.stdout),
        &quoted,
        "run zombie-unfenced",
    );
}

#[test]
fn the_bad_parameter_error_it_quotes_is_the_one_printed() {
    let doc = tutorial();
    let quoted = block_after(&doc, "A bad parameter is refused before anything runs");
    let dir = scratch("bad");
    let bad = scenario("zombie-unfenced").replacen(
        "\nlease_duration = \"500ms\"",
        "\nlease_duration = \"0\"",
        1,
    );
    std::fs::write(dir.join("bad.toml"), bad).unwrap();
    let out = lock_service(&dir, &["run", "bad.toml"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    prints_in_order(
        &String::from_utf8_lossy(&out.stderr),
        &quoted,
        "run bad.toml",
    );
}

/// `nemesis-unfenced.toml`, made from `nemesis-fenced.toml` as the
/// tutorial's `sed` makes it.
fn nemesis_unfenced(dir: &Path) {
    let text = scenario("nemesis-fenced");
    for from in [
        "\nwork_time = \"50ms\"\n",
        "\nname = \"nemesis-fenced\"\n",
        "with fencing on: no invariant breaks",
    ] {
        assert!(
            text.contains(from),
            "nemesis-fenced.toml no longer has {from:?}"
        );
    }
    let text = text
        .replacen(
            "\nwork_time = \"50ms\"\n",
            "\nwork_time = \"50ms\"\nfencing = false\n",
            1,
        )
        .replacen(
            "\nname = \"nemesis-fenced\"\n",
            "\nname = \"nemesis-unfenced\"\n",
            1,
        )
        .replacen(
            "with fencing on: no invariant breaks",
            "with fencing off",
            1,
        );
    std::fs::write(dir.join("nemesis-unfenced.toml"), text).unwrap();
}

#[test]
fn the_sweep_and_the_shrink_it_quotes_are_the_ones_printed() {
    let doc = tutorial();
    let dir = scratch("sweep");
    nemesis_unfenced(&dir);

    let quoted = block_after(&doc, "up, and exits 1 (some seed failed):");
    let out = lock_service(
        &dir,
        &["sweep", "nemesis-unfenced.toml", "--seeds", "1..200"],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    prints_in_order(&String::from_utf8_lossy(&out.stdout), &quoted, "sweep");

    let quoted = block_after(&doc, "fails):");
    let out = lock_service(
        &dir,
        &[
            "shrink",
            "nemesis-unfenced.toml",
            "--seed",
            "1",
            "--out",
            "shrunk.toml",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    prints_in_order(&printed, &quoted, "shrink");
    assert!(printed.contains("wrote shrunk.toml"), "{printed}");
    assert!(
        printed.contains("lock-service run shrunk.toml --seed 1"),
        "{printed}"
    );
    assert!(dir.join("shrunk.toml").exists());
}
