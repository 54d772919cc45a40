//! `mcp-bench report`: aggregate JSON result lines into a markdown table.
//!
//! Every cell is the median over rounds of the valid runs of one server (the
//! `lost` rows instead add up or take the worst of every run). Each `--ratio
//! a/b` adds a column comparing two servers measured side by side in one run.

use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// How to combine one metric over rounds.
#[derive(Debug, Clone, Copy)]
enum Agg {
    Median,
    Min,
    Max,
    Sum,
    /// The distinct exit statuses, as text.
    ExitStatus,
}

/// Which direction is better, shown as an arrow in the row title.
#[derive(Debug, Clone, Copy)]
enum Better {
    Higher,
    Lower,
    /// Not a quantity (e.g. exit status): no arrow, no ratio.
    Neither,
}

/// One row of the table.
struct Row {
    scenario: &'static str,
    title: &'static str,
    field: &'static str,
    agg: Agg,
    better: Better,
    decimals: usize,
    /// Include invalid runs (lost-response counts are results even then).
    all_runs: bool,
}

const fn row(
    scenario: &'static str,
    title: &'static str,
    field: &'static str,
    agg: Agg,
    better: Better,
    decimals: usize,
) -> Row {
    Row {
        scenario,
        title,
        field,
        agg,
        better,
        decimals,
        all_runs: matches!(agg, Agg::Sum | Agg::Max | Agg::ExitStatus),
    }
}

const ROWS: &[Row] = &[
    row("pipelined", "stdio pipelined {n}: req/s", "req_per_s", Agg::Median, Better::Higher, 0),
    row("pipelined", "stdio pipelined {n}: peak RSS, MB", "rss_peak_mb", Agg::Median, Better::Lower, 1),
    row("pipelined", "stdio pipelined {n}: responses lost (all rounds)", "lost", Agg::Sum, Better::Lower, 0),
    row(
        "pipelined",
        "stdio pipelined {n}: server CPU per request, µs",
        "server_cpu_us_per_req",
        Agg::Median,
        Better::Lower,
        2,
    ),
    row("pipelined-ping", "stdio pipelined {n} pings: req/s", "req_per_s", Agg::Median, Better::Higher, 0),
    row("pipelined-ping", "stdio pipelined {n} pings: peak RSS, MB", "rss_peak_mb", Agg::Median, Better::Lower, 1),
    row("pipelined-ping", "stdio pipelined {n} pings: responses lost (all rounds)", "lost", Agg::Sum, Better::Lower, 0),
    row(
        "pipelined-ping",
        "stdio pipelined {n} pings: server CPU per request, µs",
        "server_cpu_us_per_req",
        Agg::Median,
        Better::Lower,
        2,
    ),
    row("eof", "stdio EOF after {n}: responses lost (worst round)", "lost", Agg::Max, Better::Lower, 0),
    row("eof", "stdio EOF after {n}: req/s", "req_per_s", Agg::Median, Better::Higher, 0),
    row("eof", "stdio EOF after {n}: exit after stdin close, ms", "exit_ms", Agg::Median, Better::Lower, 1),
    row("eof", "stdio EOF after {n}: exit status", "exit_code", Agg::ExitStatus, Better::Neither, 0),
    row("eof", "stdio EOF after {n}: peak RSS, MB", "rss_peak_mb", Agg::Median, Better::Lower, 1),
    row("latency", "stdio one-at-a-time ({n}): p50, µs", "p50_us", Agg::Median, Better::Lower, 1),
    row("latency", "stdio one-at-a-time ({n}): p99, µs", "p99_us", Agg::Median, Better::Lower, 1),
    row("latency", "stdio one-at-a-time ({n}): mean, µs", "mean_us", Agg::Median, Better::Lower, 1),
    row("coldstart", "cold start to initialize reply ({n} runs): p50, ms", "p50_ms", Agg::Median, Better::Lower, 2),
    row("coldstart", "cold start to initialize reply ({n} runs): min, ms", "min_ms", Agg::Min, Better::Lower, 2),
    row("coldstart", "RSS after initialize, MB", "rss_peak_mb", Agg::Median, Better::Lower, 1),
    row("idle", "idle after initialize ({n} servers): VmRSS, MB", "vmrss_mb", Agg::Median, Better::Lower, 2),
    row("idle", "idle after initialize ({n} servers): RssAnon, MB", "rss_anon_mb", Agg::Median, Better::Lower, 2),
    row(
        "idle",
        "idle after initialize ({n} servers): RssFile (executable, libraries), MB",
        "rss_file_mb",
        Agg::Median,
        Better::Lower,
        2,
    ),
];

const SCENARIO_ORDER: &[&str] = &["pipelined", "pipelined-ping", "eof", "latency", "coldstart", "idle"];

/// Entry point of the `report` subcommand; returns the exit code.
pub fn main(args: &[String]) -> i32 {
    let mut labels: Vec<String> = Vec::new();
    let mut ratios: Vec<(String, String)> = Vec::new();
    let mut files = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--labels" => match it.next() {
                Some(v) => labels = v.split(',').map(str::to_owned).collect(),
                None => return usage("--labels needs a value"),
            },
            "--ratio" => match it.next().and_then(|v| v.split_once('/')) {
                Some((a, b)) => ratios.push((a.to_owned(), b.to_owned())),
                None => return usage("--ratio needs a/b"),
            },
            _ => files.push(a.clone()),
        }
    }
    if files.is_empty() {
        return usage("no result files");
    }
    let mut records = Vec::new();
    for f in &files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("mcp-bench report: {f}: {e}");
                return 1;
            }
        };
        records.extend(
            text.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).filter(|v| v.get("scenario").is_some()),
        );
    }
    for r in &records {
        if let Some(l) = r["label"].as_str()
            && !labels.iter().any(|x| x == l)
        {
            labels.push(l.to_owned());
        }
    }
    print!("{}", render(&records, &labels, &ratios));
    0
}

fn usage(msg: &str) -> i32 {
    eprintln!("mcp-bench report: {msg}");
    eprintln!("usage: mcp-bench report [--labels a,b,c] [--ratio a/b]... <results.jsonl>...");
    2
}

/// The markdown table, then the list of failed runs.
fn render(records: &[Value], labels: &[String], ratios: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut head = String::from("| test |");
    let mut sep = String::from("|---|");
    for l in labels {
        let _ = write!(head, " {l} |");
        sep.push_str("---:|");
    }
    for (a, b) in ratios {
        let _ = write!(head, " {a} / {b} |");
        sep.push_str("---:|");
    }
    let _ = writeln!(out, "{head}\n{sep}");

    let mut groups: BTreeSet<(usize, u64)> = BTreeSet::new();
    for r in records {
        if let (Some(pos), Some(n)) =
            (SCENARIO_ORDER.iter().position(|s| r["scenario"].as_str() == Some(s)), r["n"].as_u64())
        {
            groups.insert((pos, n));
        }
    }
    for (pos, n) in groups {
        let scenario = SCENARIO_ORDER[pos];
        for row in ROWS.iter().filter(|r| r.scenario == scenario) {
            // A metric older result files do not have: no row, rather than "failed".
            let present = records.iter().any(|r| {
                r["scenario"].as_str() == Some(scenario) && r["n"].as_u64() == Some(n) && r.get(row.field).is_some()
            });
            if !present {
                continue;
            }
            let arrow = match row.better {
                Better::Higher => " ↑",
                Better::Lower => " ↓",
                Better::Neither => "",
            };
            let title = row.title.replace("{n}", &group_digits(n as f64, 0));
            let mut line = format!("| {title}{arrow} |");
            let mut values = Vec::new();
            for l in labels {
                let runs: Vec<&Value> = records
                    .iter()
                    .filter(|r| {
                        r["label"].as_str() == Some(l.as_str())
                            && r["scenario"].as_str() == Some(scenario)
                            && r["n"].as_u64() == Some(n)
                    })
                    .collect();
                let (cell, value) = cell(row, &runs);
                let _ = write!(line, " {cell} |");
                values.push((l.as_str(), value));
            }
            for (a, b) in ratios {
                let get = |k: &str| values.iter().find(|(l, _)| *l == k).and_then(|(_, v)| *v);
                let r = match (get(a), get(b), row.agg) {
                    (_, _, Agg::ExitStatus | Agg::Sum | Agg::Max) => "—".to_owned(),
                    (Some(x), Some(y), _) if y > 0.0 => format_ratio(x / y),
                    _ => "—".to_owned(),
                };
                let _ = write!(line, " {r} |");
            }
            let _ = writeln!(out, "{line}");
        }
    }

    let failures: Vec<String> = records
        .iter()
        .filter(|r| r["valid"] != true || r["ok"] != true)
        .map(|r| {
            format!(
                "- {} {} {}: {}",
                r["label"].as_str().unwrap_or("?"),
                r["scenario"].as_str().unwrap_or("?"),
                r["n"],
                r["failure"].as_str().unwrap_or("?")
            )
        })
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\nRuns that failed or lost responses:\n");
        for f in failures {
            let _ = writeln!(out, "{f}");
        }
    }
    out
}

/// Text of one cell and its numeric value (for the ratio).
fn cell(row: &Row, runs: &[&Value]) -> (String, Option<f64>) {
    if runs.is_empty() {
        return ("—".to_owned(), None);
    }
    let valid: Vec<&Value> = runs.iter().copied().filter(|r| row.all_runs || r["valid"] == true).collect();
    let invalid = runs.iter().filter(|r| r["valid"] != true).count();
    let note = if invalid > 0 { format!(" ({invalid}/{} failed)", runs.len()) } else { String::new() };
    if let Agg::ExitStatus = row.agg {
        let set: BTreeSet<String> = valid
            .iter()
            .map(|r| {
                let mut s = if r["exit_code"].is_null() {
                    format!("signal {}", r["exit_signal"])
                } else {
                    r["exit_code"].to_string()
                };
                if r["killed_at_exit"] == true {
                    s.push_str(" (killed)");
                }
                s
            })
            .collect();
        return (set.into_iter().collect::<Vec<_>>().join(", "), None);
    }
    let mut xs: Vec<f64> = valid.iter().filter_map(|r| r.get(row.field).and_then(Value::as_f64)).collect();
    if xs.is_empty() {
        return (format!("failed{note}"), None);
    }
    xs.sort_by(f64::total_cmp);
    let v = match row.agg {
        Agg::Median => median(&xs),
        Agg::Min => xs[0],
        Agg::Max => xs[xs.len() - 1],
        Agg::Sum => xs.iter().sum(),
        Agg::ExitStatus => unreachable!("handled above"),
    };
    (format!("{}{note}", group_digits(v, row.decimals)), Some(v))
}

/// `12.7×`, `1.24×`, `0.0049×`: enough digits to tell small ratios apart.
fn format_ratio(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.1}×")
    } else if r >= 0.1 {
        format!("{r:.2}×")
    } else {
        let decimals = (1 - r.log10().floor() as i32).clamp(2, 6) as usize;
        format!("{r:.decimals$}×")
    }
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 }
}

/// `1234567.8` → `1 234 567.8` (thin-space-free: a plain space, as in the docs).
fn group_digits(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    let (int, frac) = s.split_once('.').map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 && digits.len() > 4 {
            grouped.push(' ');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn digits_are_grouped() {
        assert_eq!(group_digits(1234.0, 0), "1234");
        assert_eq!(group_digits(20000.0, 0), "20 000");
        assert_eq!(group_digits(1234567.25, 1), "1 234 567.2");
        assert_eq!(group_digits(-98765.0, 0), "-98 765");
    }

    #[test]
    fn ratios_keep_two_significant_digits() {
        assert_eq!(format_ratio(12.74), "12.7×");
        assert_eq!(format_ratio(1.234), "1.23×");
        assert_eq!(format_ratio(0.0049), "0.0049×");
        assert_eq!(format_ratio(0.05), "0.050×");
    }

    #[test]
    fn table_has_medians_ratios_and_failures() {
        let rec = |label: &str, rps: f64, valid: bool| {
            json!({"label": label, "scenario": "pipelined", "n": 20000, "req_per_s": rps,
                   "rss_peak_mb": 2.0, "lost": 0, "valid": valid, "ok": valid,
                   "failure": if valid { Value::Null } else { json!("watchdog fired (idle)") }})
        };
        let records = vec![
            rec("a", 100.0, true),
            rec("a", 300.0, true),
            rec("a", 200.0, true),
            rec("b", 50.0, true),
            rec("b", 0.0, false),
        ];
        let labels = vec!["a".to_owned(), "b".to_owned()];
        let out = render(&records, &labels, &[("a".to_owned(), "b".to_owned())]);
        assert!(out.contains("| stdio pipelined 20 000: req/s ↑ | 200 | 50 (1/2 failed) | 4.00× |"), "{out}");
        assert!(out.contains("- b pipelined 20000: watchdog fired (idle)"), "{out}");
    }
}
