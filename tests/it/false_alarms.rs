//! No false alarms on ordinary traffic: web GETs answered by empty responses are not Connection
//! Requests, HTTPS to servers the CWMP traffic never named is counted rather than reported, and
//! keep-alive probes on connections picked up mid-stream lose no bytes. Real Connection
//! Requests (to port 7547, to a ConnectionRequestURL learned from an Inform) and HTTPS to the
//! ACS are still recognized.

use crate::common::*;
use clap::Parser;
use cwmpscope::cli::{Cli, Outcome, run};
use cwmpscope_synth::conversation::{Connection, Profile, SECOND};
use cwmpscope_synth::cwmp::{CwmpOptions, FlowBuilder};
use cwmpscope_synth::http::HttpMessage;
use cwmpscope_synth::packet::{FrameEncoder, LinkEncap, TcpHeader};
use cwmpscope_synth::types::TcpFlags;
use cwmpscope_synth::writer::{FrameSink, Interface, OutputOptions, PcapWriter, TsResolution};
use serde_json::Value;
use std::net::SocketAddr;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

/// Codes of every finding of a report: the capture's, the sessions' and the transactions'.
fn all_codes(r: &Value) -> Vec<String> {
    let mut codes = Vec::new();
    let mut take = |list: &Value| {
        for f in list.as_array().into_iter().flatten() {
            codes.push(f["code"].as_str().unwrap_or_default().to_owned());
        }
    };
    take(&r["findings"]);
    for s in sessions(r) {
        take(&s["findings"]);
    }
    for t in r["transactions"].as_array().into_iter().flatten() {
        take(&t["findings"]);
    }
    codes
}

/// How `analyze --fail-on warning` ends on these files.
fn fail_on_warning(files: &[&str]) -> Outcome {
    let mut argv = vec!["cwmpscope", "analyze", "--fail-on", "warning"];
    argv.extend_from_slice(files);
    let cli = Cli::try_parse_from(argv).expect("arguments parse");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    run(cli, &mut out, &mut err).expect("analysis runs")
}

/// A plain HTTP exchange per request: `(target, status)`, each answered with an empty body.
fn web_connection(client: &str, server: &str, start: i64, gets: &[(&str, u16)]) -> Connection {
    let mut c = Connection::new(addr(client), addr(server), start);
    for (target, status) in gets {
        c.client_sends(
            SECOND / 100,
            HttpMessage::request("GET", target, server)
                .header("User-Agent", "Mozilla/5.0")
                .to_bytes(),
        );
        c.server_sends(
            SECOND / 200,
            HttpMessage::response(*status)
                .header("Content-Length", "0")
                .to_bytes(),
        );
    }
    c
}

/// A TLS-looking connection: a ClientHello record header and a ServerHello one, opaque after.
fn tls_connection(client: &str, server: &str, start: i64) -> Connection {
    let mut c = Connection::new(addr(client), addr(server), start);
    let mut hello = vec![
        0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x3c, 0x03, 0x03,
    ];
    hello.resize(69, 0x2a);
    c.client_sends(0, hello.clone());
    hello[2] = 0x03;
    hello[5] = 0x02;
    c.server_sends(SECOND / 100, hello);
    // Then encrypted application data both ways: what HTTPS carries after its handshake.
    let mut data = vec![0x17, 0x03, 0x03, 0x00, 0x30];
    data.resize(5 + 0x30, 0x5a);
    c.client_sends(SECOND / 50, data.clone());
    c.server_sends(SECOND / 50, data);
    c
}

/// The default CWMP options, with a clean ACS (request IDs echoed, sessions ended by 204) so
/// that its sessions have no finding of their own.
fn clean_opts() -> CwmpOptions {
    CwmpOptions {
        echo_request_ids: true,
        empty_response_status: 204,
        ..CwmpOptions::default()
    }
}

fn report_of(name: &str, connections: Vec<Connection>) -> Value {
    report_of_connections(
        name,
        connections,
        &Profile::clean(3),
        &OutputOptions::default(),
    )
}

#[test]
fn ordinary_http_on_port_80_gives_no_cwmp_finding() {
    // Real traffic: keep-alive GETs on port 80, several answered by empty 200s.
    let public = capture("public/zeek_http_zero-length-bodies-with-drops.pcap");
    let r = report(&[&public]);
    assert_eq!(all_codes(&r), Vec::<String>::new());
    assert!(sessions(&r).is_empty());
    assert_eq!(fail_on_warning(&[&public]), Outcome::Analyzed);

    // Generated: ad-tracker style GETs to several servers and ports, answered by empty 200s
    // and 204s, one of them even challenged and retried with credentials.
    let t0 = 1_795_773_600 * SECOND;
    let mut challenged = Connection::new(
        addr("10.1.0.7:51000"),
        addr("198.51.100.9:8080"),
        t0 + 2 * SECOND,
    );
    challenged
        .client_sends(
            0,
            HttpMessage::request("GET", "/status", "router").to_bytes(),
        )
        .server_sends(
            SECOND / 100,
            HttpMessage::response(401)
                .header("WWW-Authenticate", "Basic realm=\"status\"")
                .header("Content-Length", "0")
                .to_bytes(),
        )
        .client_sends(
            SECOND / 100,
            HttpMessage::request("GET", "/status", "router")
                .header("Authorization", "Basic dXNlcjpwYXNz")
                .to_bytes(),
        )
        .server_sends(SECOND / 100, HttpMessage::response(204).to_bytes());
    let connections = vec![
        web_connection(
            "10.1.0.7:50000",
            "203.0.113.31:80",
            t0,
            &[("/pixel.gif?id=1", 200), ("/beacon", 204), ("/t.js", 200)],
        ),
        web_connection(
            "10.1.0.8:50001",
            "203.0.113.32:80",
            t0 + SECOND,
            &[("/collect", 200)],
        ),
        challenged,
    ];
    let r = report_of("false-alarms-web.pcap", connections);
    assert_eq!(all_codes(&r), Vec::<String>::new());
    assert!(r["capture"]["http_messages"].as_u64().unwrap() >= 12);
}

/// Connection Request messages of a session (the ACS's GETs and the CPE's answers).
fn connection_request_messages(s: &Value) -> usize {
    s["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["kind"] == "connection-request")
        .count()
}

/// Sessions that say `6 CONNECTION REQUEST`, with how many Connection Request messages each
/// was tied to.
fn cr_sessions(r: &Value) -> Vec<usize> {
    sessions(r)
        .iter()
        .filter(|s| events(s).iter().any(|e| e == "6 CONNECTION REQUEST"))
        .map(connection_request_messages)
        .collect()
}

fn capture_codes(r: &Value) -> Vec<String> {
    r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn connection_requests_to_7547_and_to_a_learned_url_are_still_recognized() {
    // Port 7547, no URL known yet: tied to its session; an unanswered second one is an orphan.
    let opts = CwmpOptions {
        connection_request: true,
        ..clean_opts()
    };
    let mut b = FlowBuilder::new(opts.clone());
    let at = b.connection_request(opts.start);
    let end = b.inform_only_session(at + SECOND / 2, &[("6 CONNECTION REQUEST", "")]);
    b.connection_request(end + 10 * SECOND);
    let r = report_of("false-alarms-cr-7547.pcap", b.finish().connections);
    assert_eq!(cr_sessions(&r), [4]);
    assert_eq!(capture_codes(&r), ["connection-request-timing"]);

    // Port 7557 learned from a PERIODIC Inform: the GET there is a Connection Request (tied to
    // the next session, or an orphan when none follows); a GET to the same CPE elsewhere is not.
    let opts = CwmpOptions {
        connection_request_port: 7557,
        connection_request_path: "/26e6dea1".to_owned(),
        ..clean_opts()
    };
    let cpe = opts.cpe_ip;
    let mut b = FlowBuilder::new(opts.clone());
    let end = b.inform_only_session(opts.start, &[("2 PERIODIC", "")]);
    let at = b.connection_request(end + SECOND);
    let end = b.inform_only_session(at + SECOND / 2, &[("6 CONNECTION REQUEST", "")]);
    let orphan_at = end + 10 * SECOND;
    b.connection_request(orphan_at);
    b.add_connection(web_connection(
        &format!("{}:41000", opts.acs.ip()),
        &format!("{cpe}:80"),
        orphan_at + 100 * SECOND,
        &[("/", 200), ("/cr", 204)],
    ));
    let r = report_of("false-alarms-cr-learned.pcap", b.finish().connections);
    assert_eq!(cr_sessions(&r), [4]);
    assert_eq!(capture_codes(&r), ["connection-request-timing"]);
    let message = r["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains(":7557"), "{message}");
}

#[test]
fn a_connection_request_before_any_inform_on_another_port_is_confirmed_by_its_session() {
    // No URL known when the GET comes (port 30005), and the Inform names another URL (as a CPE
    // behind NAT would): the Digest-challenged GET answered 204 and followed by the CPE's
    // `6 CONNECTION REQUEST` session is its Connection Request.
    let opts = CwmpOptions {
        connection_request_port: 30005,
        ..clean_opts()
    };
    let mut b = FlowBuilder::new(opts.clone());
    let at = b.connection_request(opts.start);
    b.opts.connection_request_port = 7547;
    b.inform_only_session(at + SECOND / 2, &[("6 CONNECTION REQUEST", "")]);
    let r = report_of("false-alarms-cr-confirmed.pcap", b.finish().connections);
    assert_eq!(cr_sessions(&r), [4]);
    assert_eq!(all_codes(&r), Vec::<String>::new());

    // The same GETs with no session after them: web traffic, no finding.
    let mut b = FlowBuilder::new(opts.clone());
    b.connection_request(opts.start);
    let r = report_of("false-alarms-cr-unconfirmed.pcap", b.finish().connections);
    assert_eq!(all_codes(&r), Vec::<String>::new());

    // The URL changed since the last Inform (port 7557, now 7600): the session's Inform names
    // the new one, which confirms the GET.
    let mut b = FlowBuilder::new(CwmpOptions {
        connection_request_port: 7557,
        ..opts.clone()
    });
    let end = b.inform_only_session(opts.start, &[("1 BOOT", "")]);
    b.opts.connection_request_port = 7600;
    let at = b.connection_request(end + SECOND);
    b.inform_only_session(at + SECOND / 2, &[("6 CONNECTION REQUEST", "")]);
    let r = report_of("false-alarms-cr-moved.pcap", b.finish().connections);
    assert_eq!(cr_sessions(&r), [4]);
    assert_eq!(capture_codes(&r), Vec::<String>::new());
}

#[test]
fn https_to_an_unknown_server_is_counted_and_to_the_acs_is_tls_opaque() {
    // The ACS listens on an unusual port; its sessions are seen in clear first.
    let opts = CwmpOptions {
        acs: addr("192.0.2.10:9675"),
        ..clean_opts()
    };
    let cpe = opts.cpe_ip;
    let mut b = FlowBuilder::new(opts.clone());
    let end = b.inform_only_session(opts.start, &[("2 PERIODIC", "")]);
    b.add_connection(tls_connection(
        &format!("{cpe}:52000"),
        "192.0.2.10:9675",
        end + SECOND,
    ));
    // A workstation's HTTPS, on the standard port and elsewhere.
    b.add_connection(tls_connection(
        "10.1.0.7:52001",
        "203.0.113.50:443",
        end + 2 * SECOND,
    ));
    b.add_connection(tls_connection(
        "10.1.0.7:52002",
        "203.0.113.51:8443",
        end + 3 * SECOND,
    ));
    let r = report_of("false-alarms-tls.pcap", b.finish().connections);
    assert_eq!(capture_codes(&r), ["tls-opaque"]);
    let message = r["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("192.0.2.10:9675"), "{message}");
    assert_eq!(r["capture"]["other_tls_connections"], 2);

    // Only the unknown ones: counted, mentioned in the text summary, no finding.
    let connections = vec![
        tls_connection("10.1.0.7:52001", "203.0.113.50:443", opts.start),
        tls_connection("10.1.0.7:52002", "203.0.113.51:8443", opts.start + SECOND),
    ];
    let path = scratch("false-alarms-tls-other.pcap");
    cwmpscope_synth::write_capture_files(
        connections,
        &Profile::clean(3),
        &OutputOptions::default(),
        &path,
    )
    .expect("capture written");
    let file = path.to_string_lossy().into_owned();
    let r = report(&[&file]);
    assert_eq!(all_codes(&r), Vec::<String>::new());
    assert_eq!(r["capture"]["other_tls_connections"], 2);
    let (text, _, ok) = cwmpscope(&["analyze", &file]);
    assert!(ok);
    assert!(text.contains("2 other TLS connections"), "{text}");
    assert_eq!(fail_on_warning(&[&file]), Outcome::Analyzed);
    let _ = std::fs::remove_file(&path);
}

/// One raw segment: source, destination, seq, ack, flags, payload.
type RawSegment<'a> = (&'a str, &'a str, u32, u32, u8, &'a [u8]);

/// Writes raw segments one millisecond apart, as a capture that begins in the middle of the
/// connections.
fn write_segments(name: &str, segments: &[RawSegment<'_>]) -> String {
    let path = scratch(name);
    let file = std::fs::File::create(&path).expect("capture file");
    let link = LinkEncap::default();
    let interface = Interface {
        link: link.link_type(),
        resolution: TsResolution::Micro,
    };
    let mut writer = PcapWriter::new(std::io::BufWriter::new(file), interface).expect("header");
    let mut encoder = FrameEncoder::new(link, None, false);
    let t0 = 1_795_773_600 * SECOND;
    for (i, (src, dst, seq, ack, flags, payload)) in segments.iter().enumerate() {
        let header = TcpHeader {
            src: addr(src),
            dst: addr(dst),
            seq: *seq,
            ack: *ack,
            flags: TcpFlags(*flags),
            window: 502,
            mss_option: None,
        };
        let ts = t0 + i as i64 * SECOND / 1000;
        encoder
            .encode(&header, payload, i as u32, |frame| {
                writer.write_frame(ts, 0, frame)
            })
            .expect("frame");
    }
    writer.finish().expect("flushed");
    path.to_string_lossy().into_owned()
}

#[test]
fn idle_probes_of_connections_picked_up_mid_stream_lose_no_bytes() {
    const ACK: u8 = TcpFlags::ACK;
    const PSH: u8 = TcpFlags::PSH;
    let mut segments = Vec::new();
    let clients: Vec<String> = (0..6)
        .map(|i| format!("10.2.0.{}:4{i}000", i + 1))
        .collect();
    for (i, client) in clients.iter().enumerate() {
        let server = "192.0.2.10:7547";
        let (cseq, sseq) = (1_000_000 * (i as u32 + 1), 77_000 + i as u32);
        // Empty probes (Linux) on even connections, one-byte probes (Windows, BSD) on odd ones,
        // each answered by an ACK of the next byte; then a later probe once the stream is known.
        let probe: &[u8] = if i % 2 == 0 { b"" } else { b"\0" };
        segments.push((client.as_str(), server, cseq - 1, sseq, ACK, probe));
        segments.push((server, client.as_str(), sseq, cseq, ACK, &b""[..]));
        segments.push((server, client.as_str(), sseq - 1, cseq, ACK, probe));
        segments.push((client.as_str(), server, cseq, sseq, ACK, &b""[..]));
        segments.push((client.as_str(), server, cseq - 1, sseq, ACK, probe));
        segments.push((server, client.as_str(), sseq, cseq, ACK, &b""[..]));
    }
    let file = write_segments("false-alarms-keepalive.pcap", &segments);
    let r = report(&[&file]);
    assert_eq!(r["capture"]["tcp_connections"], 6);
    assert_eq!(r["capture"]["tcp_gaps"], 0);
    assert_eq!(r["capture"]["tcp_gap_bytes"], 0);
    assert_eq!(all_codes(&r), Vec::<String>::new());
    let (text, _, _) = cwmpscope(&["analyze", &file]);
    assert!(!text.contains("lost by the capture"), "{text}");
    let _ = std::fs::remove_file(&file);

    // A byte really missing between two segments of such a stream still counts.
    let (c, s) = ("10.2.0.9:45000", "192.0.2.10:7547");
    let segments = [
        (c, s, 999, 500, ACK, &b""[..]),
        (s, c, 500, 1000, ACK, &b""[..]),
        (c, s, 1000, 500, ACK | PSH, &b"POST /acs HTTP/1.1\r\n"[..]),
        (c, s, 1021, 500, ACK | PSH, &b"Host: acs\r\n"[..]), // byte 1020 never captured
        (s, c, 500, 1032, ACK, &b""[..]),
    ];
    let file = write_segments("false-alarms-keepalive-gap.pcap", &segments);
    let r = report(&[&file]);
    assert_eq!(r["capture"]["tcp_gaps"], 1);
    assert_eq!(r["capture"]["tcp_gap_bytes"], 1);
    let _ = std::fs::remove_file(&file);
}
