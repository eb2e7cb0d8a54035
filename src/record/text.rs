//! Text primitives every layout shares, one implementation each: escaping for Logbook
//! lines (messages, one-line text, quoted values, names), JSON string literals, RFC 5424
//! parameter values, numbers (floats included: NaN and infinities read the same
//! everywhere), timestamps, and an error's cause chain.
//!
//! # Log forging and terminal injection
//!
//! No content of an event can produce a line that reads as a separate record, or put a
//! raw control byte on the output. This is a deliberate difference from Logbook, which
//! writes messages raw:
//!
//! * a newline inside the message starts a continuation line indented by two spaces, so
//!   every record starts with `[` at the beginning of a line and nothing else does;
//!   trailing newlines of a message are dropped;
//! * a lone `\r`, ESC and every other C0/C1 control character, DEL, the Unicode line and
//!   paragraph separators and the bidirectional overrides are written as Rust escapes
//!   (`\u{1b}`); tabs stay tabs in messages;
//! * field values, field names, span names and channels never contain a newline: it is
//!   escaped as `\n`; names and string values are quoted when they are not bare words.

use std::cell::RefCell;
use std::fmt::Write as _;

use time::OffsetDateTime;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Message text: `\n` starts an indented continuation line, tabs stay.
    Message,
    /// One-line text (channels, unquoted values): newlines and tabs are escaped too.
    Inline,
    /// Inside double quotes: also `"` and `\` are escaped.
    Quoted,
}

/// The indentation of a message's continuation lines.
pub(crate) const CONTINUATION: &str = "\n  ";

/// Whether a character must never reach the output raw.
#[inline]
fn is_dangerous(c: char) -> bool {
    matches!(c,
        '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{2028}' | '\u{2029}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// ASCII bytes that may appear in a bare (unquoted) string value.
/// Byte classes for the escape scans: [`MSG`] bytes need escaping in every mode (C0
/// controls but tab, DEL, and 0xC2/0xE2, which start the dangerous non-ASCII
/// characters), [`TAB`] outside messages, [`QUOTE`] (`"`, `\\`) inside quotes;
/// [`NOT_BARE`] ASCII bytes keep a value from being printed bare (space, `=`, and all of
/// the above), [`NON_ASCII`] bytes start or continue a multi-byte character.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = MSG;
        b += 1;
    }
    t[b'\t' as usize] = TAB;
    t[0x7f] = MSG;
    t[0xc2] = MSG;
    t[0xe2] = MSG;
    t[b'"' as usize] = QUOTE;
    t[b'\\' as usize] = QUOTE;
    let mut b = 0;
    while b < 0x80 {
        if t[b] != 0 || b == b' ' as usize || b == b'=' as usize {
            t[b] |= NOT_BARE;
        }
        b += 1;
    }
    while b < 0x100 {
        t[b] |= NON_ASCII;
        b += 1;
    }
    t
};
const MSG: u8 = 1;
const TAB: u8 = 2;
const QUOTE: u8 = 4;
const NOT_BARE: u8 = 8;
const NON_ASCII: u8 = 16;

/// The classes of eight bytes, OR-ed: eight table lookups, no branch.
#[inline(always)]
fn chunk_classes(c: &[u8]) -> u8 {
    CLASS[c[0] as usize]
        | CLASS[c[1] as usize]
        | CLASS[c[2] as usize]
        | CLASS[c[3] as usize]
        | CLASS[c[4] as usize]
        | CLASS[c[5] as usize]
        | CLASS[c[6] as usize]
        | CLASS[c[7] as usize]
}

/// Whether any byte of `s` is in one of the classes of `mask`: one table lookup per
/// byte, eight bytes per step without early exits. This scan runs over every message,
/// channel and value.
#[inline]
fn scan(s: &str, mask: u8) -> bool {
    let mut chunks = s.as_bytes().chunks_exact(8);
    for c in &mut chunks {
        if chunk_classes(c) & mask != 0 {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .fold(0, |acc, &b| acc | CLASS[b as usize])
        & mask
        != 0
}

/// Every class of the bytes of `s`, OR-ed together: one table lookup per byte, eight
/// bytes per step, for the strings whose every class matters (a value is bare or quoted,
/// and escaped or not, by one scan).
#[inline]
fn classes(s: &str) -> u8 {
    let mut chunks = s.as_bytes().chunks_exact(8);
    let mut any = 0;
    for c in &mut chunks {
        any |= chunk_classes(c);
    }
    chunks
        .remainder()
        .iter()
        .fold(any, |acc, &b| acc | CLASS[b as usize])
}

/// The classes whose bytes `mode` escapes.
#[inline]
const fn escaped_in(mode: Mode) -> u8 {
    match mode {
        Mode::Message => MSG,
        Mode::Inline => MSG | TAB,
        Mode::Quoted => MSG | TAB | QUOTE,
    }
}

/// Appends `s` escaped for `mode`.
pub(crate) fn push_escaped(buf: &mut String, s: &str, mode: Mode) {
    if !scan(s, escaped_in(mode)) {
        buf.push_str(s);
        return;
    }
    push_escaped_slow(buf, s, mode);
}

/// Appends `s`, which has something to escape for `mode`, escaped.
#[cold]
#[inline(never)]
fn push_escaped_slow(buf: &mut String, s: &str, mode: Mode) {
    let s = if mode == Mode::Message {
        s.trim_end_matches(['\n', '\r'])
    } else {
        s
    };
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if mode == Mode::Message && chars.peek() == Some(&'\n') => {}
            '\n' if mode == Mode::Message => buf.push_str(CONTINUATION),
            '\t' if mode == Mode::Message => buf.push('\t'),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            '\t' => buf.push_str("\\t"),
            '"' if mode == Mode::Quoted => buf.push_str("\\\""),
            '\\' if mode == Mode::Quoted => buf.push_str("\\\\"),
            c if is_dangerous(c) => {
                let _ = write!(buf, "\\u{{{:x}}}", c as u32);
            }
            c => buf.push(c),
        }
    }
}

/// Whether `s`, whose byte classes are `classes`, is printed bare by one table scan
/// alone: not empty, ASCII, and nothing that makes a value quoted.
#[inline]
fn is_plain_ascii_word(s: &str, classes: u8) -> bool {
    !s.is_empty() && classes & (NOT_BARE | NON_ASCII) == 0
}

/// Appends a string field value: bare when safe and unambiguous, quoted otherwise.
pub(crate) fn push_str_value(buf: &mut String, s: &str) {
    // One table scan decides plain ASCII text, and whether quoted text needs escapes;
    // only text with non-ASCII characters needs a look at its characters (Unicode
    // spaces and the dangerous characters).
    let classes = classes(s);
    let bare = is_plain_ascii_word(s, classes)
        || !s.is_empty()
            && classes & NOT_BARE == 0
            && !s.chars().any(|c| c.is_whitespace() || is_dangerous(c));
    if bare {
        buf.push_str(s);
    } else {
        buf.push('"');
        if classes & escaped_in(Mode::Quoted) == 0 {
            buf.push_str(s);
        } else {
            push_escaped_slow(buf, s, Mode::Quoted);
        }
        buf.push('"');
    }
}

/// Appends a float the way every layout prints it: Rust's shortest round-trip form
/// (`1.5`, `1e300`), and `NaN`, `inf`, `-inf` for the values JSON cannot hold (JSON
/// writes those as strings).
#[inline]
pub(crate) fn push_f64(buf: &mut String, v: f64) {
    if v.is_nan() {
        buf.push_str("NaN");
    } else if v.is_infinite() {
        buf.push_str(if v > 0.0 { "inf" } else { "-inf" });
    } else if let Some(millis) = whole_thousandths(v) {
        push_thousandths(buf, v.is_sign_negative(), millis);
    } else {
        let _ = write!(buf, "{v}");
    }
}

/// `|v| * 1000` when `|v|` is below 10^9 and that is a whole number which divided by 1000 gives `v`
/// back exactly (a latency in milliseconds with three decimals, a price, a ratio): then
/// the integer part, a dot and the thousandths without their trailing zeros are the
/// shortest text that reads back as `v`, which is what `Display` prints. Two numbers of
/// at most three decimals below 10^9 differ by far more than a float's precision
/// there, so no shorter decimal can read back as the same `v`.
#[inline]
fn whole_thousandths(v: f64) -> Option<u64> {
    let a = v.abs();
    // NaN and the infinities never come here (see `push_f64`).
    if a >= 1e9 {
        return None;
    }
    let m = (a * 1000.0).round();
    (m / 1000.0 == a).then_some(m as u64)
}

/// Appends `millis / 1000` as `Display` prints a float: `-` for a negative one (`-0`
/// too), no dot for a whole number, the thousandths without trailing zeros.
#[inline]
fn push_thousandths(buf: &mut String, negative: bool, millis: u64) {
    if negative {
        buf.push('-');
    }
    push_u64(buf, millis / 1000);
    let mut frac = millis % 1000;
    if frac == 0 {
        return;
    }
    let mut digits = 3;
    while frac.is_multiple_of(10) {
        frac /= 10;
        digits -= 1;
    }
    buf.push('.');
    // Below 1,000: the cast keeps every digit.
    push_digits(buf, frac as u32, digits);
}

/// How many errors of one `source()` chain are walked, text and links alike: a chain
/// that is longer (or that a buggy `source()` makes endless) is cut and marked.
pub(crate) const MAX_CHAIN: usize = 16;

/// How a walk of a `source()` chain ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChainEnd {
    /// The last error has no source.
    Whole,
    /// A `source()` returned an error already walked: the chain loops.
    Cycle,
    /// [`MAX_CHAIN`] errors were walked and there are more.
    Cut,
}

impl ChainEnd {
    /// The mark appended after the last walked error, empty for a whole chain.
    pub(crate) fn mark(self) -> &'static str {
        match self {
            ChainEnd::Whole => "",
            ChainEnd::Cycle => ": [cycle: source() returns an earlier error]",
            ChainEnd::Cut => ": [chain cut after 16 errors]",
        }
    }
}

/// Calls `each` for `err` and every error of its `source()` chain, in order: the one walk
/// of a chain in the crate, bounded by [`MAX_CHAIN`] and cut where the chain loops back
/// to an error already seen (compared by address), so that a cyclic `source()` costs
/// at most [`MAX_CHAIN`] steps.
pub(crate) fn walk_error_chain<'e>(
    err: &'e (dyn std::error::Error + 'static),
    mut each: impl FnMut(&'e (dyn std::error::Error + 'static)),
) -> ChainEnd {
    type ErrPtr = *const (dyn std::error::Error + 'static);
    // Compared with their vtables: an error and its first field (a wrapper's source)
    // share an address but not a type. A type may have two vtables (one per codegen
    // unit), so a loop may be seen on its second turn rather than its first: cut all
    // the same, within the bound.
    let mut seen: [Option<ErrPtr>; MAX_CHAIN] = [None; MAX_CHAIN];
    let walked =
        |seen: &[Option<ErrPtr>], e: ErrPtr| seen.iter().flatten().any(|&s| std::ptr::eq(s, e));
    let mut next = Some(err);
    for slot in 0..MAX_CHAIN {
        let Some(e) = next else {
            return ChainEnd::Whole;
        };
        if walked(&seen[..slot], e) {
            return ChainEnd::Cycle;
        }
        seen[slot] = Some(e);
        each(e);
        next = e.source();
    }
    match next {
        None => ChainEnd::Whole,
        Some(e) if walked(&seen, e) => ChainEnd::Cycle,
        Some(_) => ChainEnd::Cut,
    }
}

/// Appends `err: source: source's source`, the way an error and its causes read best on
/// one line (every layout and both notification destinations use this form); a cyclic
/// or overlong chain ends with its mark ([`ChainEnd::mark`]).
///
/// A cause whose text the error before it already shows is not repeated: thiserror's
/// usual `#[error("database error: {0}")]` with `#[from]` reads `database error: sqlite
/// error: X`, not `database error: sqlite error: X: sqlite error: X`.
pub(crate) fn push_error_chain(buf: &mut String, err: &(dyn std::error::Error + 'static)) {
    let start = buf.len();
    // Where the previous error's own text is in `buf`.
    let mut previous: Option<(usize, usize)> = None;
    let mut cause = String::new();
    let end = walk_error_chain(err, |e| {
        let Some((a, b)) = previous else {
            let _ = write!(buf, "{e}");
            super::scrub::Lines::get().mask_urls(buf, start);
            previous = Some((start, buf.len()));
            return;
        };
        cause.clear();
        let _ = write!(cause, "{e}");
        super::scrub::Lines::get().mask_urls(&mut cause, 0);
        if !cause.is_empty() && buf[a..b].contains(cause.as_str()) {
            // Shown already: the next cause is compared with this one's text, which is
            // a part of what is shown.
            let at = a + buf[a..b].find(cause.as_str()).unwrap_or(0);
            previous = Some((at, at + cause.len()));
            return;
        }
        buf.push_str(": ");
        let a = buf.len();
        buf.push_str(&cause);
        previous = Some((a, buf.len()));
    });
    buf.push_str(end.mark());
}

/// Appends a name (a field name, a span name) on a Logbook line: exactly like a string
/// value, bare when it is a plain word and quoted with escapes otherwise.
///
/// Names are static (tracing's, and the interned keys of `log` records), so whether
/// one is a plain word is decided once and kept in a small per-thread cache keyed by
/// the name's address and length; a name that is not a plain word is rendered afresh.
#[inline]
pub(crate) fn push_name(buf: &mut String, name: &'static str) {
    type Slot = std::cell::Cell<(usize, usize)>;
    thread_local! {
        static BARE: [Slot; 64] = const { [const { Slot::new((0, 0)) }; 64] };
    }
    let key = (name.as_ptr() as usize, name.len());
    let known = BARE
        .try_with(|table| {
            let slot = &table[(key.0 >> 3 ^ key.1) & 63];
            if slot.get() == key {
                return true;
            }
            let bare = is_plain_ascii_word(name, classes(name));
            if bare {
                slot.set(key);
            }
            bare
        })
        .unwrap_or(false);
    if known {
        buf.push_str(name);
    } else {
        push_str_value(buf, name);
    }
}

/// Appends ` name="value"` for RFC 5424 structured data: the name reduced to the 32
/// printable ASCII characters the RFC allows, the value escaped as on Logbook lines and
/// then for `"`, `\` and `]`.
pub(crate) fn push_sd_param(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    let mut n = 0;
    for c in name.chars() {
        if n == 32 {
            break;
        }
        out.push(if c.is_ascii_graphic() && !matches!(c, '=' | ']' | '"') {
            c
        } else {
            '_'
        });
        n += 1;
    }
    if n == 0 {
        out.push('_');
    }
    out.push_str("=\"");
    let start = out.len();
    push_escaped(out, value, Mode::Inline);
    if out[start..].contains(['"', '\\', ']']) {
        let tail = out.split_off(start);
        for c in tail.chars() {
            if matches!(c, '"' | '\\' | ']') {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
}

/// The second a thread last printed (date, hour, minute, second; offset) and its text.
type CachedSecond = (Option<(time::Date, u8, u8, u8)>, i32, String);

/// Appends `YYYY-MM-DD HH:MM:SS.ffffff` (and `+HHMM` when `offset`).
///
/// The part up to the seconds is cached per thread: consecutive records within one
/// second only format their microseconds.
pub(crate) fn push_timestamp(buf: &mut String, t: OffsetDateTime, offset: bool) {
    thread_local! {
        static SECOND: RefCell<CachedSecond> = const { RefCell::new((None, 0, String::new())) };
    }
    let key = Some((t.date(), t.hour(), t.minute(), t.second()));
    let off = t.offset().whole_seconds();
    let year = t.year();
    if !(0..=9999).contains(&year) {
        let _ = write!(
            buf,
            "{year}-{:02}-{:02} {:02}:{:02}:{:02}",
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
    } else {
        let hit = SECOND
            .try_with(|c| {
                let Ok(mut c) = c.try_borrow_mut() else {
                    return false;
                };
                if c.0 != key || c.1 != off {
                    let s = &mut c.2;
                    s.clear();
                    push_digits(s, year as u32, 4);
                    s.push('-');
                    push_digits(s, u8::from(t.month()) as u32, 2);
                    s.push('-');
                    push_digits(s, t.day() as u32, 2);
                    s.push(' ');
                    push_digits(s, t.hour() as u32, 2);
                    s.push(':');
                    push_digits(s, t.minute() as u32, 2);
                    s.push(':');
                    push_digits(s, t.second() as u32, 2);
                    c.0 = key;
                    c.1 = off;
                }
                buf.push_str(&c.2);
                true
            })
            .unwrap_or(false);
        if !hit {
            let _ = write!(
                buf,
                "{year:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            );
        }
    }
    buf.push('.');
    push_micros(buf, t.microsecond());
    if offset {
        push_offset(buf, t.offset());
    }
}

/// Appends the six digits of `micros` (below 1,000,000).
#[inline]
pub(crate) fn push_micros(buf: &mut String, micros: u32) {
    buf.push_str(std::str::from_utf8(&six_digits(micros)).unwrap_or("000000"));
}

/// The six digits of `micros` (below 1,000,000; larger values keep their last six).
#[inline]
fn six_digits(micros: u32) -> [u8; 6] {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let v = micros % 1_000_000;
    let (a, b, c) = (v / 10_000, v / 100 % 100, v % 100);
    let pair = |n: u32| [PAIRS[2 * n as usize], PAIRS[2 * n as usize + 1]];
    let [a0, a1] = pair(a);
    let [b0, b1] = pair(b);
    let [c0, c1] = pair(c);
    [a0, a1, b0, b1, c0, c1]
}

/// Writes the six digits of `micros` over the six bytes of `buf` at `at` (the old
/// digits at the same place of a copied head).
#[inline]
pub(crate) fn put_micros(buf: &mut String, at: usize, micros: u32) {
    let digits = six_digits(micros);
    if buf.get(at..at + 6).is_some() {
        // SAFETY: `get` found `at..at + 6` on character boundaries, so whole characters
        // are replaced by six ASCII bytes: the text stays UTF-8.
        unsafe { buf.as_bytes_mut()[at..at + 6].copy_from_slice(&digits) }
    } else {
        debug_assert!(false, "no microseconds at {at} in {buf:?}");
    }
}

/// Appends an offset as Logbook prints aware times: `+0530`, `-0800`.
pub(crate) fn push_offset(buf: &mut String, off: time::UtcOffset) {
    buf.push(if off.is_negative() { '-' } else { '+' });
    push_digits(buf, off.whole_hours().unsigned_abs() as u32, 2);
    push_digits(buf, off.minutes_past_hour().unsigned_abs() as u32, 2);
}

/// Appends an RFC 3339 UTC timestamp with microseconds: `2026-11-23T19:28:08.123456Z`.
pub(crate) fn push_rfc3339(buf: &mut String, t: OffsetDateTime) {
    let t = t.to_offset(time::UtcOffset::UTC);
    let start = buf.len();
    push_timestamp(buf, t, false);
    // `YYYY-MM-DD HH:...`: the date/time separator becomes `T`.
    if let Some(pos) = buf[start..].find(' ') {
        buf.replace_range(start + pos..start + pos + 1, "T");
    }
    buf.push('Z');
}

/// Appends a decimal integer without going through `fmt` (itoa: two digits per step,
/// no UTF-8 check of its ASCII digits).
#[inline]
pub(crate) fn push_u64(buf: &mut String, v: u64) {
    buf.push_str(itoa::Buffer::new().format(v));
}

/// Appends a signed decimal integer without going through `fmt`.
#[inline]
pub(crate) fn push_i64(buf: &mut String, v: i64) {
    buf.push_str(itoa::Buffer::new().format(v));
}

/// Appends `v` zero-padded to `width` digits (at most 10).
#[inline]
fn push_digits(buf: &mut String, v: u32, width: usize) {
    // itoa writes the digits without a UTF-8 check; the padding is rare.
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(v);
    for _ in digits.len()..width {
        buf.push('0');
    }
    buf.push_str(digits);
}

pub(crate) fn push_json_f64(buf: &mut String, v: f64) {
    if v.is_finite() {
        // Debug keeps floats floats (`1.0`) and uses exponents for extremes (`1e300`).
        let _ = write!(buf, "{v:?}");
    } else {
        let _ = write!(buf, "\"{v}\"");
    }
}

/// Appends `s` as a JSON string literal (see the module docs for the extra escapes).
pub(crate) fn push_json_str(buf: &mut String, s: &str) {
    buf.push('"');
    let mut rest = s;
    while let Some(i) = rest.find(|c: char| needs_json_escape(c)) {
        buf.push_str(&rest[..i]);
        let c = rest[i..].chars().next().unwrap_or('\0');
        match c {
            '"' => buf.push_str("\\\""),
            '\\' => buf.push_str("\\\\"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            '\t' => buf.push_str("\\t"),
            c => {
                let _ = write!(buf, "\\u{:04x}", c as u32);
            }
        }
        rest = &rest[i + c.len_utf8()..];
    }
    buf.push_str(rest);
    buf.push('"');
}

#[inline]
fn needs_json_escape(c: char) -> bool {
    matches!(c,
        '"' | '\\' | '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn esc(s: &str, mode: Mode) -> String {
        let mut b = String::new();
        push_escaped(&mut b, s, mode);
        b
    }

    #[test]
    fn message_newlines_become_indented_continuations() {
        assert_eq!(
            esc("one\ntwo\r\nthree\n", Mode::Message),
            "one\n  two\n  three"
        );
        assert_eq!(esc("a\tb", Mode::Message), "a\tb");
        assert_eq!(esc("cr\ronly", Mode::Message), "cr\\ronly");
    }

    #[test]
    fn control_characters_never_pass() {
        let hostile = "nul\0 bell\x07 esc\x1b[31m del\x7f c1\u{9b} ls\u{2028} rlo\u{202e}";
        for mode in [Mode::Message, Mode::Inline, Mode::Quoted] {
            let out = esc(hostile, mode);
            assert!(
                !out.chars().any(is_dangerous),
                "{mode:?}: {out:?}",
                mode = mode as u8
            );
            assert!(out.contains("\\u{1b}[31m"), "{out}");
        }
    }

    #[test]
    fn string_values_quote_only_when_needed() {
        let v = |s| {
            let mut b = String::new();
            push_str_value(&mut b, s);
            b
        };
        assert_eq!(v("GET"), "GET");
        assert_eq!(v("/a/b?c"), "/a/b?c");
        assert_eq!(v("a b"), "\"a b\"");
        assert_eq!(v(""), "\"\"");
        assert_eq!(v("x=1"), "\"x=1\"");
        assert_eq!(v("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(v("ünï"), "ünï");
    }

    #[test]
    fn timestamps() {
        let cases = [
            (
                datetime!(2024-01-02 03:04:05 UTC),
                false,
                "2024-01-02 03:04:05.000000",
            ),
            (
                datetime!(2024-01-02 03:04:05.000007 UTC),
                false,
                "2024-01-02 03:04:05.000007",
            ),
            (
                datetime!(1999-12-31 23:59:59.999999999 UTC),
                false,
                "1999-12-31 23:59:59.999999",
            ),
            (
                datetime!(2024-03-01 18:04:56.789012 +05:30),
                true,
                "2024-03-01 18:04:56.789012+0530",
            ),
            (
                datetime!(2024-03-01 04:34:56.789012 -08:00),
                true,
                "2024-03-01 04:34:56.789012-0800",
            ),
            (
                datetime!(2024-03-01 12:34:56.789012 UTC),
                true,
                "2024-03-01 12:34:56.789012+0000",
            ),
            (
                datetime!(2024-03-01 12:00:00 -00:30),
                true,
                "2024-03-01 12:00:00.000000-0030",
            ),
        ];
        for (t, offset, want) in cases {
            let mut b = String::new();
            push_timestamp(&mut b, t, offset);
            assert_eq!(b, want);
        }
    }

    #[test]
    fn integers() {
        let mut b = String::new();
        for v in [0i64, 7, -7, 10, 8080, i64::MIN, i64::MAX] {
            b.clear();
            push_i64(&mut b, v);
            assert_eq!(b, v.to_string());
        }
        b.clear();
        push_u64(&mut b, u64::MAX);
        assert_eq!(b, u64::MAX.to_string());
    }

    #[test]
    fn cached_second_is_keyed_by_offset_too() {
        let mut a = String::new();
        push_timestamp(&mut a, datetime!(2024-03-01 12:00:00.5 UTC), false);
        push_timestamp(&mut a, datetime!(2024-03-01 13:00:00.5 +01:00), true);
        assert_eq!(
            a,
            "2024-03-01 12:00:00.5000002024-03-01 13:00:00.500000+0100"
        );
    }

    #[test]
    fn sd_params_follow_rfc5424() {
        let mut s = String::new();
        push_sd_param(&mut s, "a b=c]\"", "x\"y\\z]\n");
        assert_eq!(s, r#" a_b_c__="x\"y\\z\]\\n""#);
        let mut s = String::new();
        push_sd_param(&mut s, &"n".repeat(40), "");
        assert_eq!(s, format!(" {}=\"\"", "n".repeat(32)));
    }

    /// The fast path for numbers of at most three decimals prints exactly what
    /// `Display` prints, around every edge: signs, zeros, whole numbers, padding of the
    /// thousandths, the magnitude limit, and numbers that only look like it.
    #[test]
    fn floats_with_three_decimals_print_as_display_does() {
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.001,
            0.01,
            0.1,
            0.412,
            1.03,
            2.61,
            0.05,
            0.051,
            10.0,
            123.456,
            -7.5,
            999_999_999.999,
            1e9,
            1e9 + 0.5,
            1e12,
            0.0005,
            0.1 + 0.2,
            1e-7,
            f64::MIN_POSITIVE,
            f64::MAX,
            4503599627370497.0,
        ];
        // Deterministic pseudo-random thousandths, and values just off them.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = (x % 10_000_000_000) as f64 / 1000.0;
            values.extend([v, -v, v + 1e-9, f64::from_bits(v.to_bits() + 1)]);
        }
        for v in values {
            let mut b = String::new();
            push_f64(&mut b, v);
            assert_eq!(b, format!("{v}"), "{v:?}");
        }
    }

    #[test]
    fn floats_read_the_same_everywhere() {
        for (v, want) in [
            (1.5, "1.5"),
            (0.1, "0.1"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            let mut b = String::new();
            push_f64(&mut b, v);
            assert_eq!(b, want);
        }
    }

    #[test]
    fn names_are_escaped_like_values() {
        let n = |s| {
            let mut b = String::new();
            push_name(&mut b, s);
            b
        };
        assert_eq!(n("port"), "port");
        assert_eq!(n("user.id"), "user.id");
        assert_eq!(n("a b"), "\"a b\"");
        assert_eq!(n("x\n[2026] CRITICAL"), "\"x\\n[2026] CRITICAL\"");
        assert_eq!(n("k=v"), "\"k=v\"");
    }

    /// The per-thread cache of plain names is keyed by a name's address and length: a
    /// name that shares its start with a cached one, or a name that must be quoted, is
    /// rendered from its own text, as often as it is pushed.
    #[test]
    fn cached_names_are_only_ever_their_own() {
        const TEXT: &str = "user name";
        let n = |s: &'static str| {
            let mut b = String::new();
            push_name(&mut b, s);
            b
        };
        for _ in 0..3 {
            assert_eq!(n(&TEXT[..4]), "user");
            assert_eq!(n(TEXT), "\"user name\"");
            assert_eq!(n(&TEXT[..3]), "use");
            assert_eq!(n(""), "\"\"");
        }
    }

    /// Six digits, zero-padded, written in place over a copied head's old digits.
    #[test]
    fn microseconds_are_six_digits_in_place() {
        for (micros, want) in [
            (0, "000000"),
            (7, "000007"),
            (123_456, "123456"),
            (999_999, "999999"),
        ] {
            let mut b = String::from("[x.654321] ");
            put_micros(&mut b, 3, micros);
            assert_eq!(b, format!("[x.{want}] "));
            let mut b = String::new();
            push_micros(&mut b, micros);
            assert_eq!(b, want);
        }
    }

    /// A deterministic pseudo-random string generator (xorshift), biased towards the
    /// characters that need escaping.
    fn hostile_strings(n: usize) -> Vec<String> {
        let alphabet: Vec<char> = "\"\\\n\r\t\0\u{1}\u{1b}\u{7f}\u{85}\u{9f}\u{2028}\u{2029}\u{202e}\u{2066}a Zé日🎉{}[]:,/"
            .chars()
            .collect();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (0..n)
            .map(|_| {
                let len = (next() % 40) as usize;
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn strings_round_trip_through_a_json_parser() {
        for s in hostile_strings(5000) {
            let mut b = String::new();
            push_json_str(&mut b, &s);
            assert!(!b.chars().any(|c| c.is_control()), "{b:?}");
            let back: String = serde_json::from_str(&b).unwrap_or_else(|e| panic!("{b:?}: {e}"));
            assert_eq!(back, s);
        }
    }

    #[test]
    fn floats_stay_valid_json() {
        for (v, want) in [
            (1.0, "1.0"),
            (1.5, "1.5"),
            (1e300, "1e300"),
            (f64::NAN, "\"NaN\""),
            (f64::INFINITY, "\"inf\""),
        ] {
            let mut b = String::new();
            push_json_f64(&mut b, v);
            assert_eq!(b, want);
            serde_json::from_str::<serde_json::Value>(&b).unwrap();
        }
    }
}
