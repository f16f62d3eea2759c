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

fn finding(code: &'static str, severity: crate::catalogue::Severity) -> FindingReport {
    FindingReport {
        code,
        severity,
        message: format!("{code} here"),
        frames: Vec::new(),
    }
}

#[test]
fn search_filters_as_typed_and_esc_clears_it() {
    let mut app = app_with(3);
    app.sessions[1].cpe.serial = Some("ABC-77".to_owned());
    app.on_action(Action::Search);
    assert!(app.typing());
    for c in "abc".chars() {
        app.on_action(Action::Type(c));
    }
    assert_eq!(app.search, "abc");
    assert_eq!(
        app.rows().len(),
        1,
        "case-insensitive substring of the serial"
    );
    app.on_action(Action::Open);
    assert!(!app.typing());
    assert_eq!(app.rows().len(), 1, "Enter keeps it");
    app.on_action(Action::Search);
    app.on_action(Action::Erase);
    assert_eq!(app.search, "ab");
    app.on_action(Action::Back);
    assert!(app.search.is_empty(), "Esc clears it");
    assert_eq!(app.rows().len(), 3);
}

#[test]
fn filter_expressions_parse_or_say_why_not() {
    use crate::catalogue::Severity;
    assert_eq!(parse_filter("").unwrap(), Vec::new());
    assert_eq!(
        parse_filter("cpe=SN outcome=failed kind=download code=transfer-fault severity=warning")
            .unwrap(),
        vec![
            Term::Cpe("sn".to_owned()),
            Term::Outcome("failed".to_owned()),
            Term::Kind("download".to_owned()),
            Term::Code("transfer-fault".to_owned()),
            Term::Severity(Severity::Warning),
        ]
    );
    assert!(parse_filter("cpe").unwrap_err().contains("key=value"));
    assert!(
        parse_filter("colour=red")
            .unwrap_err()
            .contains("unknown key")
    );
    assert!(parse_filter("code=nope").unwrap_err().contains("no such"));
    assert!(
        parse_filter("severity=bad")
            .unwrap_err()
            .contains("severity")
    );
}

#[test]
fn a_filter_applies_and_an_invalid_one_keeps_the_old() {
    use crate::catalogue::Severity;
    let mut app = app_with(3);
    app.sessions[2].termination = "reset";
    app.sessions[0]
        .findings
        .push(finding("basic-auth-cleartext", Severity::Error));
    app.on_action(Action::Filter);
    for c in "outcome=normal".chars() {
        app.on_action(Action::Type(c));
    }
    app.on_action(Action::Open);
    assert_eq!(app.rows().len(), 2);
    assert_eq!(app.filter_text, "outcome=normal");
    app.on_action(Action::Filter);
    for c in " severity=error".chars() {
        app.on_action(Action::Type(c));
    }
    app.on_action(Action::Open);
    assert_eq!(app.rows().len(), 1);
    assert_eq!(app.rows()[0].target, Target::Session(0));
    app.on_action(Action::Filter);
    app.on_action(Action::Type(' '));
    app.on_action(Action::Type('x'));
    app.on_action(Action::Open);
    assert!(app.typing(), "the prompt stays open to be fixed");
    assert!(app.status.as_deref().unwrap().contains("invalid filter"));
    assert_eq!(app.filter_text, "outcome=normal severity=error");
    app.on_action(Action::Back);
    assert_eq!(app.rows().len(), 1, "the old filter is kept");
}

#[test]
fn findings_group_by_code_worst_first_and_jump_to_their_ladder() {
    use crate::catalogue::Severity;
    let mut app = app_with(3);
    app.sessions[0]
        .findings
        .push(finding("auth-stale-nonce", Severity::Info));
    app.sessions[1]
        .findings
        .push(finding("auth-stale-nonce", Severity::Info));
    app.sessions[2]
        .findings
        .push(finding("transfer-fault", Severity::Error));
    app.on_event(UiEvent::Finding(finding(
        "basic-auth-cleartext",
        Severity::Error,
    )));
    let groups = app.finding_groups();
    let codes: Vec<(&str, usize)> = groups
        .iter()
        .map(|g| (g.code, g.occurrences.len()))
        .collect();
    assert_eq!(
        codes,
        [
            ("basic-auth-cleartext", 1),
            ("transfer-fault", 1),
            ("auth-stale-nonce", 2)
        ]
    );
    assert!(!groups[0].meaning.is_empty());
    app.on_action(Action::Findings);
    app.on_action(Action::End);
    app.on_action(Action::Open);
    assert_eq!(
        app.screen(),
        Screen::Findings {
            selected: 2,
            top: 0,
            open: Some("auth-stale-nonce")
        }
    );
    app.on_action(Action::Down);
    app.on_action(Action::Down);
    app.on_action(Action::Open);
    assert_eq!(
        app.screen(),
        Screen::Ladder {
            target: Target::Session(1),
            selected: 0,
            top: 0
        }
    );
    app.on_action(Action::Back);
    app.on_action(Action::Home);
    app.on_action(Action::Open);
    app.on_action(Action::Down);
    app.on_action(Action::Open);
    assert!(app.status.as_deref().unwrap().contains("no ladder"));
}

#[test]
fn stats_count_outcomes_latencies_and_sessions_per_minute() {
    let mut app = app_with(3);
    app.sessions[2].start = "2026-12-06T10:02:30.000000Z".to_owned();
    let st = app.stats();
    assert_eq!(st.sessions, [("normal", 3)]);
    assert_eq!(st.per_minute, [2, 0, 1]);
    assert_eq!(st.first_minute, "10:00");
    assert_eq!(st.latencies.len(), 3);
    assert!(st.latencies.iter().all(|l| l.count == 0));
    assert_eq!(
        save_name(&app, Target::Session(0)).unwrap(),
        "SN-s0-s0.pcap"
    );
}
