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

use crate::live::source::{Progress, Source};
use crate::output::Sink;
use crate::output::printer::{Filters, Printer};
use crate::report::{
    CaptureSummary, FindingReport, ReportOptions, SessionReport, Summary, TransactionReport,
};
use crate::threads::{Analyzer, AnalyzerConfig};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGTERM};
use state::{Action, App, UiEvent};
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::time::{Duration, Instant};

/// A printer that hands every report object to the view.
pub struct ChannelSink {
    tx: SyncSender<UiEvent>,
}

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
        KeyCode::Char('r') => Action::Raw,
        _ => return None,
    })
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

/// Analyzes `source` on a thread of its own into report objects sent to `tx`. `stop` ends
/// it early (the view quit).
fn spawn_analysis(
    source: Source,
    show_secrets: bool,
    tx: SyncSender<UiEvent>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let failed = tx.clone();
        if let Err(e) = analyze_into(source, show_secrets, tx, &stop) {
            let _ = failed.send(UiEvent::Failed(e));
        }
    })
}

/// The analysis of `source` (read as `analyze` reads it: its own thread, the idle clock),
/// each report object sent to `tx` as it completes.
fn analyze_into(
    source: Source,
    show_secrets: bool,
    tx: SyncSender<UiEvent>,
    stop: &AtomicBool,
) -> Result<(), String> {
    let files = source.files.clone();
    let opts = ReportOptions {
        show_secrets,
        files: files.clone(),
    };
    let sink = ChannelSink { tx };
    let mut printer = Printer::with_sink(Box::new(sink), opts, Filters::default());
    let mut config = AnalyzerConfig::default();
    // The message screen shows each message's bytes.
    config.pipeline.session.keep_raw = true;
    let mut analyzer = Analyzer::new(config);
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
    let source = Source::open_inputs(files).map_err(|e| e.to_string())?;
    let (tx, rx) = sync_channel::<UiEvent>(1 << 16);
    let stop = AtomicBool::new(false);
    let worker = std::thread::spawn(move || analyze_into(source, show_secrets, tx, &stop));
    let mut app = App::new(files.join(", ")).with_files(files.to_vec());
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
/// stdin and live capture). Keys come from the terminal (`/dev/tty` when stdin
/// is the capture). The terminal is restored on every way out: quit (`q`, Ctrl-C as a key),
/// error, SIGTERM/SIGINT/SIGHUP (the loop sees the flag and quits), panic (ratatui's hook).
pub fn run(
    source: Source,
    label: String,
    files: Vec<String>,
    show_secrets: bool,
) -> io::Result<()> {
    let progress = source.progress();
    let (tx, rx) = sync_channel::<UiEvent>(1024);
    let stop = Arc::new(AtomicBool::new(false));
    let signalled = Arc::new(AtomicBool::new(false));
    for signal in [SIGTERM, SIGINT, SIGHUP] {
        signal_hook::flag::register(signal, Arc::clone(&signalled))?;
    }
    let worker = spawn_analysis(source, show_secrets, tx, Arc::clone(&stop));
    let palette = draw::Palette {
        color: std::env::var_os("NO_COLOR").is_none(),
    };
    let mut app = App::new(label).with_files(files);
    app.show_secrets = show_secrets;
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, app, &rx, palette, &progress, &signalled);
    ratatui::restore();
    stop.store(true, Ordering::Relaxed);
    // Unblock a sender waiting on a full channel, then let the thread end.
    drop(rx);
    let _ = worker.join();
    result
}

/// Redraws at most this often.
const FRAME: Duration = Duration::from_millis(33);
/// Events taken from the analysis per frame at most (keys stay answered under load).
const EVENTS_PER_FRAME: usize = 4096;

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    mut app: App,
    rx: &Receiver<UiEvent>,
    palette: draw::Palette,
    progress: &Progress,
    signalled: &AtomicBool,
) -> io::Result<()> {
    let mut connected = true;
    let mut last_draw = Instant::now() - FRAME;
    loop {
        if connected {
            for _ in 0..EVENTS_PER_FRAME {
                match rx.try_recv() {
                    Ok(ev) => app.on_event(ev),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        connected = false;
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
        let percent = if app.done.is_some() {
            None
        } else {
            progress.percent()
        };
        if status != app.input || percent != app.percent {
            app.input = status;
            app.percent = percent;
            app.dirty = true;
        }
        if app.dirty && last_draw.elapsed() >= FRAME {
            terminal.draw(|f| draw::draw(f, &mut app, palette))?;
            app.dirty = false;
            last_draw = Instant::now();
        }
        if event::poll(FRAME)? {
            match event::read()? {
                Event::Key(key) => {
                    let action = if app.typing() {
                        typed_action_of(key)
                    } else {
                        action_of(key)
                    };
                    if let Some(action) = action {
                        app.on_action(action);
                    }
                }
                Event::Resize(..) => app.dirty = true,
                _ => {}
            }
        }
        if app.quit || signalled.load(Ordering::Relaxed) {
            return Ok(());
        }
    }
}
