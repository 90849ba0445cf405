//! The txn-rw-register lab (Gossip Glomers challenge 6, fly.io/dist-sys/6a
//! to 6c): part 1 one node, serializable (6a); part 2 three nodes, totally
//! available under a partition, read uncommitted (6b); part 3 the same,
//! read committed (6c).

use super::{Kit, Part};
use crate::maelstrom::ops::WorkloadKind;

/// The txn-rw-register skeleton, as `chaoslab lab new txn-rw-register` writes it.
pub mod txn_rw_register_skeleton {
    #[allow(unused_imports)]
    use super::super::chaoslab;
    include!("txn_rw_register_skeleton.rs");
}

/// chaoslab's txn-rw-register solution, as `chaoslab lab new txn-rw-register --solution`
/// writes it.
pub mod txn_rw_register_solution {
    #[allow(unused_imports)]
    use super::super::chaoslab;
    include!("txn_rw_register_solution.rs");
}

pub const TXN_RW_REGISTER: Kit = Kit {
    workload: WorkloadKind::TxnRwRegister,
    node_type: "TxnNode",
    protocol: "lab-txn-rw-register",
    parts: &[
        Part {
            number: 1,
            name: "one node",
            about: "1 node, no faults, judged serializable: every read sees the last write before it (Gossip Glomers 6a)",
            text: include_str!("txn-rw-register-1.toml"),
            seeds: (1, 10),
        },
        Part {
            number: 2,
            name: "read uncommitted",
            about: "3 nodes, n1 cut off for 2s, judged read uncommitted: no G0 (a cycle of write-write dependencies); propagation to the other nodes is not graded (Gossip Glomers 6b)",
            text: include_str!("txn-rw-register-2.toml"),
            seeds: (1, 10),
        },
        Part {
            number: 3,
            name: "read committed",
            about: "3 nodes, n1 cut off for 2s, judged read committed: no G0, G1a, G1b or G1c; propagation to the other nodes is not graded (Gossip Glomers 6c)",
            text: include_str!("txn-rw-register-3.toml"),
            seeds: (1, 10),
        },
    ],
    skeleton: include_str!("txn_rw_register_skeleton.rs"),
    solution: include_str!("txn_rw_register_solution.rs"),
};

#[cfg(test)]
mod tests {
    use super::super::tests::on_seeds;
    use super::*;
    use crate::maelstrom::grade::grade_lab;
    use crate::maelstrom::LabNode;

    #[test]
    fn the_txn_rw_register_solution_passes_every_part_on_their_seeds_and_on_1_to_50() {
        let grade = grade_lab::<txn_rw_register_solution::TxnNode>(&TXN_RW_REGISTER, &[]);
        assert_eq!(grade.parts.len(), 3);
        assert!(grade.passed(), "{grade}");
        let grade =
            grade_lab::<txn_rw_register_solution::TxnNode>(&on_seeds(&TXN_RW_REGISTER, 1, 50), &[]);
        assert!(grade.passed(), "{grade}");
    }

    #[test]
    fn the_txn_rw_register_skeleton_fails_part_1_with_a_readable_grade() {
        let grade = grade_lab::<txn_rw_register_skeleton::TxnNode>(&TXN_RW_REGISTER, &[1]);
        let text = grade.render();
        assert!(!grade.parts[0].passed(), "{text}");
        assert!(text.contains("Part 1 (one node): FAIL"), "{text}");
        assert!(
            text.contains("maelstrom-valid violated at")
                && text
                    .contains("the txn-rw-register checker says invalid: G-single, G2, internal"),
            "{text}"
        );
        assert!(text.contains("MISS forbidden anomalies"), "{text}");
        assert!(
            text.contains("replay: cargo run --offline -- run parts/1-one-node.toml --seed 1"),
            "{text}"
        );
    }

    #[test]
    fn the_txn_rw_register_sources_name_the_kits_protocol_and_type() {
        assert_eq!(
            <txn_rw_register_skeleton::TxnNode as LabNode>::PROTOCOL,
            TXN_RW_REGISTER.protocol
        );
        assert_eq!(
            <txn_rw_register_solution::TxnNode as LabNode>::PROTOCOL,
            TXN_RW_REGISTER.protocol
        );
        for src in [TXN_RW_REGISTER.skeleton, TXN_RW_REGISTER.solution] {
            assert!(src.contains(&format!("pub struct {}", TXN_RW_REGISTER.node_type)));
            assert!(!src.contains("todo!") && !src.contains("unimplemented!"));
        }
    }

    #[test]
    #[ignore = "prints the txn-rw-register grades: cargo test -p chaoslab-nodes print_the_txn_rw_register_grades -- --ignored --nocapture"]
    fn print_the_txn_rw_register_grades() {
        println!(
            "{}",
            grade_lab::<txn_rw_register_solution::TxnNode>(&TXN_RW_REGISTER, &[])
        );
        println!(
            "{}",
            grade_lab::<txn_rw_register_skeleton::TxnNode>(&TXN_RW_REGISTER, &[])
        );
    }
}
