//! `tenet`: the MCP toolkit's command-line face. See `tenet --help`.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

mod args;
mod auth;
mod commands;
mod config;
mod demo;
mod knowledge;
mod limits;

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
    let matches = cli.get_matches_from(argv);
    match args::Cli::from_arg_matches(&matches) {
        Ok(cli) => commands::run(cli),
        Err(e) => e.exit(),
    }
}
