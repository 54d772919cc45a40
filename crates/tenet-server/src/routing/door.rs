//! The one door: what every request passes before its handler runs, whichever
//! transport brought it (stdio, Streamable HTTP in either era, HTTP+SSE, WebSocket,
//! the REST facade, a gateway or a peer node relaying it). In order:
//!
//! 1. **Scope.** Every method that touches a capability needs the scopes of what it
//!    touches: `tools/call` the tool's, `prompts/get` the prompt's, `resources/read`
//!    and `resources/subscribe` the resource's or its template's, `completion/complete`
//!    those of the prompt or template it completes, `subscriptions/listen` those of
//!    every resource it asks to hear about, a method added to the table
//!    ([`crate::MethodDef`]) its own. A target that does not exist (or is not offered
//!    to the requesting node) passes, for its handler to report as unknown.
//! 2. **Rate.** The caller's bucket for the method, and for the tool, prompt or
//!    resource it names, as read from the message itself
//!    ([`crate::ServerConfig::rate_limit`]), or for the tool's own rate
//!    ([`crate::ToolDef::rate_limit`]). Every transport names the caller
//!    ([`Link::caller`]) when the server has rate limits; a request without one is
//!    the server's own (a REST listing's later pages, say).
//!
//! A refusal is a JSON-RPC error: [`crate::INSUFFICIENT_SCOPE`] or
//! [`crate::RATE_LIMITED`], counted in the metrics with every other answer.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Deserialize;
use tenet_jsonrpc::{ErrorObject, RawJson, Request};
use tenet_protocol::{Method, Reference};

use super::admitted::Admitted;
use super::listen_bound;
use super::route::{Called, Route};
use crate::handler::{CompiledTool, PromptDef};
use crate::server::Server;
use crate::session::Link;

/// What a request acts on, as its params name it.
enum Target<'a> {
    /// Nothing that scopes or rates tell apart.
    None,
    /// A tool or prompt, by `name`.
    Name(Cow<'a, str>),
    /// A resource, by `uri`.
    Uri(Cow<'a, str>),
    /// What a completion completes (`ref`).
    Ref(Reference),
    /// The resources a listen stream asks to hear about.
    Listen(Vec<String>),
}

#[derive(Deserialize)]
struct Named<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Located<'a> {
    #[serde(borrow, default)]
    uri: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Completed {
    #[serde(rename = "ref", default)]
    reference: Option<Reference>,
}

#[derive(Deserialize)]
struct Listened {
    #[serde(default)]
    notifications: Option<Heard>,
}

#[derive(Deserialize)]
struct Heard {
    #[serde(rename = "resourceSubscriptions", default)]
    resource_subscriptions: Option<Vec<String>>,
}

impl<'a> Target<'a> {
    /// Reads the member of `raw` that names the target of `method`, and no other: a
    /// malformed one is refused here, as its handler would refuse it, so that nothing
    /// passes the door unread.
    fn read(method: Method, raw: Option<&'a RawJson>) -> Result<Self, ErrorObject> {
        let Some(raw) = raw else { return Ok(Target::None) };
        let bad = |e: serde_json::Error| ErrorObject::invalid_params(format!("Invalid params: {e}"));
        let text = raw.get();
        Ok(match method {
            Method::ToolsCall | Method::PromptsGet => {
                serde_json::from_str::<Named<'a>>(text).map_err(bad)?.name.map_or(Target::None, Target::Name)
            }
            Method::ResourcesRead | Method::ResourcesSubscribe => {
                serde_json::from_str::<Located<'a>>(text).map_err(bad)?.uri.map_or(Target::None, Target::Uri)
            }
            Method::CompletionComplete => {
                serde_json::from_str::<Completed>(text).map_err(bad)?.reference.map_or(Target::None, Target::Ref)
            }
            Method::SubscriptionsListen => {
                let heard = serde_json::from_str::<Listened>(text).map_err(bad)?.notifications;
                heard.and_then(|h| h.resource_subscriptions).map_or(Target::None, Target::Listen)
            }
            _ => Target::None,
        })
    }
}

impl Server {
    /// Whether the door has anything to check for this request: scopes (a caller with a
    /// grant using a capability) or rate limits. When not, [`Server::admit`] need not run.
    pub(crate) fn guards(&self, route: &Route, link: &Link) -> bool {
        self.rate_limiter().is_some() || (link.grant.is_some() && touches_capability(&route.method))
    }

    /// Lets a routed request through, or says why not: the rate limit first (a refused
    /// request still spends a token, so probing costs as much as using), then the
    /// scopes.
    pub(crate) async fn admit(&self, route: &mut Route, request: &Request, link: &Link) -> Result<(), ErrorObject> {
        let limiter = self.rate_limiter();
        let scoped = link.grant.is_some() && touches_capability(&route.method);
        let method = route.method.core();
        let target = match method {
            Some(method) => Target::read(method, request.params.as_deref())?,
            None => Target::None,
        };
        if let Target::Listen(uris) = &target {
            // Refused before any is looked up.
            listen_bound(uris.len())?;
        }
        // The tool a call names, looked up once: for its own rate and its scopes.
        let tool = match (&target, method) {
            (Target::Name(name), Some(Method::ToolsCall)) if limiter.is_some() || scoped => {
                Some(self.shared.tools.snapshot().get(name).cloned())
            }
            _ => None,
        };
        if limiter.is_some() {
            let named = match (&target, method) {
                (Target::Name(name), _) => Some(name.as_ref()),
                (Target::Uri(uri), Some(Method::ResourcesRead)) => Some(uri.as_ref()),
                _ => None,
            };
            let own = tool.as_ref().and_then(|tool| tool.as_ref()?.rate);
            // A tool's own rate holds every caller, named by the transport or not (then by
            // its principal or address, as its other shares are).
            let owner;
            let caller = match link.caller.as_deref() {
                Some(caller) => Some(caller),
                None if own.is_some() => {
                    owner = crate::session::share_of(link.grant.as_deref(), None, link.addr)
                        .unwrap_or_else(|| crate::grant::UNNAMED.to_owned());
                    Some(owner.as_str())
                }
                None => None,
            };
            if let Some(caller) = caller {
                self.throttle_with(caller, &request.method, named, own).await?;
            }
        }
        if scoped {
            route.admitted = self.check_scopes(route, &target, tool, link)?.map(Box::new);
        }
        Ok(())
    }

    /// The scope check, for a caller with a grant: what the target is (for its handler),
    /// or why the caller may not use it. An item is held to its scopes whether or not it
    /// is offered to the requesting node: a node path in `_meta` is the client's to
    /// write, and must not make an item look absent to the door and present to a
    /// handler.
    /// `tool` is what [`Server::admit`] found a `tools/call` to name, when it looked.
    fn check_scopes(
        &self,
        route: &Route,
        target: &Target<'_>,
        tool: Option<Option<Arc<CompiledTool>>>,
        link: &Link,
    ) -> Result<Option<Admitted>, ErrorObject> {
        let require = |what: &dyn Fn() -> String, scopes: &[String]| {
            if link.allows(scopes) { Ok(()) } else { Err(link.insufficient_scope(&what(), scopes)) }
        };
        let method = match &route.method {
            Called::Core(core) => core.method,
            Called::Added(added) => {
                require(&|| format!("method {}", added.name), &added.scopes)?;
                return Ok(None);
            }
        };
        Ok(Some(match (method, target) {
            (Method::ToolsCall, Target::Name(name)) => {
                let tool = tool.unwrap_or_else(|| self.shared.tools.snapshot().get(name).cloned());
                if let Some(tool) = &tool {
                    require(&|| format!("tool {name}"), &tool.scopes)?;
                }
                Admitted::Tool(tool)
            }
            (Method::PromptsGet, Target::Name(name)) => Admitted::Prompt(self.check_prompt(name, &require)?),
            (_, Target::Ref(Reference::Prompt { name })) => Admitted::Prompt(self.check_prompt(name, &require)?),
            (_, Target::Ref(Reference::Resource { uri })) => {
                let template = self.shared.templates.snapshot().get(uri).cloned();
                if let Some(template) = &template {
                    require(&|| format!("resource template {uri}"), &template.def.scopes)?;
                }
                Admitted::Template(template)
            }
            (Method::ResourcesRead, Target::Uri(uri)) => {
                // Every item the URI could name is held to its scopes; the handler reads
                // what the requesting node is offered.
                self.check_resource(uri, &require)?;
                Admitted::Resource(self.find_resource(Some(route), uri))
            }
            (_, Target::Uri(uri)) => {
                self.check_resource(uri, &require)?;
                return Ok(None);
            }
            (_, Target::Listen(uris)) => {
                uris.iter().try_for_each(|uri| self.check_resource(uri, &require))?;
                return Ok(None);
            }
            _ => return Ok(None),
        }))
    }

    fn check_prompt(&self, name: &str, require: &Require<'_>) -> Result<Option<PromptDef>, ErrorObject> {
        let prompt = self.shared.prompts.snapshot().get(name).cloned();
        if let Some(prompt) = &prompt {
            require(&|| format!("prompt {name}"), &prompt.scopes)?;
        }
        Ok(prompt)
    }

    /// Holds `uri` to the scopes of what serves it, looked up with no node's view.
    fn check_resource(&self, uri: &str, require: &Require<'_>) -> Result<(), ErrorObject> {
        match self.find_resource(None, uri) {
            Some(found) => require(&|| format!("resource {uri}"), &found.scopes),
            None => Ok(()),
        }
    }
}

/// Refuses the use of what is named (said lazily) unless the caller holds the scopes.
type Require<'a> = dyn Fn(&dyn Fn() -> String, &[String]) -> Result<(), ErrorObject> + 'a;

/// Whether `method` touches something that may require scopes.
fn touches_capability(method: &Called) -> bool {
    let method = match method {
        Called::Core(core) => core.method,
        Called::Added(added) => return !added.scopes.is_empty(),
    };
    matches!(
        method,
        Method::ToolsCall
            | Method::PromptsGet
            | Method::ResourcesRead
            | Method::ResourcesSubscribe
            | Method::CompletionComplete
            | Method::SubscriptionsListen
    )
}
