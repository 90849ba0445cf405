//! docs/transactions.md compares the four approaches in one table whose
//! figures come from the scenarios' report snapshots. This keeps them honest:
//! every figure in a row must appear in its scenario's snapshot, the history
//! checker's verdict on the bank model included.

use std::path::Path;

fn snapshot_for(mode: &str, fault: &str) -> &'static str {
    match (mode, fault) {
        ("2PC", "crash") => "coordinator-crash",
        ("2PC + cooperative", "crash") => "coordinator-crash-cooperative",
        ("3PC", "crash") => "3pc-coordinator-crash",
        ("saga", "crash") => "saga-coordinator-crash",
        ("2PC", "partition") => "2pc-partition",
        ("2PC + cooperative", "partition") => "2pc-cooperative-partition",
        ("3PC", "partition") => "3pc-partition",
        ("saga", "partition") => "saga-partition",
        other => panic!("a table row names no scenario: {other:?}"),
    }
}

#[test]
fn the_comparison_table_quotes_the_snapshots() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = std::fs::read_to_string(root.join("docs/transactions.md")).unwrap();
    let rows: Vec<Vec<String>> = doc
        .lines()
        .skip_while(|l| !l.starts_with("## The comparison"))
        .filter(|l| l.starts_with("| 2PC") || l.starts_with("| 3PC") || l.starts_with("| saga"))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().replace("**", ""))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 8, "four modes on two faults");
    for row in rows {
        let name = snapshot_for(&row[0], &row[1]);
        let snap =
            std::fs::read_to_string(root.join(format!("snapshots/report@twopc__{name}.snap")))
                .unwrap();
        let (ok, ops) = row[2].split_once(" / ").unwrap();
        assert!(
            snap.contains(&format!("operations   {ops}  ok {ok} ")),
            "{name}: ok / ops {} is not in the snapshot",
            row[2]
        );
        assert!(
            snap.contains(&format!("({} aborts)", row[3])),
            "{name}: aborts {}",
            row[3]
        );
        if row[4] != "no locks" {
            assert!(
                snap.contains(&format!("longest {} ", row[4])),
                "{name}: longest in doubt {}",
                row[4]
            );
        }
        let blocked = row[5].split(' ').next().unwrap();
        if row[0] != "saga" {
            assert!(
                snap.contains(&format!("blocked reads {blocked} reads")),
                "{name}: blocked reads {}",
                row[5]
            );
        }
        for (col, invariant) in [(6, "atomicity"), (7, "conservation")] {
            let line = snap
                .lines()
                .find(|l| l.contains(&format!("] {invariant} ")))
                .unwrap();
            if row[col] == "held" {
                assert!(line.ends_with("held"), "{name}: {invariant} {line}");
            } else {
                let n = row[col]
                    .trim_start_matches("violated (")
                    .trim_end_matches(')');
                assert!(line.contains(&format!("violated {n}x")), "{name}: {line}");
            }
        }
        let off = row[8].replace("ms", "");
        assert!(
            snap.contains(&format!("(longest {off}")),
            "{name}: balances off {}",
            row[8]
        );
        if row[9] != "-" {
            assert!(
                snap.contains(&format!("dirty reads  {} ", row[9])),
                "{name}: dirty reads"
            );
        }
        // The history column: the bank model's verdict on the clients' history.
        let verdict = match row[10].as_str() {
            "linearizable" => "verdict: linearizable",
            "not linearizable" => "verdict: NOT linearizable",
            "undecided" => "verdict: undecided",
            other => panic!("{name}: the history column says {other:?}"),
        };
        assert!(
            snap.contains("linearizability (bank model)")
                && snap
                    .lines()
                    .any(|l| l.trim() == verdict || l.trim().starts_with(&format!("{verdict}:"))),
            "{name}: history {}",
            row[10]
        );
    }
}
