//! A bare MCP-over-HTTP client that runs the conformance suite's `auth/*` client
//! scenarios with an [`Authorizer`], to check the crate against the real suite and
//! to show the wiring the product client needs. It is not the product client.
//!
//! ```sh
//! cargo build -p tenet-oauth --example conformance_auth
//! node $C020 client --command target/debug/examples/conformance_auth --scenario auth/metadata-default
//! ```
//!
//! The suite passes the server URL as the last argument and the scenario in
//! `MCP_CONFORMANCE_SCENARIO`; credentials come in `MCP_CONFORMANCE_CONTEXT`.

use std::process::ExitCode;

use serde_json::{Value, json};
use tenet_oauth::Authorizer;
use tenet_oauth::conformance::config_for;

struct Session {
    http: reqwest::Client,
    url: String,
    authorizer: Authorizer,
    version: String,
    stateless: bool,
    session_id: Option<String>,
    next_id: u64,
}

impl Session {
    /// Sends one JSON-RPC message, letting the authorizer answer challenges.
    async fn send(&mut self, method: &str, mut params: Value, notification: bool) -> Result<Value, String> {
        if self.stateless {
            params["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": self.version,
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": { "name": "tenet-conformance", "version": "0" },
            });
        }
        let mut message = json!({ "jsonrpc": "2.0", "method": method, "params": params });
        if !notification {
            self.next_id += 1;
            message["id"] = json!(self.next_id);
        }
        loop {
            let mut request = self
                .http
                .post(&self.url)
                .header("Accept", "application/json, text/event-stream")
                .header("MCP-Protocol-Version", &self.version)
                .header("Mcp-Method", method)
                .json(&message);
            for (name, value) in self.authorizer.request_headers("POST", &self.url).await {
                request = request.header(name, value);
            }
            if let Some(id) = &self.session_id {
                request = request.header("Mcp-Session-Id", id);
            }
            let response = request.send().await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            match self.authorizer.on_response(&self.url, status, response.headers()).await {
                Ok(true) => continue,
                Ok(false) if response.status().is_success() => {}
                Ok(false) => return Err(format!("{method}: HTTP {status}")),
                Err(e) => return Err(format!("{method}: authorization failed: {e}")),
            }
            if let Some(id) = response.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()) {
                self.session_id = Some(id.to_owned());
            }
            let body = response.text().await.map_err(|e| e.to_string())?;
            return Ok(parse_body(&body));
        }
    }
}

/// A JSON body, or the last `data:` line of an SSE body that parses.
fn parse_body(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| {
        body.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .next_back()
            .unwrap_or(Value::Null)
    })
}

async fn run() -> Result<(), String> {
    let url = std::env::args().skip(1).next_back().ok_or("usage: conformance_auth URL")?;
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    let context: Value =
        std::env::var("MCP_CONFORMANCE_CONTEXT").ok().and_then(|c| serde_json::from_str(&c).ok()).unwrap_or_default();
    let version = std::env::var("MCP_CONFORMANCE_PROTOCOL_VERSION").unwrap_or_else(|_| "2025-11-25".into());
    let config = config_for(&scenario, &context).map_err(|e| e.to_string())?;
    tenet_oauth::install_crypto_provider();
    let mut s = Session {
        http: reqwest::Client::new(),
        url,
        authorizer: Authorizer::new(config).map_err(|e| e.to_string())?,
        stateless: version.as_str() > "2025-11-25",
        version,
        session_id: None,
        next_id: 0,
    };
    if !s.stateless {
        let init = json!({
            "protocolVersion": s.version,
            "capabilities": {},
            "clientInfo": { "name": "tenet-conformance", "version": "0" },
        });
        s.send("initialize", init, false).await?;
        s.send("notifications/initialized", json!({}), true).await?;
    }
    let tools = s.send("tools/list", json!({}), false).await?;
    let name = tools["result"]["tools"][0]["name"].as_str().unwrap_or("test-tool").to_owned();
    s.send("tools/call", json!({ "name": name, "arguments": {} }), false).await?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("conformance_auth: {e}");
            ExitCode::FAILURE
        }
    }
}
