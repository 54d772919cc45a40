//! `tenet get` and `tenet search`, run as a person would.

#![allow(clippy::unwrap_used)]

use std::process::Command;

fn tenet(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tenet")).args(args).env_remove("TENET_ROOTS").output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn get_prints_the_standard_with_its_sources() {
    let (code, stdout, stderr) = tenet(&["get", "rust", "testing"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("# Testing standards"), "the base comes first: {}", &stdout[..80.min(stdout.len())]);
    assert!(stdout.contains("# Rust testing"));
    assert!(
        stderr.contains("source: builtin:all/testing.md") && stderr.contains("source: builtin:rust/testing.md"),
        "{stderr}"
    );
}

#[test]
fn get_pages_with_a_cursor_and_reports_unknown_keys() {
    let (code, first, stderr) = tenet(&["get", "go", "security", "--max-tokens", "300"]);
    assert_eq!(code, 0);
    let cursor = stderr.split("--cursor ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let (code, second, _) = tenet(&["get", "go", "security", "--max-tokens", "300", "--cursor", &cursor]);
    assert_eq!(code, 0);
    assert_ne!(first, second);
    let (code, _, stderr) = tenet(&["get", "cobol", "testing"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("Languages with standards:"), "{stderr}");
}

#[test]
fn search_lists_hits_and_fails_on_none() {
    let (code, stdout, _) = tenet(&["search", "sql injection", "--domain", "security", "--limit", "3"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("1. "), "{stdout}");
    assert!(stdout.contains("stdlib://"), "{stdout}");
    let (code, stdout, _) = tenet(&["search", "zzqqxxyyvv"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("No matches"), "{stdout}");
}

#[test]
fn bad_limits_are_usage_errors_that_name_the_flag() {
    for (flag, value) in [("--header-timeout", "0"), ("--session-idle-timeout", "-5"), ("--shutdown-grace", "soon")] {
        let arg = format!("{flag}={value}");
        let (code, _, stderr) = tenet(&["serve", "--transport", "http", &arg]);
        assert_eq!(code, 2, "{flag} {value}: {stderr}");
        assert!(stderr.contains(flag), "{stderr}");
    }
}
