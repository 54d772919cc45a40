//! One module per subcommand.

use std::process::ExitCode;

use crate::args::{Cli, Command, ConfigCommand};

mod check;
mod client;
mod client_output;
mod config;
mod health;
mod list;
mod read;
mod serve;
mod startup;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(args) => serve::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Get(args) => read::get(&args),
        Command::Search(args) => read::search(&args),
        Command::Health { url } => health::run(&url),
        Command::List(args) => list::run(&args),
        Command::Config(ConfigCommand::Check { file, serve_flags }) => config::check(file, &serve_flags),
        Command::Config(ConfigCommand::Example) => config::example(),
        Command::Tools(args) => client::run(client::Action::Tools, &args),
        Command::Resources(args) => client::run(client::Action::Resources, &args),
        Command::Prompts(args) => client::run(client::Action::Prompts, &args),
        Command::Call(args) => client::run(client::Action::Call, &args),
        Command::Read(args) => client::run(client::Action::Read, &args),
        Command::Prompt(args) => client::run(client::Action::Prompt, &args),
    }
}
