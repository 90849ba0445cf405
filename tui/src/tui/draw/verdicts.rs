//! The verdicts of the whole run: invariants, expectations, the
//! linearizability verdict and weaker checks of the history, availability and latency inside and outside
//! partitions, and the PACELC class with its evidence.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use sim::check::Verdict;
use sim::protocol::{Kind, PropertyVerdict};
use sim::report::{Consistency, InvariantVerdict, Share};
use sim::time::fmt_duration;

use super::panel;
use crate::tui::app::App;

fn share(s: &Share) -> String {
    match s.ratio() {
        Some(r) => format!("{}/{} ({:.1}%)", s.ok, s.total, r * 100.0),
        None => "-".into(),
    }
}

/// A property's row: its mark by its verdict (an undecided one `[??]`
/// with the reason, a `sometimes` one not seen a dim `[--]`, one the run
/// failed on `[!!]`), its name, and for an `eventually` or `sometimes`
/// property its kind, verdict and when or why.
fn property_row<'a>(
    inv: &InvariantVerdict,
    mark: impl Fn(bool) -> Span<'a>,
    undecided: Span<'a>,
    dim: Style,
) -> Line<'a> {
    if inv.kind == Kind::Always {
        let text = match &inv.first {
            Some((t, what)) => format!(
                "{}{} x{} first at {}: {what}",
                inv.name,
                if inv.expected_violated {
                    " violated, as expected,"
                } else {
                    ""
                },
                inv.violations,
                fmt_duration(*t)
            ),
            None => inv.name.clone(),
        };
        return Line::from(vec![mark(inv.ok), Span::raw(text)]);
    }
    let head = format!("{} {}: ", inv.name, inv.kind.name());
    let (shown, state) = match &inv.verdict {
        PropertyVerdict::Undecided { reason } => (undecided, format!("undecided: {reason}")),
        PropertyVerdict::NotSeen => (Span::styled("[--] ", dim), "not seen".to_string()),
        PropertyVerdict::Held { at } => {
            let when = at.map_or(String::new(), |t| format!(" at {}", fmt_duration(t)));
            let expected = if inv.expected_violated {
                ", expected violated"
            } else {
                ""
            };
            (mark(inv.ok), format!("held{when}{expected}"))
        }
        PropertyVerdict::Violated { detail } if inv.expected_violated => {
            (mark(inv.ok), format!("violated, as expected: {detail}"))
        }
        PropertyVerdict::Violated { detail } => (mark(inv.ok), format!("VIOLATED: {detail}")),
        PropertyVerdict::Seen { at } => (mark(inv.ok), format!("seen at {}", fmt_duration(*at))),
    };
    Line::from(vec![shown, Span::raw(head + &state)])
}

/// The panel of a run read from a trace file: no report (the trace does
/// not carry it), only what the trace records.
fn draw_recorded(app: &App, rec: &crate::tui::recorded::Recorded, f: &mut Frame, area: Rect) {
    let dim = Style::default().fg(Color::DarkGray);
    let bad = Style::default().fg(Color::Red).add_modifier(Modifier::BOLD);
    let seen = app
        .run
        .violations
        .partition_point(|&i| (i as usize) <= app.cursor);
    let lines = vec![
        Line::from(Span::styled(
            "no report: a trace does not carry it (the run printed it)",
            dim,
        )),
        Line::from(Span::styled(
            format!(
                "violations by the cursor: {seen}/{}",
                app.run.violations.len()
            ),
            if seen > 0 { bad } else { dim },
        )),
        Line::from(format!(
            "operations {}: ok {}, fail {}, info {}",
            rec.invoked, rec.ok, rec.fail, rec.info
        )),
        Line::from(format!(
            "faults {}, records {}",
            app.run.faults.len(),
            app.run.len()
        )),
        Line::from(Span::styled(
            "check the history: chaoslab check HISTORY (docs/checking.md)",
            dim,
        )),
    ];
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(panel("recorded trace")),
        area,
    );
}

pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let Some(r) = &app.run.report else {
        if let Some(rec) = &app.run.recorded {
            draw_recorded(app, rec, f, area);
        }
        return;
    };
    let ok = Style::default().fg(Color::Green);
    let bad = Style::default().fg(Color::Red).add_modifier(Modifier::BOLD);
    let dim = Style::default().fg(Color::DarkGray);
    let open = Style::default().fg(Color::Yellow);
    let mark = |held: bool| {
        if held {
            Span::styled("[ok] ", ok)
        } else {
            Span::styled("[!!] ", bad)
        }
    };
    // An undecided check is neither held nor failed: yellow `[??]`, as the
    // text report marks it.
    let undecided = || Span::styled("[??] ", open);
    let mut lines = vec![Line::from(vec![
        Span::raw("verdict "),
        match r.outcome {
            sim::report::RunOutcome::Pass => Span::styled("PASS", ok.add_modifier(Modifier::BOLD)),
            sim::report::RunOutcome::Fail => Span::styled("FAIL", bad),
            sim::report::RunOutcome::Undecided => Span::styled("UNDECIDED", open),
        },
        Span::styled(
            format!("  PACELC {}", r.pacelc.class()),
            Style::default().fg(Color::Cyan),
        ),
    ])];
    let seen = app
        .run
        .violations
        .partition_point(|&i| (i as usize) <= app.cursor);
    lines.push(Line::from(Span::styled(
        format!(
            "violations by the cursor: {seen}/{}",
            app.run.violations.len()
        ),
        if seen > 0 { bad } else { dim },
    )));
    for inv in &r.invariants {
        lines.push(property_row(inv, mark, undecided(), dim));
    }
    for e in &r.expectations {
        lines.push(Line::from(vec![
            if e.undecided {
                undecided()
            } else {
                mark(e.held)
            },
            Span::raw(format!(
                "{}: expected {}, got {}",
                e.what, e.expected, e.actual
            )),
        ]));
    }
    match &r.consistency {
        Consistency::Checked {
            linearizability,
            weak,
        } => {
            let (shown, text) = match &linearizability.verdict {
                Verdict::Linearizable => (mark(true), "linearizable".to_string()),
                Verdict::NotLinearizable { explanation } => (
                    mark(false),
                    format!(
                        "NOT linearizable: key {}, #{} `{}` cannot be placed",
                        explanation.key, explanation.blocked_index, explanation.blocked_op
                    ),
                ),
                Verdict::Unknown { reason, .. } => (undecided(), format!("undecided: {reason}")),
            };
            lines.push(Line::from(vec![
                shown,
                Span::raw(format!("history {text}")),
            ]));
            if let Some(weak) = weak {
                lines.push(Line::from(format!(
                    "  stale reads {}, lost writes {}, RYW {}, monotonic {}",
                    weak.stale_reads,
                    weak.lost_writes.len(),
                    weak.read_your_writes_total(),
                    weak.monotonic_reads_total()
                )));
            } else {
                lines.push(Line::from(Span::styled(
                    format!("  against the {} model", linearizability.model),
                    dim,
                )));
            }
        }
    }
    let a = &r.availability;
    lines.push(Line::from(format!(
        "available overall   {}",
        share(&a.overall)
    )));
    lines.push(Line::from(format!(
        "  in partitions     {}",
        share(&a.during_partition)
    )));
    lines.push(Line::from(format!(
        "  outside           {}",
        share(&a.outside_partition)
    )));
    lines.push(Line::from(format!(
        "latency p50 {} (outside partitions {}), p99 {}",
        fmt_duration(r.latency.p50),
        fmt_duration(r.latency.p50_outside_partition),
        fmt_duration(r.latency.p99)
    )));
    for e in &r.pacelc.evidence {
        lines.push(Line::from(Span::styled(e.clone(), dim)));
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(panel("verdicts (whole run)")),
        area,
    );
}
