//! The topology: the nodes as a graph, laid out side by side by partition.
//!
//! Nodes that can talk both ways end up in one group (petgraph's union-find
//! over the uncut links); each group gets its own slice of the panel, servers
//! on an ellipse and clients beneath them, so a client is shown on its side of
//! a partition. Links are the graph's edges, drawn in the colour of their state.

use petgraph::graph::UnGraph;
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

pub fn draw(app: &App, buf: &mut Buffer, area: Rect) {
    let block = panel("topology");
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height < 3 || inner.width < 8 {
        return;
    }
    let run = &app.run;
    let net = run.net_at(app.cursor);
    let servers = run.cluster.servers().len();
    let groups = groups(net);

    // Place each node: one slice of the width per group.
    let mut pos: Vec<(u16, u16)> = vec![(0, 0); net.n];
    let legend_h = u16::from(inner.height >= 10);
    let height = inner.height - legend_h;
    let slice_w = inner.width / groups.len().max(1) as u16;
    for (g, members) in groups.iter().enumerate() {
        let x0 = inner.x + g as u16 * slice_w;
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

    // The graph: every pair of nodes in one group that talk to each other
    // (server-server, and client-server), weighted by the link's state.
    let mut graph = UnGraph::<usize, LinkState>::new_undirected();
    let ix: Vec<_> = (0..net.n).map(|i| graph.add_node(i)).collect();
    for members in &groups {
        for (k, &a) in members.iter().enumerate() {
            for &b in &members[k + 1..] {
                if a < servers || b < servers {
                    graph.add_edge(ix[a], ix[b], pair_state(net, a, b));
                }
            }
        }
    }
    for e in graph.edge_indices() {
        let (a, b) = graph.edge_endpoints(e).expect("an edge has ends");
        let (a, b) = (graph[a], graph[b]);
        let state = graph[e];
        line(
            buf,
            inner,
            pos[a],
            pos[b],
            Style::default().fg(link_color(state)),
        );
    }

    // Partition dividers between group slices.
    for g in 1..groups.len() {
        let x = inner.x + g as u16 * slice_w;
        for y in inner.y..inner.y + height {
            put(buf, inner, x, y, "┃", Style::default().fg(Color::Red));
        }
    }

    // Node labels on top of the lines.
    for (i, &(x, y)) in pos.iter().enumerate() {
        let snap = run.node_at(i, app.cursor);
        let name = run.node_name(i);
        let (role, state, bad) = match snap {
            None => (String::new(), String::new(), false),
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
                (role, state.join(" "), bad)
            }
        };
        let mark = if app.marked.contains(&i) { "*" } else { "" };
        let label = if i >= servers || role.is_empty() {
            format!("{mark}{name}")
        } else {
            format!("{mark}{name} {role}")
        };
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
        let lx = x
            .saturating_sub(label.chars().count() as u16 / 2)
            .max(inner.x);
        put(buf, inner, lx, y, &label, style);
        if !state.is_empty() {
            let sx = x.saturating_sub(state.len() as u16 / 2).max(inner.x);
            put(
                buf,
                inner,
                sx,
                y + 1,
                &state,
                Style::default().fg(Color::Red),
            );
        }
    }
    if legend_h == 1 {
        let y = inner.bottom() - 1;
        let mut x = inner.x;
        for (text, c) in [
            ("healthy ", Color::DarkGray),
            ("slow ", Color::Magenta),
            ("clogged ", Color::Yellow),
            ("cut", Color::Red),
        ] {
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
