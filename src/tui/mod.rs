//! The interactive terminal view (`cwmpscope tui FILE…`): a list of transactions and sessions
//! that fills as the capture is analyzed, the ladder of one, the message behind an arrow, as
//! sngrep shows SIP calls. The analysis runs on its own thread and hands report objects over a
//! channel ([`ChannelSink`], one more printer of the same stream); the terminal thread only
//! draws and answers keys, redrawing at most about 30 times a second and only on change.
//!
//! - [`state`]: what the view holds and how events and keys change it (no terminal).
//! - [`draw`]: the screens drawn from that state.
//! - [`message`]: the text of one message (its head, its body as XML, its raw bytes).

pub mod draw;
pub mod message;
pub mod state;

use crate::limits::Limits;
use crate::live::source::{Progress, Source};
use crate::output::Sink;
use crate::output::printer::{Filters, Printer};
use crate::report::{
    CaptureSummary, FindingReport, ReportOptions, SessionReport, Summary, TransactionReport,
};
use crate::threads::{Analyzer, AnalyzerConfig};
use crate::tls::TlsKeys;
use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyCode, KeyEvent, KeyEventKind,
    KeyModifiers, MouseEvent, MouseEventKind,
};
use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGTERM};
use state::{Action, App, ReadProgress, UiEvent};
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::time::{Duration, Instant};

/// A printer that hands every report object to the view.
pub struct ChannelSink {
    tx: SyncSender<UiEvent>,
    /// When the sessions in progress were last sent.
    open_sent: Option<Instant>,
}

/// The sessions in progress are sent at most this often (a capture read faster than real
/// time would otherwise send them for every second of capture time).
const OPEN_SENT_EVERY: Duration = Duration::from_millis(250);

impl Sink for ChannelSink {
    fn session(&mut self, session: SessionReport, _out: &mut dyn Write) -> io::Result<()> {
        self.send(UiEvent::Session(session))
    }

    fn transaction(
        &mut self,
        transaction: TransactionReport,
        _out: &mut dyn Write,
    ) -> io::Result<()> {
        self.send(UiEvent::Transaction(transaction))
    }

    fn finding(&mut self, finding: FindingReport, _out: &mut dyn Write) -> io::Result<()> {
        self.send(UiEvent::Finding(finding))
    }

    fn wants_open(&self) -> bool {
        self.open_sent
            .is_none_or(|at| at.elapsed() >= OPEN_SENT_EVERY)
    }

    fn open(&mut self, sessions: Vec<SessionReport>, _out: &mut dyn Write) -> io::Result<()> {
        self.open_sent = Some(Instant::now());
        self.send(UiEvent::Open(sessions))
    }

    fn finish(
        self: Box<Self>,
        capture: CaptureSummary,
        summary: &Summary,
        _out: &mut dyn Write,
    ) -> io::Result<()> {
        self.send(UiEvent::Done {
            capture,
            summary: summary.clone(),
        })
    }
}

impl ChannelSink {
    fn send(&self, event: UiEvent) -> io::Result<()> {
        // The view went away (quit): the analysis stops at its next check.
        self.tx
            .send(event)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the view was closed"))
    }
}

/// The key's action, if any (presses only; Ctrl-C quits, as raw mode turns it into a key).
pub fn action_of(key: KeyEvent) -> Option<Action> {
    if key.kind != KeyEventKind::Press {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(key.code, KeyCode::Char('c')).then_some(Action::Quit);
    }
    Some(match key.code {
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown | KeyCode::Char(' ') => Action::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Action::Home,
        KeyCode::End | KeyCode::Char('G') => Action::End,
        KeyCode::Enter => Action::Open,
        KeyCode::Esc | KeyCode::Backspace | KeyCode::Left => Action::Back,
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('?') | KeyCode::F(1) | KeyCode::Char('h') => Action::Help,
        KeyCode::Char('a') => Action::ToggleSessions,
        KeyCode::Char('p') => Action::Pause,
        KeyCode::Char('f') => Action::Findings,
        KeyCode::Char('t') => Action::Stats,
        KeyCode::Char('/') => Action::Search,
        KeyCode::Char('F') => Action::Filter,
        KeyCode::Char('s') => Action::Save,
        KeyCode::Char('>') => Action::SortNext,
        KeyCode::Char('<') => Action::SortPrevious,
        KeyCode::Char('o') => Action::SortReverse,
        KeyCode::Char('r') => Action::Raw,
        _ => return None,
    })
}

/// What the mouse wheel does: three rows up or down (other mouse events do nothing).
pub fn mouse_actions(mouse: MouseEvent) -> Vec<Action> {
    let action = match mouse.kind {
        MouseEventKind::ScrollUp => Action::Up,
        MouseEventKind::ScrollDown => Action::Down,
        _ => return Vec::new(),
    };
    vec![action; 3]
}

/// The key's action while a prompt line is open: characters are typed into it.
pub fn typed_action_of(key: KeyEvent) -> Option<Action> {
    if key.kind != KeyEventKind::Press {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(key.code, KeyCode::Char('c')).then_some(Action::Quit);
    }
    Some(match key.code {
        KeyCode::Char(c) => Action::Type(c),
        KeyCode::Backspace => Action::Erase,
        KeyCode::Enter => Action::Open,
        KeyCode::Esc => Action::Back,
        _ => return None,
    })
}

/// How often (in capture time) the sessions in progress are listed anew.
const OPEN_EVERY: crate::types::Nanos = 1_000_000_000;

/// Analyzes `source` on a thread of its own into report objects sent to `tx`. `stop` ends
/// it early (the view quit).
fn spawn_analysis(
    source: Source,
    show_secrets: bool,
    settings: (Arc<TlsKeys>, Limits),
    tx: SyncSender<UiEvent>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let failed = tx.clone();
        if let Err(e) = analyze_into(source, show_secrets, settings, tx, &stop) {
            let _ = failed.send(UiEvent::Failed(e));
        }
    })
}

/// The analysis of `source` (read as `analyze` reads it: its own thread, the idle clock),
/// each report object sent to `tx` as it completes; TLS decrypted with the keys of
/// `settings`, under its resource limits.
fn analyze_into(
    source: Source,
    show_secrets: bool,
    settings: (Arc<TlsKeys>, Limits),
    tx: SyncSender<UiEvent>,
    stop: &AtomicBool,
) -> Result<(), String> {
    let (tls, limits) = settings;
    let files = source.files.clone();
    let opts = ReportOptions {
        show_secrets,
        files: files.clone(),
    };
    let sink = ChannelSink {
        tx,
        open_sent: None,
    };
    let mut printer = Printer::with_sink(Box::new(sink), opts, Filters::default());
    let mut cfg = AnalyzerConfig::default();
    cfg.pipeline = cfg.pipeline.with_limits(&limits);
    // Sessions in progress are listed, as of each second of capture time and whenever the
    // source goes quiet.
    cfg.pipeline.open_every = Some(OPEN_EVERY);
    // The message screen shows each message's bytes.
    cfg.pipeline.session.keep_raw = true;
    cfg.pipeline.tls = tls;
    let mut analyzer = Analyzer::new(cfg);
    let mut sink_out = io::sink();
    let closed = AtomicBool::new(false);
    let mut on_output = |item| {
        if printer.push(item, &mut sink_out).is_err() {
            closed.store(true, Ordering::Relaxed);
        }
    };
    let end = source.run(
        &mut analyzer,
        &mut on_output,
        &|| stop.load(Ordering::Relaxed) || closed.load(Ordering::Relaxed),
        false,
    );
    if end.stopped {
        return Ok(());
    }
    analyzer.finish(&mut on_output);
    let capture = analyzer.capture_summary(files, end.warnings);
    printer
        .finish(capture, &mut sink_out)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The view's state after analyzing `files` completely (for tests and snapshots).
pub fn app_of(files: &[String], show_secrets: bool) -> Result<App, String> {
    app_of_with_keys(files, show_secrets, Arc::default())
}

/// [`app_of`] with TLS keys.
pub fn app_of_with_keys(
    files: &[String],
    show_secrets: bool,
    tls: Arc<TlsKeys>,
) -> Result<App, String> {
    app_of_with(files, show_secrets, tls, Limits::default())
}

/// [`app_of`] with TLS keys and resource limits.
pub fn app_of_with(
    files: &[String],
    show_secrets: bool,
    tls: Arc<TlsKeys>,
    limits: Limits,
) -> Result<App, String> {
    let source = Source::open_inputs(files).map_err(|e| e.to_string())?;
    let (tx, rx) = sync_channel::<UiEvent>(1 << 16);
    let stop = AtomicBool::new(false);
    let settings = (Arc::clone(&tls), limits.clone());
    let worker =
        std::thread::spawn(move || analyze_into(source, show_secrets, settings, tx, &stop));
    let mut app = App::new(files.join(", "))
        .with_files(files.to_vec())
        .with_tls(tls)
        .with_limits(limits);
    app.show_secrets = show_secrets;
    for event in rx {
        app.on_event(event);
    }
    worker
        .join()
        .map_err(|_| "the analysis panicked".to_owned())??;
    Ok(app)
}

/// What the header names as the source: the files, `stdin`, or the interface and filter.
pub fn source_label(names: &[String], filter: Option<&str>) -> String {
    let name = |n: &String| {
        if n == "-" {
            "stdin".to_owned()
        } else {
            n.clone()
        }
    };
    let mut label = match names {
        [one] => name(one),
        [first, rest @ ..] => format!("{} (+{} more)", name(first), rest.len()),
        [] => "-".to_owned(),
    };
    if let Some(f) = filter {
        label.push_str(&format!(" [{f}]"));
    }
    label
}

/// The header's input status: packets read and, for a live capture, drops.
fn input_status(progress: &Progress) -> String {
    let mut status = format!("{} packets", progress.packets());
    if let Some(kernel) = progress.kernel_dropped() {
        status.push_str(&format!(
            " · dropped {} queue, {kernel} kernel",
            progress.queue_dropped()
        ));
    }
    status
}

/// Runs the view on `source` (already reading: files, stdin, or an interface) until the user
/// quits; `label` names it in the header, `files` are what saving a row reads again (none for
/// stdin and live capture), `max_rows` the rows kept at most (the oldest are released). Keys come from the terminal (`/dev/tty` when stdin
/// is the capture). The terminal is restored on every way out: quit (`q`, Ctrl-C as a key),
/// error, SIGTERM/SIGINT/SIGHUP (the loop sees the flag and quits), panic (ratatui's hook).
pub fn run(
    source: Source,
    label: String,
    files: Vec<String>,
    max_rows: Option<usize>,
    show_secrets: bool,
    tls: Arc<TlsKeys>,
    limits: Limits,
) -> io::Result<()> {
    let progress = source.progress();
    let (tx, rx) = sync_channel::<UiEvent>(1024);
    let stop = Arc::new(AtomicBool::new(false));
    let signalled = Arc::new(AtomicBool::new(false));
    for signal in [SIGTERM, SIGINT, SIGHUP] {
        signal_hook::flag::register(signal, Arc::clone(&signalled))?;
    }
    let worker = spawn_analysis(
        source,
        show_secrets,
        (Arc::clone(&tls), limits.clone()),
        tx,
        Arc::clone(&stop),
    );
    watch_for_hangup(Arc::clone(&signalled));
    let palette = draw::Palette {
        color: std::env::var_os("NO_COLOR").is_none(),
    };
    let mut terminal = ratatui::try_init()?;
    // The wheel scrolls; mouse reporting is turned off again on every way out (the panic
    // hook ratatui installed restores the rest).
    let _ = ratatui::crossterm::execute!(io::stdout(), EnableMouseCapture);
    let restore_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = ratatui::crossterm::execute!(io::stdout(), DisableMouseCapture);
        restore_hook(info);
    }));
    let mut app = App::new(label)
        .with_files(files)
        .with_tls(tls)
        .with_limits(limits)
        .with_max_rows(max_rows);
    app.show_secrets = show_secrets;
    let result = event_loop(
        &mut terminal,
        &mut app,
        &rx,
        palette,
        &progress,
        &signalled,
        &mut TerminalInput,
        &mut Meter::default(),
    );
    let _ = ratatui::crossterm::execute!(io::stdout(), DisableMouseCapture);
    ratatui::restore();
    // The process ends next: freeing every row one by one would only delay the prompt.
    std::mem::forget(app);
    stop.store(true, Ordering::Relaxed);
    // Unblock a sender waiting on a full channel, then let the thread end.
    drop(rx);
    let _ = worker.join();
    result
}

/// After a signal, how long the loop gets to end by itself before the process is ended.
const SIGNAL_GRACE: Duration = Duration::from_secs(1);

/// Ends the process when a signal came and the event loop did not end within
/// [`SIGNAL_GRACE`]: once its terminal is gone (the window closed, ssh dropped, tmux
/// killed), reading the terminal returns end-of-file at once, and the terminal library's
/// wait for a key never returns to the loop.
fn watch_for_hangup(signalled: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        while !signalled.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(SIGNAL_GRACE);
        let _ = ratatui::crossterm::execute!(io::stdout(), DisableMouseCapture);
        ratatui::restore();
        std::process::exit(0);
    });
}

/// Redraws at most this often.
const FRAME: Duration = Duration::from_millis(33);
/// How often the reading's rate and time left are shown anew.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// Events taken from the analysis per frame at most (keys stay answered under load).
const EVENTS_PER_FRAME: usize = 4096;

/// Where the loop's key and mouse events come from, and when it ends.
trait Input {
    /// The next terminal event, waiting at most `timeout`.
    fn next(&mut self, timeout: Duration) -> io::Result<Option<Event>>;
    /// Whether the loop ends by itself once the input is analyzed (a headless run).
    fn ends_when_done(&self) -> bool {
        false
    }
}

/// The terminal's keys, mouse and resizes.
struct TerminalInput;

impl Input for TerminalInput {
    fn next(&mut self, timeout: Duration) -> io::Result<Option<Event>> {
        if event::poll(timeout)? {
            event::read().map(Some)
        } else {
            Ok(None)
        }
    }
}

/// No keys: time passes, and the loop ends when the analysis does.
struct NoInput;

impl Input for NoInput {
    fn next(&mut self, timeout: Duration) -> io::Result<Option<Event>> {
        std::thread::sleep(timeout);
        Ok(None)
    }
    fn ends_when_done(&self) -> bool {
        true
    }
}

/// What a run of the view measured (see [`run_headless`]).
#[derive(Clone, Debug, Default)]
pub struct Meter {
    /// From the start to the first row listed.
    pub first_row: Option<Duration>,
    /// From the start to the whole input analyzed and shown.
    pub done: Option<Duration>,
    pub frames: u64,
    pub draw_total: Duration,
    pub draw_max: Duration,
    /// Rows listed at the end.
    pub rows: usize,
    /// Transactions the view received, released ones included.
    pub transactions: u64,
    /// Rows released by the cap on rows kept.
    pub released: u64,
}

/// Runs the view on `source` as [`run`] does, with the same loop, but drawing on an in-memory
/// terminal of `width`×`height` and without keys, until the whole input is analyzed and
/// shown, keeping at most `max_rows` rows; what it measured (for benchmarks: how soon the list
/// appears, how long the whole input takes under the view, how long frames take to draw).
pub fn run_headless(
    source: Source,
    width: u16,
    height: u16,
    max_rows: Option<usize>,
) -> io::Result<Meter> {
    let progress = source.progress();
    let (tx, rx) = sync_channel::<UiEvent>(1024);
    let stop = Arc::new(AtomicBool::new(false));
    let worker = spawn_analysis(
        source,
        false,
        (Arc::default(), Limits::default()),
        tx,
        Arc::clone(&stop),
    );
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height))
        .map_err(|e| io::Error::other(e.to_string()))?;
    let mut meter = Meter::default();
    let mut app = App::new("headless".to_owned()).with_max_rows(max_rows);
    let result = event_loop(
        &mut terminal,
        &mut app,
        &rx,
        draw::Palette { color: true },
        &progress,
        &AtomicBool::new(false),
        &mut NoInput,
        &mut meter,
    );
    stop.store(true, Ordering::Relaxed);
    drop(rx);
    let _ = worker.join();
    result.map(|()| meter)
}

#[allow(clippy::too_many_arguments)]
fn event_loop<B: ratatui::backend::Backend>(
    terminal: &mut ratatui::Terminal<B>,
    app: &mut App,
    rx: &Receiver<UiEvent>,
    palette: draw::Palette,
    progress: &Progress,
    signalled: &AtomicBool,
    input: &mut dyn Input,
    meter: &mut Meter,
) -> io::Result<()> {
    let mut connected = true;
    let mut last_draw = Instant::now() - FRAME;
    let started = Instant::now();
    let mut last_progress = Instant::now();
    loop {
        let mut busy = false;
        if connected {
            busy = true;
            for _ in 0..EVENTS_PER_FRAME {
                match rx.try_recv() {
                    Ok(ev) => app.on_event(ev),
                    Err(TryRecvError::Empty) => {
                        busy = false;
                        break;
                    }
                    Err(TryRecvError::Disconnected) => {
                        connected = false;
                        busy = false;
                        break;
                    }
                }
            }
        }
        app.poll_jobs();
        // Files and pipes: packets while reading (the summary counts them at the end);
        // a live capture keeps its packets and drops in view.
        let status = if app.done.is_some() && progress.kernel_dropped().is_none() {
            String::new()
        } else {
            input_status(progress)
        };
        let reading = if app.done.is_some() {
            None
        } else {
            progress.bytes().map(|(read, total)| {
                let seconds = started.elapsed().as_secs_f64();
                ReadProgress {
                    read,
                    total,
                    rate: if seconds > 0.0 {
                        read as f64 / seconds
                    } else {
                        0.0
                    },
                }
            })
        };
        // Redraw for the figures at most about twice a second.
        let moved = match (&reading, &app.progress) {
            (Some(new), Some(old)) => {
                new.percent() != old.percent() || last_progress.elapsed() >= PROGRESS_EVERY
            }
            (a, b) => a.is_some() != b.is_some(),
        };
        if status != app.input || moved {
            app.input = status;
            app.progress = reading;
            app.dirty = true;
            last_progress = Instant::now();
        }
        if app.dirty && last_draw.elapsed() >= FRAME {
            let drawing = Instant::now();
            terminal
                .draw(|f| draw::draw(f, app, palette))
                .map_err(|e| io::Error::other(e.to_string()))?;
            let took = drawing.elapsed();
            meter.frames += 1;
            meter.draw_total += took;
            meter.draw_max = meter.draw_max.max(took);
            if meter.first_row.is_none() && !app.targets().is_empty() {
                meter.first_row = Some(started.elapsed());
            }
            app.dirty = false;
            last_draw = Instant::now();
        }
        if input.ends_when_done() && !connected && !app.dirty {
            meter.done = Some(started.elapsed());
            meter.rows = app.targets().len();
            meter.transactions = app.transactions.arrived();
            meter.released = app.released;
            return Ok(());
        }
        // While the analysis has more to hand over, keys are looked at without waiting.
        // Otherwise until the next frame is due, or a frame's time when nothing changed.
        let wait = if busy {
            Duration::ZERO
        } else if app.dirty {
            FRAME
                .saturating_sub(last_draw.elapsed())
                .max(Duration::from_millis(1))
        } else {
            FRAME
        };
        match input.next(wait)? {
            Some(Event::Key(key)) => {
                let action = if app.typing() {
                    typed_action_of(key)
                } else {
                    action_of(key)
                };
                if let Some(action) = action {
                    app.on_action(action);
                }
            }
            Some(Event::Resize(..)) => app.dirty = true,
            Some(Event::Mouse(mouse)) => {
                for action in mouse_actions(mouse) {
                    app.on_action(action);
                }
            }
            _ => {}
        }
        if app.quit || signalled.load(Ordering::Relaxed) {
            return Ok(());
        }
    }
}
