//! The interactive view's state, apart from any terminal: the rows that arrived, the screen
//! stack, the selection and scroll of each screen. Driven by [`UiEvent`]s from the analysis
//! and [`Action`]s from the keyboard; drawing only reads it.

use super::message;
use crate::output::ladder::{self, Ladder, Shape};
use crate::report::{
    CaptureSummary, FindingReport, MessageReport, SessionReport, Summary, TransactionReport,
};
use ratatui::text::Line;

/// What the analysis sends the view.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum UiEvent {
    Session(SessionReport),
    Transaction(TransactionReport),
    /// A finding of no session or transaction.
    Finding(FindingReport),
    /// The whole input was analyzed.
    Done {
        capture: CaptureSummary,
        summary: Summary,
    },
    /// The input could not be read further (the message says why).
    Failed(String),
}

/// What a key asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    /// Open what is selected (a row's ladder, an arrow's message).
    Open,
    /// Back one screen.
    Back,
    Quit,
    Help,
    /// Rows: transactions only, or sessions of no transaction too.
    ToggleSessions,
    /// Freeze the list while the analysis goes on.
    Pause,
    /// The findings of the capture, by code.
    Findings,
    /// Outcomes, faults, the campaign table, latencies, sessions per minute.
    Stats,
    /// Type a search of the list.
    Search,
    /// Edit the list's filter expression.
    Filter,
    /// Save the selected row's frames to a pcap (and its report beside it).
    Save,
    /// A character typed into the open prompt.
    Type(char),
    /// Erase the prompt's last character.
    Erase,
    /// The message's raw bytes, or back to its layout.
    Raw,
}

/// A row of the list: a transaction, or a session that belongs to no transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Transaction(usize),
    Session(usize),
}

/// A screen on the stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Screen {
    List,
    /// The ladder of a row; `selected` is a ladder row, `top` the first row shown.
    Ladder {
        target: Target,
        selected: usize,
        top: usize,
    },
    /// One message: `session` and `message` index into the sessions; `top` is the scroll;
    /// `raw` shows the bytes as received instead of the layout.
    Message {
        session: usize,
        message: usize,
        top: usize,
        raw: bool,
    },
    Help {
        top: usize,
    },
    /// The findings by code; `open` is the code whose occurrences are listed under it.
    Findings {
        selected: usize,
        top: usize,
        open: Option<&'static str>,
    },
    /// The statistics, scrolled to `top`.
    Stats {
        top: usize,
    },
}

/// Outcome of a list row, for colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Success,
    Failed,
    Incomplete,
    /// A session on its own: ended normally.
    Ended,
    /// A session on its own that did not end normally.
    Broken,
}

/// One list row, ready to draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRow {
    pub target: Target,
    pub start: String,
    pub cpe: String,
    pub product_class: String,
    pub kind: String,
    pub command_key: String,
    pub steps: String,
    pub outcome: String,
    pub verdict: Verdict,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

/// The view's whole state.
#[derive(Debug, Default)]
pub struct App {
    /// What is being read (file names).
    pub source: String,
    pub sessions: Vec<SessionReport>,
    pub transactions: Vec<TransactionReport>,
    pub capture_findings: Vec<FindingReport>,
    /// Sessions that belong to no transaction are listed too.
    pub show_sessions: bool,
    /// The list's selected row and first row shown.
    pub selected: usize,
    pub top: usize,
    /// The selection follows new rows until the user moves.
    pub follow: bool,
    /// The list is frozen (new rows are kept, not shown).
    pub paused: bool,
    frozen: Option<Vec<Target>>,
    /// Screens above the list.
    pub stack: Vec<Screen>,
    pub done: Option<(CaptureSummary, Summary)>,
    pub error: Option<String>,
    pub quit: bool,
    /// Rows that fit on a page (set by drawing).
    pub page: usize,
    /// Something changed since the last draw.
    pub dirty: bool,
    /// The capture files analyzed (as `extract` reads them again to save a row).
    pub files: Vec<String>,
    /// Where a saved pcap goes (empty: the current directory).
    pub save_dir: std::path::PathBuf,
    /// The search of the list (case-insensitive), empty for none.
    pub search: String,
    /// The filter of the list, and the expression it was parsed from.
    pub filter: Vec<Term>,
    pub filter_text: String,
    /// The prompt line being typed, if any.
    pub prompt: Option<Prompt>,
    /// One line of news for the status bar (a save's result, an invalid filter).
    pub status: Option<String>,
    /// Saves under way on their own threads: each sends its result line.
    jobs: Vec<std::sync::mpsc::Receiver<String>>,
    /// The input's status in the header (packets read, drops), set by the run loop.
    pub input: String,
    /// Percentage of the files read, while reading files of known size.
    pub percent: Option<u8>,
    /// Secrets are shown in messages (`--show-secrets`).
    pub show_secrets: bool,
    /// The lines of the message last laid out (drawing slices them as it scrolls).
    pub message_view: Option<(message::Key, Vec<Line<'static>>)>,
}

/// Steps of the 22-step reference ladder a transaction can show on the wire or imply (2 to 22).
const LADDER_STEPS: usize = 21;

impl App {
    pub fn new(source: String) -> App {
        App {
            source,
            show_sessions: true,
            follow: true,
            page: 10,
            dirty: true,
            ..App::default()
        }
    }

    /// The screen on top.
    pub fn screen(&self) -> Screen {
        self.stack.last().cloned().unwrap_or(Screen::List)
    }

    /// One event from the analysis.
    pub fn on_event(&mut self, event: UiEvent) {
        match event {
            UiEvent::Session(s) => self.sessions.push(s),
            UiEvent::Transaction(t) => self.transactions.push(t),
            UiEvent::Finding(f) => self.capture_findings.push(f),
            UiEvent::Done { capture, summary } => self.done = Some((capture, summary)),
            UiEvent::Failed(e) => self.error = Some(e),
        }
        if self.follow && self.stack.is_empty() {
            self.selected = self.rows().len().saturating_sub(1);
            self.keep_visible();
        }
        self.dirty = true;
    }

    /// The rows shown, in order of start: those the search and the filter keep.
    pub fn targets(&self) -> Vec<Target> {
        let all = self.all_targets();
        if self.search.is_empty() && self.filter.is_empty() {
            return all;
        }
        all.into_iter().filter(|&t| self.keeps(t)).collect()
    }

    /// The rows before the search and the filter.
    fn all_targets(&self) -> Vec<Target> {
        if let Some(frozen) = &self.frozen {
            return frozen.clone();
        }
        let mut keyed: Vec<(&str, Target)> = self
            .transactions
            .iter()
            .enumerate()
            .map(|(i, t)| (t.start.as_str(), Target::Transaction(i)))
            .collect();
        if self.show_sessions {
            let owned: std::collections::HashSet<&str> = self
                .transactions
                .iter()
                .flat_map(|t| t.sessions.iter().map(String::as_str))
                .collect();
            keyed.extend(
                self.sessions
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| !owned.contains(s.id.as_str()))
                    .map(|(i, s)| (s.start.as_str(), Target::Session(i))),
            );
        }
        keyed.sort_by(|a, b| a.0.cmp(b.0));
        keyed.into_iter().map(|(_, t)| t).collect()
    }

    /// The rows shown, ready to draw.
    pub fn rows(&self) -> Vec<ListRow> {
        self.targets()
            .into_iter()
            .filter_map(|t| self.row(t))
            .collect()
    }

    fn row(&self, target: Target) -> Option<ListRow> {
        let count = |findings: &mut dyn Iterator<Item = &FindingReport>| {
            let (mut e, mut w, mut i) = (0, 0, 0);
            for f in findings {
                match f.severity {
                    crate::catalogue::Severity::Error => e += 1,
                    crate::catalogue::Severity::Warning => w += 1,
                    crate::catalogue::Severity::Info => i += 1,
                }
            }
            (e, w, i)
        };
        match target {
            Target::Transaction(i) => {
                let t = self.transactions.get(i)?;
                let sessions: Vec<&SessionReport> = self
                    .sessions
                    .iter()
                    .filter(|s| t.sessions.contains(&s.id))
                    .collect();
                let (errors, warnings, infos) = count(
                    &mut t
                        .findings
                        .iter()
                        .chain(sessions.iter().flat_map(|s| &s.findings)),
                );
                let (outcome, verdict) = match t.outcome {
                    crate::transaction::Outcome::Success => {
                        ("success".to_owned(), Verdict::Success)
                    }
                    crate::transaction::Outcome::Failed => (
                        match t.fault.as_ref().and_then(|f| f.code) {
                            Some(code) => format!("failed {code}"),
                            None => "failed".to_owned(),
                        },
                        Verdict::Failed,
                    ),
                    crate::transaction::Outcome::Incomplete => {
                        ("incomplete".to_owned(), Verdict::Incomplete)
                    }
                };
                Some(ListRow {
                    target,
                    start: clock(&t.start),
                    cpe: t.cpe.serial.clone().unwrap_or_else(|| t.cpe.ip.clone()),
                    product_class: t.cpe.product_class.clone().unwrap_or_default(),
                    kind: t.kind.to_owned(),
                    command_key: t.command_key.clone(),
                    steps: format!("{}/{LADDER_STEPS}", steps_seen(t)),
                    outcome,
                    verdict,
                    errors,
                    warnings,
                    infos,
                })
            }
            Target::Session(i) => {
                let s = self.sessions.get(i)?;
                let (errors, warnings, infos) = count(&mut s.findings.iter());
                Some(ListRow {
                    target,
                    start: clock(&s.start),
                    cpe: s.cpe.serial.clone().unwrap_or_else(|| s.cpe.ip.clone()),
                    product_class: s.cpe.product_class.clone().unwrap_or_default(),
                    kind: format!(
                        "session {}",
                        s.events.first().map(String::as_str).unwrap_or("no Inform")
                    ),
                    command_key: String::new(),
                    steps: "-".to_owned(),
                    outcome: s.termination.to_owned(),
                    verdict: if s.termination == "normal" {
                        Verdict::Ended
                    } else {
                        Verdict::Broken
                    },
                    errors,
                    warnings,
                    infos,
                })
            }
        }
    }

    /// The ladder of a list row, as the text report lays it out, its lanes fitted into
    /// `lanes` columns.
    pub fn ladder(&self, target: Target, lanes: usize) -> Option<(String, Ladder<'_>)> {
        match target {
            Target::Transaction(i) => {
                let t = self.transactions.get(i)?;
                let session_findings: Vec<&FindingReport> = self
                    .sessions
                    .iter()
                    .filter(|s| t.sessions.contains(&s.id))
                    .flat_map(|s| &s.findings)
                    .collect();
                let title = format!(
                    "{} · {} · CPE {} · CommandKey {} · {}",
                    t.id,
                    t.kind,
                    t.cpe.serial.as_deref().unwrap_or(&t.cpe.ip),
                    t.command_key,
                    t.outcome.as_str()
                );
                Some((
                    title,
                    ladder::transaction_ladder_within(t, session_findings, lanes),
                ))
            }
            Target::Session(i) => {
                let s = self.sessions.get(i)?;
                let title = format!(
                    "{} · CPE {} · {} · {}",
                    s.id,
                    s.cpe.serial.as_deref().unwrap_or(&s.cpe.ip),
                    s.events.join(", "),
                    s.termination
                );
                Some((title, ladder::session_ladder_within(s, lanes)))
            }
        }
    }

    /// The session and message index an arrow of a ladder draws, if it is a CWMP message.
    fn message_of(&self, target: Target, source: usize) -> Option<(usize, usize)> {
        match target {
            Target::Session(i) => Some((i, source)),
            Target::Transaction(i) => {
                let step = self.transactions.get(i)?.steps.get(source)?;
                let session_id = step.session.as_ref()?;
                let frame = step.frame.as_ref()?;
                let (si, s) = self
                    .sessions
                    .iter()
                    .enumerate()
                    .find(|(_, s)| s.id == *session_id)?;
                // A step names the frame its message completed in, or began in.
                let mi = s
                    .messages
                    .iter()
                    .position(|m| m.frame == *frame || m.first_frame.as_ref() == Some(frame))?;
                Some((si, mi))
            }
        }
    }

    /// The session and message index of a ladder row, if it is the arrow of a CWMP message.
    pub fn arrow_message(&self, target: Target, row: usize) -> Option<(usize, usize)> {
        let (_, ladder) = self.ladder(target, usize::MAX)?;
        let r = ladder.rows.get(row)?;
        match (r.source, &r.shape) {
            (Some(source), Shape::Arrow { .. }) => self.message_of(target, source),
            _ => None,
        }
    }

    /// How many lines a message has, if it is the one last laid out.
    pub fn message_len(&self, session: usize, message: usize, raw: bool) -> Option<usize> {
        self.message_view
            .as_ref()
            .filter(|(k, _)| (k.session, k.message, k.raw) == (session, message, raw))
            .map(|(_, lines)| lines.len())
    }

    /// A message shown on the message screen.
    pub fn message(&self, session: usize, message: usize) -> Option<&MessageReport> {
        self.sessions.get(session)?.messages.get(message)
    }

    /// One key's action.
    pub fn on_action(&mut self, action: Action) {
        self.dirty = true;
        if self.prompt.is_some() {
            self.on_prompt(action);
            return;
        }
        self.status = None;
        match action {
            Action::Findings => self.open_findings(),
            Action::Stats => {
                if !matches!(self.screen(), Screen::Stats { .. }) {
                    self.stack.push(Screen::Stats { top: 0 })
                }
            }
            Action::Search => self.start_search(),
            Action::Filter => self.start_filter(),
            Action::Save => self.start_save(),
            Action::Type(_) | Action::Erase => {}
            Action::Quit => self.quit = true,
            Action::Help => {
                if !matches!(self.screen(), Screen::Help { .. }) {
                    self.stack.push(Screen::Help { top: 0 })
                }
            }
            Action::Back => {
                self.stack.pop();
            }
            Action::ToggleSessions => {
                if self.stack.is_empty() {
                    self.show_sessions = !self.show_sessions;
                    self.selected = self.selected.min(self.rows().len().saturating_sub(1));
                    self.keep_visible();
                }
            }
            Action::Pause => {
                self.paused = !self.paused;
                self.frozen = None;
                if self.paused {
                    self.frozen = Some(self.targets());
                }
            }
            Action::Open => self.open(),
            Action::Raw => {
                if let Some(Screen::Message { raw, top, .. }) = self.stack.last_mut() {
                    *raw = !*raw;
                    *top = 0;
                }
            }
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Home
            | Action::End => self.moved(action),
        }
    }

    fn open(&mut self) {
        match self.screen() {
            Screen::List => {
                if let Some(target) = self.targets().get(self.selected).copied() {
                    self.stack.push(Screen::Ladder {
                        target,
                        selected: 0,
                        top: 0,
                    });
                }
            }
            Screen::Ladder {
                target, selected, ..
            } => {
                if let Some((session, message)) = self.arrow_message(target, selected) {
                    self.stack.push(Screen::Message {
                        session,
                        message,
                        top: 0,
                        raw: false,
                    });
                }
            }
            Screen::Findings { .. } => self.open_finding(),
            Screen::Message { .. } | Screen::Help { .. } | Screen::Stats { .. } => {}
        }
    }

    /// Moves the selection (list, ladder) or the scroll (message, help).
    fn moved(&mut self, action: Action) {
        let page = self.page.max(1);
        let step = |at: usize, len: usize| -> usize {
            let last = len.saturating_sub(1);
            match action {
                Action::Up => at.saturating_sub(1),
                Action::Down => (at + 1).min(last),
                Action::PageUp => at.saturating_sub(page),
                Action::PageDown => (at + page).min(last),
                Action::Home => 0,
                _ => last,
            }
        };
        match self.stack.last().cloned() {
            None | Some(Screen::List) => {
                let len = self.rows().len();
                self.selected = step(self.selected, len);
                // Moving stops following, except back onto the last row.
                self.follow = self.selected + 1 >= len;
                self.keep_visible();
            }
            Some(Screen::Ladder {
                target,
                selected,
                top,
            }) => {
                let len = self
                    .ladder(target, usize::MAX)
                    .map_or(0, |(_, l)| l.rows.len());
                let selected = step(selected, len);
                let top = scrolled(top, selected, page);
                if let Some(last) = self.stack.last_mut() {
                    *last = Screen::Ladder {
                        target,
                        selected,
                        top,
                    };
                }
            }
            Some(Screen::Message {
                session,
                message,
                top,
                raw,
            }) => {
                // Scrolling stops with the last line at the bottom (once laid out).
                let len = self
                    .message_len(session, message, raw)
                    .map_or(usize::MAX / 2, |lines| lines.saturating_sub(page) + 1);
                let top = step(top, len);
                if let Some(last) = self.stack.last_mut() {
                    *last = Screen::Message {
                        session,
                        message,
                        top,
                        raw,
                    };
                }
            }
            Some(Screen::Help { top }) => {
                let top = step(top, usize::MAX / 2);
                if let Some(last) = self.stack.last_mut() {
                    *last = Screen::Help { top };
                }
            }
            Some(Screen::Stats { top }) => {
                let top = step(top, usize::MAX / 2);
                if let Some(last) = self.stack.last_mut() {
                    *last = Screen::Stats { top };
                }
            }
            Some(Screen::Findings {
                selected,
                top,
                open,
            }) => {
                let len = self.finding_lines(open).len();
                let selected = step(selected, len);
                let top = scrolled(top, selected, page);
                if let Some(last) = self.stack.last_mut() {
                    *last = Screen::Findings {
                        selected,
                        top,
                        open,
                    };
                }
            }
        }
    }

    pub(crate) fn keep_visible(&mut self) {
        self.top = scrolled(self.top, self.selected, self.page.max(1));
    }
}

/// The first row to show so that `selected` is on a page of `page` rows starting near `top`.
fn scrolled(top: usize, selected: usize, page: usize) -> usize {
    if selected < top {
        selected
    } else if selected >= top + page {
        selected + 1 - page
    } else {
        top
    }
}

/// `HH:MM:SS` of an RFC 3339 time.
fn clock(ts: &str) -> String {
    ts.get(11..19).unwrap_or(ts).to_owned()
}

/// Steps of the reference ladder a transaction shows: those observed, and 13 (applied, never
/// on the wire) when the fetch and the report both appear.
pub fn steps_seen(t: &TransactionReport) -> usize {
    let mut seen = [false; 23];
    for s in &t.steps {
        if let Some(n) = s.step
            && let Some(slot) = seen.get_mut(n as usize)
        {
            *slot = true;
        }
    }
    let fetched = (9..=12).any(|n| seen[n]);
    let reported = (14..=22).any(|n| seen[n]);
    if fetched && reported {
        seen[13] = true;
    }
    (2..=22).filter(|&n| seen[n]).count()
}

mod screens;
pub use screens::{
    FindingGroup, FindingLine, Latency, Occurrence, Owner, Prompt, PromptKind, Stats, Term,
    parse_filter, save_name,
};

#[cfg(test)]
mod tests;
