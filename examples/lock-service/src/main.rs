//! The lock service's own `chaoslab`: chaoslab's protocols and scenarios,
//! plus this crate's, with the whole command line (run, list, sweep,
//! shrink, check, tui, bench, cluster).

use chaoslab::sim::registry::Register;

fn main() {
    let mut registry = chaoslab::Registry::builtin();
    registry
        .add::<lock_service::LockService>()
        .scenarios(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"));
    std::process::exit(chaoslab::main(registry));
}
