//! `chaoslab check FILE --model list-append|rw-register`: Elle's
//! transactional anomalies in a history of transactions (see
//! `sim::check::txn` and docs/anomalies.md).
//!
//! Exit codes: 0 no anomaly (the history is consistent with serializability
//! as far as the inferred dependencies show), 1 anomalies found, 2 bad input
//! (file, line, field, what is valid), 3 undecided (no anomaly found, but the
//! inference left edges out at its limit: a `note:` says so).

// The one wall-clock read: how long the check took, for the report.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::time::Instant;

use sim::check::txn::{
    check_txn_against, parse_txn_history, validate, Consistency, TxnModel, TxnReport,
};

use crate::check_cmd::{read_text, replay_command, CheckArgs, EXIT_BAD_INPUT};

pub const EXIT_NO_ANOMALY: i32 = 0;
pub const EXIT_ANOMALIES: i32 = 1;

/// How many anomalies of each kind the text report explains.
const SHOWN_PER_KIND: usize = 3;

/// Runs `check` with a transactional model; returns the exit code.
pub fn run(program: &str, args: &CheckArgs, model: TxnModel) -> i32 {
    let file = args.file.display();
    if args.svg.is_some() {
        eprintln!(
            "--svg draws single-object histories; it is not available with --model {model}; expected no --svg, or --model register, cas-register or kv"
        );
        return EXIT_BAD_INPUT;
    }
    let text = match read_text(&args.file) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let history = match parse_txn_history(&text, args.format, model) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("{file}:{}: {}; expected {}", e.line, e.problem, e.expected);
            return EXIT_BAD_INPUT;
        }
    };
    if history.txns.is_empty() {
        eprintln!(
            "{file}: the history has no transactions; expected at least one client transaction (:f :txn). An empty file proves nothing"
        );
        return EXIT_BAD_INPUT;
    }
    if let Err(e) = validate(&history, model) {
        eprintln!("{file}:{}: {}; expected {}", e.line, e.problem, e.expected);
        return EXIT_BAD_INPUT;
    }
    let started = Instant::now();
    let consistency = args.consistency.unwrap_or_default();
    let report = check_txn_against(&history, model, consistency);
    let elapsed = started.elapsed();
    if args.json {
        let out = serde_json::json!({ "file": file.to_string(), "transactions": report });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        let mut processes: Vec<u64> = history.txns.iter().map(|t| t.process).collect();
        processes.sort_unstable();
        processes.dedup();
        println!(
            "{file}: {} transaction(s) ({} committed, {} aborted, {} indeterminate), {} process(es), {model} workload",
            report.txns,
            report.committed,
            report.aborted,
            report.indeterminate,
            processes.len()
        );
        print!("{}", text_report(&report));
        println!("checked in {:.3} s", elapsed.as_secs_f64());
    }
    if report.is_valid() && !report.notes.is_empty() {
        // Edges were left out at a limit: an anomaly may hide in them.
        eprintln!(
            "undecided: no anomaly in the edges inferred, but some were left out (see the note); not a pass"
        );
        return crate::check_cmd::EXIT_UNKNOWN;
    }
    if report.is_valid() {
        return EXIT_NO_ANOMALY;
    }
    let names: Vec<&str> = report.kinds().iter().map(|k| k.name()).collect();
    eprintln!(
        "anomalies found ({}): not {}; reproduce with: {}",
        names.join(", "),
        report.relative_to,
        replay_command(program, args)
    );
    EXIT_ANOMALIES
}

/// The report in words: the graph, each kind found with its count and the
/// first few explained.
pub fn text_report(report: &TxnReport) -> String {
    let e = &report.edges;
    let (model, orders) = match Consistency::from_name(report.relative_to) {
        Some(Consistency::StrictSerializable) => (
            "strict serializability",
            format!(
                "data dependencies plus {} real-time edge(s), transitively reduced",
                e.realtime
            ),
        ),
        Some(Consistency::StrongSessionSerializable) => (
            "strong session serializability",
            format!(
                "data dependencies plus {} per-process order edge(s)",
                e.process
            ),
        ),
        _ => (
            "serializability",
            "data dependencies only: no real-time or per-process order".to_string(),
        ),
    };
    let mut out = format!(
        "dependency graph: {} ww, {} wr, {} rw edge(s) inferred; checked against {model} ({orders})\n",
        e.ww, e.wr, e.rw
    );
    for note in &report.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    if report.is_valid() && !report.notes.is_empty() {
        out.push_str(&format!(
            "undecided: no anomaly in the dependencies inferred, but some were left out (the note above): the history may still not be consistent with {model}\n"
        ));
    } else if report.is_valid() {
        out.push_str(&format!(
            "no anomalies: the history is consistent with {model} as far as the inferred dependencies show\n"
        ));
        return out;
    }
    let summary: Vec<String> = report
        .counts
        .iter()
        .map(|(k, n)| format!("{k} x{n}"))
        .collect();
    out.push_str(&format!("anomalies: {}\n", summary.join(", ")));
    for (&kind, &count) in &report.counts {
        out.push_str(&format!("\n{kind} ({count}): {}\n", kind.meaning()));
        let shown: Vec<_> = report
            .anomalies
            .iter()
            .filter(|a| a.kind == kind)
            .take(SHOWN_PER_KIND)
            .collect();
        for (i, a) in shown.iter().enumerate() {
            out.push_str(&format!("  {}.", i + 1));
            if a.cycle.is_empty() {
                let where_: Vec<String> = a
                    .txns
                    .iter()
                    .map(|t| {
                        let at = if t.line > 0 {
                            format!(", line {}", t.line)
                        } else {
                            String::new()
                        };
                        format!("{} = process {}{at}: {}", t.name, t.process, t.txn)
                    })
                    .collect();
                out.push_str(&format!(" {}\n", a.explanation));
                for w in where_ {
                    out.push_str(&format!("     {w}\n"));
                }
            } else {
                out.push('\n');
                for line in a.explanation.lines() {
                    out.push_str(&format!("     {line}\n"));
                }
            }
        }
        if count > shown.len() {
            out.push_str(&format!(
                "  ... and {} more (--json lists up to {} of each kind)\n",
                count - shown.len(),
                sim::check::txn::EXAMPLES_MAX
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use sim::check::parse::Format;
    use sim::check::txn::{check_txn, parse_txn_history, TxnModel};

    #[test]
    fn a_valid_history_whose_inference_hit_its_limit_reads_undecided_not_consistent() {
        let text = "{:type :invoke, :f :txn, :value [[:w 1 1]], :process 0}\n\
                    {:type :ok, :f :txn, :value [[:w 1 1]], :process 0}\n";
        let h = parse_txn_history(text, Format::Edn, TxnModel::RwRegister).unwrap();
        let mut r = check_txn(&h, TxnModel::RwRegister);
        assert!(super::text_report(&r).contains("no anomalies"));
        r.notes.push("edges left out".into());
        let text = super::text_report(&r);
        assert!(
            text.contains("undecided") && !text.contains("no anomalies"),
            "{text}"
        );
    }
}
