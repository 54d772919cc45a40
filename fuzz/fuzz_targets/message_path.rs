//! The server's whole message path, as a stream transport drives it: the input's
//! lines are one client's frames (an `initialize` session, 2026-07-28 requests, batches,
//! responses to the server's own requests, garbage), fed in order to one session of
//! the conformance fixture. Whatever arrives, the session ends (no hang), everything
//! the server wrote is well-formed JSON-RPC, and every response answers a request
//! that was sent.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use tenet_server::{Driver, DriverOptions};

fuzz_target!(|data: &[u8]| {
    let runtime = tenet_fuzz::runtime();
    let written = runtime.block_on(async {
        let (out, mut lines) = tokio::sync::mpsc::channel(1024);
        let collector = tokio::spawn(async move {
            let mut written = Vec::new();
            while let Some(line) = lines.recv().await {
                written.push(line);
            }
            written
        });
        let driver = Driver::new(tenet_fuzz::server(), out, DriverOptions::default());
        for frame in data.split(|&b| b == b'\n').filter(|f| !f.is_empty()) {
            driver.receive(frame).await;
        }
        driver.drain().await;
        drop(driver);
        collector.await.expect("the collector ends")
    });
    // Ids the client could have used: every id-like value in its frames.
    let sent: HashSet<String> = data
        .split(|&b| b == b'\n')
        .filter_map(|f| serde_json::from_slice::<serde_json::Value>(f).ok())
        .flat_map(|v| match v {
            serde_json::Value::Array(items) => items,
            other => vec![other],
        })
        .filter_map(|m| m.get("id").map(ToString::to_string))
        .collect();
    for line in &written {
        assert_eq!(line.last(), Some(&b'\n'), "a message not ended by a newline");
        tenet_fuzz::check_written(line);
        let value: serde_json::Value = serde_json::from_slice(line).expect("checked above");
        let answers = match value {
            serde_json::Value::Array(items) => items,
            other => vec![other],
        };
        for answer in answers.iter().filter(|a| a.get("method").is_none()) {
            let Some(id) = answer.get("id").map(ToString::to_string) else { continue };
            assert!(id == "null" || sent.contains(&id), "a response to id {id}, which the client never sent");
        }
    }
});
