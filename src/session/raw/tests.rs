use super::*;
use crate::session::{HttpLine, MessageKind};
use crate::types::{ConnId, Dir, FrameRef};

fn http(body: &[u8]) -> HttpMessage {
    HttpMessage {
        conn: ConnId(1),
        dir: Dir::ToServer,
        src: "10.0.0.1:5000".parse().unwrap(),
        dst: "10.0.0.2:7547".parse().unwrap(),
        index: 0,
        start: StartLine::Request {
            method: "POST".to_owned(),
            uri: "/acs".to_owned(),
        },
        version: 1,
        headers: vec![
            ("Host".to_owned(), "acs".to_owned()),
            ("content-type".to_owned(), "text/xml".to_owned()),
        ],
        body: body.to_vec(),
        body_len: body.len() as u64,
        body_truncated: false,
        complete: true,
        gap_bytes: 0,
        body_sha256: None,
        digest_ticket: None,
        answers: None,
        request_method: None,
        interim: false,
        first_frame: FrameRef::new(0, 1),
        last_frame: FrameRef::new(0, 1),
        ts: 0,
        end_ts: 0,
        limits_hit: Default::default(),
    }
}

fn message(raw: Option<RawMessage>) -> SessionMessage {
    SessionMessage {
        kind: MessageKind::Cwmp,
        conn: ConnId(1),
        frame: FrameRef::new(0, 1),
        last_frame: FrameRef::new(0, 1),
        ts: 0,
        end_ts: 0,
        from_cpe: true,
        http: HttpLine {
            method: None,
            uri: None,
            status: None,
            reason: None,
            body_len: 0,
            complete: true,
            gap_bytes: 0,
            content_type: None,
        },
        credentials: None,
        challenges: Vec::new(),
        cookies: Vec::new(),
        set_cookies: Vec::new(),
        envelopes: Vec::new(),
        malformed: None,
        step: None,
        raw: raw.map(Arc::new),
        limits_hit: Default::default(),
    }
}

const HEAD: &str = "POST /acs HTTP/1.1\r\nHost: acs\r\ncontent-type: text/xml\r\n\r\n";

#[test]
fn the_head_is_rebuilt_and_the_body_kept() {
    let body = b"<Envelope>".repeat(100);
    let raw = RawMessage::of(&http(&body), 1 << 20);
    let mut expected = HEAD.as_bytes().to_vec();
    expected.extend_from_slice(&body);
    assert_eq!(raw.bytes(), expected);
    assert_eq!((raw.head_len, raw.body_len), (HEAD.len(), body.len()));
    assert_eq!(raw.body_dropped, None);
    assert!(raw.deflated_block().is_none(), "as received until deflated");
}

#[test]
fn a_body_above_the_limit_is_not_kept() {
    let raw = RawMessage::of(&http(&[b'x'; 100]), 99);
    assert_eq!(raw.body_dropped, Some(100));
    assert_eq!(raw.body_len, 0);
    assert_eq!(raw.bytes(), HEAD.as_bytes());
}

#[test]
fn a_sessions_messages_are_deflated_together_and_read_back_one_by_one() {
    let bodies: Vec<Vec<u8>> = (0..5)
        .map(|i| {
            format!("<Envelope><ID>{i}</ID></Envelope>")
                .repeat(20)
                .into_bytes()
        })
        .collect();
    let mut messages: Vec<SessionMessage> = bodies
        .iter()
        .map(|b| message(Some(RawMessage::of(&http(b), 1 << 20))))
        .collect();
    messages.insert(2, message(None));
    let before: Vec<Option<Vec<u8>>> = messages
        .iter()
        .map(|m| m.raw.as_ref().map(|r| r.bytes()))
        .collect();
    RawDeflater::default().deflate(&mut messages);
    let after: Vec<Option<Vec<u8>>> = messages
        .iter()
        .map(|m| m.raw.as_ref().map(|r| r.bytes()))
        .collect();
    assert_eq!(after, before);
    let blocks: Vec<&Arc<[u8]>> = messages
        .iter()
        .filter_map(|m| m.raw.as_ref()?.deflated_block())
        .collect();
    assert_eq!(blocks.len(), 5);
    assert!(
        blocks.iter().all(|b| Arc::ptr_eq(b, blocks[0])),
        "one block"
    );
    let plain: usize = before.iter().flatten().map(Vec::len).sum();
    assert!(
        blocks[0].len() * 10 < plain,
        "{} of {plain}",
        blocks[0].len()
    );
}

#[test]
fn blocks_stay_small_enough_to_read_one_message_quickly() {
    let big = vec![b'a'; BLOCK / 2 + 1];
    let mut messages: Vec<SessionMessage> = (0..5)
        .map(|_| message(Some(RawMessage::of(&http(&big), 1 << 20))))
        .collect();
    let mut deflater = RawDeflater::default();
    deflater.deflate(&mut messages);
    let blocks: Vec<&Arc<[u8]>> = messages
        .iter()
        .filter_map(|m| m.raw.as_ref()?.deflated_block())
        .collect();
    let distinct = blocks
        .windows(2)
        .filter(|w| !Arc::ptr_eq(w[0], w[1]))
        .count()
        + 1;
    assert_eq!(distinct, 5, "each over half a block: one block each");
    assert!(
        messages
            .iter()
            .all(|m| m.raw.as_ref().is_some_and(|r| r.bytes().ends_with(&big)))
    );
    // Deflating again changes nothing; the same deflater serves the next session.
    let again = messages.clone();
    deflater.deflate(&mut messages);
    for (a, b) in again.iter().zip(&messages) {
        assert!(Arc::ptr_eq(
            a.raw.as_ref().unwrap(),
            b.raw.as_ref().unwrap()
        ));
    }
}
