//! `tenet config check`: validate a config file and show what `tenet serve` would use;
//! `tenet config example`: print a file of every option with its default.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args as _, Command, FromArgMatches};

use super::serve::init_logging;
use super::startup::{self, StartError};
use crate::args::{LogFormat, LogLevel, ServeArgs};
use crate::config::{self, CONFIG_ENV};
use crate::gateway::GatewayError;

/// Checks `file` (or `$TENET_CONFIG`) with `serve_flags` applied on top, as
/// `tenet serve` checks it at start (roots, limits, authorization… all of it), and
/// prints the effective configuration. Exit status 2 when anything is refused.
pub fn check(file: Option<PathBuf>, serve_flags: &[OsString]) -> ExitCode {
    let Some(file) = file.or_else(|| std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()).map(PathBuf::from)) else {
        eprintln!("tenet: no config file: name one, or set {CONFIG_ENV}");
        return ExitCode::from(super::exit::USAGE);
    };
    let (serve, from_file) = match config::apply(ServeArgs::augment_args(Command::new("serve")), &file) {
        Ok(applied) => applied,
        Err(e) => {
            eprintln!("tenet: {e}");
            return ExitCode::from(super::exit::USAGE);
        }
    };
    let argv = std::iter::once(OsString::from("serve")).chain(serve_flags.iter().cloned());
    let parsed = serve.clone().try_get_matches_from(argv).and_then(|m| ServeArgs::from_arg_matches(&m).map(|a| (m, a)));
    let (matches, mut args) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => e.exit(),
    };
    // Its `[[upstream]]` tables are read from it as `serve --config` reads them.
    args.config = Some(file.clone());
    // What loading the documents has to say is shown, as `serve` would log it.
    init_logging(LogLevel::Warn, LogFormat::Pretty);
    let upstreams = match startup::prepare(&args) {
        Ok(prepared) => {
            if let Some(ks) = &prepared.knowledge {
                for warning in startup::content_warnings(&ks.knowledge.base()) {
                    eprintln!("tenet: warning: {warning}");
                }
            }
            prepared.upstreams
        }
        Err(e) => {
            // A fault in an upstream or peer is named with its place (the file's table,
            // or the flag); any other is told as the check of the file found it, after
            // its name, even one in a flag given beside it (the message names the flag).
            match e {
                StartError::Gateway(e @ GatewayError { place: Some(_), .. }) => eprintln!("tenet: {e}"),
                e => eprintln!("tenet: {}: {e}", file.display()),
            }
            return ExitCode::from(super::exit::USAGE);
        }
    };
    outln!("# {}: valid; the effective `tenet serve` configuration:\n", file.display());
    out!("{}", config::effective(&serve, &matches, &from_file));
    if !upstreams.is_empty() {
        outln!(
            "# The upstreams and peers it fronts: [[upstream]] and [[peer]] tables, then --upstream and\n\
             # --peer flags; what each was not given at its default. Not shown: env and header values,\n\
             # secrets, and a URL's credentials and query."
        );
        out!("{}", crate::gateway::effective(&upstreams));
    }
    ExitCode::SUCCESS
}

/// Prints [`config::example`] for `tenet serve`'s options.
pub fn example() -> ExitCode {
    out!("{}", config::example(&ServeArgs::augment_args(Command::new("serve"))));
    ExitCode::SUCCESS
}
