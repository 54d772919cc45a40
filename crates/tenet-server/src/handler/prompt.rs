//! Prompts, with their get and completion handlers.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use tenet_protocol::{GetPromptResult, Prompt, PromptArgument};

use super::context::Context;
use super::extract::BoxFuture;
use super::resource::{Completers, CompletionRequest, erase_complete};
use crate::error::ToolError;

/// A `prompts/get` request, as handed to a prompt handler.
#[derive(Debug)]
pub struct PromptRequest {
    /// The request's context.
    pub ctx: Context,
    /// The arguments given (required ones are checked before the handler runs).
    pub arguments: BTreeMap<String, String>,
}

pub(crate) type PromptHandler =
    Arc<dyn Fn(PromptRequest) -> BoxFuture<Result<GetPromptResult, ToolError>> + Send + Sync>;

/// A prompt: its listing, how to render it, and completions for its arguments.
#[derive(Clone)]
pub struct PromptDef {
    pub(crate) prompt: Prompt,
    pub(crate) get: PromptHandler,
    pub(crate) completions: Completers,
    pub(crate) scopes: Vec<String>,
}

impl std::fmt::Debug for PromptDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptDef").field("prompt", &self.prompt).finish_non_exhaustive()
    }
}

impl PromptDef {
    /// A prompt named `name` rendered by `get`.
    pub fn new<F, Fut>(name: impl Into<String>, get: F) -> Self
    where
        F: Fn(PromptRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<GetPromptResult, ToolError>> + Send + 'static,
    {
        Self {
            prompt: Prompt {
                name: name.into(),
                title: None,
                description: None,
                arguments: None,
                icons: None,
                meta: None,
            },
            get: Arc::new(move |r| Box::pin(get(r))),
            completions: Completers::default(),
            scopes: Vec::new(),
        }
    }

    /// A prompt listed exactly as `prompt` says (name, title, description, arguments,
    /// icons, `_meta`), rendered by `get`: for prompts described elsewhere, such as a
    /// gateway's upstream prompts.
    pub fn from_listing<F, Fut>(prompt: Prompt, get: F) -> Self
    where
        F: Fn(PromptRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<GetPromptResult, ToolError>> + Send + 'static,
    {
        let mut def = Self::new(String::new(), get);
        def.prompt = prompt;
        def
    }

    /// Requires the caller to hold `scope` (several calls, or space-separated scopes,
    /// require them all). Callers without it do not see it listed and are refused
    /// with insufficient scope.
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        crate::grant::push_scope(&mut self.scopes, scope);
        self
    }

    /// What the prompt is for.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.prompt.description = Some(description.into());
        self
    }

    /// A human-readable name.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.prompt.title = Some(title.into());
        self
    }

    /// Declares an argument.
    #[must_use]
    pub fn argument(mut self, name: impl Into<String>, description: impl Into<String>, required: bool) -> Self {
        self.prompt.arguments.get_or_insert_with(Vec::new).push(PromptArgument {
            name: name.into(),
            title: None,
            description: Some(description.into()),
            required: Some(required),
        });
        self
    }

    /// Completes values of the argument `name`.
    #[must_use]
    pub fn complete<F, Fut>(mut self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn(CompletionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<String>> + Send + 'static,
    {
        self.completions.insert(name.into(), erase_complete(f));
        self
    }

    /// Completes every argument that has no completer of its own
    /// ([`CompletionRequest::argument`] names it): for prompts whose completions
    /// come from elsewhere.
    #[must_use]
    pub fn complete_others<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(CompletionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<String>> + Send + 'static,
    {
        self.completions.others(erase_complete(f));
        self
    }

    /// The listing.
    pub fn listing(&self) -> &Prompt {
        &self.prompt
    }

    /// The first required argument missing from `arguments`.
    pub(crate) fn missing_argument(&self, arguments: &BTreeMap<String, String>) -> Option<&str> {
        self.prompt
            .arguments
            .iter()
            .flatten()
            .find(|a| a.required == Some(true) && !arguments.contains_key(&a.name))
            .map(|a| a.name.as_str())
    }
}
