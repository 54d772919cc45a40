//! The tasks extension from the client's side, against Tenet's own server over an
//! in-memory pipe and over Streamable HTTP (2026-07-28): a task is followed to its
//! result, its input is answered by the handler, its failure is the call's error, and
//! a caller that cancels or times out cancels the task on the server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::Answers;
use serde_json::{Value, json};
use tenet_client::{CancellationToken, Client, ClientError, RequestOptions, VersionPin};
use tenet_server::jsonrpc::ErrorObject;
use tenet_server::protocol::ElicitParams;
use tenet_server::{Args, Context, Server, TaskSupport, ToolDef, ToolError};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Wait {
    /// Milliseconds to work.
    ms: u64,
}

/// Says whether it ran as a task.
async fn wait(ctx: Context, Args(Wait { ms }): Args<Wait>) -> String {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    format!("waited {ms} ms as {}", mode(&ctx))
}

/// How a handler ran, for the tests to tell a task from a plain call.
fn mode(ctx: &Context) -> &'static str {
    if ctx.task_id().is_some() { "a task" } else { "a plain call" }
}

async fn broken(ctx: Context) -> Result<String, ToolError> {
    Err(ToolError::Protocol(ErrorObject::internal(format!("the backend is down ({})", mode(&ctx)))))
}

/// Asks for a name from inside the task.
async fn ask(ctx: Context) -> Result<String, ToolError> {
    let schema = json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]});
    let params = ElicitParams::form("Name?", schema);
    let answer = ctx.elicit("name", params).await?;
    let name = answer.content.and_then(|c| c.get("name").cloned()).unwrap_or_default();
    Ok(format!("Hello, {}! ({})", name.as_str().unwrap_or("?"), mode(&ctx)))
}

/// Sets its flag when a task's work stops, however it stops: the server drops the
/// work of a cancelled task (and its context fires, which it also heeds). Left alone
/// it runs 30 s. A plain call never sets the flag.
struct Stopped(Option<Arc<AtomicBool>>);

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Some(flag) = &self.0 {
            flag.store(true, Ordering::SeqCst);
        }
    }
}

fn stubborn(stopped: Arc<AtomicBool>) -> impl Fn(Context) -> futures_util::future::BoxFuture<'static, String> + Clone {
    move |ctx: Context| {
        let stopped = Stopped(ctx.task_id().map(|_| Arc::clone(&stopped)));
        Box::pin(async move {
            let _stopped = stopped;
            tokio::select! {
                () = ctx.cancellation().cancelled() => "stopped".to_owned(),
                () = tokio::time::sleep(Duration::from_secs(30)) => "finished".to_owned(),
            }
        })
    }
}

fn server(stopped: &Arc<AtomicBool>) -> Server {
    Server::builder("tasks", "1.0.0")
        .tool(ToolDef::new("wait", wait).description("Waits").task_support(TaskSupport::Optional))
        .tool(ToolDef::new("only_task", wait).description("Only as a task").task_support(TaskSupport::Required))
        .tool(ToolDef::new("broken", broken).description("Fails").task_support(TaskSupport::Optional))
        .tool(ToolDef::new("ask", ask).description("Asks a name").task_support(TaskSupport::Optional))
        .tool(ToolDef::new("stubborn", stubborn(Arc::clone(stopped))).task_support(TaskSupport::Optional))
        .build()
        .expect("the server builds")
}

async fn connect(tasks: bool, stopped: &Arc<AtomicBool>) -> Client {
    connect_with(tasks, stopped, Answers::default()).await
}

async fn connect_with(tasks: bool, stopped: &Arc<AtomicBool>, handler: Answers) -> Client {
    let (client_end, server_end) = tenet_transport::memory::pair();
    let (read, write) = tokio::io::split(server_end);
    let server = server(stopped);
    tokio::spawn(async move { server.serve(read, write, Default::default()).await });
    let (read, write) = tokio::io::split(client_end);
    let builder = Client::builder().handler(handler).version(VersionPin::Modern);
    let builder = if tasks { builder.tasks() } else { builder };
    builder.connect_pipe(read, write).await.expect("connects")
}

fn text(result: &tenet_client::protocol::CallToolResult) -> String {
    let block = serde_json::to_value(&result.content[0]).expect("json");
    block["text"].as_str().expect("a text block").to_owned()
}

#[tokio::test]
async fn a_task_is_followed_to_its_result() {
    let client = connect(true, &Arc::default()).await;
    let done = client.call_tool("wait", json!({"ms": 60})).await.expect("the task's result");
    assert_eq!(text(&done), "waited 60 ms as a task");
    let required = client.call_tool("only_task", json!({"ms": 0})).await.expect("runs as a task");
    assert_eq!(text(&required), "waited 0 ms as a task");
}

#[tokio::test]
async fn without_the_extension_there_are_no_tasks() {
    let client = connect(false, &Arc::default()).await;
    let plain = client.call_tool("wait", json!({"ms": 0})).await.expect("a plain result");
    assert_eq!(text(&plain), "waited 0 ms as a plain call");
    let refused = client.call_tool("only_task", json!({"ms": 0})).await.expect_err("needs the extension");
    assert_eq!(refused.code().map(|c| c.0), Some(-32021), "{refused}");
}

#[tokio::test]
async fn input_a_task_waits_for_is_answered_by_the_handler() {
    let answers = Answers::default();
    let counted = Arc::clone(&answers.0);
    let client = connect_with(true, &Arc::default(), answers).await;
    let greeted = client.call_tool("ask", json!({})).await.expect("the task's result");
    assert_eq!(text(&greeted), "Hello, Ada! (a task)");
    assert_eq!(counted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failed_task_is_the_calls_error() {
    let client = connect(true, &Arc::default()).await;
    let failed = client.call_tool("broken", json!({})).await.expect_err("the task failed");
    let ClientError::Server(error) = failed else { panic!("{failed}") };
    assert_eq!(error.message, "the backend is down (a task)");
}

#[tokio::test]
async fn cancelling_or_timing_out_cancels_the_task_on_the_server() {
    let stopped = Arc::new(AtomicBool::new(false));
    let client = connect(true, &stopped).await;
    let cancel = CancellationToken::new();
    let later = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        later.cancel();
    });
    let options = RequestOptions::default().with_cancel(cancel);
    let cancelled = client.call_tool_with("stubborn", Value::Null, &options).await.expect_err("cancelled");
    assert!(matches!(cancelled, ClientError::Cancelled), "{cancelled}");
    until_set(&stopped).await;

    stopped.store(false, Ordering::SeqCst);
    let options = RequestOptions::timeout(Duration::from_millis(200));
    let timed_out = client.call_tool_with("stubborn", Value::Null, &options).await.expect_err("timed out");
    assert!(matches!(timed_out, ClientError::Timeout(t) if t == Duration::from_millis(200)), "{timed_out}");
    until_set(&stopped).await;

    // A caller that drops the call (its own timeout around it) cancels the task too.
    stopped.store(false, Ordering::SeqCst);
    let dropped = tokio::time::timeout(Duration::from_millis(200), client.call_tool("stubborn", Value::Null)).await;
    assert!(dropped.is_err(), "the call was still following its task");
    until_set(&stopped).await;

    // "No timeout" spelled as the longest duration is no overflow.
    let forever = RequestOptions::timeout(Duration::MAX);
    let done = client.call_tool_with("wait", json!({"ms": 0}), &forever).await.expect("no deadline");
    assert_eq!(text(&done), "waited 0 ms as a task");
    // The connection is still good for more.
    let after = client.call_tool("wait", json!({"ms": 0})).await.expect("still serving");
    assert_eq!(text(&after), "waited 0 ms as a task");
}

async fn until_set(flag: &AtomicBool) {
    let polls = AtomicUsize::new(0);
    while !flag.load(Ordering::SeqCst) {
        assert!(polls.fetch_add(1, Ordering::SeqCst) < 200, "the task was not cancelled on the server");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_over_http_name_their_task_in_the_headers() {
    let stopped = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let config = tenet_http::HttpConfig::on_port(listener.local_addr().expect("addr").port());
    let url = format!("http://127.0.0.1:{}/mcp", config.port);
    let shutdown = CancellationToken::new();
    tokio::spawn(tenet_http::serve_listener(listener, server(&stopped), config, shutdown.clone()));
    let client = Client::builder().handler(Answers::default()).tasks().connect_http(&url).await.expect("connects");
    // The server refuses tasks/get without a matching Mcp-Name: these pass only if the
    // client sends the task id there.
    assert_eq!(text(&client.call_tool("wait", json!({"ms": 10})).await.expect("result")), "waited 10 ms as a task");
    assert_eq!(text(&client.call_tool("ask", json!({})).await.expect("result")), "Hello, Ada! (a task)");
    let options = RequestOptions::timeout(Duration::from_millis(200));
    let timed_out = client.call_tool_with("stubborn", Value::Null, &options).await.expect_err("timed out");
    assert!(matches!(timed_out, ClientError::Timeout(_)), "{timed_out}");
    until_set(&stopped).await;
    client.close().await;
    shutdown.cancel();
}
