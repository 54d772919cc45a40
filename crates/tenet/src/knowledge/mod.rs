//! The Tenet knowledge server: a knowledge base of engineering standards served over MCP
//! as tools (`get_stdlib`, `search_stdlib`, `list_stdlib`), resources (one per
//! document, plus the `stdlib://{language}/{domain}` template), prompts and completions.

use std::sync::{Arc, RwLock};

use tenet_kb::KnowledgeBase;
use tenet_server::{BuildError, Server, ServerConfig};

mod instructions;
mod prompts;
mod resources;
mod tools;

/// Operator settings of the knowledge server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `max_tokens` when the caller gives none.
    pub default_max_tokens: usize,
    /// The most any call may ask for.
    pub max_tokens_cap: usize,
}

/// The state every handler shares: the current knowledge base (replaced whole on reload).
pub struct Knowledge {
    base: RwLock<Arc<KnowledgeBase>>,
    /// Operator limits.
    pub limits: Limits,
}

impl Knowledge {
    /// Wraps a loaded base.
    pub fn new(base: KnowledgeBase, limits: Limits) -> Self {
        Self { base: RwLock::new(Arc::new(base)), limits }
    }

    /// The current base.
    pub fn base(&self) -> Arc<KnowledgeBase> {
        self.base.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The budget for a call: the caller's, or the default, within the cap.
    pub fn budget(&self, asked: Option<u64>) -> usize {
        let asked = asked.map_or(self.limits.default_max_tokens, |n| usize::try_from(n).unwrap_or(usize::MAX));
        asked.clamp(tenet_kb::budget::MIN_MAX_TOKENS, self.limits.max_tokens_cap)
    }
}

/// Builds the MCP server over a knowledge base.
pub fn server(base: KnowledgeBase, limits: Limits, config: ServerConfig) -> Result<Server, BuildError> {
    let instructions = instructions::generate(&base);
    let knowledge = Arc::new(Knowledge::new(base, limits));
    let base = knowledge.base();
    // Index in the background: the first requests need no index, and a search that
    // comes early waits for it.
    let indexing = base.clone();
    let spawned = std::thread::Builder::new().name("tenet-index".into()).spawn(move || {
        if let Err(e) = indexing.build_index() {
            tracing::error!("{e}");
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("the index will be built by the first search: {e}");
    }
    let mut builder = Server::builder("tenet", env!("CARGO_PKG_VERSION"))
        .title("Tenet engineering standards")
        .description("Engineering standards (architecture, testing, security, performance, patterns) by language")
        .instructions(instructions)
        .config(config)
        .compile_schemas_lazily();
    for tool in tools::all(&knowledge, &base) {
        builder = builder.tool(tool);
    }
    for resource in resources::documents(&base) {
        builder = builder.resource(resource);
    }
    builder = builder.template(resources::template(&knowledge));
    for prompt in prompts::all(&knowledge) {
        builder = builder.prompt(prompt);
    }
    builder.build()
}
