//! Filter expressions (`outcome=failed severity=warning`), the same in the view's `F` prompt and
//! in `analyze --filter`: `key=value` terms, all of which a transaction or session must match.

use crate::catalogue::{Code, Severity};
use crate::report::{FindingReport, SessionReport, TransactionReport};

/// One term of a filter expression (`key=value`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    /// Serial number or IP address of the CPE contains this (any case).
    Cpe(String),
    /// The outcome starts with this: success, failed, incomplete; for a session of no
    /// transaction, its termination (normal, closed, reset, …).
    Outcome(String),
    /// The kind contains this (download, configuration-update, session, …).
    Kind(String),
    /// A finding of this code.
    Code(String),
    /// A finding of this severity or worse.
    Severity(Severity),
}

/// Parses a filter expression: `key=value` terms separated by spaces, all of which a row must
/// match. Keys: `cpe`, `outcome`, `kind`, `code`, `severity`. Empty: no filter.
pub fn parse_filter(text: &str) -> Result<Vec<Term>, String> {
    let mut terms = Vec::new();
    for word in text.split_whitespace() {
        let Some((key, value)) = word.split_once('=') else {
            return Err(format!("{word:?}: expected key=value"));
        };
        if value.is_empty() {
            return Err(format!("{word:?}: no value"));
        }
        let value_lc = value.to_lowercase();
        terms.push(match key.to_lowercase().as_str() {
            "cpe" => Term::Cpe(value_lc),
            "outcome" => Term::Outcome(value_lc),
            "kind" => Term::Kind(value_lc),
            "code" => {
                if Code::from_id(&value_lc).is_none() {
                    return Err(format!("{value:?}: no such finding code"));
                }
                Term::Code(value_lc)
            }
            "severity" => Term::Severity(match value_lc.as_str() {
                "info" => Severity::Info,
                "warning" | "warn" => Severity::Warning,
                "error" => Severity::Error,
                _ => return Err(format!("{value:?}: severity is info, warning or error")),
            }),
            _ => {
                return Err(format!(
                    "{key:?}: unknown key (cpe, outcome, kind, code, severity)"
                ));
            }
        });
    }
    Ok(terms)
}

/// The fields a filter looks at, of a transaction or a session.
pub struct Subject<'a> {
    pub serial: &'a str,
    pub ip: &'a str,
    /// `configuration-update`, `download`, …, or `session`.
    pub kind: &'a str,
    /// The outcome (`success`, `failed`, `incomplete`) or, for a session, its termination.
    pub outcome: &'a str,
    pub findings: Vec<&'a FindingReport>,
}

impl<'a> Subject<'a> {
    /// A transaction with the findings of its sessions.
    pub fn transaction(
        t: &'a TransactionReport,
        session_findings: impl Iterator<Item = &'a FindingReport>,
    ) -> Self {
        Subject {
            serial: t.cpe.serial.as_deref().unwrap_or(""),
            ip: &t.cpe.ip,
            kind: t.kind,
            outcome: t.outcome.as_str(),
            findings: t.findings.iter().chain(session_findings).collect(),
        }
    }

    pub fn session(s: &'a SessionReport) -> Self {
        Subject {
            serial: s.cpe.serial.as_deref().unwrap_or(""),
            ip: &s.cpe.ip,
            kind: "session",
            outcome: s.termination,
            findings: s.findings.iter().collect(),
        }
    }

    /// Whether every term matches.
    pub fn matches(&self, terms: &[Term]) -> bool {
        terms.iter().all(|term| match term {
            Term::Cpe(v) => self.serial.to_lowercase().contains(v) || self.ip.contains(v.as_str()),
            Term::Outcome(v) => self.outcome.starts_with(v.as_str()),
            Term::Kind(v) => self.kind.contains(v.as_str()),
            Term::Code(v) => self.findings.iter().any(|f| f.code == v),
            Term::Severity(s) => self.findings.iter().any(|f| f.severity >= *s),
        })
    }
}
