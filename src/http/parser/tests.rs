//! Tests of the parser's parts: message-start probes, header blocks, body framing, request
//! pairing.

use super::framing::{content_length, transfer_chunked};
use super::head::header_value;
use super::*;

#[test]
fn message_start_probe() {
    assert_eq!(message_start(b"POST /acs HTTP/1.1\r\n"), Probe::Yes);
    assert_eq!(message_start(b"HTTP/1.1 200 OK\r\n"), Probe::Yes);
    assert_eq!(message_start(b"HTTP/1.0 204\r\n"), Probe::Yes);
    assert_eq!(message_start(b"HTTP/1"), Probe::NeedMore);
    assert_eq!(message_start(b"HTTP/1.1 "), Probe::NeedMore);
    assert_eq!(message_start(b"GET /x HTT"), Probe::NeedMore);
    assert_eq!(message_start(b"GET /x"), Probe::NeedMore);
    assert_eq!(message_start(b"GET"), Probe::NeedMore);
    assert_eq!(message_start(b"GET /x HTTP/2\r\n"), Probe::No);
    assert_eq!(message_start(b"get /x HTTP/1.1\r\n"), Probe::No);
    assert_eq!(message_start(b"GET  /x  HTTP/1.1\r\n"), Probe::Yes);
    assert_eq!(message_start(b"HTTP/1.1  200  OK\r\n"), Probe::Yes);
    assert_eq!(message_start(b"GET \r\n"), Probe::No);
    assert_eq!(message_start(b"GET /x\r\n"), Probe::No);
    assert_eq!(message_start(b"HTTP/1.1200"), Probe::No);
    assert_eq!(message_start(b"<soap:Envelope>"), Probe::No);
    assert_eq!(message_start(b"HTTP/1.1 OK"), Probe::No);
    assert_eq!(message_start(b"SSH-2.0-OpenSSH_9.6\r\n"), Probe::No);
    assert_eq!(message_start(&[0x16, 0x03, 0x01, 0x02, 0x00]), Probe::No);
    let mut long = b"GET /".to_vec();
    long.extend(std::iter::repeat_n(b'a', MAX_PROBE_TARGET));
    assert_eq!(message_start(&long), Probe::No);
}

#[test]
fn loose_probe_accepts_what_the_strict_one_accepts() {
    for start in [
        &b"GET  /x  HTTP/1.1\r\n"[..],
        b"HTTP/1.1  200  OK\r\n",
        b"M-SEARCH * HTTP/1.1\r\n",
    ] {
        assert_eq!(message_start(start), Probe::Yes);
        assert_eq!(token_then_space(start), Probe::Yes);
    }
    assert_eq!(token_then_space(b"GET"), Probe::NeedMore);
    assert_eq!(token_then_space(b"GET  "), Probe::NeedMore);
    assert_eq!(token_then_space(b"GET \r\n"), Probe::No);
    assert_eq!(token_then_space(b"\x00GET / HTTP/1.1"), Probe::No);
}

proptest::proptest! {
    #[test]
    fn strict_start_implies_loose_start(
        method in "[A-Z]{1,8}",
        sp1 in 1usize..4,
        target in "[!-~]{1,20}",
        sp2 in 1usize..4,
        tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
    ) {
        let mut line = method.into_bytes();
        line.extend(std::iter::repeat_n(b' ', sp1));
        line.extend_from_slice(target.as_bytes());
        line.extend(std::iter::repeat_n(b' ', sp2));
        line.extend_from_slice(b"HTTP/1.");
        line.extend_from_slice(&tail);
        for cut in 1..=line.len() {
            let probe = message_start(&line[..cut]);
            if probe == Probe::Yes {
                proptest::prop_assert_eq!(token_then_space(&line[..cut]), Probe::Yes);
            }
        }
        proptest::prop_assert_eq!(message_start(&line), Probe::Yes);
    }
}

#[test]
fn tls_probe() {
    assert_eq!(tls_record_start(&[0x16, 0x03, 0x01, 0x02]), Probe::Yes);
    assert_eq!(tls_record_start(&[0x16]), Probe::NeedMore);
    assert_eq!(tls_record_start(b"GET"), Probe::No);
}

#[test]
fn header_end_is_found_with_both_line_ends() {
    assert_eq!(find_header_end(b"GET / HTTP/1.1\r\n\r\nBODY", 0), Some(18));
    assert_eq!(find_header_end(b"GET / HTTP/1.1\n\nBODY", 0), Some(16));
    assert_eq!(find_header_end(b"GET / HTTP/1.1\r\nA: b\r\n\r", 0), None);
    assert_eq!(
        find_header_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\n", 20),
        Some(24)
    );
}

#[test]
fn content_length_rules() {
    let h = |v: &str| vec![("content-length".to_string(), v.to_string())];
    assert_eq!(content_length(&h("12")), Ok(Some(12)));
    assert_eq!(content_length(&h(" 7 , 7")), Ok(Some(7)));
    assert!(content_length(&h("7, 8")).is_err());
    assert!(content_length(&h("-1")).is_err());
    assert!(content_length(&h("")).is_err());
    assert!(content_length(&h("99999999999999999999")).is_err());
    assert_eq!(content_length(&[]), Ok(None));
}

#[test]
fn transfer_encoding_rules() {
    let h = |v: &str| vec![("Transfer-Encoding".to_string(), v.to_string())];
    assert_eq!(transfer_chunked(&h("gzip, Chunked")), Some(true));
    assert_eq!(transfer_chunked(&h("chunked, gzip")), Some(false));
    assert_eq!(transfer_chunked(&[]), None);
    assert!(request_framing(&h("gzip")).is_err());
    assert!(matches!(
        response_framing(200, Some("GET"), &h("gzip")),
        Ok(Framing::Close)
    ));
    assert!(matches!(
        response_framing(200, Some("HEAD"), &h("chunked")),
        Ok(Framing::NoBody)
    ));
}

#[test]
fn obsolete_folding_becomes_spaces() {
    assert_eq!(header_value(b"a\r\n  b\r\n\tc"), "a b c");
    assert_eq!(header_value(b"plain"), "plain");
}

#[test]
fn pending_requests_are_fifo_and_bounded() {
    let mut q = PendingRequests::default();
    for i in 0..3 {
        let req = PendingRequest {
            dir: Dir::ToServer,
            index: i,
            method: "GET".into(),
            maybe_answered_in_gap: false,
        };
        // The third request gives the first up.
        assert_eq!(q.push(req, 2), i == 2);
    }
    assert!(
        q.pop_for(Dir::ToServer).is_none(),
        "same direction never answers"
    );
    assert_eq!(q.pop_for(Dir::ToClient).map(|r| r.index), Some(1));
    assert_eq!(q.pop_for(Dir::ToClient).map(|r| r.index), Some(2));
    assert!(q.pop_for(Dir::ToClient).is_none());
}
