//! `kb-bench`: the knowledge server's benchmark (issue 4, "Done when").
//!
//! ```text
//! kb-bench all --bin target/release/tenet [--runs 30] [--reps 5] [--out FILE]
//! kb-bench gen DIR [--langs 200]           # 200 × 5 domains × 10 topics = 10 000 documents
//! kb-bench coldstart --bin TENET [--runs 30]
//! kb-bench search [--root DIR] [--iters 20] # in-process; --root adds DIR after the built-in corpus
//! kb-bench reindex --bin TENET --root DIR --rel lang/domain/topic.md [--reps 5]
//! ```
//!
//! Every sub-command prints one JSON line on stdout; `all` runs the others as child
//! processes of itself (so each peak RSS is its own) and prints a Markdown report.
//! Every wait is bounded.

mod sys;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("gen") => cmd_gen(&args[1..]),
        Some("coldstart") => cmd_coldstart(&args[1..]),
        Some("search") => cmd_search(&args[1..]),
        Some("reindex") => cmd_reindex(&args[1..]),
        Some("all") => cmd_all(&args[1..]),
        _ => Err("usage: kb-bench all|gen|coldstart|search|reindex … (see the source header)".into()),
    };
    if let Err(e) = result {
        eprintln!("kb-bench: {e}");
        std::process::exit(1);
    }
}

type Res<T> = Result<T, String>;

fn opt<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}

fn opt_num(args: &[String], name: &str, default: usize) -> usize {
    opt(args, name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Nearest-rank percentile of sorted samples.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

// ---------------------------------------------------------------------------
// The generated corpus.

const DOMAINS: [&str; 5] = ["architecture", "testing", "security", "performance", "patterns"];
const TOPICS: [&str; 10] = [
    "errors",
    "logging",
    "concurrency",
    "caching",
    "naming",
    "modules",
    "dependencies",
    "api",
    "config",
    "observability",
];
const SYLLABLES: [&str; 20] = [
    "ka", "lo", "mi", "ru", "te", "zo", "pa", "ne", "vi", "sha", "qu", "bel", "dor", "fin", "gar", "hex", "jul", "kor",
    "mon", "ost",
];
const WORDS: &str = "error handling retry backoff timeout deadline cancellation context propagation logging \
structured trace span metric counter histogram latency throughput allocation memory heap stack buffer pool \
connection database query transaction isolation index migration schema validation input sanitize escape \
injection sql command shell path traversal secret credential token rotation encryption hash signature \
certificate tls authentication authorization permission role session cookie csrf xss header policy audit \
dependency injection interface module package boundary layer domain service repository adapter port \
handler middleware router endpoint request response status pagination cursor idempotent cache invalidation \
eviction ttl consistency replica shard partition queue consumer producer message event stream batch \
backpressure concurrency thread async await future channel mutex lock deadlock race atomic immutable \
ownership borrow lifetime generic trait type inference null option result panic exception assertion test \
unit integration property fuzz snapshot fixture mock stub fake flaky deterministic coverage benchmark \
profiling regression review lint format naming convention documentation comment readme changelog version \
semver release deploy rollback feature flag configuration environment variable default override secretless \
container image build reproducible vendoring lockfile upgrade vulnerability scanner supply chain signature \
observability alert dashboard runbook incident postmortem slo error budget capacity scaling horizontal \
vertical sharding serialization json protobuf schema evolution compatibility deprecation contract api \
client server graceful shutdown signal health probe readiness liveness startup warm cold cache hit miss \
complexity cohesion coupling abstraction composition inheritance factory builder strategy observer visitor \
pipeline functional pure side effect mutation state machine invariant precondition postcondition guard \
clause early return nesting function length parameter object value entity aggregate identifier uuid \
timestamp timezone utc clock monotonic duration rate limit quota throttle circuit breaker bulkhead fallback";

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Skewed towards the front of the list (a rough Zipf), so some words are common.
    fn skewed(&mut self, n: usize) -> usize {
        let a = self.below(n);
        let b = self.below(n);
        a.min(b)
    }
}

fn language_names(count: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(count);
    let n = SYLLABLES.len();
    'outer: for i in 0..n {
        for j in 0..n {
            for k in 0..n {
                if out.len() == count {
                    break 'outer;
                }
                // Spread the picks so names do not all share a prefix.
                let (a, b, c) = ((i * 7 + k) % n, (j * 3 + i) % n, k);
                out.push(format!("{}{}{}", SYLLABLES[a], SYLLABLES[b], SYLLABLES[c]));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn sentence(rng: &mut Rng, words: &[&str], len: usize) -> String {
    let mut s = String::new();
    for i in 0..len {
        let w = words[rng.skewed(words.len())];
        if i == 0 {
            let mut c = w.chars();
            if let Some(f) = c.next() {
                s.extend(f.to_uppercase());
                s.push_str(c.as_str());
            }
        } else {
            s.push(' ');
            s.push_str(w);
        }
    }
    s.push('.');
    s
}

fn paragraph(rng: &mut Rng, words: &[&str]) -> String {
    let n = 3 + rng.below(4);
    (0..n)
        .map(|_| {
            let len = 8 + rng.below(10);
            sentence(rng, words, len)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn document(rng: &mut Rng, words: &[&str], language: &str, domain: &str, topic: &str) -> String {
    let tags: Vec<&str> = (0..3).map(|_| words[rng.below(words.len())]).collect();
    let (cm, cd) = (1 + rng.below(12), 1 + rng.below(28));
    let title = format!("{language} {domain}: {topic}");
    let mut out = format!(
        "---\ntitle: {title}\ndescription: {}\nlanguage: {language}\ndomain: {domain}\ntags: [{}]\n\
         createdAt: '2025-{cm:02}-{cd:02}T10:00:00Z'\nupdatedAt: '2026-{cm:02}-{cd:02}T10:00:00Z'\n---\n# {title}\n\n{}\n",
        sentence(rng, words, 10),
        tags.join(", "),
        paragraph(rng, words)
    );
    let sections = 4 + rng.below(3);
    for _ in 0..sections {
        let heading = sentence(rng, words, 3);
        out.push_str(&format!("\n## {}\n\n", heading.trim_end_matches('.')));
        for _ in 0..1 + rng.below(2) {
            out.push_str(&paragraph(rng, words));
            out.push_str("\n\n");
        }
        if rng.below(3) == 0 {
            out.push_str(&format!(
                "- Prefer {} over {}.\n- Never {} without {}.\n\n",
                words[rng.below(words.len())],
                words[rng.below(words.len())],
                words[rng.below(words.len())],
                words[rng.below(words.len())]
            ));
        }
    }
    out
}

/// Writes `langs × 5 × 10` documents; returns (count, bytes).
fn generate(dir: &Path, langs: usize) -> Res<(usize, u64)> {
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut count, mut bytes) = (0, 0u64);
    for language in language_names(langs) {
        for domain in DOMAINS {
            let d = dir.join(&language).join(domain);
            std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
            for topic in TOPICS {
                let text = document(&mut rng, &words, &language, domain, topic);
                bytes += text.len() as u64;
                std::fs::write(d.join(format!("{topic}.md")), text).map_err(|e| e.to_string())?;
                count += 1;
            }
        }
    }
    Ok((count, bytes))
}

fn cmd_gen(args: &[String]) -> Res<()> {
    let dir = PathBuf::from(args.first().ok_or("gen DIR")?);
    let started = Instant::now();
    let (count, bytes) = generate(&dir, opt_num(args, "--langs", 200))?;
    println!("{}", json!({"kind": "gen", "documents": count, "bytes": bytes, "ms": ms(started.elapsed())}));
    Ok(())
}

// ---------------------------------------------------------------------------
// In-process search.

/// ~50 realistic queries; some with a domain filter. Two carry typos (the fuzzy retry).
const QUERIES: [(&str, Option<&str>); 50] = [
    ("sql injection", Some("security")),
    ("property based tests", None),
    ("error handling", None),
    ("retry with exponential backoff", None),
    ("timeout and cancellation", None),
    ("structured logging", None),
    ("connection pool size", Some("performance")),
    ("flaky tests", Some("testing")),
    ("secrets in environment variables", Some("security")),
    ("input validation", None),
    ("dependency injection", Some("architecture")),
    ("avoid global state", None),
    ("mock vs fake", Some("testing")),
    ("table driven tests", None),
    ("async await deadlock", None),
    ("memory allocation in hot loops", Some("performance")),
    ("benchmark regression", None),
    ("path traversal", Some("security")),
    ("password hashing", Some("security")),
    ("cache invalidation", None),
    ("rate limit", None),
    ("circuit breaker fallback", None),
    ("graceful shutdown", None),
    ("health check readiness probe", None),
    ("module boundaries", Some("architecture")),
    ("naming conventions", None),
    ("null and option types", None),
    ("panic vs result", None),
    ("immutable data", Some("patterns")),
    ("builder pattern", Some("patterns")),
    ("state machine", Some("patterns")),
    ("early return guard clause", None),
    ("pagination cursor", None),
    ("idempotent requests", None),
    ("json serialization schema evolution", None),
    ("lockfile reproducible builds", None),
    ("supply chain vulnerability", Some("security")),
    ("tls certificate", Some("security")),
    ("csrf and xss", Some("security")),
    ("test coverage", Some("testing")),
    ("snapshot tests", Some("testing")),
    ("profiling latency", Some("performance")),
    ("observability metrics and traces", None),
    ("feature flags", None),
    ("semantic versioning", None),
    ("database migrations", None),
    ("race condition mutex", None),
    ("thread pool concurrency", Some("performance")),
    ("retyr backof", None),
    ("serilization", None),
];

fn rusage_maxrss_kb() -> i64 {
    sys::maxrss_self_kb()
}

fn cmd_search(args: &[String]) -> Res<()> {
    use tenet_kb::{KnowledgeBase, Query, Root};
    let iters = opt_num(args, "--iters", 20);
    let mut roots = vec![Root::Builtin];
    if let Some(dir) = opt(args, "--root") {
        roots.push(Root::Dir(PathBuf::from(dir)));
    }
    let rss_start = rusage_maxrss_kb();
    let t = Instant::now();
    let kb = KnowledgeBase::load(&roots).map_err(|e| e.to_string())?;
    let load = t.elapsed();
    let t = Instant::now();
    kb.build_index().map_err(|e| e.to_string())?;
    let build = t.elapsed();
    let rss_built = rusage_maxrss_kb();
    let sections: usize = kb.documents().iter().map(|d| d.sections.len()).sum();
    let queries: Vec<Query> = QUERIES
        .iter()
        .map(|(text, domain)| Query {
            text: (*text).into(),
            domain: domain.map(Into::into),
            limit: 5,
            ..Query::default()
        })
        .collect();
    // One warm-up pass (also checks every query runs and most find something).
    let mut empty = Vec::new();
    for q in &queries {
        if kb.search(q)?.is_empty() {
            empty.push(q.text.clone());
        }
    }
    let mut samples = Vec::with_capacity(iters * queries.len());
    let mut cpu = Vec::with_capacity(iters * queries.len());
    let mut per_query = vec![0f64; queries.len()];
    let deadline = Instant::now() + Duration::from_secs(120);
    'outer: for _ in 0..iters {
        for (i, q) in queries.iter().enumerate() {
            let (t, c) = (Instant::now(), sys::thread_cpu_ns());
            let hits = kb.search(q)?;
            let d = ms(t.elapsed());
            cpu.push((sys::thread_cpu_ns() - c) as f64 / 1e6);
            std::hint::black_box(hits);
            samples.push(d);
            per_query[i] = per_query[i].max(d);
            if Instant::now() > deadline {
                break 'outer;
            }
        }
    }
    let s = sorted(samples);
    let cpu = sorted(cpu);
    let mut slowest: Vec<(f64, &str)> = per_query.iter().copied().zip(QUERIES.iter().map(|q| q.0)).collect();
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!(
        "{}",
        json!({
            "kind": "search", "root": opt(args, "--root"), "documents": kb.documents().len(), "sections": sections,
            "load_ms": ms(load), "build_ms": ms(build), "rss_start_kb": rss_start, "rss_after_build_kb": rss_built,
            "rss_end_kb": rusage_maxrss_kb(), "samples": s.len(), "p50_ms": pct(&s, 50.0), "p90_ms": pct(&s, 90.0),
            "p99_ms": pct(&s, 99.0), "max_ms": pct(&s, 100.0), "empty_queries": empty,
            "cpu_p50_ms": pct(&cpu, 50.0), "cpu_p99_ms": pct(&cpu, 99.0), "cpu_max_ms": pct(&cpu, 100.0),
            "slowest": slowest.iter().take(5).map(|(d, q)| json!({"query": q, "max_ms": d})).collect::<Vec<_>>(),
        })
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Talking to a server over stdio.

struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<(Instant, String)>,
    reaped: bool,
}

impl Peer {
    fn spawn(bin: &str, args: &[&str], stderr: Stdio) -> Res<(Peer, Instant)> {
        let started = Instant::now();
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("{bin}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stdin = child.stdin.take();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        Ok((Peer { child, stdin, lines: rx, reaped: false }, started))
    }

    fn send(&mut self, msg: &Value) -> Res<()> {
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        let mut line = msg.to_string();
        line.push('\n');
        stdin.write_all(line.as_bytes()).and_then(|()| stdin.flush()).map_err(|e| format!("write: {e}"))
    }

    /// The first line for which `pick` holds, within `timeout`.
    fn wait_for(&self, timeout: Duration, pick: impl Fn(&Value) -> bool) -> Res<(Instant, Value)> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, line)) => {
                    let v: Value = serde_json::from_str(&line).map_err(|e| format!("bad JSON {e}: {line:.200}"))?;
                    if pick(&v) {
                        return Ok((at, v));
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => return Err(format!("timed out after {timeout:?}")),
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err("the server closed stdout".into()),
            }
        }
    }

    fn reply(&self, id: u64, timeout: Duration) -> Res<(Instant, Value)> {
        let (at, v) = self.wait_for(timeout, |v| v.get("id").and_then(Value::as_u64) == Some(id))?;
        if let Some(e) = v.get("error") {
            return Err(format!("request {id} failed: {e}"));
        }
        Ok((at, v))
    }

    /// Closes stdin, waits up to `timeout` for exit (then SIGKILL); the server's peak RSS in KB.
    fn finish(&mut self, timeout: Duration) -> Option<i64> {
        drop(self.stdin.take());
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(rss) = sys::reap(self.child.id(), false) {
                self.reaped = true;
                return Some(rss);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = self.child.kill();
        self.reaped = sys::reap(self.child.id(), true).is_some();
        None
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = sys::reap(self.child.id(), true);
        }
    }
}

fn initialize(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "kb-bench", "version": "0.1.0"}}})
}

fn initialized() -> Value {
    json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
}

fn call(id: u64, name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
}

/// One cold start: (spawn → initialize reply, spawn → first tools/call reply), ms.
fn cold_once(bin: &str, demo: bool) -> Res<(f64, f64)> {
    let args: &[&str] = if demo { &["serve", "--demo"] } else { &["serve"] };
    let (mut peer, started) = Peer::spawn(bin, args, Stdio::null())?;
    peer.send(&initialize(1))?;
    let (t_init, _) = peer.reply(1, Duration::from_secs(10))?;
    peer.send(&initialized())?;
    let request = if demo {
        call(2, "echo", json!({"text": "hello world"}))
    } else {
        call(2, "get_stdlib", json!({"language": "rust", "domain": "testing"}))
    };
    peer.send(&request)?;
    let (t_call, reply) = peer.reply(2, Duration::from_secs(10))?;
    let result = &reply["result"];
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        return Err(format!("tools/call failed: {result:.300}"));
    }
    if !demo && result.pointer("/structuredContent/found").and_then(Value::as_bool) != Some(true) {
        return Err(format!("get_stdlib(rust, testing) did not find the standard: {:.300}", result.to_string()));
    }
    if peer.finish(Duration::from_secs(5)).is_none() {
        return Err("did not exit within 5 s of stdin closing".into());
    }
    Ok((ms(t_init - started), ms(t_call - started)))
}

fn cmd_coldstart(args: &[String]) -> Res<()> {
    let bin = opt(args, "--bin").ok_or("--bin TENET")?;
    let runs = opt_num(args, "--runs", 30);
    let (mut kb, mut demo) = (Vec::new(), Vec::new());
    let mut failures = Vec::new();
    // One warm-up each (page cache), then interleaved, the order alternating.
    let _ = cold_once(bin, false);
    let _ = cold_once(bin, true);
    for i in 0..runs {
        let order = if i % 2 == 0 { [false, true] } else { [true, false] };
        for is_demo in order {
            match cold_once(bin, is_demo) {
                Ok(r) => {
                    if is_demo {
                        demo.push(r);
                    } else {
                        kb.push(r);
                    }
                }
                Err(e) => failures.push(format!("{}: {e}", if is_demo { "demo" } else { "kb" })),
            }
        }
    }
    let stats = |v: &[(f64, f64)]| {
        let init = sorted(v.iter().map(|r| r.0).collect());
        let first = sorted(v.iter().map(|r| r.1).collect());
        json!({"runs": v.len(), "init_p50_ms": pct(&init, 50.0), "init_min_ms": pct(&init, 0.0),
               "call_p50_ms": pct(&first, 50.0), "call_min_ms": pct(&first, 0.0), "call_max_ms": pct(&first, 100.0)})
    };
    println!("{}", json!({"kind": "coldstart", "kb": stats(&kb), "demo": stats(&demo), "failures": failures}));
    Ok(())
}

// ---------------------------------------------------------------------------
// Re-index after an edit.

fn cmd_reindex(args: &[String]) -> Res<()> {
    let bin = opt(args, "--bin").ok_or("--bin TENET")?;
    let root = PathBuf::from(opt(args, "--root").ok_or("--root DIR")?);
    let rel = opt(args, "--rel").ok_or("--rel language/domain/topic.md")?;
    let reps = opt_num(args, "--reps", 5);
    let file = root.join(rel);
    let uri = format!("stdlib://{}", rel.trim_end_matches(".md"));
    let original = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let log_path = std::env::temp_dir().join(format!("kb-bench-reindex-{}.log", std::process::id()));
    let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let root_s = root.display().to_string();
    let (mut peer, started) = Peer::spawn(bin, &["serve", "--root", &root_s], Stdio::from(log))?;
    let out = (|| -> Res<Value> {
        peer.send(&initialize(1))?;
        let (t_init, _) = peer.reply(1, Duration::from_secs(60))?;
        peer.send(&initialized())?;
        // A first search waits for the background index: the server is then at rest.
        peer.send(&call(2, "search_stdlib", json!({"query": "error handling"})))?;
        let (t_search, _) = peer.reply(2, Duration::from_secs(120))?;
        peer.send(&json!({"jsonrpc": "2.0", "id": 3, "method": "resources/subscribe", "params": {"uri": uri}}))?;
        peer.reply(3, Duration::from_secs(10))?;
        let mut samples = Vec::new();
        let mut failures = Vec::new();
        let mut others = 0;
        for rep in 0..reps {
            std::thread::sleep(Duration::from_millis(1000));
            // Drain anything left over.
            while let Ok((_, line)) = peer.lines.try_recv() {
                others += usize::from(line.contains("notifications/"));
            }
            let text = format!("{original}\nEdited by kb-bench, round {rep}.\n");
            let t0 = Instant::now();
            std::fs::write(&file, text).map_err(|e| e.to_string())?;
            let got = peer.wait_for(Duration::from_secs(10), |v| {
                v["method"] == "notifications/resources/updated" && v.pointer("/params/uri") == Some(&json!(uri))
            });
            match got {
                Ok((at, _)) => samples.push(ms(at - t0)),
                Err(e) => failures.push(format!("round {rep}: {e}")),
            }
        }
        let s = sorted(samples.clone());
        Ok(json!({"init_ms": ms(t_init - started), "first_search_ms": ms(t_search - started), "samples_ms": samples,
                  "p50_ms": pct(&s, 50.0), "max_ms": pct(&s, 100.0), "failures": failures, "other_notifications": others}))
    })();
    let _ = std::fs::write(&file, &original);
    let rss = peer.finish(Duration::from_secs(10));
    let mut out = out?;
    out["kind"] = json!("reindex");
    out["root"] = json!(root_s);
    out["uri"] = json!(uri);
    out["server_peak_rss_kb"] = json!(rss);
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let reloads: Vec<&str> = log.lines().filter(|l| l.contains("reloaded")).take(3).collect();
    out["server_log_reloads"] = json!(reloads);
    let _ = std::fs::remove_file(&log_path);
    println!("{out}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Everything, as a report.

/// Runs `kb-bench ARGS` as a child, bounded by `timeout`; its JSON line.
fn child_json(args: &[&str], timeout: Duration) -> Res<Value> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut child.stdout.take().ok_or("stdout")?, &mut text)
                .map_err(|e| e.to_string())?;
            if !status.success() {
                return Err(format!("kb-bench {} failed ({status})", args.join(" ")));
            }
            return serde_json::from_str(text.trim()).map_err(|e| format!("{e}: {text:.300}"));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("kb-bench {} timed out after {timeout:?}", args.join(" ")));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn f(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
        None => "—".into(),
    }
}

fn mb(v: &Value) -> String {
    v.as_f64().map_or("—".into(), |kb| format!("{:.1} MB", kb / 1024.0))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn cmd_all(args: &[String]) -> Res<()> {
    let bin = opt(args, "--bin").ok_or("--bin TENET")?.to_owned();
    let runs = opt_num(args, "--runs", 30).to_string();
    let reps = opt_num(args, "--reps", 5).to_string();
    let index_runs = opt_num(args, "--index-runs", 3);
    let tmp = std::env::temp_dir().join(format!("kb-bench-{}", std::process::id()));
    let (big, small) = (tmp.join("docs10000"), tmp.join("docs10"));
    let mut md = String::new();
    let mut notes = Vec::new();
    let load_before = loadavg();
    let step = |s: &str| eprintln!("==> {s} (load {})", loadavg());

    step("generating the corpora");
    let t = Instant::now();
    let (count, bytes) = generate(&big, 200)?;
    let gen_ms = ms(t.elapsed());
    let (small_count, _) = generate(&small, 1).map(|_| (0usize, 0u64))?;
    let _ = small_count;
    // The small root: 1 language × 5 domains × 10 topics is 50; keep 10 (2 domains × 5 topics).
    for entry in std::fs::read_dir(small.join(language_names(1)[0].clone())).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let keep = path.file_name().is_some_and(|n| n == "testing" || n == "security");
        if !keep {
            std::fs::remove_dir_all(&path).map_err(|e| e.to_string())?;
            continue;
        }
        for topic in TOPICS.iter().skip(5) {
            std::fs::remove_file(path.join(format!("{topic}.md"))).map_err(|e| e.to_string())?;
        }
    }
    let lang0 = language_names(1)[0].clone();
    let big_lang = language_names(200)[100].clone();

    step("cold start (tenet serve vs tenet serve --demo)");
    let cold = child_json(&["coldstart", "--bin", &bin, "--runs", &runs], Duration::from_secs(300));
    step("search, built-in corpus");
    let s_builtin = child_json(&["search"], Duration::from_secs(300));
    let mut s_big = Vec::new();
    for i in 0..index_runs {
        step(&format!("search + index build, 10 000 documents ({}/{index_runs})", i + 1));
        match child_json(&["search", "--root", &big.display().to_string()], Duration::from_secs(400)) {
            Ok(v) => s_big.push(v),
            Err(e) => notes.push(e),
        }
    }
    step("re-index after an edit, 10 documents");
    let re_small = child_json(
        &[
            "reindex",
            "--bin",
            &bin,
            "--root",
            &small.display().to_string(),
            "--rel",
            &format!("{lang0}/testing/errors.md"),
            "--reps",
            &reps,
        ],
        Duration::from_secs(120),
    );
    step("re-index after an edit, 10 000 documents");
    let re_big = child_json(
        &[
            "reindex",
            "--bin",
            &bin,
            "--root",
            &big.display().to_string(),
            "--rel",
            &format!("{big_lang}/security/caching.md"),
            "--reps",
            &reps,
        ],
        Duration::from_secs(300),
    );
    let load_after = loadavg();
    let _ = std::fs::remove_dir_all(&tmp);

    md.push_str(&format!(
        "# Knowledge-server benchmark ({})\n\n`bench/kb-run.sh` → `kb-bench all --bin {bin} --runs {runs} --reps {reps}`. \
         Load average (1/5/15 min) before: {load_before}; after: {load_after}. Generated corpus: {count} documents, \
         {:.1} MB, written in {:.0} ms.\n\n",
        args.iter().position(|a| a == "--date").and_then(|i| args.get(i + 1)).map_or("", String::as_str),
        bytes as f64 / 1e6,
        gen_ms
    ));

    md.push_str("## 1. Start to first answer (stdio, built-in corpus)\n\n");
    match &cold {
        Ok(c) => {
            let (k, d) = (&c["kb"], &c["demo"]);
            let ratio = |a: &Value, b: &Value| match (a.as_f64(), b.as_f64()) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
                _ => "—".into(),
            };
            md.push_str(&format!(
                "{} interleaved runs each (plus one warm-up each), ms from spawn.\n\n\
                 | | `tenet serve` | `tenet serve --demo` | ratio | target |\n|---|---:|---:|---:|---|\n\
                 | spawn → `initialize` reply, p50 | {} | {} | {} | |\n\
                 | spawn → `initialize` reply, min | {} | {} | {} | |\n\
                 | spawn → first `tools/call` reply, p50 | {} | {} | **{}** | ≤ 2× |\n\
                 | spawn → first `tools/call` reply, min | {} | {} | {} | |\n\
                 | spawn → first `tools/call` reply, max | {} | {} | | |\n\n\
                 First call: `get_stdlib(rust, testing)` (checked `found: true`) vs the demo's `echo`.\n",
                k["runs"],
                f(&k["init_p50_ms"]),
                f(&d["init_p50_ms"]),
                ratio(&k["init_p50_ms"], &d["init_p50_ms"]),
                f(&k["init_min_ms"]),
                f(&d["init_min_ms"]),
                ratio(&k["init_min_ms"], &d["init_min_ms"]),
                f(&k["call_p50_ms"]),
                f(&d["call_p50_ms"]),
                ratio(&k["call_p50_ms"], &d["call_p50_ms"]),
                f(&k["call_min_ms"]),
                f(&d["call_min_ms"]),
                ratio(&k["call_min_ms"], &d["call_min_ms"]),
                f(&k["call_max_ms"]),
                f(&d["call_max_ms"]),
            ));
            if let Some(fl) = c["failures"].as_array().filter(|a| !a.is_empty()) {
                md.push_str(&format!("\nFailures: {}\n", Value::from(fl.clone())));
            }
        }
        Err(e) => md.push_str(&format!("FAILED: {e}\n")),
    }

    md.push_str("\n## 2–3. `search_stdlib` latency, index build, peak RSS (in-process, `tenet_kb`)\n\n");
    md.push_str(&format!(
        "`KnowledgeBase::search`, limit 5, {} queries × 20 passes after one warm-up pass; built-in corpus first, then \
         the generated documents as a `--root` on top of it (as `tenet serve --root` does). One process per row, so \
         peak RSS (`ru_maxrss`) is that row's own. Latency is wall time per call; the CPU column is the calling \
         thread's CPU time for the same calls (`CLOCK_THREAD_CPUTIME_ID`), which leaves out waiting for a CPU on \
         this busy machine.\n\n\
         | corpus | docs | sections | load ms | build_index ms | peak RSS after build | search p50 ms | p90 | p99 | max | CPU p50 / p99 / max ms | target |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
        QUERIES.len()
    ));
    let row = |name: &str, v: &Value, target: &str| {
        format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | **{}** | {} | {} / {} / {} | {target} |\n",
            v["documents"],
            v["sections"],
            f(&v["load_ms"]),
            f(&v["build_ms"]),
            mb(&v["rss_after_build_kb"]),
            f(&v["p50_ms"]),
            f(&v["p90_ms"]),
            f(&v["p99_ms"]),
            f(&v["max_ms"]),
            f(&v["cpu_p50_ms"]),
            f(&v["cpu_p99_ms"]),
            f(&v["cpu_max_ms"])
        )
    };
    match &s_builtin {
        Ok(v) => md.push_str(&row("built-in", v, "")),
        Err(e) => notes.push(format!("built-in search: {e}")),
    }
    for (i, v) in s_big.iter().enumerate() {
        md.push_str(&row(&format!("built-in + 10 000 generated, run {}", i + 1), v, "p99 < 5 ms"));
    }
    for (name, v) in
        std::iter::once(("built-in", s_builtin.as_ref().ok())).chain(s_big.iter().map(|v| ("10 000", Some(v))))
    {
        if let Some(v) = v {
            md.push_str(&format!(
                "\n{name}: slowest queries (max ms): {}; queries with no hit: {}",
                v["slowest"], v["empty_queries"]
            ));
        }
    }
    md.push('\n');

    md.push_str("\n## 4. Re-index latency after a file edit (`tenet serve --root`, stdio, legacy session)\n\n");
    md.push_str(&format!(
        "`initialize` (2025-11-25), one `search_stdlib` (waits for the start-up index), `resources/subscribe` to one \
         document, then {reps} times: wait 1 s, rewrite the file (append a line), time until \
         `notifications/resources/updated` for that URI arrives (10 s bound).\n\n\
         | root | init ms | first search ms | edit → notification, each (ms) | p50 | max | target | server peak RSS |\n\
         |---|---:|---:|---|---:|---:|---|---:|\n"
    ));
    for (name, r) in [("10 documents (+ built-in)", &re_small), ("10 000 documents (+ built-in)", &re_big)] {
        match r {
            Ok(v) => {
                let each = v["samples_ms"]
                    .as_array()
                    .map(|a| a.iter().map(f).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default();
                md.push_str(&format!(
                    "| {name} | {} | {} | {each} | {} | {} | ≤ 500 ms | {} |\n",
                    f(&v["init_ms"]),
                    f(&v["first_search_ms"]),
                    f(&v["p50_ms"]),
                    f(&v["max_ms"]),
                    mb(&v["server_peak_rss_kb"])
                ));
                if let Some(fl) = v["failures"].as_array().filter(|a| !a.is_empty()) {
                    notes.push(format!("{name}: {}", Value::from(fl.clone())));
                }
                notes.push(format!("{name}: server log: {}", v["server_log_reloads"]));
            }
            Err(e) => md.push_str(&format!("| {name} | FAILED: {e} | | | | | | |\n")),
        }
    }
    if !notes.is_empty() {
        md.push_str("\n## Notes\n\n");
        for n in &notes {
            md.push_str(&format!("- {n}\n"));
        }
    }
    match opt(args, "--out") {
        Some(path) => std::fs::write(path, &md).map_err(|e| format!("{path}: {e}"))?,
        None => print!("{md}"),
    }
    Ok(())
}
