//! The kafka lab (Gossip Glomers challenge 5, fly.io/dist-sys/5a to 5c):
//! part 1 one node (5a), part 2 three nodes whose offsets must rise across
//! the cluster (5b), part 3 the same under a partition.

use super::{Kit, Part};
use crate::maelstrom::ops::WorkloadKind;

/// The kafka skeleton, as `chaoslab lab new kafka` writes it.
pub mod kafka_skeleton {
    #[allow(unused_imports)]
    use super::super::chaoslab;
    include!("kafka_skeleton.rs");
}

/// chaoslab's kafka solution, as `chaoslab lab new kafka --solution`
/// writes it.
pub mod kafka_solution {
    #[allow(unused_imports)]
    use super::super::chaoslab;
    include!("kafka_solution.rs");
}

pub const KAFKA: Kit = Kit {
    workload: WorkloadKind::Kafka,
    node_type: "KafkaNode",
    protocol: "lab-kafka",
    parts: &[
        Part {
            number: 1,
            name: "one node",
            about: "1 node, no faults: every acknowledged message polled at its offset, offsets rising per key (Gossip Glomers 5a)",
            text: include_str!("kafka-1.toml"),
            seeds: (1, 10),
        },
        Part {
            number: 2,
            name: "several nodes",
            about: "3 nodes, no faults, clients asking each node in turn: offsets unique and rising across the cluster (Gossip Glomers 5b)",
            text: include_str!("kafka-2.toml"),
            seeds: (1, 10),
        },
        Part {
            number: 3,
            name: "partition",
            about: "3 nodes, n1 cut off for 2s: no offset given twice or going back, nothing acknowledged lost",
            text: include_str!("kafka-3.toml"),
            seeds: (1, 10),
        },
    ],
    skeleton: include_str!("kafka_skeleton.rs"),
    solution: include_str!("kafka_solution.rs"),
};

#[cfg(test)]
mod tests {
    use super::super::tests::on_seeds;
    use super::*;
    use crate::maelstrom::grade::grade_lab;
    use crate::maelstrom::LabNode;

    #[test]
    fn the_kafka_solution_passes_every_part_on_their_seeds_and_on_1_to_50() {
        let grade = grade_lab::<kafka_solution::KafkaNode>(&KAFKA, &[]);
        assert_eq!(grade.parts.len(), 3);
        assert!(grade.passed(), "{grade}");
        let grade = grade_lab::<kafka_solution::KafkaNode>(&on_seeds(&KAFKA, 1, 50), &[]);
        assert!(grade.passed(), "{grade}");
    }

    #[test]
    fn the_kafka_skeleton_fails_part_1_with_a_readable_grade() {
        let grade = grade_lab::<kafka_skeleton::KafkaNode>(&KAFKA, &[1]);
        let text = grade.render();
        assert!(!grade.parts[0].passed(), "{text}");
        assert!(text.contains("Part 1 (one node): FAIL"), "{text}");
        assert!(
            text.contains("maelstrom-valid violated at")
                && text.contains("the kafka checker says invalid: lost, poll-skip"),
            "{text}"
        );
        assert!(text.contains("MISS lost"), "{text}");
        assert!(
            text.contains("replay: cargo run --offline -- run parts/1-one-node.toml --seed 1"),
            "{text}"
        );
    }

    #[test]
    fn the_kafka_sources_name_the_kits_protocol_and_type() {
        assert_eq!(
            <kafka_skeleton::KafkaNode as LabNode>::PROTOCOL,
            KAFKA.protocol
        );
        assert_eq!(
            <kafka_solution::KafkaNode as LabNode>::PROTOCOL,
            KAFKA.protocol
        );
        for src in [KAFKA.skeleton, KAFKA.solution] {
            assert!(src.contains(&format!("pub struct {}", KAFKA.node_type)));
            assert!(!src.contains("todo!") && !src.contains("unimplemented!"));
        }
    }

    #[test]
    #[ignore = "prints the kafka grades: cargo test -p chaoslab-nodes print_the_kafka_grades -- --ignored --nocapture"]
    fn print_the_kafka_grades() {
        println!("{}", grade_lab::<kafka_solution::KafkaNode>(&KAFKA, &[]));
        println!("{}", grade_lab::<kafka_skeleton::KafkaNode>(&KAFKA, &[]));
    }
}
