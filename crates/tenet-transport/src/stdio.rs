//! The process's standard input and output.

/// The process's stdin and stdout, as async pipes. Only MCP messages may be written to
/// stdout; logs go to stderr.
pub fn stdio() -> (tokio::io::Stdin, tokio::io::Stdout) {
    (tokio::io::stdin(), tokio::io::stdout())
}
