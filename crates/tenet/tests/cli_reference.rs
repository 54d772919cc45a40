//! The guide's command-line reference, `docs/cli.md`, is what `tenet man --markdown`
//! prints: generated from the definition `--help` is, so that it cannot drift from it.
//! `TENET_BLESS=1 cargo nextest run -p tenet cli_reference` rewrites the page.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use crate::common;

/// `tenet man --markdown`, as the page is generated.
fn generated() -> String {
    let out = common::tenet_command().args(["man", "--markdown"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_cli_reference_in_the_guide_is_what_tenet_generates() {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/cli.md");
    let generated = generated();
    if std::env::var_os("TENET_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&page, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&page).unwrap_or_default();
    if committed != generated {
        let (line, (was, now)) = committed
            .lines()
            .chain(std::iter::repeat(""))
            .zip(generated.lines().chain(std::iter::repeat("")))
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .unwrap_or((0, ("", "")));
        panic!(
            "docs/cli.md is not what `tenet man --markdown` prints (the command line changed?). Regenerate it:\n\
             \n    TENET_BLESS=1 cargo nextest run -p tenet cli_reference\n\
             \nor: cargo run -p tenet -- man --markdown > docs/cli.md\n\
             \nFirst difference, line {}:\n  docs/cli.md: {was:?}\n  generated:   {now:?}",
            line + 1
        );
    }
}

#[test]
fn the_cli_reference_covers_every_command_and_only_what_help_shows() {
    let page = generated();
    for heading in ["## tenet serve", "## tenet config", "### tenet config check", "### tenet config example"] {
        assert!(page.lines().any(|l| l == heading), "{heading} missing");
    }
    // Every subcommand `tenet --help` lists has a section, and a row in the contents.
    let help = common::tenet_command().arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let listed = help.split("Commands:\n").nth(1).unwrap().split("\n\n").next().unwrap();
    let names: Vec<&str> =
        listed.lines().filter_map(|l| l.split_whitespace().next()).filter(|n| *n != "help").collect();
    assert!(names.len() > 15, "{names:?}");
    for name in names {
        assert!(page.contains(&format!("\n## tenet {name}\n")), "no section for {name}");
        assert!(page.contains(&format!("| [`tenet {name}`](#tenet-{name}) |")), "no contents row for {name}");
    }
    // Options under their headings, with defaults, variables and values.
    assert!(page.contains("\n**HTTP**\n"), "serve's headings");
    assert!(page.contains(
        "- `--port <PORT>`: The port to bind (0 picks a free one). Default: `3020`. Environment: `TENET_PORT`."
    ));
    assert!(page.contains("  - `stdio`: "), "a value's help");
    // The flag that writes this page is on it; clap's own help is not, nor anything of the
    // machine it ran on.
    assert!(page.contains("- `--markdown`"), "tenet man --markdown");
    assert!(!page.contains("## tenet help") && !page.contains("`-h, --help`"), "clap's help");
    assert!(!page.contains("(commit ") && !page.contains("TENET_PORT="), "no version, no environment");
    assert!(page.lines().all(|l| l == l.trim_end()), "trailing whitespace");
    assert!(page.ends_with('\n') && !page.ends_with("\n\n"), "one newline at the end");
}
