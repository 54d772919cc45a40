//! Tools that share state: a small note book. Handlers get the application's state
//! with the `State` extractor and the request's context (logging, progress,
//! cancellation) with `Context`; a failure is a `ToolError`, which the client sees as
//! an `isError` result, never as a dropped request.
//!
//! Run with: `cargo run -p example-tool-with-state`, then from another MCP client,
//! e.g. `tenet call add_note text=milk -- cargo run -q -p example-tool-with-state`.

use std::sync::Mutex;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tenet_protocol::LoggingLevel;
use tenet_server::{Args, BuildError, Context, Json, Server, State, ToolDef, ToolError};

/// The application's state, shared by every call on every connection.
#[derive(Default)]
struct Notes {
    items: Mutex<Vec<String>>,
}

/// Arguments of `add_note`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AddNote {
    /// The note.
    #[schemars(length(min = 1, max = 200))]
    text: String,
}

/// Arguments of `remove_note`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RemoveNote {
    /// The note's number, as `list_notes` shows it (from 1).
    #[schemars(range(min = 1))]
    number: usize,
}

/// What `list_notes` returns.
#[derive(Serialize, JsonSchema)]
struct Listing {
    /// The notes, oldest first.
    notes: Vec<String>,
}

async fn add_note(ctx: Context, State(notes): State<Notes>, Args(note): Args<AddNote>) -> String {
    let count = {
        let mut items = notes.items.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        items.push(note.text);
        items.len()
    };
    ctx.log(LoggingLevel::Info, format!("{count} notes now")).await;
    format!("noted ({count} in all)")
}

async fn list_notes(State(notes): State<Notes>) -> Json<Listing> {
    let items = notes.items.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    Json(Listing { notes: items.clone() })
}

async fn remove_note(
    State(notes): State<Notes>,
    Args(RemoveNote { number }): Args<RemoveNote>,
) -> Result<String, ToolError> {
    let mut items = notes.items.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if number > items.len() {
        return Err(ToolError::msg(format!("there is no note {number}; there are {}", items.len())));
    }
    Ok(format!("removed: {}", items.remove(number - 1)))
}

/// The server, with its state.
fn server() -> Result<Server, BuildError> {
    Server::builder("notes", env!("CARGO_PKG_VERSION"))
        .state(Notes::default())
        .tool(ToolDef::new("add_note", add_note).description("Write a note down"))
        .tool(ToolDef::new("list_notes", list_notes).description("Read every note").read_only())
        .tool(ToolDef::new("remove_note", remove_note).description("Cross a note out"))
        .build()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (stdin, stdout) = tenet_transport::stdio::stdio();
    server()?.serve(stdin, stdout, Default::default()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tenet_client::Client;

    #[tokio::test]
    async fn notes_are_shared_and_errors_are_results() {
        let server = super::server().unwrap();
        let (client_end, server_end) = tenet_transport::memory::pair();
        let (read, write) = tokio::io::split(server_end);
        tokio::spawn(async move { server.serve(read, write, Default::default()).await });
        let (read, write) = tokio::io::split(client_end);
        let client = Client::builder().connect_pipe(read, write).await.unwrap();

        client.call_tool("add_note", json!({"text": "milk"})).await.unwrap();
        client.call_tool("add_note", json!({"text": "eggs"})).await.unwrap();
        let listed = client.call_tool("list_notes", json!({})).await.unwrap();
        assert_eq!(listed.structured_content, Some(json!({"notes": ["milk", "eggs"]})));

        let missing = client.call_tool("remove_note", json!({"number": 9})).await.unwrap();
        assert_eq!(missing.is_error, Some(true));
        let invalid = client.call_tool("add_note", json!({"text": ""})).await.unwrap();
        assert_eq!(invalid.is_error, Some(true), "the schema's minLength is checked before the handler runs");
        let removed = client.call_tool("remove_note", json!({"number": 1})).await.unwrap();
        assert_ne!(removed.is_error, Some(true));
    }
}
