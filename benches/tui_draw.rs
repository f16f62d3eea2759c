//! How long the view takes to draw a frame of a big list: 20,000 transactions (copies of the
//! reference configuration update with their own ids, serials and times) at 80×24 and
//! 160×48, the selection in the middle; and the ladder of one. The target is under 10 ms
//! a frame (BENCHMARKS.md).
//!
//! Full run: `cargo bench --bench tui_draw`. Smoke run: `cargo bench --bench tui_draw -- --test`.

use criterion::{Criterion, criterion_group, criterion_main};
use cwmpscope::tui::draw::{Palette, draw};
use cwmpscope::tui::state::{Action, App, UiEvent};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Rows of the big list.
const ROWS: usize = 20_000;

/// A list of `ROWS` transactions, each with its two sessions, as the analysis sends them.
fn big_app() -> App {
    let reference = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/captures/reference-config-update.pcap"
    );
    let model = cwmpscope::tui::app_of(&[reference.to_owned()], false).expect("reference");
    let transaction = model
        .transactions
        .iter()
        .next()
        .expect("a transaction")
        .clone();
    let sessions: Vec<_> = model.sessions.iter().cloned().collect();
    let mut app = App::new("20,000 rows".to_owned());
    for n in 0..ROWS {
        // A second apart, from 08:00:00.
        let start = format!(
            "2026-12-06T{:02}:{:02}:{:02}.000000Z",
            8 + n / 3600,
            n / 60 % 60,
            n % 60
        );
        let mut ids = Vec::new();
        for s in &sessions {
            let mut s = s.clone();
            s.id = format!("s{n}-{}", s.id);
            s.start = start.clone();
            s.cpe.serial = Some(format!("CP{n:08}"));
            ids.push(s.id.clone());
            app.on_event(UiEvent::Session(s));
        }
        let mut t = transaction.clone();
        t.id = format!("t{n}");
        t.sessions = ids;
        t.start = start;
        t.cpe.serial = Some(format!("CP{n:08}"));
        t.command_key = format!("cfg-{n}");
        app.on_event(UiEvent::Transaction(t));
    }
    assert_eq!(app.targets().len(), ROWS);
    app
}

fn draw_frames(c: &mut Criterion) {
    let mut app = big_app();
    let palette = Palette { color: true };
    for (w, h) in [(80, 24), (160, 48)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test backend");
        // Half way down the list.
        app.stack.clear();
        app.on_action(Action::Home);
        for _ in 0..ROWS / 2 / 20 {
            app.on_action(Action::PageDown);
        }
        c.bench_function(&format!("list of {ROWS} rows {w}x{h}"), |b| {
            b.iter(|| {
                app.dirty = true;
                terminal.draw(|f| draw(f, &mut app, palette)).expect("draw");
            })
        });
        app.on_action(Action::Open);
        c.bench_function(&format!("ladder among {ROWS} rows {w}x{h}"), |b| {
            b.iter(|| {
                terminal.draw(|f| draw(f, &mut app, palette)).expect("draw");
            })
        });
        app.on_action(Action::Back);
    }
    // Typing a search filters the whole list at each key.
    c.bench_function(&format!("search keystroke over {ROWS} rows"), |b| {
        b.iter(|| {
            app.on_action(Action::Search);
            app.on_action(Action::Type('9'));
            app.on_action(Action::Back);
        })
    });
}

criterion_group!(benches, draw_frames);
criterion_main!(benches);
