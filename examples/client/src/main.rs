//! Tenet's MCP client against any server: an `http(s)://` URL, or a command run over
//! stdio. It finds the protocol era by itself (2026-07-28 `server/discover`, else the
//! `initialize` handshake, else HTTP+SSE), lists the tools and calls one.
//!
//! Run with: `cargo run -p example-client -- http://127.0.0.1:3020/mcp echo '{"text":"hi"}'`
//! or `cargo run -p example-client -- 'tenet serve --demo' echo '{"text":"hi"}'`.

use tenet_client::Client;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(server), Some(tool)) = (args.next(), args.next()) else {
        eprintln!("usage: example-client (URL | 'COMMAND ARGS…') TOOL [JSON_ARGUMENTS]");
        std::process::exit(2);
    };
    let arguments: serde_json::Value = serde_json::from_str(&args.next().unwrap_or_else(|| "{}".into()))?;

    let client = if server.starts_with("http://") || server.starts_with("https://") {
        Client::builder().connect_http(&server).await?
    } else {
        let mut words = server.split_whitespace().map(String::from);
        let program = words.next().ok_or("an empty command")?;
        Client::builder().connect_stdio(&program, &words.collect::<Vec<_>>()).await?
    };
    println!("connected with protocol version {}", client.version().as_str());
    for listed in client.list_all_tools().await? {
        println!("tool {}: {}", listed.name, listed.description.as_deref().unwrap_or(""));
    }
    let result = client.call_tool(&tool, arguments).await?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    client.close().await;
    Ok(())
}
