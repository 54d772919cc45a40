//! What an upstream says about a relayed call goes back to the client that made it,
//! end to end, in every pairing of eras: a real upstream Tenet server over Streamable
//! HTTP, spoken to in 2026-07-28 or over the legacy handshake; downstream, a Tenet
//! client of either era that answers elicitation, sampling and roots.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::sync::{Arc, Mutex};

use crate::support::{Home, Probe, Running, STEP, gateway_server, quick, upstream, upstream_server};
use futures_util::future::BoxFuture;
use serde_json::{Map, Value, json};
use tenet_client::protocol::{
    ClientCapabilities, CreateMessageParams, CreateMessageResult, ElicitAction, ElicitParams, ElicitResult,
    ListRootsResult, LoggingLevel, Role, Root, SamplingMessage,
};
use tenet_client::{Client, ClientHandler, ServerNotification, VersionPin};
use tenet_gateway::Gateway;
use tenet_server::jsonrpc::ErrorObject;
use tenet_server::protocol::TraceContext;
use tenet_server::{Context, TaskSupport, ToolDef, ToolError};
use tokio_util::sync::CancellationToken;

/// Logs, then asks for a name (elicitation), a poem (sampling) and the roots, and
/// answers with all three.
async fn interview(ctx: Context) -> Result<String, ToolError> {
    ctx.log(LoggingLevel::Info, "interview started").await;
    let form = ElicitParams::form("Your name?", json!({"type": "object", "properties": {"name": {"type": "string"}}}));
    let name = ctx.elicit("name", form).await?.content.and_then(|c| c.get("name").cloned()).unwrap_or_default();
    let ask = CreateMessageParams {
        messages: vec![serde_json::from_value::<SamplingMessage>(
            json!({"role": "user", "content": {"type": "text", "text": "A poem, please"}}),
        )?],
        model_preferences: None,
        system_prompt: None,
        include_context: None,
        temperature: None,
        max_tokens: 50,
        stop_sequences: None,
        metadata: None,
        tools: None,
        tool_choice: None,
    };
    let poem = ctx.sample("poem", ask).await?.text().unwrap_or_default();
    let roots = ctx.list_roots("roots").await?.roots.into_iter().map(|r| r.uri).collect::<Vec<_>>();
    Ok(format!("{name} | {poem} | {}", roots.join(",")))
}

/// The downstream user: answers every question, and keeps the log messages it gets.
#[derive(Default)]
struct User {
    logs: Arc<Mutex<Vec<Value>>>,
}

impl ClientHandler for User {
    fn capabilities(&self) -> ClientCapabilities {
        ClientCapabilities {
            sampling: Some(Map::new()),
            elicitation: Some(Map::new()),
            roots: Some(Default::default()),
            ..ClientCapabilities::default()
        }
    }

    fn elicit(&self, params: ElicitParams) -> BoxFuture<'_, Result<ElicitResult, ErrorObject>> {
        assert_eq!(params.message, "Your name?");
        let content = json!({"name": "Ada"}).as_object().cloned();
        Box::pin(async move { Ok(ElicitResult { action: ElicitAction::Accept, content }) })
    }

    fn create_message(&self, params: CreateMessageParams) -> BoxFuture<'_, Result<CreateMessageResult, ErrorObject>> {
        assert_eq!(params.max_tokens, 50);
        Box::pin(async {
            Ok(CreateMessageResult {
                role: Role::Assistant,
                content: json!({"type": "text", "text": "roses are red"}),
                model: "test".into(),
                stop_reason: None,
                meta: None,
            })
        })
    }

    fn list_roots(&self) -> BoxFuture<'_, Result<ListRootsResult, ErrorObject>> {
        Box::pin(async {
            Ok(ListRootsResult { roots: vec![Root { uri: "file:///work".into(), name: None, meta: None }] })
        })
    }

    fn on_notification(&self, notification: ServerNotification) {
        if let ServerNotification::Log(log) = notification {
            self.logs.lock().unwrap().push(log.data);
        }
    }
}

/// The gateway in front of one upstream `up` (whose connection speaks `protocol`),
/// and a downstream client of `downstream`'s era; returns the interview's result
/// and the log messages the client got.
async fn interview_through(
    protocol: &str,
    downstream: VersionPin,
) -> (tenet_client::protocol::CallToolResult, Vec<Value>) {
    interview_via(protocol, downstream, false).await
}

/// [`interview_through`], the upstream being a peer (the Tenet node `up`) when `peer`.
async fn interview_via(
    protocol: &str,
    downstream: VersionPin,
    peer: bool,
) -> (tenet_client::protocol::CallToolResult, Vec<Value>) {
    let probe = Arc::new(Probe::default());
    let upstream_server = upstream_server("up", &probe).tool(ToolDef::new("interview", interview)).build().unwrap();
    if peer {
        tenet_node::announce(&upstream_server, &"up".parse().unwrap());
    }
    let running = Running::start(upstream_server).await;
    let server = gateway_server();
    let mut config = if peer { support::peer(&running.url()) } else { upstream("up", &running.url()) };
    // Waited for below (a peer is optional by default).
    config.required = true;
    config.protocol = Some(protocol.to_owned());
    let gateway = Gateway::start(server.clone(), vec![config], quick());
    assert!(gateway.wait_ready(STEP).await, "the upstream came up");

    let user = User::default();
    let logs = user.logs.clone();
    let shutdown = CancellationToken::new();
    let builder = Client::builder().handler(user).version(downstream).log_level(LoggingLevel::Info);
    let client = support::downstream_with(&server, shutdown.clone(), builder).await;

    let result = tokio::time::timeout(STEP, client.call_tool("up__interview", json!({})))
        .await
        .expect("answered in time")
        .expect("a result");
    client.close().await;
    shutdown.cancel();
    let calls: std::collections::BTreeMap<&str, u64> =
        gateway.statuses()[0].calls.by_outcome().filter(|(_, n)| *n > 0).collect();
    // Every relayed round is counted by its outcome (`/upstreams`, `tenet_upstream_calls_total`).
    let rounds = if text(&result).contains("Ada") && protocol == "stateless" && downstream == VersionPin::Modern {
        std::collections::BTreeMap::from([("input_required", 3), ("ok", 1)])
    } else {
        std::collections::BTreeMap::from([(if result.is_error == Some(true) { "tool_error" } else { "ok" }, 1)])
    };
    assert_eq!(calls, rounds);
    gateway.shutdown().await;
    running.stop().await;
    let logs = logs.lock().unwrap().clone();
    (result, logs)
}

fn text(result: &tenet_client::protocol::CallToolResult) -> String {
    support::text(result)
}

/// The interview through the gateway is answered, from an upstream and from a peer;
/// the upstream's log message reaches the client once per time the tool ran (a 2026 upstream runs it again in each of its
/// four rounds: the first, then one per answer).
async fn answered(protocol: &str, downstream: VersionPin, runs: usize) {
    for peer in [false, true] {
        let (result, logs) = interview_via(protocol, downstream, peer).await;
        assert_ne!(result.is_error, Some(true), "peer {peer}: {}", text(&result));
        assert_eq!(text(&result), "\"Ada\" | roses are red | file:///work", "peer {peer}");
        assert_eq!(logs, vec![json!("interview started"); runs], "peer {peer}: the log messages reached the client");
    }
}

#[tokio::test]
async fn a_legacy_client_answers_a_2026_upstreams_input_rounds() {
    answered("stateless", VersionPin::Legacy, 4).await;
}

#[tokio::test]
async fn a_legacy_client_answers_a_legacy_upstreams_requests() {
    answered("legacy", VersionPin::Legacy, 1).await;
}

#[tokio::test]
async fn a_2026_client_answers_a_2026_upstreams_input_rounds_through_the_gateways_own_state() {
    answered("stateless", VersionPin::Modern, 4).await;
}

#[tokio::test]
async fn a_2026_client_cannot_answer_a_legacy_upstreams_request_and_is_told_why() {
    let (result, _) = interview_through("legacy", VersionPin::Modern).await;
    assert_eq!(result.is_error, Some(true));
    let text = text(&result);
    assert!(
        text.contains("upstream up") && text.contains("elicitation/create") && text.contains("2026-07-28"),
        "{text}"
    );
}

#[tokio::test]
async fn a_tool_a_2025_11_25_upstream_runs_only_as_a_task_is_called_as_one_and_followed() {
    let probe = Arc::new(Probe::default());
    let job = ToolDef::new("job", || async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        "done"
    })
    .task_support(TaskSupport::Required);
    let hang = support::hang_tool(&probe).task_support(TaskSupport::Required);
    let running = Running::start(upstream_server("up", &probe).tool(job).tool(hang).build().unwrap()).await;
    let server = gateway_server();
    let mut config = upstream("up", &running.url());
    config.protocol = Some("2025-11-25".to_owned());
    let gateway = Gateway::start(server.clone(), vec![config], quick());
    assert!(gateway.wait_ready(STEP).await, "the upstream came up");
    let shutdown = CancellationToken::new();
    let builder = Client::builder().version(VersionPin::Modern).tasks();
    let client = support::downstream_with(&server, shutdown.clone(), builder).await;

    // The gateway runs it as a task upstream, so its own clients may call it either way.
    let tools = tokio::time::timeout(STEP, client.list_all_tools()).await.expect("in time").unwrap();
    let job = tools.iter().find(|t| t.name == "up__job").expect("up__job is listed");
    assert_eq!(job.execution.as_ref().and_then(|e| e.task_support.as_deref()), Some("optional"));
    let plain =
        support::downstream_with(&server, shutdown.clone(), Client::builder().version(VersionPin::Legacy)).await;
    let result = tokio::time::timeout(STEP, plain.call_tool("up__job", json!({}))).await.expect("in time").unwrap();
    assert_eq!(text(&result), "done", "a legacy client without tasks gets the result");
    plain.close().await;

    // Without the `task` param the upstream would refuse the call (-32601).
    let result = tokio::time::timeout(STEP, client.call_tool("up__job", json!({}))).await.expect("in time").unwrap();
    assert_eq!(text(&result), "done");
    assert!(result.meta.is_none(), "the upstream's related-task note is not passed on: {:?}", result.meta);

    // Cancelling the gateway's task cancels the upstream's.
    let cancel = CancellationToken::new();
    let options = tenet_client::RequestOptions::timeout(STEP).with_cancel(cancel.clone());
    let call = client.request("tools/call", json!({"name": "up__hang", "arguments": {}}), &options);
    let stop = async {
        support::until("the upstream task runs", || probe.hanging.load(std::sync::atomic::Ordering::SeqCst)).await;
        cancel.cancel();
    };
    let (outcome, ()) = tokio::join!(call, stop);
    assert!(matches!(outcome, Err(tenet_client::ClientError::Cancelled)), "{outcome:?}");
    support::until("the upstream task's token fires", || probe.cancelled.load(std::sync::atomic::Ordering::SeqCst))
        .await;
    client.close().await;
    shutdown.cancel();
    gateway.shutdown().await;
    running.stop().await;
}

/// `server` as a gateway in front of `running` as upstream `up`, spoken to over the
/// legacy handshake with `timeout` (seconds), once it is up.
async fn through_legacy(server: &tenet_server::Server, running: &Running, timeout: Option<u64>) -> Gateway {
    let mut config = upstream("up", &running.url());
    config.protocol = Some("legacy".to_owned());
    config.timeout = timeout;
    let gateway = Gateway::start(server.clone(), vec![config], quick());
    assert!(gateway.wait_ready(STEP).await, "the upstream came up");
    gateway
}

/// An upstream's -32042: the user is to sign in at `url` first (step `id`).
fn sign_in_first(id: &str, url: &str) -> ToolError {
    let elicitation = json!({"mode": "url", "elicitationId": id, "url": url, "message": "Sign in to Example"});
    ToolError::Protocol(
        ErrorObject::new(tenet_server::jsonrpc::ErrorCode::URL_ELICITATION_REQUIRED, "URL elicitation required")
            .with_data(json!({ "elicitations": [elicitation] })),
    )
}

/// A downstream user whose client declares URL elicitation (or not), and who, sent
/// to a URL, goes there and completes the step a moment later (or declines).
struct Browser {
    url: bool,
    /// Whether the user accepts to go to the URL, and then finishes there.
    goes: Going,
    /// Set once the user has completed the step at the URL (after they accepted).
    signed_in: Arc<std::sync::atomic::AtomicBool>,
    /// The URLs the user was sent to.
    visited: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Going {
    Declines,
    GetsStuck,
    Finishes,
}

impl ClientHandler for Browser {
    fn capabilities(&self) -> ClientCapabilities {
        let elicitation = if self.url { json!({"form": {}, "url": {}}) } else { json!({"form": {}}) };
        ClientCapabilities { elicitation: elicitation.as_object().cloned(), ..ClientCapabilities::default() }
    }

    fn elicit(&self, params: ElicitParams) -> BoxFuture<'_, Result<ElicitResult, ErrorObject>> {
        assert_eq!(params.mode.as_deref(), Some("url"));
        assert_eq!(params.message, "Sign in to Example");
        self.visited.lock().unwrap().push(params.url.unwrap_or_default());
        if self.goes == Going::Finishes {
            let signed_in = self.signed_in.clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                signed_in.store(true, std::sync::atomic::Ordering::SeqCst);
            });
        }
        let action = if self.goes == Going::Declines { ElicitAction::Decline } else { ElicitAction::Accept };
        Box::pin(async move { Ok(ElicitResult { action, content: None }) })
    }
}

/// A legacy upstream's -32042 (URL elicitation required) reaches a 2025-11-25 client
/// that declared URL elicitation as it is; a 2026-07-28 client that declared it is
/// sent to the URL in an input round, and its next round calls the upstream again
/// until the user has finished there (a declined step ends the call with a tool
/// error, without calling again); any other client gets a tool error naming the
/// upstream and saying what the user has to do, without the URL.
#[tokio::test]
async fn a_url_elicitation_required_error_reaches_each_client_as_it_can_take_it() {
    let probe = Arc::new(Probe::default());
    let signed_in = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sign_in = {
        let (signed_in, calls) = (signed_in.clone(), calls.clone());
        ToolDef::new("sign_in", move || {
            let (signed_in, calls) = (signed_in.clone(), calls.clone());
            async move {
                calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if signed_in.load(std::sync::atomic::Ordering::SeqCst) {
                    return Ok("signed in".to_owned());
                }
                Err(sign_in_first("e-1", "https://auth.example/start?state=s"))
            }
        })
    };
    let running = Running::start(upstream_server("up", &probe).tool(sign_in).build().unwrap()).await;
    let server = gateway_server();
    let mut config = upstream("up", &running.url());
    config.required = true;
    config.protocol = Some("legacy".to_owned());
    // How long a call waits for a user who accepted to go to the URL.
    config.timeout = Some(2);
    let gateway = Gateway::start(server.clone(), vec![config], quick());
    assert!(gateway.wait_ready(STEP).await, "the upstream came up");

    // (version, declares URL elicitation, what the user does): the one who finishes
    // comes last, as from then on the upstream lets everyone in.
    let clients = [
        (VersionPin::Legacy, true, Going::Finishes),
        (VersionPin::Legacy, false, Going::Finishes),
        (VersionPin::Modern, false, Going::Finishes),
        (VersionPin::Modern, true, Going::Declines),
        (VersionPin::Modern, true, Going::GetsStuck),
        (VersionPin::Modern, true, Going::Finishes),
    ];
    for (pin, url, goes) in clients {
        let shutdown = CancellationToken::new();
        let visited = Arc::new(Mutex::new(Vec::new()));
        let browser = Browser { url, goes, signed_in: signed_in.clone(), visited: visited.clone() };
        let builder = Client::builder().handler(browser).version(pin);
        let client = support::downstream_with(&server, shutdown.clone(), builder).await;
        let before = calls.load(std::sync::atomic::Ordering::SeqCst);
        let answer = tokio::time::timeout(STEP, client.call_tool("up__sign_in", json!({}))).await.expect("in time");
        let called = calls.load(std::sync::atomic::Ordering::SeqCst) - before;
        let case = format!("{pin:?}, url {url}, {goes:?}");
        match (pin, url) {
            (VersionPin::Legacy, true) => {
                let Err(tenet_client::ClientError::Server(error)) = answer else {
                    panic!("-32042 expected: {answer:?}")
                };
                assert_eq!(error.code, tenet_server::jsonrpc::ErrorCode::URL_ELICITATION_REQUIRED);
                assert_eq!(error.data.unwrap()["elicitations"][0]["url"], "https://auth.example/start?state=s");
                assert_eq!(called, 1);
            }
            (VersionPin::Modern, true) => {
                let result = answer.expect("a result, not a JSON-RPC error");
                let expected: &[&str] = &["https://auth.example/start?state=s"];
                assert_eq!(*visited.lock().unwrap(), expected, "{case}: sent to the URL once");
                match goes {
                    Going::Finishes => {
                        assert_eq!(result.is_error, None, "{case}: {result:?}");
                        assert_eq!(text(&result), "signed in");
                        // Once in the first round; then, the user still at the URL,
                        // again until they are done (the step is not asked twice).
                        assert!((3..=4).contains(&called), "{case}: called {called} times");
                    }
                    Going::GetsStuck => {
                        assert_eq!(result.is_error, Some(true));
                        let text = text(&result);
                        assert!(text.contains("upstream up") && text.contains("within 2 s"), "{case}: {text}");
                        assert!(!text.contains("auth.example"), "{case}: {text}");
                        assert!((3..=4).contains(&called), "{case}: called {called} times");
                    }
                    Going::Declines => {
                        assert_eq!(result.is_error, Some(true));
                        let text = text(&result);
                        assert!(text.contains("upstream up") && text.contains("decline"), "{case}: {text}");
                        assert_eq!(called, 1, "{case}: a declined step is not followed by another call");
                    }
                }
            }
            _ => {
                let result = answer.expect("a tool error, not a JSON-RPC error");
                assert_eq!(result.is_error, Some(true));
                let text = text(&result);
                assert!(text.contains("upstream up") && text.contains("Sign in to Example"), "{case}: {text}");
                assert!(!text.contains("auth.example"), "the URL is for the user's client, not the model: {text}");
                assert!(visited.lock().unwrap().is_empty(), "{case}");
                assert_eq!(called, 1);
            }
        }
        client.close().await;
        shutdown.cancel();
    }
    gateway.shutdown().await;
    running.stop().await;
}

/// When the upstream says a URL step was completed (`notifications/elicitation/complete`,
/// here while the call it still refused was under way), the gateway calls again at
/// once rather than at its next once-a-second try.
#[tokio::test]
async fn a_completed_url_step_said_by_the_upstream_calls_again_at_once() {
    let probe = Arc::new(Probe::default());
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sign_in = {
        let calls = calls.clone();
        ToolDef::new("sign_in", move |ctx: Context| {
            let calls = calls.clone();
            async move {
                let call = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if call >= 2 {
                    return Ok("signed in".to_owned());
                }
                if call == 1 {
                    // The user finished while this call was being refused.
                    let method = tenet_client::protocol::Method::ElicitationComplete;
                    ctx.notify(method, &json!({"elicitationId": "e-2"})).await;
                }
                Err(sign_in_first("e-2", "https://auth.example/start"))
            }
        })
    };
    let running = Running::start(upstream_server("up", &probe).tool(sign_in).build().unwrap()).await;
    let server = gateway_server();
    let gateway = through_legacy(&server, &running, Some(10)).await;
    let shutdown = CancellationToken::new();
    let visited = Arc::new(Mutex::new(Vec::new()));
    let stuck = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let browser = Browser { url: true, goes: Going::GetsStuck, signed_in: stuck, visited: visited.clone() };
    let builder = Client::builder().handler(browser).version(VersionPin::Modern);
    let client = support::downstream_with(&server, shutdown.clone(), builder).await;
    let started = std::time::Instant::now();
    let result =
        tokio::time::timeout(STEP, client.call_tool("up__sign_in", json!({}))).await.expect("in time").unwrap();
    let took = started.elapsed();
    assert_eq!(text(&result), "signed in", "{result:?}");
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert_eq!(visited.lock().unwrap().len(), 1, "sent to the URL once");
    assert!(took < std::time::Duration::from_millis(900), "called again at once, not after a second: {took:?}");
    client.close().await;
    shutdown.cancel();
    gateway.shutdown().await;
    running.stop().await;
}

/// A 2025-11-25 client that declared URL elicitation: the URL steps it is sent to
/// (`elicitation/create`, accepted), and those it is told were completed
/// (`notifications/elicitation/complete`).
#[derive(Default)]
struct Waiting {
    sent_to: Arc<Mutex<Vec<String>>>,
    completed: Arc<Mutex<Vec<String>>>,
}

impl ClientHandler for Waiting {
    fn capabilities(&self) -> ClientCapabilities {
        let elicitation = json!({"form": {}, "url": {}});
        ClientCapabilities { elicitation: elicitation.as_object().cloned(), ..ClientCapabilities::default() }
    }

    fn elicit(&self, params: ElicitParams) -> BoxFuture<'_, Result<ElicitResult, ErrorObject>> {
        self.sent_to.lock().unwrap().push(params.elicitation_id.unwrap_or_default());
        Box::pin(async { Ok(ElicitResult { action: ElicitAction::Accept, content: None }) })
    }

    fn on_notification(&self, notification: ServerNotification) {
        if let ServerNotification::Other { method, params } = notification
            && method == tenet_client::protocol::Method::ElicitationComplete.name()
        {
            let id = params.and_then(|p| p["elicitationId"].as_str().map(str::to_owned)).unwrap_or_default();
            self.completed.lock().unwrap().push(id);
        }
    }
}

/// Issue 60: two callers, each on a session of its own at a legacy upstream, are sent
/// to the URL step the upstream numbers the same on both sessions (`e-9`): each gets an
/// id of its own for it, and is told of its own step's completion alone.
#[tokio::test]
async fn url_steps_of_two_callers_sessions_keep_ids_of_their_own() {
    let probe = Arc::new(Probe::default());
    let sign_in =
        ToolDef::new("sign_in", || async { Err::<String, _>(sign_in_first("e-9", "https://auth.example/9")) });
    let origin = upstream_server("up", &probe).tool(sign_in).build().unwrap();
    let running = Running::start(origin.clone()).await;
    let server = gateway_server();
    let gateway = through_legacy(&server, &running, None).await;
    let shutdown = CancellationToken::new();
    let (alice_waits, bob_waits) = (Waiting::default(), Waiting::default());
    let (alice_told, bob_told) = (alice_waits.completed.clone(), bob_waits.completed.clone());
    let waiting = |handler| Client::builder().handler(handler);
    let alice = support::caller_with(&server, "alice", &shutdown, waiting(alice_waits)).await;
    let bob = support::caller_with(&server, "bob", &shutdown, waiting(bob_waits)).await;
    let step_id = async |client: &Client| {
        let answer = tokio::time::timeout(STEP, client.call_tool("up__sign_in", json!({}))).await.expect("in time");
        let Err(tenet_client::ClientError::Server(error)) = answer else { panic!("-32042 expected: {answer:?}") };
        error.data.unwrap()["elicitations"][0]["elicitationId"].as_str().unwrap().to_owned()
    };
    let (alices, bobs) = (step_id(&alice).await, step_id(&bob).await);
    assert!(alices.starts_with("tenet://up/") && alices.ends_with("/e-9"), "{alices}");
    assert_ne!(alices, bobs, "one id for two callers' steps");
    // The upstream says `e-9` is done on every session that was sent to it: each caller
    // hears of its own step.
    origin.url_elicitation_complete("e-9");
    support::until("both are told", || !alice_told.lock().unwrap().is_empty() && !bob_told.lock().unwrap().is_empty())
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(*alice_told.lock().unwrap(), [alices]);
    assert_eq!(*bob_told.lock().unwrap(), [bobs]);
    alice.close().await;
    bob.close().await;
    shutdown.cancel();
    gateway.shutdown().await;
    running.stop().await;
}

/// A legacy upstream's -32042 passed on to a 2025-11-25 client as it was (its step
/// named as the gateway names the upstream's, so that two upstreams' ids never meet):
/// when the upstream later says the step was completed, that client is told, once,
/// and a client that was never sent the step is not. The same holds for a step the
/// upstream sends the client to with `elicitation/create`.
#[tokio::test]
async fn a_completed_url_step_reaches_the_legacy_client_that_was_sent_it_and_no_other() {
    let probe = Arc::new(Probe::default());
    let sign_in =
        ToolDef::new("sign_in", || async { Err::<String, _>(sign_in_first("e-9", "https://auth.example/9")) });
    let visit = ToolDef::new("visit", |ctx: Context| async move {
        let params = ElicitParams {
            mode: Some("url".to_owned()),
            message: "Open the page".to_owned(),
            requested_schema: None,
            url: Some("https://auth.example/7".to_owned()),
            elicitation_id: Some("e-7".to_owned()),
        };
        ctx.elicit("visit", params).await.map(|answer| format!("{:?}", answer.action))
    });
    let origin = upstream_server("up", &probe).tool(sign_in).tool(visit).build().unwrap();
    let running = Running::start(origin.clone()).await;
    let server = gateway_server();
    let gateway = through_legacy(&server, &running, None).await;
    let shutdown = CancellationToken::new();
    let (sent, bystander) = (Waiting::default(), Waiting::default());
    let (sent_told, bystander_told) = (sent.completed.clone(), bystander.completed.clone());
    let sent_to = sent.sent_to.clone();
    let client = |handler| Client::builder().handler(handler).version(VersionPin::Legacy);
    let sent = support::downstream_with(&server, shutdown.clone(), client(sent)).await;
    let bystander = support::downstream_with(&server, shutdown.clone(), client(bystander)).await;
    assert_eq!(sent.version().as_str(), "2025-11-25");

    let answer = tokio::time::timeout(STEP, sent.call_tool("up__sign_in", json!({}))).await.expect("in time");
    let Err(tenet_client::ClientError::Server(error)) = answer else { panic!("-32042 expected: {answer:?}") };
    assert_eq!(error.data.unwrap()["elicitations"][0]["elicitationId"], "tenet://up/e-9");
    origin.url_elicitation_complete("e-9");
    support::until("the client sent to the URL is told", || !sent_told.lock().unwrap().is_empty()).await;
    // At the gateway: told once; a step never sent to anyone reaches nobody.
    server.url_elicitation_complete("tenet://up/e-9");
    server.url_elicitation_complete("tenet://up/e-0");
    server.url_elicitation_complete("e-9");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(*sent_told.lock().unwrap(), ["tenet://up/e-9"]);

    // Sent to a URL by the upstream's request, mid-call.
    let result = tokio::time::timeout(STEP, sent.call_tool("up__visit", json!({}))).await.expect("in time").unwrap();
    assert_eq!(text(&result), "Accept", "{result:?}");
    assert_eq!(*sent_to.lock().unwrap(), ["tenet://up/e-7"]);
    origin.url_elicitation_complete("e-7");
    support::until("told of the second step", || sent_told.lock().unwrap().len() == 2).await;
    assert_eq!(sent_told.lock().unwrap()[1], "tenet://up/e-7");
    assert!(bystander_told.lock().unwrap().is_empty(), "{:?}", bystander_told.lock().unwrap());
    sent.close().await;
    bystander.close().await;
    shutdown.cancel();
    gateway.shutdown().await;
    running.stop().await;
}

/// A sink that keeps the spans it is given, every trace sampled.
#[derive(Debug, Default)]
struct Kept(Mutex<Vec<tenet_server::spans::FinishedSpan>>);

impl tenet_server::spans::SpanSink for Kept {
    fn sampled(&self, _trace: tenet_server::protocol::TraceId, _caller: Option<&TraceContext>) -> bool {
        true
    }

    fn record(&self, span: tenet_server::spans::FinishedSpan) {
        self.0.lock().unwrap().push(span);
    }
}

/// The upstream's part of a call whose legacy upstream sends the user to a URL
/// (-32042) is, for a 2026-07-28 client, a round of input: its span ends without an
/// error, as that of an upstream's own input round does; a step the user never
/// finishes ends the call, and the last span, with why.
#[tokio::test]
async fn a_url_step_sent_as_an_input_round_is_no_error_in_the_upstreams_span() {
    let probe = Arc::new(Probe::default());
    let sign_in =
        ToolDef::new("sign_in", || async { Err::<String, _>(sign_in_first("e-5", "https://auth.example/5")) });
    let running = Running::start(upstream_server("up", &probe).tool(sign_in).build().unwrap()).await;
    let sink = Arc::new(Kept::default());
    let config = tenet_server::ServerConfig { spans: Some(sink.clone()), ..tenet_server::ServerConfig::default() };
    let server = tenet_server::Server::builder("gateway", "1.0.0").dynamic().config(config).build().unwrap();
    // Too short to wait for the user: the second round ends the call.
    let gateway = through_legacy(&server, &running, Some(1)).await;
    let shutdown = CancellationToken::new();
    let stuck = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let browser = Browser { url: true, goes: Going::GetsStuck, signed_in: stuck, visited: Arc::default() };
    let builder = Client::builder().handler(browser).version(VersionPin::Modern);
    let client = support::downstream_with(&server, shutdown.clone(), builder).await;
    let result =
        tokio::time::timeout(STEP, client.call_tool("up__sign_in", json!({}))).await.expect("in time").unwrap();
    assert_eq!(result.is_error, Some(true), "{result:?}");
    let spans: Vec<_> =
        sink.0.lock().unwrap().iter().filter(|s| s.name == "tools/call up").map(|s| s.error.clone()).collect();
    assert_eq!(spans.len(), 2, "one span a round: {spans:?}");
    assert_eq!(spans[0], None, "the round that sent the user to the URL: {spans:?}");
    let last = spans[1].as_deref().unwrap_or_default();
    assert!(last.contains("upstream up") && !last.contains("auth.example"), "{last}");
    client.close().await;
    shutdown.cancel();
    gateway.shutdown().await;
    running.stop().await;
}

/// Issue 60: an upstream that asks for the roots after answering Alice's call asked
/// while Bob's call was the one in flight on the gateway's session, and Bob's client
/// answered with Bob's roots, for Alice's job. Each caller now has a session of its own
/// by default (`sessions.rs`); on a session the operator chose to share, a question
/// that names no request reaches a call only when no other caller's call ended lately:
/// here it reaches neither client, and the upstream is told no.
#[tokio::test]
async fn a_question_an_upstream_asks_after_answering_reaches_no_other_caller() {
    let tools = json!([
        {"name": "quick", "inputSchema": {"type": "object"}},
        {"name": "slow", "inputSchema": {"type": "object"}}
    ]);
    let hand = support::HandServer::start(tools).await;
    hand.delay("slow", std::time::Duration::from_millis(1500));
    let server = gateway_server();
    let mut config = upstream("up", &hand.url());
    config.protocol = Some("legacy".to_owned());
    config.session = Some(tenet_gateway::SessionMode::Shared);
    config.open = true;
    let gateway = Gateway::start(server.clone(), vec![config], quick());
    assert!(gateway.wait_ready(STEP).await, "the upstream came up");
    support::until("the gateway listens on the upstream's GET stream", || hand.listeners() > 0).await;
    let shutdown = CancellationToken::new();
    // Two callers, each with a principal of its own, over one gateway.
    let home = |name: &'static str| Client::builder().handler(Home(name));
    let alice = support::caller_with(&server, "alice", &shutdown, home("alice")).await;
    let bob = support::caller_with(&server, "bob", &shutdown, home("bob")).await;

    let done = tokio::time::timeout(STEP, alice.call_tool("up__quick", json!({}))).await.unwrap().unwrap();
    assert_eq!(text(&done), "quick");
    let bobs = tokio::spawn(async move { bob.call_tool("up__slow", json!({})).await.map(|r| text(&r)) });
    support::until("Bob's call reaches the upstream", || hand.calls().len() == 2).await;
    // The upstream speaks about Alice's finished call, on its session's GET stream.
    hand.send_raw(r#"{"jsonrpc":"2.0","id":"late-1","method":"roots/list"}"#);
    support::until("the gateway answers the upstream", || !hand.responses().is_empty()).await;
    let answer = hand.responses()[0].clone();
    assert_eq!(answer["id"], "late-1");
    assert!(!answer.to_string().contains("/home/bob"), "Bob's roots went to Alice's job: {answer}");
    assert!(answer.get("error").is_some(), "nobody's roots: {answer}");
    assert_eq!(tokio::time::timeout(STEP, bobs).await.unwrap().unwrap().unwrap(), "slow");
    alice.close().await;
    shutdown.cancel();
    gateway.shutdown().await;
}
