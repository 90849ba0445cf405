use sim::check::parse::{parse_history, Format};
use sim::check::{check_linearizable, Budget, ModelKind};
fn main() {
    for f in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&f).unwrap();
        let model = if f.contains("/kv/") { ModelKind::Kv } else { ModelKind::CasRegister };
        let h = parse_history(&text, Format::Auto, model).unwrap();
        let r = check_linearizable(&h, model, Budget::steps(std::env::var("STEPS").map(|s| s.parse().unwrap()).unwrap_or(2_000_000)));
        let v = format!("{}", r.verdict);
        println!("{f} ops={} steps={} {}", h.ops.len(), r.steps, v.lines().next().unwrap());
    }
}
