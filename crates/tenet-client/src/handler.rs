//! What the application supplies: answers to the server's questions (sampling,
//! elicitation, roots) and callbacks for its notifications.

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tenet_jsonrpc::{ErrorCode, ErrorObject, RawJson};
use tenet_protocol::{
    ClientCapabilities, CreateMessageParams, CreateMessageResult, ElicitParams, ElicitResult, InputRequest, JsonObject,
    ListRootsResult, LoggingMessageParams, Method,
};

/// A notification from the server, other than progress (which goes to the request's
/// own progress callback).
#[derive(Clone, Debug)]
pub enum ServerNotification {
    /// `notifications/tools/list_changed`.
    ToolsListChanged,
    /// `notifications/prompts/list_changed`.
    PromptsListChanged,
    /// `notifications/resources/list_changed`.
    ResourcesListChanged,
    /// `notifications/resources/updated`: the resource at this URI changed.
    ResourceUpdated {
        /// The resource.
        uri: String,
    },
    /// `notifications/message`: a log message.
    Log(LoggingMessageParams),
    /// Any other notification, as received.
    Other {
        /// Its method.
        method: String,
        /// Its params.
        params: Option<Value>,
    },
}

/// The application's side of the conversation. Every method has a default: the
/// capability is not declared and the request is refused, the notification ignored.
///
/// The same handler answers legacy server → client requests and 2026 input-required
/// rounds, so an application writes each answer once.
pub trait ClientHandler: Send + Sync + 'static {
    /// The capabilities to declare (`sampling`, `elicitation`, `roots`); they must
    /// match the methods this handler implements.
    fn capabilities(&self) -> ClientCapabilities {
        ClientCapabilities::default()
    }

    /// Answer `sampling/createMessage`.
    fn create_message(&self, params: CreateMessageParams) -> BoxFuture<'_, Result<CreateMessageResult, ErrorObject>> {
        let _ = params;
        Box::pin(async { Err(unsupported("sampling/createMessage")) })
    }

    /// Answer `elicitation/create` (form or URL mode). Defaults from the form's schema
    /// are filled in for fields an accepted answer leaves out.
    fn elicit(&self, params: ElicitParams) -> BoxFuture<'_, Result<ElicitResult, ErrorObject>> {
        let _ = params;
        Box::pin(async { Err(unsupported("elicitation/create")) })
    }

    /// Answer `roots/list`.
    fn list_roots(&self) -> BoxFuture<'_, Result<ListRootsResult, ErrorObject>> {
        Box::pin(async { Err(unsupported("roots/list")) })
    }

    /// A notification arrived (list changes, resource updates, log messages). Log
    /// messages about a request made with a handler of its own go to that handler.
    fn on_notification(&self, notification: ServerNotification) {
        let _ = notification;
    }

    /// Answers one of the server's questions as JSON: a legacy server → client
    /// request (other than `ping`, which the client answers itself), or one entry of
    /// a 2026 `inputRequests` or of the input a task waits for.
    /// The default decodes `params` and calls [`create_message`](Self::create_message),
    /// [`elicit`](Self::elicit) or [`list_roots`](Self::list_roots); a relay overrides
    /// it to pass the question on as it came.
    fn answer<'a>(&'a self, method: &'a str, params: Option<&'a RawJson>) -> BoxFuture<'a, Result<Value, ErrorObject>> {
        Box::pin(answer_typed(self, method, params))
    }

    /// Answers the requests of one 2026 input round (`inputRequests`, or the input a
    /// task waits for), by key. The default answers them one after another with
    /// [`answer`](Self::answer); a relay overrides it to pass the round on whole.
    fn answer_all(&self, requests: Vec<(String, InputRequest)>) -> BoxFuture<'_, Result<JsonObject, ErrorObject>> {
        Box::pin(async move {
            let mut responses = JsonObject::new();
            for (key, InputRequest { method, params }) in requests {
                let raw = params
                    .map(|p| serde_json::value::to_raw_value(&p))
                    .transpose()
                    .map_err(|e| ErrorObject::internal(e.to_string()))?;
                responses.insert(key, self.answer(&method, raw.as_deref()).await?);
            }
            Ok(responses)
        })
    }
}

/// The default [`ClientHandler::answer`]: the typed methods, by `method`.
async fn answer_typed<H: ClientHandler + ?Sized>(
    handler: &H,
    method: &str,
    raw: Option<&RawJson>,
) -> Result<Value, ErrorObject> {
    match Method::from_name(method) {
        Some(Method::Ping) => Ok(Value::Object(JsonObject::new())),
        Some(Method::SamplingCreateMessage) => encode(handler.create_message(decode_params(raw)?).await?),
        Some(Method::ElicitationCreate) => {
            let request: ElicitParams = decode_params(raw)?;
            let schema = request.requested_schema.clone();
            let mut result = handler.elicit(request).await?;
            apply_defaults(&mut result, schema.as_ref());
            encode(result)
        }
        Some(Method::RootsList) => encode(handler.list_roots().await?),
        _ => Err(ErrorObject::method_not_found(method)),
    }
}

/// A message's params as `T`; -32602 when they do not fit.
pub(crate) fn decode_params<T: DeserializeOwned>(raw: Option<&RawJson>) -> Result<T, ErrorObject> {
    serde_json::from_str(raw.map_or("{}", RawJson::get))
        .map_err(|e| ErrorObject::invalid_params(format!("invalid params: {e}")))
}

fn encode(result: impl Serialize) -> Result<Value, ErrorObject> {
    serde_json::to_value(result).map_err(|e| ErrorObject::internal(e.to_string()))
}

/// The handler of a client that declares nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHandler;

impl ClientHandler for NoHandler {}

fn unsupported(method: &str) -> ErrorObject {
    ErrorObject::new(ErrorCode::METHOD_NOT_FOUND, format!("this client does not support {method}"))
}

/// Fills the defaults of a form's `requestedSchema` into an accepted answer's content
/// for every property the answer leaves out (SEP-1034).
pub fn apply_defaults(result: &mut ElicitResult, schema: Option<&Value>) {
    if result.action != tenet_protocol::ElicitAction::Accept {
        return;
    }
    let Some(properties) = schema.and_then(|s| s.get("properties")).and_then(Value::as_object) else { return };
    let content = result.content.get_or_insert_with(Default::default);
    for (name, property) in properties {
        if let Some(default) = property.get("default")
            && !content.contains_key(name)
        {
            content.insert(name.clone(), default.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tenet_protocol::ElicitAction;

    #[test]
    fn defaults_fill_only_missing_fields_of_accepted_answers() {
        let schema = json!({"type": "object", "properties": {
            "name": {"type": "string", "default": "Ada"},
            "age": {"type": "integer", "default": 36},
            "note": {"type": "string"}
        }});
        let mut content = serde_json::Map::new();
        content.insert("age".into(), json!(7));
        let mut accepted = ElicitResult { action: ElicitAction::Accept, content: Some(content) };
        apply_defaults(&mut accepted, Some(&schema));
        assert_eq!(Value::Object(accepted.content.unwrap()), json!({"name": "Ada", "age": 7}));

        let mut declined = ElicitResult { action: ElicitAction::Decline, content: None };
        apply_defaults(&mut declined, Some(&schema));
        assert!(declined.content.is_none());
    }
}
