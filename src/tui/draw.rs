//! Draws the view's state on a ratatui frame: the list, a ladder (with the selected arrow's
//! message beside it on a wide terminal), a message, the help. Pure: it reads [`App`] and
//! writes cells, so screens are tested on a `TestBackend`.
//!
//! ```text
//!  cwmpscope · capture.pcap · done
//!  transactions 2: 1 success, 1 failed, 0 incomplete · sessions 3 · findings E 1 W 2 I 3 · rows 2
//!
//!  start     CPE            product    kind                  CommandKey  steps outcome    E W I
//!  10:37:34  CP0923JT0XX    TG784n     configuration-update  cfg-1.1.1   21/21 success    0 0 2
//!  …
//!  Enter ladder  ↑↓ move  a sessions  p pause  ? help  q quit
//! ```

use super::message::{self, View};
use super::state::{App, FindingLine, PromptKind, ReadProgress, Screen, Target, Verdict};
use crate::catalogue::Severity;
use crate::output::ladder::{self, Ladder, Shape};
use crate::output::summary;
use crate::report::FindingReport;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

/// Colours, or none (`NO_COLOR`).
#[derive(Clone, Copy, Debug)]
pub struct Palette {
    pub color: bool,
}

impl Palette {
    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }
    fn severity(self, s: Severity) -> Style {
        match s {
            Severity::Error => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Severity::Warning => self.fg(Color::Yellow),
            Severity::Info => self.fg(Color::Cyan),
        }
    }
    fn verdict(self, v: Verdict) -> Style {
        match v {
            Verdict::Success | Verdict::Ended => self.fg(Color::Green),
            Verdict::Failed | Verdict::Broken => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Verdict::Incomplete => self.fg(Color::Yellow),
            Verdict::InProgress => self.fg(Color::Blue).add_modifier(Modifier::BOLD),
        }
    }
    fn bar(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
}

/// Draws the screen on top of the stack.
pub fn draw(frame: &mut Frame<'_>, app: &mut App, palette: Palette) {
    let area = frame.area();
    let [body, keys] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    match app.screen() {
        Screen::List => list(frame, body, app, palette),
        Screen::Ladder {
            target,
            selected,
            top,
        } => {
            app.page = usize::from(body.height.saturating_sub(3)).max(1);
            if body.width >= PREVIEW_WIDTH {
                let [left, line, right] = Layout::horizontal([
                    Constraint::Percentage(55),
                    Constraint::Length(2),
                    Constraint::Min(0),
                ])
                .areas(body);
                ladder_screen(frame, left, app, target, selected, top, palette);
                let bar = vec![Line::raw(" │"); usize::from(line.height)];
                frame.render_widget(Paragraph::new(bar), line);
                preview(frame, right, app, target, selected, palette);
            } else {
                ladder_screen(frame, body, app, target, selected, top, palette)
            }
        }
        Screen::Message {
            session,
            message,
            top,
            raw,
        } => {
            app.page = usize::from(body.height.saturating_sub(1)).max(1);
            message_view(frame, body, app, (session, message), top, raw, palette);
        }
        Screen::Help { top } => {
            list(frame, body, app, palette);
            help(frame, body, top);
        }
        Screen::Findings {
            selected,
            top,
            open,
        } => {
            app.page = usize::from(body.height.saturating_sub(3)).max(1);
            findings_screen(frame, body, app, selected, top, open, palette);
        }
        Screen::Stats { top } => {
            app.page = usize::from(body.height.saturating_sub(1)).max(1);
            stats_screen(frame, body, app, top, palette);
        }
    }
    let bar = match app.screen() {
        Screen::List => "Enter ladder  ↑↓ PgUp PgDn move  a sessions  p pause  ? help  q quit",
        Screen::Ladder { .. } => "Enter message  Esc back  ↑↓ PgUp PgDn move  ? help  q quit",
        Screen::Message { raw: false, .. } => {
            "Esc back  ↑↓ PgUp PgDn scroll  r raw bytes  ? help  q quit"
        }
        Screen::Message { raw: true, .. } => {
            "Esc back  ↑↓ PgUp PgDn scroll  r layout  ? help  q quit"
        }
        Screen::Help { .. } => "Esc back  ↑↓ scroll  q quit",
        Screen::Findings { .. } => {
            "Enter occurrences / ladder  Esc back  ↑↓ PgUp PgDn move  ? help  q quit"
        }
        Screen::Stats { .. } => "Esc back  ↑↓ PgUp PgDn scroll  ? help  q quit",
    };
    let bar = if let Some(p) = &app.prompt {
        let hint = match p.kind {
            PromptKind::Search => "  (Enter keep, Esc clear)",
            PromptKind::Filter => {
                "  (cpe= outcome= kind= code= severity=; Enter apply, Esc cancel)"
            }
            PromptKind::Save(_) => "  (Enter write, Esc cancel)",
        };
        let error = app
            .status
            .as_deref()
            .map(|s| format!("  {s}"))
            .unwrap_or_default();
        format!("{}: {}█{hint}{error}", p.label(), p.text)
    } else if let Some(status) = &app.status {
        status.clone()
    } else {
        bar.to_owned()
    };
    frame.render_widget(Paragraph::new(Line::styled(bar, palette.bar())), keys);
}

fn findings_screen(
    frame: &mut Frame<'_>,
    area: Rect,
    app: &App,
    selected: usize,
    top: usize,
    open: Option<&'static str>,
    palette: Palette,
) {
    let groups = app.finding_groups();
    let total: usize = groups.iter().map(|g| g.occurrences.len()).sum();
    let code_width = groups
        .iter()
        .map(|g| g.code.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut lines = vec![
        Line::styled(
            format!(
                " findings · {total} in {} codes · {}",
                groups.len(),
                app.source
            ),
            palette.bar(),
        ),
        Line::raw(""),
        Line::styled(
            format!(
                "  {:>5}  {:<8} {:<code_width$}  meaning",
                "count", "severity", "code"
            ),
            Style::new().add_modifier(Modifier::BOLD),
        ),
    ];
    let room = usize::from(area.height).saturating_sub(lines.len());
    let all = app.finding_lines(open);
    for (index, l) in all.iter().enumerate().skip(top).take(room) {
        let mut line = match *l {
            FindingLine::Group(gi) => {
                let g = &groups[gi];
                let mark = if open == Some(g.code) { "▾" } else { "▸" };
                Line::from(vec![
                    Span::raw(format!("{mark} {:>5}  ", g.occurrences.len())),
                    Span::styled(
                        format!("{:<8}", g.severity.as_str()),
                        palette.severity(g.severity),
                    ),
                    Span::raw(format!(" {:<code_width$}  {}", g.code, g.meaning)),
                ])
            }
            FindingLine::Occurrence(gi, oi) => {
                let o = &groups[gi].occurrences[oi];
                Line::from(vec![
                    Span::raw(format!("           {:<8} ", o.owner_id)),
                    Span::styled(
                        format!("{:<8}", o.severity.as_str()),
                        palette.severity(o.severity),
                    ),
                    Span::raw(format!(" {}", o.message)),
                ])
            }
        };
        if index == selected {
            line = line.style(palette.selected());
        }
        lines.push(line);
    }
    if all.is_empty() {
        lines.push(Line::raw(" no findings"));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// Seconds, as milliseconds below one second.
fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

/// The lines of the statistics screen.
pub fn stats_lines(app: &App, palette: Palette) -> Vec<Line<'static>> {
    let st = app.stats();
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut lines = vec![Line::styled("outcomes", bold)];
    let rate = if st.transactions == 0 {
        "-".to_owned()
    } else {
        format!("{:.1}%", st.success as f64 * 100.0 / st.transactions as f64)
    };
    lines.push(Line::from(vec![
        Span::raw(format!("  transactions {}: ", st.transactions)),
        Span::styled(
            format!("{} success", st.success),
            palette.verdict(Verdict::Success),
        ),
        Span::raw(", "),
        Span::styled(
            format!("{} failed", st.failed),
            palette.verdict(Verdict::Failed),
        ),
        Span::raw(", "),
        Span::styled(
            format!("{} incomplete", st.incomplete),
            palette.verdict(Verdict::Incomplete),
        ),
        Span::raw(format!(" · success rate {rate}")),
    ]));
    let ends: Vec<String> = st
        .sessions
        .iter()
        .map(|(t, n)| format!("{n} {t}"))
        .collect();
    lines.push(Line::raw(format!(
        "  sessions {}: {}",
        app.sessions.len(),
        if ends.is_empty() {
            "-".to_owned()
        } else {
            ends.join(", ")
        }
    )));
    lines.push(Line::raw(""));
    lines.push(Line::styled("faults by code", bold));
    if st.faults.is_empty() {
        lines.push(Line::raw("  none"));
    }
    for (code, meaning, n) in &st.faults {
        let code = code.map_or_else(|| "-".to_owned(), |c| c.to_string());
        lines.push(Line::from(vec![
            Span::raw(format!("  {n:>5}  ")),
            Span::styled(format!("{code:<5}"), palette.verdict(Verdict::Failed)),
            Span::raw(format!("  {meaning}")),
        ]));
    }
    lines.push(Line::raw(""));
    let mut table = Vec::new();
    let _ = summary::write_campaign(&mut table, &st.campaign);
    for (i, l) in String::from_utf8_lossy(&table).lines().enumerate() {
        lines.push(if i == 0 {
            Line::styled(l.to_owned(), bold)
        } else {
            Line::raw(l.to_owned())
        });
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(
            "{:<32}  {:>5}  {:>9}  {:>9}  {:>9}  {:>9}",
            "response latency", "count", "p50", "p90", "p99", "max"
        ),
        bold,
    ));
    for l in &st.latencies {
        lines.push(Line::raw(if l.count == 0 {
            format!("  {:<30}  {:>5}  {:>9}", l.what, 0, "-")
        } else {
            format!(
                "  {:<30}  {:>5}  {:>9}  {:>9}  {:>9}  {:>9}",
                l.what,
                l.count,
                seconds(l.p50),
                seconds(l.p90),
                seconds(l.p99),
                seconds(l.max)
            )
        }));
    }
    lines.push(Line::raw(""));
    let per = if st.minutes_per_bucket == 1 {
        "minute".to_owned()
    } else {
        format!("{} minutes", st.minutes_per_bucket)
    };
    lines.push(Line::styled(format!("sessions per {per}"), bold));
    let max = st.per_minute.iter().copied().max().unwrap_or(0).max(1);
    let start = {
        let hm = |a: usize, b: usize| st.first_minute.get(a..b)?.parse::<u64>().ok();
        hm(0, 2).zip(hm(3, 5)).map(|(h, m)| h * 60 + m)
    };
    for (i, n) in st.per_minute.iter().enumerate() {
        let label = start.map_or_else(
            || format!("+{}m", i as u64 * st.minutes_per_bucket),
            |s| {
                let m = (s + i as u64 * st.minutes_per_bucket) % 1440;
                format!("{:02}:{:02}", m / 60, m % 60)
            },
        );
        let width = ((*n as f64 / max as f64) * 40.0).ceil() as usize;
        lines.push(Line::from(vec![
            Span::raw(format!("  {label}  ")),
            Span::styled("█".repeat(width), palette.fg(Color::Cyan)),
            Span::raw(format!(" {n}")),
        ]));
    }
    if st.per_minute.is_empty() {
        lines.push(Line::raw("  no sessions"));
    }
    lines
}

fn stats_screen(frame: &mut Frame<'_>, area: Rect, app: &App, top: usize, palette: Palette) {
    let mut lines = vec![Line::styled(
        format!(" statistics · {}", app.source),
        palette.bar(),
    )];
    lines.extend(stats_lines(app, palette).into_iter().skip(top));
    frame.render_widget(Paragraph::new(lines), area);
}

/// `1.2 GB`, `340 MB`, `12 kB` (powers of 1000, as rates are read).
fn bytes_text(n: f64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 || value >= 100.0 {
        format!("{value:.0} {}", units[unit])
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

/// `9 s`, `4 min 10 s`, `2 h 05 min`.
fn duration_text(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

/// The reading's bar and figures: `[████░░░░░░] 42% 1.2 GB of 2.9 GB · 180 MB/s · 9 s left`.
pub fn progress_text(p: &ReadProgress) -> String {
    const WIDTH: usize = 10;
    let filled = usize::from(p.percent()) * WIDTH / 100;
    let mut text = format!(
        "[{}{}] {}% {} of {}",
        "█".repeat(filled),
        "░".repeat(WIDTH - filled),
        p.percent(),
        bytes_text(p.read as f64),
        bytes_text(p.total as f64)
    );
    if p.rate > 0.0 {
        text.push_str(&format!(" · {}/s", bytes_text(p.rate)));
    }
    if let Some(left) = p.seconds_left() {
        text.push_str(&format!(" · {} left", duration_text(left)));
    }
    text
}

fn header_lines(app: &App) -> [String; 2] {
    let t = app.totals;
    let state = if let Some(e) = &app.error {
        format!("stopped: {e}")
    } else if app.paused {
        "paused".to_owned()
    } else if app.done.is_some() {
        "done".to_owned()
    } else if let Some(p) = &app.progress {
        format!("reading {}", progress_text(p))
    } else {
        "reading…".to_owned()
    };
    let packets = app
        .done
        .as_ref()
        .map(|(c, _)| format!(" · {} packets, {}", c.packets, bytes_text(c.bytes as f64)))
        .unwrap_or_default();
    // The order, unless it is the usual one (the sort column may be one too wide to show).
    let sorted = if app.sort.column != 0 || app.sort.reverse {
        let name = COLUMNS.get(app.sort.column).map_or("", |c| c.title);
        format!(
            " · sorted by {name} {}",
            if app.sort.reverse { '▼' } else { '▲' }
        )
    } else {
        String::new()
    };
    // The search and the filter first: a long source name is cut at the right.
    let mut first = " cwmpscope".to_owned();
    if !app.search.is_empty() {
        first.push_str(&format!(" · search: {}", app.search));
    }
    if !app.filter_text.is_empty() {
        first.push_str(&format!(" · filter: {}", app.filter_text));
    }
    first.push_str(&sorted);
    first.push_str(&format!(" · {} · {state}", app.source));
    if !app.input.is_empty() {
        first.push_str(&format!(" · {}", app.input));
    }
    let open = if app.open.is_empty() || app.done.is_some() {
        String::new()
    } else {
        format!(" ({} in progress)", app.targets_open())
    };
    let mut released = if app.released > 0 {
        format!(" · {} oldest rows released", app.released)
    } else {
        String::new()
    };
    // Resource limits reached, once the analysis is done (see `--limit help`).
    if let Some((capture, _)) = &app.done
        && !capture.limits_hit.0.is_empty()
    {
        let reached: Vec<String> = capture
            .limits_hit
            .0
            .iter()
            .map(|(name, n)| format!("{name} ×{n}"))
            .collect();
        released.push_str(&format!(" · limits reached: {}", reached.join(", ")));
    }
    let second = format!(
        " transactions {}: {} success, {} failed, {} incomplete · sessions {}{open}{packets} · findings E {} W {} I {} · rows {}{}{released}",
        app.transactions.len(),
        t.success,
        t.failed,
        t.incomplete,
        app.sessions.len(),
        t.errors,
        t.warnings,
        t.infos,
        app.targets().len(),
        if app.show_sessions {
            ""
        } else {
            " (transactions only)"
        }
    );
    [first, second]
}

/// A column of the list: title, width, and whether it goes first when space runs out.
struct Column {
    title: &'static str,
    width: usize,
    optional: bool,
}

const COLUMNS: [Column; 9] = [
    Column {
        title: "start",
        width: 8,
        optional: false,
    },
    Column {
        title: "CPE",
        width: 16,
        optional: false,
    },
    Column {
        title: "product",
        width: 12,
        optional: true,
    },
    Column {
        title: "kind",
        width: 21,
        optional: false,
    },
    Column {
        title: "CommandKey",
        width: 24,
        optional: true,
    },
    Column {
        title: "steps",
        width: 5,
        optional: false,
    },
    Column {
        title: "outcome",
        width: 12,
        optional: false,
    },
    Column {
        title: "E W I",
        width: 8,
        optional: false,
    },
    Column {
        title: "",
        width: 0,
        optional: false,
    },
];

/// Which columns fit `width`: optional ones go first when space runs out.
fn columns_for(width: usize) -> Vec<usize> {
    let all: Vec<usize> = (0..COLUMNS.len() - 1).collect();
    let need = |cols: &[usize]| cols.iter().map(|&c| COLUMNS[c].width + 2).sum::<usize>();
    if need(&all) <= width {
        return all;
    }
    all.into_iter().filter(|&c| !COLUMNS[c].optional).collect()
}

fn cell(text: &str, width: usize) -> String {
    let cut = ladder::truncate(text, width);
    format!("{cut:<width$}  ")
}

fn list(frame: &mut Frame<'_>, area: Rect, app: &mut App, palette: Palette) {
    let [head, _, titles, body] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(area);
    let [first, second] = header_lines(app);
    frame.render_widget(
        Paragraph::new(vec![Line::styled(first, palette.bar()), Line::raw(second)]),
        head,
    );
    let cols = columns_for(usize::from(area.width));
    let title: String = cols
        .iter()
        .map(|&c| {
            let mut name = COLUMNS[c].title.to_owned();
            if c == app.sort.column {
                name.push(if app.sort.reverse { '▼' } else { '▲' });
            }
            cell(&name, COLUMNS[c].width)
        })
        .collect();
    frame.render_widget(
        Paragraph::new(Line::styled(
            format!(" {title}"),
            Style::new().add_modifier(Modifier::BOLD),
        )),
        titles,
    );
    app.page = usize::from(body.height).max(1);
    let shown = app.targets();
    let mut lines = Vec::new();
    for (index, target) in shown.iter().enumerate().skip(app.top).take(app.page) {
        let Some(row) = app.cell(*target) else {
            continue;
        };
        let mut spans = vec![Span::raw(" ")];
        for &c in &cols {
            let w = COLUMNS[c].width;
            let (text, style) = match c {
                0 => (row.start.clone(), Style::new()),
                1 => (row.cpe.clone(), Style::new()),
                2 => (row.product_class.clone(), Style::new()),
                3 => (row.kind.clone(), Style::new()),
                4 => (row.command_key.clone(), Style::new()),
                5 => (format!("{:>5}", row.steps), Style::new()),
                6 => (row.outcome.clone(), palette.verdict(row.verdict)),
                _ => (
                    format!("{} {} {}", row.errors, row.warnings, row.infos),
                    if row.errors > 0 {
                        palette.severity(Severity::Error)
                    } else if row.warnings > 0 {
                        palette.severity(Severity::Warning)
                    } else {
                        Style::new()
                    },
                ),
            };
            spans.push(Span::styled(cell(&text, w), style));
        }
        let mut line = Line::from(spans);
        if index == app.selected {
            line = line.style(palette.selected());
        }
        lines.push(line);
    }
    if shown.is_empty() {
        lines.push(Line::raw(
            if !app.search.is_empty() || !app.filter.is_empty() {
                " no row matches the search and the filter"
            } else if app.done.is_some() {
                " no CWMP session or transaction in this capture"
            } else {
                " waiting for the first session…"
            },
        ));
    }
    frame.render_widget(Paragraph::new(lines), body);
}

fn finding_line(f: &FindingReport, palette: Palette) -> Line<'static> {
    let frames: Vec<String> = f.frames.iter().map(|x| x.to_string()).collect();
    let at = if frames.is_empty() {
        String::new()
    } else {
        format!(" (frame {})", frames.join(", "))
    };
    Line::from(vec![
        Span::raw("         "),
        Span::styled(f.severity.as_str().to_owned(), palette.severity(f.severity)),
        Span::raw(format!(" {}: {}{at}", f.code, f.message)),
    ])
}

/// The lifeline titles above the rows, each padded to the next lifeline.
fn heads(ladder: &Ladder<'_>) -> String {
    let mut heads = String::new();
    for (i, l) in ladder.lifelines.iter().enumerate() {
        match ladder.lifelines.get(i + 1) {
            // A title longer than its lane is cut, a space before the next one.
            Some(next) => {
                let w = next.x.saturating_sub(l.x);
                let title = ladder::truncate(&l.title, w.saturating_sub(1));
                heads.push_str(&format!("{title:<w$}"));
            }
            None => heads.push_str(&l.title),
        }
    }
    heads
}

fn ladder_screen(
    frame: &mut Frame<'_>,
    area: Rect,
    app: &App,
    target: Target,
    selected: usize,
    top: usize,
    palette: Palette,
) {
    // The step and time columns before the lanes, the frames after them (as wide as the
    // longest frame label needs, within reason: labels name the file when there are several).
    let frames_width = app
        .ladder(target, usize::MAX)
        .and_then(|(_, l)| {
            l.rows
                .iter()
                .filter_map(|r| match &r.shape {
                    Shape::Arrow { frames, .. } => Some(frames.chars().count() + 4),
                    _ => None,
                })
                .max()
        })
        .unwrap_or(14)
        .clamp(14, usize::from(area.width) / 3);
    let lanes = usize::from(area.width).saturating_sub(18 + frames_width);
    let Some((title, ladder)) = app.ladder(target, lanes) else {
        return;
    };
    let with_steps = matches!(target, Target::Transaction(_));
    let mut lines = vec![
        Line::styled(format!(" {title}"), palette.bar()),
        Line::raw(""),
        Line::styled(
            format!("  {:>4} {:>8}   {}", "step", "+s", heads(&ladder)),
            Style::new().add_modifier(Modifier::BOLD),
        ),
    ];
    let room = usize::from(area.height).saturating_sub(lines.len());
    let mut used = 0;
    for (index, row) in ladder.rows.iter().enumerate().skip(top) {
        if used >= room {
            break;
        }
        let text = if with_steps {
            ladder::row_line(&ladder, row, true)
        } else {
            // Sessions have no step column: keep the columns where transactions have them.
            format!("     {}", ladder::row_line(&ladder, row, false))
        };
        let mut line = Line::raw(text);
        if index == selected {
            line = line.style(palette.selected());
        }
        lines.push(line);
        used += 1;
        for f in &row.findings {
            if used >= room {
                break;
            }
            lines.push(finding_line(f, palette));
            used += 1;
        }
    }
    if top + used >= ladder.rows.len() {
        for f in &ladder.trailing {
            lines.push(finding_line(f, palette));
        }
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// From this width on, the ladder screen shows the selected arrow's message on its right.
pub const PREVIEW_WIDTH: u16 = 160;

/// The message of the selected ladder row, from its top, beside the ladder.
fn preview(
    frame: &mut Frame<'_>,
    area: Rect,
    app: &mut App,
    target: Target,
    selected: usize,
    palette: Palette,
) {
    match app.arrow_message(target, selected) {
        Some(at) => message_view(frame, area, app, at, 0, false, palette),
        None => {
            let why = if matches!(target, Target::Open(_)) {
                " (in progress: its messages show once the session ends)"
            } else {
                " (the selected row is not a CWMP message)"
            };
            frame.render_widget(
                Paragraph::new(vec![
                    Line::styled(" message", palette.bar()),
                    Line::raw(why),
                ]),
                area,
            );
        }
    }
}

/// A message (session and message index) from line `top` on: laid out once for the area's
/// width, kept in [`App::message_view`], sliced on each frame.
fn message_view(
    frame: &mut Frame<'_>,
    area: Rect,
    app: &mut App,
    (session, message): (usize, usize),
    top: usize,
    raw: bool,
    palette: Palette,
) {
    let Some(m) = app.message(session, message) else {
        return;
    };
    let title = message::title(m, raw);
    let key = message::Key {
        session,
        message,
        raw,
        color: palette.color,
        width: usize::from(area.width),
    };
    if app.message_view.as_ref().is_none_or(|(k, _)| *k != key) {
        let view = View {
            raw,
            show_secrets: app.show_secrets,
            palette,
            width: key.width,
        };
        app.message_view = Some((key, message::message_lines(m, view)));
    }
    let Some((_, lines)) = &app.message_view else {
        return;
    };
    let room = usize::from(area.height.saturating_sub(1));
    let top = top.min(lines.len().saturating_sub(room));
    let mut shown = vec![Line::styled(title, palette.bar())];
    shown.extend(lines.iter().skip(top).take(room).cloned());
    frame.render_widget(Paragraph::new(shown), area);
}

/// The keys, as the help screen lists them.
pub const KEYS: [(&str, &str); 20] = [
    (
        "Enter",
        "open: the ladder of a row, the message of an arrow",
    ),
    ("Esc", "back one screen"),
    ("↑ ↓  k j", "move"),
    (
        "PgUp PgDn",
        "a page up or down (the mouse wheel: three rows)",
    ),
    ("Home End  g G", "first, last"),
    (
        "a",
        "list: transactions only, or sessions of no transaction too",
    ),
    ("p", "pause the list (the analysis goes on)"),
    (
        "<  >  o",
        "sort the list by the column left / right; o reverses",
    ),
    (
        "f",
        "findings by code; Enter lists a code's, then opens its ladder",
    ),
    (
        "t",
        "statistics: outcomes, faults, campaign, latency, sessions/min",
    ),
    (
        "/",
        "search the list (serial, CPE, CommandKey, URL, product)",
    ),
    (
        "F",
        "filter: cpe= outcome= kind= code= severity= (Enter applies)",
    ),
    ("s", "save the row's frames to a pcap (and its JSON report)"),
    (
        "r",
        "message: its raw bytes (text or hex dump), or its layout",
    ),
    ("?  F1", "this help"),
    ("q  Ctrl-C", "quit"),
    ("", ""),
    (
        "",
        "The list follows new rows until you move; End follows again.",
    ),
    ("", "Blue rows: sessions in progress, until they end."),
    (
        "",
        "Secrets stay redacted unless started with --show-secrets.",
    ),
];

fn help(frame: &mut Frame<'_>, area: Rect, top: usize) {
    let width = area.width.min(80);
    let height = area.height.min(KEYS.len() as u16 + 2);
    let x = area.x + (area.width - width) / 2;
    let y = area.y + (area.height - height) / 2;
    let rect = Rect::new(x, y, width, height);
    let mut lines = vec![Line::styled(
        format!("{:^w$}", "keys", w = usize::from(width)),
        Style::new().add_modifier(Modifier::REVERSED),
    )];
    lines.extend(
        KEYS.iter()
            .skip(top)
            .map(|(k, what)| Line::raw(format!(" {k:<14} {what}"))),
    );
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines), rect);
}
