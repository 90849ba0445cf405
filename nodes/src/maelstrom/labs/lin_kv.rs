//! The lin-kv lab (Maelstrom's lin-kv workload): part 1 three nodes, no
//! faults; part 2 a partition, then a crash. Every key's history must be
//! linearizable.

use super::{Kit, Part};
use crate::maelstrom::ops::WorkloadKind;

/// The lin-kv skeleton, as `chaoslab lab new lin-kv` writes it.
pub mod lin_kv_skeleton {
    #[allow(unused_imports)]
    use super::super::chaoslab;
    include!("lin_kv_skeleton.rs");
}

/// chaoslab's lin-kv solution, as `chaoslab lab new lin-kv --solution`
/// writes it.
pub mod lin_kv_solution {
    #[allow(unused_imports)]
    use super::super::chaoslab;
    include!("lin_kv_solution.rs");
}

pub const LIN_KV: Kit = Kit {
    workload: WorkloadKind::LinKv,
    node_type: "LinKvNode",
    protocol: "lab-lin-kv",
    parts: &[
        Part {
            number: 1,
            name: "no faults",
            about: "3 nodes, no faults: every key's history linearizable, whichever node serves each request",
            text: include_str!("lin-kv-1.toml"),
            seeds: (1, 10),
        },
        Part {
            number: 2,
            name: "partition crash",
            about: "3 nodes, n1 cut off for 2s, then n2 crashed for 1s: still linearizable",
            text: include_str!("lin-kv-2.toml"),
            seeds: (1, 10),
        },
    ],
    skeleton: include_str!("lin_kv_skeleton.rs"),
    solution: include_str!("lin_kv_solution.rs"),
};

#[cfg(test)]
mod tests {
    use super::super::tests::on_seeds;
    use super::*;
    use crate::maelstrom::grade::grade_lab;
    use crate::maelstrom::LabNode;

    #[test]
    fn the_lin_kv_solution_passes_every_part_on_their_seeds_and_on_1_to_50() {
        let grade = grade_lab::<lin_kv_solution::LinKvNode>(&LIN_KV, &[]);
        assert_eq!(grade.parts.len(), 2);
        assert!(grade.passed(), "{grade}");
        let grade = grade_lab::<lin_kv_solution::LinKvNode>(&on_seeds(&LIN_KV, 1, 50), &[]);
        assert!(grade.passed(), "{grade}");
    }

    #[test]
    fn the_lin_kv_skeleton_fails_part_1_with_a_readable_grade() {
        let grade = grade_lab::<lin_kv_skeleton::LinKvNode>(&LIN_KV, &[1]);
        let text = grade.render();
        assert!(!grade.parts[0].passed(), "{text}");
        assert!(text.contains("Part 1 (no faults): FAIL"), "{text}");
        assert!(
            text.contains("maelstrom-valid violated at")
                && text.contains("not linearizable (key ")
                && text.contains("linearizable = false (key 0, operation #58)"),
            "{text}"
        );
        assert!(text.contains("linearizab"), "{text}");
        assert!(
            text.contains("replay: cargo run --offline -- run parts/1-no-faults.toml --seed 1"),
            "{text}"
        );
    }

    #[test]
    fn the_lin_kv_sources_name_the_kits_protocol_and_type() {
        assert_eq!(
            <lin_kv_skeleton::LinKvNode as LabNode>::PROTOCOL,
            LIN_KV.protocol
        );
        assert_eq!(
            <lin_kv_solution::LinKvNode as LabNode>::PROTOCOL,
            LIN_KV.protocol
        );
        for src in [LIN_KV.skeleton, LIN_KV.solution] {
            assert!(src.contains(&format!("pub struct {}", LIN_KV.node_type)));
            assert!(!src.contains("todo!") && !src.contains("unimplemented!"));
        }
    }

    #[test]
    #[ignore = "prints the lin-kv grades: cargo test -p chaoslab-nodes print_the_lin_kv_grades -- --ignored --nocapture"]
    fn print_the_lin_kv_grades() {
        println!("{}", grade_lab::<lin_kv_solution::LinKvNode>(&LIN_KV, &[]));
        println!("{}", grade_lab::<lin_kv_skeleton::LinKvNode>(&LIN_KV, &[]));
    }
}

#[cfg(test)]
mod undecided {
    use super::*;
    use crate::maelstrom::grade::{grade_lab, Verdict};

    /// A part whose linearizability search runs out of budget on every
    /// seed claims nothing: the grade must call it neither FAIL nor PASS,
    /// but UNDECIDED, with how to decide it.
    #[test]
    fn a_part_whose_check_is_undecided_on_every_seed_is_graded_undecided() {
        let part = LIN_KV.parts[0];
        let text: &'static str = Box::leak(
            part.text
                .replacen("[meta]\n", "[meta]\ncheck_max_steps = 1\n", 1)
                .into_boxed_str(),
        );
        assert!(text.contains("check_max_steps = 1"));
        let parts: &'static [Part] = Box::leak(Box::new([Part {
            text,
            seeds: (1, 2),
            ..part
        }]));
        let kit = Kit { parts, ..LIN_KV };
        let grade = grade_lab::<lin_kv_solution::LinKvNode>(&kit, &[]);
        let text = grade.render();
        let p = &grade.parts[0];
        assert_eq!(p.undecided.len(), 2, "{text}");
        assert!(
            p.failures.is_empty(),
            "undecided is never a failure: {text}"
        );
        assert_eq!(p.verdict(), Verdict::Undecided, "{text}");
        assert!(!p.passed() && !grade.passed(), "{text}");
        assert!(text.contains("Part 1 (no faults): UNDECIDED"), "{text}");
        assert!(text.contains("0 of 1 parts pass"), "{text}");
        assert!(
            text.contains("no seed was decided, so the part is neither passed nor failed")
                && text.contains("--check-max-steps N")
                && text.contains("check_max_steps = N` under [meta] in parts/1-no-faults.toml"),
            "{text}"
        );
        assert!(
            text.contains("seeds 1..=2: 0 of 2 passed, 2 undecided (not failures)"),
            "{text}"
        );
        assert!(text.contains("seed 1 UNDECIDED (not a failure):"), "{text}");
        assert!(text.contains("ran out of steps"), "{text}");
    }
}

#[cfg(test)]
mod stores_nothing {
    use super::*;
    use crate::maelstrom::grade::grade_lab;
    use crate::maelstrom::{Body, Envelope, ErrorCode, Init, LabNode, MaelNode, Out};

    /// The reviewer's node: acknowledges every write without storing it,
    /// answers every read and cas "key does not exist". Only ok writes
    /// remain, trivially linearizable; Jepsen's stats criterion (each
    /// operation type ok at least once) is what fails it, as in Maelstrom.
    #[derive(Clone, Debug, Default)]
    struct StoresNothing;

    impl LabNode for StoresNothing {
        const PROTOCOL: &'static str = "lab-lin-kv";
    }

    impl MaelNode for StoresNothing {
        fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
            if Init::answer(out, &msg).is_some() {
                return;
            }
            let reply = match msg.body.kind.as_str() {
                "write" => Body::new("write_ok"),
                "read" | "cas" => Body::error(ErrorCode::KeyDoesNotExist, "key does not exist"),
                _ => return,
            };
            out.reply(&msg, reply);
        }

        fn clone_node(&self) -> Box<dyn MaelNode> {
            Box::new(self.clone())
        }
    }

    #[test]
    fn a_node_that_stores_nothing_fails_both_parts() {
        let grade = grade_lab::<StoresNothing>(&LIN_KV, &[]);
        let text = grade.render();
        assert_eq!(grade.parts.len(), 2);
        for p in &grade.parts {
            assert!(!p.passed(), "{text}");
            assert!(p.failures.len() + p.more_failures == 10, "{text}");
        }
        assert!(
            text.contains("the lin-kv checker says invalid: no read ever succeeded"),
            "{text}"
        );
        assert!(text.contains("MISS criteria failed: 1"), "{text}");
    }
}
