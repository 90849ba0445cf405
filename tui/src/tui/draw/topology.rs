//! The topology: the nodes as a graph, laid out side by side by partition.
//!
//! Nodes that can talk both ways end up in one group (petgraph's union-find
//! over the uncut links); each group gets its own slice of the panel, servers
//! on an ellipse and clients beneath them, so a client is shown on its side of
//! a partition. A link is drawn only when it says something: messages crossed
//! it lately, or it is slow, clogged or cut one way. Labels are placed where
//! no other label is, shortened (with `…`) when they do not all fit.

use petgraph::unionfind::UnionFind;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Widget;

use super::{clock_skew, panel, put};
use crate::tui::app::App;
use crate::tui::model::{LinkState, NetSnap};

fn link_color(s: LinkState) -> Color {
    match s {
        LinkState::Healthy => Color::DarkGray,
        LinkState::Slow => Color::Magenta,
        LinkState::Clogged => Color::Yellow,
        LinkState::Partitioned => Color::Red,
    }
}

/// The worse of a link's two directions.
fn pair_state(net: &NetSnap, a: usize, b: usize) -> LinkState {
    net.link(a, b).max(net.link(b, a))
}

/// Groups of nodes that can reach each other both ways, in node order.
pub fn groups(net: &NetSnap) -> Vec<Vec<usize>> {
    let n = net.n;
    let mut uf = UnionFind::<usize>::new(n);
    for a in 0..n {
        for b in a + 1..n {
            if net.connected(a, b) {
                uf.union(a, b);
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of_root: Vec<Option<usize>> = vec![None; n];
    for i in 0..n {
        let root = uf.find(i);
        let g = *group_of_root[root].get_or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    groups
}

/// Records before the cursor whose messages make a link "busy": drawn even
/// though nothing is wrong with it.
pub const RECENT: usize = 32;

/// What the topology panel draws, worked out before anything is drawn so
/// that a test can check it: where each node is, which links say something,
/// and where each label goes.
pub struct Layout {
    /// Each node's anchor cell.
    pub pos: Vec<(u16, u16)>,
    /// The links drawn: (a, b, look). Only links that say something: a
    /// message crossed them in the last [`RECENT`] records, or they are
    /// slow, clogged or cut one way. Links between partition groups are not
    /// drawn: the groups are drawn apart, a red `┃` between them.
    pub links: Vec<(usize, usize, Look)>,
    /// The x of each divider between groups.
    pub dividers: Vec<u16>,
    /// Every label, none overlapping another, each inside its group's part
    /// of the panel, with a blank cell between two labels on a row.
    pub labels: Vec<Label>,
    /// Nodes that got no label, and states (`CRASHED`, `clk+…`) that got no
    /// room: the panel is too small for them.
    pub hidden: usize,
    /// The legend's row, if the panel is tall enough for one.
    pub legend_y: Option<u16>,
}

/// How a link is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Look {
    /// Healthy, and messages crossed it lately.
    Busy,
    Bad(LinkState),
}

impl Look {
    fn color(self) -> Color {
        match self {
            Look::Busy => Color::Gray,
            Look::Bad(s) => link_color(s),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    /// The nodes it names: one, or a partition group's clients when there
    /// are too many to name one by one (`c1–c32 (32 clients)`).
    pub nodes: Vec<usize>,
    pub x: u16,
    pub y: u16,
    pub text: String,
    pub style: Style,
}

impl Label {
    pub fn rect(&self) -> Rect {
        Rect::new(self.x, self.y, text_width(&self.text), 1)
    }
}

fn text_width(text: &str) -> u16 {
    ratatui::text::Span::raw(text).width() as u16
}

/// Blank cells kept between two labels on a row.
pub const GAP: u16 = 2;

/// Cells taken by labels, to place each label where no other is.
struct Taken {
    area: Rect,
    cells: Vec<bool>,
}

impl Taken {
    fn new(area: Rect) -> Taken {
        Taken {
            area,
            cells: vec![false; area.width as usize * area.height as usize],
        }
    }

    fn cell(&self, x: u16, y: u16) -> usize {
        (y - self.area.y) as usize * self.area.width as usize + (x - self.area.x) as usize
    }

    /// Whether `w` cells at (x, y), and two cells either side of them, are
    /// free: two labels on a row are never read as one.
    fn free(&self, x: u16, y: u16, w: u16) -> bool {
        let lo = x.saturating_sub(GAP).max(self.area.x);
        let hi = (x + w + GAP).min(self.area.right());
        (lo..hi).all(|cx| !self.cells[self.cell(cx, y)])
    }

    fn take(&mut self, x: u16, y: u16, w: u16) {
        for cx in x..x + w {
            let c = self.cell(cx, y);
            self.cells[c] = true;
        }
    }
}

/// Where a label of `text` goes near `anchor`, inside `slice`, on one of
/// `rows` (offsets from the anchor's row, in order of preference), as near
/// the centre as it can: `None` if nowhere is free.
fn spot(
    taken: &Taken,
    slice: Rect,
    anchor: (u16, u16),
    text: &str,
    rows: &[i32],
    max_shift: i32,
) -> Option<(u16, u16)> {
    let w = text_width(text);
    if w == 0 || w > slice.width {
        return None;
    }
    let (ax, ay) = (anchor.0 as i32, anchor.1 as i32);
    let (lo, hi) = (slice.x as i32, (slice.right() - w) as i32);
    for &dy in rows {
        let y = ay + dy;
        if y < slice.y as i32 || y >= slice.bottom() as i32 {
            continue;
        }
        let centred = (ax - w as i32 / 2).clamp(lo, hi);
        for shift in 0..=max_shift.min(w as i32 + 2) {
            for x in [centred - shift, centred + shift] {
                if x < lo || x > hi {
                    continue;
                }
                if taken.free(x as u16, y as u16, w) {
                    return Some((x as u16, y as u16));
                }
            }
        }
    }
    None
}

/// A label and its shorter forms, longest first; a form that cuts a word
/// ends in `…`.
fn forms(name: &str, mark: &str, role: &str) -> Vec<String> {
    let mut out = Vec::new();
    if !role.is_empty() {
        out.push(format!("{mark}{name} {role}"));
        for keep in [4, 1] {
            if role.chars().count() > keep + 1 {
                let short: String = role.chars().take(keep).collect();
                out.push(format!("{mark}{name} {short}…"));
            }
        }
    }
    out.push(format!("{mark}{name}"));
    out
}

/// A label to place: the nodes it names, near which cell, inside which
/// part of the panel, its forms (longest first), its state line's forms.
struct Want {
    nodes: Vec<usize>,
    anchor: (u16, u16),
    slice: Rect,
    forms: Vec<String>,
    state: Vec<String>,
    style: Style,
}

/// Places every wanted label where no other is. When not all fit, every
/// label is shortened one step and all are placed again, down to the
/// shortest forms; the placing that leaves the fewest nodes unlabelled is
/// kept, with that count.
fn place(wants: &[Want], taken: impl Fn() -> Taken) -> (Vec<Label>, usize) {
    let most = wants.iter().map(|w| w.forms.len()).max().unwrap_or(1);
    let mut best: Option<(Vec<Label>, usize)> = None;
    for level in 0..most {
        let mut taken = taken();
        let mut labels = Vec::new();
        let mut hidden = 0;
        let mut states = Vec::new();
        for w in wants {
            let text = &w.forms[level.min(w.forms.len() - 1)];
            match spot(&taken, w.slice, w.anchor, text, &[0, 1, -1], i32::MAX) {
                Some((x, y)) => {
                    taken.take(x, y, text_width(text));
                    labels.push(Label {
                        nodes: w.nodes.clone(),
                        x,
                        y,
                        text: text.clone(),
                        style: w.style,
                    });
                    states.push((w, (x + text_width(text) / 2, y), text_width(text)));
                }
                None => hidden += w.nodes.len(),
            }
        }
        // States under (or over) the labels placed, overlapping their
        // columns; a state with no room counts as unlabelled, so that
        // shorter labels are tried.
        for (w, at, label_w) in states {
            let mut placed = w.state.is_empty();
            for text in &w.state {
                let reach = (label_w as i32 + text_width(text) as i32) / 2 - 1;
                if let Some((x, y)) = spot(&taken, w.slice, at, text, &[1, -1], reach.max(0)) {
                    taken.take(x, y, text_width(text));
                    labels.push(Label {
                        nodes: w.nodes.clone(),
                        x,
                        y,
                        text: text.clone(),
                        style: Style::default().fg(Color::Red),
                    });
                    placed = true;
                    break;
                }
            }
            if !placed {
                hidden += 1;
            }
        }
        let done = hidden == 0;
        if best.as_ref().is_none_or(|(_, h)| hidden < *h) {
            best = Some((labels, hidden));
        }
        if done {
            break;
        }
    }
    best.unwrap_or_default()
}

pub fn layout(app: &App, inner: Rect) -> Layout {
    let run = &app.run;
    let net = run.net_at(app.cursor);
    let servers = run.cluster.servers().len();
    let groups = groups(net);

    // Place each node: one slice of the width per group.
    let mut pos: Vec<(u16, u16)> = vec![(0, 0); net.n];
    let legend_h = u16::from(inner.height >= 10);
    let height = inner.height - legend_h;
    let slice_w = inner.width / groups.len().max(1) as u16;
    let mut slices: Vec<Rect> = Vec::new();
    for (g, members) in groups.iter().enumerate() {
        let x0 = inner.x + g as u16 * slice_w;
        // Labels stay off the divider at the slice's left.
        let skip = u16::from(g > 0);
        slices.push(Rect::new(
            x0 + skip,
            inner.y,
            slice_w.saturating_sub(skip),
            height,
        ));
        let srv: Vec<usize> = members.iter().copied().filter(|&i| i < servers).collect();
        let cli: Vec<usize> = members.iter().copied().filter(|&i| i >= servers).collect();
        let client_rows = if cli.is_empty() { 0 } else { 2 };
        let server_h = height.saturating_sub(client_rows).max(1);
        let cx = x0 as f64 + slice_w as f64 / 2.0;
        let cy = inner.y as f64 + server_h as f64 / 2.0;
        let rx = (slice_w as f64 / 2.0 - 5.0).max(0.0);
        let ry = (server_h as f64 / 2.0 - 1.0).max(0.0);
        for (k, &i) in srv.iter().enumerate() {
            let (x, y) = if srv.len() == 1 {
                (cx, cy)
            } else {
                let a = -std::f64::consts::FRAC_PI_2
                    + k as f64 * std::f64::consts::TAU / srv.len() as f64;
                (cx + rx * a.cos(), cy + ry * a.sin())
            };
            pos[i] = (x.round() as u16, y.round() as u16);
        }
        let per_row = (slice_w / 5).max(1) as usize;
        for (k, &i) in cli.iter().enumerate() {
            let row = (k / per_row) as u16;
            let in_row = cli.len().min(per_row) as u16;
            let step = slice_w / (in_row + 1);
            let x = x0 + step * ((k % per_row) as u16 + 1);
            let y = inner.y + server_h + row.min(client_rows.saturating_sub(1));
            pos[i] = (x, y.min(inner.bottom() - 1 - legend_h));
        }
    }

    // Links that say something: recent traffic, or a link that is not well.
    let mut busy = vec![false; net.n * net.n];
    for i in (app.cursor + 1).saturating_sub(RECENT)..=app.cursor {
        if let Some((_, from, to, _)) = run.trace.message(i) {
            if let (Some(a), Some(b)) = (run.cluster.by_name(from), run.cluster.by_name(to)) {
                let (a, b) = (a.index(), b.index());
                if a < net.n && b < net.n {
                    busy[a * net.n + b] = true;
                    busy[b * net.n + a] = true;
                }
            }
        }
    }
    let mut links = Vec::new();
    for members in &groups {
        for (k, &a) in members.iter().enumerate() {
            for &b in &members[k + 1..] {
                if a >= servers && b >= servers {
                    continue;
                }
                let state = pair_state(net, a, b);
                if state != LinkState::Healthy {
                    links.push((a, b, Look::Bad(state)));
                } else if busy[a * net.n + b] {
                    links.push((a, b, Look::Busy));
                }
            }
        }
    }
    let dividers = (1..groups.len())
        .map(|g| inner.x + g as u16 * slice_w)
        .collect();

    // Labels: each node's name (and role), then under it its state if it
    // is not well, each where no other label is (see `place`).
    let group_of = |i: usize| groups.iter().position(|g| g.contains(&i)).unwrap_or(0);
    let mut order: Vec<usize> = (0..net.n).collect();
    order.sort_by_key(|&i| (i != app.selected, i >= servers, i));
    let wants: Vec<Want> = order
        .iter()
        .map(|&i| {
            let snap = run.node_at(i, app.cursor);
            let name = run.node_name(i);
            let (role, state, bad) = match snap {
                None => (String::new(), Vec::new(), false),
                Some(s) => {
                    let role = s
                        .status
                        .as_ref()
                        .map(|st| st.role.to_string())
                        .unwrap_or_default();
                    let mut state = Vec::new();
                    if s.status.is_none() {
                        state.push("CRASHED".to_string());
                    }
                    if s.paused {
                        state.push("paused".to_string());
                    }
                    if let Some((offset, drift)) = clock_skew(&s.clock, run.time_at(app.cursor)) {
                        state.push(format!("clk{offset}"));
                        if drift != 0.0 {
                            state.push(format!("drift{drift:+}"));
                        }
                    }
                    let bad = s.status.is_none() || s.paused;
                    (role, state, bad)
                }
            };
            let mark = if app.marked.contains(&i) { "*" } else { "" };
            let role = if i >= servers { "" } else { role.as_str() };
            let mut style = if bad {
                Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
            } else if i >= servers {
                Style::default().fg(Color::Blue)
            } else {
                Style::default()
                    .fg(Color::White)
                    .add_modifier(Modifier::BOLD)
            };
            if app.marked.contains(&i) {
                style = style.fg(Color::Yellow);
            }
            if i == app.selected {
                style = style.add_modifier(Modifier::REVERSED);
            }
            let mut state_forms = Vec::new();
            if !state.is_empty() {
                state_forms.push(state.join(" "));
                if state.len() > 1 {
                    state_forms.push(format!("{}…", state[0]));
                }
                if state[0].chars().count() > 4 {
                    let short: String = state[0].chars().take(3).collect();
                    state_forms.push(format!("{short}…"));
                }
            }
            Want {
                nodes: vec![i],
                anchor: pos[i],
                slice: slices[group_of(i)],
                forms: forms(name, mark, role),
                state: state_forms,
                style,
            }
        })
        .collect();
    let taken = || Taken::new(Rect::new(inner.x, inner.y, inner.width, height));
    let (mut labels, mut hidden) = place(&wants, taken);
    if hidden > 0 {
        // Too many to name one by one: each group's clients get one label,
        // at the middle of their rows, and their links go there.
        let mut fewer: Vec<Want> = wants.into_iter().filter(|w| w.nodes[0] < servers).collect();
        let mut moved = pos.clone();
        for (g, members) in groups.iter().enumerate() {
            let cli: Vec<usize> = members.iter().copied().filter(|&i| i >= servers).collect();
            let (Some(&first), Some(&last)) = (cli.first(), cli.last()) else {
                continue;
            };
            let y = cli.iter().map(|&i| pos[i].1).min().unwrap_or(inner.y);
            let slice = slices[g];
            let anchor = (slice.x + slice.width / 2, y);
            for &i in &cli {
                moved[i] = anchor;
            }
            let (a, b) = (run.node_name(first), run.node_name(last));
            let k = cli.len();
            let mut style = Style::default().fg(Color::Blue);
            if cli.contains(&app.selected) {
                style = style.add_modifier(Modifier::REVERSED);
            }
            fewer.push(Want {
                nodes: cli,
                anchor,
                slice,
                // A range only when it names exactly these clients.
                forms: if last - first + 1 == k {
                    vec![
                        format!("{a}–{b} ({k} clients)"),
                        format!("{a}–{b}"),
                        format!("{k} clients"),
                        format!("{k}c"),
                    ]
                } else {
                    vec![format!("{k} clients"), format!("{k}c")]
                },
                state: Vec::new(),
                style,
            });
        }
        let (grouped, grouped_hidden) = place(&fewer, taken);
        if grouped_hidden < hidden {
            labels = grouped;
            hidden = grouped_hidden;
            pos = moved;
        }
    }
    Layout {
        pos,
        links,
        dividers,
        labels,
        hidden,
        legend_y: (legend_h == 1).then(|| inner.bottom() - 1),
    }
}

pub fn draw(app: &App, buf: &mut Buffer, area: Rect) {
    let block = panel("topology");
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height < 3 || inner.width < 8 {
        return;
    }
    let l = layout(app, inner);
    for &(a, b, look) in &l.links {
        line(
            buf,
            inner,
            l.pos[a],
            l.pos[b],
            Style::default().fg(look.color()),
        );
    }
    let rows = inner.height - u16::from(l.legend_y.is_some());
    for &x in &l.dividers {
        for y in inner.y..inner.y + rows {
            put(buf, inner, x, y, "┃", Style::default().fg(Color::Red));
        }
    }
    // Labels on top of the lines.
    for label in &l.labels {
        put(buf, inner, label.x, label.y, &label.text, label.style);
    }
    if let Some(y) = l.legend_y {
        // The longest legend that fits; a count of the nodes left unlabelled.
        let hidden = (l.hidden > 0).then(|| format!(" {} hidden", l.hidden));
        let long: &[(&str, Color)] = &[
            ("busy ", Color::Gray),
            ("slow ", Color::Magenta),
            ("clogged ", Color::Yellow),
            ("cut", Color::Red),
        ];
        let short: &[(&str, Color)] = &[
            ("busy ", Color::Gray),
            ("slow ", Color::Magenta),
            ("clog ", Color::Yellow),
            ("cut", Color::Red),
        ];
        let width = |set: &[(&str, Color)]| {
            set.iter().map(|(t, _)| 1 + t.len()).sum::<usize>()
                + hidden.as_ref().map_or(0, String::len)
        };
        let set = [long, short]
            .into_iter()
            .find(|set| width(set) <= inner.width as usize);
        let mut x = inner.x;
        for &(text, c) in set.unwrap_or_default() {
            put(buf, inner, x, y, "━", Style::default().fg(c));
            put(
                buf,
                inner,
                x + 1,
                y,
                text,
                Style::default().fg(Color::DarkGray),
            );
            x += 1 + text.len() as u16;
        }
        if let Some(h) = hidden {
            put(buf, inner, x, y, &h, Style::default().fg(Color::Red));
        }
    }
}

/// A straight line between two points (Bresenham), ends excluded.
fn line(buf: &mut Buffer, clip: Rect, a: (u16, u16), b: (u16, u16), style: Style) {
    let (x0, y0) = (a.0 as i32, a.1 as i32);
    let (x1, y1) = (b.0 as i32, b.1 as i32);
    let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
    // Cells are about twice as tall as wide: a line is drawn flat when it
    // runs four times wider than tall, upright when it is taller than wide.
    let glyph = if dx >= -dy * 4 {
        "─"
    } else if dx <= -dy {
        "│"
    } else if (x1 - x0).signum() == (y1 - y0).signum() {
        "╲"
    } else {
        "╱"
    };
    let (sx, sy) = ((x1 - x0).signum(), (y1 - y0).signum());
    let (mut x, mut y, mut err) = (x0, y0, dx + dy);
    // Every loop is bounded: at most the line's length in cells.
    for _ in 0..=(dx - dy) {
        if (x, y) != (x0, y0) && (x, y) != (x1, y1) && x >= 0 && y >= 0 {
            put(buf, clip, x as u16, y as u16, glyph, style);
        }
        if x == x1 && y == y1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
    }
}
