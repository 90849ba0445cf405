//! The message sequence (Lamport) diagram: a column per node, a row per trace
//! record, time running down. A message is drawn twice: a dashed stub where it
//! was sent and a solid arrow where it arrived (or a ✗ where it was dropped),
//! so a long-delayed message shows as a send far above its arrival. Faults and
//! violations are full-width bands. Only the rows on screen are looked at.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Widget;
use sim::time::fmt_duration;
use sim::trace::TraceEvent;

use super::{panel, put};
use crate::tui::app::App;

const GUTTER: u16 = 10;

pub fn draw(app: &App, buf: &mut Buffer, area: Rect) {
    let block = panel("sequence (time ↓)");
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height < 2 || inner.width < GUTTER + 4 {
        return;
    }
    let run = &app.run;
    let n = run.cluster.len();
    // A label column on the right when there is room for it.
    let label_w: u16 = if inner.width >= 60 { 18 } else { 0 };
    let cols_w = inner.width - GUTTER - label_w;
    let col_w = (cols_w / n.max(1) as u16).max(3);
    let shown = ((cols_w / col_w) as usize).min(n);
    let x_of = |i: usize| inner.x + GUTTER + i as u16 * col_w + col_w / 2;
    let index_of = |name: &str| {
        run.cluster
            .by_name(name)
            .map(|id| id.index())
            .filter(|&i| i < shown)
    };

    // Header: node names over their columns.
    for i in 0..shown {
        let name = run.node_name(i);
        let x = x_of(i).saturating_sub(name.len() as u16 / 2);
        let style = if i == app.selected {
            Style::default().fg(Color::Black).bg(Color::Cyan)
        } else {
            Style::default().add_modifier(Modifier::BOLD)
        };
        put(buf, inner, x, inner.y, name, style);
    }

    let rows = (inner.height - 1) as usize;
    app.page_rows.set(rows);
    let len = run.len();
    // Keep the cursor two thirds of the way down, so what led to it shows.
    let start = app
        .cursor
        .saturating_sub(rows * 2 / 3)
        .min(len.saturating_sub(rows));
    let end = (start + rows).min(len);
    let focus = run.message_id_at(app.cursor);
    let lifeline = Style::default().fg(Color::DarkGray);
    for (row, idx) in (start..end).enumerate() {
        let y = inner.y + 1 + row as u16;
        let r = &run.trace[idx];
        let cursor = idx == app.cursor;
        for i in 0..shown {
            put(buf, inner, x_of(i), y, "│", lifeline);
        }
        let mut label = String::new();
        let mut label_style = Style::default().fg(Color::Gray);
        let hl = |s: Style, id: u64| {
            if Some(id) == focus {
                s.fg(Color::Yellow).add_modifier(Modifier::BOLD)
            } else {
                s
            }
        };
        match &r.event {
            TraceEvent::Send {
                from, to, id, msg, ..
            } => {
                let style = hl(Style::default().fg(Color::Cyan), *id);
                if let (Some(a), Some(b)) = (index_of(from), index_of(to)) {
                    hline(buf, inner, x_of(a), x_of(b), y, '╌', style);
                    put(buf, inner, x_of(a), y, "●", style);
                    put(
                        buf,
                        inner,
                        x_of(b),
                        y,
                        if b >= a { "›" } else { "‹" },
                        style,
                    );
                }
                label = format!("{msg} #{id}");
                label_style = style;
            }
            TraceEvent::Deliver { from, to, id, msg } => {
                let style = hl(Style::default().fg(Color::Green), *id);
                if let (Some(a), Some(b)) = (index_of(from), index_of(to)) {
                    hline(buf, inner, x_of(a), x_of(b), y, '─', style);
                    put(buf, inner, x_of(a), y, "┄", style);
                    put(
                        buf,
                        inner,
                        x_of(b),
                        y,
                        if b >= a { "▶" } else { "◀" },
                        style,
                    );
                }
                label = format!("{msg} #{id} ✓");
                label_style = style;
            }
            TraceEvent::Drop {
                from,
                to,
                id,
                msg,
                reason,
            }
            | TraceEvent::Hold {
                from,
                to,
                id,
                msg,
                reason,
            } => {
                let dropped = matches!(r.event, TraceEvent::Drop { .. });
                let color = if dropped { Color::Red } else { Color::Yellow };
                let style = hl(Style::default().fg(color), *id);
                if let (Some(a), Some(b)) = (index_of(from), index_of(to)) {
                    // Where it happened: at the sender if the sender is down,
                    // at the receiver if it is, else on the link, halfway.
                    let (xa, xb) = (x_of(a), x_of(b));
                    let at = match *reason {
                        "sender-crashed" => xa,
                        "destination-crashed" | "paused" => xb,
                        _ => (xa + xb) / 2,
                    };
                    hline(buf, inner, xa, at, y, '─', style);
                    put(buf, inner, at, y, if dropped { "✗" } else { "‖" }, style);
                }
                label = format!("{msg} #{id} {reason}");
                label_style = style;
            }
            TraceEvent::Timer { node, timer } => {
                if let Some(a) = index_of(node) {
                    put(
                        buf,
                        inner,
                        x_of(a),
                        y,
                        "○",
                        Style::default().fg(Color::DarkGray),
                    );
                }
                label = format!("timer {timer}");
                label_style = Style::default().fg(Color::DarkGray);
            }
            TraceEvent::Invoke {
                node, description, ..
            } => {
                if let Some(a) = index_of(node) {
                    put(
                        buf,
                        inner,
                        x_of(a),
                        y,
                        "▷",
                        Style::default().fg(Color::Blue),
                    );
                }
                label = description.clone();
                label_style = Style::default().fg(Color::Blue);
            }
            TraceEvent::Complete {
                node,
                outcome,
                output,
                ..
            } => {
                let color = if *outcome == "ok" {
                    Color::Blue
                } else {
                    Color::Red
                };
                if let Some(a) = index_of(node) {
                    put(buf, inner, x_of(a), y, "◁", Style::default().fg(color));
                }
                label = format!("{outcome} {output}");
                label_style = Style::default().fg(color);
            }
            TraceEvent::Role { node, to, .. } => {
                if let Some(a) = index_of(node) {
                    put(
                        buf,
                        inner,
                        x_of(a),
                        y,
                        "★",
                        Style::default().fg(Color::Magenta),
                    );
                }
                label = format!("{node} → {to}");
                label_style = Style::default().fg(Color::Magenta);
            }
            TraceEvent::Fault { description, .. } => {
                let band = Style::default().fg(Color::White).bg(Color::Red);
                let w = inner.width - GUTTER;
                let text = format!(" ⚡ {description}");
                put(
                    buf,
                    inner,
                    inner.x + GUTTER,
                    y,
                    &format!("{text:<w$}", w = w as usize),
                    band,
                );
            }
            TraceEvent::Violation { invariant, detail } => {
                let band = Style::default().fg(Color::White).bg(Color::Magenta);
                let w = inner.width - GUTTER;
                let text = format!(" ✗ {invariant}: {detail}");
                put(
                    buf,
                    inner,
                    inner.x + GUTTER,
                    y,
                    &format!("{text:<w$}", w = w as usize),
                    band,
                );
            }
            TraceEvent::Note { node, note } => {
                if let Some(a) = index_of(node) {
                    put(
                        buf,
                        inner,
                        x_of(a),
                        y,
                        "◆",
                        Style::default().fg(Color::Gray),
                    );
                }
                label = format!("{node}: {note}");
                label_style = Style::default().fg(Color::Gray);
            }
            TraceEvent::Trigger { line, event, .. } => {
                let band = Style::default().fg(Color::Red);
                let w = inner.width - GUTTER;
                let text = format!(" ⏵ trigger line {line}: {event}");
                put(
                    buf,
                    inner,
                    inner.x + GUTTER,
                    y,
                    &format!("{text:<w$}", w = w as usize),
                    band,
                );
            }
        }
        let time_style = if cursor {
            Style::default().fg(Color::Black).bg(Color::Yellow)
        } else {
            Style::default().fg(Color::DarkGray)
        };
        put(
            buf,
            inner,
            inner.x,
            y,
            &format!("{:>9} ", fmt_duration(r.t)),
            time_style,
        );
        if label_w > 0 && !label.is_empty() {
            let x = inner.right() - label_w + 1;
            let style = if cursor {
                label_style.add_modifier(Modifier::REVERSED)
            } else {
                label_style
            };
            let text: String = label.chars().take(label_w as usize - 1).collect();
            put(buf, inner, x, y, &text, style);
        }
    }
}

/// A horizontal line between two columns, ends excluded.
fn hline(buf: &mut Buffer, clip: Rect, xa: u16, xb: u16, y: u16, c: char, style: Style) {
    let (lo, hi) = if xa <= xb { (xa, xb) } else { (xb, xa) };
    let mut s = [0u8; 4];
    let c = c.encode_utf8(&mut s);
    for x in lo + 1..hi {
        put(buf, clip, x, y, c, style);
    }
}
