//! Serving a [`Catalog`]: the extension's methods on the server's method table, and
//! its files as `skill://` resources.

use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tenet_jsonrpc::ErrorObject;
use tenet_protocol::skill_extension::SkillEntry;
use tenet_protocol::{BlobResourceContents, Resource, ResourceContents, ResourceTemplate, TextResourceContents};
use tenet_server::{Context, MethodDef, Params, ReadRequest, ResourceDef, TemplateDef, ToolError};

use crate::catalog::{Catalog, Child, SCHEME, Skill, hex};
use crate::mount::{Mount, Mounts};

pub use tenet_protocol::SKILLS_EXTENSION;
/// Skills a page of `skills/list` holds, and children a page of a directory read.
pub const PAGE: usize = 100;
/// The template every skill file is read through (it is never listed).
pub const FILES_TEMPLATE: &str = "skill://{+path}";

/// The skills a server serves, replaced whole when they change, and the skills of other
/// servers mounted beside them ([`Skills::mount`]).
#[derive(Debug, Default)]
pub struct Skills {
    current: RwLock<Arc<Catalog>>,
    /// The scopes a caller needs to see and read the server's own skills.
    scopes: Vec<String>,
    mounts: RwLock<Arc<Mounts>>,
}

#[derive(Deserialize)]
struct ListParams {
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Deserialize)]
struct UriParams {
    uri: String,
    #[serde(default)]
    cursor: Option<String>,
}

impl Skills {
    /// Serves `catalog`.
    pub fn new(catalog: Catalog) -> Arc<Self> {
        Self::scoped(catalog, Vec::new())
    }

    /// Serves `catalog` to callers that hold `scopes`: others are not shown its skills
    /// (a mounted server's are shown as the mount's own scopes say). Give the files'
    /// template ([`Skills::files`]) and listed `SKILL.md`s the same scopes.
    pub fn scoped(catalog: Catalog, scopes: Vec<String>) -> Arc<Self> {
        Arc::new(Self { current: RwLock::new(Arc::new(catalog)), scopes, mounts: RwLock::default() })
    }

    /// Who answers for `uri` for the caller of `ctx`: the server itself when its catalog
    /// covers the URI (-32003 for a caller without the catalog's scopes), else the mount
    /// shown to the caller that `holds` it, else the server (which has nothing there).
    fn owner(&self, uri: &str, ctx: &Context, holds: impl Fn(&Mount) -> bool) -> Result<Owner, ErrorObject> {
        let catalog = self.catalog();
        if catalog.covers(uri) {
            if !ctx.may(&self.scopes) {
                return Err(ctx.insufficient_scope("the server's skills", &self.scopes));
            }
            return Ok(Owner::Own(catalog));
        }
        Ok(self.mounted().find(ctx, holds).map_or(Owner::Own(catalog), Owner::Mounted))
    }

    /// The catalog served now.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Serves `catalog` from now on; returns the one before.
    pub fn replace(&self, catalog: Catalog) -> Arc<Catalog> {
        let mut slot = self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::replace(&mut *slot, Arc::new(catalog))
    }

    /// Lists `mount`'s skills beside this server's own from now on, in place of the
    /// mount of the same key: after them, mounts in the order of their keys. A
    /// `skills/get`, directory read or file read of a URI this server's catalog does not
    /// cover goes to the mount that lists that skill, or holds that file or directory;
    /// one the catalog covers (a file of its skills, or anything inside their folders)
    /// is the server's own. Returns how many of the mount's skills the server's own
    /// shadow that way (they are not listed).
    pub fn mount(&self, mount: Mount) -> usize {
        let catalog = self.catalog();
        let shadowed = mount.entries.iter().filter(|e| catalog.covers(&e.uri)).count();
        let mut slot = self.mounts.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Arc::new(slot.with(mount));
        shadowed
    }

    /// Takes the mount of `key` away; whether there was one.
    pub fn unmount(&self, key: &str) -> bool {
        let mut slot = self.mounts.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(fewer) = slot.without(key) else { return false };
        *slot = Arc::new(fewer);
        true
    }

    fn mounted(&self) -> Arc<Mounts> {
        self.mounts.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The extension's methods, for [`tenet_server::ServerBuilder::method`]:
    /// `skills/list` and `skills/get` (cacheable), and `resources/directory/read`
    /// (declared with `directoryRead: true`).
    pub fn methods(self: &Arc<Self>) -> Vec<MethodDef> {
        let settings = json!({ "directoryRead": true });
        let (list, get, dir) = (Arc::clone(self), Arc::clone(self), Arc::clone(self));
        vec![
            MethodDef::new("skills/list", move |Params(p): Params<ListParams>, ctx: Context| {
                let (catalog, mounts, own) = (list.catalog(), list.mounted(), ctx.may(&list.scopes));
                async move { list_page(&catalog, own, &mounts, &ctx, p.cursor.as_deref()) }
            })
            .extension_settings(SKILLS_EXTENSION, settings.clone())
            .cacheable(),
            MethodDef::new("skills/get", move |Params(p): Params<UriParams>, ctx: Context| {
                let owner = get.owner(&p.uri, &ctx, |m| m.lists(&p.uri));
                async move {
                    let entry = match owner? {
                        Owner::Own(catalog) => catalog.skill(&p.uri).map(|skill| skill.entry()),
                        Owner::Mounted(mount) => Some(
                            serde_json::to_value(mount.remote.get(p.uri.clone(), ctx).await?)
                                .map_err(|e| ErrorObject::internal(e.to_string()))?,
                        ),
                    };
                    let entry = entry.ok_or_else(|| unknown(&p.uri, "a skill's SKILL.md"))?;
                    Ok::<_, ErrorObject>(json!({ "skill": entry }))
                }
            })
            .extension_settings(SKILLS_EXTENSION, settings.clone())
            .cacheable(),
            MethodDef::new("resources/directory/read", move |Params(p): Params<UriParams>, ctx: Context| {
                let owner = dir.owner(&p.uri, &ctx, |m| m.holds(&p.uri));
                async move {
                    match owner? {
                        Owner::Own(catalog) => directory_page(&catalog, &p.uri, p.cursor.as_deref()),
                        Owner::Mounted(mount) => mount.remote.directory(p.uri, p.cursor, ctx).await,
                    }
                }
            })
            .extension_settings(SKILLS_EXTENSION, settings),
        ]
    }

    /// The `SKILL.md` of every skill as a listed resource (`text/markdown`, named and
    /// described as its front matter says), for [`tenet_server::ServerBuilder::resource`]
    /// or [`tenet_server::Server::update_resources`].
    pub fn listed(self: &Arc<Self>) -> Vec<ResourceDef> {
        self.catalog().skills().iter().map(|skill| listed(self, skill)).collect()
    }

    /// The template every skill file is read through, `skill://{+path}`: hidden (give
    /// it to [`tenet_server::Server::change_hidden_templates`]), it reads what the
    /// catalog of the moment holds (for callers with its scopes: -32003 for others), and
    /// a mounted server's files from that server.
    pub fn files(self: &Arc<Self>) -> TemplateDef {
        let template = ResourceTemplate {
            uri_template: FILES_TEMPLATE.into(),
            name: "skill-files".into(),
            title: None,
            description: Some("The files of the server's skills".into()),
            mime_type: None,
            annotations: None,
            icons: None,
            meta: None,
        };
        let skills = Arc::clone(self);
        TemplateDef::new(template, move |ReadRequest { ctx, uri, .. }: ReadRequest| {
            let owner = skills.owner(&uri, &ctx, |m| m.holds(&uri));
            async move {
                match owner.map_err(ToolError::Protocol)? {
                    Owner::Own(catalog) => Ok(catalog.file(&uri).map(|file| vec![contents(&uri, file)])),
                    Owner::Mounted(mount) => mount.remote.read(uri, ctx).await.map_err(ToolError::Protocol),
                }
            }
        })
    }

    /// The contents of the skill file at `uri` in the catalog of the moment, if any.
    fn read(&self, uri: &str) -> Option<Vec<ResourceContents>> {
        self.catalog().file(uri).map(|file| vec![contents(uri, file)])
    }
}

/// Who answers for a skill URI ([`Skills::owner`]).
enum Owner {
    /// The server, from this catalog.
    Own(Arc<Catalog>),
    /// Another server.
    Mounted(Arc<Mount>),
}

/// A skill's `SKILL.md`, as a listed resource: read from the catalog of the moment, as
/// every skill file is (never from the skill it was listed from, which a reload may
/// have replaced already).
fn listed(skills: &Arc<Skills>, skill: &Skill) -> ResourceDef {
    let size = skill.files.iter().find(|f| f.uri == skill.uri).map(|f| f.size);
    let resource = Resource {
        uri: skill.uri.clone(),
        name: skill.name().to_owned(),
        title: None,
        description: Some(skill.description().to_owned()),
        mime_type: Some("text/markdown".into()),
        size,
        annotations: None,
        icons: None,
        meta: None,
    };
    let skills = Arc::clone(skills);
    ResourceDef::new(resource, move |request: ReadRequest| {
        let read = skills.read(&request.uri);
        async move { Ok(read) }
    })
}

/// A file's contents: its text, or its bytes in base64 when they are not UTF-8.
fn contents(uri: &str, file: &crate::catalog::SkillFile) -> ResourceContents {
    let mime_type = Some(file.mime_type.to_owned());
    let bytes = file.body.bytes();
    match std::str::from_utf8(&bytes).ok() {
        Some(text) => ResourceContents::Text(TextResourceContents {
            uri: uri.to_owned(),
            mime_type,
            text: text.to_owned(),
            meta: None,
        }),
        None => ResourceContents::Blob(BlobResourceContents {
            uri: uri.to_owned(),
            mime_type,
            blob: STANDARD.encode(&bytes),
            meta: None,
        }),
    }
}

/// -32602 for a URI that is not what the method reads.
fn unknown(uri: &str, what: &str) -> ErrorObject {
    ErrorObject::invalid_params(format!("Invalid params: {uri:?} is not {what} this server serves"))
}

/// What a cursor pages through: `skills/list`, or the children of one directory. A
/// cursor names it, and is refused by any other.
#[derive(Clone, Copy)]
enum Listing<'a> {
    /// The skills of `skills/list`.
    Skills,
    /// The children of the directory at this URI, of `resources/directory/read`.
    Directory(&'a str),
}

impl Listing<'_> {
    /// A short digest of what it is, which its cursors carry (a directory's URI may be
    /// long; a cursor stays short).
    fn tag(self) -> String {
        let mut hasher = Sha256::new();
        match self {
            Listing::Skills => hasher.update(b"skills/list"),
            Listing::Directory(uri) => {
                hasher.update(b"resources/directory/read\0");
                hasher.update(uri.as_bytes());
            }
        }
        hex(&hasher.finalize()[..8])
    }
}

/// A cursor of `listing` in the skills of `generation`: where its next page starts.
fn next_cursor(generation: &str, listing: Listing<'_>, at: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{generation}:{}:{at}", listing.tag()))
}

/// Where the page of `cursor` in `listing` of the skills of `generation` starts; -32602
/// for a cursor of another listing (another method's, another directory's, one from
/// before the skills changed, or one that was never ours).
fn start(generation: &str, listing: Listing<'_>, cursor: Option<&str>) -> Result<usize, ErrorObject> {
    let Some(cursor) = cursor else { return Ok(0) };
    let foreign = || {
        ErrorObject::invalid_params(match listing {
            Listing::Skills => "Invalid params: the cursor is not one of skills/list's; list again",
            Listing::Directory(_) => {
                "Invalid params: the cursor is not one of this directory's (of another directory or method); read it again"
            }
        })
    };
    let text = URL_SAFE_NO_PAD.decode(cursor).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(foreign)?;
    let mut parts = text.rsplitn(3, ':');
    let (at, tag, generation_of) = (parts.next(), parts.next(), parts.next());
    let (Some(at), Some(tag), Some(generation_of)) = (at, tag, generation_of) else {
        return Err(foreign());
    };
    if tag != listing.tag() {
        return Err(foreign());
    }
    if generation_of != generation {
        return Err(ErrorObject::invalid_params(
            "Invalid params: the cursor is of a listing from before the skills changed; list again",
        ));
    }
    at.parse().map_err(|_| foreign())
}

/// A skill of `skills/list`: the server's own, or a mounted one.
enum Listed<'a> {
    Own(&'a Skill),
    Mounted(&'a SkillEntry),
}

/// A page of `skills/list`: the server's skills (when `own`: the caller may see them),
/// then those of the mounts `ctx` is shown, less any the server's own shadow.
fn list_page(
    catalog: &Catalog,
    own: bool,
    mounts: &Mounts,
    ctx: &Context,
    cursor: Option<&str>,
) -> Result<Map<String, Value>, ErrorObject> {
    let generation = format!("{}.{}", catalog.generation(), mounts.generation);
    let from = start(&generation, Listing::Skills, cursor)?;
    let own = catalog.skills().iter().filter(|_| own).map(|s| Listed::Own(s));
    let shown = mounts.all.iter().filter(|m| m.shown_to(ctx));
    let mounted = shown.flat_map(|m| m.entries.iter().filter(|e| !catalog.covers(&e.uri)).map(Listed::Mounted));
    let mut listed = own.chain(mounted).skip(from);
    let page: Vec<Value> = listed
        .by_ref()
        .take(PAGE)
        .map(|item| match item {
            Listed::Own(skill) => skill.entry(),
            Listed::Mounted(entry) => serde_json::to_value(entry).unwrap_or_default(),
        })
        .collect();
    let mut result = Map::new();
    result.insert("skills".into(), json!(page));
    if listed.next().is_some() {
        result.insert("nextCursor".into(), json!(next_cursor(&generation, Listing::Skills, from.saturating_add(PAGE))));
    }
    Ok(result)
}

/// A page of `resources/directory/read`: the directory's direct children, each once
/// (a file several skills hold is one child).
fn directory_page(catalog: &Catalog, uri: &str, cursor: Option<&str>) -> Result<Map<String, Value>, ErrorObject> {
    let children = catalog.children(uri).ok_or_else(|| unknown(uri, "a directory of skills"))?;
    let listing = Listing::Directory(uri);
    let from = start(catalog.generation(), listing, cursor)?;
    let page: Vec<Value> = children
        .iter()
        .skip(from)
        .take(PAGE)
        .filter_map(|child| match child {
            Child::Dir(dir) => Some(json!({"uri": dir, "name": last_segment(dir), "mimeType": "inode/directory"})),
            Child::File(uri) => {
                let file = catalog.file(uri)?;
                Some(json!({"uri": uri, "name": last_segment(uri), "mimeType": file.mime_type, "size": file.size}))
            }
        })
        .collect();
    let mut result = Map::new();
    result.insert("resources".into(), Value::Array(page));
    if children.len() > from.saturating_add(PAGE) {
        result
            .insert("nextCursor".into(), json!(next_cursor(catalog.generation(), listing, from.saturating_add(PAGE))));
    }
    Ok(result)
}

fn last_segment(uri: &str) -> &str {
    uri.strip_prefix(SCHEME).unwrap_or(uri).rsplit('/').next().unwrap_or(uri)
}
