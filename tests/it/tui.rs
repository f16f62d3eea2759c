//! The interactive view without a terminal: its state driven by the analysis of shipped
//! captures and by keys, and its screens drawn on a `TestBackend` (snapshots at 80×24 and
//! 160×48).

use crate::common::capture;
use cwmpscope::tui::app_of;
use cwmpscope::tui::draw::{Palette, draw};
use cwmpscope::tui::state::{Action, App, Screen, Target};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn app(names: &[&str]) -> App {
    let files: Vec<String> = names.iter().map(|n| capture(n)).collect();
    let mut app = app_of(&files, false).expect("analysis");
    app.source = names.join(", ");
    app
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal
        .draw(|f| draw(f, app, Palette { color: false }))
        .expect("draw");
    terminal
        .backend()
        .buffer()
        .content()
        .chunks(usize::from(width))
        .map(|row| {
            let line: String = row.iter().map(|c| c.symbol()).collect();
            line.trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn an_arrow_opens_the_message_it_draws() {
    let mut app = app(&["third-party/cwmp_sim_fleet5.pcap"]);
    let rows = app.rows();
    let last = rows.last().expect("rows");
    assert!(matches!(last.target, Target::Transaction(_)));
    app.on_action(Action::End);
    app.on_action(Action::Open);
    for _ in 0..3 {
        app.on_action(Action::Down);
    }
    app.on_action(Action::Open);
    let Screen::Message {
        session, message, ..
    } = app.screen()
    else {
        panic!("not on a message: {:?}", app.screen());
    };
    let m = app.message(session, message).expect("message");
    assert_eq!(m.rpcs, ["InformResponse"]);
    assert_eq!(m.step, Some(5));
    let frames = [
        Some(m.frame.to_string()),
        m.first_frame.as_ref().map(|f| f.to_string()),
    ];
    assert!(frames.contains(&Some("146".to_owned())), "{frames:?}");
}

#[test]
fn keys_map_to_actions_and_ctrl_c_quits() {
    use cwmpscope::tui::action_of;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
    let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
    assert_eq!(action_of(key(KeyCode::Enter)), Some(Action::Open));
    assert_eq!(action_of(key(KeyCode::Esc)), Some(Action::Back));
    assert_eq!(action_of(key(KeyCode::Char('j'))), Some(Action::Down));
    assert_eq!(action_of(key(KeyCode::Char('q'))), Some(Action::Quit));
    assert_eq!(action_of(key(KeyCode::F(1))), Some(Action::Help));
    assert_eq!(action_of(key(KeyCode::Char('r'))), Some(Action::Raw));
    assert_eq!(
        action_of(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        Some(Action::Quit)
    );
    let mut release = key(KeyCode::Char('q'));
    release.kind = KeyEventKind::Release;
    assert_eq!(action_of(release), None, "only presses act");
}

#[test]
fn the_list_shows_transactions_and_lone_sessions_in_order_of_start() {
    let app = app(&["third-party/cwmp_sim_fleet5.pcap"]);
    let rows = app.rows();
    // Five BOOT sessions belong to no transaction; five transactions.
    assert_eq!(rows.len(), 10);
    assert_eq!(
        rows.iter()
            .filter(|r| matches!(r.target, Target::Session(_)))
            .count(),
        5
    );
    assert!(rows.windows(2).all(|w| w[0].start <= w[1].start));
    let t = rows
        .iter()
        .find(|r| r.cpe == "DV230200002")
        .map(|r| r.cpe.clone());
    assert_eq!(t.as_deref(), Some("DV230200002"));
    for r in rows
        .iter()
        .filter(|r| matches!(r.target, Target::Transaction(_)))
    {
        assert_eq!(r.steps, "21/21");
        assert_eq!(r.outcome, "success");
    }
}

#[test]
fn a_failed_transfer_shows_its_fault_and_findings() {
    let mut app = app(&["third-party/netcwmp_digest_session.pcap"]);
    let rows = app.rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].outcome, "failed 9001");
    assert_eq!((rows[0].errors, rows[0].warnings), (2, 1));
    app.on_action(Action::Open);
    let ladder = screen(&mut app, 160, 48);
    assert!(ladder.contains("error transfer-fault"), "{ladder}");
    assert!(ladder.contains("· applied (not on the wire)"), "{ladder}");
}

/// Every screen at both sizes, as snapshots.
#[test]
fn screens_at_80x24_and_160x48() {
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        let mut app = app(&["reference-config-update.pcap"]);
        insta::assert_snapshot!(format!("list-{w}x{h}"), screen(&mut app, w, h));
        app.on_action(Action::Open);
        insta::assert_snapshot!(format!("ladder-{w}x{h}"), screen(&mut app, w, h));
        app.on_action(Action::Down);
        app.on_action(Action::Down);
        app.on_action(Action::Down);
        if w >= 160 {
            // The Download's message beside the ladder.
            insta::assert_snapshot!(format!("ladder-preview-{w}x{h}"), screen(&mut app, w, h));
        }
        app.on_action(Action::Open);
        insta::assert_snapshot!(format!("message-{w}x{h}"), screen(&mut app, w, h));
        app.on_action(Action::Raw);
        insta::assert_snapshot!(format!("message-raw-{w}x{h}"), screen(&mut app, w, h));
        app.on_action(Action::Raw);
        app.on_action(Action::Back);
        app.on_action(Action::Back);
        app.on_action(Action::Help);
        insta::assert_snapshot!(format!("help-{w}x{h}"), screen(&mut app, w, h));
        let mut failed = self::app(&["third-party/netcwmp_digest_session.pcap"]);
        failed.on_action(Action::Open);
        insta::assert_snapshot!(format!("failed-ladder-{w}x{h}"), screen(&mut failed, w, h));
    }
}

/// The findings, statistics, a filtered list and the help with the new keys, at both sizes.
#[test]
fn findings_stats_and_filtered_screens_at_80x24_and_160x48() {
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        let mut app = app(&[
            "third-party/cwmp_sim_fleet5.pcap",
            "third-party/netcwmp_digest_session.pcap",
        ]);
        app.on_action(Action::Findings);
        insta::assert_snapshot!(format!("findings-{w}x{h}"), screen(&mut app, w, h));
        app.on_action(Action::Down);
        app.on_action(Action::Open);
        insta::assert_snapshot!(format!("findings-open-{w}x{h}"), screen(&mut app, w, h));
        app.on_action(Action::Back);
        app.on_action(Action::Stats);
        insta::assert_snapshot!(format!("stats-{w}x{h}"), screen(&mut app, w, h));
        app.on_action(Action::Back);
        app.on_action(Action::Filter);
        for c in "outcome=failed severity=warning".chars() {
            app.on_action(Action::Type(c));
        }
        app.on_action(Action::Open);
        insta::assert_snapshot!(format!("filtered-{w}x{h}"), screen(&mut app, w, h));
        app.on_action(Action::Search);
        app.on_action(Action::Type('o'));
        app.on_action(Action::Type('t'));
        insta::assert_snapshot!(format!("searching-{w}x{h}"), screen(&mut app, w, h));
    }
}

#[test]
fn an_occurrence_of_a_session_finding_opens_its_transaction() {
    let mut app = app(&["third-party/netcwmp_digest_session.pcap"]);
    app.on_action(Action::Findings);
    let groups = app.finding_groups();
    let (gi, oi) = groups
        .iter()
        .enumerate()
        .find_map(|(gi, g)| {
            g.occurrences
                .iter()
                .position(|o| matches!(o.owner, cwmpscope::tui::state::Owner::Session(_)))
                .map(|oi| (gi, oi))
        })
        .expect("a session finding");
    for _ in 0..gi {
        app.on_action(Action::Down);
    }
    app.on_action(Action::Open);
    for _ in 0..=oi {
        app.on_action(Action::Down);
    }
    app.on_action(Action::Open);
    assert!(
        matches!(
            app.screen(),
            Screen::Ladder {
                target: Target::Transaction(0),
                ..
            }
        ),
        "{:?}",
        app.screen()
    );
}

/// `s` on the netcwmp transaction writes a pcap (and its JSON) that `analyze` reads back with
/// the same outcome.
#[test]
fn save_writes_a_pcap_analyze_reads_back_the_same() {
    let mut app = app(&["third-party/netcwmp_digest_session.pcap"]);
    let dir = std::env::temp_dir().join(format!("cwmpscope-tui-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    app.save_dir = dir.clone();
    app.on_action(Action::Save);
    let prompt = app.prompt.clone().expect("prompt");
    assert!(prompt.text.ends_with(".pcap"), "{}", prompt.text);
    assert!(!prompt.text.contains('/'));
    app.on_action(Action::Open);
    app.wait_jobs();
    let status = app.status.clone().unwrap_or_default();
    assert!(status.starts_with("wrote "), "{status}");
    let pcap = dir.join(&prompt.text);
    assert!(pcap.with_extension("json").exists());
    let again = cwmpscope::tui::app_of(&[pcap.display().to_string()], false).expect("analysis");
    assert_eq!(again.transactions.len(), 1);
    assert_eq!(
        again.transactions[0].outcome.as_str(),
        app.transactions[0].outcome.as_str()
    );
    assert_eq!(
        again.transactions[0].fault.as_ref().and_then(|f| f.code),
        Some(9001)
    );
    // Saving again to the same name asks first: the first Enter warns, the second replaces.
    let before = std::fs::metadata(&pcap)
        .expect("saved")
        .modified()
        .expect("mtime");
    app.on_action(Action::Save);
    app.on_action(Action::Open);
    assert!(app.typing(), "the prompt stays open");
    let status = app.status.clone().unwrap_or_default();
    assert!(status.contains("exists"), "{status}");
    app.on_action(Action::Open);
    app.wait_jobs();
    assert!(!app.typing());
    let status = app.status.clone().unwrap_or_default();
    assert!(status.starts_with("wrote "), "{status}");
    let after = std::fs::metadata(&pcap)
        .expect("saved")
        .modified()
        .expect("mtime");
    assert!(after >= before);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Saving to a full disk says so in the status line, in the system's words, and leaves the
/// device alone.
#[test]
fn save_to_a_full_disk_says_no_space_left() {
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::path::Path::new("/dev/full").exists() || !cfg!(target_os = "linux"),
        "/dev/full is there on Linux"
    );
    if !std::path::Path::new("/dev/full").exists() {
        return;
    }
    let mut app = app(&["third-party/netcwmp_digest_session.pcap"]);
    app.save_dir = "/dev".into();
    app.on_action(Action::Save);
    app.prompt.as_mut().expect("prompt").text = "full".into();
    // It exists: the first Enter warns, the second writes.
    app.on_action(Action::Open);
    app.on_action(Action::Open);
    app.wait_jobs();
    let status = app.status.clone().unwrap_or_default();
    assert_eq!(status, "save failed: /dev/full: No space left on device");
    let device = std::fs::metadata("/dev/full").expect("/dev/full is still there");
    assert!(device.file_type().is_char_device());
    assert!(!std::path::Path::new("/dev/full.json").exists());
}

/// The message of an arrow, opened from the first row's ladder (`downs` rows down).
fn open_message(app: &mut App, downs: usize) {
    app.on_action(Action::Open);
    for _ in 0..downs {
        app.on_action(Action::Down);
    }
    app.on_action(Action::Open);
    assert!(
        matches!(app.screen(), Screen::Message { .. }),
        "{:?}",
        app.screen()
    );
}

/// The Download of the reference capture carries the file server's password, and the
/// Informs after the 401 a Digest response: redacted in the layout and in the raw bytes,
/// shown with `--show-secrets`.
#[test]
fn a_downloads_password_is_redacted_in_the_message_unless_secrets_are_shown() {
    use cwmpscope::tui::message::{View, message_lines};
    for show in [false, true] {
        let files = vec![capture("reference-config-update.pcap")];
        let mut app = app_of(&files, show).expect("analysis");
        let (download, digest) = {
            let messages: Vec<_> = app.sessions.iter().flat_map(|s| &s.messages).collect();
            let download = messages
                .iter()
                .find(|m| m.rpcs.iter().any(|r| r == "Download"))
                .copied()
                .expect("a Download");
            let digest = messages
                .iter()
                .find(|m| m.auth.is_some())
                .copied()
                .expect("an Authorization");
            (download.clone(), digest.clone())
        };
        for raw in [false, true] {
            let view = View {
                raw,
                show_secrets: show,
                palette: Palette { color: true },
                width: 0,
            };
            let text = |m| {
                message_lines(m, view)
                    .iter()
                    .map(|l| l.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let shown = text(&download);
            assert!(
                shown.contains("<Username>fileuser</Username>") || raw,
                "{shown}"
            );
            assert!(shown.contains("fileuser"), "{shown}");
            assert_eq!(shown.contains("file-secret"), show, "raw {raw}:\n{shown}");
            assert_eq!(
                shown.contains("<Password><redacted></Password>"),
                !show,
                "raw {raw}:\n{shown}"
            );
            let auth = text(&digest);
            assert!(auth.contains("Authorization: Digest username="), "{auth}");
            assert_eq!(auth.contains("response=\"<redacted>\""), !show, "{auth}");
        }
        // As drawn: the ladder's fourth arrow is the InformResponse + Download.
        open_message(&mut app, 3);
        let drawn = screen(&mut app, 160, 48);
        assert!(drawn.contains("<cwmp:Download>"), "{drawn}");
        assert_eq!(drawn.contains("file-secret"), show, "{drawn}");
        app.on_action(Action::Raw);
        let drawn = screen(&mut app, 160, 48);
        // The raw body is cut into lines of the screen's width: join them again.
        let joined: String = drawn.lines().map(str::trim_start).collect();
        assert!(joined.contains("<Username>fileuser</Username>"), "{drawn}");
        assert_eq!(joined.contains("file-secret"), show, "{drawn}");
    }
}

/// Scrolling a message stops with its last line at the bottom; `r` starts the raw bytes from
/// their top.
#[test]
fn a_message_scrolls_to_its_end_and_no_further() {
    let mut app = app(&["reference-config-update.pcap"]);
    open_message(&mut app, 3);
    let first = screen(&mut app, 80, 24);
    app.on_action(Action::End);
    let end = screen(&mut app, 80, 24);
    assert_ne!(first, end);
    let rows: Vec<&str> = end.lines().collect();
    assert_eq!(rows[rows.len() - 2], " </soap-env:Envelope>", "{end}");
    app.on_action(Action::Down);
    app.on_action(Action::PageDown);
    assert_eq!(screen(&mut app, 80, 24), end, "no further");
    let Screen::Message { top, .. } = app.screen() else {
        panic!("{:?}", app.screen());
    };
    let len = app.message_view.as_ref().map(|(_, l)| l.len()).unwrap_or(0);
    assert_eq!(
        top,
        len - 22,
        "the last page: 24 rows less the title and the keys"
    );
    app.on_action(Action::Raw);
    assert!(matches!(
        app.screen(),
        Screen::Message {
            top: 0,
            raw: true,
            ..
        }
    ));
    assert!(screen(&mut app, 80, 24).contains(" HTTP/1.1 200 OK"));
}

/// Each message is laid out once: scrolling and redrawing reuse the lines.
#[test]
fn scrolling_a_message_reuses_its_layout() {
    let mut app = app(&["reference-config-update.pcap"]);
    open_message(&mut app, 3);
    screen(&mut app, 80, 24);
    let laid_out = app.message_view.as_ref().map(|(_, l)| l.as_ptr());
    app.on_action(Action::PageDown);
    screen(&mut app, 80, 24);
    app.on_action(Action::Down);
    screen(&mut app, 80, 24);
    assert_eq!(app.message_view.as_ref().map(|(_, l)| l.as_ptr()), laid_out);
}

/// Every message of the shipped CWMP captures lays out in both views, at two widths, within
/// the width, and no `<Password>` text or Digest response shows unless secrets are shown.
#[test]
fn every_shipped_message_lays_out_in_both_views() {
    use cwmpscope::tui::message::{View, message_lines};
    let names = [
        "reference-config-update.pcap",
        "reference-connection-request.pcap",
        "reference-cookie.pcap",
        "reference-firmware.pcap",
        "reference-maxenvelopes1.pcap",
        "third-party/cwmp_sim_digest_config_update.pcap",
        "third-party/cwmp_sim_firmware_nginx.pcap",
        "third-party/cwmp_sim_fleet5.pcap",
        "third-party/genieacs_genieacs_sim_config_update.pcap",
        "third-party/netcwmp_digest_session.pcap",
    ];
    let mut laid_out = 0;
    for name in names {
        let app = app(&[name]);
        for m in app.sessions.iter().flat_map(|s| &s.messages) {
            assert!(
                m.raw.as_ref().is_some_and(|r| r.deflated_block().is_some()),
                "{name}: the tui keeps the bytes, deflated once the session ended"
            );
            for (raw, width) in [(false, 0), (true, 0), (false, 60), (true, 60)] {
                let view = View {
                    raw,
                    show_secrets: false,
                    palette: Palette { color: true },
                    width,
                };
                let lines = message_lines(m, view);
                laid_out += 1;
                if width > 0 {
                    assert!(
                        lines
                            .iter()
                            .all(|l| l.to_string().trim_end().chars().count() <= width),
                        "{name} frame {}",
                        m.frame
                    );
                }
                let text = lines
                    .iter()
                    .map(|l| l.to_string())
                    .collect::<Vec<_>>()
                    .join("\n");
                let joined: String = text.lines().map(str::trim_start).collect();
                for (open, close) in [("<Password>", "</Password>"), ("response=\"", "\"")] {
                    for (at, _) in joined.match_indices(open) {
                        let value = &joined[at + open.len()..];
                        let value = &value[..value.find(close).unwrap_or(value.len())];
                        assert!(
                            value.is_empty() || value == "<redacted>",
                            "{name} frame {} raw {raw}: {open}{value}",
                            m.frame
                        );
                    }
                }
            }
        }
    }
    assert!(laid_out > 400, "{laid_out}");
}

#[test]
fn the_header_names_the_order_when_it_is_not_by_start() {
    let mut app = app(&["reference-config-update.pcap"]);
    assert!(!screen(&mut app, 80, 24).contains("sorted by"));
    // Product is not among the columns that fit 80: the header says it.
    app.on_action(Action::SortNext);
    app.on_action(Action::SortNext);
    app.on_action(Action::SortReverse);
    let text = screen(&mut app, 80, 24);
    let header = text.lines().next().unwrap_or_default();
    assert!(header.contains("sorted by product ▼"), "{header}");
}
