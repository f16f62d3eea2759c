//! The text report: a summary line, each session as a compact ladder (CPE and ACS columns, one
//! arrow per HTTP message with its RPCs, time and frames), then a session table.

use crate::report::{
    CaptureSummary, Deviation, MessageReport, Report, SessionReport, Severity, TransactionReport,
};
use crate::tcp::ConnEnd;
use crate::transaction::Outcome;
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
pub fn write_report(w: &mut dyn Write, report: &Report, style: Style) -> io::Result<()> {
    write_header(w, report)?;
    for t in &report.transactions {
        writeln!(w)?;
        write_transaction(w, t, report, style)?;
    }
    // Sessions that belong to no transaction get their own ladder.
    for s in &report.sessions {
        if !report
            .transactions
            .iter()
            .any(|t| t.sessions.contains(&s.id))
        {
            writeln!(w)?;
            write_session(w, s, style)?;
        }
    }
    if !report.sessions.is_empty() {
        writeln!(w)?;
        let all: Vec<&SessionReport> = report.sessions.iter().collect();
        write_table(w, &all)?;
    }
    write_findings(w, report, style)
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn write_header(w: &mut dyn Write, report: &Report) -> io::Result<()> {
    let c = &report.capture;
    let sum = &report.summary;
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
        "{name}: {}{duration} · {} · {} · {}",
        plural(c.packets, "packet", "packets"),
        plural(c.hosts, "host", "hosts"),
        plural(sum.sessions as u64, "session", "sessions"),
        plural(sum.transactions as u64, "transaction", "transactions"),
    )?;
    let o = &sum.by_outcome;
    let mut outcomes = Vec::new();
    for (n, what) in [
        (o.success, "success"),
        (o.failed, "failed"),
        (o.incomplete, "incomplete"),
    ] {
        if n > 0 {
            outcomes.push(format!("{n} {what}"));
        }
    }
    if outcomes.is_empty() {
        outcomes.push("none".to_owned());
    }
    let b = &sum.by_severity;
    writeln!(
        w,
        "  transactions: {} · findings: {} error, {} warning, {} info",
        outcomes.join(" · "),
        b.error,
        b.warning,
        b.info
    )?;
    let mut details = vec![
        plural(c.tcp_connections, "TCP connection", "TCP connections"),
        plural(c.http_messages, "HTTP message", "HTTP messages"),
    ];
    if c.tcp_gaps > 0 {
        details.push(format!(
            "{} with {} bytes lost by the capture",
            plural(c.tcp_gaps, "stream", "streams"),
            c.tcp_gap_bytes
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
        let scheme = ch.scheme.as_str();
        let realm = ch.realm.as_deref();
        label = format!("{} {scheme}", m.status.unwrap_or_default());
        if let Some(realm) = realm {
            label.push_str(&format!(" realm={realm}"));
        }
        if ch.stale == Some(true) {
            label.push_str(" stale");
        }
    }
    if let Some(auth) = &m.auth {
        let scheme = auth.scheme.as_str();
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

/// Where a party's lifeline sits in a transaction ladder.
fn column(p: &str, acs: usize, file: usize) -> usize {
    match p {
        "cpe" => 0,
        "acs" => acs,
        _ => file,
    }
}

/// One row of a three-column ladder: lifelines, and an arrow with its label between two of them.
fn ladder_row(from: usize, to: usize, label: &str, acs: usize, file: usize) -> String {
    let mut row: Vec<char> = vec![' '; file + 1];
    for x in [0, acs, file] {
        if let Some(c) = row.get_mut(x) {
            *c = '│';
        }
    }
    let (left, right) = (from.min(to), from.max(to));
    for x in left + 1..right {
        if let Some(c) = row.get_mut(x) {
            *c = if x == acs { '┼' } else { '─' };
        }
    }
    let rightwards = to > from;
    if let Some(c) = row.get_mut(from) {
        *c = if rightwards { '├' } else { '┤' };
    }
    if rightwards {
        if let Some(c) = row.get_mut(right - 1) {
            *c = '▶';
        }
    } else if let Some(c) = row.get_mut(left + 1) {
        *c = '◀';
    }
    let room = (right - left).saturating_sub(9);
    let text = truncate(label, room);
    let start = if rightwards { left + 4 } else { left + 5 };
    if let Some(c) = row.get_mut(start - 1) {
        *c = ' ';
    }
    for (i, ch) in text.chars().enumerate() {
        if let Some(c) = row.get_mut(start + i) {
            *c = ch;
        }
    }
    if let Some(c) = row.get_mut(start + text.chars().count()) {
        *c = ' ';
    }
    row.into_iter().collect()
}

fn kind_label(kind: &str) -> &str {
    match kind {
        "configuration-update" => "configuration update",
        "firmware-upgrade" => "firmware upgrade",
        other => other,
    }
}

/// One transaction: its verdict, file and versions, the three-column ladder with step
/// numbers, and its findings under the arrows they concern.
pub fn write_transaction(
    w: &mut dyn Write,
    t: &TransactionReport,
    report: &Report,
    style: Style,
) -> io::Result<()> {
    let cpe = {
        let parts: Vec<&str> = [&t.cpe.manufacturer, &t.cpe.product_class, &t.cpe.serial]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .collect();
        format!("CPE {} ({})", parts.join(" "), t.cpe.ip)
    };
    let outcome = match t.outcome {
        Outcome::Success => style.paint("1;32", "SUCCESS"),
        Outcome::Failed => style.paint("1;31", "FAILED"),
        Outcome::Incomplete => style.paint("1;33", "INCOMPLETE"),
    };
    writeln!(
        w,
        "{}  {} · {cpe} · CommandKey {} · {outcome}",
        style.bold(&t.id),
        kind_label(t.kind),
        t.command_key
    )?;
    let received = match (t.received_bytes, t.announced_size) {
        (Some(r), Some(a)) => format!(" · {r} of {a} bytes"),
        (Some(r), None) => format!(" · {r} bytes"),
        (None, Some(a)) => format!(" · FileSize {a}, nothing received"),
        (None, None) => String::new(),
    };
    let status = t
        .download_status
        .map(|s| format!(" · DownloadResponse Status {s}"))
        .unwrap_or_default();
    writeln!(w, "    file {}{received}{status}", t.url)?;
    for v in &t.versions {
        let short = v
            .parameter
            .strip_prefix("InternetGatewayDevice.")
            .or_else(|| v.parameter.strip_prefix("Device."))
            .unwrap_or(&v.parameter);
        let show = |x: &Option<String>| x.clone().unwrap_or_else(|| "?".to_owned());
        writeln!(w, "    {short} {} → {}", show(&v.before), show(&v.after))?;
    }
    if let Some(fault) = &t.fault {
        let code = fault
            .code
            .map_or_else(|| "without a code".to_owned(), |c| c.to_string());
        writeln!(w, "    fault {code} {}", fault.meaning.unwrap_or(""))?;
    }
    let lane = |from: &str, to: &str| from == "file-server" || to == "file-server";
    let labels: Vec<String> = t.steps.iter().map(|s| s.what.clone()).collect();
    let acs_lane = t
        .steps
        .iter()
        .zip(&labels)
        .filter(|(s, _)| !lane(s.from, s.to) && s.frame.is_some())
        .map(|(_, l)| l.chars().count() + 9)
        .max()
        .unwrap_or(MIN_ARROW)
        .clamp(MIN_ARROW, MAX_ARROW);
    let file_lane = t
        .steps
        .iter()
        .zip(&labels)
        .filter(|(s, _)| lane(s.from, s.to))
        .map(|(_, l)| (l.chars().count() + 9).saturating_sub(acs_lane))
        .max()
        .unwrap_or(0)
        .clamp(24, MAX_ARROW);
    let (acs, file) = (acs_lane, acs_lane + file_lane);
    let cpe_head = format!("CPE {}", t.cpe.ip);
    let acs_head = format!("ACS {}:{}", t.acs.ip, t.acs.port);
    let file_head = format!("File server {}", t.file_server.as_deref().unwrap_or("?"));
    let heads = format!("{cpe_head:<acs$}{acs_head:<file_lane$}{file_head}");
    writeln!(w, "  {:>4} {:>8}   {heads}", "step", "+s")?;
    // Findings of the transaction and of its sessions, placed under the step of their frame.
    let session_findings: Vec<&Deviation> = report
        .sessions
        .iter()
        .filter(|s| t.sessions.contains(&s.id))
        .flat_map(|s| &s.deviations)
        .collect();
    let mut pending: Vec<&Deviation> = t.deviations.iter().chain(session_findings).collect();
    // Step 13 (the CPE applies the file) is not on the wire: shown after the fetch when the
    // report followed.
    let applied_after = t
        .steps
        .iter()
        .rposition(|s| s.step.is_some_and(|n| (9..=12).contains(&n)))
        .filter(|_| t.steps.iter().any(|s| s.step.is_some_and(|n| n >= 14)));
    for (index, (step, label)) in t.steps.iter().zip(&labels).enumerate() {
        if index > 0 && applied_after == Some(index - 1) {
            writeln!(w, "  {:>4} {:>8}   · applied (not on the wire)", 13, "")?;
        }
        let number = step
            .step
            .map(|n| n.to_string())
            .unwrap_or_else(|| "·".to_owned());
        match &step.frame {
            Some(frame) if step.close => writeln!(
                w,
                "  {number:>4} {:>8.3}   ╳ {label}   frame {frame}",
                step.rel
            )?,
            Some(frame) => {
                let row = ladder_row(
                    column(step.from, acs, file),
                    column(step.to, acs, file),
                    label,
                    acs,
                    file,
                );
                let frames = match &step.first_frame {
                    Some(first) => format!("frame {first}-{frame}"),
                    None => format!("frame {frame}"),
                };
                writeln!(w, "  {number:>4} {:>8.3}   {row}   {frames}", step.rel)?;
                let (here, rest): (Vec<&Deviation>, Vec<&Deviation>) =
                    pending.into_iter().partition(|d| d.frames.contains(frame));
                pending = rest;
                for d in here {
                    write!(w, "       ")?;
                    write_deviation(w, d, style)?;
                }
            }
            None => writeln!(w, "  {number:>4} {:>8.3}   ╳ {label}", step.rel)?,
        }
    }
    for d in pending
        .into_iter()
        .filter(|d| t.deviations.iter().any(|x| std::ptr::eq(x, *d)))
    {
        write_deviation(w, d, style)?;
    }
    Ok(())
}

/// Every finding, worst first, with where it belongs.
fn write_findings(w: &mut dyn Write, report: &Report, style: Style) -> io::Result<()> {
    let mut all: Vec<(&str, &Deviation)> = Vec::new();
    for t in &report.transactions {
        all.extend(t.deviations.iter().map(|d| (t.id.as_str(), d)));
    }
    for s in &report.sessions {
        all.extend(s.deviations.iter().map(|d| (s.id.as_str(), d)));
    }
    all.extend(report.deviations.iter().map(|d| ("capture", d)));
    if all.is_empty() {
        return Ok(());
    }
    all.sort_by_key(|d| std::cmp::Reverse(d.1.severity));
    writeln!(w)?;
    writeln!(w, "findings")?;
    for (owner, d) in all {
        write!(w, "  {owner:<8}")?;
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
