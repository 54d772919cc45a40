//! A request's params read once: the `_meta` members routing needs and the members a
//! transport checks its headers against, borrowed from the body.
//!
//! Routing, the stateless era's header rules and the method's own handler would each
//! otherwise scan the same params; a [`Probe`] is read once and handed to the first two.
//! The params were checked when the message was read, so finding their members is a
//! byte scan ([`tenet_jsonrpc::members`]); only the few typed `_meta` members present
//! (a progress token, a log level, a trace, a node path, a context) are deserialized.

use serde::Deserialize;
use tenet_jsonrpc::{ErrorObject, Members, RawJson, Request, members};
use tenet_protocol::{
    CLIENT_CAPABILITIES_KEY, CONTEXT_KEY, Implementation, LoggingLevel, NODE_PATH_KEY, PROTOCOL_VERSION_KEY,
    ProgressToken, TraceContext,
};

/// The members of a request's params that routing and header checks read, each as its
/// JSON text borrowed from the request (a member whose value is `null` reads as absent);
/// every other member is skipped.
///
/// ```
/// use tenet_server::Probe;
/// use tenet_server::jsonrpc::{Incoming, Message, parse};
///
/// let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo",
///     "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
/// let Ok(Incoming::Single(Message::Request(request))) = parse(body) else { unreachable!() };
/// let probe = Probe::read(&request).unwrap();
/// assert_eq!(probe.name(), Some(r#""echo""#));
/// assert_eq!(probe.protocol_version(), Some(r#""2026-07-28""#));
/// assert!(probe.is_stateless() && !probe.has_client_capabilities());
/// ```
#[derive(Debug, Default)]
pub struct Probe<'a> {
    pub(crate) meta: Option<MetaView<'a>>,
    name: Option<&'a str>,
    uri: Option<&'a str>,
    task_id: Option<&'a str>,
    arguments: Option<&'a str>,
    /// What only some `tools/call`s carry (a task, a later MRTR round), found so that a
    /// plain call's handler need not read the params again ([`Probe::is_plain_call`]).
    task: Option<&'a str>,
    request_state: Option<&'a str>,
    input_responses: Option<&'a str>,
}

/// The `_meta` members routing reads.
#[derive(Debug, Default)]
pub(crate) struct MetaView<'a> {
    pub progress_token: Option<ProgressToken>,
    pub protocol_version: Option<&'a str>,
    pub client_capabilities: Option<&'a str>,
    pub log_level: Option<LoggingLevel>,
    /// W3C trace context; an invalid one is ignored, never an error.
    pub traceparent: Option<TraceContext>,
    pub tracestate: Option<String>,
    /// The Tenet nodes the request passed through ([`tenet_protocol::NODE_PATH_KEY`]);
    /// a malformed or overlong one is refused with the request.
    pub node_path: Option<tenet_protocol::NodePath>,
    /// The conversation the request belongs to ([`tenet_protocol::CONTEXT_KEY`]): its
    /// id, or its context carried by another node; a malformed one is refused with the
    /// request.
    pub context: Option<Box<tenet_protocol::context::ContextRef>>,
}

/// The members of one object a probe has read, a bit for each: a member named twice is
/// refused, as a typed reader refuses a field given twice.
struct Seen(u32);

impl Seen {
    /// Notes `name`, at `index`; an error when it was noted before.
    fn note(&mut self, index: u32, name: &str) -> Result<(), ErrorObject> {
        let bit = 1 << index;
        if self.0 & bit != 0 {
            return Err(ErrorObject::invalid_params(format!("Invalid params: duplicate field `{name}`")));
        }
        self.0 |= bit;
        Ok(())
    }
}

/// A member's value, or `None` for `null` (as serde reads an absent `Option`).
fn present(value: &str) -> Option<&str> {
    (value != "null").then_some(value)
}

/// A typed `_meta` member read from its value's text alone.
fn typed<'a, T>(
    name: &str,
    value: &'a str,
    read: impl FnOnce(&mut serde_json::Deserializer<serde_json::de::StrRead<'a>>) -> Result<T, serde_json::Error>,
) -> Result<T, ErrorObject> {
    read(&mut serde_json::Deserializer::from_str(value))
        .map_err(|e| ErrorObject::invalid_params(format!("Invalid params: _meta {name}: {e}")))
}

impl<'a> MetaView<'a> {
    /// Reads `_meta`'s members, as the params' walk finds them.
    fn of_members(found: &mut Members<'a>) -> Result<Self, ErrorObject> {
        let (mut view, mut seen) = (Self::default(), Seen(0));
        for member in found {
            let (name, value) = (&*member.name, member.value);
            match name {
                "progressToken" => {
                    seen.note(0, name)?;
                    view.progress_token = typed(name, value, |d| Option::<ProgressToken>::deserialize(d))?;
                }
                PROTOCOL_VERSION_KEY => {
                    seen.note(1, name)?;
                    view.protocol_version = present(value);
                }
                CLIENT_CAPABILITIES_KEY => {
                    seen.note(2, name)?;
                    view.client_capabilities = present(value);
                }
                // Checked for shape only (and not kept: a probe is moved along the request's path),
                // once for the text a client repeats.
                tenet_protocol::CLIENT_INFO_KEY => {
                    seen.note(3, name)?;
                    super::repeated::check_info(value, |value| {
                        typed(name, value, |d| Option::<Implementation>::deserialize(d)).map(drop)
                    })?;
                }
                tenet_protocol::LOG_LEVEL_KEY => {
                    seen.note(4, name)?;
                    view.log_level = typed(name, value, |d| Option::<LoggingLevel>::deserialize(d))?;
                }
                "traceparent" => {
                    seen.note(5, name)?;
                    view.traceparent = typed(name, value, |d| TraceContext::deserialize_lenient(d))?;
                }
                "tracestate" => {
                    seen.note(6, name)?;
                    view.tracestate = typed(name, value, |d| tenet_protocol::trace::lenient_string(d))?;
                }
                NODE_PATH_KEY => {
                    seen.note(7, name)?;
                    view.node_path = typed(name, value, |d| Option::<tenet_protocol::NodePath>::deserialize(d))?;
                }
                CONTEXT_KEY => {
                    seen.note(8, name)?;
                    view.context =
                        typed(name, value, |d| Option::<Box<tenet_protocol::context::ContextRef>>::deserialize(d))?;
                }
                _ => {}
            }
        }
        Ok(view)
    }
}

impl<'a> Probe<'a> {
    /// Reads `request`'s params (absent params read as `{}`).
    ///
    /// # Errors
    /// -32602 when the params are not an object, their `_meta` is malformed, or a
    /// member read here appears twice.
    pub fn read(request: &'a Request) -> Result<Self, ErrorObject> {
        Self::of_params(request.params.as_deref())
    }

    /// Reads the params of any message (a request's or a notification's).
    ///
    /// # Errors
    /// As [`Probe::read`].
    pub fn of_params(params: Option<&'a RawJson>) -> Result<Self, ErrorObject> {
        let Some(raw) = params else { return Ok(Self::default()) };
        let text = raw.get();
        if !text.starts_with('{') {
            return Err(ErrorObject::invalid_params("Invalid params: params must be an object"));
        }
        let (mut probe, mut seen) = (Self::default(), Seen(0));
        let mut found = members(text);
        // `_meta`, an object in every request that carries one, is read as the walk
        // passes through it: its text is scanned once.
        let mut entered = None;
        while let Some(member) = found.next_entering("_meta", |meta| entered = Some(MetaView::of_members(meta))) {
            let (index, slot) = match &*member.name {
                "_meta" => {
                    seen.note(0, "_meta")?;
                    // An object was walked as it was passed; anything else but `null` is refused.
                    probe.meta = match (entered.take(), present(member.value)) {
                        (Some(read), _) => Some(read?),
                        (None, None) => None,
                        (None, Some(_)) => {
                            return Err(ErrorObject::invalid_params("Invalid params: _meta must be an object"));
                        }
                    };
                    continue;
                }
                "name" => (1, &mut probe.name),
                "uri" => (2, &mut probe.uri),
                "taskId" => (3, &mut probe.task_id),
                "arguments" => (4, &mut probe.arguments),
                "task" => (5, &mut probe.task),
                "requestState" => (6, &mut probe.request_state),
                "inputResponses" => (7, &mut probe.input_responses),
                _ => continue,
            };
            seen.note(index, &member.name)?;
            *slot = present(member.value);
        }
        Ok(probe)
    }

    /// `_meta`'s `io.modelcontextprotocol/protocolVersion`, as its JSON text.
    pub fn protocol_version(&self) -> Option<&'a str> {
        self.meta.as_ref().and_then(|m| m.protocol_version)
    }

    /// Whether `_meta` carries `io.modelcontextprotocol/clientCapabilities`.
    pub fn has_client_capabilities(&self) -> bool {
        self.meta.as_ref().is_some_and(|m| m.client_capabilities.is_some())
    }

    /// Whether `_meta` names a version or capabilities: the request describes itself,
    /// as every 2026-07-28 request does.
    pub fn is_stateless(&self) -> bool {
        self.meta.as_ref().is_some_and(|m| m.protocol_version.is_some() || m.client_capabilities.is_some())
    }

    /// The protocol version a self-describing (2026-07-28) request names in `_meta`,
    /// once `_meta` is checked to carry both the version and the client capabilities.
    ///
    /// # Errors
    /// -32602 when either is missing, or the version is not a string.
    pub fn stateless_version(&self) -> Result<std::borrow::Cow<'a, str>, ErrorObject> {
        let missing = |key: &str| {
            ErrorObject::invalid_params(format!(
                "Invalid params: params._meta must carry {key} (2026-07-28 requests are self-describing)"
            ))
        };
        let Some(raw) = self.protocol_version() else { return Err(missing(PROTOCOL_VERSION_KEY)) };
        let version = tenet_jsonrpc::string_value(raw);
        let Some(version) = version else {
            return Err(ErrorObject::invalid_params("Invalid params: _meta protocolVersion must be a string"));
        };
        if !self.has_client_capabilities() {
            return Err(missing(CLIENT_CAPABILITIES_KEY));
        }
        Ok(version)
    }

    /// `params.name`, as its JSON text.
    pub fn name(&self) -> Option<&'a str> {
        self.name
    }

    /// `params.name` as text, when it is a string.
    pub fn name_text(&self) -> Option<std::borrow::Cow<'a, str>> {
        self.name.and_then(tenet_jsonrpc::string_value)
    }

    /// `params.uri`, as its JSON text.
    pub fn uri(&self) -> Option<&'a str> {
        self.uri
    }

    /// `params.taskId`, as its JSON text.
    pub fn task_id(&self) -> Option<&'a str> {
        self.task_id
    }

    /// `params.arguments`, as their JSON text.
    pub fn arguments(&self) -> Option<&'a str> {
        self.arguments
    }

    /// Whether the params name a string `name` and carry no `task`, `requestState` or
    /// `inputResponses`: a `tools/call` whose name and arguments are all it needs.
    pub(crate) fn is_plain_call(&self) -> bool {
        self.name.is_some_and(|n| n.starts_with('"'))
            && self.task.is_none()
            && self.request_state.is_none()
            && self.input_responses.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenet_jsonrpc::{Id, Incoming, Message, parse};

    fn request(params: &str) -> Request {
        let text = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{params}}}"#);
        match parse(text.as_bytes()) {
            Ok(Incoming::Single(Message::Request(r))) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reads_the_members_and_skips_the_rest() {
        let r = request(r#"{"uri":"a://b","taskId":"t","arguments":{"x":[1,{"y":2}]},"other":{"deep":[[]]}}"#);
        let p = Probe::read(&r).unwrap();
        assert_eq!(p.uri().unwrap(), r#""a://b""#);
        assert_eq!(p.task_id().unwrap(), r#""t""#);
        assert_eq!(p.arguments().unwrap(), r#"{"x":[1,{"y":2}]}"#);
        assert!(p.name().is_none() && !p.is_stateless());
        let none = Request { id: Id::Number(1), method: "m".into(), params: None };
        assert!(Probe::read(&none).unwrap().meta.is_none());
    }

    #[test]
    fn a_member_named_twice_is_refused_and_null_reads_as_absent() {
        for params in [
            r#"{"name":"a","name":"b"}"#,
            r#"{"name":null,"n\u0061me":"b"}"#,
            r#"{"_meta":{},"_meta":{}}"#,
            r#"{"_meta":{"progressToken":1,"progressToken":2}}"#,
        ] {
            let e = Probe::read(&request(params)).unwrap_err();
            assert!(e.code.0 == -32602 && e.message.contains("duplicate field"), "{params}: {e:?}");
        }
        let nulls = request(r#"{"name":null,"arguments":null,"_meta":null,"other":[{"name":1}]}"#);
        let p = Probe::read(&nulls).unwrap();
        assert!(p.name().is_none() && p.arguments().is_none() && p.meta.is_none());
        // Names are compared as JSON reads them, escapes and all.
        let escaped = request(r#"{"n\u0061me":"x","_m\u0065ta":{"progressToken":"t"}}"#);
        let p = Probe::read(&escaped).unwrap();
        assert_eq!(p.name_text().as_deref(), Some("x"));
        assert_eq!(p.meta.unwrap().progress_token, Some(ProgressToken::String("t".into())));
    }

    #[test]
    fn a_meta_that_is_not_an_object_is_refused() {
        for meta in ["[]", "3", r#""x""#, "true"] {
            let e = Probe::read(&request(&format!(r#"{{"_meta":{meta}}}"#))).unwrap_err();
            assert_eq!(e.code.0, -32602, "{meta}");
        }
    }

    #[test]
    fn a_meta_with_capabilities_alone_still_describes_itself() {
        let r = request(r#"{"_meta":{"io.modelcontextprotocol/clientCapabilities":{},"progressToken":7}}"#);
        let p = Probe::read(&r).unwrap();
        assert!(p.is_stateless() && p.has_client_capabilities() && p.protocol_version().is_none());
        assert_eq!(p.meta.unwrap().progress_token, Some(ProgressToken::Number(7)));
    }

    #[test]
    fn a_stateless_version_needs_a_string_version_and_capabilities() {
        let version = |meta: &str| {
            Probe::read(&request(&format!(r#"{{"_meta":{meta}}}"#)))?
                .stateless_version()
                .map(std::borrow::Cow::into_owned)
        };
        let caps = r#""io.modelcontextprotocol/clientCapabilities":{}"#;
        let named = format!(r#"{{"io.modelcontextprotocol/protocolVersion":"2026-07-28",{caps}}}"#);
        assert_eq!(version(&named).unwrap(), "2026-07-28");
        for meta in [
            format!("{{{caps}}}"),
            format!(r#"{{"io.modelcontextprotocol/protocolVersion":7,{caps}}}"#),
            r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}"#.to_owned(),
        ] {
            assert_eq!(version(&meta).unwrap_err().code.0, -32602, "{meta}");
        }
    }

    #[test]
    fn array_params_and_malformed_meta_are_invalid_params() {
        for params in
            ["[1]", r#"{"_meta":{"progressToken":true}}"#, r#"{"_meta":{"io.modelcontextprotocol/logLevel":"loud"}}"#]
        {
            let e = Probe::read(&request(params)).unwrap_err();
            assert_eq!(e.code.0, -32602, "{params}");
        }
        // A broken trace context is ignored rather than refused.
        let r = request(r#"{"_meta":{"traceparent":"nonsense","tracestate":3}}"#);
        let meta = Probe::read(&r).unwrap().meta.unwrap();
        assert!(meta.traceparent.is_none() && meta.tracestate.is_none());
    }

    #[test]
    fn the_node_path_is_read_under_its_key_and_checked() {
        let params = format!(r#"{{"_meta":{{"{}":["a","b"]}}}}"#, tenet_protocol::NODE_PATH_KEY);
        let r = request(&params);
        let probe = Probe::read(&r).unwrap();
        assert_eq!(probe.meta.unwrap().node_path.unwrap().to_string(), "a → b");
        let forged = request(r#"{"_meta":{"io.tenet/path":["a","../b"]}}"#);
        let refused = Probe::read(&forged).unwrap_err();
        assert_eq!(refused.code, tenet_jsonrpc::ErrorCode::INVALID_PARAMS);
        assert!(refused.message.contains("invalid node id \"../b\""), "{}", refused.message);
    }
}
