//! The chart panel (`c`): each figure over the run's time as a bar chart in
//! block characters, the cursor's column in yellow, with the figure's
//! largest value and its value at the cursor.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Clear, Widget};
use ratatui::Frame;
use sim::time::fmt_duration;

use super::{panel, put};
use crate::tui::app::App;
use crate::tui::series::{Agg, Chart};

/// Eighths of a cell, from empty to full.
const BLOCKS: [&str; 9] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];

fn show(v: f64, unit: &str) -> String {
    let n = if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    format!("{n}{unit}")
}

pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let run = &app.run;
    let block = panel("charts over the run's time (c or Esc closes)");
    f.render_widget(Clear, area);
    let inner = block.inner(area);
    block.render(area, f.buffer_mut());
    let buf = f.buffer_mut();
    if inner.width < 10 || inner.height < 4 {
        return;
    }
    let end = run.charts.end_ns.max(1);
    let width = inner.width as usize;
    let cursor_t = run.time_at(app.cursor);
    let cursor_x =
        ((cursor_t as u128 * width as u128) / end as u128).min(width as u128 - 1) as usize;
    // The charts that have something to show, each a title row and bars.
    let shown: Vec<(&Chart, Vec<Option<f64>>)> = run
        .charts
        .charts
        .iter()
        .map(|c| (c, c.columns(width, end)))
        .filter(|(_, cols)| cols.iter().flatten().any(|&v| v > 0.0))
        .collect();
    let axis_rows = 1u16;
    let room = inner.height.saturating_sub(axis_rows);
    let fit = (room / 2).max(1) as usize;
    let charts = &shown[..shown.len().min(fit)];
    if charts.is_empty() {
        put(
            buf,
            inner,
            inner.x,
            inner.y,
            "nothing to chart: no operation completed and no message was sent",
            Style::default().fg(Color::DarkGray),
        );
        return;
    }
    let per = room / charts.len() as u16;
    let bar_rows = per.saturating_sub(1).clamp(1, 6);
    for (k, (chart, cols)) in charts.iter().enumerate() {
        let mut y = inner.y + k as u16 * per;
        let max = cols.iter().flatten().fold(0.0f64, |m, &v| m.max(v));
        let at = cols[cursor_x];
        let what = match chart.agg {
            Agg::Rate => "per second",
            Agg::Mean => "mean",
        };
        let title = format!(
            "{}  ({what}; max {}; at the cursor {})",
            chart.name,
            show(max, chart.unit),
            at.map_or("-".to_string(), |v| show(v, chart.unit))
        );
        let title = super::clip_line(ratatui::text::Line::raw(title), width);
        buf.set_line(inner.x, y, &title, inner.width);
        buf.set_style(
            Rect::new(inner.x, y, inner.width, 1),
            Style::default().add_modifier(Modifier::BOLD),
        );
        y += 1;
        let levels = bar_rows as f64 * 8.0;
        for (x, v) in cols.iter().enumerate() {
            let Some(v) = *v else { continue };
            let eighths = if max > 0.0 {
                (v / max * levels).round() as usize
            } else {
                0
            };
            // A value above zero shows at least a sliver.
            let eighths = if v > 0.0 { eighths.max(1) } else { 0 };
            let color = if x == cursor_x {
                Color::Yellow
            } else {
                Color::Cyan
            };
            for row in 0..bar_rows as usize {
                let fill = eighths.saturating_sub(row * 8).min(8);
                if fill == 0 {
                    break;
                }
                let cy = y + bar_rows - 1 - row as u16;
                put(
                    buf,
                    inner,
                    inner.x + x as u16,
                    cy,
                    BLOCKS[fill],
                    Style::default().fg(color),
                );
            }
        }
    }
    // The time axis, and where the cursor is on it.
    let axis_y = inner.bottom() - 1;
    let dim = Style::default().fg(Color::DarkGray);
    put(buf, inner, inner.x, axis_y, "0s", dim);
    let end_label = fmt_duration(end);
    put(
        buf,
        inner,
        inner.right().saturating_sub(end_label.len() as u16),
        axis_y,
        &end_label,
        dim,
    );
    let mark = format!("▲ {}", fmt_duration(cursor_t));
    let mx =
        (inner.x + cursor_x as u16).min(inner.right().saturating_sub(mark.chars().count() as u16));
    put(
        buf,
        inner,
        mx,
        axis_y,
        &mark,
        Style::default().fg(Color::Yellow),
    );
    if shown.len() > charts.len() {
        let more = format!(
            " {} more: a taller screen shows them ",
            shown.len() - charts.len()
        );
        put(
            buf,
            area,
            area.right().saturating_sub(more.chars().count() as u16 + 1),
            area.bottom() - 1,
            &more,
            Style::default().fg(Color::Yellow),
        );
    }
}
