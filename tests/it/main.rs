//! The integration tests, as one test binary (one link instead of one per file): each module
//! checks one part of the product from the outside, on shipped or generated captures.

mod common;

mod adversarial;
mod architecture;
mod attribution;
mod bench_campaign;
mod capture_real_files;
mod cli;
mod cwmp_fixtures;
mod encapsulations;
mod errors;
mod extract;
mod false_alarms;
mod findings_catalogue;
mod findings_real_captures;
mod fuzz_regressions;
mod generated_variants;
mod limits;
mod live;
mod live_inputs;
mod overlays;
mod public_http;
mod report_contract;
mod session_structure;
mod shard;
mod snapshots_reports;
mod summary;
mod synth_tshark;
mod tcp_captures;
mod tls_decrypt;
mod third_party_cwmp;
mod threads;
mod tls_captures;
mod transactions;
mod tui;
mod tui_e2e;
