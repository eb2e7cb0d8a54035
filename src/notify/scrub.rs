//! Key-based and URL scrubbing of payload values.
//!
//! A field is scrubbed when its name, or the last dot-separated segment of its name,
//! equals one of the scrub names, ignoring ASCII case and treating `-` and `_` alike
//! (tracing field names cannot contain `-`, HTTP header names usually do).

use serde_json::Value;

/// What a scrubbed value is replaced with.
pub const SCRUBBED: &str = "***";

/// pyrollbar 1.5.0's default `scrub_fields`, exactly.
pub const PYROLLBAR_SCRUB_FIELDS: [&str; 13] = [
    "pw",
    "passwd",
    "password",
    "secret",
    "confirm_password",
    "confirmPassword",
    "password_confirmation",
    "passwordConfirmation",
    "access_token",
    "accessToken",
    "auth",
    "authentication",
    "authorization",
];

/// Names scrubbed by default beyond pyrollbar's list: credentials that pyrollbar sends
/// in clear (cookies, bearer tokens, API keys) and Rollbar's own token header.
pub const EXTRA_SCRUB_FIELDS: [&str; 8] = [
    "cookie",
    "set-cookie",
    "token",
    "api_key",
    "apikey",
    "x-api-key",
    "proxy-authorization",
    "x-rollbar-access-token",
];

/// A compiled list of scrub names.
#[derive(Clone, Debug)]
pub(crate) struct Scrubber {
    names: Vec<String>,
}

fn normalize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c == '-' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

impl Scrubber {
    pub(crate) fn new<'a>(extra: impl IntoIterator<Item = &'a str>) -> Scrubber {
        let mut names: Vec<String> = PYROLLBAR_SCRUB_FIELDS
            .iter()
            .chain(EXTRA_SCRUB_FIELDS.iter())
            .copied()
            .chain(extra)
            .map(normalize)
            .filter(|n| !n.is_empty())
            .collect();
        names.sort();
        names.dedup();
        Scrubber { names }
    }

    fn matches_exact(&self, name: &str) -> bool {
        // Allocation-free comparison of the normalized forms.
        self.names.iter().any(|n| {
            n.len() == name.len()
                && n.bytes().zip(name.bytes()).all(|(a, b)| {
                    let b = if b == b'-' {
                        b'_'
                    } else {
                        b.to_ascii_lowercase()
                    };
                    a == b
                })
        })
    }

    /// Whether a field called `name` must be scrubbed.
    pub(crate) fn is_secret(&self, name: &str) -> bool {
        self.matches_exact(name)
            || name
                .rsplit_once('.')
                .is_some_and(|(_, last)| self.matches_exact(last))
    }

    /// Scrubs `value` in place: secret keys at any depth, and URLs in every string.
    pub(crate) fn scrub_value(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    if self.is_secret(key) {
                        *v = Value::String(SCRUBBED.to_owned());
                    } else {
                        self.scrub_value(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_value(v)),
            Value::String(s) => {
                if let Some(clean) = self.scrub_url(s) {
                    *s = clean;
                }
            }
            _ => {}
        }
    }

    /// Scrubs the userinfo password and secret query parameters of every URL-looking
    /// part of `text` (`scheme://...` up to whitespace), and the query of a request
    /// target (`/login?password=...`, as HTTP request spans record it). `None` when
    /// nothing changed.
    pub(crate) fn scrub_url(&self, text: &str) -> Option<String> {
        if !text.contains("://") {
            if text.starts_with('/') && !text.contains(char::is_whitespace) {
                let cleaned = self.scrub_path_and_query(text);
                return (cleaned != text).then_some(cleaned);
            }
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut changed = false;
        let mut rest = text;
        while let Some(pos) = rest.find("://") {
            // The scheme: the alphanumeric run before "://".
            let scheme_start = rest[..pos]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
                .map_or(0, |i| i + 1);
            let end = rest[pos..]
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '<' | '>'))
                .map_or(rest.len(), |i| pos + i);
            out.push_str(&rest[..scheme_start]);
            let url = &rest[scheme_start..end];
            if scheme_start < pos {
                let cleaned = self.scrub_one_url(url, pos - scheme_start);
                changed |= cleaned != url;
                out.push_str(&cleaned);
            } else {
                out.push_str(url);
            }
            rest = &rest[end..];
        }
        out.push_str(rest);
        changed.then_some(out)
    }

    fn scrub_one_url(&self, url: &str, scheme_len: usize) -> String {
        let after_scheme = scheme_len + 3;
        let authority_end = url[after_scheme..]
            .find(['/', '?', '#'])
            .map_or(url.len(), |i| after_scheme + i);
        let authority = &url[after_scheme..authority_end];
        let mut out = String::with_capacity(url.len());
        out.push_str(&url[..after_scheme]);
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                match userinfo.split_once(':') {
                    Some((user, _password)) => {
                        out.push_str(user);
                        out.push(':');
                        out.push_str(SCRUBBED);
                    }
                    None => out.push_str(userinfo),
                }
                out.push('@');
                out.push_str(host);
            }
            None => out.push_str(authority),
        }
        out.push_str(&self.scrub_path_and_query(&url[authority_end..]));
        out
    }

    /// Scrubs secret query parameters of `path?query#fragment`.
    fn scrub_path_and_query(&self, tail: &str) -> String {
        let mut out = String::with_capacity(tail.len());
        let (before_frag, frag) = match tail.find('#') {
            Some(i) => tail.split_at(i),
            None => (tail, ""),
        };
        match before_frag.split_once('?') {
            Some((path, query)) => {
                out.push_str(path);
                out.push('?');
                for (i, pair) in query.split('&').enumerate() {
                    if i > 0 {
                        out.push('&');
                    }
                    match pair.split_once('=') {
                        Some((name, _)) if self.is_secret(&percent_decode_lossy(name)) => {
                            out.push_str(name);
                            out.push('=');
                            out.push_str(SCRUBBED);
                        }
                        _ => out.push_str(pair),
                    }
                }
            }
            None => out.push_str(before_frag),
        }
        out.push_str(frag);
        out
    }
}

/// Decodes `%XX` escapes and `+` in a query parameter name (enough to compare names).
fn percent_decode_lossy(s: &str) -> String {
    if !s.contains(['%', '+']) {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_match_case_insensitively_and_by_last_segment() {
        let s = Scrubber::new(["session_id"]);
        for name in [
            "password",
            "PASSWORD",
            "Authorization",
            "confirmPassword",
            "http.request.header.authorization",
            "Set-Cookie",
            "set_cookie",
            "Session-Id",
            "X-Rollbar-Access-Token",
        ] {
            assert!(s.is_secret(name), "{name}");
        }
        for name in ["my_password", "user", "passwords", "author"] {
            assert!(!s.is_secret(name), "{name}");
        }
    }

    #[test]
    fn values_are_scrubbed_at_any_depth() {
        let s = Scrubber::new([]);
        let mut v = json!({
            "user": "bob",
            "Password": {"nested": "x"},
            "list": [{"secret": 1}, {"ok": "fine"}],
            "headers": {"Authorization": "Bearer abc", "Accept": "*/*"}
        });
        s.scrub_value(&mut v);
        assert_eq!(
            v,
            json!({
                "user": "bob",
                "Password": "***",
                "list": [{"secret": "***"}, {"ok": "fine"}],
                "headers": {"Authorization": "***", "Accept": "*/*"}
            })
        );
    }

    #[test]
    fn urls_lose_passwords_and_secret_parameters() {
        let s = Scrubber::new([]);
        assert_eq!(
            s.scrub_url("https://user:urlpass@example.com/cb?password=qp&token=t1&x=1#top")
                .as_deref(),
            Some("https://user:***@example.com/cb?password=***&token=***&x=1#top")
        );
        assert_eq!(
            s.scrub_url("connecting to postgres://app:hunter2@db:5432/app failed")
                .as_deref(),
            Some("connecting to postgres://app:***@db:5432/app failed")
        );
        assert_eq!(s.scrub_url("https://example.com/a?b=c"), None);
        assert_eq!(
            s.scrub_url("/login?user=ann&password=hunter2").as_deref(),
            Some("/login?user=ann&password=***")
        );
        assert_eq!(s.scrub_url("/plain/path"), None);
        assert_eq!(s.scrub_url("no url here"), None);
        assert_eq!(
            s.scrub_url("http://h/?Access%5Ftoken=1").as_deref(),
            Some("http://h/?Access%5Ftoken=***")
        );
    }
}
