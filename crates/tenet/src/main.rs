//! `tenet`: the MCP toolkit's command-line face. See `tenet --help`.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

mod args;
mod auth;
mod commands;
mod config;
mod demo;
mod gateway;
mod knowledge;
mod limits;
mod parse;
mod store;

/// mimalloc (its v2 line): the ~50 short-lived allocations of an HTTP request cost a
/// third of the instructions they cost in glibc's malloc (callgrind: 4.4 k against
/// 13.6 k per stateless `tools/call`). Without transparent huge pages (`no_thp`): with
/// them, the first allocations fault in 2 MB pages, which cost ~0.2 ms of cold start
/// and ~6 MB of resident memory at idle, for no throughput gain.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let mut cli = args::Cli::command();
    if let Some(file) = config::requested(&argv) {
        let mut refused = None;
        cli = cli.mut_subcommand("serve", |serve| match config::apply(args::serve_command(serve.clone()), &file) {
            Ok((serve, _)) => serve,
            Err(e) => {
                refused = Some(e);
                serve
            }
        });
        if let Some(e) = refused {
            eprintln!("tenet: {e}");
            return ExitCode::from(2);
        }
    }
    // Parsed through a borrow, and the command definition is then leaked rather than
    // dropped: it would live until exit anyway, and freeing its ~40 options one by one
    // before the first request is served costs start-up time (as would cloning the
    // matches, which `from_arg_matches` does).
    let mut matches = match cli.try_get_matches_from_mut(argv) {
        Ok(matches) => matches,
        Err(e) => e.exit(),
    };
    std::mem::forget(cli);
    match args::Cli::from_arg_matches_mut(&mut matches) {
        Ok(cli) => commands::run(cli),
        Err(e) => e.exit(),
    }
}
