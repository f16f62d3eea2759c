//! Draws the view's state on a ratatui frame: the list, a ladder, a message, the help. Pure:
//! it reads [`App`] and writes cells, so screens are tested on a `TestBackend`.
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

use super::state::{App, ListRow, Screen, Verdict};
use crate::catalogue::Severity;
use crate::output::ladder::{self, Ladder};
use crate::report::{FindingReport, MessageReport};
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
            ladder_screen(frame, body, app, target, selected, top, palette)
        }
        Screen::Message {
            session,
            message,
            top,
        } => {
            app.page = usize::from(body.height.saturating_sub(2)).max(1);
            if let Some(m) = app.message(session, message) {
                message_screen(frame, body, m, top, palette);
            }
        }
        Screen::Help { top } => {
            list(frame, body, app, palette);
            help(frame, body, top);
        }
    }
    let bar = match app.screen() {
        Screen::List => "Enter ladder  ↑↓ PgUp PgDn move  a sessions  p pause  ? help  q quit",
        Screen::Ladder { .. } => "Enter message  Esc back  ↑↓ PgUp PgDn move  ? help  q quit",
        Screen::Message { .. } => "Esc back  ↑↓ PgUp PgDn scroll  ? help  q quit",
        Screen::Help { .. } => "Esc back  ↑↓ scroll  q quit",
    };
    frame.render_widget(Paragraph::new(Line::styled(bar, palette.bar())), keys);
}

fn header_lines(app: &App, rows: &[ListRow]) -> [String; 2] {
    let (mut success, mut failed, mut incomplete) = (0, 0, 0);
    for t in &app.transactions {
        match t.outcome {
            crate::transaction::Outcome::Success => success += 1,
            crate::transaction::Outcome::Failed => failed += 1,
            crate::transaction::Outcome::Incomplete => incomplete += 1,
        }
    }
    let state = if let Some(e) = &app.error {
        format!("stopped: {e}")
    } else if app.paused {
        "paused".to_owned()
    } else if app.done.is_some() {
        "done".to_owned()
    } else if let Some(p) = app.percent {
        format!("reading {p}%")
    } else {
        "reading…".to_owned()
    };
    let packets = app
        .done
        .as_ref()
        .map(|(c, _)| format!(" · {} packets", c.packets))
        .unwrap_or_default();
    let mut first = format!(" cwmpscope · {} · {state}", app.source);
    if !app.input.is_empty() {
        first.push_str(&format!(" · {}", app.input));
    }
    let (mut e, mut w, mut i) = (0, 0, 0);
    let all = app
        .transactions
        .iter()
        .flat_map(|t| &t.findings)
        .chain(app.sessions.iter().flat_map(|s| &s.findings))
        .chain(&app.capture_findings);
    for f in all {
        match f.severity {
            Severity::Error => e += 1,
            Severity::Warning => w += 1,
            Severity::Info => i += 1,
        }
    }
    let second = format!(
        " transactions {}: {success} success, {failed} failed, {incomplete} incomplete · sessions {}{packets} · findings E {e} W {w} I {i} · rows {}{}",
        app.transactions.len(),
        app.sessions.len(),
        rows.len(),
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
    let rows = app.rows();
    let [head, _, titles, body] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(area);
    let [first, second] = header_lines(app, &rows);
    frame.render_widget(
        Paragraph::new(vec![Line::styled(first, palette.bar()), Line::raw(second)]),
        head,
    );
    let cols = columns_for(usize::from(area.width));
    let title: String = cols
        .iter()
        .map(|&c| cell(COLUMNS[c].title, COLUMNS[c].width))
        .collect();
    frame.render_widget(
        Paragraph::new(Line::styled(
            format!(" {title}"),
            Style::new().add_modifier(Modifier::BOLD),
        )),
        titles,
    );
    app.page = usize::from(body.height).max(1);
    let shown = rows.iter().enumerate().skip(app.top).take(app.page);
    let mut lines = Vec::new();
    for (index, row) in shown {
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
    if rows.is_empty() {
        lines.push(Line::raw(if app.done.is_some() {
            " no CWMP session or transaction in this capture"
        } else {
            " waiting for the first session…"
        }));
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
            Some(next) => heads.push_str(&format!("{:<w$}", l.title, w = next.x - l.x)),
            None => heads.push_str(&l.title),
        }
    }
    heads
}

fn ladder_screen(
    frame: &mut Frame<'_>,
    area: Rect,
    app: &App,
    target: super::state::Target,
    selected: usize,
    top: usize,
    palette: Palette,
) {
    // The step and time columns before the lanes, the frames after them.
    let lanes = usize::from(area.width).saturating_sub(18 + 14);
    let Some((title, ladder)) = app.ladder(target, lanes) else {
        return;
    };
    let with_steps = matches!(target, super::state::Target::Transaction(_));
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

/// The lines of the message screen: where it was, its HTTP line, credentials and cookies, then
/// each SOAP envelope with its arguments.
pub fn message_lines(m: &MessageReport) -> Vec<String> {
    let mut out = vec![
        format!(
            " frame {} · {} → {} · {} · {} bytes{}",
            m.frame,
            m.from,
            m.to,
            m.ts,
            m.body_bytes,
            if m.complete { "" } else { " · incomplete" }
        ),
        String::new(),
        format!(" {}", m.http),
    ];
    if let Some(a) = &m.auth {
        out.push(format!(
            " Authorization: {}",
            serde_json::to_string(a).unwrap_or_default()
        ));
    }
    for c in &m.challenges {
        out.push(format!(
            " WWW-Authenticate: {}",
            serde_json::to_string(c).unwrap_or_default()
        ));
    }
    for c in &m.cookies {
        out.push(format!(" Cookie: {}={}", c.name, c.value));
    }
    for c in &m.set_cookies {
        out.push(format!(" Set-Cookie: {}={}", c.name, c.value));
    }
    if let Some(bad) = &m.malformed {
        out.push(format!(
            " not well-formed SOAP at byte {}: {}",
            bad.offset, bad.reason
        ));
    }
    for e in &m.envelopes {
        out.push(String::new());
        let id =
            e.id.as_deref()
                .map(|i| format!(" · cwmp:ID {i}"))
                .unwrap_or_default();
        out.push(format!(" {}{id}", e.rpc));
        if let Some(args) = &e.args {
            let pretty = serde_json::to_string_pretty(args).unwrap_or_default();
            out.extend(pretty.lines().map(|l| format!("   {l}")));
        }
    }
    out
}

fn message_screen(
    frame: &mut Frame<'_>,
    area: Rect,
    m: &MessageReport,
    top: usize,
    palette: Palette,
) {
    let mut lines = vec![Line::styled(
        format!(" message · {}", m.http),
        palette.bar(),
    )];
    lines.extend(message_lines(m).into_iter().skip(top).map(Line::raw));
    frame.render_widget(Paragraph::new(lines), area);
}

/// The keys, as the help screen lists them.
pub const KEYS: [(&str, &str); 12] = [
    (
        "Enter",
        "open: the ladder of a row, the message of an arrow",
    ),
    ("Esc", "back one screen"),
    ("↑ ↓  k j", "move"),
    ("PgUp PgDn", "a page up or down"),
    ("Home End  g G", "first, last"),
    (
        "a",
        "list: transactions only, or sessions of no transaction too",
    ),
    ("p", "pause the list (the analysis goes on)"),
    ("?  F1", "this help"),
    ("q  Ctrl-C", "quit"),
    ("", ""),
    (
        "",
        "The list follows new rows until you move; End follows again.",
    ),
    (
        "",
        "Secrets stay redacted unless started with --show-secrets.",
    ),
];

fn help(frame: &mut Frame<'_>, area: Rect, top: usize) {
    let width = area.width.min(76);
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
