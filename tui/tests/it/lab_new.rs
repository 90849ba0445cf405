//! `chaoslab lab new`: what it writes, and what it refuses. The lab built
//! and graded from an empty folder (`cargo test` in it, the skeleton
//! failing and the solution passing) is .ci/run's step "chaoslab lab new
//! broadcast", since it runs cargo; the grading itself is tested in
//! `chaoslab-nodes` (maelstrom::labs::tests).

use std::path::{Path, PathBuf};

use crate::common::chaoslab;

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chaoslab-lab-new-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn lab_new_broadcast_writes_a_cargo_project_on_this_checkout() {
    let dir = fresh_dir("broadcast");
    let (code, out, err) = chaoslab(&["lab", "new", "broadcast", "--dir", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("cargo test"), "{out}");
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let cargo = read(&dir, "Cargo.toml");
    assert!(
        cargo.contains(&format!(
            "chaoslab = {{ path = \"{}\" }}",
            checkout.join("tui").display()
        )),
        "{cargo}"
    );
    // The lock is the workspace's: the same versions, already in the cache.
    assert_eq!(
        read(&dir, "Cargo.lock"),
        std::fs::read_to_string(checkout.join("Cargo.lock")).unwrap()
    );
    assert!(read(&dir, ".cargo/config.toml").contains("offline = true"));
    let src = read(&dir, "src/lib.rs");
    assert!(src.contains("pub struct BroadcastNode"), "{src}");
    assert!(
        src.contains("Missing: tell the other nodes"),
        "the skeleton, not the solution"
    );
    // The package is named after the folder and a hash of its path, so two
    // labs sharing a target folder never build over each other's binaries.
    let name = package_name(&cargo);
    let base = format!("chaoslab-lab-new-{}-broadcast-", std::process::id());
    assert!(name.starts_with(&base), "{name}");
    let hash = &name[base.len()..];
    assert!(
        hash.len() == 8 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "{name}"
    );
    let lib = name.replace('-', "_");
    assert!(read(&dir, "src/main.rs").contains(&format!("Lab<{lib}::BroadcastNode>")));
    assert!(read(&dir, "tests/grade.rs").contains(&format!("use {lib}::BroadcastNode;")));
    let grade = read(&dir, "tests/grade.rs");
    for part in [
        "fn part_1_no_faults()",
        "fn part_2_partitions()",
        "fn part_3_efficiency()",
    ] {
        assert!(grade.contains(part), "{grade}");
    }
    for (file, protocol) in [
        ("parts/1-no-faults.toml", "protocol = \"lab-broadcast\""),
        ("parts/2-partitions.toml", "action = \"partition\""),
        ("parts/3-efficiency.toml", "servers = 25"),
    ] {
        assert!(read(&dir, file).contains(protocol), "{file}");
    }
    assert!(read(&dir, "README.md").contains("cargo run -- tui parts/1-no-faults.toml --seed 3"));

    // A second time into the same folder: refused, nothing overwritten.
    std::fs::write(dir.join("src/lib.rs"), "// my work\n").unwrap();
    let (code, _, err) = chaoslab(&["lab", "new", "broadcast", "--dir", dir.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("is not empty") && err.contains("nothing was overwritten"),
        "{err}"
    );
    assert_eq!(read(&dir, "src/lib.rs"), "// my work\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn package_name(cargo_toml: &str) -> String {
    let line = cargo_toml
        .lines()
        .find(|l| l.starts_with("name = "))
        .unwrap_or_else(|| panic!("no package name:\n{cargo_toml}"));
    line.trim_start_matches("name = ")
        .trim_matches('"')
        .to_string()
}

/// Two labs of the same folder name in different places (a skeleton and a
/// solution, say) get different package names: cargo keys the binaries it
/// builds by package name and version, so labs sharing CARGO_TARGET_DIR
/// would otherwise run each other's tests (a false PASS).
#[test]
fn labs_in_different_folders_get_different_package_names() {
    let parent = fresh_dir("names");
    let mut names = Vec::new();
    for sub in ["a/My Lab", "b/My Lab", "c/2nd"] {
        let dir = parent.join(sub);
        let (code, out, err) =
            chaoslab(&["lab", "new", "broadcast", "--dir", dir.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}{err}");
        names.push(package_name(&read(&dir, "Cargo.toml")));
    }
    assert!(
        names[0].starts_with("my-lab-") && names[1].starts_with("my-lab-"),
        "{names:?}"
    );
    assert_ne!(names[0], names[1]);
    // Written in a temporary sibling then renamed: nothing else is left.
    let left: Vec<_> = std::fs::read_dir(parent.join("a"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["My Lab"], "{left:?}");
    // Cargo refuses a name that starts with a digit.
    assert!(names[2].starts_with("lab-2nd-"), "{names:?}");
    std::fs::remove_dir_all(&parent).unwrap();
}

#[test]
fn lab_new_solution_writes_the_solution_into_an_empty_folder() {
    let dir = fresh_dir("solution");
    std::fs::create_dir_all(&dir).unwrap();
    let (code, out, err) = chaoslab(&[
        "lab",
        "new",
        "broadcast",
        "--solution",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let lib = read(&dir, "src/lib.rs");
    assert!(lib.contains("a star with retries"), "{lib}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lab_new_refuses_an_unknown_workload_listing_the_labs() {
    let dir = fresh_dir("raft");
    let (code, _, err) = chaoslab(&["lab", "new", "raft", "--dir", dir.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    let labs: Vec<&str> = nodes::maelstrom::labs::KITS
        .iter()
        .map(|k| k.workload.name())
        .collect();
    assert!(labs.contains(&"broadcast") && labs.contains(&"lin-kv"));
    assert!(
        err.contains(&format!(
            "there is no lab for workload \"raft\"; the labs are: {}",
            labs.join(", ")
        )),
        "{err}"
    );
    // Every kit is listed, and `--help` lists them too.
    let (_, help, _) = chaoslab(&["lab", "new", "--help"]);
    for kit in nodes::maelstrom::labs::KITS {
        assert!(err.contains(kit.workload.name()), "{err}");
        assert!(help.contains(kit.workload.name()), "{help}");
    }
    assert!(!dir.exists(), "nothing is written");
}

#[test]
fn lab_new_help_documents_the_exit_codes() {
    let (code, out, _) = chaoslab(&["lab", "new", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("2 bad input"), "{out}");
    assert!(out.contains("--dir <PATH>"), "{out}");
    assert!(!out.contains("--solution"), "hidden: {out}");
    // The workloads it names are every lab's, from the kits.
    for kit in nodes::maelstrom::labs::KITS {
        assert!(
            out.contains(kit.workload.name()),
            "{}: {out}",
            kit.workload.name()
        );
    }
}

/// docs/labs.md quotes the skeleton's grade and the solution's part 3
/// figures: both are regenerated here and must match the lesson.
#[test]
fn the_lessons_grade_and_figures_come_from_the_runs() {
    use nodes::maelstrom::grade::grade_lab;
    use nodes::maelstrom::labs::{broadcast_skeleton, broadcast_solution, BROADCAST};

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = read(&root, "docs/labs.md");
    let skeleton = grade_lab::<broadcast_skeleton::BroadcastNode>(&BROADCAST, &[1]).render();
    // Part 1's grade, from its title to the first failing seed's replay line.
    let quoted = skeleton
        .lines()
        .skip(2)
        .take(11)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        doc.contains(&format!("```text\n{quoted}\n```")),
        "docs/labs.md should quote:\n{quoted}"
    );
    let solution = grade_lab::<broadcast_solution::BroadcastNode>(&BROADCAST, &[3]);
    let part3 = &solution.parts[0];
    assert!(part3.passed(), "{solution}");
    let figure = |name: &str| {
        part3
            .targets
            .iter()
            .find(|t| t.what == name)
            .unwrap_or_else(|| panic!("no target {name}"))
            .actual
            .clone()
    };
    let said = format!(
        "on part 3's worst seed of {} to {} (seed {}, the nearest to the targets): messages per operation {}, Jepsen's stable latency median {}, maximum {}",
        part3.seeds.0,
        part3.seeds.1,
        part3.targets_seed,
        figure("messages per op"),
        figure("jepsen stable latency p50"),
        figure("jepsen stable latency max")
    );
    let flat = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains(&said), "docs/labs.md should say: {said}");
}

/// The kafka, txn-rw-register and lin-kv labs are written as broadcast's
/// is: the skeleton (or the solution), the parts naming the lab's
/// protocol, one test per part.
#[test]
fn lab_new_writes_the_kafka_txn_and_lin_kv_labs() {
    for (workload, node, skeleton_says, parts) in [
        (
            "kafka",
            "KafkaNode",
            "Missing: a log.",
            &["1-one-node", "2-several-nodes", "3-partition"][..],
        ),
        (
            "txn-rw-register",
            "TxnNode",
            "Missing: the registers.",
            &["1-one-node", "2-read-uncommitted", "3-read-committed"][..],
        ),
        (
            "lin-kv",
            "LinKvNode",
            "This node's own map.",
            &["1-no-faults", "2-partition-crash"][..],
        ),
    ] {
        let dir = fresh_dir(workload);
        let (code, out, err) = chaoslab(&["lab", "new", workload, "--dir", dir.to_str().unwrap()]);
        assert_eq!(code, 0, "{workload}: {out}{err}");
        let src = read(&dir, "src/lib.rs");
        assert!(src.contains(&format!("pub struct {node}")), "{src}");
        assert!(
            src.contains(skeleton_says),
            "{workload}: the skeleton: {src}"
        );
        let grade = read(&dir, "tests/grade.rs");
        assert!(
            grade.contains(&format!("labs::kit(\"{workload}\")")),
            "{grade}"
        );
        for part in parts {
            let text = read(&dir, &format!("parts/{part}.toml"));
            assert!(
                text.contains(&format!("protocol = \"lab-{workload}\"")),
                "{workload} {part}: {text}"
            );
            let test = format!("fn part_{}()", part.replace('-', "_"));
            assert!(grade.contains(&test), "{workload}: {test} in {grade}");
        }
        std::fs::remove_dir_all(&dir).unwrap();

        let dir = fresh_dir(&format!("{workload}-solution"));
        let (code, out, err) = chaoslab(&[
            "lab",
            "new",
            workload,
            "--solution",
            "--dir",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{workload}: {out}{err}");
        let src = read(&dir, "src/lib.rs");
        assert!(src.contains("chaoslab's solution"), "{src}");
        assert!(
            !src.contains(skeleton_says),
            "{workload}: the solution: {src}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
