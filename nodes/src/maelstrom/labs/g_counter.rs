//! The g-counter lab (Gossip Glomers challenge 4): a grow-only counter,
//! kept (in the solution) in Maelstrom's seq-kv service. Part 1 on a
//! healthy network, part 2 with partitions between the servers (the
//! service stays reachable, as Maelstrom's services do).

use super::{Kit, Part};
use crate::maelstrom::ops::WorkloadKind;

/// The g-counter skeleton, as `chaoslab lab new g-counter` writes it.
pub mod g_counter_skeleton {
    #[allow(unused_imports)]
    use super::super::chaoslab;
    include!("g_counter_skeleton.rs");
}

/// chaoslab's g-counter solution (`chaoslab lab new g-counter --solution`).
pub mod g_counter_solution {
    #[allow(unused_imports)]
    use super::super::chaoslab;
    include!("g_counter_solution.rs");
}

pub const G_COUNTER: Kit = Kit {
    workload: WorkloadKind::GCounter,
    node_type: "GCounterNode",
    protocol: "lab-g-counter",
    parts: &[
        Part {
            number: 1,
            name: "no faults",
            about: "3 nodes and the seq-kv service, a healthy network: every final read is the sum of the acknowledged adds (Gossip Glomers 4)",
            text: include_str!("g-counter-1.toml"),
            seeds: (1, 5),
        },
        Part {
            number: 2,
            name: "partitions",
            about: "3 nodes cut off from each other twice (seq-kv stays reachable): once healed, every final read is the acknowledged sum",
            text: include_str!("g-counter-2.toml"),
            seeds: (1, 5),
        },
    ],
    skeleton: include_str!("g_counter_skeleton.rs"),
    solution: include_str!("g_counter_solution.rs"),
};

#[cfg(test)]
mod tests {
    use super::super::checks;
    use super::*;

    #[test]
    fn the_g_counter_solution_passes_every_part() {
        checks::solution_passes::<g_counter_solution::GCounterNode>(&G_COUNTER);
    }

    #[test]
    fn the_g_counter_solution_passes_every_part_on_seeds_1_to_50() {
        checks::solution_passes_on_seeds_1_to_50::<g_counter_solution::GCounterNode>(&G_COUNTER);
    }

    #[test]
    fn the_g_counter_skeleton_fails_part_1_with_final_reads_out_of_bounds() {
        checks::skeleton_fails_part_1::<g_counter_skeleton::GCounterNode>(
            &G_COUNTER,
            &[
                "maelstrom-valid violated at",
                "MISS final reads out of bounds",
            ],
        );
    }

    #[test]
    fn the_g_counter_sources_name_the_kits_protocol_and_type() {
        checks::sources_name_the_kit::<
            g_counter_skeleton::GCounterNode,
            g_counter_solution::GCounterNode,
        >(&G_COUNTER);
    }
}
