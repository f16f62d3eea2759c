//! Display text of session messages, shared by the report and the transaction ladder: below
//! both, so neither depends on the other for it.

use super::SessionMessage;
use crate::cwmp::{Rpc, fault_meaning};

/// A short description of a message's CWMP content for ladders: RPC names with their key
/// arguments (events, CommandKey, Status, fault).
pub fn message_summary(m: &SessionMessage) -> String {
    let mut parts = Vec::new();
    for e in &m.envelopes {
        parts.push(match &e.rpc {
            Rpc::Inform(i) => {
                let events: Vec<&str> = i.events.iter().map(|e| e.code.as_str()).collect();
                format!("Inform {}", events.join(", "))
            }
            Rpc::Download(d) => format!("Download {}", d.command_key),
            Rpc::DownloadResponse(d) => match d.status {
                Some(s) => format!("DownloadResponse Status {s}"),
                None => "DownloadResponse".to_owned(),
            },
            Rpc::TransferComplete(t) => match t.fault.code {
                Some(0) | None => format!("TransferComplete {}", t.command_key),
                Some(code) => format!(
                    "TransferComplete {} fault {code} {}",
                    t.command_key,
                    fault_meaning(code).unwrap_or("")
                )
                .trim_end()
                .to_owned(),
            },
            Rpc::Fault(f) => match f.cwmp.code {
                Some(code) => format!("Fault {code} {}", fault_meaning(code).unwrap_or(""))
                    .trim_end()
                    .to_owned(),
                None => "Fault".to_owned(),
            },
            other => other.name().to_owned(),
        });
    }
    parts.retain(|p| !p.is_empty());
    parts.join(" + ")
}
