//! Link-time settings for the `tenet` binary.

fn main() {
    // A position-dependent executable on Linux: the loader has no relative relocations to
    // apply (a position-independent build has ~25 000 of them, whose pages are all dirtied
    // at every start), which is the larger part of the gap between a 14 MB binary and a
    // small one in time to first response. Shared libraries, heap, stack and mmaps stay
    // randomized; only the executable image sits at a fixed address, as Go's default
    // builds do. `TENET_PIE=1` keeps the position-independent default.
    //
    // A static build (`-C target-feature=+crt-static -C relocation-model=static`, as
    // `scripts/build-release` does) is already position-dependent and must not be told
    // `-no-pie` on top of rustc's own static flags.
    println!("cargo:rerun-if-env-changed=TENET_PIE");
    let target = std::env::var("TARGET").unwrap_or_default();
    let pie = std::env::var("TENET_PIE").is_ok_and(|v| v == "1");
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let static_crt = features.split(',').any(|f| f == "crt-static");
    if target.ends_with("linux-gnu") && !pie && !static_crt {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
