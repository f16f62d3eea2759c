//! What the report never shows unless asked: passwords, Digest responses, cookie values,
//! credentials inside URLs and parameters whose name designates a secret. The same rules
//! redact the bytes of a message the interactive view shows (header fields here, XML texts by
//! name there).

use super::build::ReportOptions;

/// What replaces a secret in every output unless secrets are shown.
pub const REDACTED: &str = "<redacted>";

/// A URL with any `user:password@` part redacted.
pub fn redact_url(url: &str, opts: &ReportOptions) -> String {
    redacted_url(url, opts).unwrap_or_else(|| url.to_owned())
}

/// [`redact_url`] of a string the caller gives up: returned as it is when nothing is redacted.
pub(super) fn redact_url_owned(url: String, opts: &ReportOptions) -> String {
    redacted_url(&url, opts).unwrap_or(url)
}

/// The URL with its `user:password@` part redacted, or `None` when it shows as it is.
fn redacted_url(url: &str, opts: &ReportOptions) -> Option<String> {
    if opts.show_secrets {
        return None;
    }
    let (scheme, rest) = crate::session::split_scheme(url)?;
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let (_, host) = authority.rsplit_once('@')?;
    Some(format!("{scheme}://{REDACTED}@{host}{path}"))
}

/// A header field's value as shown: the credentials of `Authorization` and
/// `Proxy-Authorization` (a Digest keeps its fields but `response`, any other scheme only its
/// name), the values of `Cookie` and `Set-Cookie` (names and attributes stay), credentials in a
/// URL; as it is when secrets are shown.
pub fn redact_header(name: &str, value: &str, opts: &ReportOptions) -> String {
    if opts.show_secrets {
        return value.to_owned();
    }
    let name = name.trim();
    let is = |n: &str| name.eq_ignore_ascii_case(n);
    if is("authorization") || is("proxy-authorization") {
        credentials(value)
    } else if is("cookie") {
        value
            .split(';')
            .map(cookie_pair)
            .collect::<Vec<_>>()
            .join(";")
    } else if is("set-cookie") {
        match value.split_once(';') {
            Some((pair, attributes)) => format!("{};{attributes}", cookie_pair(pair)),
            None => cookie_pair(value),
        }
    } else {
        let trimmed = value.trim();
        let redacted = redact_url(trimmed, opts);
        if redacted == trimmed {
            value.to_owned()
        } else {
            value.replacen(trimmed, &redacted, 1)
        }
    }
}

/// `Scheme credentials` with the credentials redacted: a Digest keeps its fields but
/// `response`, any other scheme keeps only its name.
fn credentials(value: &str) -> String {
    let lead = &value[..value.len() - value.trim_start().len()];
    let v = value.trim_start();
    let Some((scheme, rest)) = v.split_once(|c: char| c.is_ascii_whitespace()) else {
        return value.to_owned();
    };
    if rest.trim().is_empty() {
        return value.to_owned();
    }
    if !scheme.eq_ignore_ascii_case("digest") {
        return format!("{lead}{scheme} {REDACTED}");
    }
    let fields: Vec<String> = split_outside_quotes(rest, ',')
        .into_iter()
        .map(|field| match field.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("response") && !v.trim().is_empty() => {
                format!("{k}=\"{REDACTED}\"")
            }
            _ => field.to_owned(),
        })
        .collect();
    format!("{lead}{scheme} {}", fields.join(","))
}

/// `text` cut at each `sep` that is not inside double quotes.
fn split_outside_quotes(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut quoted, mut escaped, mut from) = (false, false, 0);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&text[from..i]);
                from = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[from..]);
    parts
}

/// `name=value` with the value redacted (an empty value stays empty).
fn cookie_pair(pair: &str) -> String {
    match pair.split_once('=') {
        Some((name, value)) if !value.trim().is_empty() => format!("{name}={REDACTED}"),
        _ => pair.to_owned(),
    }
}

/// Whether a parameter or argument name holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.as_bytes();
    ["password", "passphrase", "presharedkey", "secret"]
        .iter()
        .any(|s| {
            name.len() >= s.len() && name[name.len() - s.len()..].eq_ignore_ascii_case(s.as_bytes())
        })
}

/// Generic arguments as `[path, value]` pairs; a value whose own name, or the `Name` just
/// before it, designates a secret is redacted.
pub(super) fn redact_args(
    args: Vec<(String, String)>,
    opts: &ReportOptions,
) -> Vec<(String, String)> {
    let mut last_name_secret = false;
    args.into_iter()
        .map(|(path, value)| {
            let leaf = path.rsplit('.').next().unwrap_or(&path);
            let secret = is_secret_name(leaf) || (leaf == "Value" && last_name_secret);
            if leaf == "Name" {
                last_name_secret = is_secret_name(&value);
            }
            let shown = if secret {
                opts.secret(value)
            } else {
                redact_url_owned(value, opts)
            };
            (path, shown)
        })
        .collect()
}

impl ReportOptions {
    /// `value`, or [`REDACTED`] unless secrets are shown (an empty value stays empty).
    pub(super) fn secret(&self, value: String) -> String {
        if self.show_secrets || value.is_empty() {
            value
        } else {
            REDACTED.to_owned()
        }
    }
}
