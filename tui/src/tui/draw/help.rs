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
    for b in table {
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

pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let label_w = 10;
    let mut lines = section("keys", NORMAL, label_w);
    lines.push(Line::from(""));
    lines.extend(section("inject menu (i)", INJECT, label_w));
    lines.push(Line::from(""));
    lines.extend(section("prompts", PROMPT, label_w));
    lines.push(Line::from(""));
    lines.extend(section("this help", HELP, label_w));
    // Flow the lines into as many columns as the height needs and the width
    // allows (a column at least 38 wide); what still does not fit scrolls.
    let rows = area.height.saturating_sub(2).max(1) as usize;
    let widest = lines.iter().map(Line::width).max().unwrap_or(0) as u16 + 2;
    let col_w = widest.min(area.width.saturating_sub(2)).max(1);
    let fit = (area.width.saturating_sub(2) / col_w.clamp(1, 38)).max(1) as usize;
    let cols = lines.len().div_ceil(rows).clamp(1, fit);
    let col_w = (area.width.saturating_sub(2) / cols as u16).min(widest);
    let rect = centered(area, col_w * cols as u16 + 2, area.height);
    let hidden = lines.len().saturating_sub(rows * cols);
    let first = app.help_scroll.min(hidden);
    let title = if hidden > 0 {
        "help: ↓↑ scroll, any other key closes"
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
