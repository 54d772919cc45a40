//! A request's params read once: the `_meta` members routing needs and the members a
//! transport checks its headers against, borrowed from the body.
//!
//! Routing, the stateless era's header rules and the method's own handler would each
//! otherwise scan the same params; a [`Probe`] is read once and handed to the first two.

use serde::Deserialize;
use tenet_jsonrpc::{ErrorObject, RawJson, Request};
use tenet_protocol::{
    CLIENT_CAPABILITIES_KEY, Implementation, LoggingLevel, PROTOCOL_VERSION_KEY, ProgressToken, TraceContext,
};

/// The members of a request's params that routing and header checks read, borrowed
/// from the request; every other member is skipped, not collected.
///
/// ```
/// use tenet_server::Probe;
/// use tenet_server::jsonrpc::{Incoming, Message, parse};
///
/// let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo",
///     "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
/// let Ok(Incoming::Single(Message::Request(request))) = parse(body) else { unreachable!() };
/// let probe = Probe::read(&request).unwrap();
/// assert_eq!(probe.name().map(|n| n.get()), Some(r#""echo""#));
/// assert_eq!(probe.protocol_version().map(|v| v.get()), Some(r#""2026-07-28""#));
/// assert!(probe.is_stateless() && !probe.has_client_capabilities());
/// ```
#[derive(Debug, Default, Deserialize)]
pub struct Probe<'a> {
    #[serde(rename = "_meta", borrow, default)]
    pub(crate) meta: Option<MetaView<'a>>,
    #[serde(borrow, default)]
    name: Option<&'a RawJson>,
    #[serde(borrow, default)]
    uri: Option<&'a RawJson>,
    #[serde(rename = "taskId", borrow, default)]
    task_id: Option<&'a RawJson>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawJson>,
    /// What only some `tools/call`s carry (a task, a later MRTR round), found so that a
    /// plain call's handler need not read the params again ([`Probe::is_plain_call`]).
    #[serde(borrow, default)]
    task: Option<&'a RawJson>,
    #[serde(rename = "requestState", borrow, default)]
    request_state: Option<&'a RawJson>,
    #[serde(rename = "inputResponses", borrow, default)]
    input_responses: Option<&'a RawJson>,
}

/// The `_meta` members routing reads.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct MetaView<'a> {
    #[serde(rename = "progressToken", default)]
    pub progress_token: Option<ProgressToken>,
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow, default)]
    pub protocol_version: Option<&'a RawJson>,
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", borrow, default)]
    pub client_capabilities: Option<&'a RawJson>,
    /// Checked for shape only (and not kept: a probe is moved along the request's path).
    #[serde(rename = "io.modelcontextprotocol/clientInfo", default, deserialize_with = "shape::<_, Implementation>")]
    _client_info: Option<()>,
    #[serde(rename = "io.modelcontextprotocol/logLevel", default)]
    pub log_level: Option<LoggingLevel>,
    /// W3C trace context; an invalid one is ignored, never an error.
    #[serde(rename = "traceparent", default, deserialize_with = "TraceContext::deserialize_lenient")]
    pub traceparent: Option<TraceContext>,
    #[serde(rename = "tracestate", default, deserialize_with = "tenet_protocol::trace::lenient_string")]
    pub tracestate: Option<String>,
    /// The Tenet nodes the request passed through ([`tenet_protocol::NODE_PATH_KEY`]);
    /// a malformed or overlong one is refused with the request.
    #[serde(rename = "io.tenet/path", default)]
    pub node_path: Option<tenet_protocol::NodePath>,
    /// The conversation the request belongs to ([`tenet_protocol::CONTEXT_KEY`]): its
    /// id, or its context carried by another node; a malformed one is refused with the
    /// request.
    #[serde(rename = "io.tenet/context", default)]
    pub context: Option<Box<tenet_protocol::context::ContextRef>>,
}

/// Reads a `T` (or `null`) and keeps nothing of it: a member checked for its shape alone.
fn shape<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<()>, D::Error> {
    Option::<T>::deserialize(deserializer).map(|read| read.map(drop))
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
        if raw.get().starts_with('[') {
            return Err(ErrorObject::invalid_params("Invalid params: params must be an object"));
        }
        serde_json::from_str(raw.get()).map_err(|e| ErrorObject::invalid_params(format!("Invalid params: {e}")))
    }

    /// `_meta`'s `io.modelcontextprotocol/protocolVersion`, as JSON.
    pub fn protocol_version(&self) -> Option<&'a RawJson> {
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
    pub fn stateless_version(&self) -> Result<String, ErrorObject> {
        let missing = |key: &str| {
            ErrorObject::invalid_params(format!(
                "Invalid params: params._meta must carry {key} (2026-07-28 requests are self-describing)"
            ))
        };
        let Some(raw) = self.protocol_version() else { return Err(missing(PROTOCOL_VERSION_KEY)) };
        let version = if raw.get().starts_with('"') { serde_json::from_str(raw.get()).ok() } else { None };
        let Some(version) = version else {
            return Err(ErrorObject::invalid_params("Invalid params: _meta protocolVersion must be a string"));
        };
        if !self.has_client_capabilities() {
            return Err(missing(CLIENT_CAPABILITIES_KEY));
        }
        Ok(version)
    }

    /// `params.name`, as JSON.
    pub fn name(&self) -> Option<&'a RawJson> {
        self.name
    }

    /// `params.name` as text, when it is a string.
    pub fn name_text(&self) -> Option<std::borrow::Cow<'a, str>> {
        self.name.filter(|n| n.get().starts_with('"')).and_then(|n| serde_json::from_str(n.get()).ok())
    }

    /// `params.uri`, as JSON.
    pub fn uri(&self) -> Option<&'a RawJson> {
        self.uri
    }

    /// `params.taskId`, as JSON.
    pub fn task_id(&self) -> Option<&'a RawJson> {
        self.task_id
    }

    /// `params.arguments`, as JSON.
    pub fn arguments(&self) -> Option<&'a RawJson> {
        self.arguments
    }

    /// Whether the params name a string `name` and carry no `task`, `requestState` or
    /// `inputResponses`: a `tools/call` whose name and arguments are all it needs.
    pub(crate) fn is_plain_call(&self) -> bool {
        self.name.is_some_and(|n| n.get().starts_with('"'))
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
        assert_eq!(p.uri().unwrap().get(), r#""a://b""#);
        assert_eq!(p.task_id().unwrap().get(), r#""t""#);
        assert_eq!(p.arguments().unwrap().get(), r#"{"x":[1,{"y":2}]}"#);
        assert!(p.name().is_none() && !p.is_stateless());
        let none = Request { id: Id::Number(1), method: "m".into(), params: None };
        assert!(Probe::read(&none).unwrap().meta.is_none());
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
        let version = |meta: &str| Probe::read(&request(&format!(r#"{{"_meta":{meta}}}"#)))?.stateless_version();
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
