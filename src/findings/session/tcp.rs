//! The TCP connections the session used: `tcp-reset` (at the RST's frame), `tcp-retransmissions`.

use super::{SessionView, at};
use crate::findings::{Code, Finding, Thresholds};
use crate::tcp::ConnEnd;
use crate::types::Dir;

pub(super) fn tcp(v: &SessionView<'_>, th: &Thresholds, out: &mut Vec<Finding>) {
    let s = v.s;
    let session_end = s
        .ended_by
        .and_then(|f| s.messages.iter().find(|m| !m.from_cpe && m.frame == f))
        .map(|m| m.end_ts);
    for c in &s.connections {
        let last = s.messages.iter().rposition(|m| m.conn == c.id);
        if let Some((ConnEnd::Reset, ts)) = c.end
            && session_end.is_none_or(|end| ts < end)
        {
            let mut f = Finding::new(
                Code::TcpReset,
                format!(
                    "connection {} ↔ {} was reset inside the CWMP session at {}",
                    c.cpe,
                    c.acs,
                    crate::types::format_ts(ts)
                ),
            );
            f = match (c.rst_frame(), last) {
                (Some(rst), Some(i)) => f.frames([rst]).at_message(i),
                (Some(rst), None) => f.frames([rst]),
                (None, Some(i)) => at(f, s, i),
                (None, None) => f,
            };
            out.push(f);
        }
        if let Some(stats) = &c.stats {
            let mut parts = Vec::new();
            for (dir, who) in [(Dir::ToServer, "CPE"), (Dir::ToClient, "ACS")] {
                let data = stats.data_segments.get(dir.index()).copied().unwrap_or(0);
                let re = stats.retransmissions.get(dir.index()).copied().unwrap_or(0);
                if data > 0 && re as f64 / data as f64 > th.retransmission_ratio {
                    parts.push(format!(
                        "{re} of {data} data segments from the {who} ({:.1} %)",
                        re as f64 * 100.0 / data as f64
                    ));
                }
            }
            if !parts.is_empty() {
                let mut f = Finding::new(
                    Code::TcpRetransmissions,
                    format!(
                        "retransmissions on {} ↔ {}: {} (threshold {:.1} %)",
                        c.cpe,
                        c.acs,
                        parts.join(", "),
                        th.retransmission_ratio * 100.0
                    ),
                );
                if let Some(i) = s.messages.iter().position(|m| m.conn == c.id) {
                    f = at(f, s, i);
                }
                out.push(f);
            }
        }
    }
}
