//! cwmpscope: a TR-069 (CWMP) capture analyzer.
//!
//! The core is pure and synchronous: frames go in, sessions, transactions and findings come
//! out. Each stage is a module with one owned type crossing its boundary, handed on through a
//! closure the caller passes to `push`, `advance` (capture time moved on) and `finish`:
//!
//! ```text
//! Frame ─→ wire ─TcpSegment→ tcp ─StreamEvent→ tls ─TlsEvent→ http ─HttpEvent→
//!            session ─Completed→ transaction ─Tracked→ findings ─Output→
//! ```
//!
//! `session` decodes each message's body with `cwmp` (body of an `HttpMessage` → `Envelope`s).
//! Stages before `findings` record facts (`session::Note`, `transaction::Note`); `findings`
//! judges them. `tls` passes clear connections through and hands on TLS connections' decrypted
//! bytes (with each connection's `TlsSummary` before its end). `pipeline` wires the stages: its
//! `Front` (wire → tcp → tls → http) and `Back` (session → transaction → findings), both inline
//! in `Pipeline`. `report` is the report model
//! built from the outputs (and the pipeline's `CaptureSummary`).
//!
//! Shells around the core:
//!
//! ```text
//! capture (files) ──────────────────────────Frame→ threads::Analyzer ─Output→ output::Printer
//! capture (stdin), libpcap → live (queue) ─Frame→ threads::Analyzer
//! ```
//!
//! `output::Printer` turns each output into its `report` object and writes text, JSON or NDJSON.
//!
//! `threads` runs the pipeline with its back half on a worker thread; `extract` writes the
//! frames of a transaction's connections as a pcap of their own (two reads of the files); `cli`
//! is the command line that connects a source, the analyzer and a printer.
//!
//! Modules are declared below in dependency order: each refers only to modules declared before
//! it (the integration test `architecture` checks this).

// Vocabulary shared by every stage: the small types, and the table of resource limits.
pub mod types;
pub mod limits;
pub mod catalogue;
pub mod shard;

// The core stages, in pipeline order (frame → segment → stream → TLS → HTTP → CWMP → session
// → transaction → finding).
pub mod wire;
pub mod tcp;
pub mod tls;
pub mod http;
pub mod cwmp;
pub mod session;
pub mod transaction;
pub mod findings;

// What the core's results look like to people and programs: the report model (the JSON
// contract), which also holds the capture summary the pipeline fills in.
pub mod report;

// The core stages wired together, synchronous and on the caller's thread.
pub mod pipeline;

// The printers: report objects written as text, JSON or NDJSON.
pub mod output;

// Shells: capture sources, threads, extraction of a transaction's frames, live capture, the
// command line.
pub mod capture;
pub mod threads;
pub mod extract;
pub mod live;
pub mod tui;
pub mod cli;
