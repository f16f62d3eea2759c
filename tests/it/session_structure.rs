//! Session boundaries on scripted connections (rendered by the generator): several sessions on
//! one connection, every way a session ends, a capture that starts mid-session, malformed XML,
//! chunked and compressed CWMP bodies.

use crate::common;
use common::*;
use cwmpscope_synth::conversation::{At, Connection, End, Profile};
use cwmpscope_synth::types::{Dir, Nanos};
use cwmpscope_synth::writer::OutputOptions;
use serde_json::Value;
use std::io::Write;
use std::net::SocketAddr;

const MS: Nanos = 1_000_000;
const S: Nanos = 1_000_000_000;
const T0: Nanos = 1_795_000_000 * S;

fn cpe() -> SocketAddr {
    "192.0.2.50:40000".parse().unwrap()
}
fn acs() -> SocketAddr {
    "198.51.100.10:7547".parse().unwrap()
}

fn envelope(id: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><soap:Header><cwmp:ID soap:mustUnderstand="1">{id}</cwmp:ID></soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>"#
    )
}

fn inform(id: &str, event: &str) -> String {
    envelope(
        id,
        &format!(
            "<cwmp:Inform><DeviceId><Manufacturer>ACME</Manufacturer><OUI>A1B2C3</OUI><ProductClass>Box</ProductClass><SerialNumber>SN-1</SerialNumber></DeviceId><Event><EventStruct><EventCode>{event}</EventCode><CommandKey></CommandKey></EventStruct></Event><MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2026-11-27T10:00:00Z</CurrentTime><RetryCount>0</RetryCount><ParameterList></ParameterList></cwmp:Inform>"
        ),
    )
}

fn post(body: &str) -> Vec<u8> {
    format!(
        "POST /acs HTTP/1.1\r\nHost: acs\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn reply(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Inform → InformResponse → empty POST → 204: one whole session.
fn whole_session(conn: &mut Connection, id: &str, event: &str) {
    conn.client_sends(MS, post(&inform(id, event)))
        .server_sends(
            MS,
            reply(
                "200 OK",
                &envelope(
                    id,
                    "<cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes></cwmp:InformResponse>",
                ),
            ),
        )
        .client_sends(MS, post(""))
        .server_sends(MS, reply("204 No Content", ""));
}

fn analyze(name: &str, connections: Vec<Connection>) -> Value {
    report_of_connections(
        &format!("session-{name}.pcap"),
        connections,
        &Profile::clean(1),
        &OutputOptions::default(),
    )
}

fn terminations(r: &Value) -> Vec<String> {
    sessions(r)
        .iter()
        .map(|s| s["termination"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn two_sessions_on_one_connection() {
    let mut c = Connection::new(cpe(), acs(), T0);
    whole_session(&mut c, "1", "2 PERIODIC");
    whole_session(&mut c, "2", "1 BOOT");
    let r = analyze("two", vec![c]);
    let s = sessions(&r);
    assert_eq!(s.len(), 2);
    assert_eq!(events(&s[0]), ["2 PERIODIC"]);
    assert_eq!(events(&s[1]), ["1 BOOT"]);
    assert_eq!(terminations(&r), ["normal", "normal"]);
    assert_eq!(ladder(&s[0]).len(), 4);
    assert_eq!(ladder(&s[1]).len(), 4);
}

#[test]
fn every_way_a_session_ends() {
    let mut normal = Connection::new(cpe(), acs(), T0);
    whole_session(&mut normal, "1", "1 BOOT");

    let mut closed = Connection::new("192.0.2.51:40000".parse().unwrap(), acs(), T0 + S);
    closed.client_sends(MS, post(&inform("1", "2 PERIODIC")));
    closed.server_sends(
        MS,
        reply("200 OK", &envelope("1", "<cwmp:InformResponse/>")),
    );

    let mut reset = Connection::new("192.0.2.52:40000".parse().unwrap(), acs(), T0 + 2 * S);
    reset.client_sends(MS, post(&inform("1", "2 PERIODIC")));
    reset.ends(End::Reset(Dir::ToClient), At::After(MS));

    let mut open = Connection::new("192.0.2.53:40000".parse().unwrap(), acs(), T0 + 3 * S);
    open.client_sends(MS, post(&inform("1", "2 PERIODIC")));
    open.ends(End::LeftOpen, At::After(MS));

    let r = analyze("ends", vec![normal, closed, reset, open]);
    let by_ip: Vec<(String, String)> = sessions(&r)
        .iter()
        .map(|s| {
            (
                s["cpe"]["ip"].as_str().unwrap().to_owned(),
                s["termination"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        by_ip,
        [
            ("192.0.2.50".to_owned(), "normal".to_owned()),
            ("192.0.2.51".to_owned(), "closed".to_owned()),
            ("192.0.2.52".to_owned(), "reset".to_owned()),
            ("192.0.2.53".to_owned(), "capture-ended".to_owned()),
        ]
    );
}

#[test]
fn an_idle_connection_times_out() {
    let mut idle = Connection::new(cpe(), acs(), T0);
    idle.client_sends(MS, post(&inform("1", "2 PERIODIC")));
    idle.ends(End::LeftOpen, At::After(MS));
    // Unrelated traffic 20 minutes later moves the capture clock past the idle timeout.
    let mut later = Connection::new(
        "192.0.2.99:40000".parse().unwrap(),
        "198.51.100.99:80".parse().unwrap(),
        T0 + 1200 * S,
    );
    later.client_sends(MS, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec());
    later.server_sends(
        MS,
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
    );
    let r = analyze("idle", vec![idle, later]);
    assert_eq!(terminations(&r), ["timeout"]);
}

#[test]
fn capture_starting_mid_session_still_shows_it() {
    // The capture begins after the Inform: only the tail of the session is on the wire.
    let mut c = Connection::new(cpe(), acs(), T0);
    c.client_sends(MS, post(&envelope("7", "<cwmp:TransferComplete><CommandKey>k1</CommandKey><FaultStruct><FaultCode>0</FaultCode><FaultString></FaultString></FaultStruct><StartTime>2026-11-27T10:00:00Z</StartTime><CompleteTime>2026-11-27T10:00:01Z</CompleteTime></cwmp:TransferComplete>")));
    c.server_sends(
        MS,
        reply("200 OK", &envelope("7", "<cwmp:TransferCompleteResponse/>")),
    );
    c.client_sends(MS, post(""));
    c.server_sends(MS, reply("204 No Content", ""));
    let r = analyze("midstream", vec![c]);
    let s = sessions(&r);
    assert_eq!(
        s.len(),
        1,
        "CWMP content without its Inform is still a session"
    );
    assert_eq!(s[0]["events"], serde_json::json!([]));
    assert_eq!(s[0]["rpcs"]["TransferComplete"], 1);
    assert_eq!(ladder(&s[0]).len(), 4);
}

#[test]
fn malformed_xml_is_reported_with_its_offset() {
    let mut c = Connection::new(cpe(), acs(), T0);
    let good = inform("1", "2 PERIODIC");
    let broken = good.replace("</DeviceId>", "</DevId>");
    let offset = broken.find("</DevId>").unwrap();
    c.client_sends(MS, post(&broken));
    c.server_sends(MS, reply("500 Internal Server Error", ""));
    let r = analyze("malformed", vec![c]);
    let s = sessions(&r);
    assert_eq!(
        s.len(),
        1,
        "a POST of broken SOAP to the ACS is still a session"
    );
    let d = &s[0]["findings"][0];
    assert_eq!(d["code"], "malformed-message");
    assert_eq!(d["severity"], "error");
    let message = d["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("byte {offset}")),
        "{message} names byte {offset}"
    );
    assert_eq!(s[0]["messages"][0]["malformed"]["offset"], offset);
}

#[test]
fn chunked_and_gzip_cwmp_bodies() {
    use flate2::{Compression, write::GzEncoder};
    let body = inform("1", "2 PERIODIC");
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let mut request = format!(
        "POST /acs HTTP/1.1\r\nHost: acs\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        gz.len()
    )
    .into_bytes();
    request.extend_from_slice(&gz);
    let ir = envelope(
        "1",
        "<cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes></cwmp:InformResponse>",
    );
    let (a, b) = ir.split_at(100);
    let chunked = format!(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x};ext=1\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\nX-Trailer: t\r\n\r\n",
        a.len(),
        b.len()
    );
    let mut c = Connection::new(cpe(), acs(), T0);
    c.client_sends(MS, request);
    c.server_sends(MS, chunked.into_bytes());
    c.client_sends(
        MS,
        b"POST /acs HTTP/1.1\r\nHost: acs\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
    );
    c.server_sends(MS, reply("204 No Content", ""));
    let r = analyze("encodings", vec![c]);
    let s = sessions(&r);
    assert_eq!(s.len(), 1);
    assert_eq!(events(&s[0]), ["2 PERIODIC"]);
    assert_eq!(s[0]["rpcs"]["InformResponse"], 1);
    assert_eq!(
        s[0]["termination"], "normal",
        "an empty chunked POST is an empty POST"
    );
}
