//! The interactive terminal view (`cwmpscope tui FILE…`): a list of transactions and sessions
//! that fills as the capture is analyzed, the ladder of one, the message behind an arrow, as
//! sngrep shows SIP calls. The analysis runs on its own thread and hands report objects over a
//! channel ([`ChannelSink`], one more printer of the same stream); the terminal thread only
//! draws and answers keys, redrawing at most about 30 times a second and only on change.
//!
//! - [`state`]: what the view holds and how events and keys change it (no terminal).
//! - [`draw`]: the screens drawn from that state.

pub mod draw;
pub mod state;

use crate::capture::{CaptureReader, InputSpec, MergedReader};
use crate::output::Sink;
use crate::output::printer::{Filters, Printer};
use crate::report::{
    CaptureSummary, FindingReport, ReportOptions, SessionReport, Summary, TransactionReport,
};
use crate::threads::{Analyzer, AnalyzerConfig};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use state::{Action, App, UiEvent};
use std::io::{self, Write};
use std::path::PathBuf;
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

/// Reads `files` on a thread of its own, analyzing them into report objects sent to `tx`.
/// `stop` ends it early (the view quit).
fn spawn_analysis(
    files: Vec<String>,
    show_secrets: bool,
    tx: SyncSender<UiEvent>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let failed = tx.clone();
        if let Err(e) = analyze_into(&files, show_secrets, tx, &stop) {
            let _ = failed.send(UiEvent::Failed(e));
        }
    })
}

fn analyze_into(
    names: &[String],
    show_secrets: bool,
    tx: SyncSender<UiEvent>,
    stop: &AtomicBool,
) -> Result<(), String> {
    let mut readers = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let index = u16::try_from(i).unwrap_or(u16::MAX);
        let spec = InputSpec::Path(PathBuf::from(name));
        readers.push(CaptureReader::open(&spec, index).map_err(|e| e.to_string())?);
    }
    let files: Vec<String> = readers.iter().map(|r| r.name().to_owned()).collect();
    let mut reader = MergedReader::new(readers).map_err(|e| e.to_string())?;
    let opts = ReportOptions {
        show_secrets,
        files: files.clone(),
    };
    let sink = ChannelSink { tx };
    let mut printer = Printer::with_sink(Box::new(sink), opts, Filters::default());
    let mut analyzer = Analyzer::new(AnalyzerConfig::default());
    let mut sink_out = io::sink();
    let closed = AtomicBool::new(false);
    let mut on_output = |item| {
        if printer.push(item, &mut sink_out).is_err() {
            closed.store(true, Ordering::Relaxed);
        }
    };
    let mut read_error = None;
    while !stop.load(Ordering::Relaxed) && !closed.load(Ordering::Relaxed) {
        match reader.next_frame() {
            Ok(Some(frame)) => analyzer.push(&frame, &mut on_output),
            Ok(None) => break,
            Err(e) => {
                read_error = Some(e.to_string());
                break;
            }
        }
    }
    if stop.load(Ordering::Relaxed) {
        return Ok(());
    }
    analyzer.finish(&mut on_output);
    let mut warnings = Vec::new();
    if let Some(e) = read_error {
        warnings.push(format!("{e}; the frames before it were analyzed"));
    }
    let capture = analyzer.capture_summary(files, warnings);
    printer
        .finish(capture, &mut sink_out)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The view's state after analyzing `files` completely (for tests and snapshots).
pub fn app_of(files: &[String], show_secrets: bool) -> Result<App, String> {
    let (tx, rx) = sync_channel::<UiEvent>(1 << 16);
    let stop = AtomicBool::new(false);
    let names = files.to_vec();
    let worker = std::thread::spawn(move || analyze_into(&names, show_secrets, tx, &stop));
    let mut app = App::new(files.join(", ")).with_files(files.to_vec());
    for event in rx {
        app.on_event(event);
    }
    worker
        .join()
        .map_err(|_| "the analysis panicked".to_owned())??;
    Ok(app)
}

/// Runs the view on `files` until the user quits. The terminal is restored on every way out
/// (quit, error, panic: ratatui's hook).
pub fn run(files: Vec<String>, show_secrets: bool) -> io::Result<()> {
    // Check the inputs before taking over the terminal, so a bad file is one plain line.
    for name in &files {
        let spec = InputSpec::Path(PathBuf::from(name));
        CaptureReader::open(&spec, 0).map_err(|e| io::Error::other(e.to_string()))?;
    }
    let source = match files.as_slice() {
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} (+{} more)", rest.len()),
        [] => "-".to_owned(),
    };
    let (tx, rx) = sync_channel::<UiEvent>(1024);
    let stop = Arc::new(AtomicBool::new(false));
    let app = App::new(source).with_files(files.clone());
    let worker = spawn_analysis(files, show_secrets, tx, Arc::clone(&stop));
    let palette = draw::Palette {
        color: std::env::var_os("NO_COLOR").is_none(),
    };
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, app, &rx, palette);
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
        if app.quit {
            return Ok(());
        }
    }
}
