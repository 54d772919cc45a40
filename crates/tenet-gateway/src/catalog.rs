//! What an upstream offers (tools, prompts, resources, resource templates), how it is
//! named on the gateway, and the rule that settles a name two of them would take.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use tenet_client::{Client, ClientError};
use tenet_protocol::skill_extension::{SkillEntry, SkillResources};
use tenet_protocol::{
    ContentBlock, JsonObject, ListDigests, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, Prompt,
    ProtocolVersion, Resource, ResourceContents, ResourceTemplate, SKILLS_EXTENSION, Tool,
};
use tenet_server::jsonrpc::ErrorCode;

/// The scheme of the URIs an upstream's resources are advertised under:
/// `tenet://<upstream>/<the upstream's own URI, as is>`.
pub const URI_SCHEME: &str = "tenet";

/// The schemes whose URIs keep their scheme on the gateway, the upstream's name inside
/// the URI (`ui://<rest>` as `ui://<upstream>/<rest>`): MCP Apps' user interfaces
/// (`io.modelcontextprotocol/ui`), which a host renders only under `ui://`, and skills'
/// files (`io.modelcontextprotocol/skills`), whose path must end in the skill's name
/// (the upstream's name is a prefix of the path, as the extension allows).
const KEPT_SCHEMES: [&str; 2] = ["ui://", "skill://"];

/// Which lists to fetch: a set of [`Kinds::TOOLS`], [`Kinds::PROMPTS`] and
/// [`Kinds::RESOURCES`] (resources and resource templates, which change together).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Kinds(pub(crate) u8);

impl Kinds {
    pub(crate) const TOOLS: Self = Self(1);
    pub(crate) const PROMPTS: Self = Self(2);
    pub(crate) const RESOURCES: Self = Self(4);
    pub(crate) const ALL: Self = Self(7);
    pub(crate) const NONE: Self = Self(0);

    pub(crate) fn has(self, kind: Self) -> bool {
        self.0 & kind.0 == kind.0
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The lists whose digests differ between `old` and `new`.
    pub(crate) fn changed(old: &ListDigests, new: &ListDigests) -> Self {
        let mut kinds = Self::NONE;
        if old.tools != new.tools {
            kinds |= Self::TOOLS;
        }
        if old.prompts != new.prompts {
            kinds |= Self::PROMPTS;
        }
        if old.resources != new.resources || old.resource_templates != new.resource_templates {
            kinds |= Self::RESOURCES;
        }
        kinds
    }
}

impl std::ops::BitOr for Kinds {
    type Output = Self;
    fn bitor(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

impl std::ops::BitOrAssign for Kinds {
    fn bitor_assign(&mut self, other: Self) {
        self.0 |= other.0;
    }
}

/// Everything one upstream lists. A kind is `None` when its list failed this time
/// (the upstream answered with an error), or was not asked for: what was listed of it
/// before stays.
#[derive(Debug, Default, Clone)]
pub(crate) struct Listing {
    pub tools: Option<Vec<Tool>>,
    pub prompts: Option<Vec<Prompt>>,
    pub resources: Option<Vec<Resource>>,
    pub templates: Option<Vec<ResourceTemplate>>,
    /// Its skills' entries as it gives them (the Skills extension), listed with its
    /// resources: a skill's files are resources, and change with them.
    pub skills: Option<Vec<SkillEntry>>,
    /// Whether the upstream takes `tools/call` as a 2025-11-25 task: it speaks that
    /// version and declares `tasks.requests.tools.call`.
    pub tool_tasks: bool,
}

impl Listing {
    /// Lists, every page, each of the `kinds` `client`'s server says it has (none of a
    /// kind whose capability it lacks), with `meta` in each request's `_meta`. A kind
    /// whose list the server refuses is logged and left `None`, so one broken list
    /// keeps neither the upstream nor its other kinds out.
    ///
    /// # Errors
    /// When the connection fails (or a list takes longer than the upstream's timeout).
    pub(crate) async fn fetch(
        client: &Client,
        upstream: &str,
        kinds: Kinds,
        meta: &JsonObject,
    ) -> Result<Self, ClientError> {
        let capabilities = client.server().map(|d| d.capabilities).unwrap_or_default();
        let has_resources = capabilities.resources.is_some();
        let tool_tasks = client.version() == ProtocolVersion::V2025_11_25
            && capabilities.tasks.as_ref().is_some_and(|t| t.pointer("/requests/tools/call").is_some());
        let mut listing = Self { tool_tasks, ..Self::default() };
        if kinds.has(Kinds::TOOLS) {
            listing.tools =
                kind(upstream, "tools", capabilities.tools.is_some(), client.list_all_tools_with(meta)).await?;
        }
        if kinds.has(Kinds::PROMPTS) {
            let prompts = client.list_all_with::<ListPromptsResult>(meta);
            listing.prompts = kind(upstream, "prompts", capabilities.prompts.is_some(), prompts).await?;
        }
        if kinds.has(Kinds::RESOURCES) {
            let resources = client.list_all_with::<ListResourcesResult>(meta);
            listing.resources = kind(upstream, "resources", has_resources, resources).await?;
            let templates = client.list_all_with::<ListResourceTemplatesResult>(meta);
            listing.templates = kind(upstream, "templates", has_resources, templates).await?;
            let has_skills = capabilities.has_extension(SKILLS_EXTENSION);
            listing.skills = kind(upstream, "skills", has_skills, client.all_skills_with(meta)).await?;
        }
        Ok(listing)
    }

    /// Whether it holds every kind (none failed, none left out).
    pub(crate) fn is_whole(&self) -> bool {
        self.tools.is_some() && self.prompts.is_some() && self.resources.is_some() && self.templates.is_some()
    }

    /// This listing with the kinds `newer` holds taken from it.
    pub(crate) fn update(&mut self, newer: &Self) {
        if let Some(tools) = &newer.tools {
            self.tools = Some(tools.clone());
            self.tool_tasks = newer.tool_tasks;
        }
        if let Some(prompts) = &newer.prompts {
            self.prompts = Some(prompts.clone());
        }
        if let Some(resources) = &newer.resources {
            self.resources = Some(resources.clone());
        }
        if let Some(templates) = &newer.templates {
            self.templates = Some(templates.clone());
        }
        if let Some(skills) = &newer.skills {
            self.skills = Some(skills.clone());
        }
    }

    /// How many items it holds (of the kinds listed).
    pub(crate) fn counts(&self) -> [usize; 4] {
        [
            self.tools.as_ref().map_or(0, Vec::len),
            self.prompts.as_ref().map_or(0, Vec::len),
            self.resources.as_ref().map_or(0, Vec::len),
            self.templates.as_ref().map_or(0, Vec::len),
        ]
    }
}

/// One kind's list: empty when the server lacks the capability, `None` when it
/// answered the list with an error (a server with resources but no templates answers
/// -32601, which is an empty list, not a failure).
async fn kind<T>(
    upstream: &str,
    what: &str,
    offered: bool,
    list: impl std::future::Future<Output = Result<Vec<T>, ClientError>>,
) -> Result<Option<Vec<T>>, ClientError> {
    if !offered {
        return Ok(Some(Vec::new()));
    }
    match list.await {
        Ok(items) => Ok(Some(items)),
        Err(ClientError::Server(e)) if e.code == ErrorCode::METHOD_NOT_FOUND => Ok(Some(Vec::new())),
        Err(error @ (ClientError::Server(_) | ClientError::Protocol(_))) => {
            tracing::warn!(upstream, %error, "listing {what} failed; what was listed before stays");
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// How an upstream's resource URIs read on the gateway: `tenet://<name>/` before the
/// upstream's own URI (`ui://<name>/` after the scheme of an MCP App's `ui://` one), or
/// the URI as is in a prefix-less gateway. The mapping is reversible: taking the prefix
/// away gives back exactly what the upstream wrote. A peer named by the node id it
/// announces has no URIs until its name is known.
#[derive(Debug)]
pub(crate) struct Uris {
    prefixless: bool,
    prefix: OnceLock<String>,
    /// `ui://<name>/` and `skill://<name>/`, as [`KEPT_SCHEMES`].
    kept_prefixes: OnceLock<[String; 2]>,
}

impl Uris {
    pub(crate) fn new(name: &str, prefixless: bool) -> Self {
        let uris = Self { prefixless, prefix: OnceLock::new(), kept_prefixes: OnceLock::new() };
        if !name.is_empty() {
            uris.name(name);
        }
        uris
    }

    /// Names the upstream, once: its URIs are under `tenet://<name>/` from now on.
    pub(crate) fn name(&self, name: &str) {
        let _ = self.prefix.set(format!("{URI_SCHEME}://{name}/"));
        let _ = self.kept_prefixes.set(KEPT_SCHEMES.map(|scheme| format!("{scheme}{name}/")));
    }

    fn prefix(&self) -> Option<&str> {
        if self.prefixless { None } else { Some(self.prefix.get().map_or("", String::as_str)) }
    }

    /// The gateway's URI for the upstream's `uri` (or URI template).
    pub(crate) fn outward(&self, uri: &str) -> String {
        let prefix = match self.prefix() {
            Some("") | None => return uri.to_owned(),
            Some(prefix) => prefix,
        };
        let kept = KEPT_SCHEMES.iter().zip(self.kept_prefixes.get().into_iter().flatten());
        for (scheme, named) in kept {
            if let Some(rest) = uri.strip_prefix(scheme) {
                return format!("{named}{rest}");
            }
        }
        format!("{prefix}{uri}")
    }

    /// The URI templates under which any URI of the upstream reads on the gateway: the
    /// `tenet://` prefix's and the `ui://` one's (one template matching every URI, in a
    /// prefix-less gateway). Not `skill://<name>/`: skills' files are read through the
    /// server's skills ([`tenet_skills::Skills::mount`]), whose own skills come first.
    pub(crate) fn every_uri(&self) -> Vec<String> {
        const ANY: &str = "{+uri}";
        match self.prefix() {
            None => vec![ANY.to_owned()],
            Some(_) => vec![self.outward(ANY), self.outward(&format!("{}{ANY}", KEPT_SCHEMES[0]))],
        }
    }

    /// Rewrites the user interface an MCP App tool names in its `_meta` (`ui.resourceUri`,
    /// and the older flat `ui/resourceUri`) to the gateway's URI for it.
    pub(crate) fn tool_meta(&self, meta: Option<&mut JsonObject>) {
        let Some(meta) = meta.filter(|_| !self.prefixless) else { return };
        rewrite_str(meta.get_mut("ui").and_then(|ui| ui.get_mut("resourceUri")), |uri| self.outward(uri));
        rewrite_str(meta.get_mut("ui/resourceUri"), |uri| self.outward(uri));
    }

    /// Rewrites the `elicitationId` of `step` (an elicitation a -32042 error lists, or
    /// URL-mode `elicitation/create` params) behind the same prefix as the upstream's
    /// URIs: the ids a client sees stay unique across upstreams, as 2025-11-25 asks of
    /// one server. The upstream's `notifications/elicitation/complete` is passed on
    /// with the id rewritten the same way ([`Uris::outward`]).
    pub(crate) fn elicitation(&self, step: &mut serde_json::Value) {
        rewrite_str(step.get_mut("elicitationId"), |id| self.outward(id));
    }

    /// The upstream's URI for the gateway's `uri`; `None` if `uri` is not one of its
    /// (or the upstream is not named yet).
    pub(crate) fn inward<'a>(&self, uri: &'a str) -> Option<Cow<'a, str>> {
        match self.prefix() {
            Some("") => None,
            Some(prefix) => match uri.strip_prefix(prefix) {
                Some(original) => Some(Cow::Borrowed(original)),
                None => KEPT_SCHEMES.iter().zip(self.kept_prefixes.get()?).find_map(|(scheme, named)| {
                    uri.strip_prefix(named.as_str()).map(|rest| Cow::Owned(format!("{scheme}{rest}")))
                }),
            },
            None => Some(Cow::Borrowed(uri)),
        }
    }

    /// Rewrites the URIs of a skill's entry (its `SKILL.md`'s and its files'); nothing
    /// else in it changes, its digests least of all.
    pub(crate) fn skill(&self, entry: &mut SkillEntry) {
        if self.prefixless {
            return;
        }
        entry.uri = self.outward(&entry.uri);
        if let SkillResources::Listed(files) = &mut entry.resources {
            for file in files {
                file.uri = self.outward(&file.uri);
            }
        }
    }

    fn contents(&self, contents: &mut ResourceContents) {
        if !self.prefixless {
            let uri = match contents {
                ResourceContents::Text(text) => &mut text.uri,
                ResourceContents::Blob(blob) => &mut blob.uri,
            };
            *uri = self.outward(uri);
        }
    }

    /// Rewrites the URIs of resources read from the upstream.
    pub(crate) fn read(&self, contents: &mut [ResourceContents]) {
        for c in contents {
            self.contents(c);
        }
    }

    /// Rewrites the URIs of resource links and embedded resources in content blocks
    /// (a tool's result, a prompt's messages), so that the client can read them
    /// through the gateway.
    pub(crate) fn blocks<'a>(&self, blocks: impl IntoIterator<Item = &'a mut ContentBlock>) {
        if self.prefixless {
            return;
        }
        for block in blocks {
            match block {
                ContentBlock::ResourceLink(link) => link.uri = self.outward(&link.uri),
                ContentBlock::Resource { resource, .. } => self.contents(resource),
                ContentBlock::ToolResult { content, .. } => self.blocks(content.iter_mut()),
                _ => {}
            }
        }
    }

    /// Whether [`Self::blocks`] may rewrite any of `blocks`.
    pub(crate) fn rewrites(&self, blocks: &[ContentBlock]) -> bool {
        !self.prefixless
            && blocks.iter().any(|block| {
                matches!(
                    block,
                    ContentBlock::ResourceLink(_) | ContentBlock::Resource { .. } | ContentBlock::ToolResult { .. }
                )
            })
    }
}

/// Rewrites `value` with `rewrite` when it is a string (a URI, or an id the gateway
/// names its own way); anything else, or nothing, is left as it is.
pub(crate) fn rewrite_str(value: Option<&mut serde_json::Value>, rewrite: impl FnOnce(&str) -> String) {
    if let Some(serde_json::Value::String(text)) = value {
        *text = rewrite(text);
    }
}

/// Who owns each advertised name of one kind (tool, prompt, resource, template).
pub(crate) type Owners = HashMap<String, Owner>;

/// The owner of an advertised name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    /// The index of the upstream in the config.
    pub index: usize,
    /// The item's name (or URI) at the upstream: two of its names may be advertised
    /// as one (`a b` and `a:b` are both `a_b`), and the gateway calls the one it holds.
    pub original: String,
}

/// The names of one kind that upstream `index` owns.
pub(crate) fn owned_by(owners: &Owners, index: usize) -> Vec<String> {
    owners.iter().filter(|(_, owner)| owner.index == index).map(|(n, _)| n.clone()).collect()
}

/// What placing one upstream's items of one kind decided.
pub(crate) struct Placed<T> {
    /// Items to define on the server (new, or changed since the last listing).
    pub defined: Vec<(String, T)>,
    /// Every name this upstream keeps or takes, with the item's name at the upstream.
    pub names: HashMap<String, String>,
    /// Names this upstream held before and no longer lists.
    pub removed: Vec<String>,
    /// Names taken over from later upstreams (which listed them first).
    pub taken_from: Vec<(usize, String)>,
    /// Items left out (a name taken, or none valid).
    pub left_out: usize,
}

/// Places the items of upstream `index`, each under the name it would advertise
/// (`None`: no valid name, left out).
///
/// The conflict rule: what the gateway serves itself keeps its names; between
/// upstreams, the one earlier in the config keeps a name both would advertise,
/// whichever connected first. `on_server(name, item)` says whether `name` is on the
/// server and, if so, whether exactly as `item` (an unchanged item is not defined
/// again, so a re-list that found nothing new announces nothing).
pub(crate) fn place<T>(
    owners: &Owners,
    index: usize,
    upstream: &str,
    kind: &str,
    items: impl IntoIterator<Item = (Option<String>, String, T)>,
    on_server: impl Fn(&str, &T) -> Option<bool>,
    names_of: impl Fn(usize) -> String,
) -> Placed<T> {
    let mut placed =
        Placed { defined: Vec::new(), names: HashMap::new(), removed: Vec::new(), taken_from: Vec::new(), left_out: 0 };
    for (name, original, item) in items {
        let Some(name) = name else {
            tracing::warn!(upstream, kind, %original, "left out: no valid name fits it");
            placed.left_out += 1;
            continue;
        };
        if placed.names.contains_key(&name) {
            // Two of its own items under one name (say `a b` and `a_b`): the first keeps it.
            tracing::warn!(upstream, kind, %original, %name, "left out: another of its items has that name");
            placed.left_out += 1;
            continue;
        }
        let owner = owners.get(&name);
        match owner.map(|owner| owner.index) {
            Some(other) if other < index => {
                let other = names_of(other);
                tracing::warn!(upstream, kind, %original, %name, %other, "left out: the name is taken by an earlier upstream");
                placed.left_out += 1;
                continue;
            }
            Some(other) if other > index => placed.taken_from.push((other, name.clone())),
            Some(_) => {}
            None if on_server(&name, &item).is_some() => {
                tracing::warn!(upstream, kind, %original, %name, "left out: the name is taken");
                placed.left_out += 1;
                continue;
            }
            None => {}
        }
        // Unchanged: the same upstream's same item, listed on the server as it is now.
        let unchanged = owner.is_some_and(|owner| owner.index == index && owner.original == original)
            && on_server(&name, &item) == Some(true);
        placed.names.insert(name.clone(), original);
        if !unchanged {
            placed.defined.push((name, item));
        }
    }
    placed.removed = owned_by(owners, index).into_iter().filter(|n| !placed.names.contains_key(n)).collect();
    placed
}

/// Records the outcome of [`place`] (less the names in `refused`, whose items the
/// server would not take) in `owners`; returns the names a refused item leaves stale
/// on the server (listed before, now to be removed).
pub(crate) fn settle<T>(owners: &mut Owners, index: usize, placed: &mut Placed<T>, refused: &[String]) -> Vec<String> {
    let mut stale = Vec::new();
    for name in refused {
        placed.names.remove(name);
        placed.left_out += 1;
        if owners.get(name).is_some_and(|owner| owner.index == index) {
            stale.push(name.clone());
        }
    }
    for name in placed.removed.iter().chain(&stale) {
        owners.remove(name);
    }
    for (name, original) in &placed.names {
        owners.insert(name.clone(), Owner { index, original: original.clone() });
    }
    placed.taken_from.retain(|(_, name)| placed.names.contains_key(name));
    stale
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenet_protocol::{ResourceLink, TextResourceContents};

    #[test]
    fn uris_round_trip_and_prefixless_is_transparent() {
        let uris = Uris::new("files", false);
        for original in ["file:///etc/hosts", "test://static/resource/1?x=1#frag", "file:///{+path}", ""] {
            let outward = uris.outward(original);
            assert!(outward.starts_with("tenet://files/"));
            assert_eq!(uris.inward(&outward).as_deref(), Some(original));
        }
        assert_eq!(uris.inward("tenet://other/file:///x"), None);
        assert_eq!(uris.inward("file:///x"), None);
        let transparent = Uris::new("files", true);
        assert_eq!(transparent.outward("file:///x"), "file:///x");
        assert_eq!(transparent.inward("file:///x").as_deref(), Some("file:///x"));
        assert_eq!(transparent.outward("ui://app/x.html"), "ui://app/x.html");
        assert_eq!(transparent.every_uri(), ["{+uri}"]);
    }

    /// Skills: a skill's path must end in its name, so the upstream's name goes before
    /// the path (a prefix the extension allows), and back out exactly.
    #[test]
    fn skill_uris_keep_their_scheme_with_the_upstreams_name_first_in_the_path() {
        let uris = Uris::new("kb", false);
        for original in ["skill://rust-testing/SKILL.md", "skill://acme/billing/refunds/templates/a.md", "skill://"] {
            let outward = uris.outward(original);
            assert!(outward.starts_with("skill://kb/"), "{outward}");
            assert_eq!(uris.inward(&outward).as_deref(), Some(original));
        }
        assert_eq!(uris.outward("skill://code-review/SKILL.md"), "skill://kb/code-review/SKILL.md");
        assert_eq!(uris.inward("skill://other/x/SKILL.md"), None, "another upstream's");
        assert_eq!(Uris::new("kb", true).outward("skill://x/SKILL.md"), "skill://x/SKILL.md");
    }

    /// MCP Apps: a host renders a user interface only under `ui://`, so the upstream's
    /// name goes inside the URI, and back out exactly, whatever the rest holds.
    #[test]
    fn ui_uris_keep_their_scheme_with_the_upstreams_name_inside() {
        let uris = Uris::new("apps", false);
        for original in ["ui://get-time/mcp-app.html", "ui://a b/../x?y=1#z", "ui://", "ui://%2F/ü"] {
            let outward = uris.outward(original);
            assert!(outward.starts_with("ui://apps/"), "{outward}");
            assert_eq!(uris.inward(&outward).as_deref(), Some(original));
        }
        assert_eq!(uris.outward("ui://get-time/mcp-app.html"), "ui://apps/get-time/mcp-app.html");
        assert_eq!(uris.inward("ui://other/x"), None, "another upstream's");
        assert_eq!(uris.inward("tenet://apps/ui://x").as_deref(), Some("ui://x"), "the general form still reads");
        assert_eq!(uris.every_uri(), ["tenet://apps/{+uri}", "ui://apps/{+uri}"]);
        let mut meta: JsonObject = serde_json::from_value(serde_json::json!({
            "ui": {"resourceUri": "ui://get-time/mcp-app.html", "visibility": ["model"]},
            "ui/resourceUri": "ui://get-time/mcp-app.html",
            "other": "ui://untouched"
        }))
        .unwrap();
        uris.tool_meta(Some(&mut meta));
        assert_eq!(meta["ui"]["resourceUri"], "ui://apps/get-time/mcp-app.html");
        assert_eq!(meta["ui"]["visibility"], serde_json::json!(["model"]));
        assert_eq!(meta["ui/resourceUri"], "ui://apps/get-time/mcp-app.html");
        assert_eq!(meta["other"], "ui://untouched");
    }

    #[test]
    fn links_and_embedded_resources_point_back_through_the_gateway() {
        let uris = Uris::new("up", false);
        let link = ResourceLink {
            uri: "file:///a".into(),
            name: "a".into(),
            title: None,
            description: None,
            mime_type: None,
            size: None,
            annotations: None,
            icons: None,
            meta: None,
        };
        let embedded = ResourceContents::Text(TextResourceContents {
            uri: "file:///b".into(),
            mime_type: None,
            text: "b".into(),
            meta: None,
        });
        let mut blocks = vec![
            ContentBlock::text("file:///not-a-link"),
            ContentBlock::ResourceLink(Box::new(link)),
            ContentBlock::Resource { resource: embedded, annotations: None, meta: None },
        ];
        uris.blocks(blocks.iter_mut());
        let json = serde_json::to_value(&blocks).unwrap();
        assert_eq!(json[0]["text"], "file:///not-a-link");
        assert_eq!(json[1]["uri"], "tenet://up/file:///a");
        assert_eq!(json[2]["resource"]["uri"], "tenet://up/file:///b");
    }

    fn names(placed: &Placed<u8>) -> Vec<&str> {
        let mut names: Vec<&str> = placed.names.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    #[test]
    fn the_earlier_upstream_keeps_a_contested_name() {
        let mut owners = Owners::new();
        let item = |n: &str| (Some(n.to_owned()), n.to_owned(), 0u8);
        let local = |name: &str, _: &u8| (name == "local").then_some(false);
        // Upstream 1 connects first and takes "shared".
        let mut placed = place(&owners, 1, "b", "tool", [item("shared"), item("local")], local, |i| i.to_string());
        assert_eq!(names(&placed), ["shared"]);
        assert_eq!(placed.left_out, 1, "a name the gateway serves itself stays its own");
        settle(&mut owners, 1, &mut placed, &[]);
        // Upstream 0 comes later and takes it back; upstream 2 cannot.
        let mut placed = place(&owners, 0, "a", "tool", [item("shared")], local, |i| i.to_string());
        assert_eq!(placed.taken_from, [(1, "shared".to_owned())]);
        settle(&mut owners, 0, &mut placed, &[]);
        assert_eq!(owners["shared"].index, 0);
        let placed =
            place(&owners, 2, "c", "tool", [item("shared"), (None, "bad name".into(), 0)], local, |i| i.to_string());
        assert!(placed.names.is_empty());
        assert_eq!(placed.left_out, 2);
    }

    #[test]
    fn an_item_renamed_at_the_upstream_is_defined_again_under_the_same_advertised_name() {
        let mut owners = Owners::new();
        // `get data` and `get:data` are both advertised as `get_data`.
        let item = |original: &str| (Some("get_data".to_owned()), original.to_owned(), 1u8);
        let mut placed = place(&owners, 0, "a", "tool", [item("get data")], |_, _| None, |i| i.to_string());
        settle(&mut owners, 0, &mut placed, &[]);
        // The server lists `get_data` exactly as the new listing would.
        let same = |_: &str, _: &u8| Some(true);
        let placed = place(&owners, 0, "a", "tool", [item("get data")], same, |i| i.to_string());
        assert!(placed.defined.is_empty(), "nothing changed");
        let mut placed = place(&owners, 0, "a", "tool", [item("get:data")], same, |i| i.to_string());
        let defined: Vec<&str> = placed.defined.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(defined, ["get_data"], "the forwarder must call the new name");
        settle(&mut owners, 0, &mut placed, &[]);
        assert_eq!(owners["get_data"], Owner { index: 0, original: "get:data".to_owned() });
    }

    #[test]
    fn a_relist_defines_only_what_changed_and_removes_what_left() {
        let mut owners = Owners::new();
        let item = |n: &str, v: u8| (Some(n.to_owned()), n.to_owned(), v);
        let mut placed = place(&owners, 0, "a", "prompt", [item("x", 1), item("y", 1)], |_, _| None, |i| i.to_string());
        settle(&mut owners, 0, &mut placed, &[]);
        // The server now has x = 1 and y = 1; the upstream lists x = 1 and z = 2.
        let on_server = |name: &str, v: &u8| match name {
            "x" | "y" => Some(*v == 1),
            _ => None,
        };
        let mut placed = place(&owners, 0, "a", "prompt", [item("x", 1), item("z", 2)], on_server, |i| i.to_string());
        let defined: Vec<&str> = placed.defined.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(defined, ["z"]);
        assert_eq!(placed.removed, ["y"]);
        // The server refused z: it is left out, and y is gone.
        let stale = settle(&mut owners, 0, &mut placed, &["z".to_owned()]);
        assert!(stale.is_empty());
        assert_eq!(names(&placed), ["x"]);
        assert_eq!(owners.len(), 1);
    }
}
