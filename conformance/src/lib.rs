//! The fixture server the official MCP conformance suite
//! (`@modelcontextprotocol/conformance`) drives: exactly the tool, resource and prompt
//! names and behaviours its server scenarios expect, for both protocol eras on one
//! URL, built with Tenet's ordinary public API.
//!
//! ```
//! let (server, _triggers) = tenet_conformance::fixture().unwrap();
//! assert!(server.capabilities().tools.is_some());
//! ```

mod catalog;
mod def;
mod interactive;
mod mrtr;
mod tasks;
mod tools;

use tenet_server::{BuildError, Server, ServerBuilder};
use tokio::sync::mpsc;

pub use tools::Trigger;

/// The fixture's name in `serverInfo`.
pub const NAME: &str = "tenet-conformance";

/// Builds the fixture. The mutation hooks (`test_trigger_*`) send on the returned
/// channel; [`run_triggers`] carries them out against the server.
///
/// # Errors
/// When a schema does not compile (a bug in the fixture).
pub fn fixture() -> Result<(Server, mpsc::Receiver<Trigger>), BuildError> {
    fixture_with(|builder| builder)
}

/// [`fixture`], with `more` done to its builder last (a shared store, a state key).
///
/// # Errors
/// When a schema does not compile (a bug in the fixture).
pub fn fixture_with(
    more: impl FnOnce(ServerBuilder) -> ServerBuilder,
) -> Result<(Server, mpsc::Receiver<Trigger>), BuildError> {
    let (triggers, rx) = mpsc::channel(16);
    let mut builder = Server::builder(NAME, env!("CARGO_PKG_VERSION"))
        .description("Conformance fixture for the official MCP test suite")
        .state(tools::Triggers(triggers));
    for tool in tools::all() {
        builder = builder.tool(tool);
    }
    for resource in catalog::resources() {
        builder = builder.resource(resource);
    }
    for prompt in catalog::prompts() {
        builder = builder.prompt(prompt);
    }
    // The Skills extension (SEP-2640): one skill with a file in a subfolder, its
    // SKILL.md listed, every file read through the extension's hidden template.
    let skills = catalog::skills();
    for method in skills.methods() {
        builder = builder.method(method);
    }
    for resource in skills.listed() {
        builder = builder.resource(resource);
    }
    let server = more(builder.template(catalog::template())).build()?;
    if let Some(refused) = server.change_hidden_templates(&[], [skills.files()]).into_iter().next() {
        return Err(refused);
    }
    Ok((server, rx))
}

/// Carries out mutation hooks until every sender is gone: each re-registers an
/// existing tool or prompt, so listeners hear that the list changed while the list
/// itself stays the same (the suite checks that its order is stable).
pub async fn run_triggers(server: Server, mut triggers: mpsc::Receiver<Trigger>) {
    while let Some(trigger) = triggers.recv().await {
        match trigger {
            Trigger::Tools(done) => {
                if let Some(tool) = tools::all().into_iter().next()
                    && let Err(e) = server.add_tool(tool)
                {
                    tracing::error!("cannot re-register a tool: {e}");
                }
                let _ = done.send(());
            }
            Trigger::Prompts(done) => {
                if let Some(prompt) = catalog::prompts().into_iter().next() {
                    server.add_prompt(prompt);
                }
                let _ = done.send(());
            }
        }
    }
}
