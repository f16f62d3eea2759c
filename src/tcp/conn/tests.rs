//! Tests of a connection's role guess (who is client, who is server).

use super::*;
use crate::types::FrameRef;
use crate::wire::TcpFlags;

fn first_packet(src: &str, dst: &str, flags: u8) -> (SocketAddr, SocketAddr) {
    let seg = TcpSegment {
        frame: FrameRef::new(0, 1),
        ts: 0,
        src: src.parse().expect("address"),
        dst: dst.parse().expect("address"),
        seq: 0,
        ack: 0,
        flags: TcpFlags(flags),
        window: 0,
        payload: b"",
        payload_cut: 0,
    };
    guess_roles(&seg)
}

#[test]
fn roles_from_the_first_packet() {
    let a = "10.0.0.1:51000";
    let b = "10.0.0.2:60000";
    let cwmp = "10.0.0.2:7547";
    let low = "10.0.0.2:443";
    let (syn, syn_ack, ack) = (TcpFlags::SYN, TcpFlags::SYN | TcpFlags::ACK, TcpFlags::ACK);
    let client = |pair: (SocketAddr, SocketAddr)| pair.0.to_string();
    assert_eq!(client(first_packet(b, a, syn)), b, "SYN sender");
    assert_eq!(client(first_packet(b, a, syn_ack)), a, "SYN-ACK receiver");
    assert_eq!(
        client(first_packet(cwmp, a, ack)),
        a,
        "service port is the server"
    );
    assert_eq!(client(first_packet(a, low, ack)), a);
    assert_eq!(
        client(first_packet(low, cwmp, ack)),
        cwmp,
        "lower service port"
    );
    assert_eq!(client(first_packet(b, a, ack)), b, "first sender");
}

#[test]
fn both_directions_share_a_key() {
    let a: SocketAddr = "[2001:db8::1]:1".parse().expect("address");
    let b: SocketAddr = "10.0.0.1:2".parse().expect("address");
    assert_eq!(ConnKey::new(a, b), ConnKey::new(b, a));
    assert_ne!(ConnKey::new(a, b), ConnKey::new(a, a));
}
