//! The labs' own sources graded as a learner's would be.

use super::*;
use crate::maelstrom::grade::{grade_lab, Grade};
use crate::maelstrom::LabNode;

#[test]
fn the_broadcast_solution_passes_every_part() {
    let grade = grade_lab::<broadcast_solution::BroadcastNode>(&BROADCAST, &[]);
    assert_eq!(grade.parts.len(), 3);
    assert!(grade.passed(), "{grade}");
}

fn skeleton_grade() -> Grade {
    grade_lab::<broadcast_skeleton::BroadcastNode>(&BROADCAST, &[1, 2])
}

#[test]
fn the_broadcast_skeleton_fails_part_1_with_a_readable_grade() {
    let grade = skeleton_grade();
    let text = grade.render();
    assert!(!grade.passed(), "{text}");
    let part1 = &grade.parts[0];
    assert!(!part1.passed(), "{text}");
    // What broke, and how to see it again: the checker's finding, the
    // target missed, and the replay command of the very seed.
    assert!(text.contains("Part 1 (no faults): FAIL"), "{text}");
    assert!(text.contains("maelstrom-valid violated at"), "{text}");
    assert!(text.contains("lost"), "{text}");
    assert!(
        text.contains("replay: cargo run --offline -- run parts/1-no-faults.toml --seed 1"),
        "{text}"
    );
    assert!(text.contains("MISS lost"), "{text}");
}

#[test]
fn the_sources_name_the_kits_protocol_and_type() {
    assert_eq!(
        <broadcast_skeleton::BroadcastNode as LabNode>::PROTOCOL,
        BROADCAST.protocol
    );
    assert_eq!(
        <broadcast_solution::BroadcastNode as LabNode>::PROTOCOL,
        BROADCAST.protocol
    );
    for src in [BROADCAST.skeleton, BROADCAST.solution] {
        assert!(src.contains(&format!("pub struct {}", BROADCAST.node_type)));
        assert!(!src.contains("todo!") && !src.contains("unimplemented!"));
    }
}

#[test]
fn part_files_are_numbered_and_name_the_graded_protocol() {
    let p = &BROADCAST.parts[1];
    assert_eq!(p.file(), "parts/2-partitions.toml");
    let text = p.scenario("lab-broadcast");
    assert!(text.contains("protocol = \"lab-broadcast\""));
    assert!(!text.contains("\"maelstrom\""));
}

#[test]
#[ignore = "prints the solution's grade: cargo test -p chaoslab-nodes print_the_solution_grade -- --ignored --nocapture"]
fn print_the_solution_grade() {
    let grade = grade_lab::<broadcast_solution::BroadcastNode>(&BROADCAST, &[]);
    println!("{grade}");
}
