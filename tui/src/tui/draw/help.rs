//! The help overlay (every key, from the binding tables) and the inject menu.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;
use sim::time::fmt_duration;

use super::{centered, panel};
use crate::tui::app::App;
use crate::tui::keys::{Binding, HELP, INJECT, NORMAL, PROMPT};

fn section<'a>(title: &'a str, table: &'a [Binding], label_w: usize) -> Vec<Line<'a>> {
    let mut lines = vec![Line::from(Span::styled(
        title,
        Style::default()
            .fg(Color::Cyan)
            .add_modifier(Modifier::BOLD),
    ))];
    // A binding with no label is another key for the one above it, which
    // names it.
    for b in table.iter().filter(|b| !b.label.is_empty()) {
        lines.push(Line::from(vec![
            Span::styled(
                format!("{:<label_w$}", b.label),
                Style::default().fg(Color::Yellow),
            ),
            Span::raw(b.help),
        ]));
    }
    lines
}

const fn fg(c: Color) -> Style {
    Style::new().fg(c)
}

/// What the diagram's glyphs mean: (glyph, its style, meaning).
#[rustfmt::skip]
const LEGEND: &[(&str, Style, &str)] = &[
    ("●╌╌›", fg(Color::Cyan), "a message sent, in flight"),
    ("┄──▶", fg(Color::Green), "a message delivered ✓"),
    ("───✗", fg(Color::Red), "a message dropped (why)"),
    ("───‖", fg(Color::Yellow), "a message held (clog, pause)"),
    ("│", fg(Color::DarkGray), "a node's lifeline"),
    ("○", fg(Color::DarkGray), "a timer fired"),
    ("▷ ◁", fg(Color::Blue), "a client op invoked, completed"),
    ("◁", fg(Color::Red), "an op failed or timed out"),
    ("★", fg(Color::Magenta), "a role change (leader, ...)"),
    ("◆", fg(Color::Gray), "a node's note"),
    ("⚡", fg(Color::Red), "band: a fault"),
    ("✗", fg(Color::Magenta), "band: an invariant violated"),
    ("⏵", fg(Color::Red), "band: a trigger fired"),
    ("┃ ▼ ✗", fg(Color::Yellow), "timeline: cursor, fault, violation"),
    ("   ", Style::new().bg(Color::Rgb(90, 20, 20)), "timeline: a partition in force"),
    ("event k/N", fg(Color::Reset), "as the report counts events;"),
    ("", fg(Color::Reset), "→ steps one record (a delivery"),
    ("", fg(Color::Reset), "and the sends it causes are one"),
    ("", fg(Color::Reset), "event's records)"),
];

fn legend<'a>(label_w: usize) -> Vec<Line<'a>> {
    let mut lines = vec![Line::from(Span::styled(
        "legend",
        Style::default()
            .fg(Color::Cyan)
            .add_modifier(Modifier::BOLD),
    ))];
    for &(glyph, style, meaning) in LEGEND {
        let glyph = Span::styled(glyph, style);
        let pad = label_w.saturating_sub(glyph.width());
        lines.push(Line::from(vec![
            glyph,
            Span::raw(" ".repeat(pad)),
            Span::raw(meaning),
        ]));
    }
    lines
}

pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let label_w = 12;
    let mut lines = section("keys", NORMAL, label_w);
    lines.push(Line::from(""));
    lines.extend(section("inject menu (i)", INJECT, label_w));
    lines.push(Line::from(""));
    lines.extend(section("prompts", PROMPT, label_w));
    lines.push(Line::from(""));
    lines.extend(section("this help", HELP, label_w));
    lines.push(Line::from(""));
    lines.extend(legend(label_w));
    // Flow the lines into as many columns as the height needs and the width
    // allows, each column as wide as the widest line, so no line is cut;
    // what does not fit scrolls. Only a screen narrower than the widest
    // line cuts it, and marks the cut with `…`.
    let rows = area.height.saturating_sub(2).max(1) as usize;
    let avail = area.width.saturating_sub(2).max(1);
    let widest = lines.iter().map(Line::width).max().unwrap_or(0) as u16 + 1;
    let fit = (avail / widest).max(1) as usize;
    let cols = lines.len().div_ceil(rows).clamp(1, fit);
    let col_w = (avail / cols as u16).min(widest);
    let lines: Vec<Line> = lines
        .into_iter()
        .map(|l| super::clip_line(l, col_w.saturating_sub(1) as usize))
        .collect();
    let rect = centered(area, col_w * cols as u16 + 2, area.height);
    let hidden = lines.len().saturating_sub(rows * cols);
    app.help_max.set(hidden);
    let first = app.help_scroll.min(hidden);
    let title = if hidden > 0 {
        "help: ↓↑ PgDn PgUp scroll, any other key closes"
    } else {
        "help: any key closes"
    };
    f.render_widget(Clear, rect);
    let block = panel(title);
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    for (c, chunk) in lines[first..].chunks(rows).take(cols).enumerate() {
        let r = Rect::new(
            inner.x + c as u16 * col_w,
            inner.y,
            col_w.saturating_sub(1),
            inner.height,
        );
        f.render_widget(Paragraph::new(chunk.to_vec()), r);
    }
}

pub fn draw_inject(app: &App, f: &mut Frame, area: Rect) {
    let run = &app.run;
    let side: Vec<&str> = if app.marked.is_empty() {
        vec![run.node_name(app.selected)]
    } else {
        app.marked.iter().map(|&i| run.node_name(i)).collect()
    };
    let mut lines = vec![
        Line::from(format!(
            "at t={} (the cursor)",
            fmt_duration(run.time_at(app.cursor))
        )),
        Line::from(format!("selected node: {}", run.node_name(app.selected))),
        Line::from(format!(
            "partition side: {{{}}} (m marks nodes)",
            side.join(",")
        )),
        Line::from(""),
    ];
    lines.extend(section("inject", INJECT, 5));
    let rect = centered(area, 66, lines.len() as u16 + 2);
    f.render_widget(Clear, rect);
    f.render_widget(Paragraph::new(lines).block(panel("inject a fault")), rect);
}
