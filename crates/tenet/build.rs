//! Names the commit the binary is built from, for `tenet --version`: `TENET_COMMIT`
//! when the environment sets it (a build from a source archive), else what git says
//! of the checkout (`+dirty` when files differ from it), else `unknown`.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=TENET_COMMIT");
    let commit = std::env::var("TENET_COMMIT").ok().filter(|c| !c.is_empty()).or_else(|| {
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
