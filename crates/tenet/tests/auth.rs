//! Authorization in the real binary: over HTTP the whole OAuth flow against the
//! loopback authorization server (401, discovery, token, 403 on a prompt outside the
//! token's scope, step-up, success); on stdio the client's token from the environment.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{Killed, Tenet, stateless};
use serde_json::{Value, json};
use tenet_oauth::test_support::{AsConfig, AuthServer};
use tenet_oauth::{Authorizer, AuthorizerConfig};

const KEYS: &str = "reader 0123456789abcdef-reader stdlib:read";

/// Sends one stateless request, letting `authorizer` answer challenges; returns every
/// status seen and the final body.
async fn request(authorizer: &Authorizer, url: &str, method: &str, params: Value) -> (Vec<u16>, Value) {
    let body = stateless(1, method, params).to_string();
    let mut statuses = Vec::new();
    loop {
        let mut request = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method)
            .body(body.clone());
        if let Some(name) = serde_json::from_str::<Value>(&body).unwrap()["params"]["name"].as_str() {
            request = request.header("mcp-name", name);
        }
        for (header, value) in authorizer.request_headers("POST", url).await {
            request = request.header(header, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        statuses.push(status);
        if authorizer.on_response(url, status, response.headers()).await.unwrap() {
            continue;
        }
        return (statuses, response.json().await.unwrap_or(Value::Null));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn over_http_a_client_is_challenged_authorizes_steps_up_for_prompts_and_succeeds() {
    tenet_oauth::install_crypto_provider();
    let auth_server = AuthServer::start(AsConfig::default()).await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let args = ["serve", "--transport", "http", "--port", &port.to_string(), "--auth-issuer", &auth_server.issuer()];
    let _server = Killed(
        common::tenet_command()
            .args(args)
            .args(["--auth-required-scope", "stdlib:read", "--log-level", "warn", "--no-watch"])
            .env_remove("TENET_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{port}/mcp");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let challenge = loop {
        let sent = http.post(&url).header("content-type", "application/json").body("{}").send().await;
        if let Ok(response) = sent {
            assert_eq!(response.status(), 401);
            break response.headers()["www-authenticate"].to_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let metadata_url = format!("http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp");
    assert_eq!(challenge, format!(r#"Bearer scope="stdlib:read", resource_metadata="{metadata_url}""#));
    let metadata: Value = http.get(&metadata_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(metadata["resource"], url);
    assert_eq!(metadata["authorization_servers"], json!([auth_server.issuer()]));
    assert_eq!(metadata["scopes_supported"], json!(["stdlib:prompts", "stdlib:read"]));

    let config = AuthorizerConfig { client_name: "tenet-test".into(), use_dpop: false, ..AuthorizerConfig::default() };
    let authorizer = Authorizer::new(config).unwrap();
    let (statuses, tools) = request(&authorizer, &url, "tools/list", json!({})).await;
    assert_eq!(statuses, [401, 200]);
    assert_eq!(tools["result"]["tools"].as_array().unwrap().len(), 3);
    let (_, prompts) = request(&authorizer, &url, "prompts/list", json!({})).await;
    assert_eq!(prompts["result"]["prompts"], json!([]), "prompts need stdlib:prompts");
    let arguments = json!({"language": "rust"});
    let (statuses, brief) =
        request(&authorizer, &url, "prompts/get", json!({"name": "standards_brief", "arguments": arguments})).await;
    assert_eq!(statuses, [403, 200], "refused, stepped up, served");
    assert!(brief["result"]["messages"].as_array().is_some_and(|m| !m.is_empty()), "{brief}");
}

#[test]
fn on_stdio_the_token_from_the_environment_decides_what_the_client_sees() {
    let mut tenet = Tenet::start_knowledge(&[
        "serve",
        "--log-level",
        "warn",
        "--api-keys",
        KEYS,
        "--stdio-token",
        "0123456789abcdef-reader",
    ]);
    let tools = tenet.call(&stateless(1, "tools/list", json!({})));
    assert_eq!(tools["result"]["tools"].as_array().unwrap().len(), 3);
    let prompts = tenet.call(&stateless(2, "prompts/list", json!({})));
    assert_eq!(prompts["result"]["prompts"], json!([]));
    let refused =
        tenet.call(&stateless(3, "prompts/get", json!({"name": "standards_brief", "arguments": {"language": "rust"}})));
    assert_eq!(refused["error"]["code"], -32003);
    assert_eq!(refused["error"]["data"]["scope"], "stdlib:prompts stdlib:read");
}

#[test]
fn on_stdio_a_token_that_does_not_check_out_stops_the_server() {
    let out = common::tenet_command()
        .args(["serve", "--api-keys", KEYS, "--stdio-token", "0123456789abcdef-wrong"])
        .env_remove("TENET_CONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("TENET_TOKEN: unknown token"));
}

/// The server's skills are read as its standards are: a caller without `stdlib:read`
/// is listed none, and a `skills/get` or read of one is -32003 naming the scope to ask
/// for; a reader lists, gets and reads them.
#[test]
fn skills_need_the_read_scope_as_the_standards_do() {
    let keys = "reader 0123456789abcdef-reader stdlib:read\nprompter 0123456789abcdef-prompter stdlib:prompts";
    let skill = "skill://code-review/SKILL.md";
    for (token, reads) in [("0123456789abcdef-reader", true), ("0123456789abcdef-prompter", false)] {
        let mut tenet =
            Tenet::start_knowledge(&["serve", "--log-level", "warn", "--api-keys", keys, "--stdio-token", token]);
        let listed = tenet.call(&stateless(1, "skills/list", json!({})));
        let count = listed["result"]["skills"].as_array().unwrap().len();
        assert_eq!(count > 20, reads, "{token}: {count} skills listed");
        assert!(reads || count == 0, "none at all without the scope: {listed}");
        let got = tenet.call(&stateless(2, "skills/get", json!({ "uri": skill })));
        let read = tenet.call(&stateless(3, "resources/read", json!({ "uri": skill })));
        let dir = tenet.call(&stateless(4, "resources/directory/read", json!({"uri": "skill://code-review"})));
        for answer in [&got, &read, &dir] {
            if reads {
                assert!(answer["result"].is_object(), "{answer}");
            } else {
                assert_eq!(answer["error"]["code"], -32003, "{answer}");
                assert_eq!(answer["error"]["data"]["scope"], "stdlib:prompts stdlib:read", "{answer}");
            }
        }
    }
}
