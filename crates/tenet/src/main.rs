//! `tenet`: the MCP toolkit's command-line face. See `tenet --help`.

use std::process::ExitCode;

use clap::Parser;

mod args;
mod commands;
mod demo;
mod knowledge;

fn main() -> ExitCode {
    commands::run(args::Cli::parse())
}
