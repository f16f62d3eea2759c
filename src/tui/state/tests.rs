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
            inferred: false,
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
        limits_hit: Vec::new(),
        cwmp_version: None,
        rpcs: Counts::default(),
        connection_request: None,
        messages: Vec::new(),
        findings: Vec::new(),
        start_nanos: 0,
    }
}

fn app_with(n: usize) -> App {
    app_with_sessions(n, |_, _| {})
}

/// `n` sessions a second apart, each changed by `edit` before it arrives.
fn app_with_sessions(n: usize, edit: impl Fn(usize, &mut SessionReport)) -> App {
    let mut app = App::new("test".to_owned());
    app.page = 3;
    for i in 0..n {
        let mut s = session(
            &format!("s{i}"),
            &format!("2026-12-06T10:00:{i:02}.000000Z"),
        );
        edit(i, &mut s);
        app.on_event(UiEvent::Session(s));
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
        cpe: None,
    }
}

#[test]
fn search_filters_as_typed_and_esc_clears_it() {
    let mut app = app_with_sessions(3, |i, s| {
        if i == 1 {
            s.cpe.serial = Some("ABC-77".to_owned());
        }
    });
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
    let mut app = app_with_sessions(3, |i, s| match i {
        0 => s
            .findings
            .push(finding("basic-auth-cleartext", Severity::Error)),
        2 => s.termination = "reset",
        _ => {}
    });
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
    let mut app = app_with_sessions(3, |i, s| {
        s.findings.push(if i == 2 {
            finding("transfer-fault", Severity::Error)
        } else {
            finding("auth-stale-nonce", Severity::Info)
        })
    });
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
    let app = app_with_sessions(3, |i, s| {
        if i == 2 {
            s.start = "2026-12-06T10:02:30.000000Z".to_owned();
        }
    });
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

fn transaction(id: &str, start: &str, sessions: &[&str], outcome: Outcome) -> TransactionReport {
    let s = session("x", start);
    TransactionReport {
        id: id.to_owned(),
        kind: "configuration-update",
        cpe: s.cpe,
        acs: s.acs,
        file_server: None,
        command_key: format!("key-{id}"),
        file_type: "3 Vendor Configuration File".to_owned(),
        url: String::new(),
        announced_size: None,
        received_bytes: None,
        file_hash: None,
        download_status: None,
        outcome,
        limits_hit: Vec::new(),
        fault: None,
        sessions: sessions.iter().map(|s| (*s).to_owned()).collect(),
        start: start.to_owned(),
        end: start.to_owned(),
        versions: Vec::new(),
        steps: Vec::new(),
        findings: Vec::new(),
        number: 0,
    }
}

fn open_session(id: &str, start: &str) -> SessionReport {
    SessionReport {
        termination: "in progress",
        ..session(id, start)
    }
}

#[test]
fn sessions_in_progress_are_rows_until_they_end() {
    let mut app = app_with(1);
    app.on_event(UiEvent::Open(vec![
        open_session("s1", "2026-12-06T10:00:01.000000Z"),
        open_session("s2", "2026-12-06T10:00:02.000000Z"),
    ]));
    let rows = app.rows();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1].verdict, Verdict::InProgress);
    assert_eq!(rows[1].outcome, "in progress");
    // Its ladder is open while it ends.
    app.on_action(Action::Up);
    app.on_action(Action::Open);
    assert_eq!(
        app.screen(),
        Screen::Ladder {
            target: Target::Open(0),
            selected: 0,
            top: 0
        }
    );
    app.on_event(UiEvent::Session(session(
        "s1",
        "2026-12-06T10:00:01.000000Z",
    )));
    let rows = app.rows();
    assert_eq!(rows.len(), 3, "the row in progress became the ended one");
    assert_eq!(rows[1].verdict, Verdict::Ended);
    assert_eq!(rows[2].verdict, Verdict::InProgress);
    assert_eq!(
        app.screen(),
        Screen::Ladder {
            target: Target::Session(1),
            selected: 0,
            top: 0
        },
        "the screen follows it"
    );
    // The next list of open sessions replaces the last; the end of input clears it.
    app.on_event(UiEvent::Open(vec![open_session(
        "s3",
        "2026-12-06T10:00:03.000000Z",
    )]));
    assert_eq!(app.rows().len(), 3);
    assert_eq!(app.rows()[2].cpe, "SN-s3");
    app.on_event(UiEvent::Open(Vec::new()));
    assert_eq!(app.rows().len(), 2);
}

#[test]
fn a_transaction_takes_its_sessions_rows_and_counts_its_outcome() {
    let mut app = app_with(3);
    app.on_event(UiEvent::Transaction(transaction(
        "t1",
        "2026-12-06T10:00:00.500000Z",
        &["s0", "s2"],
        Outcome::Failed,
    )));
    let rows = app.rows();
    assert_eq!(
        rows.iter().map(|r| r.target).collect::<Vec<_>>(),
        [Target::Transaction(0), Target::Session(1)]
    );
    assert_eq!(rows[0].outcome, "failed");
    assert_eq!(app.totals.failed, 1);
    assert_eq!(app.owner_of("s2"), Some(0));
}

#[test]
fn the_selection_stays_on_its_row_when_rows_arrive_above_it() {
    let mut app = app_with(3);
    app.on_action(Action::Up);
    let selected = app.rows()[app.selected].cpe.clone();
    // A session that started earlier, reported later.
    app.on_event(UiEvent::Session(session(
        "early",
        "2026-12-06T09:59:00.000000Z",
    )));
    assert_eq!(app.rows()[0].cpe, "SN-early");
    assert_eq!(app.rows()[app.selected].cpe, selected);
}

#[test]
fn the_list_sorts_by_a_column_either_way() {
    let mut app = app_with_sessions(3, |i, s| {
        s.cpe.serial = Some(["B", "C", "A"][i].to_owned());
    });
    app.on_action(Action::SortNext);
    assert_eq!(app.sort.column, 1);
    let cpes = |app: &App| app.rows().iter().map(|r| r.cpe.clone()).collect::<Vec<_>>();
    assert_eq!(cpes(&app), ["A", "B", "C"]);
    app.on_action(Action::SortReverse);
    assert_eq!(cpes(&app), ["C", "B", "A"]);
    // New rows go where the order puts them.
    app.on_event(UiEvent::Session(session(
        "s9",
        "2026-12-06T10:00:09.000000Z",
    )));
    assert_eq!(cpes(&app), ["SN-s9", "C", "B", "A"]);
    app.on_action(Action::SortPrevious);
    app.on_action(Action::SortReverse);
    assert_eq!(cpes(&app), ["B", "C", "A", "SN-s9"], "by start again");
}

#[test]
fn the_memory_cap_releases_the_oldest_rows_and_says_so() {
    let mut app = App::new("live".to_owned()).with_max_rows(Some(3));
    for i in 0..5 {
        let mut s = session(
            &format!("s{i}"),
            &format!("2026-12-06T10:00:{i:02}.000000Z"),
        );
        s.findings.push(finding(
            "auth-stale-nonce",
            crate::catalogue::Severity::Info,
        ));
        app.on_event(UiEvent::Session(s));
    }
    app.on_event(UiEvent::Transaction(transaction(
        "t1",
        "2026-12-06T10:00:03.500000Z",
        &["s3", "s4"],
        Outcome::Success,
    )));
    // Rows: s2, t1 (s0 and s1 released: the cap is on rows, a transaction's sessions go
    // with it).
    let rows = app.rows();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].cpe, "SN-s2");
    assert_eq!(app.released, 2);
    assert_eq!(app.sessions.len(), 3);
    assert_eq!(app.totals.infos, 3, "counts follow what is kept");
    for i in 5..9 {
        app.on_event(UiEvent::Session(session(
            &format!("s{i}"),
            &format!("2026-12-06T10:00:{i:02}.000000Z"),
        )));
    }
    assert_eq!(app.rows().len(), 3);
    assert!(app.transactions.is_empty(), "t1 went with its sessions");
    assert_eq!(app.sessions.len(), 3);
    assert_eq!(app.totals.success, 0);
    assert_eq!(app.released, 5);
}

#[test]
fn a_full_list_never_grows_its_table_while_rows_come_and_go() {
    // Nearly as many rows as a table of 4096 slots takes (3584): removals leave tombstones.
    let max = 3500;
    let mut app = App::new("live".to_owned()).with_max_rows(Some(max));
    let ts = |i: usize| {
        format!(
            "2026-12-06T{:02}:{:02}:{:02}.000000Z",
            i / 3600,
            i / 60 % 60,
            i % 60
        )
    };
    for i in 0..max {
        app.on_event(UiEvent::Session(session(&format!("s{i}"), &ts(i))));
    }
    let capacity = app.cells.capacity();
    // Full: ten times as many rows again, each releasing the oldest. A table only as large as
    // the rows need would double once removed slots pile up.
    for i in max..10 * max {
        app.on_event(UiEvent::Session(session(&format!("s{i}"), &ts(i))));
    }
    assert_eq!(app.rows().len(), max);
    assert!(
        app.cells.capacity() <= capacity,
        "the table grew: {} > {capacity}",
        app.cells.capacity()
    );
}
