//! The screens and prompts beyond the list and the ladder: the findings by code, the
//! statistics, the search and the filter of the list, and saving a row's frames.

use super::{App, Screen, Target, scrolled};
use crate::catalogue::{Code, Severity};
use crate::extract::{self, Selector};
use crate::limits::Limits;
use crate::output::filter::Subject;
pub use crate::output::filter::{Term, parse_filter};
use crate::output::summary::Campaign;
use crate::report::{FindingReport, ReportOptions, TransactionReport};
use crate::tls::TlsKeys;
use crate::transaction::Outcome;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a prompt line is typed for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptKind {
    /// The search, applied as it is typed.
    Search,
    /// A filter expression, applied on Enter.
    Filter,
    /// The name of the pcap a row is saved to.
    Save(Target),
}

/// The prompt line being typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub text: String,
}

impl Prompt {
    /// The prompt's label.
    pub fn label(&self) -> &'static str {
        match self.kind {
            PromptKind::Search => "search",
            PromptKind::Filter => "filter",
            PromptKind::Save(_) => "save to",
        }
    }
}

/// Who raised a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    Transaction(usize),
    Session(usize),
    /// The capture (no session or transaction).
    Capture,
}

/// One finding of a code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occurrence {
    pub owner: Owner,
    /// The owner's id (`t3`, `s7`; the CPE's serial or address, or `capture`, for a finding
    /// of no session or transaction).
    pub owner_id: String,
    pub severity: Severity,
    pub message: String,
}

/// The findings of one code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindingGroup {
    pub code: &'static str,
    /// The worst severity it was raised with.
    pub severity: Severity,
    pub meaning: &'static str,
    pub occurrences: Vec<Occurrence>,
}

/// A line of the findings screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindingLine {
    Group(usize),
    /// Group, occurrence.
    Occurrence(usize, usize),
}

/// A latency's percentiles, in seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Latency {
    pub what: &'static str,
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// The figures of the statistics screen.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub transactions: usize,
    pub success: usize,
    pub failed: usize,
    pub incomplete: usize,
    /// Sessions by termination, most first.
    pub sessions: Vec<(&'static str, usize)>,
    /// Faults of the transactions: code (none: no code), meaning, count; most first.
    pub faults: Vec<(Option<u32>, String, usize)>,
    pub campaign: Campaign,
    pub latencies: Vec<Latency>,
    /// Sessions started in each minute from the first (`HH:MM` of the first), at most
    /// [`MINUTES`] buckets: `minutes_per_bucket` minutes each.
    pub first_minute: String,
    pub minutes_per_bucket: u64,
    pub per_minute: Vec<u64>,
}

/// Buckets of the sessions-per-minute chart at most.
pub const MINUTES: usize = 60;

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn latency(what: &'static str, mut values: Vec<f64>) -> Latency {
    values.retain(|v| v.is_finite() && *v >= 0.0);
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        return Latency {
            what,
            count: 0,
            p50: 0.0,
            p90: 0.0,
            p99: 0.0,
            max: 0.0,
        };
    }
    Latency {
        what,
        count: values.len(),
        p50: percentile(&values, 50.0),
        p90: percentile(&values, 90.0),
        p99: percentile(&values, 99.0),
        max: values[values.len() - 1],
    }
}

/// Minutes since the epoch of an RFC 3339 UTC time (`2026-12-06T10:37:34.…Z`).
fn minute_of(ts: &str) -> Option<i64> {
    let num = |a: usize, b: usize| ts.get(a..b)?.parse::<i64>().ok();
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hh, mm) = (num(11, 13)?, num(14, 16)?);
    // Days from civil (proleptic Gregorian).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 24 + hh) * 60 + mm)
}

/// A file name's characters: letters, digits, `.`, `_`, `-`; anything else becomes `_`.
fn sanitize(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_owned();
    if s.is_empty() { "_".to_owned() } else { s }
}

/// The default name a row is saved to: `<serial>-<CommandKey>.pcap` for a transaction
/// (its id when the CommandKey is empty), `<serial>-<session id>.pcap` for a session.
pub fn save_name(app: &App, target: Target) -> Option<String> {
    let (cpe, what) = match target {
        Target::Transaction(i) => {
            let t = app.transactions.get(i)?;
            let key = if t.command_key.is_empty() {
                t.id.clone()
            } else {
                t.command_key.clone()
            };
            (
                t.cpe.serial.clone().unwrap_or_else(|| t.cpe.ip.clone()),
                key,
            )
        }
        Target::Session(_) | Target::Open(_) => {
            let s = app.session(target)?;
            (
                s.cpe.serial.clone().unwrap_or_else(|| s.cpe.ip.clone()),
                s.id.clone(),
            )
        }
    };
    Some(format!("{}-{}.pcap", sanitize(&cpe), sanitize(&what)))
}

/// Writes what `selector` names from `files` to `pcap` (as `cwmpscope extract` does, with the
/// TLS keys `tls`), then the JSON report of that pcap beside it. The line to show.
pub fn save(
    files: &[String],
    selector: &Selector,
    pcap: &Path,
    tls: &Arc<TlsKeys>,
    limits: &Limits,
) -> Result<String, String> {
    let json = pcap.with_extension("json");
    if json == pcap {
        return Err(format!(
            "{}: the pcap cannot be named .json (the report goes there)",
            pcap.display()
        ));
    }
    let cfg = crate::pipeline::PipelineConfig {
        tls: Arc::clone(tls),
        ..crate::pipeline::PipelineConfig::default()
    }
    .with_limits(limits);
    let done = extract::extract(files, selector, pcap, &cfg).map_err(|e| e.to_string())?;
    let name = pcap.display().to_string();
    write_report(&name, &json, &cfg).map_err(|e| format!("{}: {e}", json.display()))?;
    Ok(format!(
        "wrote {} frames of {} TCP connections to {name}, its report to {}",
        done.frames,
        done.selection.conns.len(),
        json.display()
    ))
}

/// The JSON report of one capture file, analyzed with the settings of `pipeline`.
fn write_report(
    pcap: &str,
    json: &Path,
    pipeline: &crate::pipeline::PipelineConfig,
) -> Result<(), String> {
    use crate::capture::{CaptureReader, InputSpec, MergedReader};
    use crate::output::printer::{Filters, Printer};
    use crate::threads::{Analyzer, AnalyzerConfig};
    use crate::types::io_reason;
    use std::io::Write;
    let reader =
        CaptureReader::open(&InputSpec::Path(PathBuf::from(pcap)), 0).map_err(|e| e.to_string())?;
    let files = vec![reader.name().to_owned()];
    let mut reader = MergedReader::new(vec![reader]).map_err(|e| e.to_string())?;
    let opts = ReportOptions {
        show_secrets: false,
        files: files.clone(),
    };
    let mut printer = Printer::new(
        crate::output::Format::Json,
        opts,
        Filters::default(),
        false,
        false,
    );
    let mut out = std::io::BufWriter::new(std::fs::File::create(json).map_err(|e| io_reason(&e))?);
    let cfg = AnalyzerConfig {
        pipeline: pipeline.clone(),
        ..AnalyzerConfig::default()
    };
    let mut analyzer = Analyzer::new(cfg);
    let mut failed = None;
    {
        let mut on_output = |item| {
            if let Err(e) = printer.push(item, &mut out) {
                failed.get_or_insert(io_reason(&e));
            }
        };
        while let Ok(Some(frame)) = reader.next_frame() {
            analyzer.push(&frame, &mut on_output);
        }
        analyzer.finish(&mut on_output);
    }
    if let Some(e) = failed {
        return Err(e);
    }
    let capture = analyzer.capture_summary(files, Vec::new());
    printer
        .finish(capture, &mut out)
        .map_err(|e| io_reason(&e))?;
    out.flush().map_err(|e| io_reason(&e))
}

impl App {
    /// The view's state over the analysis of `files` (the files a save reads again).
    pub fn with_files(mut self, files: Vec<String>) -> App {
        self.files = files;
        self
    }

    /// The TLS keys of the analysis (a save reads the files again with them).
    pub fn with_tls(mut self, tls: Arc<TlsKeys>) -> App {
        self.tls = tls;
        self
    }

    /// The resource limits of the analysis (a save reads the files again with them).
    pub fn with_limits(mut self, limits: Limits) -> App {
        self.limits = limits;
        self
    }

    /// A prompt line is open: keys type into it.
    pub fn typing(&self) -> bool {
        self.prompt.is_some()
    }

    /// Whether a row is kept by the search and the filter.
    pub(super) fn keeps(&self, target: Target) -> bool {
        let (subject, product, extra) = match target {
            Target::Transaction(i) => {
                let Some(t) = self.transactions.get(i) else {
                    return false;
                };
                (
                    Subject::transaction(t, self.sessions_of(t).flat_map(|s| &s.findings)),
                    t.cpe.product_class.as_deref().unwrap_or(""),
                    vec![t.command_key.as_str(), t.url.as_str()],
                )
            }
            Target::Session(_) | Target::Open(_) => {
                let Some(s) = self.session(target) else {
                    return false;
                };
                (
                    Subject::session(s),
                    s.cpe.product_class.as_deref().unwrap_or(""),
                    Vec::new(),
                )
            }
        };
        if !self.search.is_empty() {
            let needle = self.search.to_lowercase();
            let found = [subject.serial, subject.ip, product]
                .iter()
                .chain(extra.iter())
                .any(|h| h.to_lowercase().contains(&needle));
            if !found {
                return false;
            }
        }
        subject.matches(&self.filter)
    }

    /// The list's rows changed (search, filter): keep the selection on a row.
    fn refiltered(&mut self) {
        self.reshow();
        self.top = self.top.min(self.selected);
        self.keep_visible();
    }

    pub(super) fn start_search(&mut self) {
        if self.stack.is_empty() {
            self.prompt = Some(Prompt {
                kind: PromptKind::Search,
                text: self.search.clone(),
            });
        }
    }

    pub(super) fn start_filter(&mut self) {
        if self.stack.is_empty() {
            self.prompt = Some(Prompt {
                kind: PromptKind::Filter,
                text: self.filter_text.clone(),
            });
        }
    }

    /// The row a save takes: the list's selection, or the ladder shown.
    fn save_target(&self) -> Option<Target> {
        match self.screen() {
            Screen::List => self.targets().get(self.selected).copied(),
            Screen::Ladder { target, .. } => Some(target),
            _ => None,
        }
    }

    pub(super) fn start_save(&mut self) {
        let Some(target) = self.save_target() else {
            return;
        };
        if let Some(name) = save_name(self, target) {
            self.prompt = Some(Prompt {
                kind: PromptKind::Save(target),
                text: name,
            });
        }
    }

    /// A key while the prompt is open.
    pub(super) fn on_prompt(&mut self, action: super::Action) {
        use super::Action;
        let Some(mut prompt) = self.prompt.take() else {
            return;
        };
        match action {
            Action::Type(c) => prompt.text.push(c),
            Action::Erase => {
                prompt.text.pop();
            }
            Action::Back => {
                if prompt.kind == PromptKind::Search {
                    self.search.clear();
                    self.refiltered();
                }
                return;
            }
            Action::Quit => {
                self.quit = true;
                return;
            }
            Action::Open => {
                match prompt.kind {
                    PromptKind::Search => {}
                    PromptKind::Filter => match parse_filter(&prompt.text) {
                        Ok(terms) => {
                            self.filter = terms;
                            self.filter_text =
                                prompt.text.split_whitespace().collect::<Vec<_>>().join(" ");
                            self.status = None;
                            self.refiltered();
                        }
                        Err(e) => {
                            self.status = Some(format!("invalid filter: {e}"));
                            self.prompt = Some(prompt);
                        }
                    },
                    PromptKind::Save(target) => {
                        // An existing file is replaced only on a second Enter.
                        let path = self.save_dir.join(prompt.text.trim());
                        if path.exists() && self.overwrite.as_ref() != Some(&path) {
                            self.status = Some(format!(
                                "{} exists: Enter again replaces it",
                                path.display()
                            ));
                            self.overwrite = Some(path);
                            self.prompt = Some(prompt);
                        } else {
                            self.overwrite = None;
                            self.save_to(target, &prompt.text);
                        }
                    }
                }
                return;
            }
            _ => {}
        }
        if prompt.kind == PromptKind::Search {
            self.search = prompt.text.clone();
            self.refiltered();
        }
        self.prompt = Some(prompt);
    }

    /// Starts writing `target`'s frames to `name` (in [`App::save_dir`]) on a thread.
    fn save_to(&mut self, target: Target, name: &str) {
        let name = name.trim();
        if name.is_empty() {
            self.status = Some("save: no file name".to_owned());
            return;
        }
        let selector = match target {
            Target::Transaction(i) => self
                .transactions
                .get(i)
                .map(|t| Selector::Transaction(t.id.clone())),
            Target::Session(i) => self
                .sessions
                .get(i)
                .and_then(|s| s.id.strip_prefix('s')?.parse().ok())
                .map(Selector::Session),
            Target::Open(_) => {
                self.status = Some("save: the session is still in progress".to_owned());
                return;
            }
        };
        let Some(selector) = selector else {
            return;
        };
        if self.files.is_empty() {
            self.status = Some("save: the view has no capture files to read again".to_owned());
            return;
        }
        let path = self.save_dir.join(name);
        let files = self.files.clone();
        let tls = Arc::clone(&self.tls);
        let limits = self.limits.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let line = match save(&files, &selector, &path, &tls, &limits) {
                Ok(line) => line,
                Err(e) => format!("save failed: {e}"),
            };
            let _ = tx.send(line);
        });
        self.jobs.push(rx);
        self.status = Some(format!("saving to {}…", self.save_dir.join(name).display()));
    }

    /// Takes the results of finished saves into the status line.
    pub fn poll_jobs(&mut self) {
        let mut i = 0;
        while i < self.jobs.len() {
            match self.jobs[i].try_recv() {
                Ok(line) => {
                    self.status = Some(line);
                    self.dirty = true;
                    self.jobs.remove(i);
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => i += 1,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    self.jobs.remove(i);
                }
            }
        }
    }

    /// Waits for every save under way (tests).
    pub fn wait_jobs(&mut self) {
        for rx in std::mem::take(&mut self.jobs) {
            if let Ok(line) = rx.recv() {
                self.status = Some(line);
            }
        }
        self.dirty = true;
    }

    /// Every finding of the capture, grouped by code: worst severity first, then most
    /// frequent, then code.
    pub fn finding_groups(&self) -> Vec<FindingGroup> {
        let mut groups: Vec<FindingGroup> = Vec::new();
        let mut add = |owner: Owner, owner_id: &str, f: &FindingReport| {
            let occurrence = Occurrence {
                owner,
                owner_id: owner_id.to_owned(),
                severity: f.severity,
                message: f.message.clone(),
            };
            match groups.iter_mut().find(|g| g.code == f.code) {
                Some(g) => {
                    g.severity = g.severity.max(f.severity);
                    g.occurrences.push(occurrence);
                }
                None => groups.push(FindingGroup {
                    code: f.code,
                    severity: f.severity,
                    meaning: Code::from_id(f.code).map_or("", Code::meaning),
                    occurrences: vec![occurrence],
                }),
            }
        };
        for (i, t) in self.transactions.enumerate() {
            for f in &t.findings {
                add(Owner::Transaction(i), &t.id, f);
            }
        }
        for (i, s) in self.sessions.enumerate() {
            for f in &s.findings {
                add(Owner::Session(i), &s.id, f);
            }
        }
        for f in &self.capture_findings {
            // A finding of no session or transaction names the CPE it concerns, if known.
            let owner = f
                .cpe
                .as_ref()
                .map_or("capture", |c| c.serial.as_deref().unwrap_or(&c.ip));
            add(Owner::Capture, owner, f);
        }
        groups.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.occurrences.len().cmp(&a.occurrences.len()))
                .then(a.code.cmp(b.code))
        });
        groups
    }

    /// The lines of the findings screen with `open`'s occurrences listed under it.
    pub fn finding_lines(&self, open: Option<&'static str>) -> Vec<FindingLine> {
        let mut lines = Vec::new();
        for (gi, g) in self.finding_groups().iter().enumerate() {
            lines.push(FindingLine::Group(gi));
            if open == Some(g.code) {
                lines.extend((0..g.occurrences.len()).map(|oi| FindingLine::Occurrence(gi, oi)));
            }
        }
        lines
    }

    pub(super) fn open_findings(&mut self) {
        if !matches!(self.screen(), Screen::Findings { .. }) {
            self.stack.push(Screen::Findings {
                selected: 0,
                top: 0,
                open: None,
            });
        }
    }

    /// Enter on the findings screen: a code opens or closes its occurrences; an occurrence
    /// opens the ladder of its transaction or session (a session of a transaction: the
    /// transaction's).
    pub(super) fn open_finding(&mut self) {
        let Screen::Findings {
            selected,
            top,
            open,
        } = self.screen()
        else {
            return;
        };
        let groups = self.finding_groups();
        let lines = self.finding_lines(open);
        match lines.get(selected) {
            Some(FindingLine::Group(gi)) => {
                let code = groups[*gi].code;
                let open = if open == Some(code) { None } else { Some(code) };
                // Keep the selection on the code (opening one above moves it).
                let selected = self
                    .finding_lines(open)
                    .iter()
                    .position(|l| *l == FindingLine::Group(*gi))
                    .unwrap_or(0);
                if let Some(last) = self.stack.last_mut() {
                    *last = Screen::Findings {
                        selected,
                        top: scrolled(top.min(selected), selected, self.page.max(1)),
                        open,
                    };
                }
            }
            Some(FindingLine::Occurrence(gi, oi)) => {
                let target = match groups[*gi].occurrences[*oi].owner {
                    Owner::Transaction(i) => Some(Target::Transaction(i)),
                    Owner::Session(i) => Some(
                        self.sessions
                            .get(i)
                            .and_then(|s| self.owner_of(&s.id))
                            .map_or(Target::Session(i), Target::Transaction),
                    ),
                    Owner::Capture => None,
                };
                match target {
                    Some(target) => self.stack.push(Screen::Ladder {
                        target,
                        selected: 0,
                        top: 0,
                    }),
                    None => self.status = Some("a finding of the capture has no ladder".to_owned()),
                }
            }
            None => {}
        }
    }

    /// The figures of the statistics screen.
    pub fn stats(&self) -> Stats {
        let mut st = Stats {
            transactions: self.transactions.len(),
            minutes_per_bucket: 1,
            ..Stats::default()
        };
        let mut faults: Vec<(Option<u32>, String, usize)> = Vec::new();
        let (mut fetch, mut report) = (Vec::new(), Vec::new());
        for t in self.transactions.iter() {
            match t.outcome {
                Outcome::Success => st.success += 1,
                Outcome::Failed => st.failed += 1,
                Outcome::Incomplete => st.incomplete += 1,
            }
            if let Some(f) = &t.fault {
                let meaning = f.meaning.map_or_else(|| f.string.clone(), str::to_owned);
                match faults.iter_mut().find(|x| x.0 == f.code) {
                    Some(x) => x.2 += 1,
                    None => faults.push((f.code, meaning, 1)),
                }
            }
            st.campaign.add(t);
            fetch.extend(file_server_latencies(t));
            if let Some(s) = t.steps.iter().find(|s| s.step == Some(18)) {
                let start = t.steps.first().map_or(0.0, |f| f.rel);
                report.push(s.rel - start);
            }
        }
        faults.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        st.faults = faults;
        let mut inform = Vec::new();
        let mut terminations: Vec<(&'static str, usize)> = Vec::new();
        let mut minutes = Vec::new();
        for s in self.sessions.iter() {
            match terminations.iter_mut().find(|x| x.0 == s.termination) {
                Some(x) => x.1 += 1,
                None => terminations.push((s.termination, 1)),
            }
            minutes.extend(minute_of(&s.start));
            for (i, m) in s.messages.iter().enumerate() {
                if m.from == "cpe"
                    && m.rpcs.iter().any(|r| r == "Inform")
                    && let Some(answer) = s.messages[i + 1..].iter().find(|a| a.from == "acs")
                {
                    inform.push(answer.ts_nanos.saturating_sub(m.ts_nanos) as f64 / 1e9);
                }
            }
        }
        terminations.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        st.sessions = terminations;
        st.latencies = vec![
            latency("ACS answers an Inform", inform),
            latency("file server answers a GET", fetch),
            latency("Download to TransferComplete", report),
        ];
        if let (Some(&first), Some(&last)) = (minutes.iter().min(), minutes.iter().max()) {
            let span = (last - first + 1) as u64;
            let per = span.div_ceil(MINUTES as u64).max(1);
            st.minutes_per_bucket = per;
            st.per_minute = vec![0; span.div_ceil(per) as usize];
            for m in minutes {
                st.per_minute[((m - first) as u64 / per) as usize] += 1;
            }
            let start = self
                .sessions
                .iter()
                .map(|s| s.start.as_str())
                .min()
                .unwrap_or("");
            st.first_minute = start.get(11..16).unwrap_or(start).to_owned();
        }
        st
    }
}

/// The file server's answers to the GETs of a transaction: step 9 to 10, 11 to 12 (seconds).
fn file_server_latencies(t: &TransactionReport) -> Vec<f64> {
    let mut out = Vec::new();
    for (i, s) in t.steps.iter().enumerate() {
        let answer = match s.step {
            Some(9) => 10,
            Some(11) => 12,
            _ => continue,
        };
        if let Some(a) = t.steps[i + 1..].iter().find(|a| a.step == Some(answer)) {
            out.push(a.rel - s.rel);
        }
    }
    out
}
