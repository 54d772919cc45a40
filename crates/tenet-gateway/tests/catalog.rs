//! Prompts, resources, resource templates and completions through the gateway, end to
//! end: a real upstream Tenet server over Streamable HTTP in each era, the gateway's
//! own server driven by a downstream client.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{Harness, Probe, Running, STEP, quick, until, upstream, upstream_server};
use serde_json::{Value, json};
use tenet_client::protocol::Era;
use tenet_client::protocol::SubscriptionFilter;
use tenet_client::protocol::{
    CallToolResult, CompleteArgument, ContentBlock, GetPromptResult, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, PromptMessage, Reference, Resource, ResourceContents, ResourceTemplate, TextResourceContents,
};
use tenet_client::{Client, ClientError, ClientHandler, RequestOptions, ServerNotification, VersionPin};
use tenet_gateway::GatewayOptions;
use tenet_server::{
    CancellationToken, CompletionRequest, PromptDef, PromptRequest, ReadRequest, ResourceDef, Server, TemplateDef,
    ToolDef,
};

fn resource(uri: &str, name: &str) -> Resource {
    serde_json::from_value(json!({ "uri": uri, "name": name, "mimeType": "text/markdown" })).unwrap()
}

fn text_at(uri: &str, text: &str) -> ResourceContents {
    ResourceContents::Text(TextResourceContents {
        uri: uri.to_owned(),
        mime_type: None,
        text: text.to_owned(),
        meta: None,
    })
}

/// Values starting with what was typed.
fn starting(values: &[&str], request: &CompletionRequest) -> Vec<String> {
    values.iter().filter(|v| v.starts_with(&request.value)).map(|v| (*v).to_owned()).collect()
}

/// An upstream "docs" with a prompt, a resource, a template (each with completions
/// where they apply) and a tool whose result links to the resource.
fn docs_server() -> Server {
    let probe = Arc::new(Probe::default());
    let template: ResourceTemplate =
        serde_json::from_value(json!({ "uriTemplate": "file:///docs/{name}", "name": "doc" })).unwrap();
    let server = upstream_server("docs", &probe)
        .dynamic()
        .prompt(
            PromptDef::new("greet", |request: PromptRequest| async move {
                let name = request.arguments.get("name").cloned().unwrap_or_default();
                Ok(GetPromptResult {
                    description: Some("A greeting".into()),
                    messages: vec![
                        PromptMessage::user(format!("Hello, {name}")),
                        PromptMessage {
                            role: tenet_client::protocol::Role::User,
                            content: ContentBlock::Resource {
                                resource: text_at("file:///readme.md", "# Readme"),
                                annotations: None,
                                meta: None,
                            },
                        },
                    ],
                    meta: None,
                })
            })
            .description("Greet someone")
            .argument("name", "Who", true)
            .complete("name", |request| async move { starting(&["alice", "albert", "bob"], &request) }),
        )
        .resource(ResourceDef::text(resource("file:///readme.md", "readme"), "# Readme"))
        .template(
            TemplateDef::new(template, |request: ReadRequest| async move {
                let name = request.vars.get("name").cloned().unwrap_or_default();
                Ok(Some(vec![text_at(&request.uri, &format!("doc {name}"))]))
            })
            .complete("name", |request| async move { starting(&["guide", "glossary", "faq"], &request) }),
        )
        .tool(
            ToolDef::new("link", || async {
                let link = serde_json::from_value(json!({ "uri": "file:///readme.md", "name": "readme" })).unwrap();
                CallToolResult::success(vec![ContentBlock::ResourceLink(Box::new(link))])
            })
            .description("Link to the readme"),
        )
        .build()
        .unwrap();
    // Readable, never listed.
    let hidden: ResourceTemplate =
        serde_json::from_value(json!({ "uriTemplate": "file:///hidden/{name}", "name": "hidden" })).unwrap();
    let queried: ResourceTemplate =
        serde_json::from_value(json!({ "uriTemplate": "file:///q/{+rest}", "name": "queried" })).unwrap();
    server.change_hidden_templates(
        &[],
        [
            TemplateDef::new(hidden, |request: ReadRequest| async move {
                let name = request.vars.get("name").cloned().unwrap_or_default();
                Ok(Some(vec![text_at(&request.uri, &format!("hidden {name}"))]))
            }),
            TemplateDef::new(queried, |request: ReadRequest| async move {
                let rest = request.vars.get("rest").cloned().unwrap_or_default();
                Ok(Some(vec![text_at(&request.uri, &format!("q {rest}"))]))
            }),
        ],
    );
    server
}

async fn prompt_names(client: &Client) -> Vec<String> {
    let prompts = tokio::time::timeout(STEP, client.list_all::<ListPromptsResult>()).await.unwrap().unwrap();
    prompts.into_iter().map(|p| p.name).collect()
}

async fn resource_uris(client: &Client) -> Vec<String> {
    let resources = tokio::time::timeout(STEP, client.list_all::<ListResourcesResult>()).await.unwrap().unwrap();
    resources.into_iter().map(|r| r.uri).collect()
}

async fn template_uris(client: &Client) -> Vec<String> {
    let templates =
        tokio::time::timeout(STEP, client.list_all::<ListResourceTemplatesResult>()).await.unwrap().unwrap();
    templates.into_iter().map(|t| t.uri_template).collect()
}

fn contents_json(contents: &[ResourceContents]) -> Value {
    serde_json::to_value(contents).unwrap()
}

async fn completions(client: &Client, reference: Reference, argument: &str, value: &str) -> Vec<String> {
    let argument = CompleteArgument { name: argument.to_owned(), value: value.to_owned() };
    let result = tokio::time::timeout(STEP, client.complete(reference, argument, None)).await.unwrap().unwrap();
    result.completion.values
}

/// Everything an upstream offers is listed, read and completed through the gateway,
/// with URIs that lead back through it.
async fn relayed(path: &str) {
    let running = Running::start(docs_server()).await;
    let h = Harness::start(vec![upstream("docs", &format!("http://{}{path}", running.addr))], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());
    let client = &h.client;

    // Prompts: listed under the namespace, rendered by the upstream.
    assert_eq!(prompt_names(client).await, ["docs__greet"]);
    let prompts = client.list_all::<ListPromptsResult>().await.unwrap();
    assert_eq!(prompts[0].description.as_deref(), Some("Greet someone"));
    let rendered = client.get_prompt("docs__greet", BTreeMap::from([("name".into(), "Ann".into())])).await.unwrap();
    let messages = serde_json::to_value(&rendered.messages).unwrap();
    assert_eq!(messages[0]["content"]["text"], "Hello, Ann", "{messages}");
    assert_eq!(messages[1]["content"]["resource"]["uri"], "tenet://docs/file:///readme.md", "{messages}");
    let missing = client.get_prompt("docs__greet", BTreeMap::new()).await.unwrap_err();
    assert!(matches!(&missing, ClientError::Server(e) if e.code.0 == -32602), "{missing:?}");

    // Resources: under tenet://docs/, read from the upstream, contents named as listed.
    assert_eq!(resource_uris(client).await, ["tenet://docs/file:///readme.md"]);
    let read = client.read_resource("tenet://docs/file:///readme.md").await.unwrap();
    assert_eq!(
        contents_json(&read.contents),
        json!([{ "uri": "tenet://docs/file:///readme.md", "mimeType": "text/markdown", "text": "# Readme" }])
    );
    // Nothing there upstream: the gateway's own not-found, in the downstream client's
    // era, naming the gateway's URI.
    let unknown = client.read_resource("tenet://docs/file:///nothing").await.unwrap_err();
    let ClientError::Server(e) = &unknown else { panic!("{unknown:?}") };
    let expected = if client.version().era() == Era::Legacy { -32002 } else { -32602 };
    assert_eq!(e.code.0, expected, "{e:?}");
    assert_eq!(e.data.as_ref().unwrap()["uri"], "tenet://docs/file:///nothing", "{e:?}");

    // Templates: the same prefix, matched at the gateway, read by the upstream.
    assert_eq!(template_uris(client).await, ["tenet://docs/file:///docs/{name}"]);
    let read = client.read_resource("tenet://docs/file:///docs/guide").await.unwrap();
    assert_eq!(
        contents_json(&read.contents),
        json!([{ "uri": "tenet://docs/file:///docs/guide", "text": "doc guide" }])
    );

    // Completions of a prompt's argument and of a template's variable come from the upstream.
    let prompt = Reference::Prompt { name: "docs__greet".into() };
    assert_eq!(completions(client, prompt, "name", "al").await, ["alice", "albert"]);
    let template = Reference::Resource { uri: "tenet://docs/file:///docs/{name}".into() };
    assert_eq!(completions(client, template, "name", "g").await, ["guide", "glossary"]);

    // A tool's resource link points through the gateway, and reads there. Over
    // HTTP+SSE the upstream speaks 2024-11-05, which has no resource links: it sends
    // the link as text, and the gateway passes that on as it is.
    let linked = h.call("docs__link", json!({})).await;
    let block = serde_json::to_value(&linked.content[0]).unwrap();
    if path == "/sse" {
        assert_eq!(block["text"], "Resource: readme <file:///readme.md>", "{block}");
    } else {
        assert_eq!(block["uri"], "tenet://docs/file:///readme.md", "{block}");
        assert!(client.read_resource(block["uri"].as_str().unwrap()).await.is_ok());
    }

    // A link to a URI the upstream can read but does not list reads through the gateway.
    let hidden = client.read_resource("tenet://docs/file:///hidden/x").await.unwrap();
    assert_eq!(
        contents_json(&hidden.contents),
        json!([{ "uri": "tenet://docs/file:///hidden/x", "text": "hidden x" }])
    );
    // One with a query and a fragment too: they belong to the URI, at the gateway and
    // at the upstream.
    let queried = client.read_resource("tenet://docs/file:///q/a/b?rev=2#top").await.unwrap();
    assert_eq!(
        contents_json(&queried.contents),
        json!([{ "uri": "tenet://docs/file:///q/a/b?rev=2#top", "text": "q a/b?rev=2#top" }])
    );
    assert!(!template_uris(client).await.iter().any(|t| t.contains("hidden") || t.contains("{+uri}")));

    let status = h.status("docs");
    assert_eq!((status.tools, status.prompts, status.resources, status.templates), (3, 1, 1, 1), "{status:?}");
    assert_eq!(status.left_out, 0, "{status:?}");
    h.shutdown().await;
    running.stop().await;
}

#[tokio::test]
async fn a_2026_upstreams_prompts_resources_templates_and_completions_are_relayed() {
    relayed("/mcp").await;
}

#[tokio::test]
async fn a_legacy_upstreams_prompts_resources_templates_and_completions_are_relayed() {
    relayed("/sse").await;
}

#[tokio::test]
async fn prompt_and_resource_list_changes_are_followed_and_a_down_upstream_takes_them_away() {
    let server = docs_server();
    let running = Running::start(server.clone()).await;
    let h = Harness::start(vec![upstream("docs", &running.url())], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());

    server.add_prompt(PromptDef::new("later", |_| async { Ok(GetPromptResult::default()) }));
    server.add_resource(ResourceDef::text(resource("file:///later.md", "later"), "later"));
    let mut prompts = Vec::new();
    let mut uris = Vec::new();
    for _ in 0..100 {
        prompts = prompt_names(&h.client).await;
        uris = resource_uris(&h.client).await;
        if prompts.len() == 2 && uris.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(prompts, ["docs__greet", "docs__later"]);
    assert_eq!(uris, ["tenet://docs/file:///later.md", "tenet://docs/file:///readme.md"], "sorted by URI");

    running.kill().await;
    until("the upstream is down", || h.status("docs").state == tenet_gateway::State::Down).await;
    assert!(prompt_names(&h.client).await.is_empty());
    assert!(resource_uris(&h.client).await.is_empty());
    assert!(template_uris(&h.client).await.is_empty());
    h.shutdown().await;
}

#[tokio::test]
async fn a_prefixless_gateway_passes_names_and_uris_through_unchanged() {
    let running = Running::start(docs_server()).await;
    let options = GatewayOptions { prefixless: true, ..quick() };
    let h = Harness::start(vec![upstream("docs", &running.url())], options).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());
    assert_eq!(prompt_names(&h.client).await, ["greet"]);
    assert_eq!(resource_uris(&h.client).await, ["file:///readme.md"]);
    assert_eq!(template_uris(&h.client).await, ["file:///docs/{name}"]);
    let read = h.client.read_resource("file:///docs/faq").await.unwrap();
    assert_eq!(contents_json(&read.contents), json!([{ "uri": "file:///docs/faq", "text": "doc faq" }]));
    let linked = h.call("link", json!({})).await;
    assert_eq!(serde_json::to_value(&linked.content[0]).unwrap()["uri"], "file:///readme.md");
    h.shutdown().await;
    running.stop().await;
}

fn greet(name: &str, prompt: &str) -> PromptDef {
    let text = format!("from {name}");
    PromptDef::new(prompt, move |_| {
        let text = text.clone();
        async move { Ok(GetPromptResult { messages: vec![PromptMessage::user(text)], ..GetPromptResult::default() }) }
    })
}

#[tokio::test]
async fn an_upstream_with_prompts_only_comes_up_and_the_earlier_one_keeps_a_contested_prompt_name() {
    // "a" lists `b__c` and "a__b" lists `c`: both would be advertised as `a__b__c`.
    let first = Server::builder("first", "1").prompt(greet("first", "b__c")).build().unwrap();
    let second = Server::builder("second", "1").prompt(greet("second", "c")).build().unwrap();
    let (first, second) = (Running::start(first).await, Running::start(second).await);
    let h = Harness::start(vec![upstream("a", &first.url()), upstream("a__b", &second.url())], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());
    assert_eq!(prompt_names(&h.client).await, ["a__b__c"]);
    let rendered = h.client.get_prompt("a__b__c", BTreeMap::new()).await.unwrap();
    assert_eq!(serde_json::to_value(&rendered.messages).unwrap()[0]["content"]["text"], "from first");
    let (a, b) = (h.status("a"), h.status("a__b"));
    assert_eq!((a.tools, a.prompts, a.left_out), (0, 1, 0), "{a:?}");
    assert_eq!((b.prompts, b.left_out), (0, 1), "{b:?}");

    // When "a" goes down, the name passes to "a__b": it lists again because the name
    // was freed (after a few heartbeats, so nothing else is left that would have it
    // list again).
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    first.kill().await;
    until("a is down", || h.status("a").state == tenet_gateway::State::Down).await;
    let mut rendered = None;
    for _ in 0..100 {
        if let Ok(r) = h.client.get_prompt("a__b__c", BTreeMap::new()).await {
            rendered = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let rendered = rendered.expect("the later upstream's prompt took the name");
    assert_eq!(serde_json::to_value(&rendered.messages).unwrap()[0]["content"]["text"], "from second");
    let b = h.status("a__b");
    assert_eq!((b.prompts, b.left_out), (1, 0), "{b:?}");
    h.shutdown().await;
    second.stop().await;
}

/// The URIs `server` has subscribers for, kept up to date.
fn held_at(server: &Server) -> Arc<Mutex<BTreeSet<String>>> {
    let held = Arc::new(Mutex::new(BTreeSet::new()));
    let seen = held.clone();
    server.on_subscription(move |uri, on| {
        let mut held = seen.lock().unwrap();
        if on {
            held.insert(uri.to_owned())
        } else {
            held.remove(uri)
        };
    });
    held
}

/// The resource updates a downstream client is told of.
#[derive(Clone, Default)]
struct Updates(Arc<Mutex<Vec<String>>>);

impl ClientHandler for Updates {
    fn on_notification(&self, notification: ServerNotification) {
        if let ServerNotification::ResourceUpdated { uri } = notification {
            self.0.lock().unwrap().push(uri);
        }
    }
}

/// A subscription downstream is held upstream for as long as a client holds it (a
/// legacy client's `resources/subscribe` until it unsubscribes or ends its session;
/// a 2026 client's listen stream until it closes), and the upstream's
/// `resources/updated` reaches the subscriber under the gateway's URI, and nobody else.
async fn subscriptions_are_held_upstream_while_a_client_holds_one(path: &str, downstream: VersionPin) {
    let server = docs_server();
    let held = held_at(&server);

    let holds = |uri: &str| held.lock().unwrap().contains(uri);
    let running = Running::start(server.clone()).await;
    let h = Harness::start(vec![upstream("docs", &format!("http://{}{path}", running.addr))], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());
    let updates = Updates::default();
    let shutdown = CancellationToken::new();
    let builder = Client::builder().handler(updates.clone()).version(downstream);
    let client = support::downstream_with(&h.server, shutdown.clone(), builder).await;
    // A client that subscribed to nothing hears nothing either.
    let bystander = Updates::default();
    let other =
        support::downstream_with(&h.server, shutdown.clone(), Client::builder().handler(bystander.clone())).await;

    let uri = "tenet://docs/file:///readme.md";
    let stream = CancellationToken::new();
    let listening = if downstream == VersionPin::Modern {
        let filter = SubscriptionFilter { resource_subscriptions: Some(vec![uri.to_owned()]), ..Default::default() };
        let (client, options) = (client.clone(), RequestOptions::default().with_cancel(stream.clone()));
        Some(tokio::spawn(async move { client.listen(filter, &options).await }))
    } else {
        tokio::time::timeout(STEP, client.subscribe(uri)).await.unwrap().unwrap();
        None
    };
    until("the upstream holds the subscription", || holds("file:///readme.md")).await;
    server.notify_resource_updated("file:///elsewhere.md");
    server.notify_resource_updated("file:///readme.md");
    until("the update reached the subscriber", || !updates.0.lock().unwrap().is_empty()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(*updates.0.lock().unwrap(), [uri]);
    assert!(bystander.0.lock().unwrap().is_empty());

    match listening {
        Some(listen) => {
            stream.cancel();
            let _ = tokio::time::timeout(STEP, listen).await.unwrap();
            until("the upstream no longer holds it", || !holds("file:///readme.md")).await;
        }
        None => {
            tokio::time::timeout(STEP, client.unsubscribe(uri)).await.unwrap().unwrap();
            until("the upstream no longer holds it", || !holds("file:///readme.md")).await;
            // Still connected, no longer told.
            server.notify_resource_updated("file:///readme.md");
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(updates.0.lock().unwrap().len(), 1, "no update after unsubscribing");
            // Held again, then let go when the session ends.
            tokio::time::timeout(STEP, client.subscribe(uri)).await.unwrap().unwrap();
            until("the upstream holds it again", || holds("file:///readme.md")).await;
            client.close().await;
            until("the ended session let go of it upstream", || !holds("file:///readme.md")).await;
        }
    }
    other.close().await;
    client.close().await;
    shutdown.cancel();
    h.shutdown().await;
    running.stop().await;
}

#[tokio::test]
async fn a_legacy_clients_subscription_is_held_at_a_2026_upstream() {
    subscriptions_are_held_upstream_while_a_client_holds_one("/mcp", VersionPin::Legacy).await;
}

#[tokio::test]
async fn a_legacy_clients_subscription_is_held_at_a_legacy_upstream() {
    subscriptions_are_held_upstream_while_a_client_holds_one("/sse", VersionPin::Legacy).await;
}

#[tokio::test]
async fn a_2026_clients_listen_stream_is_held_at_a_2026_upstream() {
    subscriptions_are_held_upstream_while_a_client_holds_one("/mcp", VersionPin::Modern).await;
}

#[tokio::test]
async fn a_2026_clients_listen_stream_is_held_at_a_legacy_upstream() {
    subscriptions_are_held_upstream_while_a_client_holds_one("/sse", VersionPin::Modern).await;
}

/// The gateway's subscription is held again at an upstream that restarted on the same
/// port: after a reconnection, or (a legacy Streamable HTTP upstream) after its session
/// was renewed; the subscriber is told once that the resource may have changed in
/// between, and the restarted upstream's updates reach it.
async fn a_subscription_is_held_again_at_a_restarted_upstream(protocol: &str) {
    let first = docs_server();
    let first_held = held_at(&first);
    let running = Running::start(first).await;
    let addr = running.addr;
    let mut config = upstream("docs", &running.url());
    config.protocol = Some(protocol.to_owned());
    let h = Harness::start(vec![config], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());
    let updates = Updates::default();
    let shutdown = CancellationToken::new();
    let builder = Client::builder().handler(updates.clone()).version(VersionPin::Legacy);
    let client = support::downstream_with(&h.server, shutdown.clone(), builder).await;
    let uri = "tenet://docs/file:///readme.md";
    tokio::time::timeout(STEP, client.subscribe(uri)).await.unwrap().unwrap();
    until("the first upstream holds it", || first_held.lock().unwrap().contains("file:///readme.md")).await;

    running.kill().await;
    let second = docs_server();
    let second_held = held_at(&second);
    let restarted = Running::start_on(second.clone(), addr).await;
    until("the restarted upstream holds it", || second_held.lock().unwrap().contains("file:///readme.md")).await;
    // It may have changed while nobody held it: the subscriber is told so, once.
    until("the may-have-changed notice arrived", || !updates.0.lock().unwrap().is_empty()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(*updates.0.lock().unwrap(), [uri]);
    second.notify_resource_updated("file:///readme.md");
    until("the restarted upstream's update arrived", || updates.0.lock().unwrap().len() == 2).await;
    assert_eq!(*updates.0.lock().unwrap(), [uri, uri]);
    client.close().await;
    shutdown.cancel();
    h.shutdown().await;
    restarted.stop().await;
}

#[tokio::test]
async fn a_subscription_is_held_again_at_a_restarted_legacy_upstream() {
    a_subscription_is_held_again_at_a_restarted_upstream("legacy").await;
}

#[tokio::test]
async fn a_subscription_is_held_again_at_a_restarted_2026_upstream() {
    a_subscription_is_held_again_at_a_restarted_upstream("stateless").await;
}

/// When what a 2026 upstream's listen stream holds changes, the stream with the new
/// filter opens before the old one ends: an update to a resource held all along,
/// raised while the streams change over, still reaches its subscriber.
#[tokio::test]
async fn a_resource_held_all_along_misses_no_update_while_the_listen_stream_changes() {
    let server = docs_server();
    let held = held_at(&server);
    let holds = |uri: &str| held.lock().unwrap().contains(uri);
    let running = Running::start(server.clone()).await;
    let mut config = upstream("docs", &running.url());
    config.protocol = Some("stateless".to_owned());
    let h = Harness::start(vec![config], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());
    let updates = Updates::default();
    let shutdown = CancellationToken::new();
    let builder = Client::builder().handler(updates.clone()).version(VersionPin::Legacy);
    let client = support::downstream_with(&h.server, shutdown.clone(), builder).await;
    let readme = "tenet://docs/file:///readme.md";
    tokio::time::timeout(STEP, client.subscribe(readme)).await.unwrap().unwrap();
    until("the upstream holds the readme", || holds("file:///readme.md")).await;

    // The readme changes every 2 ms while a second subscription changes the stream.
    let firing = CancellationToken::new();
    let fired = {
        let (server, firing) = (server.clone(), firing.clone());
        tokio::spawn(async move {
            let mut fired = 0usize;
            while !firing.is_cancelled() {
                server.notify_resource_updated("file:///readme.md");
                fired += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            fired
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    // Two changes in a row (the second before the first stream is acknowledged), then a
    // third once they settled.
    tokio::time::timeout(STEP, client.subscribe("tenet://docs/file:///docs/guide")).await.unwrap().unwrap();
    tokio::time::timeout(STEP, client.subscribe("tenet://docs/file:///docs/faq")).await.unwrap().unwrap();
    until("the upstream holds the guide and the faq", || holds("file:///docs/guide") && holds("file:///docs/faq"))
        .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    tokio::time::timeout(STEP, client.unsubscribe("tenet://docs/file:///docs/guide")).await.unwrap().unwrap();
    until("the upstream let go of the guide", || !holds("file:///docs/guide")).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    firing.cancel();
    let fired = tokio::time::timeout(STEP, fired).await.unwrap().unwrap();
    let told = || updates.0.lock().unwrap().iter().filter(|uri| *uri == readme).count();
    // While both streams held it, an update may have been told twice; none is lost.
    until(&format!("every one of the {fired} updates reached the subscriber"), || told() >= fired).await;
    // The old streams have ended: once the count settles, an update is told once.
    let mut before = told();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = told();
        if now == before {
            break;
        }
        before = now;
    }
    server.notify_resource_updated("file:///readme.md");
    until("the next update reached the subscriber", || told() > before).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(told(), before + 1, "told once: one stream holds the readme");
    client.close().await;
    shutdown.cancel();
    h.shutdown().await;
    running.stop().await;
}

/// MCP Apps (`io.modelcontextprotocol/ui`): an upstream's `ui://` resource keeps its
/// scheme with the upstream's name inside, its `_meta.ui` (the app's CSP, its border)
/// passes through as the upstream wrote it, in the listing and in what a read gives,
/// and the tool that names it names the gateway's URI.
#[tokio::test]
async fn an_apps_ui_resource_keeps_its_scheme_and_its_meta_ui_passes_through() {
    let ui =
        json!({"csp": {"connectDomains": ["https://api.example.com"], "resourceDomains": []}, "prefersBorder": true});
    let meta = serde_json::from_value::<tenet_client::protocol::JsonObject>(json!({ "ui": ui })).unwrap();
    let listing: Resource = serde_json::from_value(json!({
        "uri": "ui://clock/app.html", "name": "clock", "mimeType": "text/html;profile=mcp-app", "_meta": meta,
    }))
    .unwrap();
    let read_meta = meta.clone();
    let app = ResourceDef::new(listing, move |request: ReadRequest| {
        let contents = ResourceContents::Text(TextResourceContents {
            uri: request.uri,
            mime_type: Some("text/html;profile=mcp-app".into()),
            text: "<html>clock</html>".into(),
            meta: Some(read_meta.clone()),
        });
        async move { Ok(Some(vec![contents])) }
    });
    let tool: tenet_client::protocol::Tool = serde_json::from_value(json!({
        "name": "show-clock", "inputSchema": {"type": "object"},
        "_meta": {"ui": {"resourceUri": "ui://clock/app.html", "visibility": ["model", "app"]}},
    }))
    .unwrap();
    let probe = Arc::new(Probe::default());
    let server = upstream_server("apps", &probe)
        .resource(app)
        .tool(ToolDef::from_listing(tool, || async { "12:00" }))
        .build()
        .unwrap();
    let running = Running::start(server).await;
    let h = Harness::start(vec![upstream("apps", &running.url())], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());

    let resources = h.client.list_all::<ListResourcesResult>().await.unwrap();
    let listed = resources.iter().find(|r| r.uri == "ui://apps/clock/app.html").expect("listed under ui://apps/");
    assert_eq!(serde_json::to_value(&listed.meta).unwrap(), json!({ "ui": ui }), "the listing's _meta, unchanged");
    let read = h.client.read_resource("ui://apps/clock/app.html").await.unwrap();
    let read = serde_json::to_value(&read.contents).unwrap();
    assert_eq!(read[0]["uri"], "ui://apps/clock/app.html", "{read}");
    assert_eq!(read[0]["_meta"], json!({ "ui": ui }), "the contents' _meta, unchanged: {read}");
    assert_eq!(read[0]["text"], "<html>clock</html>");
    let tools = h.client.list_all_tools().await.unwrap();
    let shown = tools.iter().find(|t| t.name == "apps__show-clock").expect("the app's tool");
    let shown = serde_json::to_value(&shown.meta).unwrap();
    assert_eq!(shown["ui"], json!({"resourceUri": "ui://apps/clock/app.html", "visibility": ["model", "app"]}));
    h.shutdown().await;
    running.stop().await;
}
