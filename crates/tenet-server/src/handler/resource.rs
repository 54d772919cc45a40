//! Resources and resource templates, with their read and completion handlers.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tenet_protocol::{Resource, ResourceContents, ResourceTemplate, TextResourceContents};

use super::context::Context;
use super::extract::BoxFuture;
use super::uri_template::UriTemplate;
use crate::error::{BuildError, ToolError};

/// A `resources/read` request, as handed to a read handler.
#[derive(Debug)]
pub struct ReadRequest {
    /// The request's context.
    pub ctx: Context,
    /// The URI asked for.
    pub uri: String,
    /// Template variables, for a template match (empty for a concrete resource).
    pub vars: BTreeMap<String, String>,
}

/// What a read handler returns: the contents, or `None` when nothing is at that URI.
pub type ReadOutput = Result<Option<Vec<ResourceContents>>, ToolError>;

pub(crate) type ReadHandler = Arc<dyn Fn(ReadRequest) -> BoxFuture<ReadOutput> + Send + Sync>;

/// A completion request for one argument or template variable.
#[derive(Debug, Clone)]
pub struct CompletionRequest {
    /// The argument's name.
    pub argument: String,
    /// What has been typed so far.
    pub value: String,
    /// Other arguments already chosen.
    pub context: BTreeMap<String, String>,
    /// The Tenet nodes the request passed through ([`crate::Context::node_path`]).
    pub node_path: Option<Arc<tenet_protocol::NodePath>>,
}

pub(crate) type CompleteHandler = Arc<dyn Fn(CompletionRequest) -> BoxFuture<Vec<String>> + Send + Sync>;

/// The completers of a prompt's arguments or a template's variables: one per name,
/// and one for every other name.
#[derive(Clone, Default)]
pub(crate) struct Completers {
    by_name: BTreeMap<String, CompleteHandler>,
    others: Option<CompleteHandler>,
}

impl Completers {
    /// Completes `name` with `f`.
    pub(crate) fn insert(&mut self, name: String, f: CompleteHandler) {
        self.by_name.insert(name, f);
    }

    /// Completes every name without a completer of its own with `f`.
    pub(crate) fn others(&mut self, f: CompleteHandler) {
        self.others = Some(f);
    }

    /// The completer of `name`, if any.
    pub(crate) fn get(&self, name: &str) -> Option<CompleteHandler> {
        self.by_name.get(name).or(self.others.as_ref()).cloned()
    }

    /// Whether nothing is completed.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_name.is_empty() && self.others.is_none()
    }
}

pub(crate) fn erase_read<F, Fut>(f: F) -> ReadHandler
where
    F: Fn(ReadRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ReadOutput> + Send + 'static,
{
    Arc::new(move |r| Box::pin(f(r)))
}

pub(crate) fn erase_complete<F, Fut>(f: F) -> CompleteHandler
where
    F: Fn(CompletionRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<String>> + Send + 'static,
{
    Arc::new(move |r| Box::pin(f(r)))
}

/// A concrete resource: its listing and how to read it.
#[derive(Clone)]
pub struct ResourceDef {
    pub(crate) resource: Resource,
    pub(crate) read: ReadHandler,
    pub(crate) scopes: Vec<String>,
    pub(crate) cache_ttl: Option<Duration>,
}

impl std::fmt::Debug for ResourceDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceDef").field("resource", &self.resource).finish_non_exhaustive()
    }
}

impl ResourceDef {
    /// A resource read by `read`.
    pub fn new<F, Fut>(resource: Resource, read: F) -> Self
    where
        F: Fn(ReadRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ReadOutput> + Send + 'static,
    {
        Self { resource, read: erase_read(read), scopes: Vec::new(), cache_ttl: None }
    }

    /// A resource whose text never changes.
    pub fn text(resource: Resource, text: impl Into<String>) -> Self {
        let text: Arc<str> = text.into().into();
        let mime = resource.mime_type.clone();
        Self::new(resource, move |req: ReadRequest| {
            let contents = ResourceContents::Text(TextResourceContents {
                uri: req.uri,
                mime_type: mime.clone(),
                text: text.to_string(),
                meta: None,
            });
            async move { Ok(Some(vec![contents])) }
        })
    }

    /// Requires the caller to hold `scope` (several calls, or space-separated scopes,
    /// require them all). Callers without it do not see it listed and are refused
    /// with insufficient scope.
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        crate::grant::push_scope(&mut self.scopes, scope);
        self
    }

    /// Keeps what reading it returns for `ttl`: reads are answered from the server's
    /// cache (when on, see [`crate::ServerConfig::cache_max_bytes`]) until the TTL runs
    /// out or the server announces a change (`notify_resource_updated`, list changes).
    /// 2026-07-28 reads carry `ttlMs` (the TTL, or what is left of it for an answer
    /// from the cache) and `cacheScope`: `private` when the caller was authorized (a
    /// shared cache must not hand it to others), else `public`.
    ///
    /// Only for contents that depend on nothing but the URI and data whose changes
    /// the server announces.
    #[must_use]
    pub fn cacheable(mut self, ttl: Duration) -> Self {
        self.cache_ttl = Some(ttl);
        self
    }

    /// The listing.
    pub fn listing(&self) -> &Resource {
        &self.resource
    }
}

/// A resource template: URIs matching it are read by its handler.
#[derive(Clone)]
pub struct TemplateDef {
    pub(crate) template: ResourceTemplate,
    pub(crate) read: ReadHandler,
    pub(crate) completions: Completers,
    pub(crate) scopes: Vec<String>,
    pub(crate) cache_ttl: Option<Duration>,
}

impl std::fmt::Debug for TemplateDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateDef").field("template", &self.template).finish_non_exhaustive()
    }
}

impl TemplateDef {
    /// A template read by `read`.
    pub fn new<F, Fut>(template: ResourceTemplate, read: F) -> Self
    where
        F: Fn(ReadRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ReadOutput> + Send + 'static,
    {
        Self {
            template,
            read: erase_read(read),
            completions: Completers::default(),
            scopes: Vec::new(),
            cache_ttl: None,
        }
    }

    /// Requires the caller to hold `scope` (several calls, or space-separated scopes,
    /// require them all). Callers without it do not see it listed and are refused
    /// with insufficient scope.
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        crate::grant::push_scope(&mut self.scopes, scope);
        self
    }

    /// Keeps what reading a matching URI returns for `ttl`, as
    /// [`ResourceDef::cacheable`] does (entries are keyed by the URI read).
    #[must_use]
    pub fn cacheable(mut self, ttl: Duration) -> Self {
        self.cache_ttl = Some(ttl);
        self
    }

    /// Completes values of the variable `name`.
    #[must_use]
    pub fn complete<F, Fut>(mut self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn(CompletionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<String>> + Send + 'static,
    {
        self.completions.insert(name.into(), erase_complete(f));
        self
    }

    /// Completes every variable that has no completer of its own
    /// ([`CompletionRequest::argument`] names it): for templates whose completions
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
    pub fn listing(&self) -> &ResourceTemplate {
        &self.template
    }

    pub(crate) fn compile(self) -> Result<CompiledTemplate, BuildError> {
        let matcher = UriTemplate::parse(&self.template.uri_template)
            .map_err(|e| BuildError::InvalidTemplate(self.template.uri_template.clone(), e))?;
        Ok(CompiledTemplate { def: self, matcher })
    }
}

/// A template with its matcher.
pub(crate) struct CompiledTemplate {
    pub def: TemplateDef,
    pub matcher: UriTemplate,
}

/// Templates are tried narrowest first ([`UriTemplate::specificity`]), so a catch-all
/// never hides a narrower one, whatever order they came in.
impl super::registry::Ranked for Arc<CompiledTemplate> {
    type Rank = (bool, std::cmp::Reverse<usize>, usize);

    fn rank(&self) -> Self::Rank {
        self.matcher.specificity()
    }
}
