//! The timeline bar: the whole run in one line. Partitions shade it, faults
//! are ▼, violations ✗, the cursor ┃. Each cell is a binary search, so the
//! cost is the bar's width, not the run's length.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use sim::time::{fmt_duration, Nanos};

use super::put;
use crate::tui::app::App;

pub fn draw(app: &App, buf: &mut Buffer, area: Rect) {
    let run = &app.run;
    let start_label = "0s ";
    let end_label = format!(" {}", fmt_duration(run.end_ns));
    let x0 = area.x + start_label.len() as u16;
    let w = area
        .width
        .saturating_sub(start_label.len() as u16 + end_label.len() as u16);
    put(
        buf,
        area,
        area.x,
        area.y,
        start_label,
        Style::default().fg(Color::DarkGray),
    );
    put(
        buf,
        area,
        x0 + w,
        area.y,
        &end_label,
        Style::default().fg(Color::DarkGray),
    );
    if w == 0 {
        return;
    }
    let end = run.end_ns.max(1);
    let t_of = |x: u16| -> Nanos { (end as u128 * x as u128 / w as u128) as Nanos };
    let has = |list: &[u32], lo: usize, hi: usize| {
        let k = list.partition_point(|&i| (i as usize) < lo);
        list.get(k).is_some_and(|&i| (i as usize) < hi)
    };
    let cursor_x =
        ((run.time_at(app.cursor) as u128 * w as u128) / end as u128).min(w as u128 - 1) as u16;
    for x in 0..w {
        let lo = run.index_at_time(t_of(x));
        let hi = run.index_at_time(t_of(x + 1));
        let cut = run.net_at(lo).any_cut;
        let bg = if cut {
            Color::Rgb(90, 20, 20)
        } else {
            Color::Reset
        };
        let (glyph, fg) = if x == cursor_x {
            ("┃", Color::Yellow)
        } else if has(&run.violations, lo, hi) {
            ("✗", Color::Magenta)
        } else if has(&run.faults, lo, hi) {
            ("▼", Color::Red)
        } else {
            ("─", Color::DarkGray)
        };
        put(
            buf,
            area,
            x0 + x,
            area.y,
            glyph,
            Style::default().fg(fg).bg(bg),
        );
    }
}
