//! cwmpscope: a TR-069 (CWMP) capture analyzer.
//!
//! The core is pure and synchronous: frames go in, sessions, transactions and findings come
//! out. Each stage is a module with one owned type crossing its boundary:
//!
//! ```text
//! capture ─Frame→ wire ─TcpSegment→ tcp ─StreamEvent→ http ─HttpMessage→ cwmp ─Envelope→
//!   session ─Session/HttpExchange→ transaction ─Session/Transaction/Finding→ report → output
//! ```
//!
//! Shells around the core read capture files (`capture`) and print text or JSON (`output`).

pub mod analyzer;
pub mod app;
pub mod capture;
pub mod cwmp;
pub mod findings;
pub mod http;
pub mod live;
pub mod output;
pub mod report;
pub mod session;
pub mod tcp;
pub mod transaction;
pub mod types;
pub mod wire;
