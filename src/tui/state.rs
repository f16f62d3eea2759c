//! The interactive view's state, apart from any terminal: the rows that arrived, the screen
//! stack, the selection and scroll of each screen. Driven by [`UiEvent`]s from the analysis
//! and [`Action`]s from the keyboard; drawing only reads it.

use super::message;
use crate::catalogue::Severity;
use crate::output::ladder::{self, Ladder, Shape};
use crate::report::{
    CaptureSummary, FindingReport, MessageReport, SessionReport, Summary, TransactionReport,
};
use crate::transaction::Outcome;
use ratatui::text::Line;
use rustc_hash::FxHashMap;
use std::cmp::Ordering;
use std::collections::VecDeque;

/// What the analysis sends the view.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum UiEvent {
    Session(SessionReport),
    Transaction(TransactionReport),
    /// A finding of no session or transaction.
    Finding(FindingReport),
    /// The sessions open now, as they stand (replacing the previous ones).
    Open(Vec<SessionReport>),
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
    /// Sort the list by the next column to the right, or to the left.
    SortNext,
    SortPrevious,
    /// Reverse the list's order.
    SortReverse,
    /// A character typed into the open prompt.
    Type(char),
    /// Erase the prompt's last character.
    Erase,
    /// The message's raw bytes, or back to its layout.
    Raw,
}

/// A row of the list: a transaction, a session that belongs to no transaction, or a session
/// still in progress (an index into [`App::open`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Transaction(usize),
    Session(usize),
    Open(usize),
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
    /// A session still open.
    InProgress,
}

/// One list row, ready to draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRow {
    pub target: Target,
    /// The start, as the report writes it (the order of the list).
    pub at: String,
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

/// Reports in the order they arrived, addressed by that order; the oldest can be released
/// (the live view's memory cap) without moving the others.
#[derive(Debug)]
pub struct Slots<T> {
    base: usize,
    items: VecDeque<Option<T>>,
    live: usize,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            base: 0,
            items: VecDeque::new(),
            live: 0,
        }
    }
}

impl<T> Slots<T> {
    /// Keeps `item`; its address.
    pub fn push(&mut self, item: T) -> usize {
        self.items.push_back(Some(item));
        self.live += 1;
        self.base + self.items.len() - 1
    }

    pub fn get(&self, at: usize) -> Option<&T> {
        self.items.get(at.checked_sub(self.base)?)?.as_ref()
    }

    /// Forgets the item at `at`.
    pub fn release(&mut self, at: usize) -> Option<T> {
        let item = self.items.get_mut(at.checked_sub(self.base)?)?.take()?;
        self.live -= 1;
        while matches!(self.items.front(), Some(None)) {
            self.items.pop_front();
            self.base += 1;
        }
        Some(item)
    }

    /// Items that ever arrived, released ones included.
    pub fn arrived(&self) -> u64 {
        (self.base + self.items.len()) as u64
    }

    /// Items kept.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter().flatten()
    }

    /// The items kept with their addresses.
    pub fn enumerate(&self) -> impl Iterator<Item = (usize, &T)> {
        self.items
            .iter()
            .enumerate()
            .filter_map(|(k, item)| Some((self.base + k, item.as_ref()?)))
    }
}

impl<T> std::ops::Index<usize> for Slots<T> {
    type Output = T;
    fn index(&self, at: usize) -> &T {
        self.get(at).expect("an item kept")
    }
}

/// The list's order: by a column, then by start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sort {
    /// Index into the list's columns (0: start).
    pub column: usize,
    pub reverse: bool,
}

/// Columns the list can be sorted by.
pub const SORT_COLUMNS: usize = 8;

/// Counts of what arrived (and was not released), for the header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub success: usize,
    pub failed: usize,
    pub incomplete: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Totals {
    fn findings(&mut self, findings: &[FindingReport], sign: isize) {
        for f in findings {
            let n = match f.severity {
                Severity::Error => &mut self.errors,
                Severity::Warning => &mut self.warnings,
                Severity::Info => &mut self.infos,
            };
            *n = n.saturating_add_signed(sign);
        }
    }

    fn outcome(&mut self, outcome: Outcome, sign: isize) {
        let n = match outcome {
            Outcome::Success => &mut self.success,
            Outcome::Failed => &mut self.failed,
            Outcome::Incomplete => &mut self.incomplete,
        };
        *n = n.saturating_add_signed(sign);
    }
}

/// Rows of a capped list whose cells' table is made ahead at its final size (larger caps grow
/// it as usual).
const PRESIZED_ROWS: usize = 200_000;

/// Capture-wide findings kept at most (the oldest go first).
const MAX_CAPTURE_FINDINGS: usize = 100_000;

/// The view's whole state.
#[derive(Debug, Default)]
pub struct App {
    /// What is being read (file names).
    pub source: String,
    pub sessions: Slots<SessionReport>,
    pub transactions: Slots<TransactionReport>,
    pub capture_findings: VecDeque<FindingReport>,
    /// The sessions in progress, as the analysis last showed them.
    pub open: Vec<SessionReport>,
    /// Open sessions listed (the first of `open`; the others are kept for a screen showing
    /// one that ended meanwhile).
    open_listed: usize,
    /// A newer list of open sessions that came while paused.
    pending_open: Option<Vec<SessionReport>>,
    /// Session ids to their address, and to the transaction they belong to.
    session_index: FxHashMap<String, usize>,
    owner: FxHashMap<String, usize>,
    /// The cells of every row, made when it arrived.
    cells: FxHashMap<Target, ListRow>,
    /// Every row in the list's order, before the search and the filter.
    order: Vec<Target>,
    /// The rows shown: those of `order` the search, the filter and the sessions toggle keep
    /// (frozen while paused).
    shown: Vec<Target>,
    /// Finished rows in the order they arrived: the memory cap releases the first.
    arrivals: VecDeque<Target>,
    /// Finished rows (transactions and sessions of none) kept.
    finished_rows: usize,
    /// At most this many finished rows are kept (live and stdin); `None`: all.
    pub max_rows: Option<usize>,
    /// Rows released by the cap so far.
    pub released: u64,
    pub totals: Totals,
    pub sort: Sort,
    /// Sessions that belong to no transaction are listed too.
    pub show_sessions: bool,
    /// The list's selected row and first row shown.
    pub selected: usize,
    pub top: usize,
    /// The selection follows new rows until the user moves.
    pub follow: bool,
    /// The list is frozen (new rows are kept, not shown).
    pub paused: bool,
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
    /// The keys the analysis decrypted TLS with, for reading the files again.
    pub tls: std::sync::Arc<crate::tls::TlsKeys>,
    /// The resource limits of the analysis, for reading the files again.
    pub limits: crate::limits::Limits,
    /// Where a saved pcap goes (empty: the current directory).
    pub save_dir: std::path::PathBuf,
    /// An existing file the user was warned about: the next Enter replaces it.
    overwrite: Option<std::path::PathBuf>,
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
    /// How far the reading of files got, set by the run loop while reading.
    pub progress: Option<ReadProgress>,
    /// Secrets are shown in messages (`--show-secrets`).
    pub show_secrets: bool,
    /// The lines of the message last laid out (drawing slices them as it scrolls).
    pub message_view: Option<(message::Key, Vec<Line<'static>>)>,
}

/// How far the reading of files of known size got.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ReadProgress {
    pub read: u64,
    pub total: u64,
    /// Bytes a second since the reading began.
    pub rate: f64,
}

impl ReadProgress {
    pub fn percent(&self) -> u8 {
        let read = self.read.min(self.total);
        u8::try_from(read.saturating_mul(100) / self.total.max(1)).unwrap_or(100)
    }

    /// Seconds left at the rate so far.
    pub fn seconds_left(&self) -> Option<f64> {
        (self.rate > 0.0).then(|| self.total.saturating_sub(self.read) as f64 / self.rate)
    }
}

/// Steps of the 22-step reference ladder a transaction can show on the wire or imply (2 to 22).
const LADDER_STEPS: usize = 21;

/// Finding counts by severity: errors, warnings, infos.
fn severities<'a>(findings: impl Iterator<Item = &'a FindingReport>) -> (usize, usize, usize) {
    let (mut e, mut w, mut i) = (0, 0, 0);
    for f in findings {
        match f.severity {
            Severity::Error => e += 1,
            Severity::Warning => w += 1,
            Severity::Info => i += 1,
        }
    }
    (e, w, i)
}

/// The number of steps of a `19/21` cell.
fn steps_number(steps: &str) -> Option<usize> {
    steps.split('/').next()?.parse().ok()
}

/// The order of two rows by `sort` (then by start, then by kind of row and arrival).
fn compare(cells: &FxHashMap<Target, ListRow>, sort: Sort, a: Target, b: Target) -> Ordering {
    let (Some(x), Some(y)) = (cells.get(&a), cells.get(&b)) else {
        return a.cmp(&b);
    };
    let by_column = match sort.column {
        1 => x.cpe.cmp(&y.cpe),
        2 => x.product_class.cmp(&y.product_class),
        3 => x.kind.cmp(&y.kind),
        4 => x.command_key.cmp(&y.command_key),
        5 => steps_number(&x.steps).cmp(&steps_number(&y.steps)),
        6 => x.outcome.cmp(&y.outcome),
        7 => (x.errors, x.warnings, x.infos).cmp(&(y.errors, y.warnings, y.infos)),
        _ => Ordering::Equal,
    };
    let order = by_column.then_with(|| x.at.cmp(&y.at)).then(a.cmp(&b));
    if sort.reverse { order.reverse() } else { order }
}

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

    /// Keeps at most `max` finished rows, releasing the oldest (live and stdin).
    pub fn with_max_rows(mut self, max: Option<usize>) -> App {
        self.max_rows = max;
        // Rows come and go for as long as the input lasts: the table of their cells is made at
        // twice what it holds (finished rows and those in progress), the size churn would
        // otherwise double it to some time after it filled (see `types::churn_capacity`).
        if let Some(max) = max {
            self.cells.reserve(
                crate::types::churn_capacity_within(max, PRESIZED_ROWS)
                    + 2 * crate::pipeline::MAX_OPEN_SHOWN,
            );
        }
        self
    }

    /// The screen on top.
    pub fn screen(&self) -> Screen {
        self.stack.last().cloned().unwrap_or(Screen::List)
    }

    /// One event from the analysis.
    pub fn on_event(&mut self, event: UiEvent) {
        match event {
            UiEvent::Session(s) => self.add_session(s),
            UiEvent::Transaction(t) => self.add_transaction(t),
            UiEvent::Finding(f) => {
                self.totals.findings(std::slice::from_ref(&f), 1);
                if self.capture_findings.len() >= MAX_CAPTURE_FINDINGS
                    && let Some(old) = self.capture_findings.pop_front()
                {
                    self.totals.findings(std::slice::from_ref(&old), -1);
                }
                self.capture_findings.push_back(f);
            }
            UiEvent::Open(open) => {
                if self.paused {
                    self.pending_open = Some(open);
                } else {
                    self.set_open(open);
                }
            }
            UiEvent::Done { capture, summary } => {
                self.pending_open = None;
                self.set_open(Vec::new());
                self.done = Some((capture, summary));
            }
            UiEvent::Failed(e) => self.error = Some(e),
        }
        self.enforce_max_rows();
        if self.follow && self.stack.is_empty() {
            self.selected = self.shown.len().saturating_sub(1);
            self.keep_visible();
        }
        self.dirty = true;
    }

    fn add_session(&mut self, s: SessionReport) {
        self.totals.findings(&s.findings, 1);
        let id = s.id.clone();
        let at = self.sessions.push(s);
        self.session_index.insert(id.clone(), at);
        // It was in progress: that row goes.
        if let Some(k) = self.open[..self.open_listed]
            .iter()
            .position(|o| o.id == id)
        {
            self.remove_row(Target::Open(k));
            self.retarget(Target::Open(k), Target::Session(at));
        }
        if !self.owner.contains_key(&id) {
            self.add_row(Target::Session(at));
            self.arrivals.push_back(Target::Session(at));
        }
    }

    fn add_transaction(&mut self, t: TransactionReport) {
        self.totals.findings(&t.findings, 1);
        self.totals.outcome(t.outcome, 1);
        let sessions = t.sessions.clone();
        let at = self.transactions.push(t);
        for id in sessions {
            if let Some(&s) = self.session_index.get(&id) {
                // No longer a row of its own (while paused, it stays where it is shown).
                self.remove_row(Target::Session(s));
            }
            self.owner.insert(id, at);
        }
        self.add_row(Target::Transaction(at));
        self.arrivals.push_back(Target::Transaction(at));
    }

    /// Replaces the sessions in progress.
    fn set_open(&mut self, mut open: Vec<SessionReport>) {
        let listed = open.len();
        // A screen on a session in progress keeps it: by its new place, else as it ended,
        // else as it was last seen.
        for k in 0..self.open.len() {
            let old = Target::Open(k);
            if !self.on_screen(old) {
                continue;
            }
            let id = &self.open[k].id;
            let new = if let Some(j) = open.iter().position(|o| o.id == *id) {
                Target::Open(j)
            } else if let Some(&s) = self.session_index.get(id) {
                Target::Session(s)
            } else {
                open.push(self.open[k].clone());
                Target::Open(open.len() - 1)
            };
            self.retarget(old, new);
        }
        let keep = self.shown.get(self.selected).copied();
        for k in 0..self.open_listed {
            self.remove_row(Target::Open(k));
            self.cells.remove(&Target::Open(k));
        }
        self.open = open;
        self.open_listed = listed;
        for k in 0..listed {
            let target = Target::Open(k);
            if let Some(row) = self.row(target) {
                self.cells.insert(target, row);
            }
            let at = self.order_position(&self.order, target);
            self.order.insert(at, target);
            if !self.paused && self.visible(target) {
                let at = self.order_position(&self.shown, target);
                self.shown.insert(at, target);
            }
        }
        self.reselect(keep);
    }

    /// Whether a screen on the stack shows `target`.
    fn on_screen(&self, target: Target) -> bool {
        self.stack
            .iter()
            .any(|s| matches!(s, Screen::Ladder { target: t, .. } if *t == target))
    }

    /// Screens showing `old` show `new`.
    fn retarget(&mut self, old: Target, new: Target) {
        for screen in &mut self.stack {
            if let Screen::Ladder { target, .. } = screen
                && *target == old
            {
                *target = new;
            }
        }
    }

    /// Where `target` goes in `list` (sorted by the list's order).
    fn order_position(&self, list: &[Target], target: Target) -> usize {
        list.partition_point(|&x| compare(&self.cells, self.sort, x, target) == Ordering::Less)
    }

    /// Lists a new row where the order puts it.
    fn add_row(&mut self, target: Target) {
        let Some(row) = self.row(target) else {
            return;
        };
        self.cells.insert(target, row);
        if !matches!(target, Target::Open(_)) {
            self.finished_rows += 1;
        }
        let at = self.order_position(&self.order, target);
        self.order.insert(at, target);
        if self.paused || !self.visible(target) {
            return;
        }
        let at = self.order_position(&self.shown, target);
        self.shown.insert(at, target);
        // The selection stays on its row.
        if !self.follow && at <= self.selected && self.shown.len() > 1 {
            self.selected += 1;
            self.keep_visible();
        }
    }

    /// Takes a row out of the list (it ended in progress, joined a transaction, was
    /// released). While paused it stays shown, unless released.
    fn remove_row(&mut self, target: Target) {
        if !self.cells.contains_key(&target) {
            return;
        }
        let at = self.order_position(&self.order, target);
        if self.order.get(at) == Some(&target) {
            self.order.remove(at);
        }
        if !self.paused {
            let at = self.order_position(&self.shown, target);
            if self.shown.get(at) == Some(&target) {
                self.shown.remove(at);
                if at < self.selected {
                    self.selected -= 1;
                }
                self.selected = self.selected.min(self.shown.len().saturating_sub(1));
            }
        }
        if !matches!(target, Target::Open(_)) {
            self.finished_rows -= 1;
        }
        // A paused list still draws it.
        if !self.paused {
            self.cells.remove(&target);
        }
    }

    /// Takes a row out of the list for good, even from a paused one.
    fn release_row(&mut self, target: Target) {
        self.remove_row(target);
        if self.paused {
            self.shown.retain(|t| *t != target);
        }
        self.cells.remove(&target);
    }

    /// Releases the oldest finished rows beyond [`App::max_rows`], with their sessions.
    fn enforce_max_rows(&mut self) {
        let Some(max) = self.max_rows else {
            return;
        };
        let mut released_any = false;
        while self.finished_rows > max {
            let Some(oldest) = self.arrivals.pop_front() else {
                break;
            };
            match oldest {
                Target::Transaction(i) => {
                    self.release_row(oldest);
                    if let Some(t) = self.transactions.release(i) {
                        self.totals.findings(&t.findings, -1);
                        self.totals.outcome(t.outcome, -1);
                        for id in &t.sessions {
                            self.owner.remove(id);
                            if let Some(s) = self.session_index.remove(id)
                                && let Some(s) = self.sessions.release(s)
                            {
                                self.totals.findings(&s.findings, -1);
                            }
                        }
                    }
                }
                Target::Session(i) => {
                    // A session of a transaction goes with it (and may be gone already).
                    let owned = self
                        .sessions
                        .get(i)
                        .is_none_or(|s| self.owner.contains_key(&s.id));
                    if owned {
                        continue;
                    }
                    self.release_row(oldest);
                    if let Some(s) = self.sessions.release(i) {
                        self.session_index.remove(&s.id);
                        self.totals.findings(&s.findings, -1);
                    }
                }
                Target::Open(_) => continue,
            }
            self.released += 1;
            released_any = true;
        }
        if released_any {
            self.selected = self.selected.min(self.shown.len().saturating_sub(1));
            self.keep_visible();
            // A screen on a released row goes back to the list.
            let gone = self.stack.iter().any(|s| match s {
                Screen::Ladder { target, .. } => self.ladder(*target, 10).is_none(),
                Screen::Message { session, .. } => self.sessions.get(*session).is_none(),
                _ => false,
            });
            if gone {
                self.stack.clear();
                self.status = Some("the row shown was released (oldest rows go first)".into());
            }
        }
    }

    /// Whether the sessions toggle, the search and the filter keep a row.
    fn visible(&self, target: Target) -> bool {
        if !self.show_sessions && !matches!(target, Target::Transaction(_)) {
            return false;
        }
        (self.search.is_empty() && self.filter.is_empty()) || self.keeps(target)
    }

    /// The rows shown again from the whole order (search, filter, toggle, sort changed).
    pub(crate) fn reshow(&mut self) {
        let keep = self.shown.get(self.selected).copied();
        // Rows kept drawn only for a paused list go.
        self.cells.retain(|t, _| match *t {
            Target::Transaction(i) => self.transactions.get(i).is_some(),
            Target::Session(i) => self
                .sessions
                .get(i)
                .is_some_and(|s| !self.owner.contains_key(&s.id)),
            Target::Open(k) => k < self.open_listed,
        });
        self.shown = self
            .order
            .iter()
            .copied()
            .filter(|&t| self.visible(t))
            .collect();
        self.reselect(keep);
    }

    /// The selection back on `keep` if it is shown (else where it was), or on the last row
    /// when following.
    fn reselect(&mut self, keep: Option<Target>) {
        let last = self.shown.len().saturating_sub(1);
        if self.follow {
            self.selected = last;
        } else if let Some(keep) = keep {
            let at = self.order_position(&self.shown, keep);
            self.selected = if self.shown.get(at) == Some(&keep) {
                at
            } else {
                self.selected.min(last)
            };
        }
        self.selected = self.selected.min(last);
        self.keep_visible();
    }

    /// The rows shown, in the list's order.
    pub fn targets(&self) -> &[Target] {
        &self.shown
    }

    /// Sessions in progress listed.
    pub fn targets_open(&self) -> usize {
        self.open_listed
    }

    /// The cells of a row shown.
    pub fn cell(&self, target: Target) -> Option<&ListRow> {
        self.cells.get(&target)
    }

    /// The rows shown, ready to draw.
    pub fn rows(&self) -> Vec<ListRow> {
        self.shown
            .iter()
            .filter_map(|t| self.cells.get(t).cloned())
            .collect()
    }

    /// The transaction a session belongs to, if it arrived.
    pub fn owner_of(&self, session_id: &str) -> Option<usize> {
        self.owner.get(session_id).copied()
    }

    /// The sessions of a transaction that are kept.
    fn sessions_of<'a>(
        &'a self,
        t: &'a TransactionReport,
    ) -> impl Iterator<Item = &'a SessionReport> + 'a {
        t.sessions
            .iter()
            .filter_map(|id| self.sessions.get(*self.session_index.get(id)?))
    }

    /// The cells of a row.
    fn row(&self, target: Target) -> Option<ListRow> {
        match target {
            Target::Transaction(i) => {
                let t = self.transactions.get(i)?;
                let (errors, warnings, infos) = severities(
                    t.findings
                        .iter()
                        .chain(self.sessions_of(t).flat_map(|s| &s.findings)),
                );
                let (outcome, verdict) = match t.outcome {
                    Outcome::Success => ("success".to_owned(), Verdict::Success),
                    Outcome::Failed => (
                        match t.fault.as_ref().and_then(|f| f.code) {
                            Some(code) => format!("failed {code}"),
                            None => "failed".to_owned(),
                        },
                        Verdict::Failed,
                    ),
                    Outcome::Incomplete => ("incomplete".to_owned(), Verdict::Incomplete),
                };
                Some(ListRow {
                    target,
                    at: t.start.clone(),
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
            Target::Session(_) | Target::Open(_) => {
                let s = self.session(target)?;
                let (errors, warnings, infos) = severities(s.findings.iter());
                let verdict = if matches!(target, Target::Open(_)) {
                    Verdict::InProgress
                } else if s.termination == "normal" {
                    Verdict::Ended
                } else {
                    Verdict::Broken
                };
                Some(ListRow {
                    target,
                    at: s.start.clone(),
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
                    verdict,
                    errors,
                    warnings,
                    infos,
                })
            }
        }
    }

    /// The session a row shows (a session of its own or in progress).
    pub fn session(&self, target: Target) -> Option<&SessionReport> {
        match target {
            Target::Session(i) => self.sessions.get(i),
            Target::Open(k) => self.open.get(k),
            Target::Transaction(_) => None,
        }
    }

    /// The ladder of a list row, as the text report lays it out, its lanes fitted into
    /// `lanes` columns.
    pub fn ladder(&self, target: Target, lanes: usize) -> Option<(String, Ladder<'_>)> {
        match target {
            Target::Transaction(i) => {
                let t = self.transactions.get(i)?;
                let session_findings: Vec<&FindingReport> =
                    self.sessions_of(t).flat_map(|s| &s.findings).collect();
                // The outcome first: a narrow screen cuts the title at the right.
                let outcome = self
                    .cells
                    .get(&target)
                    .map_or(t.outcome.as_str(), |row| row.outcome.as_str());
                let title = format!(
                    "{} · {outcome} · {} · CPE {} · CommandKey {}",
                    t.id,
                    t.kind,
                    t.cpe.serial.as_deref().unwrap_or(&t.cpe.ip),
                    t.command_key,
                );
                Some((
                    title,
                    ladder::transaction_ladder_within(t, session_findings, lanes),
                ))
            }
            Target::Session(_) | Target::Open(_) => {
                let s = self.session(target)?;
                let title = format!(
                    "{} · {} · CPE {} · {}",
                    s.id,
                    s.termination,
                    s.cpe.serial.as_deref().unwrap_or(&s.cpe.ip),
                    s.events.join(", "),
                );
                Some((title, ladder::session_ladder_within(s, lanes)))
            }
        }
    }

    /// The session and message index an arrow of a ladder draws, if it is a CWMP message.
    fn message_of(&self, target: Target, source: usize) -> Option<(usize, usize)> {
        match target {
            Target::Session(i) => Some((i, source)),
            // Its messages open once it has ended.
            Target::Open(_) => None,
            Target::Transaction(i) => {
                let step = self.transactions.get(i)?.steps.get(source)?;
                let session_id = step.session.as_ref()?;
                let frame = step.frame.as_ref()?;
                let si = *self.session_index.get(session_id)?;
                let s = self.sessions.get(si)?;
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
            Action::SortNext | Action::SortPrevious | Action::SortReverse => self.resort(action),
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
                    self.reshow();
                }
            }
            Action::Pause => {
                self.paused = !self.paused;
                if !self.paused {
                    if let Some(open) = self.pending_open.take() {
                        self.set_open(open);
                    }
                    self.reshow();
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
                if let Some(target) = self.shown.get(self.selected).copied() {
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
                let source = self
                    .ladder(target, usize::MAX)
                    .and_then(|(_, l)| l.rows.get(selected).map(|r| (r.source, r.shape.clone())));
                if let Some((Some(source), Shape::Arrow { .. })) = source {
                    if let Some((session, message)) = self.message_of(target, source) {
                        self.stack.push(Screen::Message {
                            session,
                            message,
                            top: 0,
                            raw: false,
                        });
                    } else if matches!(target, Target::Open(_)) {
                        self.status =
                            Some("in progress: its messages open once the session ends".into());
                    }
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
                let len = self.shown.len();
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

    /// Another sort column, or the other direction; the selection stays on its row.
    fn resort(&mut self, action: Action) {
        if !self.stack.is_empty() {
            return;
        }
        match action {
            Action::SortNext => self.sort.column = (self.sort.column + 1) % SORT_COLUMNS,
            Action::SortPrevious => {
                self.sort.column = (self.sort.column + SORT_COLUMNS - 1) % SORT_COLUMNS
            }
            _ => self.sort.reverse = !self.sort.reverse,
        }
        let (cells, sort) = (&self.cells, self.sort);
        self.order.sort_by(|&a, &b| compare(cells, sort, a, b));
        self.reshow();
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
