//! The README's first steps, run as a new user would run them: in an empty folder, with
//! `tenet` on the PATH.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

/// The README's marker line before the block this test runs.
const MARKER: &str = "<!-- The block below is run as it is by crates/tenet/tests/readme.rs. -->";

/// The ```sh block after the marker.
fn first_steps(readme: &str) -> Option<String> {
    let after = &readme[readme.find(MARKER)? + MARKER.len()..];
    let body = after.trim_start().strip_prefix("```sh\n")?;
    Some(body[..body.find("\n```")?].to_owned())
}

#[test]
fn the_first_steps_of_the_readme_work_in_an_empty_folder() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let script = first_steps(&readme).expect("README.md has the first-steps block after its marker");
    assert!(script.contains("tenet check ./standards"), "{script}");
    let dir = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_tenet")).parent().unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin.to_path_buf()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    let mut bash = Command::new("bash");
    bash.args(["-euo", "pipefail", "-c", &script]).current_dir(dir.path()).env("PATH", path);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TENET_") {
            bash.env_remove(name);
        }
    }
    let out = bash.output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the README's first steps failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("get_stdlib") && stdout.contains("rust/testing: "), "{stdout}");
    assert!(stderr.contains("tenet check: ok: 0 error(s), 0 warning(s)"), "{stderr}");
    assert!(stdout.contains("stdlib://rust/errors"), "the new document is found: {stdout}");
}
