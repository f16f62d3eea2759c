//! Real HTTP captures from other projects (`captures/public/`): the TCP and HTTP
//! stages give the request and response counts their README lists (TShark's, distinct messages).

use crate::common;
use common::capture;
use cwmpscope::capture::{CaptureReader, InputSpec};
use cwmpscope::http::{HttpConfig, HttpEvent, HttpLayer};
use cwmpscope::tcp::{Reassembler, ReassemblyConfig};
use cwmpscope::wire::{Decoded, Decoder};
use std::path::PathBuf;

#[derive(Default, Debug)]
struct Counts {
    packets: u64,
    requests: u64,
    responses: u64,
    interim: u64,
    incomplete: u64,
    gaps: u64,
    body_bytes: u64,
}

impl Counts {
    fn on_http(&mut self, ev: HttpEvent) {
        match ev {
            HttpEvent::Message(m) => {
                if m.is_request() {
                    self.requests += 1;
                } else if m.interim {
                    self.interim += 1;
                } else {
                    self.responses += 1;
                }
                if !m.complete {
                    self.incomplete += 1;
                }
                self.body_bytes += m.body_len;
            }
            HttpEvent::Gap { .. } => self.gaps += 1,
            _ => {}
        }
    }
}

fn count(name: &str) -> Counts {
    let path = PathBuf::from(capture(&format!("public/{name}")));
    let mut reader = CaptureReader::open(&InputSpec::Path(path), 0).expect("opens");
    let mut decoder = Decoder::new();
    let mut tcp = Reassembler::new(ReassemblyConfig::default());
    let mut http = HttpLayer::new(HttpConfig::default());
    let mut counts = Counts::default();
    while let Some(frame) = reader.next_frame().expect("reads") {
        counts.packets += 1;
        if let Decoded::Tcp(seg) = decoder.decode(&frame) {
            tcp.push(&seg, &mut |ev| http.push(ev, &mut |ev| counts.on_http(ev)));
        }
    }
    tcp.finish(&mut |ev| http.push(ev, &mut |ev| counts.on_http(ev)));
    counts
}

#[test]
fn retransmitted_chunked_xml_posts() {
    let c = count("arkime_wireshark-retrans_xml-post-chunked.pcap");
    assert_eq!((c.packets, c.requests, c.responses), (108, 4, 4), "{c:?}");
    assert_eq!(c.gaps, 0, "retransmissions are not losses");
}

#[test]
fn hundred_continue() {
    let c = count("zeek_http_100-continue.pcap");
    assert_eq!(
        (c.packets, c.requests, c.responses, c.interim),
        (66, 1, 1, 1),
        "{c:?}"
    );
}

#[test]
fn thousand_requests_one_response_lost() {
    let c = count("zeek_http_1000-requests-one-dropped-response.pcap");
    assert_eq!(
        (c.packets, c.requests, c.responses),
        (4102, 1000, 999),
        "{c:?}"
    );
    assert!(c.gaps >= 1, "the lost response is a capture gap: {c:?}");
}

#[test]
fn large_bodies_with_retransmissions() {
    let c = count("zeek_http_m57-long-49583-80.pcap");
    assert_eq!((c.packets, c.requests, c.responses), (227, 3, 3), "{c:?}");
}

#[test]
fn pipelined_requests() {
    let c = count("zeek_http_pipelined-requests.pcap");
    assert_eq!((c.packets, c.requests, c.responses), (49, 5, 5), "{c:?}");
}

#[test]
fn zero_length_bodies_with_drops() {
    let c = count("zeek_http_zero-length-bodies-with-drops.pcap");
    assert_eq!((c.packets, c.requests, c.responses), (44, 7, 8), "{c:?}");
    assert!(c.gaps >= 1, "{c:?}");
}

#[test]
fn reordered_handshake() {
    let c = count("zeek_tcp_handshake-reorder.pcap");
    assert_eq!((c.packets, c.requests, c.responses), (14, 1, 1), "{c:?}");
    assert_eq!(c.incomplete, 0, "{c:?}");
}
