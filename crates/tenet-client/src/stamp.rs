//! A request's params with the client's `_meta` entries added as they are written,
//! so that neither the params nor the client's capabilities and name are copied into
//! a JSON tree for every request.

use serde::ser::{Serialize, Serializer};
use serde_json::{Map, Value};
use tenet_jsonrpc::{JsonText, RawJson};
use tenet_protocol::{
    CLIENT_CAPABILITIES_KEY, CLIENT_INFO_KEY, ClientCapabilities, Implementation, LOG_LEVEL_KEY, LoggingLevel,
    PROTOCOL_VERSION_KEY,
};

/// What the client adds to a request's `_meta`; `None` adds nothing.
#[derive(Default)]
pub(crate) struct Stamp<'a> {
    pub version: Option<&'static str>,
    pub capabilities: Option<Written<'a, ClientCapabilities>>,
    pub info: Option<Written<'a, Implementation>>,
    pub log_level: Option<LoggingLevel>,
    pub progress: Option<&'a Value>,
    /// The caller's entries written beforehand; they replace the params' own entries of
    /// the same name.
    pub written: Option<&'a WrittenMeta>,
}

/// `_meta` entries written as JSON once, for a caller that adds the same ones to many
/// requests ([`crate::RequestOptions::written_meta`]): they are copied into each
/// request as they are, never built as a JSON tree again, and replace the params' own
/// entries of the same name.
///
/// ```
/// use serde_json::json;
/// use tenet_client::WrittenMeta;
///
/// let meta = WrittenMeta::new(json!({"io.tenet/path": ["node-a"]}).as_object().unwrap());
/// assert_eq!(meta.len(), 1);
/// ```
#[derive(Debug, Default)]
pub struct WrittenMeta(Vec<(String, Box<RawJson>)>);

impl WrittenMeta {
    /// The entries of `meta`, each written now.
    pub fn new(meta: &Map<String, Value>) -> Self {
        // A JSON value always writes: its map keys are strings.
        Self(meta.iter().filter_map(|(key, value)| Some((key.clone(), write_once(value)?))).collect())
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The key the progress token goes under.
const PROGRESS_TOKEN_KEY: &str = "progressToken";

/// A value the stamp writes: as JSON written once beforehand when there is some (what
/// goes in every request is not written again for each), else as it is.
pub(crate) enum Written<'a, T> {
    Once(&'a RawJson),
    Typed(&'a T),
}

impl<'a, T> Written<'a, T> {
    /// `typed`, or its JSON `once` written when there is.
    pub(crate) fn of(once: Option<&'a RawJson>, typed: &'a T) -> Self {
        once.map_or(Written::Typed(typed), Written::Once)
    }
}

impl<T: Serialize> Serialize for Written<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Written::Once(json) => json.serialize(serializer),
            Written::Typed(value) => value.serialize(serializer),
        }
    }
}

/// `value` written as JSON, to be written again as it is ([`Written::Once`]).
pub(crate) fn write_once(value: &impl Serialize) -> Option<Box<RawJson>> {
    serde_json::value::to_raw_value(value).ok()
}

impl Stamp<'_> {
    fn is_empty(&self) -> bool {
        self.version.is_none()
            && self.capabilities.is_none()
            && self.info.is_none()
            && self.log_level.is_none()
            && self.progress.is_none()
            && self.written.is_none_or(WrittenMeta::is_empty)
    }

    /// Whether the stamp sets `key` (and so replaces the params' entry).
    fn sets(&self, key: &str) -> bool {
        self.sets_own(key) || self.written.is_some_and(|written| written.0.iter().any(|(k, _)| k == key))
    }

    /// Whether one of the client's own entries (not the caller's written ones) is `key`.
    fn sets_own(&self, key: &str) -> bool {
        match key {
            PROTOCOL_VERSION_KEY => self.version.is_some(),
            CLIENT_CAPABILITIES_KEY => self.capabilities.is_some(),
            CLIENT_INFO_KEY => self.info.is_some(),
            LOG_LEVEL_KEY => self.log_level.is_some(),
            PROGRESS_TOKEN_KEY => self.progress.is_some(),
            _ => false,
        }
    }
}

/// Params as written: the caller's members (with `arguments` written beforehand in
/// place of the params' own, when there are), with `_meta` holding the params' own
/// entries and the stamp's (the stamp's win, the caller's written entries included).
/// Params whose `_meta` is not an object are written with it as it is, and an empty
/// `_meta` is left out.
pub(crate) struct Stamped<'a> {
    pub params: &'a Map<String, Value>,
    pub arguments: Option<&'a JsonText>,
    pub stamp: Stamp<'a>,
}

impl Stamped<'_> {
    /// Writes the params to `out` as JSON: the stamp's names, which the protocol fixes,
    /// and arguments written beforehand as they are (nothing in the names needs
    /// escaping; the arguments are JSON already), the rest through `serde_json`.
    ///
    /// # Errors
    /// When a value cannot be written (`out` then holds part of the params).
    pub(crate) fn write(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let (own, stamped) = match self.params.get("_meta") {
            None => (None, true),
            Some(Value::Object(own)) => (Some(own), true),
            Some(_) => (None, false),
        };
        let mut params = Object::open(out);
        for (key, value) in self.params {
            if (key != "_meta" || !stamped) && (key != "arguments" || self.arguments.is_none()) {
                params.entry(key, value)?;
            }
        }
        if let Some(arguments) = self.arguments {
            params.fixed_name("arguments");
            let text = arguments.get().as_bytes();
            if tenet_jsonrpc::one_line(arguments.get()) {
                params.out.extend_from_slice(text);
            } else {
                // A line break in JSON is space between tokens (never raw in a string):
                // a space in its place keeps the value and the request on one line.
                params.out.extend(text.iter().map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b }));
            }
        }
        // A `_meta` that is not an object went as it is: nothing can be added to it.
        if stamped && (!self.stamp.is_empty() || own.is_some_and(|own| !own.is_empty())) {
            params.fixed_name("_meta");
            self.write_meta(own, params.out)?;
        }
        params.close();
        Ok(())
    }

    fn write_meta(&self, own: Option<&Map<String, Value>>, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let stamp = &self.stamp;
        let mut meta = Object::open(out);
        for (key, value) in own.into_iter().flatten() {
            if !stamp.sets(key) {
                meta.entry(key, value)?;
            }
        }
        if let Some(version) = stamp.version {
            meta.fixed_text(PROTOCOL_VERSION_KEY, version);
        }
        if let Some(capabilities) = &stamp.capabilities {
            meta.fixed_entry(CLIENT_CAPABILITIES_KEY, capabilities)?;
        }
        if let Some(info) = &stamp.info {
            meta.fixed_entry(CLIENT_INFO_KEY, info)?;
        }
        if let Some(level) = stamp.log_level {
            meta.fixed_text(LOG_LEVEL_KEY, level.as_str());
        }
        if let Some(token) = stamp.progress {
            meta.fixed_entry(PROGRESS_TOKEN_KEY, token)?;
        }
        for (key, value) in stamp.written.iter().flat_map(|written| &written.0) {
            if !stamp.sets_own(key) {
                meta.entry(key, value)?;
            }
        }
        meta.close();
        Ok(())
    }
}

/// A JSON object being written member by member.
struct Object<'o> {
    out: &'o mut Vec<u8>,
    empty: bool,
}

impl<'o> Object<'o> {
    fn open(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, empty: true }
    }

    /// Starts a member whose name is one of the protocol's own, written as it is.
    fn fixed_name(&mut self, name: &'static str) {
        debug_assert!(!name.contains(['"', '\\']) && !name.contains(char::is_control), "{name}");
        if !std::mem::replace(&mut self.empty, false) {
            self.out.push(b',');
        }
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// A member whose name and text are both the protocol's own (a version, a level):
    /// the text is written between quotes as it is.
    fn fixed_text(&mut self, name: &'static str, text: &'static str) {
        debug_assert!(!text.contains(['"', '\\']) && !text.contains(char::is_control), "{text}");
        self.fixed_name(name);
        self.out.push(b'"');
        self.out.extend_from_slice(text.as_bytes());
        self.out.push(b'"');
    }

    fn fixed_entry(&mut self, name: &'static str, value: &(impl Serialize + ?Sized)) -> serde_json::Result<()> {
        self.fixed_name(name);
        serde_json::to_writer(&mut *self.out, value)
    }

    fn entry(&mut self, name: &str, value: &(impl Serialize + ?Sized)) -> serde_json::Result<()> {
        if !std::mem::replace(&mut self.empty, false) {
            self.out.push(b',');
        }
        serde_json::to_writer(&mut *self.out, name)?;
        self.out.push(b':');
        serde_json::to_writer(&mut *self.out, value)
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn written_text(params: &Value, stamp: Stamp<'_>) -> String {
        let params = params.as_object().expect("an object");
        let mut out = Vec::new();
        Stamped { params, arguments: None, stamp }.write(&mut out).expect("writable");
        String::from_utf8(out).expect("UTF-8")
    }

    fn written_params(params: &Value, stamp: Stamp<'_>) -> Value {
        serde_json::from_str(&written_text(params, stamp)).expect("JSON")
    }

    #[test]
    fn arguments_written_beforehand_go_as_they_are_in_place_of_the_params_own() {
        let object = RawJson::from_string(r#"{"arguments":{"b" : [1, "\u0041"],"a":1.50}}"#.to_owned()).unwrap();
        let arguments = JsonText::member(&object, "arguments").expect("found");
        let write = |params: Value, stamp: Stamp<'_>| {
            let mut out = Vec::new();
            Stamped { params: params.as_object().expect("an object"), arguments: Some(&arguments), stamp }
                .write(&mut out)
                .expect("writable");
            String::from_utf8(out).expect("UTF-8")
        };
        let stamp = || Stamp { version: Some("2026-07-28"), ..Stamp::default() };
        assert_eq!(
            write(json!({"name": "t", "arguments": {"old": true}}), stamp()),
            r#"{"name":"t","arguments":{"b" : [1, "\u0041"],"a":1.50},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}"#
        );
        // A `_meta` that is not an object stays as it is, and the arguments still go.
        assert_eq!(
            write(json!({"name": "t", "_meta": 7}), stamp()),
            r#"{"_meta":7,"name":"t","arguments":{"b" : [1, "\u0041"],"a":1.50}}"#
        );
        // Line breaks between tokens go as spaces: the request stays on one line.
        let object = RawJson::from_string("{\"arguments\":{\r\n \"a\":\n\"x\\ny\"\n}}".to_owned()).unwrap();
        let arguments = JsonText::member(&object, "arguments").expect("found");
        let mut out = Vec::new();
        let params = json!({"name": "t"});
        Stamped { params: params.as_object().unwrap(), arguments: Some(&arguments), stamp: Stamp::default() }
            .write(&mut out)
            .expect("writable");
        let text = String::from_utf8(out).expect("UTF-8");
        assert_eq!(text, "{\"name\":\"t\",\"arguments\":{   \"a\": \"x\\ny\" }}");
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["arguments"]["a"], "x\ny");
    }

    #[test]
    fn the_stamp_joins_the_callers_meta_and_wins() {
        let capabilities = ClientCapabilities::default();
        let info = Implementation::new("c", "1");
        let token = json!("p-1");
        let info_once = write_once(&info);
        let stamp = Stamp {
            version: Some("2026-07-28"),
            capabilities: Some(Written::Typed(&capabilities)),
            info: info_once.as_deref().map(Written::Once),
            log_level: Some(LoggingLevel::Debug),
            progress: Some(&token),
            written: None,
        };
        let params = json!({"name": "t", "_meta": {"traceparent": "00-x", "progressToken": "theirs"}});
        let got = written_params(&params, stamp);
        assert_eq!(
            got,
            json!({"name": "t", "_meta": {
                "traceparent": "00-x",
                "progressToken": "p-1",
                PROTOCOL_VERSION_KEY: "2026-07-28",
                CLIENT_CAPABILITIES_KEY: {},
                CLIENT_INFO_KEY: {"name": "c", "version": "1"},
                LOG_LEVEL_KEY: "debug",
            }})
        );
    }

    #[test]
    fn entries_written_beforehand_join_and_replace_the_params_own() {
        let written =
            WrittenMeta::new(json!({"io.tenet/path": ["a"], "k": 1, "progressToken": "x"}).as_object().unwrap());
        let token = json!("p");
        let stamp = Stamp { progress: Some(&token), written: Some(&written), ..Stamp::default() };
        // The client's own progress token wins over the written one, which wins over
        // the params' entry of the same name.
        let params = json!({"n": 1, "_meta": {"k": 2, "io.tenet/path": ["forged"], "o": 3}});
        let got = written_params(&params, stamp);
        assert_eq!(got, json!({"n": 1, "_meta": {"o": 3, "k": 1, "progressToken": "p", "io.tenet/path": ["a"]}}));
        // Each name once in the text.
        let params = json!({"_meta": {"k": 2}});
        let stamp = Stamp { written: Some(&written), ..Stamp::default() };
        let text = written_text(&params, stamp);
        assert_eq!(text.matches("\"k\"").count(), 1, "{text}");
        // Alone they make a `_meta`; none at all make none.
        let alone = written_params(&json!({"n": 1}), Stamp { written: Some(&written), ..Stamp::default() });
        assert_eq!(alone, json!({"n": 1, "_meta": {"io.tenet/path": ["a"], "k": 1, "progressToken": "x"}}));
        let empty = WrittenMeta::default();
        let none = written_params(&json!({"n": 1}), Stamp { written: Some(&empty), ..Stamp::default() });
        assert_eq!(none, json!({"n": 1}));
    }

    #[test]
    fn nothing_to_add_leaves_the_params_as_they_were() {
        assert_eq!(written_params(&json!({"a": 1}), Stamp::default()), json!({"a": 1}));
        assert_eq!(written_params(&json!({"a": 1, "_meta": {}}), Stamp::default()), json!({"a": 1}));
        let odd = json!({"a": 1, "_meta": 7});
        let token = json!(1);
        assert_eq!(written_params(&odd, Stamp { progress: Some(&token), ..Stamp::default() }), odd);
        let own = json!({"_meta": {"k": true}});
        assert_eq!(written_params(&own, Stamp::default()), own);
    }
}
