//! The ladder diagram's layout, apart from any drawing surface: which lifelines, where they
//! stand, and one row per arrow (HTTP message), connection close or off-the-wire step, with
//! the findings that belong under it. The text printer prints these rows; a terminal UI can
//! draw the same rows with its own styles.
//!
//! A transaction's ladder, three lifelines at columns `0`, `acs` and `file`:
//!
//! ```text
//!  step       +s   CPE 10.0.0.5            ACS 10.0.0.2:7547      File server 10.0.0.3:80
//!     2    0.000   ├── POST Inform 2 PERIODIC ──▶│                      │   frame 4
//!     5    0.007   │◀── 200 InformResponse + Do… ┤                      │   frame 9
//!          ↑ Row: step, seconds since the start, Shape::Arrow{from, to, label, frames}
//!     9    0.209   ├── GET /cfg.ini ─────────────┼─────────────────────▶│   frame 18
//!                  ↑ an arrow crossing a lifeline draws `┼` there
//!           error file-http-error: …      ← Row::findings, under the arrow of their frame
//!    13            · applied (not on the wire)            ← Shape::Applied
//!    22    1.223   ╳ connection closed   frame 40         ← Shape::Close
//! ```
//!
//! A session's ladder has two lifelines (CPE, ACS) and its findings after the rows
//! ([`Ladder::trailing`]).

use crate::report::{FindingReport, MessageReport, SessionReport, TransactionReport};
use crate::tcp::ConnEnd;

/// Narrowest and widest arrow drawn between two lifelines.
pub const MIN_ARROW: usize = 36;
pub const MAX_ARROW: usize = 88;

/// One party's vertical line: its title and the column it stands at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lifeline {
    pub title: String,
    pub x: usize,
}

/// What a row shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// An HTTP message from one lifeline to another (indices into [`Ladder::lifelines`]); the
    /// label already fits between them.
    Arrow {
        from: usize,
        to: usize,
        label: String,
        /// `frame 18`, or `frame 16-18` for a message over several frames.
        frames: String,
    },
    /// A connection close or end, as text (`╳ closed`, `… capture ended`), with its frame when
    /// known.
    Close {
        text: String,
        frames: Option<String>,
    },
    /// Step 13 of the reference ladder: the CPE applies the file (never on the wire).
    Applied,
}

/// One row of the ladder.
#[derive(Clone, Debug)]
pub struct Row<'a> {
    /// Step of the reference ladder; None where the message fits no step.
    pub step: Option<u32>,
    /// Seconds since the start of the transaction or session; None for [`Shape::Applied`].
    pub rel: Option<f64>,
    pub shape: Shape,
    /// Findings placed under this row.
    pub findings: Vec<&'a FindingReport>,
    /// What the row draws: the index of the transaction's step, or of the session's message
    /// (None for connection ends of a session and for step 13).
    pub source: Option<usize>,
}

/// A laid-out ladder.
#[derive(Clone, Debug)]
pub struct Ladder<'a> {
    pub lifelines: Vec<Lifeline>,
    pub rows: Vec<Row<'a>>,
    /// Findings tied to no row, shown after the ladder.
    pub trailing: Vec<&'a FindingReport>,
}

/// `frame N`, or `frame F-N` for a message that spans frames F to N.
fn frames_text(first: Option<impl std::fmt::Display>, last: impl std::fmt::Display) -> String {
    match first {
        Some(first) => format!("frame {first}-{last}"),
        None => format!("frame {last}"),
    }
}

/// At most `max` characters, the last one `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The text of a session message's arrow: method or status, the RPCs with their key arguments,
/// challenge, credentials, and whether the capture holds all of it.
pub fn arrow_label(m: &MessageReport) -> String {
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

/// A session's ladder: CPE and ACS, one arrow per HTTP message and one row per connection end,
/// in time order; its findings trail.
pub fn session_ladder(s: &SessionReport) -> Ladder<'_> {
    session_ladder_within(s, usize::MAX)
}

/// [`session_ladder`] with the space between the lifelines at most `lanes` columns (at least
/// [`NARROWEST_LANE`]): labels are cut to fit. For screens narrower than the ladder.
pub fn session_ladder_within(s: &SessionReport, lanes: usize) -> Ladder<'_> {
    let labels: Vec<String> = s.messages.iter().map(arrow_label).collect();
    let width = labels
        .iter()
        .map(|l| l.chars().count() + 8)
        .max()
        .unwrap_or(MIN_ARROW)
        .clamp(MIN_ARROW, MAX_ARROW)
        .min(lanes.max(NARROWEST_LANE));
    let lifelines = vec![
        Lifeline {
            title: format!("CPE {}", s.cpe.ip),
            x: 0,
        },
        Lifeline {
            title: format!("ACS {}:{}", s.acs.ip, s.acs.port),
            x: width,
        },
    ];
    let mut rows: Vec<Row<'_>> = Vec::new();
    for (index, (m, label)) in s.messages.iter().zip(labels).enumerate() {
        let (from, to) = if m.from == "cpe" { (0, 1) } else { (1, 0) };
        rows.push(Row {
            step: None,
            rel: Some(m.rel),
            shape: Shape::Arrow {
                from,
                to,
                label: truncate(&label, width - 8),
                frames: frames_text(m.first_frame.as_ref(), &m.frame),
            },
            findings: Vec::new(),
            source: Some(index),
        });
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
            ConnEnd::Refused => "╳ refused",
            ConnEnd::CaptureEnded => "… capture ended",
        };
        let text = if s.tcp.len() > 1 {
            format!("{what} ({} → {})", c.cpe, c.acs)
        } else {
            what.to_owned()
        };
        rows.push(Row {
            step: None,
            rel: Some(at),
            shape: Shape::Close { text, frames: None },
            findings: Vec::new(),
            source: None,
        });
    }
    rows.sort_by(|a, b| {
        a.rel
            .unwrap_or_default()
            .total_cmp(&b.rel.unwrap_or_default())
    });
    Ladder {
        lifelines,
        rows,
        trailing: s.findings.iter().collect(),
    }
}

/// Index of a party's lifeline in a transaction ladder.
fn lifeline_of(party: &str) -> usize {
    match party {
        "cpe" => 0,
        "acs" => 1,
        _ => 2,
    }
}

/// A transaction's ladder: CPE, ACS and file server, one row per step in time order, step 13
/// where the CPE applied the file, and the findings of the transaction and of its sessions
/// (`session_findings`) under the arrow of their frame; the transaction's findings that fit no
/// arrow trail.
pub fn transaction_ladder<'a>(
    t: &'a TransactionReport,
    session_findings: Vec<&'a FindingReport>,
) -> Ladder<'a> {
    transaction_ladder_within(t, session_findings, usize::MAX)
}

/// The narrowest space between two lifelines when a ladder is fitted to a screen.
pub const NARROWEST_LANE: usize = 16;

/// [`transaction_ladder`] with the space from the CPE to the file server at most `lanes`
/// columns: both lanes shrink in proportion (each at least [`NARROWEST_LANE`]) and labels are
/// cut to fit. For screens narrower than the ladder.
pub fn transaction_ladder_within<'a>(
    t: &'a TransactionReport,
    session_findings: Vec<&'a FindingReport>,
    lanes: usize,
) -> Ladder<'a> {
    let file_lane_used = |from: &str, to: &str| from == "file-server" || to == "file-server";
    let acs_lane = t
        .steps
        .iter()
        .filter(|s| !file_lane_used(s.from, s.to) && s.frame.is_some())
        .map(|s| s.what.chars().count() + 9)
        .max()
        .unwrap_or(MIN_ARROW)
        .clamp(MIN_ARROW, MAX_ARROW);
    let file_lane = t
        .steps
        .iter()
        .filter(|s| file_lane_used(s.from, s.to))
        .map(|s| (s.what.chars().count() + 9).saturating_sub(acs_lane))
        .max()
        .unwrap_or(0)
        .clamp(24, MAX_ARROW);
    let (acs_lane, file_lane) = if acs_lane + file_lane > lanes {
        let budget = lanes.max(2 * NARROWEST_LANE);
        let file = (budget * file_lane / (acs_lane + file_lane)).max(NARROWEST_LANE);
        let acs = budget.saturating_sub(file).max(NARROWEST_LANE);
        (acs, budget.saturating_sub(acs).max(NARROWEST_LANE))
    } else {
        (acs_lane, file_lane)
    };
    let lifelines = vec![
        Lifeline {
            title: format!("CPE {}", t.cpe.ip),
            x: 0,
        },
        Lifeline {
            title: format!("ACS {}:{}", t.acs.ip, t.acs.port),
            x: acs_lane,
        },
        Lifeline {
            title: match &t.file_server {
                Some(server) => format!("File server {server}"),
                None => "File server ?".to_owned(),
            },
            x: acs_lane + file_lane,
        },
    ];
    // Findings of the transaction and of its sessions, placed under the step of their frame.
    let mut pending: Vec<&FindingReport> = t.findings.iter().chain(session_findings).collect();
    // Step 13 (the CPE applies the file) is not on the wire: shown after the fetch when the
    // report followed.
    let applied_after = t
        .steps
        .iter()
        .rposition(|s| s.step.is_some_and(|n| (9..=12).contains(&n)))
        .filter(|_| t.steps.iter().any(|s| s.step.is_some_and(|n| n >= 14)));
    let mut rows = Vec::with_capacity(t.steps.len() + 1);
    for (index, step) in t.steps.iter().enumerate() {
        if index > 0 && applied_after == Some(index - 1) {
            rows.push(Row {
                step: Some(13),
                rel: None,
                shape: Shape::Applied,
                findings: Vec::new(),
                source: None,
            });
        }
        let mut findings = Vec::new();
        let shape = match &step.frame {
            Some(frame) if step.close => {
                // A finding at the close's frame (a reset) goes under it.
                let (here, rest): (Vec<&FindingReport>, Vec<&FindingReport>) =
                    pending.into_iter().partition(|d| d.frames.contains(frame));
                pending = rest;
                findings = here;
                Shape::Close {
                    text: format!("╳ {}", step.what),
                    frames: Some(format!("frame {frame}")),
                }
            }
            Some(frame) => {
                let (from, to) = (lifeline_of(step.from), lifeline_of(step.to));
                let (a, b) = (lifelines[from].x, lifelines[to].x);
                let room = a.abs_diff(b).saturating_sub(9);
                let (here, rest): (Vec<&FindingReport>, Vec<&FindingReport>) =
                    pending.into_iter().partition(|d| d.frames.contains(frame));
                pending = rest;
                findings = here;
                Shape::Arrow {
                    from,
                    to,
                    label: truncate(&step.what, room),
                    frames: frames_text(step.first_frame.as_ref(), frame),
                }
            }
            None => Shape::Close {
                text: format!("╳ {}", step.what),
                frames: None,
            },
        };
        rows.push(Row {
            step: step.step,
            rel: Some(step.rel),
            shape,
            findings,
            source: Some(index),
        });
    }
    let trailing = pending
        .into_iter()
        .filter(|d| t.findings.iter().any(|x| std::ptr::eq(x, *d)))
        .collect();
    Ladder {
        lifelines,
        rows,
        trailing,
    }
}

/// One row as a line of text: the step column (`with_steps`, for transactions; `·` where the
/// row fits no step), seconds since the start, then the arrow, close or step 13, with frames.
pub fn row_line(ladder: &Ladder<'_>, row: &Row<'_>, with_steps: bool) -> String {
    let mut line = if with_steps {
        let number = row
            .step
            .map(|n| n.to_string())
            .unwrap_or_else(|| "·".to_owned());
        format!("  {number:>4} ")
    } else {
        "  ".to_owned()
    };
    let body = match &row.shape {
        Shape::Arrow {
            from,
            to,
            label,
            frames,
        } => format!(
            "{}   {frames}",
            draw_arrow(&ladder.lifelines, *from, *to, label)
        ),
        Shape::Close { text, frames } => match frames {
            Some(frames) => format!("{text}   {frames}"),
            None => text.clone(),
        },
        Shape::Applied => "· applied (not on the wire)".to_owned(),
    };
    match row.rel {
        Some(rel) => line.push_str(&format!("{rel:>8.3}   {body}")),
        None => line.push_str(&format!("{:>8}   {body}", "")),
    }
    line
}

/// Draws one arrow as characters: every lifeline up to the rightmost one, the arrow from
/// lifeline `from` to lifeline `to` (`┼` where it crosses another lifeline), and `label` inside
/// it (`├── label ───▶│` rightwards, `│◀── label ───┤` leftwards). The label must already fit
/// (at most the gap between the two lifelines less 8 characters).
pub fn draw_arrow(lifelines: &[Lifeline], from: usize, to: usize, label: &str) -> String {
    let xs: Vec<usize> = lifelines.iter().map(|l| l.x).collect();
    let last = xs.iter().copied().max().unwrap_or(0);
    let x_of = |i: usize| xs.get(i).copied().unwrap_or(0);
    let (from, to) = (x_of(from), x_of(to));
    let mut row: Vec<char> = vec![' '; last + 1];
    let mut put = |i: usize, c: char| {
        if let Some(slot) = row.get_mut(i) {
            *slot = c;
        }
    };
    for &x in &xs {
        put(x, '│');
    }
    let (left, right) = (from.min(to), from.max(to));
    for x in left + 1..right {
        put(x, if xs.contains(&x) { '┼' } else { '─' });
    }
    let rightwards = to > from;
    put(from, if rightwards { '├' } else { '┤' });
    if rightwards {
        put(right.saturating_sub(1), '▶');
    } else {
        put(left + 1, '◀');
    }
    let start = if rightwards { left + 4 } else { left + 5 };
    put(start - 1, ' ');
    let mut end = start;
    for ch in label.chars() {
        put(end, ch);
        end += 1;
    }
    put(end, ' ');
    row.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(xs: &[usize]) -> Vec<Lifeline> {
        xs.iter()
            .map(|&x| Lifeline {
                title: String::new(),
                x,
            })
            .collect()
    }

    #[test]
    fn arrows_point_the_right_way_and_cross_lifelines() {
        let l = lines(&[0, 20, 40]);
        assert_eq!(
            draw_arrow(&l, 0, 1, "POST Inform"),
            "├── POST Inform ───▶│                   │"
        );
        assert_eq!(
            draw_arrow(&l, 1, 0, "200 OK"),
            "│◀── 200 OK ────────┤                   │"
        );
        let across = draw_arrow(&l, 0, 2, "GET /f");
        assert_eq!(across.chars().nth(20), Some('┼'));
        assert!(across.ends_with("▶│"));
        assert_eq!(across.chars().count(), 41);
    }

    #[test]
    fn labels_are_cut_with_an_ellipsis() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
