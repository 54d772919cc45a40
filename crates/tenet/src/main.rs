//! `tenet`: the MCP toolkit's command-line face. See `tenet --help`.

use std::process::ExitCode;

/// mimalloc (its v2 line): the ~50 short-lived allocations of an HTTP request cost a
/// third of the instructions they cost in glibc's malloc (callgrind: 4.4 k against
/// 13.6 k per stateless `tools/call`). Without transparent huge pages (`no_thp`): with
/// them, the first allocations fault in 2 MB pages, which cost ~0.2 ms of cold start
/// and ~6 MB of resident memory at idle, for no throughput gain. Built with
/// `RUSTFLAGS="--cfg tenet_system_allocator"`, the system's malloc instead, which heap
/// profilers (valgrind's DHAT and massif) see into.
#[cfg(not(tenet_system_allocator))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tenet::main()
}
