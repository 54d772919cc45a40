//! `tenet serve` authorization options (the `[auth]` table of the config file), and
//! turning them into the HTTP endpoint's checks or the stdio client's grant.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tenet_http::auth::{ApiKey, Auth, AuthConfig};
use tenet_http::axum::http::{HeaderMap, HeaderValue, Uri};
use tenet_server::{Grant, Server};

// Who may use the server.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Auth")]
pub struct AuthArgs {
    /// The authorization server (issuer URL) whose JWT access tokens are accepted;
    /// setting it (or API keys) turns authorization on.
    #[arg(long = "auth-issuer", value_name = "URL", env = "TENET_AUTH_ISSUER")]
    pub issuer: Option<String>,
    /// The issuer's JWKS URL (default: `jwks_uri` from its RFC 8414 metadata).
    #[arg(long = "auth-jwks-url", value_name = "URL", env = "TENET_AUTH_JWKS_URL")]
    pub jwks_url: Option<String>,
    /// This server's canonical URI as clients reach it: tokens must name it as their
    /// audience (default `http://HOST:PORT/PATH`).
    #[arg(long = "auth-resource", value_name = "URL", env = "TENET_AUTH_RESOURCE")]
    pub resource: Option<String>,
    /// A scope every request needs (repeat, or comma-separate).
    #[arg(
        long = "auth-required-scope",
        value_name = "SCOPE",
        env = "TENET_AUTH_REQUIRED_SCOPES",
        value_delimiter = ','
    )]
    pub required_scopes: Vec<String>,
    /// Seconds of clock skew allowed on a token's `exp` and `nbf`.
    #[arg(long = "auth-leeway", value_name = "SECONDS", default_value_t = 30, env = "TENET_AUTH_LEEWAY", value_parser = clap::value_parser!(u64).range(0..=600))]
    pub leeway: u64,
    /// Seconds one JWKS fetch may take before tokens are refused (fail closed).
    #[arg(long = "auth-jwks-timeout", value_name = "SECONDS", default_value_t = 5, env = "TENET_AUTH_JWKS_TIMEOUT", value_parser = clap::value_parser!(u64).range(1..=120))]
    pub jwks_timeout: u64,
    /// A file of API keys, one per line: `name secret [scope ...]`.
    #[arg(long = "api-keys-file", value_name = "FILE", env = "TENET_API_KEYS_FILE")]
    pub api_keys_file: Option<PathBuf>,
    /// API keys in the same form, `;`-separated (better from the environment).
    #[arg(long = "api-keys", value_name = "KEYS", env = "TENET_API_KEYS", hide_env_values = true)]
    pub api_keys: Option<String>,
    /// On stdio, the client's token (an API key or a JWT): it gets that token's scopes.
    /// Without it a stdio client may use everything.
    #[arg(long = "stdio-token", value_name = "TOKEN", env = "TENET_TOKEN", hide_env_values = true)]
    pub stdio_token: Option<String>,
}

impl AuthArgs {
    fn api_keys(&self) -> Result<Vec<ApiKey>, String> {
        let mut keys = Vec::new();
        if let Some(path) = &self.api_keys_file {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            keys.extend(ApiKey::parse_list(&text, &path.display().to_string()).map_err(|e| e.to_string())?);
        }
        if let Some(text) = &self.api_keys {
            for key in ApiKey::parse_list(text, "TENET_API_KEYS").map_err(|e| e.to_string())? {
                // Each list is checked on its own; across the two, the same rules.
                if keys.iter().any(|k| k.name() == key.name()) {
                    return Err(format!(
                        "TENET_API_KEYS: the name {} is in the keys file too: one name, one caller",
                        key.name()
                    ));
                }
                if keys.iter().any(|k| k.shares_secret_with(&key)) {
                    return Err(format!(
                        "TENET_API_KEYS: {}'s secret is in the keys file too: each key needs its own",
                        key.name()
                    ));
                }
                keys.push(key);
            }
        }
        Ok(keys)
    }

    /// The checks for `server` at `default_resource`; `None` when authorization is off.
    /// With `keep_tokens`, a caller's verified OAuth token is kept with its grant, for
    /// a gateway's token exchange.
    ///
    /// # Errors
    /// Unreadable or malformed API keys, or settings [`Auth::new`] refuses.
    pub fn build(
        &self,
        server: &Server,
        default_resource: &str,
        keep_tokens: bool,
    ) -> Result<Option<Arc<Auth>>, String> {
        let api_keys = self.api_keys()?;
        if self.issuer.is_none() && api_keys.is_empty() {
            return Ok(None);
        }
        let mut scopes_supported = server.scopes();
        for scope in &self.required_scopes {
            if !scopes_supported.contains(scope) {
                scopes_supported.push(scope.clone());
            }
        }
        let config = AuthConfig {
            issuer: self.issuer.clone(),
            jwks_url: self.jwks_url.clone(),
            required_scopes: self.required_scopes.clone(),
            scopes_supported,
            api_keys,
            leeway: Duration::from_secs(self.leeway),
            jwks_timeout: Duration::from_secs(self.jwks_timeout),
            keep_presented_tokens: keep_tokens,
            ..AuthConfig::new(self.resource.clone().unwrap_or_else(|| default_resource.to_owned()))
        };
        Auth::new(config).map(Some).map_err(|e| e.to_string())
    }
}

/// The grant of a stdio client: its token's scopes, or `None` (everything) without one.
///
/// # Errors
/// A token but no way to check it, or a token that does not check out.
pub async fn stdio_grant(auth: Option<&Auth>, token: Option<&str>) -> Result<Option<Arc<Grant>>, String> {
    let Some(token) = token else { return Ok(None) };
    let Some(auth) = auth else {
        return Err("TENET_TOKEN is set but no API keys or issuer are configured to check it".into());
    };
    let mut headers = HeaderMap::new();
    let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| "TENET_TOKEN is not a valid token")?;
    headers.insert("authorization", value);
    let grant = auth.authenticate(&headers, &Uri::from_static("/")).await.map_err(|e| format!("TENET_TOKEN: {e}"))?;
    if !grant.covers(&auth.config().required_scopes) {
        return Err("TENET_TOKEN lacks a required scope".into());
    }
    Ok(Some(grant))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn args(file: &std::path::Path, env: &str) -> AuthArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            auth: AuthArgs,
        }
        let file = file.to_str().unwrap();
        Cli::try_parse_from(["tenet", "--api-keys-file", file, "--api-keys", env]).unwrap().auth
    }

    #[test]
    fn a_name_or_a_secret_in_both_the_keys_file_and_the_environment_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys");
        std::fs::write(&file, "alice 0123456789abcdef-alice read\n").unwrap();
        let e = args(&file, "alice 0123456789abcdef-other admin").api_keys().unwrap_err();
        assert!(e.contains("the name alice is in the keys file too"), "{e}");
        let e = args(&file, "bob 0123456789abcdef-alice admin").api_keys().unwrap_err();
        assert!(e.contains("bob's secret is in the keys file too"), "{e}");
        assert_eq!(args(&file, "bob 0123456789abcdef-bob read").api_keys().unwrap().len(), 2);
    }
}
