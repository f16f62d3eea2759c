use super::*;
use crate::report::{AcsInfo, Counts, CpeInfo};

fn session(id: &str, start: &str) -> SessionReport {
    SessionReport {
        id: id.to_owned(),
        cpe: CpeInfo {
            ip: "10.0.0.5".to_owned(),
            manufacturer: None,
            oui: None,
            product_class: Some("TG784n".to_owned()),
            serial: Some(format!("SN-{id}")),
        },
        acs: AcsInfo {
            ip: "10.0.0.2".to_owned(),
            port: 7547,
        },
        start: start.to_owned(),
        end: start.to_owned(),
        duration: 0.0,
        events: vec!["2 PERIODIC".to_owned()],
        connections: 1,
        tcp: Vec::new(),
        termination: "normal",
        cwmp_version: None,
        rpcs: Counts::default(),
        connection_request: None,
        messages: Vec::new(),
        findings: Vec::new(),
        start_nanos: 0,
    }
}

fn app_with(n: usize) -> App {
    let mut app = App::new("test".to_owned());
    app.page = 3;
    for i in 0..n {
        app.on_event(UiEvent::Session(session(
            &format!("s{i}"),
            &format!("2026-12-06T10:00:{i:02}.000000Z"),
        )));
    }
    app
}

#[test]
fn the_selection_follows_new_rows_until_the_user_moves() {
    let mut app = app_with(3);
    assert_eq!(app.selected, 2, "follows the newest");
    app.on_action(Action::Up);
    app.on_event(UiEvent::Session(session(
        "s9",
        "2026-12-06T10:00:09.000000Z",
    )));
    assert_eq!(app.selected, 1, "stays where the user put it");
    app.on_action(Action::End);
    app.on_event(UiEvent::Session(session(
        "s10",
        "2026-12-06T10:00:10.000000Z",
    )));
    assert_eq!(app.selected, 4, "End follows again");
}

#[test]
fn the_list_scrolls_to_keep_the_selection_visible() {
    let mut app = app_with(10);
    assert_eq!((app.selected, app.top), (9, 7));
    app.on_action(Action::Home);
    assert_eq!((app.selected, app.top), (0, 0));
    app.on_action(Action::PageDown);
    assert_eq!((app.selected, app.top), (3, 1));
}

#[test]
fn screens_stack_and_esc_goes_back() {
    let mut app = app_with(2);
    app.on_action(Action::Open);
    assert!(matches!(app.screen(), Screen::Ladder { .. }));
    app.on_action(Action::Help);
    assert!(matches!(app.screen(), Screen::Help { .. }));
    app.on_action(Action::Help);
    assert_eq!(app.stack.len(), 2, "help opens once");
    app.on_action(Action::Back);
    app.on_action(Action::Back);
    assert_eq!(app.screen(), Screen::List);
    app.on_action(Action::Back);
    assert_eq!(app.screen(), Screen::List, "the list is the bottom");
    assert!(!app.quit);
    app.on_action(Action::Quit);
    assert!(app.quit);
}

#[test]
fn pause_freezes_the_rows_while_events_keep_arriving() {
    let mut app = app_with(2);
    app.on_action(Action::Pause);
    app.on_event(UiEvent::Session(session(
        "s5",
        "2026-12-06T10:00:05.000000Z",
    )));
    assert_eq!(app.rows().len(), 2);
    assert_eq!(app.sessions.len(), 3, "kept, not shown");
    app.on_action(Action::Pause);
    assert_eq!(app.rows().len(), 3);
}

#[test]
fn sessions_of_no_transaction_can_be_hidden() {
    let mut app = app_with(2);
    app.on_action(Action::ToggleSessions);
    assert!(app.rows().is_empty());
    app.on_action(Action::ToggleSessions);
    assert_eq!(app.rows().len(), 2);
}
