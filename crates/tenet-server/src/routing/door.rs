//! The one door: what every request passes before its handler runs, whichever
//! transport brought it (stdio, Streamable HTTP in either era, HTTP+SSE, WebSocket,
//! the REST facade, a gateway or a peer node relaying it). In order:
//!
//! 1. **Scope.** Every method that touches a capability needs the scopes of what it
//!    touches: `tools/call` the tool's, `prompts/get` the prompt's, `resources/read`
//!    and `resources/subscribe` the resource's or its template's, `completion/complete`
//!    those of the prompt or template it completes, `subscriptions/listen` those of
//!    every resource it asks to hear about. A target that does not exist (or is not
//!    offered to the requesting node) passes, for its handler to report as unknown.
//! 2. **Rate.** The caller's bucket for the method, and for the tool, prompt or
//!    resource it names, as read from the message itself
//!    ([`crate::ServerConfig::rate_limit`]). Every transport names the caller
//!    ([`Link::caller`]) when the server has rate limits; a request without one is
//!    the server's own (a REST listing's later pages, say).
//!
//! A refusal is a JSON-RPC error: [`crate::INSUFFICIENT_SCOPE`] or
//! [`crate::RATE_LIMITED`], counted in the metrics with every other answer.

use std::borrow::Cow;

use serde::Deserialize;
use tenet_jsonrpc::{ErrorObject, RawJson, Request};
use tenet_protocol::{Method, Reference};

use super::router::Route;
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
    /// Lets a routed request through, or says why not. Free when the caller has no
    /// grant (no access control) and the server no rate limits.
    pub(crate) async fn admit(&self, route: &Route, request: &Request, link: &Link) -> Result<(), ErrorObject> {
        let limiter = self.rate_limiter();
        let scoped = link.grant.is_some() && touches_capability(route.method);
        if !scoped && limiter.is_none() {
            return Ok(());
        }
        let target = Target::read(route.method, request.params.as_deref())?;
        if scoped {
            self.check_scopes(route, &target, link)?;
        }
        if let (Some(_), Some(caller)) = (limiter, link.caller.as_deref()) {
            let named = match (&target, route.method) {
                (Target::Name(name), _) => Some(name.as_ref()),
                (Target::Uri(uri), Method::ResourcesRead) => Some(uri.as_ref()),
                _ => None,
            };
            self.throttle(caller, &request.method, named).await?;
        }
        Ok(())
    }

    /// The scope check of step 1, for a caller with a grant.
    fn check_scopes(&self, route: &Route, target: &Target<'_>, link: &Link) -> Result<(), ErrorObject> {
        let refuse = |what: String, scopes: &[String]| {
            if link.allows(scopes) { Ok(()) } else { Err(link.insufficient_scope(&what, scopes)) }
        };
        match (route.method, target) {
            (Method::ToolsCall, Target::Name(name)) => match self.shared.tools.snapshot().get(name) {
                Some(tool) if self.offered_to(route, tool.tool.meta.as_ref()) => {
                    refuse(format!("tool {name}"), &tool.scopes)
                }
                _ => Ok(()),
            },
            (Method::PromptsGet, Target::Name(name)) => self.check_prompt(route, name, &refuse),
            (_, Target::Ref(Reference::Prompt { name })) => self.check_prompt(route, name, &refuse),
            (_, Target::Uri(uri)) => self.check_resource(route, uri, &refuse),
            (_, Target::Ref(Reference::Resource { uri })) => match self.shared.templates.snapshot().get(uri) {
                Some(t) if self.offered_to(route, t.def.template.meta.as_ref()) => {
                    refuse(format!("resource template {uri}"), &t.def.scopes)
                }
                _ => Ok(()),
            },
            (_, Target::Listen(uris)) => uris.iter().try_for_each(|uri| self.check_resource(route, uri, &refuse)),
            _ => Ok(()),
        }
    }

    fn check_prompt(&self, route: &Route, name: &str, refuse: &Refuse<'_>) -> Result<(), ErrorObject> {
        match self.shared.prompts.snapshot().get(name) {
            Some(p) if self.offered_to(route, p.prompt.meta.as_ref()) => refuse(format!("prompt {name}"), &p.scopes),
            _ => Ok(()),
        }
    }

    fn check_resource(&self, route: &Route, uri: &str, refuse: &Refuse<'_>) -> Result<(), ErrorObject> {
        match self.find_resource(route, uri) {
            Some(found) => refuse(format!("resource {uri}"), &found.scopes),
            None => Ok(()),
        }
    }
}

/// Refuses the use of what is named unless the caller holds the scopes.
type Refuse<'a> = dyn Fn(String, &[String]) -> Result<(), ErrorObject> + 'a;

/// Whether `method` touches something that may require scopes.
fn touches_capability(method: Method) -> bool {
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
