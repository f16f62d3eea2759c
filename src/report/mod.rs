//! The report: the objects every printer reads (the JSON contract of `docs/report.md`), built
//! from the core's finished sessions, transactions and findings. Secrets are redacted here,
//! once, so every printer gets safe data by default.
//!
//! - [`model`]: the report objects, as they serialize.
//! - [`build`]: their construction from the analysis results.
//! - [`redact`]: what is hidden unless `--show-secrets`.

pub mod build;
pub mod model;
pub mod redact;

pub use crate::findings::{Finding, Severity};
pub use build::{ReportOptions, capture_finding_report, finding_report};
pub use model::*;
pub use redact::{REDACTED, is_secret_name, redact_header, redact_url};
