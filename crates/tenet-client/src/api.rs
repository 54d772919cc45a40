//! Typed calls for every server method, and pagination helpers.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tenet_protocol::{
    CallToolResult, CompleteArgument, CompleteContext, CompleteResult, Era, GetPromptResult, JsonObject,
    ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, LoggingLevel, Method, Prompt,
    ReadResourceResult, Reference, Resource, ResourceTemplate, SubscriptionFilter, Tool,
};

use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::options::RequestOptions;
use tenet_protocol::header::header_params;

/// How many pages a `*_all` helper follows before giving up.
const MAX_PAGES: usize = 1000;
/// The most JSON a whole list (all its pages) may take: past it, the listing fails
/// rather than hold a server's flood in memory (each page is bounded by the message
/// limit; this bounds their sum).
const MAX_LIST_BYTES: usize = 32 << 20;

/// One page of a paginated list.
pub trait Page: DeserializeOwned {
    /// What the list holds.
    type Item;
    /// The method that lists it.
    const METHOD: Method;
    /// The items and the cursor of the next page.
    fn into_parts(self) -> (Vec<Self::Item>, Option<String>);
}

macro_rules! page {
    ($page:ty, $item:ty, $field:ident, $method:ident) => {
        impl Page for $page {
            type Item = $item;
            const METHOD: Method = Method::$method;
            fn into_parts(self) -> (Vec<$item>, Option<String>) {
                (self.$field, self.next_cursor)
            }
        }
    };
}

page!(ListToolsResult, Tool, tools, ToolsList);
page!(ListResourcesResult, Resource, resources, ResourcesList);
page!(ListResourceTemplatesResult, ResourceTemplate, resource_templates, ResourcesTemplatesList);
page!(ListPromptsResult, Prompt, prompts, PromptsList);

fn cursor_params(cursor: Option<&str>) -> Value {
    cursor.map_or_else(|| json!({}), |c| json!({ "cursor": c }))
}

impl Client {
    async fn call<T: DeserializeOwned>(&self, method: Method, params: Value, options: &RequestOptions) -> Result<T> {
        self.request_raw(method.name(), params, options).await?.decode(method.name())
    }

    fn legacy_only(&self, method: Method) -> Result<()> {
        if self.version().era() == Era::Stateless {
            return Err(ClientError::Unsupported(format!("{} does not exist in {}", method.name(), self.version())));
        }
        Ok(())
    }

    /// One page of a list.
    ///
    /// # Errors
    /// As [`Client::request`].
    pub async fn list_page<P: Page>(&self, cursor: Option<&str>) -> Result<P> {
        self.call(P::METHOD, cursor_params(cursor), &RequestOptions::default()).await
    }

    /// Every item of a list, following `nextCursor` (stopping if a cursor repeats).
    ///
    /// # Errors
    /// As [`Client::request`], or a protocol error if the pages never end.
    pub async fn list_all<P: Page>(&self) -> Result<Vec<P::Item>> {
        self.list_all_with::<P>(&JsonObject::new()).await
    }

    /// [`Client::list_all`], with `meta` in the `_meta` of every page's request (a
    /// Tenet node sends its node path: the server then lists what it offers nodes).
    ///
    /// # Errors
    /// As [`Client::list_all`].
    pub async fn list_all_with<P: Page>(&self, meta: &JsonObject) -> Result<Vec<P::Item>> {
        let options = RequestOptions { meta: (!meta.is_empty()).then(|| meta.clone()), ..RequestOptions::default() };
        self.follow_pages(P::METHOD.name(), &options, P::into_parts).await
    }

    /// Every item of the list `method` gives, page after page: each page read as a `T`
    /// and `split` into its items and the next cursor. At most [`MAX_PAGES`] pages and
    /// [`MAX_LIST_BYTES`] of JSON in all; a cursor seen twice ends it with an error.
    pub(crate) async fn follow_pages<T: DeserializeOwned, I>(
        &self,
        method: &str,
        options: &RequestOptions,
        split: impl Fn(T) -> (Vec<I>, Option<String>),
    ) -> Result<Vec<I>> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        let mut seen = HashSet::new();
        let mut bytes = 0usize;
        for _ in 0..MAX_PAGES {
            let raw = self.request_raw(method, cursor_params(cursor.as_deref()), options).await?;
            bytes += raw.len();
            if bytes > MAX_LIST_BYTES {
                let mib = MAX_LIST_BYTES >> 20;
                return Err(ClientError::Protocol(format!("{method} sent more than {mib} MiB across its pages")));
            }
            let (page, next) = split(raw.decode(method)?);
            items.extend(page);
            match next {
                Some(next) if seen.insert(next.clone()) => cursor = Some(next),
                Some(_) => return Err(ClientError::Protocol(format!("{method} repeated a cursor"))),
                None => return Ok(items),
            }
        }
        Err(ClientError::Protocol(format!("{method} has more than {MAX_PAGES} pages")))
    }

    /// `ping` (legacy only).
    ///
    /// # Errors
    /// [`ClientError::Unsupported`] on 2026-07-28; otherwise as [`Client::request`].
    pub async fn ping(&self) -> Result<()> {
        self.legacy_only(Method::Ping)?;
        self.request(Method::Ping.name(), json!({}), &RequestOptions::default()).await.map(drop)
    }

    /// `tools/list`, one page. Tools whose `x-mcp-header` annotations are invalid are
    /// dropped with a warning.
    ///
    /// # Errors
    /// As [`Client::request`].
    pub async fn list_tools(&self, cursor: Option<&str>) -> Result<ListToolsResult> {
        let mut page: ListToolsResult = self.list_page(cursor).await?;
        page.tools = self.keep_valid_tools(page.tools);
        Ok(page)
    }

    /// Every tool, across pages (invalid ones dropped, as [`Client::list_tools`]).
    ///
    /// # Errors
    /// As [`Client::list_all`].
    pub async fn list_all_tools(&self) -> Result<Vec<Tool>> {
        self.list_all_tools_with(&JsonObject::new()).await
    }

    /// [`Client::list_all_tools`], with `meta` in the `_meta` of every page's request.
    ///
    /// # Errors
    /// As [`Client::list_all`].
    pub async fn list_all_tools_with(&self, meta: &JsonObject) -> Result<Vec<Tool>> {
        let tools = self.list_all_with::<ListToolsResult>(meta).await?;
        Ok(self.keep_valid_tools(tools))
    }

    fn keep_valid_tools(&self, tools: Vec<Tool>) -> Vec<Tool> {
        let Ok(mut known) = self.inner.header_params.lock() else { return tools };
        tools
            .into_iter()
            .filter(|tool| match header_params(&tool.input_schema) {
                Ok(params) => {
                    known.insert(tool.name.clone(), params);
                    true
                }
                Err(error) => {
                    tracing::warn!(tool = %tool.name, %error, "dropped a tool with an invalid x-mcp-header annotation");
                    known.remove(&tool.name);
                    false
                }
            })
            .collect()
    }

    /// `tools/call`. A tool's own failure is a result with `is_error`, not an `Err`.
    ///
    /// # Errors
    /// As [`Client::request`].
    pub async fn call_tool(&self, name: &str, arguments: Value) -> Result<CallToolResult> {
        self.call_tool_with(name, arguments, &RequestOptions::default()).await
    }

    /// `tools/call` with per-request options (timeout, progress, cancellation).
    ///
    /// # Errors
    /// As [`Client::request`].
    pub async fn call_tool_with(
        &self,
        name: &str,
        arguments: Value,
        options: &RequestOptions,
    ) -> Result<CallToolResult> {
        let params =
            if arguments.is_null() { json!({ "name": name }) } else { json!({ "name": name, "arguments": arguments }) };
        self.call(Method::ToolsCall, params, options).await
    }

    /// `resources/list`, one page.
    ///
    /// # Errors
    /// As [`Client::request`].
    pub async fn list_resources(&self, cursor: Option<&str>) -> Result<ListResourcesResult> {
        self.list_page(cursor).await
    }

    /// `resources/templates/list`, one page.
    ///
    /// # Errors
    /// As [`Client::request`].
    pub async fn list_resource_templates(&self, cursor: Option<&str>) -> Result<ListResourceTemplatesResult> {
        self.list_page(cursor).await
    }

    /// `resources/read`.
    ///
    /// # Errors
    /// As [`Client::request`].
    pub async fn read_resource(&self, uri: &str) -> Result<ReadResourceResult> {
        self.call(Method::ResourcesRead, json!({ "uri": uri }), &RequestOptions::default()).await
    }

    /// `resources/subscribe` (legacy; on 2026-07-28 use [`Client::listen`]).
    ///
    /// # Errors
    /// [`ClientError::Unsupported`] on 2026-07-28; otherwise as [`Client::request`].
    pub async fn subscribe(&self, uri: &str) -> Result<()> {
        self.legacy_only(Method::ResourcesSubscribe)?;
        self.request(Method::ResourcesSubscribe.name(), json!({ "uri": uri }), &RequestOptions::default())
            .await
            .map(drop)
    }

    /// `resources/unsubscribe` (legacy).
    ///
    /// # Errors
    /// [`ClientError::Unsupported`] on 2026-07-28; otherwise as [`Client::request`].
    pub async fn unsubscribe(&self, uri: &str) -> Result<()> {
        self.legacy_only(Method::ResourcesUnsubscribe)?;
        self.request(Method::ResourcesUnsubscribe.name(), json!({ "uri": uri }), &RequestOptions::default())
            .await
            .map(drop)
    }

    /// `prompts/list`, one page.
    ///
    /// # Errors
    /// As [`Client::request`].
    pub async fn list_prompts(&self, cursor: Option<&str>) -> Result<ListPromptsResult> {
        self.list_page(cursor).await
    }

    /// `prompts/get`.
    ///
    /// # Errors
    /// As [`Client::request`].
    pub async fn get_prompt(&self, name: &str, arguments: BTreeMap<String, String>) -> Result<GetPromptResult> {
        self.call(Method::PromptsGet, json!({ "name": name, "arguments": arguments }), &RequestOptions::default()).await
    }

    /// `completion/complete`.
    ///
    /// # Errors
    /// As [`Client::request`].
    pub async fn complete(
        &self,
        reference: Reference,
        argument: CompleteArgument,
        context: Option<CompleteContext>,
    ) -> Result<CompleteResult> {
        let mut params = json!({ "ref": reference, "argument": argument });
        if let Some(context) = context {
            params["context"] = json!(context);
        }
        self.call(Method::CompletionComplete, params, &RequestOptions::default()).await
    }

    /// `logging/setLevel` (legacy; on 2026-07-28 set a log level per request instead).
    ///
    /// # Errors
    /// [`ClientError::Unsupported`] on 2026-07-28; otherwise as [`Client::request`].
    pub async fn set_log_level(&self, level: LoggingLevel) -> Result<()> {
        self.legacy_only(Method::LoggingSetLevel)?;
        self.request(Method::LoggingSetLevel.name(), json!({ "level": level }), &RequestOptions::default())
            .await
            .map(drop)
    }

    /// `subscriptions/listen` (2026-07-28): opens a notification stream for `filter`;
    /// notifications go to the handler's `on_notification` until the server ends the
    /// stream or `options.cancel` fires. Returns the final result.
    ///
    /// # Errors
    /// [`ClientError::Unsupported`] before 2026-07-28; otherwise as [`Client::request`].
    pub async fn listen(&self, filter: SubscriptionFilter, options: &RequestOptions) -> Result<Value> {
        if self.version().era() != Era::Stateless {
            return Err(ClientError::Unsupported("subscriptions/listen needs 2026-07-28".into()));
        }
        let mut options = options.clone();
        options.timeout = options.timeout.or(Some(Duration::from_secs(365 * 24 * 3600)));
        self.request(Method::SubscriptionsListen.name(), json!({ "notifications": filter }), &options).await
    }
}
