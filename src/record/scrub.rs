//! The one scrubbing point of every notification: [`Scrubber::scrub_payload`]; and, for
//! every output, the masking of secret fields and URL passwords at capture
//! ([`Lines`]: the same names and the same URL rule, applied once per record).
//!
//! A destination builds its whole payload (a [`Value`]) from an occurrence without
//! scrubbing anything; the worker then passes the finished payload through
//! [`Scrubber::scrub_payload`], which returns the only type a destination can serialize
//! ([`Scrubbed`]). Every string of every part (title, message, exception, frames,
//! telemetry, fields, spans, request, breadcrumbs, summaries, and any part added later)
//! so goes through the same rules, once:
//!
//! * **keys**: an object key equal to a scrub name, or whose last dot-separated segment
//!   is, ignoring ASCII case and treating `-` and `_` alike (tracing field names cannot
//!   contain `-`, HTTP header names usually do), has its value replaced by [`SCRUBBED`]
//!   whatever it is, at any depth; except the keys of the destination's own structure
//!   (its *skeleton*: `body`, `level`, `message`, ...), whose contents are scrubbed
//!   instead, so that a name given to `NotifyConfig::scrub` cannot break the format;
//! * **free text** ([`Scrubber::scrub_text`], on every string value): the userinfo
//!   password of every `scheme://` URL (it runs to the last `@` followed by a host, so it
//!   may contain `@`, `:`, `/`, `?`, `#`, and whitespace on one line:
//!   `postgres://app:two words@db/app`), and the value of every `name=value` pair with
//!   a secret name (query parameters of URLs and request targets, percent-encoded names,
//!   logfmt fields, `--password=...`), of `"name": "value"` pairs (JSON, Python, Rust
//!   `Debug` output), of `Name: value` header lines and of `name: Bearer ...`
//!   credentials.

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
    /// Whether e-mail addresses in free text are scrubbed too (a notifier without
    /// `capture_email`).
    emails: bool,
}

/// A payload that went through [`Scrubber::scrub_payload`]: the only thing a destination
/// serializes, so that nothing reaches the network without passing the scrubber.
#[derive(Debug)]
pub(crate) struct Scrubbed(Value);

impl Scrubbed {
    /// The scrubbed payload.
    #[cfg(test)]
    pub(crate) fn get(&self) -> &Value {
        &self.0
    }

    /// The payload, to cut it to size: only for removing and shortening values, since
    /// whatever is written here is sent unscrubbed.
    pub(crate) fn cut(&mut self) -> &mut Value {
        &mut self.0
    }
}

/// HTTP authentication schemes (lower case): in `name: Bearer abc` the scheme stays
/// readable and the credentials after it are scrubbed.
const AUTH_SCHEMES: [&str; 12] = [
    "basic",
    "bearer",
    "digest",
    "dpop",
    "hoba",
    "mutual",
    "negotiate",
    "ntlm",
    "token",
    "bot",
    "apikey",
    "aws4-hmac-sha256",
];

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
        Scrubber {
            names,
            emails: false,
        }
    }

    /// Also scrubs e-mail addresses in free text (`ann@example.com` becomes `***`).
    pub(crate) fn with_emails(mut self, on: bool) -> Scrubber {
        self.emails = on;
        self
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

    /// The one scrubbing point: scrubs the whole finished `payload` (see the [module
    /// docs](self)). `skeleton` lists the JSON pointers of the destination's own keys
    /// (`*` matches any array index or key) whose values are never replaced wholesale,
    /// only scrubbed inside.
    pub(crate) fn scrub_payload(&self, mut payload: Value, skeleton: &[&str]) -> Scrubbed {
        let mut path = Vec::new();
        self.walk(&mut payload, &mut path, skeleton);
        Scrubbed(payload)
    }

    fn walk<'v>(&self, value: &'v mut Value, path: &mut Vec<&'v str>, skeleton: &[&str]) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    path.push(key.as_str());
                    if self.is_secret(key) && !in_skeleton(skeleton, path) {
                        *v = Value::String(SCRUBBED.to_owned());
                    } else {
                        self.walk(v, path, skeleton);
                    }
                    path.pop();
                }
            }
            Value::Array(items) => {
                for v in items {
                    path.push("*");
                    self.walk(v, path, skeleton);
                    path.pop();
                }
            }
            Value::String(s) => {
                if let Some(clean) = self.scrub_text(s) {
                    *s = clean;
                }
            }
            _ => {}
        }
    }

    /// Scrubs free text: URL userinfo passwords and the values of secret `name=value`,
    /// `"name": "value"`, `Name: value` (at the start of a line) and `name: Bearer ...`
    /// pairs. `None` when nothing changed.
    pub(crate) fn scrub_text(&self, text: &str) -> Option<String> {
        // Every rule starts at one of these bytes (a pair's `=` or `:`, a URL's `://`
        // and `@`, an email's `@`): text without them (a request's path, most
        // messages) has nothing to scrub.
        if !text.bytes().any(|b| matches!(b, b'=' | b':' | b'@')) {
            return None;
        }
        let urls = scrub_userinfo(text);
        let base = urls.as_deref().unwrap_or(text);
        let pairs = self.scrub_pairs(base);
        if !self.emails {
            return pairs.or(urls);
        }
        let base = pairs.as_deref().unwrap_or(base);
        scrub_emails(base).or(pairs).or(urls)
    }

    fn scrub_pairs(&self, text: &str) -> Option<String> {
        let bytes = text.as_bytes();
        let mut out = String::new();
        let mut cursor = 0;
        // What `secret_value` needs to know of the text before a separator, kept as the
        // text is read so that scrubbing stays linear whatever the input.
        let mut context = Context::default();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'{' => context.braces += 1,
                b'}' => context.braces -= 1,
                b'?' => context.query = true,
                c if c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b'<' | b'>') => {
                    context.query = false
                }
                _ => {}
            }
            if matches!(bytes[i], b'=' | b':') {
                if let Some((start, end)) = self.secret_value(text, i, context) {
                    if &text[start..end] != SCRUBBED {
                        out.push_str(&text[cursor..start]);
                        out.push_str(SCRUBBED);
                        cursor = end;
                    }
                    i = end.max(i + 1);
                    continue;
                }
            }
            i += 1;
        }
        if cursor == 0 {
            return None;
        }
        out.push_str(&text[cursor..]);
        Some(out)
    }

    /// The byte range of the value to scrub when the `=` or `:` at `sep` ends a secret
    /// name. Every index returned is at an ASCII byte or the end (a char boundary).
    fn secret_value(&self, text: &str, sep: usize, context: Context) -> Option<(usize, usize)> {
        let b = text.as_bytes();
        let colon = b[sep] == b':';
        let next = b.get(sep + 1).copied();
        let prev = sep.checked_sub(1).map(|i| b[i]);
        if colon {
            // `a::b` paths, `scheme://`.
            if next == Some(b':') || prev == Some(b':') || next == Some(b'/') {
                return None;
            }
        } else if matches!(next, Some(b'=' | b'>'))
            || matches!(prev, Some(b'=' | b'!' | b'<' | b'>'))
        {
            // `==`, `=>`, `!=`, `<=`, `>=`.
            return None;
        }

        // The name: `name`, or `"name"` / `'name'` (then maybe with spaces before `sep`).
        let mut end = sep;
        while end > 0 && b[end - 1] == b' ' {
            end -= 1;
        }
        let quote = match end.checked_sub(1).map(|i| b[i]) {
            Some(q @ (b'"' | b'\'')) => {
                end -= 1;
                // `\"name\"`, inside an escaped string.
                if end > 0 && b[end - 1] == b'\\' {
                    end -= 1;
                }
                Some(q)
            }
            _ if end != sep => return None,
            _ => None,
        };
        let mut start = end;
        while start > 0 && is_name_byte(b[start - 1]) {
            start -= 1;
        }
        if start == end {
            return None;
        }
        match quote {
            Some(q) if start == 0 || b[start - 1] != q => return None,
            None if text[..start]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric) =>
            {
                return None
            }
            _ => {}
        }
        // `--password=x` is the name `password`.
        let name = text[start..end].trim_start_matches(['-', '.']);
        if name.is_empty() {
            return None;
        }
        let secret = if name.contains('%') {
            self.is_secret(&percent_decode_lossy(name))
        } else {
            self.is_secret(name)
        };
        if !secret {
            return None;
        }
        let header_line = colon
            && quote.is_none()
            && (start == 0 || matches!(b[start - 1], b'\n' | b'\r'))
            && (name.as_bytes()[0].is_ascii_uppercase() || name.contains('-'));

        // The value.
        let mut v = sep + 1;
        while v < b.len() && matches!(b[v], b' ' | b'\t') {
            v += 1;
        }
        match (b.get(v).copied(), b.get(v + 1).copied()) {
            (Some(q @ (b'"' | b'\'')), _) => return nonempty(v + 1, closing_quote(b, v + 1, q)),
            // A quoted value inside an escaped string: `\"api_key\": \"abc\"`.
            (Some(b'\\'), Some(q @ (b'"' | b'\''))) => {
                let close = b[v + 2..]
                    .windows(2)
                    .position(|w| w[0] == b'\\' && w[1] == q)
                    .map_or(b.len(), |p| v + 2 + p);
                return nonempty(v + 2, close);
            }
            (None, _) => return None,
            _ => {}
        }
        // Each range below is only computed when it is returned (and then skipped by
        // the caller), so that no part of the text is read more than a few times.
        let line_end = || {
            let mut end = text[v..].find(['\n', '\r']).map_or(b.len(), |i| v + i);
            while end > v && matches!(b[end - 1], b' ' | b'\t') {
                end -= 1;
            }
            end
        };
        // `Bearer <credentials>`: the scheme stays readable.
        let scheme_end = AUTH_SCHEMES.iter().find_map(|s| {
            let end = v + s.len();
            (b.get(end) == Some(&b' ')
                && text.get(v..end).is_some_and(|w| w.eq_ignore_ascii_case(s)))
            .then_some(end)
        });
        if let Some(mut c) = scheme_end {
            while c < b.len() && b[c] == b' ' {
                c += 1;
            }
            let c_end = if header_line {
                line_end()
            } else {
                bare_end(b, c, false)
            };
            if let Some(span) = nonempty(c, c_end) {
                return Some(span);
            }
        }
        if header_line {
            return nonempty(v, line_end());
        }
        // A bare value after `name:` only in a struct or map (`{ token: Token(..) }`):
        // in prose, `auth: connection refused` is not a credential.
        if colon && quote.is_none() && !(context.braces > 0 && after_brace_or_comma(b, start)) {
            return None;
        }
        nonempty(v, bare_end(b, v, !colon && context.query))
    }
}

fn nonempty(start: usize, end: usize) -> Option<(usize, usize)> {
    (end > start).then_some((start, end))
}

/// The bytes of a field, parameter or header name (`%` for percent-encoded names).
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'%')
}

/// Whether the pattern `skeleton` lists `path` (segments; `*` stands for any).
fn in_skeleton(skeleton: &[&str], path: &[&str]) -> bool {
    skeleton.iter().any(|pattern| {
        let mut parts = pattern.split('/').skip(1);
        path.iter()
            .all(|seg| parts.next().is_some_and(|p| p == "*" || p == *seg))
            && parts.next().is_none()
    })
}

/// The index of the quote `q` closing a string that starts at `from` (backslash
/// escapes skipped), or the end.
fn closing_quote(b: &[u8], from: usize, q: u8) -> usize {
    let mut i = from;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q {
            return i;
        }
        i += 1;
    }
    b.len()
}

/// What the text before a separator says about the pair it may end.
#[derive(Clone, Copy, Debug, Default)]
struct Context {
    /// `{` minus `}` so far: above 0 inside a struct or map.
    braces: i64,
    /// A `?` came earlier in the same word: the pair is a query parameter.
    query: bool,
}

/// Whether the name starting at `name_start` follows `{` or `,` (spaces between): the
/// key of a struct or map once inside braces.
fn after_brace_or_comma(b: &[u8], name_start: usize) -> bool {
    let before = b[..name_start].iter().rev().find(|c| **c != b' ').copied();
    matches!(before, Some(b'{' | b','))
}

/// Whether `rest` starts another `name=` pair.
fn starts_pair(rest: &[u8]) -> bool {
    let n = rest.iter().take_while(|b| is_name_byte(**b)).count();
    n > 0 && rest.get(n) == Some(&b'=')
}

/// Where an unquoted value starting at `from` ends: at whitespace or a `"`; at `&name=`,
/// `,name=` or `;name=` (the next pair); at `,` or `;` or a closing bracket that ends the
/// word; in a query, at `&` and `#`. Brackets opened inside the value are matched
/// (`Token("a b")` is one value).
fn bare_end(b: &[u8], from: usize, in_query: bool) -> usize {
    let ends_word = |next: Option<&u8>| next.is_none_or(|c| c.is_ascii_whitespace() || *c == b'"');
    let mut depth = 0usize;
    let mut i = from;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1);
        if depth == 0 {
            match c {
                _ if c.is_ascii_whitespace() || c == b'"' => return i,
                b'&' | b'#' if in_query => return i,
                b'&' | b',' | b';' if starts_pair(&b[i + 1..]) => return i,
                b',' | b';' if ends_word(next) => return i,
                b')' | b']' | b'}'
                    if ends_word(next)
                        || matches!(
                            next,
                            Some(b',' | b';' | b'.' | b')' | b']' | b'}' | b'\'')
                        ) =>
                {
                    return i
                }
                b'(' | b'[' | b'{' => depth += 1,
                _ => {}
            }
        } else {
            match c {
                b'"' => {
                    i = closing_quote(b, i + 1, b'"');
                    if i >= b.len() {
                        return b.len();
                    }
                }
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                _ => {}
            }
        }
        i += 1;
    }
    b.len()
}

/// How far after its `://` a URL's userinfo and host are looked for: room for a long
/// token as password, while text full of `://` is still read in linear time.
const URL_HEAD: usize = 4096;

/// Where the head of a URL starting at `from` (after its `://`) ends in free text: at
/// whitespace, a quote or angle bracket, or after [`URL_HEAD`] bytes.
fn url_end(text: &str, from: usize) -> usize {
    let mut cap = (from + URL_HEAD).min(text.len());
    while !text.is_char_boundary(cap) {
        cap -= 1;
    }
    text[from..cap]
        .find(|c: char| c.is_whitespace() || matches!(c, '"' | '<' | '>' | '`'))
        .map_or(cap, |i| from + i)
}

/// The length of the host (`name`, `name:port`, `[v6]:port`) at the start of `s`.
fn host_len(s: &str) -> usize {
    match s.chars().next() {
        Some(c) if c.is_alphanumeric() || c == '[' => {}
        _ => return 0,
    }
    s.find(|c: char| {
        !(c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '~' | '%' | '[' | ']' | ':'))
    })
    .unwrap_or(s.len())
}

/// In `rest` (a URL after its `://`), the index of the `@` that ends the userinfo: the
/// last `@` followed by a host whose user part (before the first `:`) has no `/`, `?`
/// or `#`. A password may so contain any of `@ : / ? # %`; a URL whose query holds an
/// `@` (`https://h/p?mail=a@b`) has no userinfo, as its "user" has a `/`.
fn userinfo_end(rest: &str) -> Option<usize> {
    let first_colon = rest.find(':').unwrap_or(rest.len());
    let first_delimiter = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let mut until = rest.len();
    while let Some(at) = rest[..until].rfind('@') {
        // The user part, `rest[..first_colon.min(at)]`, has no delimiter.
        if host_len(&rest[at + 1..]) > 0 && first_delimiter >= first_colon.min(at) {
            return Some(at);
        }
        until = at;
    }
    None
}

/// In `text`, for the URL whose `://` ends at `after`, the index of the `@` that ends
/// its userinfo, if it has one: within the URL's head ([`userinfo_end`]), else, for a
/// password with whitespace in it, past the whitespace ([`spaced_userinfo_at`]).
fn userinfo_at(text: &str, after: usize) -> Option<usize> {
    let end = url_end(text, after);
    match userinfo_end(&text[after..end]) {
        Some(at) => Some(after + at),
        None => spaced_userinfo_at(text, after, end),
    }
}

/// A password with whitespace in it, as written in configuration strings
/// (`postgres://app:two words@db/app`): the URL's head, `text[after..end]` up to the
/// whitespace, is `user:...` whose user part has no delimiter and which is not
/// `host:port` (digits, then the end, `/`, `?` or `#`); and an `@` followed by a host
/// comes later on the same line, before a quote, an angle bracket, a backtick or another
/// `://`, within [`URL_HEAD`] bytes. The reading that leaks nothing wins, as for an
/// ambiguous port: text that only looks like this (`see https://docs:intro then
/// ann@example.com`) loses the words in between.
fn spaced_userinfo_at(text: &str, after: usize, end: usize) -> Option<usize> {
    let head = &text[after..end];
    let colon = head.find(':')?;
    if head[..colon].contains(['/', '?', '#', '@']) {
        return None;
    }
    let password = &head.as_bytes()[colon + 1..];
    let digits = password.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 && matches!(password.get(digits), None | Some(b'/' | b'?' | b'#')) {
        return None; // `host:port`
    }
    let mut cap = (after + URL_HEAD).min(text.len());
    while !text.is_char_boundary(cap) {
        cap -= 1;
    }
    if cap <= end {
        return None;
    }
    let tail = &text[end..cap];
    let mut stop = tail
        .find(['\n', '\r', '"', '<', '>', '`'])
        .unwrap_or(tail.len());
    if let Some(next_url) = tail[..stop].find("://") {
        stop = next_url;
    }
    let (first_at, _) = tail[..stop]
        .match_indices('@')
        .find(|(i, _)| host_len(&tail[i + 1..]) > 0)?;
    let url_stop = url_end(text, end + first_at + 1);
    userinfo_end(&text[after..url_stop]).map(|at| after + at)
}

/// Replaces every e-mail address of `text` (`local@domain.tld`: a local part of
/// letters, digits and `._%+-`, a dotted domain) by [`SCRUBBED`]; `None` when there is
/// none. Linear in the text.
fn scrub_emails(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let local = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-');
    let domain = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-');
    let mut out = String::new();
    let mut cursor = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'@' {
            i += 1;
            continue;
        }
        let mut start = i;
        while start > cursor && local(b[start - 1]) {
            start -= 1;
        }
        let mut end = i + 1;
        while end < b.len() && domain(b[end]) {
            end += 1;
        }
        // The domain without a trailing dot (the end of a sentence).
        while end > i + 1 && b[end - 1] == b'.' {
            end -= 1;
        }
        let host = &text[i + 1..end];
        let dotted = host.rsplit_once('.').is_some_and(|(name, tld)| {
            !name.is_empty() && tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic())
        });
        if start < i && dotted {
            out.push_str(&text[cursor..start]);
            out.push_str(SCRUBBED);
            cursor = end;
            i = end;
        } else {
            i += 1;
        }
    }
    if cursor == 0 {
        return None;
    }
    out.push_str(&text[cursor..]);
    Some(out)
}

/// Replaces the userinfo password of every `scheme://` URL in `text` (up to whitespace,
/// or past it for a password with whitespace: [`spaced_userinfo_at`]).
pub(crate) fn scrub_userinfo(text: &str) -> Option<String> {
    if !text.contains("://") {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut cursor = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find("://") {
        let pos = search + found;
        let after = pos + 3;
        search = after;
        if pos < cursor {
            continue; // inside a password already replaced
        }
        let scheme_start = bytes[..pos]
            .iter()
            .rposition(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))
            .map_or(0, |i| i + 1);
        if scheme_start == pos || !bytes[scheme_start].is_ascii_alphabetic() {
            continue;
        }
        let Some(at) = userinfo_at(text, after) else {
            let end = url_end(text, after);
            if !text[after..end].contains('@') {
                // Nor has any URL nested in this one: skip them.
                search = end.max(after);
            }
            continue;
        };
        let Some(colon) = text[after..at].find(':') else {
            continue; // a user name only (`https://key@host`)
        };
        let (start, stop) = (after + colon + 1, at);
        if start < stop && &text[start..stop] != SCRUBBED {
            out.push_str(&text[cursor..start]);
            out.push_str(SCRUBBED);
            cursor = stop;
        }
    }
    if cursor == 0 {
        return None;
    }
    out.push_str(&text[cursor..]);
    Some(out)
}

/// The index of the `?` that starts the query of `url` (an absolute URL or a request
/// target), found the way the scrubber finds it: after the userinfo, whose password may
/// contain `?`.
pub(crate) fn query_start(url: &str) -> Option<usize> {
    let host = match url.find("://") {
        Some(pos) => {
            let after = pos + 3;
            userinfo_at(url, after).map_or(after, |at| at + 1)
        }
        None => 0,
    };
    url[host..].find('?').map(|i| host + i)
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

// === every output: secrets masked at capture ===

/// Whether `bytes` holds a `:`, eight bytes at a time (the test for a zero byte in a
/// word, on the word XOR `::::::::`): a message of a few dozen bytes costs a few dozen
/// instructions, where a byte loop costs five or six a byte.
#[inline]
fn has_colon(bytes: &[u8]) -> bool {
    const COLONS: u64 = u64::from_ne_bytes([b':'; 8]);
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has = |chunk: &[u8]| {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(word) ^ COLONS;
        x.wrapping_sub(LOW) & !x & HIGH != 0
    };
    if bytes.len() < 8 {
        return bytes.contains(&b':');
    }
    let mut chunks = bytes.chunks_exact(8);
    if chunks.any(has) {
        return true;
    }
    // The last bytes, as one word that overlaps the last whole chunk.
    !chunks.remainder().is_empty() && has(&bytes[bytes.len() - 8..])
}

/// What the capture masks in every record, for every output (lines, JSON, syslog,
/// notifications): the value of a field whose name the notifier scrubs (the defaults and
/// the names given to the notifiers `init` builds), and the password of a URL in any
/// string value or message. On by default; [`Env::scrub_lines`](crate::Env::scrub_lines)
/// turns it off for a program that wants its own lines raw (notifications are scrubbed
/// whatever it says).
#[derive(Debug)]
pub(crate) struct Lines {
    names: Scrubber,
    on: std::sync::atomic::AtomicBool,
    /// The first bytes (lower case, `-` as `_`) of the secret names: a name that starts
    /// with none of them and has no `.` (whose last segment could be one) is no secret.
    first: [bool; 256],
}

impl Lines {
    fn new<'a>(extra: impl IntoIterator<Item = &'a str>, on: bool) -> Lines {
        let names = Scrubber::new(extra);
        let mut first = [false; 256];
        for name in &names.names {
            if let Some(&b) = name.as_bytes().first() {
                first[usize::from(b)] = true;
                first[usize::from(b.to_ascii_uppercase())] = true;
            }
        }
        first[usize::from(b'-')] |= first[usize::from(b'_')];
        Lines {
            names,
            on: std::sync::atomic::AtomicBool::new(on),
            first,
        }
    }
}

static LINES: std::sync::OnceLock<Lines> = std::sync::OnceLock::new();

impl Lines {
    /// The process's masking, with the default names unless [`Lines::configure`] came
    /// first.
    #[inline]
    pub(crate) fn get() -> &'static Lines {
        LINES.get_or_init(|| Lines::new([], true))
    }

    /// Sets the names (beside the defaults) and whether masking is on; called by `init`
    /// before the first record. The names are set once per process; `on` each time.
    pub(crate) fn configure<'a>(extra: impl IntoIterator<Item = &'a str>, on: bool) {
        let lines = LINES.get_or_init(|| Lines::new(extra, on));
        lines.on.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the value of a field called `name` is masked. Field names are static: the
    /// answer is decided once per name and kept in a small per-thread cache keyed by the
    /// name's address, so the hot path costs a lookup, not a comparison with every
    /// secret name.
    #[inline]
    pub(crate) fn masks(&self, name: &'static str) -> bool {
        let Some(&b) = name.as_bytes().first() else {
            return false;
        };
        if !self.first[usize::from(b)] && !name.as_bytes().contains(&b'.') {
            return false;
        }
        if !self.on.load(std::sync::atomic::Ordering::Relaxed) {
            return false;
        }
        type Slot = std::cell::Cell<(usize, usize, bool)>;
        thread_local! {
            /// (address, length, answer) of recently asked names, direct-mapped.
            static DECIDED: [Slot; 64] = const { [const { Slot::new((0, 0, false)) }; 64] };
        }
        let key = (name.as_ptr() as usize, name.len());
        let slot = ((key.0 >> 3) ^ key.1) & 63;
        DECIDED
            .try_with(|table| {
                let (addr, len, answer) = table[slot].get();
                if (addr, len) == key {
                    return answer;
                }
                let answer = self.names.is_secret(name);
                table[slot].set((key.0, key.1, answer));
                answer
            })
            .unwrap_or_else(|_| self.names.is_secret(name))
    }

    /// The fields of `meta`'s callsite whose values are masked, as a bitmask by field
    /// index: `0` (the common case) when none is, `u64::MAX` when one past the 63rd is
    /// (then each field is decided by name). Decided once per callsite, then read from a
    /// small per-thread cache keyed by the callsite's metadata.
    #[inline]
    pub(crate) fn callsite_mask(&self, meta: &'static tracing::Metadata<'static>) -> u64 {
        if !self.on.load(std::sync::atomic::Ordering::Relaxed) {
            return 0;
        }
        type Slot = std::cell::Cell<(usize, u64)>;
        thread_local! {
            static MASKS: [Slot; 64] = const { [const { Slot::new((0, 0)) }; 64] };
        }
        let key = meta as *const tracing::Metadata<'static> as usize;
        let decide = || {
            let mut mask = 0u64;
            for field in meta.fields() {
                if self.names.is_secret(field.name()) {
                    if field.index() >= 63 {
                        return u64::MAX;
                    }
                    mask |= 1 << field.index();
                }
            }
            mask
        };
        MASKS
            .try_with(|table| {
                let slot = &table[(key >> 4) & 63];
                let (at, mask) = slot.get();
                if at == key {
                    return mask;
                }
                let mask = decide();
                slot.set((key, mask));
                mask
            })
            .unwrap_or_else(|_| decide())
    }

    /// Masks URL passwords in `text` in place (a cheap look for a `:` first, then for
    /// `://`).
    #[inline(always)]
    pub(crate) fn mask_urls(&self, text: &mut String, from: usize) {
        let tail = text.as_bytes().get(from..).unwrap_or_default();
        // The shortest URL with a password is `s://u:p@h`.
        if tail.len() < 9
            || !has_colon(tail)
            || !self.on.load(std::sync::atomic::Ordering::Relaxed)
            || !text[from..].contains("://")
        {
            return;
        }
        if let Some(masked) = scrub_userinfo(&text[from..]) {
            text.truncate(from);
            text.push_str(&masked);
        }
    }
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
    fn values_are_scrubbed_at_any_depth_and_every_string_as_text() {
        let s = Scrubber::new([]);
        let v = json!({
            "user": "bob",
            "Password": {"nested": "x"},
            "list": [{"secret": 1}, {"ok": "fine"}],
            "headers": {"Authorization": "Bearer abc", "Accept": "*/*"},
            "deep": [["connecting to postgres://app:pw@db/x failed", "token=t&page=2"]]
        });
        assert_eq!(
            *s.scrub_payload(v, &[]).get(),
            json!({
                "user": "bob",
                "Password": "***",
                "list": [{"secret": "***"}, {"ok": "fine"}],
                "headers": {"Authorization": "***", "Accept": "*/*"},
                "deep": [["connecting to postgres://app:***@db/x failed", "token=***&page=2"]]
            })
        );
    }

    #[test]
    fn the_skeleton_is_scrubbed_inside_never_replaced() {
        // A name given to `scrub` that is also a key of the destination's format.
        let s = Scrubber::new(["body", "message", "level"]);
        let v = json!({
            "data": {
                "level": "error",
                "body": {"message": {"body": "password=hunter2"}},
                "custom": {"fields": {"body": "x", "level": 3}},
                "frames": [{"message": "m"}]
            }
        });
        let skeleton = [
            "/data/level",
            "/data/body",
            "/data/body/message",
            "/data/body/message/body",
            "/data/frames/*/message",
        ];
        assert_eq!(
            *s.scrub_payload(v, &skeleton).get(),
            json!({
                "data": {
                    "level": "error",
                    "body": {"message": {"body": "password=***"}},
                    "custom": {"fields": {"body": "***", "level": "***"}},
                    "frames": [{"message": "m"}]
                }
            })
        );
        assert!(in_skeleton(&["/a/*/b"], &["a", "x", "b"]));
        assert!(!in_skeleton(&["/a/*/b"], &["a", "x"]));
        assert!(!in_skeleton(&["/a"], &["a", "b"]));
    }

    /// (input, expected output; `None`: unchanged).
    fn check(s: &Scrubber, cases: &[(&str, Option<&str>)]) {
        for (input, expected) in cases {
            assert_eq!(
                s.scrub_text(input).as_deref(),
                *expected,
                "scrubbing {input:?}"
            );
            // Scrubbing is idempotent: a scrubbed text is left alone.
            if let Some(out) = expected {
                assert_eq!(s.scrub_text(out), None, "rescrubbing {out:?}");
            }
        }
    }

    #[test]
    fn url_passwords_in_free_text_whatever_they_contain() {
        check(
            &Scrubber::new([]),
            &[
                (
                    "connecting to postgres://app:s3cr#t@db:5432/x failed",
                    Some("connecting to postgres://app:***@db:5432/x failed"),
                ),
                (
                    "postgres://app:p@ss:w/rd#%40?x@db:5432/x?sslmode=require",
                    Some("postgres://app:***@db:5432/x?sslmode=require"),
                ),
                ("redis://:pässwörd@cache/0", Some("redis://:***@cache/0")),
                ("mysql://app:a:b:c@db", Some("mysql://app:***@db")),
                ("amqp://app:pw@@mq", Some("amqp://app:***@mq")),
                (
                    "(see https://u:p@[::1]:8080/x).",
                    Some("(see https://u:***@[::1]:8080/x)."),
                ),
                (
                    "two: http://a:one@h1/ and ftp://b:two@h2/",
                    Some("two: http://a:***@h1/ and ftp://b:***@h2/"),
                ),
                (
                    "https://proxy/?next=https://u:p@h/x",
                    Some("https://proxy/?next=https://u:***@h/x"),
                ),
                (
                    r#"{"url": "postgres://app:pw@db/x", "n": 1}"#,
                    Some(r#"{"url": "postgres://app:***@db/x", "n": 1}"#),
                ),
                (
                    "https://user:urlpass@example.com/cb?password=qp&token=t1&x=1#top",
                    Some("https://user:***@example.com/cb?password=***&token=***&x=1#top"),
                ),
                (
                    "GET https://api/x?token=abc&page=2",
                    Some("GET https://api/x?token=***&page=2"),
                ),
                (
                    "http://h/?Access%5Ftoken=1",
                    Some("http://h/?Access%5Ftoken=***"),
                ),
                // A user name alone (a DSN's public key) is no password.
                ("https://0123abcd@o1.ingest.example.com/42", None),
                // An `@` in the query is not userinfo.
                ("https://h/p?mail=a@b.example&page=2", None),
                ("https://h/users/@bob", None),
                ("https://example.com/a?b=c", None),
                ("mailto:ann@example.com", None),
                // A password with whitespace, as written in configuration strings.
                (
                    "postgres://app:two words@db/app",
                    Some("postgres://app:***@db/app"),
                ),
                (
                    "DATABASE_URL=postgres://app:two words@db/app failed",
                    Some("DATABASE_URL=postgres://app:***@db/app failed"),
                ),
                (
                    "cannot reach postgres://app:a b\tc /d#e@f@db:5432/app?x=1: timeout",
                    Some("cannot reach postgres://app:***@db:5432/app?x=1: timeout"),
                ),
                ("redis://: pass word @cache/0", Some("redis://:***@cache/0")),
                (
                    "two: http://a:one two@h1/ and ftp://b:three four@h2/",
                    Some("two: http://a:***@h1/ and ftp://b:***@h2/"),
                ),
                (
                    r#"{"url": "mysql://app:s p@db/x", "n": "a@b"}"#,
                    Some(r#"{"url": "mysql://app:***@db/x", "n": "a@b"}"#),
                ),
                // A port is a port: a later address on the line is not a password's end.
                ("http://localhost:8080 failed for ann@example.com", None),
                ("redis://cache:6379/0 down, tell ops@example.com", None),
                // Nor does a password run past the line, a quote or another URL.
                ("http://h:x\nann@example.com", None),
                ("http://h:x \"ann@example.com\"", None),
                ("http://h:x see https://ann@example.com", None),
                ("no url here", None),
            ],
        );
    }

    #[test]
    fn an_ambiguous_port_is_read_as_a_password() {
        // `h:8080/p?e=a@b` could be the password `8080/p?e=a` of user `h` at host `b`:
        // the scrubber takes the reading that leaks nothing.
        check(
            &Scrubber::new([]),
            &[(
                "https://h:8080/p?e=a@b.example",
                Some("https://h:***@b.example"),
            )],
        );
    }

    #[test]
    fn secret_pairs_in_free_text() {
        check(
            &Scrubber::new(["session_id"]),
            &[
                ("password=hunter2", Some("password=***")),
                ("login failed: password=hunter2 user=bob", Some("login failed: password=*** user=bob")),
                ("password=hunter2, user=bob", Some("password=***, user=bob")),
                ("(password=hunter2)", Some("(password=***)")),
                ("password=a,b;c)d user=bob", Some("password=*** user=bob")),
                ("password=hunter2&page=2", Some("password=***&page=2")),
                ("Server=db;Password=s3cr;Database=x", Some("Server=db;Password=***;Database=x")),
                ("run --password=hunter2 --verbose", Some("run --password=*** --verbose")),
                ("msg=\"password=hunter2\"", Some("msg=\"password=***\"")),
                ("secret=\"a b \\\" c\" next=1", Some("secret=\"***\" next=1")),
                ("user.token=abc", Some("user.token=***")),
                ("Session-Id=42", Some("Session-Id=***")),
                ("/login?user=ann&password=x", Some("/login?user=ann&password=***")),
                ("/a?pass%77ord=x#frag", Some("/a?pass%77ord=***#frag")),
                ("/a?user.token=x#frag", Some("/a?user.token=***#frag")),
                (
                    r#"body {"api_key": "abc", "page": 2}"#,
                    Some(r#"body {"api_key": "***", "page": 2}"#),
                ),
                (r#"{"token":null,"ok":1}"#, Some(r#"{"token":***,"ok":1}"#)),
                (r#"{"auth" : {"u": "bob", "p": "x"}}"#, Some(r#"{"auth" : ***}"#)),
                ("{'secret': 'x', 'n': 1}", Some("{'secret': '***', 'n': 1}")),
                (
                    r#"body="{\"password\": \"hunter2\"}""#,
                    Some(r#"body="{\"password\": \"***\"}""#),
                ),
                (
                    "Login { user: \"bob\", password: \"hunter2\" }",
                    Some("Login { user: \"bob\", password: \"***\" }"),
                ),
                (
                    "Config { token: Token(abc), retries: 3 }",
                    Some("Config { token: ***, retries: 3 }"),
                ),
                (
                    "sent Authorization: Bearer eyJhbGciOi.x.y to the API",
                    Some("sent Authorization: Bearer *** to the API"),
                ),
                ("authorization=Bearer abc", Some("authorization=Bearer ***")),
                (
                    "POST /x HTTP/1.1\r\nHost: api\r\nCookie: sid=abc; theme=dark\r\nX-Api-Key: k 1\r\n",
                    Some("POST /x HTTP/1.1\r\nHost: api\r\nCookie: ***\r\nX-Api-Key: ***\r\n"),
                ),
                ("password=***", None),
                ("password=", None),
            ],
        );
    }

    #[test]
    fn the_colon_test_finds_every_colon_and_nothing_else() {
        for len in 0..40 {
            for at in 0..len {
                let mut bytes = vec![b'a'; len];
                bytes[at] = b':';
                assert!(has_colon(&bytes), "{len} {at}");
                // Neighbours of ':' in the byte table are no colon.
                bytes[at] = b';';
                assert!(!has_colon(&bytes), "{len} {at}");
                bytes[at] = 0xBA;
                assert!(!has_colon(&bytes), "{len} {at}");
            }
        }
    }

    #[test]
    fn emails_in_free_text_only_when_asked() {
        let plain = Scrubber::new([]);
        let text = "mail ann.o'hara+x@mail.example.com, bob@example.org. or me@localhost";
        assert_eq!(plain.scrub_text(text), None);
        let emails = Scrubber::new([]).with_emails(true);
        assert_eq!(
            emails.scrub_text(text).as_deref(),
            Some("mail ann.o'***, ***. or me@localhost")
        );
        // A URL's scrubbed password stays as it was; an @ alone is no address.
        assert_eq!(
            emails
                .scrub_text("postgres://app:pw@db.internal/x and @ann")
                .as_deref(),
            Some("postgres://app:***@db.internal/x and @ann")
        );
        assert_eq!(emails.scrub_text(&"@".repeat(10_000)), None);
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        check(
            &Scrubber::new([]),
            &[
                ("payment failed: card declined", None),
                ("auth: connection refused: os error 111", None),
                ("token: expired", None),
                ("invalid token", None),
                ("my_password=kept author=ann passwords=3", None),
                ("if token == other { x => y }", None),
                ("let token = parse()", None),
                ("app::auth::login failed at src/auth.rs:10:5", None),
                ("<app::token::Parser as core::fmt::Debug>::fmt", None),
                ("dG9rZW4= cGFzc3dvcmQ=", None),
                ("/plain?q=rust&page=2", None),
                ("C:\\Users\\ann\\token.txt", None),
                ("thread 'main' panicked at src/main.rs:3:5: boom", None),
                ("", None),
            ],
        );
    }

    #[test]
    fn hostile_text_never_panics() {
        let s = Scrubber::new([]);
        let pieces = [
            "password", "=", ":", "\"", "'", "\\", "{", "}", "(", ")", "[", "]", "&", "?", "#",
            "@", "://", "https", " ", "\n", "é", "日本", "🦀", "Bearer ", "%", "%7", "token", "-",
            ".", ",", ";",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..(seed % 12) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            if let Some(out) = s.scrub_text(&text) {
                assert!(out.contains(SCRUBBED), "{text:?} -> {out:?}");
            }
            let _ = query_start(&text);
        }
    }

    #[test]
    fn scrubbing_takes_linear_time_whatever_the_text() {
        // Quadratic scanning would take minutes on these; linear takes milliseconds.
        let s = Scrubber::new([]);
        let started = std::time::Instant::now();
        for unit in [
            "token:",
            "a://",
            "a://@",
            "password=x,",
            "{token: a, ",
            "?a=1&",
            "password=(",
            "@a",
            "\"auth\": \"",
            "Authorization: Bearer ",
            "x",
        ] {
            let text = unit.repeat(256 * 1024 / unit.len());
            let _ = s.scrub_text(&text);
            let _ = query_start(&text);
        }
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(10), "{took:?}");
    }

    #[test]
    fn the_query_starts_after_the_userinfo() {
        for (url, query) in [
            ("https://u:p?ss@shop/pay?token=abc", Some("token=abc")),
            ("https://shop/pay?x=1", Some("x=1")),
            ("https://shop/pay", None),
            ("/pay?x=1?y", Some("x=1?y")),
            ("https://h/p?mail=a@b", Some("mail=a@b")),
            (
                "postgres://app:a? b@db/x?sslmode=require",
                Some("sslmode=require"),
            ),
        ] {
            assert_eq!(query_start(url).map(|i| &url[i + 1..]), query, "{url}");
        }
    }
}
