//! The text report: a summary line, each session as a compact ladder (CPE and ACS columns, one
//! arrow per HTTP message with its RPCs, time and frames), then a session table.

use crate::report::{CaptureSummary, Deviation, MessageReport, Report, SessionReport, Severity};
use crate::tcp::ConnEnd;
use std::io::{self, Write};

/// ANSI styling, on only when asked (terminal and no `NO_COLOR`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn severity(&self, sev: Severity) -> String {
        match sev {
            Severity::Error => self.paint("1;31", "error"),
            Severity::Warning => self.paint("33", "warning"),
            Severity::Info => self.paint("36", "info"),
        }
    }
}

/// Narrowest and widest arrow drawn between the two columns.
const MIN_ARROW: usize = 36;
const MAX_ARROW: usize = 88;

/// Writes the whole text report.
pub fn write_report(
    w: &mut dyn Write,
    report: &Report,
    shown: &[&SessionReport],
    style: Style,
) -> io::Result<()> {
    write_header(w, &report.capture, report.sessions.len(), shown.len())?;
    for s in shown {
        writeln!(w)?;
        write_session(w, s, style)?;
    }
    if !shown.is_empty() {
        writeln!(w)?;
        write_table(w, shown)?;
    }
    Ok(())
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn write_header(
    w: &mut dyn Write,
    c: &CaptureSummary,
    sessions: usize,
    shown: usize,
) -> io::Result<()> {
    let name = match c.files.as_slice() {
        [] => "-".to_owned(),
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} (+{} more)", rest.len()),
    };
    let duration = match (&c.start, &c.end) {
        (Some(_), Some(_)) => format!(" in {}", span_seconds(c)),
        _ => String::new(),
    };
    writeln!(
        w,
        "{name}: {}{duration} · {} · {}",
        plural(c.packets, "packet", "packets"),
        plural(c.hosts, "host", "hosts"),
        plural(sessions as u64, "session", "sessions"),
    )?;
    let mut details = vec![
        plural(c.tcp_connections, "TCP connection", "TCP connections"),
        plural(c.http_messages, "HTTP message", "HTTP messages"),
    ];
    if c.tcp_gaps > 0 {
        details.push(format!(
            "{} with bytes lost by the capture",
            plural(c.tcp_gaps, "stream", "streams")
        ));
    }
    let u = &c.undecoded;
    if u.non_ip + u.non_tcp + u.truncated > 0 {
        details.push(format!(
            "not TCP/IP: {} non-IP, {} non-TCP, {} truncated",
            u.non_ip, u.non_tcp, u.truncated
        ));
    }
    writeln!(w, "  {}", details.join(" · "))?;
    for warning in &c.warnings {
        writeln!(w, "  warning: {warning}")?;
    }
    if shown != sessions {
        writeln!(w, "  showing {shown} of {sessions} sessions")?;
    }
    Ok(())
}

fn span_seconds(c: &CaptureSummary) -> String {
    let parse = |s: &Option<String>| {
        s.as_deref().and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
    };
    match (parse(&c.start), parse(&c.end)) {
        (Some(a), Some(b)) => format!("{:.1} s", (b - a).as_seconds_f64()),
        _ => "? s".to_owned(),
    }
}

fn cpe_label(s: &SessionReport) -> String {
    let parts: Vec<&str> = [&s.cpe.manufacturer, &s.cpe.product_class, &s.cpe.serial]
        .into_iter()
        .filter_map(|p| p.as_deref())
        .collect();
    if parts.is_empty() {
        format!("CPE {}", s.cpe.ip)
    } else {
        format!("CPE {} ({})", parts.join(" "), s.cpe.ip)
    }
}

/// The text of one arrow.
fn arrow_label(m: &MessageReport) -> String {
    let mut label = m.http.clone();
    if m.kind == "connection-request" && m.status.is_none() {
        label.push_str(" (connection request)");
    }
    if !m.summary.is_empty() {
        // Requests show the URI only when nothing better is known.
        if m.status.is_none() {
            let method = label.split(' ').next().unwrap_or("").to_owned();
            label = format!("{method} {}", m.summary);
        } else {
            label = format!("{} {}", m.status.unwrap_or_default(), m.summary);
        }
    } else if m.body_bytes == 0
        && (m.status.is_some_and(|s| s != 401) || (m.status.is_none() && m.kind == "cwmp"))
    {
        label.push_str(" (empty)");
    }
    if let Some(ch) = m.challenges.first() {
        let scheme = ch.get("scheme").and_then(|v| v.as_str()).unwrap_or("");
        let realm = ch.get("realm").and_then(|v| v.as_str());
        label = format!("{} {scheme}", m.status.unwrap_or_default());
        if let Some(realm) = realm {
            label.push_str(&format!(" realm={realm}"));
        }
        if ch.get("stale").and_then(|v| v.as_bool()) == Some(true) {
            label.push_str(" stale");
        }
    }
    if let Some(auth) = &m.auth {
        let scheme = auth.get("scheme").and_then(|v| v.as_str()).unwrap_or("?");
        label.push_str(&format!(" (+{scheme})"));
    }
    if !m.complete {
        label.push_str(" [incomplete]");
    }
    label
}

fn frames(m: &MessageReport) -> String {
    match &m.first_frame {
        Some(first) => format!("frame {first}-{}", m.frame),
        None => format!("frame {}", m.frame),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// One session: its header line, the ladder, its findings.
pub fn write_session(w: &mut dyn Write, s: &SessionReport, style: Style) -> io::Result<()> {
    let events = if s.events.is_empty() {
        "no Inform".to_owned()
    } else {
        s.events.join(", ")
    };
    writeln!(
        w,
        "{}  {} · ACS {}:{} · {} · {}{}",
        style.bold(&s.id),
        cpe_label(s),
        s.acs.ip,
        s.acs.port,
        events,
        if s.connections > 1 {
            format!("{} connections · ", s.connections)
        } else {
            String::new()
        },
        s.termination
    )?;
    let labels: Vec<String> = s.messages.iter().map(arrow_label).collect();
    let width = labels
        .iter()
        .map(|l| l.chars().count() + 8)
        .max()
        .unwrap_or(MIN_ARROW)
        .clamp(MIN_ARROW, MAX_ARROW);
    let cpe_head = format!("CPE {}", s.cpe.ip);
    let acs_head = format!("ACS {}:{}", s.acs.ip, s.acs.port);
    writeln!(
        w,
        "  {:>8}   {:<w$} {}",
        "+s",
        cpe_head,
        acs_head,
        w = width + 1
    )?;
    // Arrows and connection ends, in time order.
    let mut rows: Vec<(f64, String)> = Vec::new();
    for (m, label) in s.messages.iter().zip(&labels) {
        let text = truncate(label, width - 8);
        let fill = width - 6 - text.chars().count();
        let arrow = if m.from == "cpe" {
            format!("├── {text} {}▶│", "─".repeat(fill))
        } else {
            format!("│◀── {text} {}┤", "─".repeat(fill))
        };
        rows.push((m.rel, format!("{arrow}   {}", frames(m))));
    }
    for c in &s.tcp {
        let (Some(at), Some(end)) = (c.closed_rel, c.end) else {
            continue;
        };
        let what = match end {
            ConnEnd::Closed => "╳ closed",
            ConnEnd::Reset => "╳ reset",
            ConnEnd::Idle => "╳ idle, released",
            ConnEnd::HandshakeFailed => "╳ handshake failed",
            ConnEnd::CaptureEnded => "… capture ended",
        };
        let label = if s.tcp.len() > 1 {
            format!("{what} ({} → {})", c.cpe, c.acs)
        } else {
            what.to_owned()
        };
        rows.push((at, label));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (at, row) in rows {
        writeln!(w, "  {at:>8.3}   {row}")?;
    }
    for d in &s.deviations {
        write_deviation(w, d, style)?;
    }
    Ok(())
}

fn write_deviation(w: &mut dyn Write, d: &Deviation, style: Style) -> io::Result<()> {
    let frames: Vec<String> = d.frames.iter().map(|f| f.to_string()).collect();
    let at = if frames.is_empty() {
        String::new()
    } else {
        format!(" (frame {})", frames.join(", "))
    };
    writeln!(
        w,
        "  {} {}: {}{at}",
        style.severity(d.severity),
        d.code,
        d.message
    )
}

fn clock(ts: &str) -> &str {
    // RFC 3339 `YYYY-MM-DDTHH:MM:SS.ffffffZ` → `HH:MM:SS`.
    ts.get(11..19).unwrap_or(ts)
}

/// The closing table of sessions.
pub fn write_table(w: &mut dyn Write, sessions: &[&SessionReport]) -> io::Result<()> {
    writeln!(w, "sessions")?;
    let rows: Vec<[String; 7]> = sessions
        .iter()
        .map(|s| {
            [
                s.id.clone(),
                s.cpe.serial.clone().unwrap_or_else(|| s.cpe.ip.clone()),
                clock(&s.start).to_owned(),
                format!("{:.2}s", s.duration),
                truncate(&s.events.join(", "), 40),
                s.rpcs.total().to_string(),
                s.termination.to_owned(),
            ]
        })
        .collect();
    let head = ["id", "CPE", "start", "dur", "events", "rpcs", "end"];
    let mut widths: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let fmt_row = |cells: &[String]| {
        let mut line = String::from(" ");
        for (i, cell) in cells.iter().enumerate() {
            line.push(' ');
            line.push_str(cell);
            if i + 1 < cells.len() {
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 1));
            }
        }
        line
    };
    let head: Vec<String> = head.iter().map(|h| h.to_string()).collect();
    writeln!(w, "{}", fmt_row(&head))?;
    for row in &rows {
        writeln!(w, "{}", fmt_row(row))?;
    }
    Ok(())
}
