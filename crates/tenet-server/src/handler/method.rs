//! Methods beyond the core protocol's: what an extension (or a server of its own
//! accord) adds to the server's method table. The protocol's own extension methods
//! live there too: the tasks extension's `tasks/get`, `tasks/update` and `tasks/cancel`
//! (2026-07-28 only, [`MethodDef::era`]).
//!
//! An added method is served like every core one: routed in either era, admitted at the
//! one door (the caller's scopes, rate limits), counted and traced under its own name.
//! Its handler is a plain async fn whose arguments are extractors — [`Context`],
//! [`Params<T>`], [`RawParams`], [`MethodName`], [`State<S>`] — and whose output is a `Result` of
//! something serializable and an error that becomes a JSON-RPC error
//! ([`tenet_jsonrpc::ErrorObject`], or a [`ToolError`], which maps as a tool call's
//! would).
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use tenet_server::{MethodDef, Params, Server, ToolError};
//!
//! #[derive(Deserialize)]
//! struct Echo { text: String }
//! #[derive(Serialize)]
//! struct Echoed { text: String }
//!
//! async fn echo(Params(p): Params<Echo>) -> Result<Echoed, ToolError> {
//!     Ok(Echoed { text: p.text })
//! }
//!
//! let server = Server::builder("demo", "1.0.0")
//!     .method(MethodDef::new("example.com/echo", echo).extension("com.example/echo").scope("echo"))
//!     .build()
//!     .unwrap();
//! assert!(server.capabilities().has_extension("com.example/echo"));
//! ```

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tenet_jsonrpc::{ErrorObject, RawJson};

use super::context::Context;
use super::extract::{BoxFuture, State};
use crate::error::ToolError;

/// A method the server serves besides the core protocol's, with who may call it and how
/// its results may be cached. Give it to [`crate::ServerBuilder::method`].
#[derive(Clone)]
pub struct MethodDef {
    /// Interned ([`intern`]): metrics label requests with it.
    pub(crate) name: &'static str,
    pub(crate) extension: Option<(String, Value)>,
    pub(crate) scopes: Vec<String>,
    pub(crate) cacheable: bool,
    /// The one era it is served in, if it is not served in both.
    pub(crate) era: Option<tenet_protocol::Era>,
    /// Served in 2026-07-28 only to a client whose capabilities list its extension.
    pub(crate) client_declares: bool,
    /// The server's own (the tasks extension's): its results may hold members an
    /// outside handler's may not ([`RESERVED`]; a task's `ttlMs` is its own).
    pub(crate) own: bool,
    pub(crate) handler: Arc<dyn ErasedMethod>,
}

impl std::fmt::Debug for MethodDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MethodDef")
            .field("name", &self.name)
            .field("extension", &self.extension)
            .field("scopes", &self.scopes)
            .field("cacheable", &self.cacheable)
            .field("era", &self.era)
            .field("client_declares", &self.client_declares)
            .finish_non_exhaustive()
    }
}

impl MethodDef {
    /// The method `name` (its wire name, e.g. `skills/list`), served by `handler`.
    pub fn new<H: MethodHandler<T>, T: 'static>(name: impl Into<String>, handler: H) -> Self {
        Self {
            name: intern(name.into()),
            extension: None,
            scopes: Vec::new(),
            cacheable: false,
            era: None,
            client_declares: false,
            own: false,
            handler: Arc::new(Erase(handler, std::marker::PhantomData)),
        }
    }

    /// The extension the method belongs to (its identifier, e.g.
    /// `io.modelcontextprotocol/skills`): the server declares it under
    /// `capabilities.extensions` with empty settings, unless
    /// [`MethodDef::extension_settings`] gives others.
    #[must_use]
    pub fn extension(mut self, id: impl Into<String>) -> Self {
        self.extension = Some((id.into(), Value::Object(serde_json::Map::new())));
        self
    }

    /// The extension the method belongs to, declared with `settings` (an object).
    #[must_use]
    pub fn extension_settings(mut self, id: impl Into<String>, settings: Value) -> Self {
        self.extension = Some((id.into(), settings));
        self
    }

    /// A scope a caller must hold to call the method, when the server checks scopes
    /// (one call per scope; all are required).
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// Serves the method, in 2026-07-28, only to a client whose capabilities list its
    /// extension (others get -32021 naming it), as the tasks extension's rules say of
    /// its methods. Without it, a client that did not declare the extension is served
    /// too (the Skills extension asks nothing of clients).
    #[must_use]
    pub fn client_declares(mut self) -> Self {
        self.client_declares = true;
        self
    }

    /// Marks the results as cacheable: in 2026-07-28 they carry the server's
    /// `ttlMs` and `cacheScope`, as list results do.
    #[must_use]
    pub fn cacheable(mut self) -> Self {
        self.cacheable = true;
        self
    }

    /// Serves the method in `era` alone (a request of the other era gets -32601, as for
    /// a method the server does not have): for an extension that exists in one era
    /// only, as the tasks extension exists in 2026-07-28.
    #[must_use]
    pub fn era(mut self, era: tenet_protocol::Era) -> Self {
        self.era = Some(era);
        self
    }

    /// Whether the method is served in `era`.
    pub(crate) fn served_in(&self, era: tenet_protocol::Era) -> bool {
        self.era.is_none_or(|only| only == era)
    }

    /// The method's wire name.
    pub fn name(&self) -> &str {
        self.name
    }

    /// The scopes a caller needs.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Runs the handler on `call`. A panic (in an extractor or the handler) becomes
    /// -32603, as does a result holding a member the server writes itself
    /// ([`RESERVED`]); an entry naming the server in the result's `_meta` is dropped, as
    /// the server writes its own.
    pub(crate) async fn run(&self, call: MethodCall) -> MethodOutput {
        // The server's own may hold a `ttlMs` of theirs, which freshness would write again.
        debug_assert!(!(self.own && self.cacheable), "{}: the server's own methods are not cacheable", self.name);
        let handler = Arc::clone(&self.handler);
        // Inside the future, so that a panic in the extractors is contained too.
        let run = AssertUnwindSafe(async move { handler.call(call).await }).catch_unwind();
        let mut result = match run.await {
            Ok(outcome) => outcome?,
            Err(panic) => {
                let why = panic_message(&panic);
                return Err(ErrorObject::internal(format!("Method {} failed: {why}", self.name)));
            }
        };
        if let Some(member) = RESERVED.iter().find(|member| !self.own && result.contains_key(**member)) {
            return Err(ErrorObject::internal(format!(
                "the result of {} holds {member}, which the server writes itself",
                self.name
            )));
        }
        if let Some(Value::Object(meta)) = result.get_mut("_meta") {
            meta.remove(tenet_protocol::SERVER_INFO_KEY);
        }
        Ok(result)
    }
}

/// The members of a result the server writes itself (2026-07-28's `resultType` and
/// cache hints), which an added method's result must not hold: a handler that echoes
/// what a caller sent must not let the caller write them.
pub(crate) const RESERVED: [&str; 3] = ["resultType", "ttlMs", "cacheScope"];

/// `name`, kept for the life of the process once per distinct name: methods are few and
/// named by the program, and a request's metrics label it without an allocation.
fn intern(name: String) -> &'static str {
    static NAMES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = names.iter().find(|known| **known == name) {
        return known;
    }
    let kept: &'static str = Box::leak(name.into_boxed_str());
    names.push(kept);
    kept
}

/// A call of an added method, as handed to extractors.
#[derive(Debug)]
#[non_exhaustive]
pub struct MethodCall {
    /// The request's context.
    pub ctx: Context,
    /// The method's name (one handler may serve several methods).
    pub method: &'static str,
    /// The params as the client wrote them, if it sent any.
    pub params: Option<Box<RawJson>>,
}

/// What an added method's handler produced: the result object, or the error to answer.
pub type MethodOutput = Result<serde_json::Map<String, Value>, ErrorObject>;

/// Something a method handler's argument can be extracted from a call as.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a method handler argument",
    note = "method handler arguments must be extractors: Params<T>, RawParams, MethodName, Context, State<S>"
)]
pub trait FromMethodCall: Sized {
    /// Extracts the value.
    ///
    /// # Errors
    /// The JSON-RPC error to answer when the call does not fit (-32602 for params that
    /// do not deserialize).
    fn from_method_call(call: &MethodCall) -> Result<Self, ErrorObject>;
}

/// The params, deserialized into `T` (absent params read as `{}`). A 2026-07-28
/// request's params hold its `_meta` too: a type that refuses unknown fields must
/// accept `_meta`.
#[derive(Debug, Clone)]
pub struct Params<T>(pub T);

/// The params as JSON (`None` when the request has none).
#[derive(Debug, Clone)]
pub struct RawParams(pub Option<Value>);

/// The name of the method called (one handler may serve several).
#[derive(Debug, Clone, Copy)]
pub struct MethodName(pub &'static str);

impl FromMethodCall for MethodName {
    fn from_method_call(call: &MethodCall) -> Result<Self, ErrorObject> {
        Ok(MethodName(call.method))
    }
}

impl<T: DeserializeOwned> FromMethodCall for Params<T> {
    fn from_method_call(call: &MethodCall) -> Result<Self, ErrorObject> {
        params(call.params.as_deref()).map(Params)
    }
}

impl FromMethodCall for RawParams {
    fn from_method_call(call: &MethodCall) -> Result<Self, ErrorObject> {
        // Read as every method's params are, when there are any.
        call.params.as_deref().map(|raw| params(Some(raw))).transpose().map(RawParams)
    }
}

impl FromMethodCall for Context {
    fn from_method_call(call: &MethodCall) -> Result<Self, ErrorObject> {
        Ok(call.ctx.clone())
    }
}

impl<S: Send + Sync + 'static> FromMethodCall for State<S> {
    fn from_method_call(call: &MethodCall) -> Result<Self, ErrorObject> {
        call.ctx.state::<S>().map(State).ok_or_else(|| {
            ErrorObject::internal(format!("server state of type {} is missing", std::any::type_name::<S>()))
        })
    }
}

/// Something a method handler can return: a `Result` of a result that serializes to a
/// JSON object and an error convertible to a JSON-RPC error.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a method handler",
    note = "return Result<T, E> where T: Serialize and E: Into<ErrorObject> (ErrorObject, ToolError)"
)]
pub trait IntoMethodResult {
    /// Converts to the result's JSON or the error to answer.
    ///
    /// # Errors
    /// The handler's error, or one saying the result could not be serialized.
    fn into_method_result(self) -> MethodOutput;
}

impl<T: Serialize, E: Into<MethodError>> IntoMethodResult for Result<T, E> {
    fn into_method_result(self) -> MethodOutput {
        let value = self.map_err(|e| e.into().0)?;
        match serde_json::to_value(&value) {
            Ok(Value::Object(result)) => Ok(result),
            Ok(_) => Err(ErrorObject::internal("the method's result is not a JSON object")),
            Err(e) => Err(ErrorObject::internal(format!("cannot serialize the result: {e}"))),
        }
    }
}

/// An added method's error: a JSON-RPC error as it is, or a [`ToolError`] converted to
/// one (`ToolError::invalid_params` -32602, a protocol error as it is, any other
/// -32603 with its message; an added method cannot ask the client for input).
#[derive(Debug)]
pub struct MethodError(pub ErrorObject);

impl From<ErrorObject> for MethodError {
    fn from(e: ErrorObject) -> Self {
        MethodError(e)
    }
}

impl From<ToolError> for MethodError {
    fn from(e: ToolError) -> Self {
        MethodError(e.into())
    }
}

/// A method handler: an async fn of up to six extractors returning an
/// [`IntoMethodResult`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a method handler",
    note = "a method handler is an async fn whose arguments are extractors (Params<T>, RawParams, MethodName, Context, State<S>) and whose output is Result<T: Serialize, E: Into<MethodError>>"
)]
pub trait MethodHandler<T>: Clone + Send + Sync + 'static {
    /// Runs the handler.
    fn call(&self, call: MethodCall) -> BoxFuture<MethodOutput>;
}

macro_rules! impl_method_handler {
    ($($ty:ident),*) => {
        #[allow(non_snake_case, unused_variables)]
        impl<F, Fut, R, $($ty,)*> MethodHandler<($($ty,)*)> for F
        where
            F: Fn($($ty),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoMethodResult + 'static,
            $($ty: FromMethodCall + Send + 'static,)*
        {
            fn call(&self, call: MethodCall) -> BoxFuture<MethodOutput> {
                $(
                    let $ty = match $ty::from_method_call(&call) {
                        Ok(value) => value,
                        Err(e) => return Box::pin(std::future::ready(Err(e))),
                    };
                )*
                Box::pin((self)($($ty),*).map(R::into_method_result))
            }
        }
    };
}

impl_method_handler!();
impl_method_handler!(A);
impl_method_handler!(A, B);
impl_method_handler!(A, B, C);
impl_method_handler!(A, B, C, D);
impl_method_handler!(A, B, C, D, E);
impl_method_handler!(A, B, C, D, E, G);

/// A handler with its extractor types forgotten, as the table keeps it.
pub(crate) trait ErasedMethod: Send + Sync {
    fn call(&self, call: MethodCall) -> BoxFuture<MethodOutput>;
}

struct Erase<H, T>(H, std::marker::PhantomData<fn() -> T>);

impl<H: MethodHandler<T>, T: 'static> ErasedMethod for Erase<H, T> {
    fn call(&self, call: MethodCall) -> BoxFuture<MethodOutput> {
        self.0.call(call)
    }
}

/// Whether `name` may be an added method's: not empty, no core method's (those are the
/// protocol's to define), not the metrics' `other`, and not a notification's namespace.
pub(crate) fn check_name(name: &str) -> Result<(), crate::error::BuildError> {
    let refuse = |why: &str| Err(crate::error::BuildError::Method { name: name.to_owned(), why: why.to_owned() });
    if name.is_empty() || name.len() > 256 || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return refuse("a method name is 1 to 256 characters, none of them blank or control");
    }
    if tenet_protocol::Method::from_name(name).is_some() {
        return refuse("the core protocol defines this method");
    }
    if name == crate::observe::metrics::OTHER_METHOD {
        return refuse("the metrics count every unknown method as \"other\"");
    }
    if name.starts_with("notifications/") || name.starts_with("rpc.") {
        return refuse("notifications/ and rpc. name notifications and JSON-RPC's own methods, not requests");
    }
    Ok(())
}

/// Parses `params` into `T`; absent params parse as `{}`.
pub(crate) fn params<T: DeserializeOwned>(raw: Option<&RawJson>) -> Result<T, ErrorObject> {
    serde_json::from_str(raw.map_or("{}", RawJson::get))
        .map_err(|e| ErrorObject::invalid_params(format!("Invalid params: {e}")))
}

/// What a handler's panic said, for the error that stands in for its answer.
pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown cause".into());
    format!("internal error (panicked: {text})")
}
