//! One module per subcommand.

use std::process::ExitCode;

use crate::args::{Cli, Command, ConfigCommand};

mod check;
mod config;
mod health;
mod read;
mod serve;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(args) => serve::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Get(args) => read::get(&args),
        Command::Search(args) => read::search(&args),
        Command::Health { url } => health::run(&url),
        Command::Config(ConfigCommand::Check { file, serve_flags }) => config::check(file, &serve_flags),
    }
}
