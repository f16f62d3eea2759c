//! One generated flow per code of the findings catalogue: the reference flow broken in
//! exactly one way. Also the accepted variants of the reference flow, which must raise no
//! warning or error. Which findings each case must raise, and where, is the catalogue test's
//! business (`tests/it/findings_catalogue.rs`): this module only builds the flows.
//!
//! The base of every case is [`base_options`]: the reference ladder with echoed `cwmp:ID`s and
//! a `204` ending each session, so that a clean run raises nothing at all, not even `info`.

use super::conversation::{At, Connection, End, MS, SECOND};
use super::cwmp::{
    CwmpOptions, FetchTimes, FileServerReply, Flow, FlowBuilder, Timing, reference_flow,
};
use super::http::{AuthScheme, HttpMessage};
use super::soap::{self, SoapHeader};
use crate::types::{Dir, Nanos, format_ts};
use std::net::SocketAddr;

/// One catalogue case: a flow built to raise `code`. What the analyzer must report for it (the
/// findings oracle) is test support and lives with the catalogue test, keyed by `name`.
#[derive(Clone, Debug)]
pub struct Case {
    /// Unique name of the case (the code, or the code and a suffix when a code has several
    /// cases).
    pub name: &'static str,
    /// The finding code the case is built to raise.
    pub code: &'static str,
    /// The connections to render.
    pub flow: Flow,
}

/// The reference ladder with responses that echo their request's `cwmp:ID` and sessions ended
/// by `204`: a flow that raises no finding at all.
pub fn base_options() -> CwmpOptions {
    CwmpOptions {
        echo_request_ids: true,
        empty_response_status: 204,
        ..CwmpOptions::default()
    }
}

/// The accepted variants of the reference flow (flow.md), each of which must raise no warning
/// and no error: the reference itself, MaxEnvelopes 1, a cookie across connections, a firmware
/// image, DownloadResponse Status 0, a Connection Request first, and Digest with a stale nonce.
/// They end sessions with `200` as the reference ladder does (`empty-response-not-204`, info).
pub fn clean_variants() -> Vec<(&'static str, Flow)> {
    let base = CwmpOptions {
        echo_request_ids: true,
        ..CwmpOptions::default()
    };
    let mut stale = base.clone();
    stale.quirks.stale_nonce = true;
    let variants = [
        ("reference", base.clone()),
        (
            "maxenvelopes1",
            CwmpOptions {
                max_envelopes: 1,
                ..base.clone()
            },
        ),
        (
            "cookie",
            CwmpOptions {
                cookie_across_connections: true,
                ..base.clone()
            },
        ),
        (
            "firmware",
            CwmpOptions {
                echo_request_ids: true,
                ..CwmpOptions::firmware()
            },
        ),
        (
            "status0",
            CwmpOptions {
                download_status: 0,
                ..base.clone()
            },
        ),
        (
            "connection-request",
            CwmpOptions {
                connection_request: true,
                ..base.clone()
            },
        ),
        ("stale-nonce", stale),
    ];
    variants
        .into_iter()
        .map(|(name, o)| (name, reference_flow(&o)))
        .collect()
}

/// Replaces the body of the HTTP message `message` with `body` and sets its Content-Length.
pub fn with_body(message: &[u8], body: &[u8]) -> Vec<u8> {
    let head_end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(message.len());
    let head = String::from_utf8_lossy(message.get(..head_end).unwrap_or_default());
    let mut out = String::with_capacity(head.len() + 32);
    let mut has_length = false;
    for line in head.split("\r\n") {
        if line.len() > 15 && line[..15].eq_ignore_ascii_case("content-length:") {
            out.push_str(&format!("Content-Length: {}\r\n", body.len()));
            has_length = true;
        } else {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    if !has_length {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// The body of the HTTP message `message` as text.
fn body_text(message: &[u8]) -> String {
    let start = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(message.len(), |p| p + 4);
    String::from_utf8_lossy(message.get(start..).unwrap_or_default()).into_owned()
}

/// Rewrites the body of the first step of `conn` that contains `needle` with `edit`.
fn edit_step(conn: &mut Connection, needle: &str, edit: impl FnOnce(String) -> String) {
    let step = conn
        .steps
        .iter_mut()
        .find(|s| String::from_utf8_lossy(&s.bytes).contains(needle));
    if let Some(step) = step {
        let body = edit(body_text(&step.bytes));
        step.bytes = with_body(&step.bytes, body.as_bytes());
    } else {
        debug_assert!(false, "no step contains {needle:?}");
    }
}

/// Index of the first step of `conn` whose bytes contain `needle`.
fn step_index(conn: &Connection, needle: &str) -> usize {
    conn.steps
        .iter()
        .position(|s| String::from_utf8_lossy(&s.bytes).contains(needle))
        .unwrap_or(conn.steps.len().saturating_sub(1))
}

/// Indices of the connections to `server`, in start order.
fn connections_to(flow: &Flow, server: SocketAddr) -> Vec<usize> {
    flow.connections
        .iter()
        .enumerate()
        .filter(|(_, c)| c.server == server)
        .map(|(i, _)| i)
        .collect()
}

/// The reference flow of `opts` built piece by piece (Status 1 only), calling `before_tc` on
/// the builder between the file fetch and the TRANSFER COMPLETE session, and `after` at the
/// end with the time of the last packet.
fn reference_with(
    opts: &CwmpOptions,
    before_tc: impl FnOnce(&mut FlowBuilder, &FetchTimes),
    after: impl FnOnce(&mut FlowBuilder, Nanos),
) -> Flow {
    let mut b = FlowBuilder::new(opts.clone());
    let t = opts.timing;
    let (session_end, _) = b.download_session(opts.start, "2 PERIODIC");
    let fetch = b.file_fetch(session_end + t.file_fetch_delay);
    before_tc(&mut b, &fetch);
    let end = b.transfer_complete_session(fetch.closed + t.apply_delay, fetch);
    after(&mut b, end);
    b.finish()
}

/// The TRANSFER COMPLETE session's pieces: its Inform and TransferComplete envelopes with
/// their IDs.
struct TcEnvelopes {
    inform: String,
    inform_id: String,
    tc: String,
    tc_id: String,
}

fn tc_envelopes(b: &mut FlowBuilder, start: Nanos, fetch: &FetchTimes) -> TcEnvelopes {
    let o = b.opts.clone();
    let events = [
        ("7 TRANSFER COMPLETE", ""),
        ("4 VALUE CHANGE", ""),
        ("M Download", o.command_key.as_str()),
    ];
    let inform = b.inform_envelope(&events, start, true);
    let inform_id = b.last_id().to_string();
    let header = SoapHeader {
        id: Some(b.next_message_id()),
        no_more_requests: Some(true),
        hold_requests: None,
    };
    let tc_id = b.last_id().to_string();
    let body = soap::transfer_complete(
        &o.command_key,
        0,
        "",
        &format_ts(fetch.started),
        &format_ts(fetch.completed),
        &o.soap,
    );
    TcEnvelopes {
        inform,
        inform_id,
        tc: soap::envelope(&o.soap, &header, &body),
        tc_id,
    }
}

/// The reference flow whose TRANSFER COMPLETE session is scripted by `script` (given the
/// builder, the open session and the session's envelopes) instead of the usual one.
fn reference_with_tc_script(
    opts: &CwmpOptions,
    script: impl FnOnce(&mut FlowBuilder, &mut super::cwmp::AcsSession, TcEnvelopes),
) -> Flow {
    let mut b = FlowBuilder::new(opts.clone());
    let t = opts.timing;
    let (session_end, _) = b.download_session(opts.start, "2 PERIODIC");
    let fetch = b.file_fetch(session_end + t.file_fetch_delay);
    let start = fetch.closed + t.apply_delay;
    let mut s = b.open_acs_session(start);
    let envelopes = tc_envelopes(&mut b, start, &fetch);
    script(&mut b, &mut s, envelopes);
    b.close_session(s);
    b.finish()
}

/// The response envelope to a request with ID `id`.
fn answer(b: &mut FlowBuilder, id: &str, body: &str) -> String {
    b.response_envelope(id, body, true)
}

/// The session ends with the ACS's empty response; the pieces of a normal TC session after
/// the InformResponse.
fn tc_rest(b: &mut FlowBuilder, s: &mut super::cwmp::AcsSession, e: &TcEnvelopes) {
    let style = b.opts.soap.clone();
    b.cpe_post(s, Some(&e.tc), None);
    let tcr = answer(b, &e.tc_id, &soap::transfer_complete_response(&style));
    b.acs_reply(s, 200, Some(&tcr), false);
    b.cpe_post(s, None, None);
    let status = b.opts.empty_response_status;
    b.acs_reply(s, status, None, false);
}

/// A TLS 1.2 ClientHello record (truncated extensions are fine: nobody decrypts it).
fn tls_client_hello() -> Vec<u8> {
    let mut hello = vec![0x01, 0x00, 0x00, 0x2d, 0x03, 0x03];
    hello.extend((0u8..32).map(|i| i.wrapping_mul(37)));
    hello.extend_from_slice(&[0x00, 0x00, 0x04, 0xc0, 0x2f, 0x00, 0x9c, 0x01, 0x00]);
    hello.extend_from_slice(&[0x00, 0x00]);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&(hello.len() as u16).to_be_bytes());
    record.extend(hello);
    record
}

/// A TLS ServerHello record followed by an application-data record.
fn tls_server_flight() -> Vec<u8> {
    let mut hello = vec![0x02, 0x00, 0x00, 0x26, 0x03, 0x03];
    hello.extend((0u8..32).map(|i| i.wrapping_mul(11)));
    hello.extend_from_slice(&[0x00, 0xc0, 0x2f, 0x00]);
    let mut out = vec![0x16, 0x03, 0x03];
    out.extend_from_slice(&(hello.len() as u16).to_be_bytes());
    out.extend(hello);
    out.extend_from_slice(&[0x17, 0x03, 0x03, 0x00, 0x40]);
    out.extend((0u8..0x40).map(|i| i.wrapping_mul(91)));
    out
}

/// Certificates made by OpenSSL for the TLS rules' tests (see captures/README.md, "TLS
/// certificate fixtures"): valid 2024–2034 for `acs.example.net`, expired on 2021-01-01, and
/// valid but naming only `portal.example.net`.
const CERT_VALID: &[u8] = include_bytes!("../../tests/fixtures/tls/certs/valid.der");
const CERT_EXPIRED: &[u8] = include_bytes!("../../tests/fixtures/tls/certs/expired.der");
const CERT_OTHER_NAME: &[u8] =
    include_bytes!("../../tests/fixtures/tls/certs/san-overrides-cn.der");

/// A TLS record of type `ty` (version 1.2) around `body`.
fn tls_record(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![ty, 0x03, 0x03];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

/// A handshake message of type `ty` around `body`.
fn tls_message(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

/// A ClientHello record offering TLS 1.2 (and TLS 1.0's `TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA`)
/// to `acs.example.net` (server_name extension).
fn tls_client_hello_sni() -> Vec<u8> {
    let name = b"acs.example.net";
    let mut sni = Vec::new();
    sni.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
    sni.push(0);
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name);
    let mut extensions = vec![0x00, 0x00];
    extensions.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    extensions.extend(sni);
    let mut hello = vec![0x03, 0x03];
    hello.extend((0u8..32).map(|i| i.wrapping_mul(53)));
    hello.extend_from_slice(&[0x00, 0x00, 0x04, 0xc0, 0x2f, 0xc0, 0x13, 0x01, 0x00]);
    hello.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    hello.extend(extensions);
    tls_record(0x16, &tls_message(0x01, &hello))
}

/// The server's first flight in one record: a ServerHello choosing `version` and `suite`,
/// then, with `certificate`, a Certificate message carrying it and a ServerHelloDone.
fn tls_server_hello(version: u16, suite: u16, certificate: Option<&[u8]>) -> Vec<u8> {
    let mut hello = version.to_be_bytes().to_vec();
    hello.extend((0u8..32).map(|i| i.wrapping_mul(29)));
    hello.push(0x00);
    hello.extend_from_slice(&suite.to_be_bytes());
    hello.push(0x00);
    let mut flight = tls_message(0x02, &hello);
    if let Some(der) = certificate {
        let entry_len = (der.len() as u32).to_be_bytes();
        let list_len = (der.len() as u32 + 3).to_be_bytes();
        let mut body = list_len[1..].to_vec();
        body.extend_from_slice(&entry_len[1..]);
        body.extend_from_slice(der);
        flight.extend(tls_message(0x0b, &body));
        flight.extend(tls_message(0x0e, &[]));
    }
    tls_record(0x16, &flight)
}

/// A ChangeCipherSpec and an encrypted Finished, as each side sends them.
fn tls_change_cipher_spec(seed: u8) -> Vec<u8> {
    let mut out = tls_record(0x14, &[0x01]);
    let finished: Vec<u8> = (0u8..40).map(|i| i.wrapping_mul(seed)).collect();
    out.extend(tls_record(0x16, &finished));
    out
}

/// One encrypted application-data record.
fn tls_application_data(seed: u8) -> Vec<u8> {
    let data: Vec<u8> = (0u8..96).map(|i| i.wrapping_mul(seed)).collect();
    tls_record(0x17, &data)
}

/// A minute after the reference flow, a TLS connection from the CPE to the ACS's address and
/// port: its hellos (the server's as `server_flight` makes it), then, with `finish`, each side's
/// ChangeCipherSpec and Finished and application data both ways; else the CPE's fatal
/// `unknown_ca` alert and its RST.
fn tls_case(base: &CwmpOptions, server_flight: Vec<u8>, finish: bool) -> Flow {
    reference_with(
        base,
        |_, _| {},
        |b, end| {
            let client = b.cpe_endpoint();
            let mut c = Connection::new(client, b.opts.acs, end + 60 * SECOND);
            c.rtt = b.opts.timing.rtt;
            c.client_sends(MS, tls_client_hello_sni());
            c.server_sends(2 * MS, server_flight);
            if finish {
                c.client_sends(MS, tls_change_cipher_spec(7));
                c.server_sends(MS, tls_change_cipher_spec(13));
                c.client_sends(MS, tls_application_data(17));
                c.server_sends(MS, tls_application_data(19));
            } else {
                c.client_sends(MS, tls_record(0x15, &[0x02, 48]));
                c.ends(End::Reset(Dir::ToServer), At::After(MS));
            }
            b.add_connection(c);
        },
    )
}

/// Every catalogue case, in the order of docs/findings.md.
pub fn catalogue() -> Vec<Case> {
    let base = base_options();
    let mut cases = Vec::new();
    let mut add = |name: &'static str, code: &'static str, flow: Flow| {
        cases.push(Case { name, code, flow });
    };
    let quirk = |f: &dyn Fn(&mut CwmpOptions)| {
        let mut o = base.clone();
        f(&mut o);
        reference_flow(&o)
    };
    let acs = base.acs;
    let file_server = base.file_server;

    // --- Authentication ---
    add(
        "acs-auth-missing",
        "acs-auth-missing",
        quirk(&|o| o.acs_auth = AuthScheme::None),
    );
    add(
        "basic-auth-cleartext",
        "basic-auth-cleartext",
        quirk(&|o| o.acs_auth = AuthScheme::Basic),
    );
    for (name, second_try) in [
        ("acs-auth-failed/rejected", true),
        ("acs-auth-failed/gave-up", false),
    ] {
        let mut b = FlowBuilder::new(base.clone());
        let mut s = b.open_acs_session(base.start);
        let inform = b.inform_envelope(&[("2 PERIODIC", "")], base.start, false);
        b.cpe_post(&mut s, Some(&inform), None);
        b.acs_reply(&mut s, 401, None, false);
        if second_try {
            let auth = b.acs_authorization();
            b.cpe_post(&mut s, Some(&inform), auth);
            b.acs_reply(&mut s, 401, None, false);
        }
        b.close_session(s);
        add(name, "acs-auth-failed", b.finish());
    }
    add(
        "auth-stale-nonce",
        "auth-stale-nonce",
        quirk(&|o| o.quirks.stale_nonce = true),
    );
    add(
        "file-auth-failed",
        "file-auth-failed",
        quirk(&|o| {
            o.quirks.file_server_reply = FileServerReply::RejectsCredentials;
            o.quirks.transfer_fault =
                Some((9012, "File transfer server authentication failure".into()));
        }),
    );
    add(
        "file-credentials-unused",
        "file-credentials-unused",
        quirk(&|o| {
            o.quirks.file_server_reply = FileServerReply::CredentialsUnused;
            o.quirks.transfer_fault =
                Some((9012, "File transfer server authentication failure".into()));
        }),
    );
    add(
        "connection-request-unauthenticated",
        "connection-request-unauthenticated",
        quirk(&|o| {
            o.connection_request = true;
            o.quirks.connection_request_unchallenged = true;
        }),
    );

    // --- Session structure ---
    // The CPE reports its TransferComplete before its Inform.
    add(
        "inform-not-first",
        "inform-not-first",
        reference_with_tc_script(&base, |b, s, e| {
            let style = b.opts.soap.clone();
            b.cpe_post(s, Some(&e.tc), None);
            b.acs_reply(s, 401, None, false);
            let auth = b.acs_authorization();
            b.cpe_post(s, Some(&e.tc), auth);
            let tcr = answer(b, &e.tc_id, &soap::transfer_complete_response(&style));
            b.acs_reply(s, 200, Some(&tcr), false);
            b.cpe_post(s, Some(&e.inform), None);
            let ir = answer(b, &e.inform_id, &soap::inform_response(1, &style));
            b.acs_reply(s, 200, Some(&ir), false);
            b.cpe_post(s, None, None);
            b.acs_reply(s, 204, None, false);
        }),
    );
    // A minute after the flow, the CPE opens a session with GetRPCMethods and never sends an
    // Inform: the session is of the CPE last seen at that address.
    let flow = reference_with(
        &base,
        |_, _| {},
        |b, end| {
            let style = b.opts.soap.clone();
            let mut s = b.open_acs_session(end + 60 * SECOND);
            let request = b.envelope(&soap::rpc("GetRPCMethods", "", &style));
            let id = b.last_id().to_string();
            b.cpe_post(&mut s, Some(&request), None);
            let methods = answer(b, &id, &soap::rpc("GetRPCMethodsResponse", "", &style));
            b.acs_reply(&mut s, 200, Some(&methods), false);
            b.cpe_post(&mut s, None, None);
            b.acs_reply(&mut s, 204, None, false);
            b.close_session(s);
        },
    );
    add("inform-not-first-without-inform", "inform-not-first", flow);
    // After the InformResponse the CPE sends its Inform again (with a new ID).
    add(
        "multiple-informs",
        "multiple-informs",
        reference_with_tc_script(&base, |b, s, e| {
            let style = b.opts.soap.clone();
            b.authenticated_inform(s, &e.inform);
            let ir = answer(b, &e.inform_id, &soap::inform_response(1, &style));
            b.acs_reply(s, 200, Some(&ir), false);
            let again = e.inform.replace(
                &format!(">{}</cwmp:ID>", e.inform_id),
                &format!(">{}r</cwmp:ID>", e.inform_id),
            );
            b.cpe_post(s, Some(&again), None);
            let ir = answer(
                b,
                &format!("{}r", e.inform_id),
                &soap::inform_response(1, &style),
            );
            b.acs_reply(s, 200, Some(&ir), false);
            tc_rest(b, s, &e);
        }),
    );
    // The ACS answers the CPE's last empty POST with 500.
    let mut flow = reference_flow(&base);
    if let Some(&last) = connections_to(&flow, acs).last()
        && let Some(conn) = flow.connections.get_mut(last)
        && let Some(step) = conn.steps.last_mut()
    {
        step.bytes = HttpMessage::response(500)
            .body(
                "text/html",
                "<html><body>500 Internal Server Error</body></html>\n",
            )
            .to_bytes();
    }
    add("acs-http-error", "acs-http-error", flow);
    // The InformResponse carries an ID its Inform did not have.
    let mut flow = reference_flow(&base);
    if let Some(conn) = flow.connections.first_mut() {
        edit_step(conn, "<cwmp:InformResponse>", |body| {
            body.replacen(">1</cwmp:ID>", ">ffff</cwmp:ID>", 1)
        });
    }
    add("cwmp-id-mismatch", "cwmp-id-mismatch", flow);
    add(
        "cwmp-version-mismatch",
        "cwmp-version-mismatch",
        quirk(&|o| o.quirks.acs_cwmp_ns = Some("urn:dslforum-org:cwmp-1-2".into())),
    );
    add(
        "hold-requests-violated",
        "hold-requests-violated",
        quirk(&|o| o.quirks.hold_requests_ignored = true),
    );
    add(
        "request-after-empty-post",
        "request-after-empty-post",
        quirk(&|o| o.quirks.request_after_empty_post = true),
    );
    add(
        "max-envelopes-exceeded",
        "max-envelopes-exceeded",
        quirk(&|o| o.quirks.inform_max_envelopes = Some(1)),
    );
    // The CPE answers the Download with an empty POST: the Download is never answered.
    let mut flow = reference_flow(&base);
    flow.connections.truncate(1);
    if let Some(conn) = flow.connections.first_mut() {
        edit_step(conn, "<cwmp:DownloadResponse>", |_| String::new());
    }
    add("rpc-unanswered", "rpc-unanswered", flow);
    // The CPE answers the Download with an UploadResponse.
    let mut flow = reference_flow(&base);
    flow.connections.truncate(1);
    if let Some(conn) = flow.connections.first_mut() {
        edit_step(conn, "<cwmp:DownloadResponse>", |body| {
            body.replace("DownloadResponse>", "UploadResponse>")
        });
    }
    add("response-mismatch", "response-mismatch", flow);
    // The ACS closes the connection instead of answering the CPE's last empty POST.
    let mut flow = reference_flow(&base);
    if let Some(&last) = connections_to(&flow, acs).last()
        && let Some(conn) = flow.connections.get_mut(last)
    {
        conn.steps.pop();
        conn.ends(End::ServerFinFirst, At::After(2 * SECOND));
    }
    add("session-not-terminated", "session-not-terminated", flow);
    add(
        "empty-response-not-204",
        "empty-response-not-204",
        quirk(&|o| o.empty_response_status = 200),
    );
    add(
        "pipelining",
        "pipelining",
        quirk(&|o| o.quirks.pipelined_empty_post = true),
    );
    add(
        "cookie-not-returned",
        "cookie-not-returned",
        quirk(&|o| {
            o.quirks.acs_sets_cookie = true;
            o.quirks.cookie_not_returned = true;
        }),
    );
    // A second session of the same CPE starts while the Download session is under way.
    let flow = {
        let mut b = FlowBuilder::new(base.clone());
        let t = base.timing;
        let (session_end, _) = b.download_session(base.start, "2 PERIODIC");
        b.inform_only_session(base.start + 30 * MS, &[("4 VALUE CHANGE", "")]);
        let fetch = b.file_fetch(session_end + t.file_fetch_delay);
        b.transfer_complete_session(fetch.closed + t.apply_delay, fetch);
        b.finish()
    };
    add("overlapping-sessions", "overlapping-sessions", flow);
    // The TransferCompleteResponse is cut XML (an element never closed).
    let mut flow = reference_flow(&base);
    if let Some(&last) = connections_to(&flow, acs).last()
        && let Some(conn) = flow.connections.get_mut(last)
    {
        edit_step(conn, "<cwmp:TransferCompleteResponse/>", |body| {
            body.replace(
                "<cwmp:TransferCompleteResponse/>",
                "<cwmp:TransferCompleteResponse>",
            )
        });
    }
    add("malformed-message", "malformed-message", flow);

    // --- Inform content ---
    let events = |list: &[&str]| -> Option<Vec<(String, String)>> {
        Some(
            list.iter()
                .map(|e| {
                    let key = if *e == "M Download" {
                        base.command_key.clone()
                    } else {
                        String::new()
                    };
                    (e.to_string(), key)
                })
                .collect(),
        )
    };
    add(
        "event-missing",
        "event-missing",
        quirk(&|o| {
            o.quirks.transfer_complete_events = events(&["7 TRANSFER COMPLETE", "4 VALUE CHANGE"])
        }),
    );
    add(
        "event-duplicate",
        "event-duplicate",
        quirk(&|o| {
            o.quirks.transfer_complete_events = events(&[
                "7 TRANSFER COMPLETE",
                "4 VALUE CHANGE",
                "4 VALUE CHANGE",
                "M Download",
            ])
        }),
    );
    add(
        "device-id-invalid",
        "device-id-invalid",
        quirk(&|o| o.device.oui = "00147G".into()),
    );
    add(
        "clock-skew",
        "clock-skew",
        quirk(&|o| o.quirks.clock_offset = 3600 * SECOND),
    );

    // --- Retries and timing ---
    let flow = {
        let mut b = FlowBuilder::new(base.clone());
        let t = base.timing;
        b.opts.quirks.retry_count = 3;
        let (session_end, _) = b.download_session(base.start, "2 PERIODIC");
        b.opts.quirks.retry_count = 0;
        let fetch = b.file_fetch(session_end + t.file_fetch_delay);
        b.transfer_complete_session(fetch.closed + t.apply_delay, fetch);
        b.finish()
    };
    add("retry-count-nonzero", "retry-count-nonzero", flow);
    // A first attempt fails (the ACS answers 503 and closes); the CPE retries 1.5 s later,
    // far below the 5-10 s window of the first retry.
    let flow = {
        let mut b = FlowBuilder::new(base.clone());
        let t = base.timing;
        let mut s = b.open_acs_session(base.start);
        let inform = b.inform_envelope(&[("2 PERIODIC", "")], base.start, false);
        b.authenticated_inform(&mut s, &inform);
        b.acs_reply(&mut s, 503, None, false);
        s.connection
            .ends(End::ServerFinFirst, At::After(t.close_delay));
        let failed_end = b.close_session(s);
        let retry = failed_end + 1500 * MS;
        b.opts.quirks.retry_count = 1;
        let (session_end, _) = b.download_session(retry, "2 PERIODIC");
        b.opts.quirks.retry_count = 0;
        let fetch = b.file_fetch(session_end + t.file_fetch_delay);
        b.transfer_complete_session(fetch.closed + t.apply_delay, fetch);
        b.finish()
    };
    add("retry-backoff-violation", "retry-backoff-violation", flow);
    // The ACS takes 7.3 s to answer the TransferComplete.
    let mut flow = reference_flow(&base);
    if let Some(&last) = connections_to(&flow, acs).last()
        && let Some(conn) = flow.connections.get_mut(last)
    {
        let i = step_index(conn, "<cwmp:TransferCompleteResponse/>");
        if let Some(step) = conn.steps.get_mut(i) {
            step.at = At::After(7300 * MS);
        }
    }
    add("slow-response", "slow-response", flow);
    // The CPE waits 40 s before its empty POST.
    let mut flow = reference_flow(&base);
    if let Some(&last) = connections_to(&flow, acs).last()
        && let Some(conn) = flow.connections.get_mut(last)
    {
        let i = conn.steps.len().saturating_sub(2);
        if let Some(step) = conn.steps.get_mut(i) {
            step.at = At::After(40 * SECOND);
        }
    }
    add("session-timeout", "session-timeout", flow);
    add(
        "connection-request-timing",
        "connection-request-timing",
        quirk(&|o| {
            o.connection_request = true;
            o.timing = Timing {
                connection_request_to_inform: 45 * SECOND,
                ..o.timing
            };
        }),
    );
    // The CPE accepts a Connection Request, but its next session, which carries the Download,
    // announces 2 PERIODIC instead of 6 CONNECTION REQUEST.
    let mut b = FlowBuilder::new(base.clone());
    let t = base.timing;
    let at = b.connection_request(base.start) + t.connection_request_to_inform;
    let (session_end, _) = b.download_session(at, "2 PERIODIC");
    let fetch = b.file_fetch(session_end + t.file_fetch_delay);
    b.transfer_complete_session(fetch.closed + t.apply_delay, fetch);
    add(
        "connection-request-timing-unannounced",
        "connection-request-timing",
        b.finish(),
    );

    // --- Transfers ---
    // The CPE answers the Download with a Fault.
    let mut flow = reference_flow(&base);
    flow.connections.truncate(1);
    if let Some(conn) = flow.connections.first_mut() {
        let style = base.soap.clone();
        edit_step(conn, "<cwmp:DownloadResponse>", |body| {
            let id = body
                .split("mustUnderstand=\"1\">")
                .nth(1)
                .and_then(|rest| rest.split('<').next())
                .unwrap_or("3")
                .to_string();
            soap::envelope(
                &style,
                &SoapHeader::id(&id),
                &soap::fault(9001, "Request denied", &style),
            )
        });
    }
    add("download-rejected", "download-rejected", flow);
    // The file is never fetched (as far as the capture shows), yet reported as done.
    let mut flow = reference_flow(&base);
    flow.connections.retain(|c| c.server != file_server);
    add("file-not-fetched", "file-not-fetched", flow);
    add(
        "file-url-mismatch",
        "file-url-mismatch",
        quirk(&|o| o.quirks.fetch_path = Some("/cfg/CP0000000001.cfg".into())),
    );
    add(
        "file-http-error",
        "file-http-error",
        quirk(&|o| {
            o.quirks.file_server_reply = FileServerReply::Status(404);
            o.quirks.transfer_fault = Some((9016, "Unable to access file".into()));
        }),
    );
    add(
        "file-size-mismatch",
        "file-size-mismatch",
        quirk(&|o| o.quirks.announced_file_size = Some(2048)),
    );
    let mut flow = reference_flow(&base);
    if let Some(&last) = connections_to(&flow, acs).last() {
        flow.connections.remove(last);
    }
    add(
        "transfer-complete-missing",
        "transfer-complete-missing",
        flow,
    );
    add(
        "command-key-mismatch",
        "command-key-mismatch",
        quirk(&|o| o.quirks.transfer_complete_key = Some("cfgupd-0002".into())),
    );
    add(
        "transfer-fault",
        "transfer-fault",
        quirk(&|o| {
            o.quirks.file_server_reply = FileServerReply::Status(403);
            o.quirks.transfer_fault = Some((9016, "Unable to access file".into()));
        }),
    );
    add(
        "transfer-contradicts-capture",
        "transfer-contradicts-capture",
        quirk(&|o| o.quirks.file_server_reply = FileServerReply::Status(404)),
    );
    // StartTime after CompleteTime: the observed times, swapped.
    let flow = reference_with(
        &base,
        |b, fetch| {
            b.opts.quirks.transfer_times =
                Some((format_ts(fetch.completed), format_ts(fetch.started)));
        },
        |_, _| {},
    );
    add(
        "transfer-times-inconsistent",
        "transfer-times-inconsistent",
        flow,
    );
    // The same TransferComplete again in a session a minute later.
    let flow = reference_with(
        &base,
        |_, _| {},
        |b, end| {
            let t = b.opts.timing;
            let first = b
                .flow()
                .connections
                .iter()
                .find(|c| c.server == b.opts.file_server)
                .map(|c| c.schedule());
            if let Some(schedule) = first {
                let fetch = FetchTimes {
                    started: schedule.steps.first().copied().unwrap_or(end),
                    completed: schedule.data_done,
                    closed: schedule.last,
                };
                b.transfer_complete_session(end + 60 * SECOND + t.cpe_think, fetch);
            }
        },
    );
    add(
        "transfer-complete-repeated",
        "transfer-complete-repeated",
        flow,
    );
    add(
        "unexpected-reboot",
        "unexpected-reboot",
        quirk(&|o| {
            o.quirks.transfer_complete_events = events(&[
                "1 BOOT",
                "7 TRANSFER COMPLETE",
                "4 VALUE CHANGE",
                "M Download",
            ])
        }),
    );
    add(
        "unexpected-bootstrap",
        "unexpected-bootstrap",
        quirk(&|o| {
            o.quirks.transfer_complete_events = events(&[
                "0 BOOTSTRAP",
                "7 TRANSFER COMPLETE",
                "4 VALUE CHANGE",
                "M Download",
            ])
        }),
    );
    add(
        "version-unchanged",
        "version-unchanged",
        quirk(&|o| o.config_version = ("1.1.0".into(), "1.1.0".into())),
    );
    // The ACS ends the TRANSFER COMPLETE session right after authenticating the Inform,
    // without an InformResponse: the CPE cannot send its TransferComplete.
    add(
        "rollback-suspected",
        "rollback-suspected",
        reference_with_tc_script(&base, |b, s, e| {
            b.authenticated_inform(s, &e.inform);
            b.acs_reply(s, 204, None, false);
        }),
    );

    // --- TCP and capture ---
    // The ACS resets the connection instead of its empty response.
    let mut flow = reference_flow(&base);
    if let Some(conn) = flow.connections.first_mut() {
        conn.steps.pop();
        conn.ends(End::Reset(Dir::ToClient), At::After(20 * MS));
    }
    add("tcp-reset", "tcp-reset", flow);
    // Every segment of the Download session is sent twice.
    let mut flow = reference_flow(&base);
    if let Some(conn) = flow.connections.first_mut() {
        for dir in [Dir::ToServer, Dir::ToClient] {
            let total: usize = conn
                .steps
                .iter()
                .filter(|s| s.dir == dir)
                .map(|s| s.bytes.len())
                .sum();
            conn.retransmit
                .extend((0..total as u64).step_by(16).map(|off| (dir, off)));
        }
    }
    add("tcp-retransmissions", "tcp-retransmissions", flow);
    // A segment in the middle of a 5000-byte file is missing from the capture.
    let mut flow = reference_flow(&CwmpOptions {
        file_size: 5000,
        ..base.clone()
    });
    if let Some(conn) = flow
        .connections
        .iter_mut()
        .find(|c| c.server == file_server)
    {
        let total: usize = conn
            .steps
            .iter()
            .filter(|s| s.dir == Dir::ToClient)
            .map(|s| s.bytes.len())
            .sum();
        conn.lose
            .push((Dir::ToClient, total.saturating_sub(2000) as u64));
    }
    add("capture-gap", "capture-gap", flow);
    // A minute after the flow, the CPE's SYN to the ACS is never answered.
    let flow = reference_with(
        &base,
        |_, _| {},
        |b, end| {
            let client = b.cpe_endpoint();
            let mut c = Connection::new(client, b.opts.acs, end + 60 * SECOND);
            c.rtt = b.opts.timing.rtt;
            c.ends(End::Unanswered, At::After(0));
            b.add_connection(c);
        },
    );
    add("handshake-failed", "handshake-failed", flow);
    // The file server never answers the CPE's SYN (sent three times), or refuses it with a
    // RST; the CPE reports fault 9015.
    for (name, reply) in [
        ("handshake-failed-fetch", FileServerReply::Unanswered),
        ("handshake-refused-fetch", FileServerReply::Refused),
    ] {
        add(
            name,
            "handshake-failed",
            quirk(&|o| {
                o.quirks.file_server_reply = reply;
                o.quirks.transfer_fault = Some((9015, "Unable to contact file server".into()));
            }),
        );
    }
    // A minute after the flow, a TLS connection to the ACS's address and port (a server seen
    // in clear; HTTPS to servers the CWMP traffic never named is only counted).
    let flow = reference_with(
        &base,
        |_, _| {},
        |b, end| {
            let client = b.cpe_endpoint();
            let server = b.opts.acs;
            let mut c = Connection::new(client, server, end + 60 * SECOND);
            c.rtt = b.opts.timing.rtt;
            c.client_sends(MS, tls_client_hello());
            c.server_sends(2 * MS, tls_server_flight());
            b.add_connection(c);
        },
    );
    add("tls-opaque", "tls-opaque", flow);

    // --- The TLS handshake (a connection to the ACS that nobody can decrypt) ---
    let ecdhe = 0xc02f;
    add(
        "tls-weak-version",
        "tls-weak-version",
        tls_case(
            &base,
            tls_server_hello(0x0301, 0xc013, Some(CERT_VALID)),
            true,
        ),
    );
    add(
        "tls-weak-cipher",
        "tls-weak-cipher",
        tls_case(
            &base,
            tls_server_hello(0x0303, 0x000a, Some(CERT_VALID)),
            true,
        ),
    );
    add(
        "tls-certificate-expired",
        "tls-certificate-expired",
        tls_case(
            &base,
            tls_server_hello(0x0303, ecdhe, Some(CERT_EXPIRED)),
            true,
        ),
    );
    add(
        "tls-certificate-name-mismatch",
        "tls-certificate-name-mismatch",
        tls_case(
            &base,
            tls_server_hello(0x0303, ecdhe, Some(CERT_OTHER_NAME)),
            true,
        ),
    );
    add(
        "tls-handshake-failed",
        "tls-handshake-failed",
        tls_case(
            &base,
            tls_server_hello(0x0303, ecdhe, Some(CERT_VALID)),
            false,
        ),
    );
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_flows_are_ordered() {
        let cases = catalogue();
        let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), cases.len());
        for case in &cases {
            assert!(!case.flow.connections.is_empty(), "{}", case.name);
            let starts: Vec<Nanos> = case.flow.connections.iter().map(|c| c.start).collect();
            assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{}", case.name);
        }
    }

    #[test]
    fn base_echoes_ids_and_ends_with_204() {
        let t = reference_flow(&base_options()).text();
        assert!(!t.contains("200 OK\r\nContent-Length: 0\r\n"));
        assert!(t.contains("HTTP/1.1 204 No Content"));
        // InformResponse answers Inform 1, DownloadResponse answers Download 2,
        // TransferCompleteResponse answers TransferComplete 4 (Inform 3).
        let ids: Vec<&str> = t
            .split("mustUnderstand=\"1\">")
            .skip(1)
            .filter_map(|s| s.split('<').next())
            .collect();
        assert_eq!(ids, ["1", "1", "1", "2", "2", "3", "3", "3", "4", "4"]);
    }

    #[test]
    fn with_body_fixes_the_length() {
        let msg = HttpMessage::request("POST", "/acs", "h")
            .body("text/xml", "<a/>")
            .to_bytes();
        let edited = with_body(&msg, b"<bb/>");
        let s = String::from_utf8(edited).unwrap();
        assert!(s.ends_with("Content-Length: 5\r\n\r\n<bb/>"), "{s}");
        assert_eq!(s.matches("Content-Length").count(), 1);
    }

    #[test]
    fn breaks_are_in_the_bytes() {
        let cases = catalogue();
        let find = |name: &str| {
            cases
                .iter()
                .find(|c| c.name == name)
                .expect("case exists")
                .flow
                .text()
        };
        assert!(find("auth-stale-nonce").contains("stale=true"));
        assert!(find("cwmp-id-mismatch").contains(">ffff</cwmp:ID>"));
        assert!(find("file-http-error").contains("HTTP/1.1 404 Not Found"));
        assert!(find("file-http-error").contains("<FaultCode>9016</FaultCode>"));
        assert!(find("command-key-mismatch").contains("<CommandKey>cfgupd-0002</CommandKey>"));
        assert!(find("cwmp-version-mismatch").contains("urn:dslforum-org:cwmp-1-2"));
        assert!(find("response-mismatch").contains("<cwmp:UploadResponse>"));
        assert!(find("download-rejected").contains("<FaultCode>9001</FaultCode>"));
        assert!(find("hold-requests-violated").contains("HoldRequests"));
        assert!(find("request-after-empty-post").contains("GetParameterValues"));
        assert!(!find("file-not-fetched").contains("GET /configs/"));
        assert!(find("file-size-mismatch").contains("<FileSize>2048</FileSize>"));
        assert!(find("file-url-mismatch").contains("GET /cfg/CP0000000001.cfg HTTP/1.1"));
        let cr = find("connection-request-unauthenticated");
        assert!(
            cr.contains("GET /cr HTTP/1.1")
                && !cr.contains("WWW-Authenticate: Digest realm=\"cwmp\"")
        );
        let repeated = find("transfer-complete-repeated");
        assert_eq!(repeated.matches("<cwmp:TransferComplete>").count(), 2);
    }

    #[test]
    fn clean_variants_build() {
        let variants = clean_variants();
        assert_eq!(variants.len(), 7);
        let stale = variants.iter().find(|(n, _)| *n == "stale-nonce").unwrap();
        let t = stale.1.text();
        assert_eq!(t.matches("stale=true").count(), 1);
    }
}
