//! Names the commit the binary is built from, for `tenet --version`: `TENET_COMMIT`
//! when the environment sets it (a build from a source archive), else the commit a
//! published crate was packaged from (`cargo install tenet`: the `.cargo_vcs_info.json`
//! cargo writes into the package), else what git says of the checkout (`+dirty` when
//! files differ from it), else `unknown`.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The commit in the `.cargo_vcs_info.json` of a packaged crate (`"sha1": "…"`, and
/// `"dirty": true` when it was packaged from a checkout with changes); none in a checkout.
fn packaged_commit() -> Option<String> {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let path = Path::new(&manifest).join(".cargo_vcs_info.json");
    let info = std::fs::read_to_string(&path).ok()?;
    println!("cargo:rerun-if-changed={}", path.display());
    let after = &info[info.find("\"sha1\"")? + "\"sha1\"".len()..];
    let sha1 = after.trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    let hash = sha1.get(..12).filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))?;
    let dirty = info.split_whitespace().collect::<String>().contains("\"dirty\":true");
    Some(if dirty { format!("{hash}+dirty") } else { hash.to_owned() })
}

fn main() {
    println!("cargo:rerun-if-env-changed=TENET_COMMIT");
    let commit = std::env::var("TENET_COMMIT").ok().filter(|c| !c.is_empty()).or_else(packaged_commit).or_else(|| {
        let hash = git(&["rev-parse", "--short=12", "HEAD"])?;
        // Rebuild when HEAD moves or the index changes (a commit, a checkout).
        if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
            for file in ["HEAD", "index"] {
                let path = Path::new(&dir).join(file);
                if path.exists() {
                    println!("cargo:rerun-if-changed={}", path.display());
                }
            }
            if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
                let path = Path::new(&dir).join(head);
                if path.exists() {
                    println!("cargo:rerun-if-changed={}", path.display());
                }
            }
        }
        // `--no-optional-locks`: a plain `git status` refreshes the index file it reads,
        // which this script watches, so every later cargo command rebuilt this crate.
        let dirty = git(&["--no-optional-locks", "status", "--porcelain", "--untracked-files=no"])
            .is_some_and(|s| !s.is_empty());
        Some(if dirty { format!("{hash}+dirty") } else { hash })
    });
    println!("cargo:rustc-env=TENET_COMMIT={}", commit.as_deref().unwrap_or("unknown"));
}
