//! Handlers: what a server serves, and the handlers of the methods that serve it.
//!
//! The definitions registered on the builder — tools ([`ToolDef`], with the schemas
//! they advertise), resources and templates ([`ResourceDef`], [`TemplateDef`], matched
//! by [`uri_template`]) and prompts ([`PromptDef`]) — and the [`Registry`] that holds
//! them; the extractors a tool handler's arguments are made of (`extract`); the
//! [`Context`] a handler sees, with its integrity-protected `requestState`
//! (`request_state`); the method handlers themselves (`methods`: `tools/call`,
//! prompts, resources, completion, subscriptions, and the paged list methods); and the
//! methods an extension adds to the table ([`MethodDef`], `method`).

mod context;
mod conversation;
mod extract;
mod method;
mod names;
mod pagination;
mod prompt;
mod registry;
mod request_state;
mod resource;
mod result;
mod schema;
mod tool;
pub mod uri_template;

pub use context::{Context, InputRound};
pub(crate) use context::{ContextParts, ConversationSeed, Inputs};
pub use conversation::Conversation;
pub use extract::{
    Args, FromToolCall, IntoToolResult, Json, RawArgs, State, ToolCall, ToolHandler, ToolOutput, schema_of,
};
pub use method::{
    FromMethodCall, IntoMethodResult, MethodCall, MethodDef, MethodError, MethodHandler, MethodName, MethodOutput,
    Params, RawParams,
};
pub(crate) use method::{check_name as check_method_name, panic_message, params};
pub(crate) use pagination::page;
pub use prompt::{PromptDef, PromptRequest};
pub(crate) use registry::{Registry, Snapshot};
pub use request_state::StateKey;
pub(crate) use request_state::{Arguments, Binding};
pub(crate) use resource::{CompiledTemplate, ReadHandler};
pub use resource::{CompletionRequest, ReadOutput, ReadRequest, ResourceDef, TemplateDef};
pub use result::{ToolResult, WrittenResult};
pub use schema::advertised_schema;
pub(crate) use tool::CompiledTool;
pub use tool::{InvalidArguments, TaskSupport, ToolDef, empty_input_schema};
