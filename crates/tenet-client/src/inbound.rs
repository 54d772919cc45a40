//! Everything the server sends that is not the answer to a request: notifications,
//! progress, and (legacy) server → client requests. Also answers 2026 input requests,
//! so both eras reach the application's handler the same way.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde_json::Value;
use tenet_jsonrpc::{ErrorObject, Id, Notification, RawJson, Request, UnknownId};
use tenet_protocol::{ElicitParams, LoggingMessageParams, Method, ProgressParams, ResourceUpdatedParams};

use crate::handler::{ClientHandler, ServerNotification, apply_defaults};

/// A callback for `notifications/progress` on one request.
pub type ProgressCallback = Arc<dyn Fn(ProgressParams) + Send + Sync>;

/// Routes what the server sends on its own to the application.
pub(crate) struct Inbound {
    handler: Arc<dyn ClientHandler>,
    progress: Mutex<HashMap<String, ProgressCallback>>,
}

fn params<T: DeserializeOwned>(raw: Option<&RawJson>) -> Result<T, ErrorObject> {
    serde_json::from_str(raw.map_or("{}", RawJson::get))
        .map_err(|e| ErrorObject::invalid_params(format!("invalid params: {e}")))
}

fn token_key(token: &impl serde::Serialize) -> String {
    serde_json::to_string(token).unwrap_or_default()
}

impl Inbound {
    pub(crate) fn new(handler: Arc<dyn ClientHandler>) -> Self {
        Self { handler, progress: Mutex::new(HashMap::new()) }
    }

    /// Routes progress for `token` to `callback` until [`Inbound::forget_progress`].
    pub(crate) fn watch_progress(&self, token: &Value, callback: ProgressCallback) {
        if let Ok(mut map) = self.progress.lock() {
            map.insert(token_key(token), callback);
        }
    }

    pub(crate) fn forget_progress(&self, token: &Value) {
        if let Ok(mut map) = self.progress.lock() {
            map.remove(&token_key(token));
        }
    }

    /// Delivers one notification. Malformed ones are logged and dropped.
    pub(crate) fn notification(&self, notification: &Notification) {
        let raw = notification.params.as_deref();
        let delivered = match Method::from_name(&notification.method) {
            Some(Method::Progress) => params::<ProgressParams>(raw).map(|p| {
                let callback = self.progress.lock().ok().and_then(|m| m.get(&token_key(&p.progress_token)).cloned());
                if let Some(callback) = callback {
                    callback(p);
                }
            }),
            Some(Method::ToolsListChanged) => self.emit(ServerNotification::ToolsListChanged),
            Some(Method::PromptsListChanged) => self.emit(ServerNotification::PromptsListChanged),
            Some(Method::ResourcesListChanged) => self.emit(ServerNotification::ResourcesListChanged),
            Some(Method::ResourcesUpdated) => params::<ResourceUpdatedParams>(raw)
                .and_then(|p| self.emit(ServerNotification::ResourceUpdated { uri: p.uri })),
            Some(Method::Message) => {
                params::<LoggingMessageParams>(raw).and_then(|p| self.emit(ServerNotification::Log(p)))
            }
            _ => {
                let params = raw.and_then(|r| serde_json::from_str(r.get()).ok());
                self.emit(ServerNotification::Other { method: notification.method.clone(), params })
            }
        };
        if let Err(e) = delivered {
            tracing::warn!(method = %notification.method, error = %e.message, "dropped a malformed notification");
        }
    }

    fn emit(&self, notification: ServerNotification) -> Result<(), ErrorObject> {
        self.handler.on_notification(notification);
        Ok(())
    }

    /// Answers one input request (a legacy server → client request, or one entry of
    /// a 2026 `inputRequests`), as the result's JSON.
    pub(crate) async fn answer(&self, method: &str, raw: Option<&RawJson>) -> Result<Value, ErrorObject> {
        let value = match Method::from_name(method) {
            Some(Method::Ping) => Ok(Value::Object(Default::default())),
            Some(Method::SamplingCreateMessage) => {
                let result = self.handler.create_message(params(raw)?).await?;
                serde_json::to_value(result).map_err(|e| ErrorObject::internal(e.to_string()))
            }
            Some(Method::ElicitationCreate) => {
                let request: ElicitParams = params(raw)?;
                let schema = request.requested_schema.clone();
                let mut result = self.handler.elicit(request).await?;
                apply_defaults(&mut result, schema.as_ref());
                serde_json::to_value(result).map_err(|e| ErrorObject::internal(e.to_string()))
            }
            Some(Method::RootsList) => {
                let result = self.handler.list_roots().await?;
                serde_json::to_value(result).map_err(|e| ErrorObject::internal(e.to_string()))
            }
            _ => Err(ErrorObject::method_not_found(method)),
        }?;
        Ok(value)
    }

    /// Answers a legacy server → client request; returns the encoded response line.
    pub(crate) async fn request(&self, request: &Request) -> Vec<u8> {
        let answer = self.answer(&request.method, request.params.as_deref()).await;
        encode_answer(&request.id, answer)
    }
}

/// Encodes the response to a server → client request, one line.
pub(crate) fn encode_answer(id: &Id, answer: Result<Value, ErrorObject>) -> Vec<u8> {
    let mut out = Vec::new();
    match answer {
        Ok(value) => tenet_jsonrpc::write_result_response(&mut out, id, &value.to_string(), &[]),
        Err(error) => tenet_jsonrpc::write_error_response(&mut out, Some(id), UnknownId::Omit, &error),
    }
    out
}
