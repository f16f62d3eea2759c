//! cwmpscope: a TR-069 (CWMP) capture analyzer.
//!
//! The core is pure and synchronous: frames go in, sessions, transactions and findings come
//! out. Each stage is a module with one owned type crossing its boundary:
//!
//! ```text
//! capture ─Frame→ wire ─TcpSegment→ tcp ─StreamEvent→ http ─HttpMessage→ cwmp ─Envelope→
//!   session ─Completed→ transaction ─Tracked→ findings ─Output→ report → output
//! ```
//!
//! Stages before `findings` record facts (`session::Note`, `transaction::Note`); `findings`
//! judges them. The finding vocabulary (`catalogue`) sits below every stage.
//!
//! Shells around the core read capture files (`capture`) and print text or JSON (`output`).

pub mod analyzer;
pub mod app;
pub mod capture;
pub mod catalogue;
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
