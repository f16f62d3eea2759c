//! Cookies the ACS set and the CPE must return: `cookie-not-returned`.

use super::SessionView;
use crate::findings::{Code, Finding};
use crate::session::MessageKind;

pub(super) fn cookies(v: &SessionView<'_>, out: &mut Vec<Finding>) {
    let s = v.s;
    // Cookies the ACS set, latest value per name, with the message that set them.
    let mut set: Vec<(&str, &str, usize)> = Vec::new();
    let mut reported: Vec<(&str, &str)> = Vec::new();
    for (i, m) in s.messages.iter().enumerate() {
        if m.kind != MessageKind::Cwmp {
            continue;
        }
        if !m.from_cpe {
            for (name, value) in &m.set_cookies {
                if let Some(slot) = set.iter_mut().find(|(n, _, _)| n == name) {
                    *slot = (name, value, i);
                } else if set.len() < 16 {
                    set.push((name, value, i));
                }
            }
            continue;
        }
        for &(name, value, setter) in &set {
            let returned = m.cookies.iter().any(|(n, v)| n == name && v == value);
            if !returned && !reported.contains(&(name, value)) {
                reported.push((name, value));
                out.push(
                    Finding::new(
                        Code::CookieNotReturned,
                        format!(
                            "ACS set cookie {name}={value} (frame {}) but the CPE's next request lacks it",
                            s.messages.get(setter).map_or(0, |m| m.last_frame.number)
                        ),
                    )
                    .frames(s.messages.get(setter).map(|m| m.last_frame))
                    .frames([m.last_frame])
                    .at_message(i),
                );
            }
        }
    }
}
