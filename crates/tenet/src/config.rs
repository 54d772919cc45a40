//! `--config FILE`: the `tenet serve` options in one TOML file.
//!
//! The file has one table per help heading of `tenet serve --help` (`[server]`,
//! `[knowledge]`, `[http]`), and its keys are the options' names with underscores:
//!
//! ```toml
//! [server]
//! transport = "http"
//!
//! [knowledge]
//! roots = ["standards"]   # relative to this file
//!
//! [http]
//! port = 8080
//! allowed_origins = ["https://app.example.com"]
//! ```
//!
//! The command line is the one source of truth: a key names an option, its value is
//! checked by that option's own parser, and it becomes that option's default — so a
//! flag still beats an environment variable, which beats the file, which beats the
//! built-in default. Unknown sections or keys and wrong types are refused with the
//! key's path.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use toml::{Table, Value};

/// The environment variable that names a config file when `--config` is not given.
pub const CONFIG_ENV: &str = "TENET_CONFIG";

/// Why a config file was refused.
#[derive(Debug)]
pub struct ConfigError {
    file: PathBuf,
    key: Option<String>,
    message: String,
}

impl ConfigError {
    fn new(file: &Path, key: Option<String>, message: impl Into<String>) -> Self {
        Self { file: file.to_owned(), key, message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{}: {key}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The subcommands that read standards as `tenet serve` does, and so its config file's
/// `[knowledge]` table too.
pub const KNOWLEDGE_COMMANDS: [&str; 5] = ["get", "search", "list", "eval", "export"];

/// The config file a command line asks for: `--config FILE`, `--config=FILE`, or else
/// `$TENET_CONFIG`, for `tenet serve` and the [`KNOWLEDGE_COMMANDS`]. Other subcommands
/// take none.
pub fn requested(argv: &[OsString]) -> Option<PathBuf> {
    let command = argv.get(1).and_then(|c| c.to_str())?;
    if command != "serve" && !KNOWLEDGE_COMMANDS.contains(&command) {
        return None;
    }
    let mut args = argv.iter().skip(2);
    while let Some(arg) = args.next() {
        let arg = arg.to_string_lossy();
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Reads `file` as `tenet serve` would (every table checked), and makes the values of
/// its `[knowledge]` table the defaults of `command`'s options of the same names.
///
/// # Errors
/// What `tenet serve --config file` would refuse.
pub fn apply_knowledge(serve: Command, command: Command, file: &Path) -> Result<Command, ConfigError> {
    let (serve, ids) = apply(serve, file)?;
    let knowledge: Vec<&clap::Arg> = serve
        .get_arguments()
        .filter(|arg| heading(arg).as_deref() == Some("knowledge") && ids.iter().any(|id| arg.get_id() == id))
        .collect();
    Ok(command.mut_args(|arg| match knowledge.iter().find(|k| k.get_id() == arg.get_id()) {
        Some(set) => {
            let values: Vec<clap::builder::OsStr> = set.get_default_values().to_vec();
            arg.default_values(values)
        }
        None => arg,
    }))
}

/// Reads `file` and makes its values the defaults of `serve`'s options; also returns
/// the ids of the options the file set.
pub fn apply(serve: Command, file: &Path) -> Result<(Command, Vec<String>), ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|e| ConfigError::new(file, None, format!("cannot read: {e}")))?;
    apply_text(serve, &text, file)
}

/// [`apply`] on the text of `file`, already read.
pub fn apply_text(serve: Command, text: &str, file: &Path) -> Result<(Command, Vec<String>), ConfigError> {
    let table: Table = text.parse().map_err(|e: toml::de::Error| {
        ConfigError::new(file, None, format!("not valid TOML: {}", e.to_string().trim_end()))
    })?;
    let base = file.parent().unwrap_or(Path::new("."));
    let mut defaults = Vec::new();
    for (section, entries) in &table {
        if (section == "upstream" || section == "peer") && entries.is_array() {
            // `[[upstream]]` and `[[peer]]` tables describe servers, not options: the
            // gateway reads them.
            continue;
        }
        let Value::Table(entries) = entries else {
            return Err(ConfigError::new(file, Some(section.clone()), outside_a_table(&serve, section, entries)));
        };
        if !serve.get_arguments().any(|arg| heading(arg).is_some_and(|h| h == *section)) {
            return Err(ConfigError::new(
                file,
                Some(section.clone()),
                crate::parse::unknown("section", sections(&serve)),
            ));
        }
        for (key, value) in entries {
            let path = format!("{section}.{key}");
            let Some(arg) =
                serve.get_arguments().find(|arg| arg.get_id() == key && heading(arg).as_ref() == Some(section))
            else {
                let keys = serve.get_arguments().filter(|a| heading(a).as_ref() == Some(section));
                return Err(ConfigError::new(
                    file,
                    Some(path),
                    crate::parse::unknown("key", keys.map(|a| a.get_id().to_string())),
                ));
            };
            let values = strings(arg, value, base).map_err(|m| ConfigError::new(file, Some(path.clone()), m))?;
            validate(arg, &values).map_err(|e| ConfigError::new(file, Some(path.clone()), clap_message(&e)))?;
            defaults.push((arg.get_id().to_string(), values));
        }
    }
    let ids = defaults.iter().map(|(id, _)| id.clone()).collect();
    let serve = serve.mut_args(|arg| match defaults.iter().position(|(id, _)| arg.get_id() == id) {
        Some(at) => arg.default_values(defaults.swap_remove(at).1),
        None => arg,
    });
    Ok((serve, ids))
}

/// What to say about `key = value` written before any table: where the key belongs,
/// when it names an option.
fn outside_a_table(serve: &Command, key: &str, value: &Value) -> String {
    match serve.get_arguments().find(|arg| arg.get_id() == key).and_then(heading) {
        Some(section) => {
            format!("belongs in the [{section}] table: write `[{section}]` on a line above `{key} = {value}`")
        }
        None => format!(
            "expected a table (one of: {}), not a key outside any table",
            sections(serve).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The TOML table an option belongs in: its help heading, lower-cased.
fn heading(arg: &Arg) -> Option<String> {
    arg.get_help_heading().map(str::to_ascii_lowercase)
}

fn sections(serve: &Command) -> impl Iterator<Item = String> {
    let mut all: Vec<String> = Vec::new();
    for h in serve.get_arguments().filter_map(heading) {
        if !all.contains(&h) {
            all.push(h);
        }
    }
    all.into_iter()
}

fn takes_list(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Append)
}

fn is_switch(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::SetTrue)
}

/// Whether the option's parser makes a number (a count, a port, seconds, bytes).
fn is_numeric(arg: &Arg) -> bool {
    use std::any::TypeId;
    let id = arg.get_value_parser().type_id();
    [TypeId::of::<u16>(), TypeId::of::<u32>(), TypeId::of::<u64>(), TypeId::of::<usize>(), TypeId::of::<f64>()]
        .into_iter()
        .any(|t| id == t)
}

/// A TOML value as the strings the option's parser takes. A number must be written
/// as a TOML number (`port = 3020`, not `port = "3020"`), and text as a TOML string;
/// sizes with a unit (`cache_size = "16MiB"`) are text.
fn strings(arg: &Arg, value: &Value, base: &Path) -> Result<Vec<String>, String> {
    let is_path = arg.get_value_hint() == clap::ValueHint::DirPath;
    let numeric = is_numeric(arg);
    let scalar = |v: &Value| -> Result<String, String> {
        match v {
            Value::String(s) if is_path => Ok(base.join(s).display().to_string()),
            Value::String(s) if numeric && s.trim().parse::<f64>().is_ok() => {
                Err(format!("expected a number, found the string {v}: write it without quotes"))
            }
            Value::String(s) => Ok(s.clone()),
            Value::Integer(i) if numeric => Ok(i.to_string()),
            Value::Float(x) if numeric => Ok(x.to_string()),
            Value::Integer(_) | Value::Float(_) => {
                Err(format!("expected a string, found the number {v}: write it in quotes, like \"{v}\""))
            }
            other if numeric => Err(format!("expected a number, found {}", other.type_str())),
            other => Err(format!("expected a string, found {}", other.type_str())),
        }
    };
    match value {
        Value::Boolean(b) if is_switch(arg) => Ok(vec![b.to_string()]),
        _ if is_switch(arg) => Err(format!("expected true or false, found {}", value.type_str())),
        Value::Array(items) if takes_list(arg) => items.iter().map(scalar).collect(),
        _ if takes_list(arg) => Err(format!("expected an array, found {}", value.type_str())),
        other => scalar(other).map(|s| vec![s]),
    }
}

/// Runs `values` through the option's own parser, as its defaults in a command of its
/// own (without its environment variable, which would otherwise be read instead).
fn validate(arg: &Arg, values: &[String]) -> Result<(), clap::Error> {
    let alone = arg.clone().env(None).default_values(values.to_vec());
    Command::new("tenet").arg(alone).try_get_matches_from(["tenet"]).map(drop)
}

/// The first line of a clap error, without its `error: ` prefix.
fn clap_message(e: &clap::Error) -> String {
    let text = e.to_string();
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

/// The effective `tenet serve` configuration as TOML, each value marked with where it
/// came from; secrets are masked.
pub fn effective(serve: &Command, matches: &ArgMatches, from_file: &[String]) -> String {
    let mut out = String::new();
    for section in sections(serve) {
        out.push_str(&format!("[{section}]\n"));
        for arg in serve.get_arguments().filter(|a| heading(a).as_ref() == Some(&section)) {
            let id = arg.get_id().as_str();
            let raw: Vec<String> = matches
                .get_raw(id)
                .map(|vals| vals.map(|v| v.to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            let value = if is_secret(id) && !raw.is_empty() {
                format!("\"{}\"", tenet_client::MASK)
            } else if is_switch(arg) {
                // The parsed value: the raw one may be spelled `1`, `yes` or `on`.
                matches.get_one::<bool>(id).copied().unwrap_or_default().to_string()
            } else if takes_list(arg) {
                // `--upstream` and `--peer` values may hold URLs with credentials.
                let shown = |v: &String| match id {
                    "upstreams" | "peers" => crate::gateway::shown_flag(v),
                    _ => v.clone(),
                };
                format!("[{}]", raw.iter().map(|v| literal(&shown(v))).collect::<Vec<_>>().join(", "))
            } else {
                raw.first().map_or_else(|| "\"\"".to_owned(), |v| literal(v))
            };
            let source = match matches.value_source(id) {
                Some(ValueSource::CommandLine) => "flag".to_owned(),
                Some(ValueSource::EnvVariable) => {
                    format!("env {}", arg.get_env().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default())
                }
                _ if from_file.iter().any(|f| f == id) => "file".to_owned(),
                // The flags' lists are not the file's [[upstream]] and [[peer]] tables.
                _ if raw.is_empty() && matches!(id, "upstreams" | "peers") => {
                    let table = if id == "upstreams" { "upstream" } else { "peer" };
                    format!("unset (the --{} flag; [[{table}]] tables are shown apart)", &id[..id.len() - 1])
                }
                _ if raw.is_empty() => "unset".to_owned(),
                _ => "default".to_owned(),
            };
            out.push_str(&format!("{id} = {value}  # {source}\n"));
        }
        out.push('\n');
    }
    out
}

/// The first lines of [`example`].
const EXAMPLE_HEADER: &str = "\
# Every `tenet serve` option, set to its default: `tenet serve --config tenet.toml`.
# Generated by `tenet config example`; a test keeps examples/tenet.toml equal to it.
#
# One table per heading of `tenet serve --help`; keys are the flags' names with
# underscores. Flags beat environment variables (TENET_*), which beat this file.
# Roots are relative to this file. Numbers are written bare (`port = 3020`), text in
# quotes. Keys commented out have no default. `tenet config check FILE` validates a
# file as `tenet serve` would and prints the configuration that results.
";

/// A config file that sets every `tenet serve` option to its default, each preceded
/// by its help, its flag and its environment variable; options without a default are
/// commented out. It is valid: `tenet config check` accepts it as it is.
pub fn example(serve: &Command) -> String {
    let mut out = String::from(EXAMPLE_HEADER);
    for section in sections(serve) {
        out.push_str(&format!("\n[{section}]\n"));
        for arg in serve.get_arguments().filter(|a| heading(a).as_ref() == Some(&section)) {
            out.push('\n');
            let mut help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            if !help.ends_with('.') {
                help.push('.');
            }
            for line in wrap(&help, 86) {
                out.push_str(&format!("# {line}\n"));
            }
            let flag = arg.get_long().map(|l| format!("--{l}")).unwrap_or_default();
            let env = arg.get_env().map(|e| format!(", env {}", e.to_string_lossy())).unwrap_or_default();
            let values: Vec<String> = arg.get_possible_values().iter().map(|v| v.get_name().to_owned()).collect();
            let one_of = if values.is_empty() || is_switch(arg) {
                String::new()
            } else {
                format!("; one of: {}", values.join(", "))
            };
            // A positional argument has no flag: say where its value goes instead.
            let how = format!("{flag}{env}{one_of}");
            let how = how.trim_start_matches(", ");
            if how.is_empty() {
                out.push_str("# (also the words after `tenet serve`)\n");
            } else {
                out.push_str(&format!("# ({how})\n"));
            }
            let defaults: Vec<String> =
                arg.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
            let id = arg.get_id().as_str();
            if is_switch(arg) {
                out.push_str(&format!("{id} = false\n"));
            } else if takes_list(arg) {
                out.push_str(&format!(
                    "{id} = [{}]\n",
                    defaults.iter().map(|v| literal(v)).collect::<Vec<_>>().join(", ")
                ));
            } else if let Some(default) = defaults.first() {
                out.push_str(&format!("{id} = {}\n", literal(default)));
            } else {
                let placeholder =
                    arg.get_value_names().and_then(|n| n.first()).map_or("VALUE".to_owned(), ToString::to_string);
                if is_numeric(arg) {
                    out.push_str(&format!("# {id} = <{placeholder}: a number>\n"));
                } else {
                    out.push_str(&format!("# {id} = {}\n", Value::String(placeholder)));
                }
            }
        }
    }
    out
}

/// `text` as lines of at most `width` characters (a longer word stays whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Options whose values are never printed: credentials, the files that hold them, and
/// the store's URL (which may carry a password).
fn is_secret(id: &str) -> bool {
    ["_token", "_password", "api_keys", "bearer_tokens"].iter().any(|s| id.ends_with(s))
        || id.contains("secret")
        || id == "url"
}

/// A TOML literal for a raw option value: numbers bare, everything else quoted.
fn literal(raw: &str) -> String {
    if raw.parse::<i64>().is_ok() || (raw.parse::<f64>().is_ok_and(f64::is_finite) && raw.contains('.')) {
        raw.to_owned()
    } else {
        Value::String(raw.to_owned()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::ServeArgs;
    use clap::Args as _;

    fn serve() -> Command {
        ServeArgs::augment_args(Command::new("serve"))
    }

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tenet.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn parse(text: &str, argv: &[&str]) -> Result<ArgMatches, String> {
        let (_dir, path) = write(text);
        let (cmd, _) = apply(serve(), &path).map_err(|e| e.to_string())?;
        cmd.try_get_matches_from(std::iter::once("serve").chain(argv.iter().copied())).map_err(|e| e.to_string())
    }

    #[test]
    fn file_values_become_defaults_and_flags_win() {
        let text = "[http]\nport = 4000\nallowed_origins = [\"https://a.example\", \"https://b.example\"]\n\
                    [knowledge]\nno_builtin = true\nmax_tokens = 500\n";
        let m = parse(text, &[]).unwrap();
        assert_eq!(m.get_one::<u16>("port"), Some(&4000));
        assert_eq!(m.get_many::<String>("allowed_origins").unwrap().count(), 2);
        assert_eq!(m.get_one::<bool>("no_builtin"), Some(&true));
        assert_eq!(m.get_one::<u64>("max_tokens"), Some(&500));
        let m = parse(text, &["--port", "5000"]).unwrap();
        assert_eq!(m.get_one::<u16>("port"), Some(&5000));
    }

    #[test]
    fn limits_take_the_cache_and_concurrency_keys() {
        let m = parse("[limits]\ncache_size = \"64MiB\"\ncache_ttl = 0\ntool_concurrency = 4\n", &[]).unwrap();
        assert_eq!(m.get_one::<u64>("cache_size"), Some(&(64 << 20)));
        assert_eq!(m.get_one::<f64>("cache_ttl"), Some(&0.0));
        assert_eq!(m.get_one::<u32>("tool_concurrency"), Some(&4));
        let m = parse("[limits]\ncache_size = 1048576\n", &["--cache-size", "0"]).unwrap();
        assert_eq!(m.get_one::<u64>("cache_size"), Some(&0));
        for (text, want) in [
            ("[limits]\ncache_size = \"16MB\"\n", "limits.cache_size: invalid value '16MB'"),
            ("[limits]\ntool_concurrency = 0\n", "limits.tool_concurrency: invalid value '0'"),
            ("[limits]\ncache_ttl = -5\n", "limits.cache_ttl: invalid value '-5'"),
        ] {
            let err = parse(text, &[]).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn roots_are_relative_to_the_file() {
        let (dir, path) = write("[knowledge]\nroots = [\"team\"]\n");
        let m = apply(serve(), &path).unwrap().0.try_get_matches_from(["serve"]).unwrap();
        let roots: Vec<&PathBuf> = m.get_many::<PathBuf>("roots").unwrap().collect();
        assert_eq!(roots, [&dir.path().join("team")]);
    }

    #[test]
    fn bad_files_name_the_key() {
        let cases = [
            ("[http]\nprot = 1\n", "http.prot: unknown key"),
            ("[htp]\nport = 1\n", "htp: unknown section"),
            ("port = 1\n", "port: belongs in the [http] table"),
            ("[http]\nport = \"many\"\n", "http.port: invalid value 'many'"),
            ("[http]\nport = 70000\n", "http.port: invalid value '70000'"),
            ("[http]\nport = true\n", "http.port: expected a number, found boolean"),
            ("[http]\nport = \"3020\"\n", "http.port: expected a number, found the string \"3020\""),
            ("[http]\npath = 5\n", "http.path: expected a string, found the number 5"),
            (
                "colour = 1\n",
                "colour: expected a table (one of: server, knowledge, http, auth, limits, gateway, node, store, telemetry)",
            ),
            ("[knowledge]\nroots = \"x\"\n", "knowledge.roots: expected an array, found string"),
            ("[knowledge]\nno_builtin = 1\n", "knowledge.no_builtin: expected true or false, found integer"),
            ("[server]\ntimeout = -1\n", "server.timeout: invalid value '-1'"),
            ("[server]\ntransport = \"carrier-pigeon\"\n", "server.transport: invalid value 'carrier-pigeon'"),
            ("[http\n", "not valid TOML"),
        ];
        for (text, want) in cases {
            let err = parse(text, &[]).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn serve_and_the_reading_commands_take_a_config() {
        let argv = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(requested(&argv(&["tenet", "serve", "--config", "a.toml"])), Some(PathBuf::from("a.toml")));
        assert_eq!(requested(&argv(&["tenet", "serve", "--port", "1", "--config=b.toml"])), Some("b.toml".into()));
        assert_eq!(requested(&argv(&["tenet", "get", "--config", "a.toml"])), Some("a.toml".into()));
        assert_eq!(requested(&argv(&["tenet", "check", "--config", "a.toml"])), None, "check reads folders only");
        assert_eq!(requested(&argv(&["tenet", "tools", "--", "x", "--config", "a.toml"])), None);
    }

    #[test]
    fn the_effective_configuration_masks_secrets_and_says_where_values_came_from() {
        let (_dir, path) = write("[http]\nport = 4000\n");
        let (cmd, from_file) = apply(serve(), &path).unwrap();
        let m = cmd.clone().try_get_matches_from(["serve", "--path", "/x"]).unwrap();
        let text = effective(&cmd, &m, &from_file);
        assert!(text.contains("[http]\n"), "{text}");
        assert!(text.contains("port = 4000  # file"), "{text}");
        assert!(text.contains("max_sessions = 10000  # default"), "{text}");
        assert!(text.contains("metrics_path = \"/metrics\"  # default\nno_metrics = false"), "{text}");
        assert!(text.contains("path = \"/x\"  # flag"), "{text}");
        assert!(is_secret("auth_token") && is_secret("api_keys") && !is_secret("max_tokens"));
        assert!(
            is_secret("state_secret") && is_secret("state_secret_previous") && is_secret("url"),
            "the store's url may hold a password"
        );
        let reparsed: Table = text.parse().unwrap();
        assert!(reparsed.contains_key("knowledge"));
    }
}
