//! `tenet config check`: validate a config file and show what `tenet serve` would use.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args as _, Command, FromArgMatches};

use crate::args::ServeArgs;
use crate::config::{self, CONFIG_ENV};

/// Checks `file` (or `$TENET_CONFIG`) with `serve_flags` applied on top, and prints
/// the effective configuration. Exit status 2 when the file or a flag is refused.
pub fn check(file: Option<PathBuf>, serve_flags: &[OsString]) -> ExitCode {
    let Some(file) = file.or_else(|| std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()).map(PathBuf::from)) else {
        eprintln!("tenet: no config file: name one, or set {CONFIG_ENV}");
        return ExitCode::from(2);
    };
    let (serve, from_file) = match config::apply(ServeArgs::augment_args(Command::new("serve")), &file) {
        Ok(applied) => applied,
        Err(e) => {
            eprintln!("tenet: {e}");
            return ExitCode::from(2);
        }
    };
    let argv = std::iter::once(OsString::from("serve")).chain(serve_flags.iter().cloned());
    let checked = serve.clone().try_get_matches_from(argv).and_then(|m| ServeArgs::from_arg_matches(&m).map(|_| m));
    match checked {
        Ok(matches) => {
            println!("# {}: valid; the effective `tenet serve` configuration:\n", file.display());
            print!("{}", config::effective(&serve, &matches, &from_file));
            ExitCode::SUCCESS
        }
        Err(e) => e.exit(),
    }
}
