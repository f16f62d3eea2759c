//! The text report: a summary line, each session as a compact ladder (CPE and ACS columns, one
//! arrow per HTTP message with its RPCs, time and frames), then a session table.

use super::ladder::{self, Ladder, truncate};
use crate::report::{
    CaptureSummary, Counts, CpeInfo, FindingReport, Report, SessionReport, Severity, Summary,
    TransactionReport,
};
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
    pub(crate) fn severity(&self, sev: Severity) -> String {
        match sev {
            Severity::Error => self.paint("1;31", "error"),
            Severity::Warning => self.paint("33", "warning"),
            Severity::Info => self.paint("36", "info"),
        }
    }
}

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
    write_header_parts(w, &report.capture, &report.summary)
}

/// The header lines of the text report: file, packets, duration, hosts, sessions and
/// transactions; outcomes and findings by severity; TCP and HTTP counts, capture losses and
/// warnings.
pub fn write_header_parts(w: &mut dyn Write, c: &CaptureSummary, sum: &Summary) -> io::Result<()> {
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
    if c.tcp_conflicts > 0 {
        details.push(format!(
            "{} with {} bytes overlapping earlier ones with other content (first copy kept)",
            plural(c.tcp_conflicts, "stream", "streams"),
            c.tcp_conflicting_bytes
        ));
    }
    if c.tls.decrypted + c.tls.undecrypted > 0 {
        let why = if c.tls.undecrypted > 0 {
            format!(" ({})", c.tls.reasons_label())
        } else {
            String::new()
        };
        details.push(format!(
            "TLS to the ACS and file servers: {} decrypted, {} not{why}",
            c.tls.decrypted, c.tls.undecrypted
        ));
    }
    if c.other_tls_connections > 0 {
        details.push(plural(
            c.other_tls_connections,
            "other TLS connection",
            "other TLS connections",
        ));
    }
    let u = &c.undecoded;
    if u.non_ip + u.non_tcp + u.truncated > 0 {
        details.push(format!(
            "not TCP/IP: {} non-IP{}, {} non-TCP{}, {} truncated",
            u.non_ip,
            kinds_in_brackets(&u.non_ip_kinds),
            u.non_tcp,
            kinds_in_brackets(&u.non_tcp_kinds),
            u.truncated
        ));
    }
    if c.mirror_duplicates > 0 {
        details.push(format!("mirror copies dropped: {}", c.mirror_duplicates));
    }
    writeln!(w, "  {}", details.join(" · "))?;
    if !c.encapsulations.0.is_empty() {
        let unwrapped: Vec<String> = c
            .encapsulations
            .0
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        writeln!(w, "  unwrapped: {}", unwrapped.join(" · "))?;
    }
    for warning in &c.warnings {
        writeln!(w, "  warning: {warning}")?;
    }
    if !c.limits_hit.0.is_empty() {
        let reached: Vec<String> = c
            .limits_hit
            .0
            .iter()
            .map(|(name, n)| format!("{name} ×{n}"))
            .collect();
        writeln!(
            w,
            "  limits reached: {} (see --limit help)",
            reached.join(" · ")
        )?;
    }
    Ok(())
}

/// ` · incomplete: limit xml-depth reached` (or `limits a, b reached`) for what a resource
/// limit cut short; nothing otherwise.
pub fn limits_note(limits: &[&str]) -> String {
    match limits {
        [] => String::new(),
        [one] => format!(" · incomplete: limit {one} reached"),
        many => format!(" · incomplete: limits {} reached", many.join(", ")),
    }
}

/// Kinds shown at most after a count of undecoded frames.
const KINDS_SHOWN: usize = 5;

/// ` (udp ×28, icmp ×2)`: the first kinds of a count, then `…` if there are more; nothing
/// when there are none.
fn kinds_in_brackets(kinds: &Counts) -> String {
    if kinds.0.is_empty() {
        return String::new();
    }
    let mut shown: Vec<String> = kinds
        .0
        .iter()
        .take(KINDS_SHOWN)
        .map(|(kind, n)| format!("{kind} ×{n}"))
        .collect();
    if kinds.0.len() > KINDS_SHOWN {
        shown.push("…".to_owned());
    }
    format!(" ({})", shown.join(", "))
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
    format!("CPE {}", s.cpe.label())
}

/// One session: its header line, the ladder, its findings.
pub fn write_session(w: &mut dyn Write, s: &SessionReport, style: Style) -> io::Result<()> {
    let events = if s.events.is_empty() {
        "no Inform".to_owned()
    } else {
        s.events.join(", ")
    };
    // HTTPS: the TLS of its first TLS connection (`TLS 1.3 decrypted`).
    let tls = s
        .tcp
        .iter()
        .find_map(|c| c.tls.as_ref())
        .map(|t| format!("{} · ", t.label()))
        .unwrap_or_default();
    writeln!(
        w,
        "{}  {} · ACS {}:{} · {}{} · {}{}{}",
        style.bold(&s.id),
        cpe_label(s),
        s.acs.ip,
        s.acs.port,
        tls,
        events,
        if s.connections > 1 {
            format!("{} connections · ", s.connections)
        } else {
            String::new()
        },
        s.termination,
        limits_note(&s.limits_hit)
    )?;
    let ladder = ladder::session_ladder(s);
    let [cpe, acs] = [&ladder.lifelines[0], &ladder.lifelines[1]];
    writeln!(
        w,
        "  {:>8}   {:<w$} {}",
        "+s",
        cpe.title,
        acs.title,
        w = acs.x + 1
    )?;
    write_rows(w, &ladder, false, style)?;
    for d in ladder.trailing {
        write_finding(w, d, style)?;
    }
    Ok(())
}

/// The rows of a ladder, one line each (see [`ladder::row_line`]), with the findings under
/// each row.
fn write_rows(
    w: &mut dyn Write,
    ladder: &Ladder<'_>,
    with_steps: bool,
    style: Style,
) -> io::Result<()> {
    for row in &ladder.rows {
        writeln!(w, "{}", ladder::row_line(ladder, row, with_steps))?;
        for d in &row.findings {
            write!(w, "       ")?;
            write_finding(w, d, style)?;
        }
    }
    Ok(())
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
    let session_findings: Vec<&FindingReport> = report
        .sessions
        .iter()
        .filter(|s| t.sessions.contains(&s.id))
        .flat_map(|s| &s.findings)
        .collect();
    write_transaction_ladder(w, t, session_findings, style)
}

/// One transaction as [`write_transaction`] draws it, given the findings of its sessions
/// (placed under the arrows of their frames).
pub fn write_transaction_ladder(
    w: &mut dyn Write,
    t: &TransactionReport,
    session_findings: Vec<&FindingReport>,
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
        "{}  {} · {cpe} · CommandKey {} · {outcome}{}",
        style.bold(&t.id),
        kind_label(t.kind),
        t.command_key,
        limits_note(&t.limits_hit)
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
    let tls = t
        .file_server
        .as_ref()
        .and_then(|f| f.tls.as_ref())
        .map(|tls| format!(" · {}", tls.label()))
        .unwrap_or_default();
    writeln!(w, "    file {}{received}{status}{tls}", t.url)?;
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
    let ladder = ladder::transaction_ladder(t, session_findings);
    let mut heads = String::new();
    for (i, l) in ladder.lifelines.iter().enumerate() {
        match ladder.lifelines.get(i + 1) {
            Some(next) => heads.push_str(&format!("{:<w$}", l.title, w = next.x - l.x)),
            None => heads.push_str(&l.title),
        }
    }
    writeln!(w, "  {:>4} {:>8}   {heads}", "step", "+s")?;
    write_rows(w, &ladder, true, style)?;
    for d in ladder.trailing {
        write_finding(w, d, style)?;
    }
    Ok(())
}

/// Every finding, worst first, with where it belongs.
fn write_findings(w: &mut dyn Write, report: &Report, style: Style) -> io::Result<()> {
    let mut all: Vec<(Option<&str>, &FindingReport)> = Vec::new();
    for t in &report.transactions {
        all.extend(t.findings.iter().map(|d| (Some(t.id.as_str()), d)));
    }
    for s in &report.sessions {
        all.extend(s.findings.iter().map(|d| (Some(s.id.as_str()), d)));
    }
    all.extend(report.findings.iter().map(|d| (None, d)));
    write_findings_list(w, all, style)
}

/// Findings with their owner (transaction or session; None for a finding of neither), worst
/// first: those of transactions and sessions, then those of no session or transaction under
/// the CPE they concern (a `CPE …` heading each, in order of appearance), then those of no
/// known CPE under `capture`.
fn write_findings_list(
    w: &mut dyn Write,
    mut all: Vec<(Option<&str>, &FindingReport)>,
    style: Style,
) -> io::Result<()> {
    if all.is_empty() {
        return Ok(());
    }
    all.sort_by_key(|d| std::cmp::Reverse(d.1.severity));
    writeln!(w)?;
    writeln!(w, "findings")?;
    let mut loose: Vec<&FindingReport> = Vec::new();
    for (owner, d) in all {
        match owner {
            Some(owner) => {
                write!(w, "  {owner:<8}")?;
                write_finding(w, d, style)?;
            }
            None => loose.push(d),
        }
    }
    let mut cpes: Vec<&CpeInfo> = Vec::new();
    for d in &loose {
        if let Some(cpe) = &d.cpe
            && !cpes.contains(&cpe)
        {
            cpes.push(cpe);
        }
    }
    for cpe in cpes {
        writeln!(w, "  CPE {}", cpe.label())?;
        for d in loose.iter().filter(|d| d.cpe.as_ref() == Some(cpe)) {
            write!(w, "  {:<8}", "")?;
            write_finding(w, d, style)?;
        }
    }
    for d in loose.iter().filter(|d| d.cpe.is_none()) {
        write!(w, "  {:<8}", "capture")?;
        write_finding(w, d, style)?;
    }
    Ok(())
}

fn write_finding(w: &mut dyn Write, d: &FindingReport, style: Style) -> io::Result<()> {
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

/// Streaming text (pipes and live capture): one line per session as it completes, with its
/// findings under it.
pub fn write_session_line(w: &mut dyn Write, s: &SessionReport, style: Style) -> io::Result<()> {
    let events = if s.events.is_empty() {
        "no Inform".to_owned()
    } else {
        truncate(&s.events.join(", "), 60)
    };
    writeln!(
        w,
        "{}  {} · {} · {:.2}s · {} · {} rpcs · {}{}",
        style.bold(&s.id),
        cpe_label(s),
        clock(&s.start),
        s.duration,
        events,
        s.rpcs.total(),
        s.termination,
        limits_note(&s.limits_hit)
    )?;
    for d in &s.findings {
        write!(w, "  ")?;
        write_finding(w, d, style)?;
    }
    Ok(())
}

/// Streaming text: a finding of no session or transaction, as it is found, with the CPE it
/// concerns.
pub fn write_finding_line(w: &mut dyn Write, d: &FindingReport, style: Style) -> io::Result<()> {
    match &d.cpe {
        Some(cpe) => write!(w, "CPE {} ", cpe.label())?,
        None => write!(w, "capture ")?,
    }
    write_finding(w, d, style)
}

/// Streaming text: what closes the output at the end of input or on interruption: the
/// summary lines, the session table (`omitted` earlier sessions no longer kept) and every
/// finding.
pub fn write_closing(
    w: &mut dyn Write,
    capture: &CaptureSummary,
    summary: &Summary,
    sessions: &[&SessionReport],
    findings: Vec<(Option<&str>, &FindingReport)>,
    omitted: usize,
    style: Style,
) -> io::Result<()> {
    writeln!(w)?;
    write_header_parts(w, capture, summary)?;
    if !sessions.is_empty() {
        writeln!(w)?;
        write_table(w, sessions)?;
    }
    if omitted > 0 {
        writeln!(
            w,
            "  ({omitted} earlier {} not kept for this table)",
            if omitted == 1 { "session" } else { "sessions" }
        )?;
    }
    write_findings_list(w, findings, style)
}
