//! The members of a JSON object held as raw text, found by a byte scan.
//!
//! Text held as [`crate::RawJson`] is JSON already read once (it was checked when it
//! was made), and so is any value within it, so finding where each top-level member
//! starts and ends needs no second full parse:
//! strings are skipped to their closing quote, objects and arrays to their matching
//! bracket. Looking up a few members of a result this way costs a fraction of
//! deserializing it with the rest ignored.

use std::borrow::Cow;

/// The top-level members of `json`, in order, each as its name (unescaped) and its
/// value's text; nothing when `json` is not an object. A name given twice is yielded
/// twice, so a reader that keeps the last one sees what a JSON tree would hold.
///
/// `json` must be JSON already checked (a [`crate::RawJson`]'s text, or a value
/// within one): for other text the members found are unspecified, but the scan
/// ends and never panics.
///
/// ```
/// use tenet_jsonrpc::{RawJson, members};
///
/// let json = RawJson::from_string(r#"{"a": [1, "]"], "b\u0021" : {"c":2}}"#.to_owned()).unwrap();
/// let found: Vec<_> = members(json.get()).map(|m| (m.name.into_owned(), m.value)).collect();
/// assert_eq!(found, [("a".to_owned(), r#"[1, "]"]"#), ("b!".to_owned(), r#"{"c":2}"#)]);
/// ```
pub fn members(json: &str) -> Members<'_> {
    let start = skip_space(json.as_bytes(), 0);
    let at = (json.as_bytes().get(start) == Some(&b'{')).then_some(start + 1);
    Members { text: json, at, closed: None }
}

/// Whether `json` is an array of objects for each of which `each`, given its members
/// (as [`members`] finds them), says `true`: walked once, no object scanned ahead for
/// where it ends, and no further than the first object `each` turns down. As for
/// [`members`], `json` must be JSON already checked: for other text the answer is
/// unspecified, but the walk ends and never panics.
///
/// ```
/// use tenet_jsonrpc::every_object;
///
/// let named = |found: &mut tenet_jsonrpc::Members<'_>| found.any(|m| m.name == "name");
/// assert!(every_object(r#"[{"name":"a"}, {"x":[{}],"name":"b"}]"#, named));
/// assert!(!every_object(r#"[{"name":"a"}, {"x":1}]"#, named));
/// assert!(!every_object(r#"[{"name":"a"}, 1]"#, named));
/// assert!(every_object("[]", named));
/// ```
pub fn every_object(json: &str, mut each: impl FnMut(&mut Members<'_>) -> bool) -> bool {
    let bytes = json.as_bytes();
    let at = skip_space(bytes, 0);
    if bytes.get(at) != Some(&b'[') {
        return false;
    }
    let mut at = skip_space(bytes, at + 1);
    if bytes.get(at) == Some(&b']') {
        return true;
    }
    loop {
        if bytes.get(at) != Some(&b'{') {
            return false;
        }
        let mut found = Members { text: json, at: Some(at + 1), closed: None };
        if !each(&mut found) {
            return false;
        }
        found.by_ref().for_each(drop);
        // Where its members ended: its closing brace, in checked JSON.
        let Some(close) = found.closed.filter(|&close| bytes.get(close) == Some(&b'}')) else {
            return false;
        };
        at = skip_space(bytes, close + 1);
        match bytes.get(at) {
            Some(b',') => at = skip_space(bytes, at + 1),
            Some(b']') => return true,
            _ => return false,
        }
    }
}

/// One member of an object: see [`members`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member<'a> {
    /// Its name, unescaped: borrowed (the text between the quotes) exactly when the name
    /// holds no escape.
    pub name: Cow<'a, str>,
    /// Its name as written, quotes included.
    pub quoted: &'a str,
    /// Its value's JSON text, as written.
    pub value: &'a str,
    /// Where the member (its quoted name through its value) starts and ends in the
    /// object's text, to copy the object without it.
    pub span: std::ops::Range<usize>,
}

impl Member<'_> {
    /// Where its value lies in the object's text.
    pub fn value_span(&self) -> std::ops::Range<usize> {
        self.span.end - self.value.len()..self.span.end
    }
}

/// The iterator [`members`] returns.
#[derive(Debug, Clone)]
pub struct Members<'a> {
    text: &'a str,
    /// Where the next member (or the object's end) is looked for; `None` once done.
    at: Option<usize>,
    /// Where the last look found no member (the object's end), once it has.
    closed: Option<usize>,
}

impl<'a> Iterator for Members<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        self.step(|_| false, |_| {})
    }
}

impl<'a> Members<'a> {
    /// The next member, as [`Iterator::next`] finds it; but when it is named `name`
    /// and its value is an object, `read` is first given that object's members to walk
    /// (what it leaves is skipped), and the object's end is where that walk found it:
    /// the object is scanned once, not once to find its end and again for its members.
    /// `read` walks the members it is given (and may stop early); put another walk in
    /// their place and the member returned ends where that one did, not the object.
    ///
    /// ```
    /// use tenet_jsonrpc::members;
    ///
    /// let (mut outer, mut inner) = (members(r#"{"a":1,"m":{"x":[2],"y":3},"b":4}"#), Vec::new());
    /// let mut names = Vec::new();
    /// while let Some(m) = outer.next_entering("m", |found| inner.extend(found.map(|m| m.value))) {
    ///     names.push((m.name.into_owned(), m.value));
    /// }
    /// assert_eq!(inner, ["[2]", "3"]);
    /// assert_eq!(names, [("a".into(), "1"), ("m".into(), r#"{"x":[2],"y":3}"#), ("b".into(), "4")]);
    /// ```
    pub fn next_entering(&mut self, name: &str, read: impl FnOnce(&mut Members<'a>)) -> Option<Member<'a>> {
        self.step(|found| found == name, read)
    }

    /// The next member; its value's object walked by `read` when `enter` says so of its name.
    #[inline]
    fn step(&mut self, enter: impl FnOnce(&str) -> bool, read: impl FnOnce(&mut Members<'a>)) -> Option<Member<'a>> {
        let bytes = self.text.as_bytes();
        let mut at = skip_space(bytes, self.at?);
        if bytes.get(at) == Some(&b',') {
            at = skip_space(bytes, at + 1);
        }
        if bytes.get(at) != Some(&b'"') {
            self.at = None;
            self.closed = Some(at);
            return None;
        }
        let (name_end, escaped) = escaped_string_end(bytes, at);
        let colon = skip_space(bytes, name_end);
        let value_start = skip_space(bytes, colon + 1);
        let Some(quoted) = self.text.get(at..name_end) else {
            self.at = None;
            return None;
        };
        let name = unquote_known(quoted, escaped);
        let value_end = if bytes.get(value_start) == Some(&b'{') && enter(&name) {
            let mut inner = Members { text: self.text, at: Some(value_start + 1), closed: None };
            read(&mut inner);
            inner.by_ref().for_each(drop);
            // Where its members ended: its closing brace, in checked JSON.
            match inner.closed.filter(|&close| bytes.get(close) == Some(&b'}')) {
                Some(close) => close + 1,
                None => bytes.len(),
            }
        } else {
            value_end(bytes, value_start)
        };
        let Some(value) = self.text.get(value_start..value_end) else {
            self.at = None;
            return None;
        };
        self.at = Some(value_end);
        Some(Member { name, quoted, value, span: at..value_end })
    }
}

/// A quoted name without its quotes, unescaped when it holds an escape. An escape
/// that is not text (a lone UTF-16 surrogate, `"\ud800"`, which a [`crate::RawJson`]
/// lets through) makes an empty name: no name anyone looks for.
fn unquote(quoted: &str) -> Cow<'_, str> {
    unquote_known(quoted, holds_escape(quoted))
}

/// Whether a quoted name holds an escape, and so must be read to be compared.
pub(crate) fn holds_escape(quoted: &str) -> bool {
    quoted.as_bytes().contains(&b'\\')
}

/// [`unquote`], told already whether the name holds an escape.
pub(crate) fn unquote_known(quoted: &str, escaped: bool) -> Cow<'_, str> {
    if escaped {
        Cow::Owned(serde_json::from_str(quoted).unwrap_or_default())
    } else {
        Cow::Borrowed(between_quotes(quoted))
    }
}

/// A quoted name's text between its quotes, as written.
fn between_quotes(quoted: &str) -> &str {
    quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default()
}

/// The text of a JSON string value unescaped, or `None` for any other value.
///
/// ```
/// assert_eq!(tenet_jsonrpc::string_value(r#""a\nb""#).as_deref(), Some("a\nb"));
/// assert_eq!(tenet_jsonrpc::string_value("3"), None);
/// ```
pub fn string_value(value: &str) -> Option<Cow<'_, str>> {
    (value.len() >= 2 && value.starts_with('"') && value.ends_with('"')).then(|| unquote(value))
}

/// Whether common readers of `json` (JSON already checked) take from it the values a
/// `serde_json` tree of it holds, so that the text may be passed on in place of the tree
/// written again. It is not when:
/// - an object names a member twice, where names are compared as some readers do: with
///   escapes read, and without regard to case (Go's `encoding/json` matches names
///   through Unicode's case folding, `K` and `ſ` included, and keeps the last match;
///   the tree keeps the last of equal names only); or a name holds a NUL character
///   (readers of C strings cut it there);
/// - a number is written with an exponent or with more than 15 characters: the tree
///   holds fractions and integers past 64 bits as 64-bit floats, exact to 15 digits,
///   and `1e-400` as 0, where a reader of exact numbers sees more;
/// - arrays and objects nest deeper than [`crate::MAX_DEPTH`].
///
/// Writing the tree again settles names given twice and long numbers. It does not
/// settle names that differ only in case or hold a NUL: the tree keeps both, in the
/// order of their bytes. A tool that passes arguments on refuses those
/// (`tenet_server::ToolDef::strict_names`).
///
/// Text that is not JSON gives an unspecified answer, never a panic.
///
/// ```
/// use tenet_jsonrpc::unambiguous;
///
/// assert!(unambiguous(r#"{"a":[{"b":1},{"b":2.5}],"c":"a"}"#));
/// assert!(!unambiguous(r#"{"a":{"b":1,"\u0062":2}}"#));
/// assert!(!unambiguous(r#"{"value":"ok","Value":"not checked"}"#));
/// assert!(!unambiguous(r#"{"n":12345678901234567890}"#));
/// assert!(!unambiguous(r#"{"x":1e-400}"#));
/// ```
pub fn unambiguous(json: &str) -> bool {
    unambiguous_below(json, 0)
}

/// [`unambiguous`] for a value that stands `above` arrays and objects deep (a member of
/// a message's result stands two deep: the message and the result): its own nesting
/// counts on from there toward [`crate::MAX_DEPTH`].
///
/// ```
/// let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
/// assert!(tenet_jsonrpc::unambiguous_below(&nested(126), 2));
/// assert!(!tenet_jsonrpc::unambiguous_below(&nested(127), 2));
/// assert!(tenet_jsonrpc::unambiguous(&nested(128)));
/// ```
pub fn unambiguous_below(json: &str, above: usize) -> bool {
    let bytes = json.as_bytes();
    checked_value(json, skip_space(bytes, 0), above).is_some()
}

/// How many names an object holds before they are looked up in a set rather than a list.
const FEW_NAMES: usize = 16;

/// Just past the unambiguous value at `at`, `depth` arrays and objects deep (see
/// [`unambiguous`]), or `None`.
fn checked_value(json: &str, at: usize, depth: usize) -> Option<usize> {
    let bytes = json.as_bytes();
    let inner = depth + 1;
    match bytes.get(at)? {
        b'"' => Some(string_end(bytes, at)),
        b'[' | b'{' if inner > crate::MAX_DEPTH => None,
        b'[' => {
            let mut i = skip_space(bytes, at + 1);
            if bytes.get(i) == Some(&b']') {
                return Some(i + 1);
            }
            loop {
                i = skip_space(bytes, checked_value(json, i, inner)?);
                match bytes.get(i)? {
                    b',' => i = skip_space(bytes, i + 1),
                    b']' => return Some(i + 1),
                    _ => return None,
                }
            }
        }
        b'{' => {
            // Names as written while there are few, in ASCII without escapes (compared
            // without regard to case); past that, read and folded, in a set.
            let mut few: [&str; FEW_NAMES] = [""; FEW_NAMES];
            let mut count = 0;
            let mut many: Option<std::collections::HashSet<String>> = None;
            let mut i = skip_space(bytes, at + 1);
            if bytes.get(i) == Some(&b'}') {
                return Some(i + 1);
            }
            loop {
                if bytes.get(i) != Some(&b'"') {
                    return None;
                }
                let (name_end, escaped) = escaped_string_end(bytes, i);
                let quoted = json.get(i..name_end)?;
                let plain = !escaped && quoted.is_ascii();
                let seen = match &mut many {
                    None if count < FEW_NAMES && plain => {
                        let seen = few[..count].iter().any(|name| name.eq_ignore_ascii_case(quoted));
                        few[count] = quoted;
                        count += 1;
                        seen
                    }
                    _ => {
                        let set = many.get_or_insert_with(|| few[..count].iter().map(|name| folded(name)).collect());
                        let name = folded(quoted);
                        name.contains('\0') || !set.insert(name)
                    }
                };
                if seen {
                    return None;
                }
                let colon = skip_space(bytes, name_end);
                if bytes.get(colon) != Some(&b':') {
                    return None;
                }
                i = skip_space(bytes, checked_value(json, skip_space(bytes, colon + 1), inner)?);
                match bytes.get(i)? {
                    b',' => i = skip_space(bytes, i + 1),
                    b'}' => return Some(i + 1),
                    _ => return None,
                }
            }
        }
        // `true`, `false` or `null`.
        b't' | b'f' | b'n' => Some(value_end(bytes, at)),
        // A number.
        _ => {
            let end = value_end(bytes, at);
            let number = bytes.get(at..end)?;
            let plain = !number.is_empty() && number.len() <= 15 && !number.iter().any(|b| matches!(b, b'e' | b'E'));
            plain.then_some(end)
        }
    }
}

/// A quoted name read and folded ([`fold_case`]).
fn folded(quoted: &str) -> String {
    fold_case(&unquote(quoted))
}

/// `name` as readers that ignore case compare names (Go's `encoding/json` matches
/// member names to fields so): each character lower-cased, upper-cased, then
/// lower-cased again. That joins every set of letters Unicode's simple case folding
/// makes equal (`ſ`, `s` and `S`; `ς`, `σ` and `Σ`; `K`, `k` and `K`; `ẞ` and `ß`) and a
/// few more (`ß` and `ss`), so names this finds different no such reader takes for one
/// another. ASCII is lower-cased.
///
/// ```
/// use tenet_jsonrpc::fold_case;
///
/// assert_eq!(fold_case("UserID"), "userid");
/// assert_eq!(fold_case("\u{17f}ize"), fold_case("SIZE"));
/// assert_eq!(fold_case("\u{3c2}"), fold_case("\u{3a3}"));
/// assert_eq!(fold_case("stra\u{1e9e}e"), fold_case("stra\u{df}e"));
/// ```
pub fn fold_case(name: &str) -> String {
    name.chars().flat_map(char::to_lowercase).flat_map(char::to_uppercase).flat_map(char::to_lowercase).collect()
}

/// Whether `b` is whitespace to JSON (RFC 8259: space, tab, line feed, carriage return).
fn is_space(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Where the first byte at or after `at` that is not whitespace is.
pub(crate) fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(is_space) {
        at += 1;
    }
    at
}

/// Where the first quote, backslash or control character at or after `at` is. Eight
/// bytes are looked at a time while there are eight.
#[inline]
pub(crate) fn special_at(bytes: &[u8], mut at: usize) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    // The high bit of each byte of `x` below `n` (below 0x80) is set, and of no byte
    // before the first such one: a borrow only carries past a byte below `n`.
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let x = u64::from_le_bytes(chunk.try_into().ok()?);
        let found = below(x, 0x20) | below(x ^ (ONES * u64::from(b'"')), 1) | below(x ^ (ONES * u64::from(b'\\')), 1);
        if found != 0 {
            // Bytes are read little-endian: the first in the lowest bits.
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let found = bytes.get(at..)?.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    Some(at + found)
}

/// Just past the string that opens at `at` (its closing quote), or the end of `bytes`.
fn string_end(bytes: &[u8], at: usize) -> usize {
    escaped_string_end(bytes, at).0
}

/// [`string_end`], and whether the string holds an escape: found by the same look, so
/// that a name without one is compared as written with no second look for a backslash.
fn escaped_string_end(bytes: &[u8], at: usize) -> (usize, bool) {
    let (mut i, mut escaped) = (at + 1, false);
    // Eight bytes at a time: most strings are too short for a vector search to pay for
    // its start. A control character stops the look too (a checked string holds none).
    while let Some(found) = special_at(bytes, i) {
        match bytes[found] {
            b'"' => return (found + 1, escaped),
            b'\\' => (i, escaped) = (found + 2, true),
            _ => i = found + 1,
        }
    }
    (bytes.len(), escaped)
}

/// The bytes that matter while skipping an object or array: brackets and quotes.
const STRUCTURAL: [bool; 256] = {
    let mut table = [false; 256];
    table[b'"' as usize] = true;
    table[b'{' as usize] = true;
    table[b'[' as usize] = true;
    table[b'}' as usize] = true;
    table[b']' as usize] = true;
    table
};

/// Just past the value that starts at `at`, or the end of `bytes`.
fn value_end(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        Some(b'"') => string_end(bytes, at),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = at;
            while let Some(found) =
                bytes.get(i..).and_then(|rest| rest.iter().position(|&b| STRUCTURAL[usize::from(b)]))
            {
                i += found;
                match bytes[i] {
                    b'"' => {
                        i = string_end(bytes, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    _ => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                }
                i += 1;
            }
            bytes.len()
        }
        // A number, `true`, `false` or `null`: up to what ends it.
        _ => {
            let rest = bytes.get(at..).unwrap_or_default();
            at + rest.iter().position(|b| matches!(b, b',' | b'}' | b']') || is_space(b)).unwrap_or(rest.len())
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value};

    use super::*;
    use crate::RawJson;

    fn raw(text: &str) -> Box<RawJson> {
        RawJson::from_string(text.to_owned()).expect("JSON")
    }

    /// What a JSON tree of the same text holds, member by member.
    fn as_tree(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).expect("an object")
    }

    fn found(text: &str) -> Map<String, Value> {
        let json = raw(text);
        members(json.get())
            .map(|m| {
                assert_eq!(&json.get()[m.span.clone()][m.span.len() - m.value.len()..], m.value);
                (m.name.into_owned(), serde_json::from_str(m.value).expect("a value"))
            })
            .collect()
    }

    #[test]
    fn finds_what_a_tree_holds() {
        for text in [
            r#"{}"#,
            r#" { } "#,
            r#"{"a":1}"#,
            r#"{"a":-1.5e3,"b":true,"c":false,"d":null}"#,
            "{ \"a\" :\n[ 1 , {\"}\":\"]\"} ] ,\t\"b\" : \"x\\\"}\" }",
            r#"{"content":[{"type":"text","text":"he said \"{[\\"}],"isError":true,"_meta":{"k":[[],{}]}}"#,
            r#"{"\u0041\n":{"a":{"b":{"c":[1,[2,[3]]]}}},"e":"\\"}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"ü":"ö","k":"☃"}"#,
        ] {
            assert_eq!(found(text), as_tree(text), "{text}");
        }
        let json = raw(r#"{"a":1,"a":2}"#);
        assert_eq!(members(json.get()).count(), 2, "both are yielded; the last wins when collected");
    }

    #[test]
    fn strings_of_any_length_with_escapes_anywhere_end_where_they_do() {
        for len in 0..48 {
            for at in 0..=len {
                for escape in [r#"\""#, r"\\", r"\u0041", r"\n"] {
                    let plain = "x".repeat(len);
                    let string = format!("{}{escape}{}", &plain[..at], &plain[at..]);
                    let text = format!(r#"{{"{string}":"{string}","k{string}":["{string}",{{"{string}":1}}],"z":2}}"#);
                    assert_eq!(found(&text), as_tree(&text), "{text}");
                    let names: Vec<bool> = members(&text).map(|m| matches!(m.name, Cow::Owned(_))).collect();
                    assert_eq!(names, [true, true, false], "{text}");
                }
                let text = format!(r#"{{"{0}":"{0}","z":2}}"#, "y".repeat(len));
                assert_eq!(found(&text), as_tree(&text), "{text}");
            }
        }
    }

    #[test]
    fn spans_cut_a_member_out_cleanly() {
        let text = r#"{"a":1, "cut" : {"x":"}"} ,"b":[2]}"#;
        let json = raw(text);
        let cut = members(json.get()).find(|m| m.name == "cut").expect("found");
        assert_eq!(&text[cut.span], r#""cut" : {"x":"}"}"#);
    }

    #[test]
    fn every_object_is_walked_once_and_seen_as_members_sees_it() {
        let text = r#" [ {"a":1, "b":{"c":"}"}} ,{ } ,{"d":[{"e":"]"}]}] "#;
        let mut seen = Vec::new();
        let all = every_object(text, |found| {
            seen.push(found.map(|m| (m.name.into_owned(), m.value.to_owned())).collect::<Vec<_>>());
            true
        });
        assert!(all);
        let tree: Vec<Map<String, Value>> = serde_json::from_str(text).expect("JSON");
        let seen: Vec<Map<String, Value>> = seen
            .into_iter()
            .map(|members| members.into_iter().map(|(n, v)| (n, serde_json::from_str(&v).expect("a value"))).collect())
            .collect();
        assert_eq!(seen, tree);
        // An object left part read is walked past all the same.
        assert!(every_object(r#"[{"a":1,"b":2},{"a":3}]"#, |found| found.next().is_some()));
        // The walk stops at the first object turned down.
        let mut count = 0;
        assert!(!every_object(r#"[{},{},{}]"#, |_| {
            count += 1;
            count < 2
        }));
        assert_eq!(count, 2);
        for not_all_objects in ["{}", "[1]", r#"[{},"x"]"#, "[[]]", r#""[{}]""#, ""] {
            assert!(!every_object(not_all_objects, |_| true), "{not_all_objects}");
        }
        for not_json in ["[", "[{", "[{}", "[{},", r#"[{"a"}]"#, "[{}}]", "[{},,{}]", "[{] "] {
            // Ends without a panic, whatever it says.
            let _ = every_object(not_json, |found| found.count() < 9);
        }
    }

    #[test]
    fn entering_a_member_finds_what_walking_past_it_finds() {
        let texts = [
            r#"{"a":1, "m" : {"x":"}","y":{"z":[{}]}} ,"b":[2],"m":3,"e":{}}"#,
            r#"{"\u006d":{"k":"\"}"},"m":null,"m":"{"}"#,
            r#"{"m":{ } , "n":{"m":{"q":1}}}"#,
        ];
        for text in texts {
            let json = raw(text);
            for name in ["a", "m", "e", "n", "absent"] {
                let (mut walk, mut inner) = (members(json.get()), Vec::new());
                let mut entered = Vec::new();
                while let Some(member) = walk.next_entering(name, |found| {
                    inner.push(found.map(|m| (m.name.into_owned(), m.value.to_owned())).collect::<Vec<_>>());
                }) {
                    entered.push(member);
                }
                assert_eq!(entered, members(json.get()).collect::<Vec<_>>(), "{text} entering {name}");
                // Each object named so was given to `read`, member by member, as a walk of it finds them.
                let expected: Vec<Vec<_>> = members(json.get())
                    .filter(|m| m.name == name && m.value.starts_with('{'))
                    .map(|m| members(m.value).map(|m| (m.name.into_owned(), m.value.to_owned())).collect())
                    .collect();
                assert_eq!(inner, expected, "{text} entering {name}");
            }
        }
        // A walk `read` leaves part done is finished all the same.
        let json = raw(r#"{"m":{"a":1,"b":{"c":2}},"z":3}"#);
        let mut walk = members(json.get());
        walk.next_entering("m", |found| drop(found.next()));
        assert_eq!(walk.next().map(|m| m.value), Some("3"));
        for not_json in ["{\"m\":{", "{\"m\":{\"a\"", "{\"m\":{\"a\":1,", "{\"m\":{]}"] {
            let mut walk = members(not_json);
            while walk.next_entering("m", |found| found.for_each(drop)).is_some() {}
        }
    }

    #[test]
    fn anything_but_an_object_has_none() {
        for text in ["[1,2]", "\"{\\\"a\\\":1}\"", "3", "null", " [ {\"a\":1} ]"] {
            assert_eq!(members(raw(text).get()).count(), 0, "{text}");
        }
    }

    #[test]
    fn text_that_is_not_json_ends_the_scan_without_a_panic() {
        for text in ["{", "{\"a", "{\"a\":", "{\"a\":[", "{\"a\":\"\\", "{\"a\":1,", "{\"a\" 1}", "{1:2}", "{\"a\":}}"]
        {
            let _ = members(text).count();
        }
    }

    #[test]
    fn a_name_that_is_not_text_is_no_name_looked_for() {
        let json = raw(r#"{"\ud800":1,"k":2}"#);
        let names: Vec<_> = members(json.get()).map(|m| m.name.into_owned()).collect();
        assert_eq!(names, ["", "k"]);
    }

    #[test]
    fn text_is_unambiguous_without_repeated_names_or_long_numbers() {
        let many: String = (0..40).map(|i| format!("\"k{i}\":{i},")).collect();
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        for text in [
            "{}",
            " { } ",
            "[]",
            r#"{"a":[1,{"a":2},[{"a":3,"b":[]}]],"b":"a","c":{"a":{"a":null}}}"#,
            r#"{"a":"{\"a\":1,\"a\":2}","s":"ü☃","n":-12.5,"t":true,"f":false}"#,
            r#"{"n":123456789012345,"x":0.1234567890123}"#,
            "{ \"a\" :\n[ 1 , 2 ] ,\t\"b\" : { } }",
            r#"{"é":1,"ü":2,"i":3}"#,
            &format!("{{{many}\"last\":0}}"),
            &deep(crate::MAX_DEPTH),
        ] {
            assert!(unambiguous(raw(text).get()), "{text}");
        }
        for text in [
            r#"{"a":1,"a":2}"#,
            r#"{"a":1,"\u0061":2}"#,
            r#"{"value":1,"Value":2}"#,
            r#"{"é":1,"É":2}"#,
            r#"{"σ":1,"ς":2}"#,
            r#"{"µ":1,"μ":2}"#,
            r#"{"kind":1,"\u212aind":2}"#,
            r#"{"ask":1,"a\u017fk":2}"#,
            r#"{"stra\u00dfe":1,"stra\u1e9ee":2}"#,
            r#"{"a\u0000":1}"#,
            r#"{"x":[{"b":{"c":1,"d":2,"C":3}}]}"#,
            r#"[{"a":1},{"b":2,"b":2}]"#,
            r#"{"n":1234567890123456}"#,
            r#"{"n":[0.12345678901234567]}"#,
            r#"{"n":1e-400}"#,
            r#"{"n":2E3}"#,
            &format!("{{{many}\"K3\":0}}"),
            &format!("{{{many}\"last\":0,\"last\":1}}"),
            &deep(crate::MAX_DEPTH + 1),
        ] {
            assert!(!unambiguous(raw(text).get()), "{text}");
        }
    }

    #[test]
    fn unambiguous_ends_without_a_panic_on_text_that_is_not_json() {
        for text in
            ["", "{", "[", "{\"a\"", "{\"a\":", "{\"a\":1", "[1,", "{\"a\" 1}", "{1:2}", "[1 2]", "\"", "{\"a\":1,}"]
        {
            let _ = unambiguous(text);
        }
    }

    #[test]
    fn string_values_are_read_and_others_are_not() {
        assert_eq!(string_value("\"complete\"").as_deref(), Some("complete"));
        assert_eq!(string_value(r#""\u0074ask""#).as_deref(), Some("task"));
        for other in ["true", "{}", "[\"a\"]", "null", "\""] {
            assert_eq!(string_value(other), None, "{other}");
        }
    }
}
