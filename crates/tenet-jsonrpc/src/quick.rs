//! The response nearly every server writes, read without serde:
//! `{"jsonrpc":"2.0","id":7,"result":{…}}`, its three members in any order, the id a
//! non-negative integer of at most 18 digits or a string without escapes.
//!
//! A client reads one such line for every request it makes
//! ([`crate::parse_from_server`]). Read through serde, the message's member names are
//! decoded and every value in the result is walked by a general reader; here the bytes
//! are checked against JSON's grammar in one walk, and where each of the result's
//! members lies is noted on the way. Anything else (a request, an error, another member,
//! an escape in a member name of the message, an id of 19 digits or more, a syntax
//! error) is left to the full reader, which reads whatever this one reads in the same
//! way: the same id, the same result text, its members in the same places (tests below;
//! the `jsonrpc` fuzz target compares the two on every input).

use crate::members::{skip_space, special_at};
use crate::object::Place;
use crate::{Id, MAX_DEPTH, Message, Outcome, RawJson, RawObject, Request, Response};

// The open arrays and objects inside a result are told apart by the bits of a `u128`:
// as many as a message may hold, less the message and the result.
const _: () = assert!(MAX_DEPTH - 2 <= 128);

/// `text` read as a response with a result object, when it is one in the shape this
/// reader knows; `None` leaves it to the full reader.
pub(crate) fn response(text: &str) -> Option<Message> {
    let bytes = text.as_bytes();
    let mut result = None;
    let id = envelope(text, |name, at| match name {
        Name::Result if result.is_none() => {
            let (places, end) = object_at(bytes, at)?;
            result = Some((text.get(at..end)?, places));
            Some(end)
        }
        _ => None,
    })?;
    let (json, places) = result?;
    Some(Message::Response(Response { id: Some(id), outcome: Outcome::Result(RawObject::placed(json, places)) }))
}

/// `text` read as a request whose params, if any, are an object, when it is one in the
/// shape nearly every client writes (`{"jsonrpc":"2.0","id":7,"method":"tools/call",
/// "params":{…}}`, its members in any order, the id as [`response`] takes one, the method
/// without escapes); `None` leaves it to the full reader. The params are read by serde,
/// once, as the full reader reads them: what is saved is the rest of the envelope.
pub(crate) fn request(text: &str) -> Option<Message> {
    let bytes = text.as_bytes();
    // Far from any limit on nesting, which serde, reading the params alone, would count
    // from them and not from the message: a message that comes near is the full reader's.
    if crate::parse::opening_brackets(bytes) > MAX_DEPTH / 2 {
        return None;
    }
    let (mut method, mut params) = (None, None);
    let id = envelope(text, |name, at| match name {
        Name::Method if method.is_none() => {
            let (end, false) = string_end(bytes, at)? else { return None };
            method = Some(text.get(at + 1..end - 1)?);
            Some(end)
        }
        Name::Params if params.is_none() && bytes.get(at) == Some(&b'{') => {
            let (raw, end) = params_at(text, at)?;
            params = Some(raw);
            Some(end)
        }
        _ => None,
    })?;
    Some(Message::Request(Request { id, method: method?.to_owned(), params: params.map(RawJson::to_owned) }))
}

/// Walks the message object that is all of `text`: `"jsonrpc":"2.0"` and the id are
/// read here, each once; every other member this reader knows goes to `member`, with
/// where its value starts, which reads it and says where it ends (`None`: not a member
/// it takes, or not once). The id, when the message has both and nothing follows it;
/// `None` leaves the message to the full reader.
fn envelope(text: &str, mut member: impl FnMut(Name, usize) -> Option<usize>) -> Option<Id> {
    let bytes = text.as_bytes();
    let mut at = skip_space(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at += 1;
    let (mut version, mut id) = (false, None);
    loop {
        let (name, name_end) = envelope_name(bytes, skip_space(bytes, at))?;
        let value_at = colon(bytes, name_end)?;
        at = match name {
            Name::Version if !version => {
                version = true;
                literal_end(bytes, value_at, br#""2.0""#)?
            }
            Name::Id if id.is_none() => {
                let (read, end) = id_at(text, value_at)?;
                id = Some(read);
                end
            }
            Name::Version | Name::Id => return None,
            other => member(other, value_at)?,
        };
        at = skip_space(bytes, at);
        match bytes.get(at)? {
            b',' => at += 1,
            b'}' => break,
            _ => return None,
        }
    }
    (version && skip_space(bytes, at + 1) == bytes.len()).then_some(id).flatten()
}

/// The params object at `at` in `text`, read by serde as the full reader reads it
/// (checked, nesting counted from the message), and just past it.
fn params_at(text: &str, at: usize) -> Option<(&RawJson, usize)> {
    let rest = text.get(at..)?;
    let mut reader = serde_json::Deserializer::from_str(rest);
    let raw = <&RawJson as serde::Deserialize>::deserialize(&mut reader).ok()?;
    // The value borrowed from `rest` is its exact text: it ends where that text does.
    let start = (raw.get().as_ptr() as usize).checked_sub(rest.as_ptr() as usize)?;
    Some((raw, at + start + raw.get().len()))
}

/// A member of the message this reader knows.
enum Name {
    Version,
    Id,
    Result,
    Method,
    Params,
}

/// The member whose quoted name is at `at`, and just past the name: `None` for any
/// other name, or one with an escape.
fn envelope_name(bytes: &[u8], at: usize) -> Option<(Name, usize)> {
    let rest = bytes.get(at..)?;
    [
        (Name::Version, &br#""jsonrpc""#[..]),
        (Name::Id, br#""id""#),
        (Name::Result, br#""result""#),
        (Name::Method, br#""method""#),
        (Name::Params, br#""params""#),
    ]
    .into_iter()
    .find(|(_, quoted)| rest.starts_with(quoted))
    .map(|(name, quoted)| (name, at + quoted.len()))
}

/// Where the value after the member name that ends at `at` starts: past the colon and
/// the whitespace around it.
fn colon(bytes: &[u8], at: usize) -> Option<usize> {
    let at = skip_space(bytes, at);
    (bytes.get(at) == Some(&b':')).then(|| skip_space(bytes, at + 1))
}

/// The id at `at` in `text` and just past it: a non-negative integer of at most 18
/// digits (it fits an `i64`), or a string without escapes.
fn id_at(text: &str, at: usize) -> Option<(Id, usize)> {
    let bytes = text.as_bytes();
    match bytes.get(at)? {
        b'"' => {
            let (end, false) = string_end(bytes, at)? else { return None };
            Some((Id::String(text.get(at + 1..end - 1)?.to_owned()), end))
        }
        b'0' => Some((Id::Number(0), at + 1)),
        b'1'..=b'9' => {
            let (mut n, mut end) = (0i64, at);
            while let Some(digit) = bytes.get(end).filter(|b| b.is_ascii_digit()) {
                if end - at == 18 {
                    return None;
                }
                n = n * 10 + i64::from(digit - b'0');
                end += 1;
            }
            Some((Id::Number(n), end))
        }
        _ => None,
    }
}

/// The object at `at`, checked, with where its members are (counted from its opening
/// bracket), and just past it.
fn object_at(bytes: &[u8], at: usize) -> Option<(Vec<Place>, usize)> {
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    let mut places = Vec::with_capacity(4);
    let mut next = skip_space(bytes, at + 1);
    if bytes.get(next) == Some(&b'}') {
        return Some((places, next + 1));
    }
    loop {
        let (name_end, escaped) = string_end(bytes, next)?;
        let value_at = colon(bytes, name_end)?;
        let end = value_end(bytes, value_at)?;
        places.push(Place { span: next - at..end - at, name_end: name_end - at, value: value_at - at, escaped });
        let after = skip_space(bytes, end);
        match bytes.get(after)? {
            b',' => next = skip_space(bytes, after + 1),
            b'}' => return Some((places, after + 1)),
            _ => return None,
        }
    }
}

/// Just past the JSON value that starts at `at`, when it is well formed and nests no
/// deeper than a message may ([`MAX_DEPTH`], the message and its result counted).
fn value_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    // The open arrays and objects, innermost last: a set bit is an array.
    let (mut arrays, mut depth) = (0u128, 0usize);
    loop {
        // A value starts at `at`.
        at = match bytes.get(at)? {
            b'"' => string_end(bytes, at)?.0,
            open @ (b'{' | b'[') => {
                // The message and the result are two levels more.
                if depth + 2 >= MAX_DEPTH {
                    return None;
                }
                let inside = skip_space(bytes, at + 1);
                let close = if *open == b'{' { b'}' } else { b']' };
                if bytes.get(inside) == Some(&close) {
                    inside + 1
                } else {
                    arrays = (arrays << 1) | u128::from(*open == b'[');
                    depth += 1;
                    at = if *open == b'[' { inside } else { member_value(bytes, inside)? };
                    continue;
                }
            }
            b't' => literal_end(bytes, at, b"true")?,
            b'f' => literal_end(bytes, at, b"false")?,
            b'n' => literal_end(bytes, at, b"null")?,
            _ => number_end(bytes, at)?,
        };
        // After a value: the next entry of its array or object, or their ends.
        loop {
            if depth == 0 {
                return Some(at);
            }
            at = skip_space(bytes, at);
            let array = arrays & 1 == 1;
            match (bytes.get(at)?, array) {
                (b',', true) => {
                    at = skip_space(bytes, at + 1);
                    break;
                }
                (b',', false) => {
                    at = member_value(bytes, skip_space(bytes, at + 1))?;
                    break;
                }
                (b']', true) | (b'}', false) => {
                    at += 1;
                    arrays >>= 1;
                    depth -= 1;
                }
                _ => return None,
            }
        }
    }
}

/// Where the value of the member whose quoted name is at `at` starts.
fn member_value(bytes: &[u8], at: usize) -> Option<usize> {
    colon(bytes, string_end(bytes, at)?.0)
}

/// Just past `literal`, when it is what is written at `at`.
fn literal_end(bytes: &[u8], at: usize, literal: &[u8]) -> Option<usize> {
    bytes.get(at..)?.starts_with(literal).then_some(at + literal.len())
}

/// Just past the number at `at`, as JSON writes one.
fn number_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    at = match bytes.get(at)? {
        b'0' => at + 1,
        b'1'..=b'9' => digits_end(bytes, at),
        _ => return None,
    };
    if bytes.get(at) == Some(&b'.') {
        at = some_digits(bytes, at + 1)?;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        at = some_digits(bytes, at)?;
    }
    Some(at)
}

/// Just past the digits at `at` (`at` itself when there are none).
fn digits_end(bytes: &[u8], at: usize) -> usize {
    at + bytes.get(at..).map_or(0, |rest| rest.iter().take_while(|b| b.is_ascii_digit()).count())
}

/// Just past the digits at `at`, when there is at least one.
fn some_digits(bytes: &[u8], at: usize) -> Option<usize> {
    Some(digits_end(bytes, at)).filter(|&end| end > at)
}

/// Just past the string that opens at `at` when it is well formed (no control
/// character, every escape one JSON has), and whether it holds an escape. A `\u` escape
/// of half a UTF-16 surrogate pair passes alone too, as it does in the full reader,
/// which leaves a value's strings undecoded.
#[inline]
fn string_end(bytes: &[u8], at: usize) -> Option<(usize, bool)> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let next = special_at(bytes, at + 1)?;
    match bytes.get(next)? {
        b'"' => Some((next + 1, false)),
        _ => Some((escaped_string_end(bytes, next)?, true)),
    }
}

/// [`string_end`] from the first backslash or control character at `at` on.
fn escaped_string_end(bytes: &[u8], mut next: usize) -> Option<usize> {
    loop {
        match bytes.get(next)? {
            b'"' => return Some(next + 1),
            b'\\' => next = special_at(bytes, escape_end(bytes, next)?)?,
            _ => return None,
        }
    }
}

/// Just past the escape at `at` (its backslash).
fn escape_end(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at + 1)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(at + 2),
        b'u' => bytes.get(at + 2..at + 6)?.iter().all(u8::is_ascii_hexdigit).then_some(at + 6),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_object;

    /// What the full reader makes of `line`, shown with the result's members.
    fn full(line: &str) -> String {
        shown(&parse_object(line).map_err(|r| r.error.message.into_owned()))
    }

    fn shown(read: &Result<Message, String>) -> String {
        match read {
            Ok(Message::Response(Response { id, outcome: Outcome::Result(result) })) => {
                format!("{id:?} {} {:?}", result.get(), result.members().collect::<Vec<_>>())
            }
            other => format!("{other:?}"),
        }
    }

    /// Reads `line` here and fully: the same, when read here at all; whether it was.
    fn agrees(line: &str) -> bool {
        match response(line) {
            Some(quick) => {
                assert_eq!(shown(&Ok(quick)), full(line), "{line}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn results_of_every_shape_read_as_the_full_reader_reads_them() {
        let results = [
            "{}",
            " { } ",
            r#"{"content":[{"type":"text","text":"hello world"}],"resultType":"complete","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"tenet","version":"0.1.0"}}}"#,
            r#" { "a" : 1 , "b":[1,{"c":"}"}] ,"d":{"e":{}}, "f" : [ ] , "g":[ [ ], { } ,null,true,false] } "#,
            r#"{"content":[{"type":"text","text":"a \"quoted\" } \\ \/ \b\f\n\r\t \u00e9 \uFFFF"}],"isError":false}"#,
            r#"{"a\u0021":1,"b\n":2,"a":3,"a":4}"#,
            r#"{"n":[0,-0,1.5,-2.25e10,3E+2,4e-2,12345678901234567890123,1e400]}"#,
            r#"{"long":"0123456789abcdefghijklmnopqrstuvwxyz é ü 日本語 😀 0123456789"}"#,
            // Surrogates escaped, in pairs and alone (no text, read as written).
            r#"{"\ud83d\ude00":"\ud83d\ude00","\ud800":"\udfff","x\uDBFFy":[" \uDC00"]}"#,
            "{\"t\":\"tab\\tbefore and after a quote\\\"x\",\"ws\":\t{\r\n\"k\" :\n\"v\"\r\n}\t}",
        ];
        let mut read = 0;
        for result in results {
            for line in [
                format!(r#"{{"jsonrpc":"2.0","id":1,"result":{result}}}"#),
                format!(r#" {{ "result" :{result},"id":"a b","jsonrpc":"2.0" }} "#),
                format!(r#"{{"id":123456789012345678,"jsonrpc" : "2.0","result":{result}}}"#),
                format!(r#"{{"jsonrpc":"2.0","id":0,"result":{result}}}"#),
            ] {
                assert!(agrees(&line), "not read here: {line}");
                read += 1;
            }
        }
        assert_eq!(read, results.len() * 4);
    }

    /// Reads `line` as a request here and fully: the same, when read here at all.
    fn request_agrees(line: &str) -> bool {
        match request(line) {
            Some(quick) => {
                let full = parse_object(line).map_err(|r| r.error);
                assert_eq!(format!("{:?}", Ok::<_, crate::ErrorObject>(quick)), format!("{full:?}"), "{line}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn requests_of_every_common_shape_read_as_the_full_reader_reads_them() {
        let params = [
            r#"{"name":"echo","arguments":{"text":"hello world"}}"#,
            " { } ",
            r#"{"name":"e","arguments":{"t":"a \"q\" \u00e9 \ud800"},"_meta":{"progressToken":7,"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}"#,
            r#"{"a":[1,-2.5e3,true,null,{"b":[]}],"a":2}"#,
        ];
        for params in params {
            for line in [
                format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{params}}}"#),
                format!(r#" {{ "params" : {params} , "method":"m","id":"a b","jsonrpc":"2.0" }} "#),
                format!(r#"{{"id":123456789012345678,"jsonrpc" : "2.0","method":"x/y","params":{params}}}"#),
            ] {
                assert!(request_agrees(&line), "not read here: {line}");
            }
        }
        assert!(request_agrees(r#"{"jsonrpc":"2.0","id":0,"method":"ping"}"#), "no params");
    }

    #[test]
    fn every_other_message_is_left_to_the_full_reader() {
        for line in [
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":-1,"method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":"\u0041","method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"a\/b"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":[1]}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":null}"#,
            r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"m","extra":1}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"m","result":{}}"#,
            r#"{"jsonrpc":"1.0","id":1,"method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"m"} x"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":1}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
        ] {
            assert!(request(line).is_none(), "read here: {line}");
        }
        let deep = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{}1{}}}"#, "[".repeat(70), "]".repeat(70));
        assert!(request(&deep).is_none(), "nesting near the limit is the full reader's");
    }

    #[test]
    fn strings_end_at_their_quote_wherever_it_falls_in_eight_bytes() {
        // Before a quote, a backslash or a control character at every place in a run of
        // bytes (high bytes, and bytes just past the specials, included).
        for len in 0..40 {
            for special in [b'"', b'\\', 0x00, 0x1f] {
                for filler in [b'a', 0x21, 0x5d, 0x7f, 0xff, b' '] {
                    let mut bytes = vec![b'"'];
                    bytes.extend(std::iter::repeat_n(filler, len));
                    bytes.extend([special, b'"', b'"']);
                    let found = special_at(&bytes, 1);
                    assert_eq!(found, Some(len + 1), "{len} {special} {filler}");
                }
            }
        }
        assert_eq!(string_end(br#""abcdefghij\"\\" "#, 0), Some((16, true)));
        assert_eq!(string_end(br#""abcdefgh"#, 0), None);
        assert_eq!(special_at(b"abcdefghijklmnop", 0), None);
    }

    #[test]
    fn everything_else_is_left_to_the_full_reader() {
        let lines = [
            // Not a response with a result object, or members this reader does not know.
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":{}}"#,
            r#"{"jsonrpc":"2.0","method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":[]}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":"s"}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{},"extra":0}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"id":1,"result":{}}"#,
            r#"{"jsonrpc":"2.0","result":{}}"#,
            // Ids read elsewhere: negative, too long for here, escaped, null, not ids.
            r#"{"jsonrpc":"2.0","id":-1,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1234567890123456789,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":"a\"b","result":{}}"#,
            r#"{"jsonrpc":"2.0","id":null,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1.5,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":01,"result":{}}"#,
            // Members named twice, names with escapes, another version, text after the message.
            r#"{"jsonrpc":"2.0","id":1,"id":2,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{},"result":{}}"#,
            r#"{"jsonrpc":"2.0","jsonrpc":"2.0","id":1,"result":{}}"#,
            r#"{"jsonrpc":"2.0","\u0069d":1,"result":{}}"#,
            r#"{"jsonrpc":"2.00","id":1,"result":{}}"#,
            r#"{"jsonrpc":"2.0" ,"id":1,"result":{}}x"#,
            // Every kind of syntax error.
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":1,}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":[1,]}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"a" 1}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":01}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":1.}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":.5}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":1e}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":-}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":tru}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":nulll}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":"\x"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":"\u12g4"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":"\u+123"}}"#,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":\"\u{1}\"}}",
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":[}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":{]}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":{"b"}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":1}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":"1}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{1:1}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{}} {}"#,
        ];
        for line in lines {
            assert!(!agrees(line), "read here: {line}");
        }
        // Nesting up to the limit is read here; past it, by the full reader (which
        // refuses it).
        let nested = |depth: usize| {
            format!(r#"{{"jsonrpc":"2.0","id":1,"result":{{"a":{}{}}}}}"#, "[".repeat(depth), "]".repeat(depth))
        };
        assert!(agrees(&nested(MAX_DEPTH - 2)));
        assert!(!agrees(&nested(MAX_DEPTH - 1)));
    }
}
