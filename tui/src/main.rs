//! `chaoslab`: run, list, benchmark and check distributed-systems scenarios,
//! with chaoslab's own protocols and bundled scenarios.

fn main() {
    std::process::exit(chaoslab::main(chaoslab::Registry::builtin()));
}
