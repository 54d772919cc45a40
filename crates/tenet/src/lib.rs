//! The `tenet` command: its arguments, config file and subcommands. The binary
//! (`src/main.rs`) only picks the allocator and calls [`main`]; the library exists so
//! that the fuzz targets (`fuzz/`, built with `--cfg fuzzing`) reach the config-file
//! parser.
//!
//! ```no_run
//! // What `tenet --version` does:
//! let code = tenet::main_with(["tenet", "--version"].map(std::ffi::OsString::from).to_vec());
//! # let _ = code;
//! ```

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

mod args;
mod auth;
mod commands;
mod config;
mod demo;
mod export;
mod gateway;
mod knowledge;
mod limits;
mod parse;
mod store;
mod telemetry;

/// Runs the command line this process was started with.
pub fn main() -> ExitCode {
    main_with(std::env::args_os().collect())
}

/// Runs `argv` (its first item is the program's name) as `tenet` would.
pub fn main_with(argv: Vec<OsString>) -> ExitCode {
    let mut cli = args::Cli::command();
    if let Some(file) = config::requested(&argv) {
        let mut refused = None;
        let command = argv.get(1).and_then(|c| c.to_str()).unwrap_or("serve").to_owned();
        let serve = cli.find_subcommand("serve").cloned().map(args::serve_command);
        cli = cli.mut_subcommand(&command, |sub| {
            let Some(serve) = serve else { return sub };
            let applied = if command == "serve" {
                config::apply(serve, &file).map(|(serve, _)| serve)
            } else {
                config::apply_knowledge(serve, args::knowledge_command(&command, sub.clone()), &file)
            };
            applied.unwrap_or_else(|e| {
                refused = Some(e);
                sub
            })
        });
        if let Some(e) = refused {
            eprintln!("tenet: {e}");
            return ExitCode::from(commands::exit::USAGE);
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

/// What the fuzz targets drive (`fuzz/`): present only in builds with `--cfg fuzzing`.
#[cfg(fuzzing)]
pub mod fuzzing {
    /// Reads `text` as a config file for `tenet serve`, as `--config` would; `Err`
    /// carries the message a user would see.
    pub fn config(text: &str) -> Result<Vec<String>, String> {
        let serve = crate::args::serve_command(
            <crate::args::Cli as clap::CommandFactory>::command()
                .find_subcommand("serve")
                .cloned()
                .ok_or("no serve subcommand")?,
        );
        crate::config::apply_text(serve, text, std::path::Path::new("fuzz.toml"))
            .map(|(_, ids)| ids)
            .map_err(|e| e.to_string())
    }
}
