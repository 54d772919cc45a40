//! Link-time settings for the `tenet` binary.

fn main() {
    // A position-dependent executable on Linux: the loader has no relative relocations to
    // apply (a position-independent build has ~25 000 of them, whose pages are all dirtied
    // at every start), which is the larger part of the gap between a 14 MB binary and a
    // small one in time to first response. Shared libraries, heap, stack and mmaps stay
    // randomized; only the executable image sits at a fixed address, as Go's default
    // builds do. `TENET_PIE=1` keeps the position-independent default.
    println!("cargo:rerun-if-env-changed=TENET_PIE");
    let target = std::env::var("TARGET").unwrap_or_default();
    let pie = std::env::var("TENET_PIE").is_ok_and(|v| v == "1");
    if target.ends_with("linux-gnu") && !pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
