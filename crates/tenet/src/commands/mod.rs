//! One module per subcommand.

use std::process::ExitCode;

use crate::args::{Cli, Command, ConfigCommand};

/// `print!` to stdout, except that a reader that went away (`tenet list | head`) ends
/// the program quietly with status 0 instead of a panic, as other command-line tools do.
macro_rules! out {
    ($($arg:tt)*) => { $crate::commands::write_stdout(format_args!($($arg)*)) };
}

/// `println!` to stdout, with [`out!`]'s handling of a closed stdout.
macro_rules! outln {
    () => { $crate::commands::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::commands::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Writes to stdout; a closed pipe ends the program (status 0), another error is
/// reported on stderr once and the program ends with status 1.
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("tenet: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

mod check;
mod client;
mod client_output;
mod config;
mod eval;
pub(crate) mod exit;
mod export;
mod health;
mod list;
mod read;
mod reference;
mod serve;
mod startup;
mod upstreams;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(mut args) => {
            let more = std::mem::take(&mut args.more_roots);
            args.knowledge.roots.extend(more);
            serve::run(&args)
        }
        Command::Check(args) => check::run(&args),
        Command::Get(args) => read::get(&args),
        Command::Search(args) => read::search(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "tenet", &mut script);
            out!("{}", String::from_utf8_lossy(&script));
            ExitCode::SUCCESS
        }
        Command::Man { markdown: true } => {
            out!("{}", reference::markdown(<Cli as clap::CommandFactory>::command()));
            ExitCode::SUCCESS
        }
        Command::Man { markdown: false } => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut page) {
                Ok(()) => {
                    out!("{}", String::from_utf8_lossy(&page));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("tenet: cannot render the man page: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Health { url, wait } => health::run(&url, wait.map(std::time::Duration::from_secs_f64)),
        Command::Upstreams { url, json } => upstreams::run(&url, json, upstreams::Which::Upstreams),
        Command::Peers { url, json } => upstreams::run(&url, json, upstreams::Which::Peers),
        Command::List(args) => list::run(&args),
        Command::Config(ConfigCommand::Check { file, serve_flags }) => config::check(file, &serve_flags),
        Command::Config(ConfigCommand::Example) => config::example(),
        Command::Tools(args) => client::run(client::Action::Tools, &args),
        Command::Resources(args) => client::run(client::Action::Resources, &args),
        Command::Prompts(args) => client::run(client::Action::Prompts, &args),
        Command::Call(args) => client::run(client::Action::Call, &args),
        Command::Read(args) => client::run(client::Action::Read, &args),
        Command::Prompt(args) => client::run(client::Action::Prompt, &args),
        Command::Skills(args) => client::run(client::Action::Skills, &args),
        Command::Skill(args) => client::run(client::Action::Skill, &args),
    }
}
