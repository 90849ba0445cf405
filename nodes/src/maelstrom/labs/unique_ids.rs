//! The unique-ids lab (Gossip Glomers challenge 2): part 1 on a healthy
//! network, part 2 with partitions between the servers (totally
//! available: every request answered).

use super::{Kit, Part};
use crate::maelstrom::ops::WorkloadKind;

/// The unique-ids skeleton, as `chaoslab lab new unique-ids` writes it.
pub mod unique_ids_skeleton {
    #[allow(unused_imports)]
    use super::super::chaoslab;
    include!("unique_ids_skeleton.rs");
}

/// chaoslab's unique-ids solution (`chaoslab lab new unique-ids --solution`).
pub mod unique_ids_solution {
    #[allow(unused_imports)]
    use super::super::chaoslab;
    include!("unique_ids_solution.rs");
}

pub const UNIQUE_IDS: Kit = Kit {
    workload: WorkloadKind::UniqueIds,
    node_type: "UniqueIdsNode",
    protocol: "lab-unique-ids",
    parts: &[
        Part {
            number: 1,
            name: "no faults",
            about: "3 nodes, a healthy network: every generate is answered, no id twice (Gossip Glomers 2)",
            text: include_str!("unique-ids-1.toml"),
            seeds: (1, 5),
        },
        Part {
            number: 2,
            name: "partitions",
            about: "3 nodes cut off from each other: still every generate answered (totally available), no id twice",
            text: include_str!("unique-ids-2.toml"),
            seeds: (1, 5),
        },
    ],
    skeleton: include_str!("unique_ids_skeleton.rs"),
    solution: include_str!("unique_ids_solution.rs"),
};

#[cfg(test)]
mod tests {
    use super::super::checks;
    use super::*;

    #[test]
    fn the_unique_ids_solution_passes_every_part() {
        checks::solution_passes::<unique_ids_solution::UniqueIdsNode>(&UNIQUE_IDS);
    }

    #[test]
    fn the_unique_ids_solution_passes_every_part_on_seeds_1_to_50() {
        checks::solution_passes_on_seeds_1_to_50::<unique_ids_solution::UniqueIdsNode>(&UNIQUE_IDS);
    }

    #[test]
    fn the_unique_ids_skeleton_fails_part_1_with_duplicates() {
        checks::skeleton_fails_part_1::<unique_ids_skeleton::UniqueIdsNode>(
            &UNIQUE_IDS,
            &[
                "maelstrom-valid violated at",
                "duplicate",
                "MISS duplicate ids",
            ],
        );
    }

    #[test]
    fn the_unique_ids_sources_name_the_kits_protocol_and_type() {
        checks::sources_name_the_kit::<
            unique_ids_skeleton::UniqueIdsNode,
            unique_ids_solution::UniqueIdsNode,
        >(&UNIQUE_IDS);
    }
}
