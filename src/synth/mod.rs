//! Deterministic, seeded capture generator: scripted TCP conversations (CWMP flows and others)
//! rendered into pcap/pcapng frames with chosen awkwardness (segmentation, reordering,
//! retransmission, overlaps, capture loss, VLAN, IPv6, IP fragments, every supported link type,
//! gzip, split files). Used by the tests and the benchmark harness.

pub mod conversation;
pub mod http;
pub mod packet;
pub mod rng;
pub mod soap;
pub mod writer;
