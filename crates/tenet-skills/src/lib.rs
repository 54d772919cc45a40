//! The MCP Skills extension (SEP-2640, `io.modelcontextprotocol/skills`) for Tenet
//! servers. A [`Catalog`] holds skills — folders of files with a `SKILL.md` whose
//! front matter names and describes them — checked against the Agent Skills rules
//! (names, 512 files, 16 MiB); a skill nested in another is a skill of its own whose
//! files are the enclosing skill's too. [`Skills`] serves one on a server: `skills/list`
//! (paginated, cacheable), `skills/get`, `resources/directory/read` and every file as a
//! `skill://<path>/<file>` resource whose `sha256:` digest and size the skill's entry
//! gives, so a client can check what it reads.
//!
//! ```
//! use tenet_skills::{Catalog, SkillSource, Skills};
//!
//! let md = "---\nname: code-review\ndescription: Use when reviewing a change.\n---\n# Review\n";
//! let (catalog, problems) = Catalog::build([SkillSource::single("code-review", md)]);
//! assert!(problems.is_empty());
//! let skills = Skills::new(catalog);
//! let mut builder = tenet_server::Server::builder("demo", "1.0.0");
//! for method in skills.methods() {
//!     builder = builder.method(method);
//! }
//! for resource in skills.listed() {
//!     builder = builder.resource(resource);
//! }
//! let server = builder.build().unwrap();
//! server.change_hidden_templates(&[], [skills.files()]);
//! assert!(server.capabilities().has_extension(tenet_skills::SKILLS_EXTENSION));
//! ```

mod catalog;
mod mount;
mod serve;

pub use catalog::{
    Catalog, FileBody, MAX_BYTES, MAX_DESCRIPTION, MAX_FILES, Problem, SCHEME, SKILL_MD, Skill, SkillFile, SkillSource,
    Writer, valid_name,
};
pub use mount::{Mount, Remote, RemoteFuture};
pub use serve::{FILES_TEMPLATE, PAGE, SKILLS_EXTENSION, Skills};
