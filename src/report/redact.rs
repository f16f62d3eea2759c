//! What the report never shows unless asked: passwords, Digest responses, cookie values,
//! credentials inside URLs and parameters whose name designates a secret.

use super::build::ReportOptions;

/// What replaces a secret in every output unless secrets are shown.
pub const REDACTED: &str = "<redacted>";

/// A URL with any `user:password@` part redacted.
pub fn redact_url(url: &str, opts: &ReportOptions) -> String {
    if opts.show_secrets {
        return url.to_owned();
    }
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://{REDACTED}@{host}{path}"),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

/// Whether a parameter or argument name holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["password", "passphrase", "presharedkey", "secret"]
        .iter()
        .any(|s| lower.ends_with(s))
}

/// Generic arguments as `[path, value]` pairs; a value whose own name, or the `Name` just
/// before it, designates a secret is redacted.
pub(super) fn redact_args(
    args: &[(String, String)],
    opts: &ReportOptions,
) -> Vec<(String, String)> {
    let mut last_name_secret = false;
    args.iter()
        .map(|(path, value)| {
            let leaf = path.rsplit('.').next().unwrap_or(path);
            let secret = is_secret_name(leaf) || (leaf == "Value" && last_name_secret);
            if leaf == "Name" {
                last_name_secret = is_secret_name(value);
            }
            let shown = if secret {
                opts.secret(value)
            } else {
                value.clone()
            };
            (path.clone(), shown)
        })
        .collect()
}

impl ReportOptions {
    /// `value`, or [`REDACTED`] unless secrets are shown (an empty value stays empty).
    pub(super) fn secret(&self, value: &str) -> String {
        if self.show_secrets || value.is_empty() {
            value.to_owned()
        } else {
            REDACTED.to_owned()
        }
    }
}
