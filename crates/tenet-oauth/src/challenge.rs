//! `WWW-Authenticate` parsing (RFC 9110 §11.6.1) and the Bearer challenge of
//! RFC 6750 §3 with the `resource_metadata` parameter of RFC 9728 §5.1.

use crate::OAuthError;

/// One challenge of a `WWW-Authenticate` header: a scheme and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The auth scheme as sent (compare it case-insensitively).
    pub scheme: String,
    /// The `token68` form, when the challenge used it instead of parameters.
    pub token68: Option<String>,
    /// Parameters in order, names lowercased, quoted strings unescaped.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of parameter `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The parts of a Bearer (or DPoP, RFC 9449 §7.1) challenge an OAuth client acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BearerChallenge {
    /// `resource_metadata`: where the Protected Resource Metadata lives (RFC 9728).
    pub resource_metadata: Option<String>,
    /// `scope`: the scopes the request needs, space-separated.
    pub scope: Option<String>,
    /// `error`: `invalid_token`, `insufficient_scope`, …
    pub error: Option<String>,
    /// `error_description`, for humans.
    pub error_description: Option<String>,
}

impl BearerChallenge {
    /// Parses a `WWW-Authenticate` value and returns its first Bearer or DPoP
    /// challenge, or `None` when there is neither.
    ///
    /// ```
    /// let c = tenet_oauth::BearerChallenge::parse(
    ///     r#"Basic realm="x", Bearer error="insufficient_scope", scope="a b""#,
    /// ).unwrap().unwrap();
    /// assert_eq!(c.error.as_deref(), Some("insufficient_scope"));
    /// assert_eq!(c.scope.as_deref(), Some("a b"));
    /// ```
    pub fn parse(header: &str) -> Result<Option<Self>, OAuthError> {
        let challenges = parse_www_authenticate(header)?;
        Ok(challenges
            .into_iter()
            .find(|c| c.scheme.eq_ignore_ascii_case("bearer") || c.scheme.eq_ignore_ascii_case("dpop"))
            .map(|c| BearerChallenge {
                resource_metadata: c.param("resource_metadata").map(str::to_owned),
                scope: c.param("scope").map(str::to_owned),
                error: c.param("error").map(str::to_owned),
                error_description: c.param("error_description").map(str::to_owned),
            }))
    }
}

/// Parses every challenge of a `WWW-Authenticate` header value.
///
/// Accepts optional whitespace around commas and `=`, empty list elements, quoted
/// strings with backslash escapes and the `token68` form. A header that breaks the
/// grammar (an unterminated quote, a parameter without a value, a duplicated
/// parameter, a control character) is an [`OAuthError::MalformedChallenge`].
pub fn parse_www_authenticate(header: &str) -> Result<Vec<Challenge>, OAuthError> {
    let mut p = Parser { s: header.as_bytes(), pos: 0 };
    let mut out: Vec<Challenge> = Vec::new();
    loop {
        p.skip_list_separators();
        if p.at_end() {
            break;
        }
        let scheme = p.token().ok_or_else(|| p.error("expected an auth scheme"))?;
        let mut challenge = Challenge { scheme, token68: None, params: Vec::new() };
        let had_space = p.skip_ws();
        if had_space && !p.at_end() && p.peek() != Some(b',') {
            if let Some(t68) = p.try_token68() {
                challenge.token68 = Some(t68);
            } else {
                p.params(&mut challenge)?;
            }
        }
        p.skip_ws();
        if !p.at_end() && p.peek() != Some(b',') {
            return Err(p.error("expected ',' between challenges"));
        }
        out.push(challenge);
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

impl Parser<'_> {
    fn error(&self, reason: &'static str) -> OAuthError {
        OAuthError::MalformedChallenge { position: self.pos, reason }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    /// Skips spaces and tabs; tells whether there were any.
    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Skips whitespace and commas (empty list elements are allowed).
    fn skip_list_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        (self.pos > start).then(|| String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }

    /// Reads a token68 when what follows is one (and not the start of `name=value`).
    fn try_token68(&mut self) -> Option<String> {
        let start = self.pos;
        let mut end = start;
        while self.s.get(end).copied().is_some_and(is_token68_char) {
            end += 1;
        }
        if end == start {
            return None;
        }
        let mut after = end;
        while self.s.get(after) == Some(&b'=') {
            after += 1;
        }
        let mut next = after;
        while matches!(self.s.get(next), Some(b' ' | b'\t')) {
            next += 1;
        }
        // `name = value` has something other than a comma or the end after the `=`.
        let is_t68 = matches!(self.s.get(next), None | Some(b','));
        if !is_t68 {
            return None;
        }
        self.pos = after;
        Some(String::from_utf8_lossy(&self.s[start..after]).into_owned())
    }

    /// Does `name BWS "="` start here (so the next item is a parameter, not a scheme)?
    fn param_ahead(&self) -> bool {
        let mut i = self.pos;
        while self.s.get(i).copied().is_some_and(is_tchar) {
            i += 1;
        }
        if i == self.pos {
            return false;
        }
        while matches!(self.s.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        self.s.get(i) == Some(&b'=')
    }

    fn params(&mut self, challenge: &mut Challenge) -> Result<(), OAuthError> {
        loop {
            let name = self.token().ok_or_else(|| self.error("expected a parameter name"))?.to_ascii_lowercase();
            self.skip_ws();
            if self.peek() != Some(b'=') {
                return Err(self.error("expected '=' after the parameter name"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = if self.peek() == Some(b'"') {
                self.quoted()?
            } else {
                self.token().ok_or_else(|| self.error("expected a token or a quoted string"))?
            };
            if challenge.param(&name).is_some() {
                return Err(self.error("parameter given twice"));
            }
            challenge.params.push((name, value));
            // After a parameter: the end, or a comma then another parameter or a new challenge.
            let save = self.pos;
            self.skip_list_separators();
            if self.at_end() || !self.param_ahead() {
                self.pos = save;
                self.skip_ws();
                if !self.at_end() && self.peek() != Some(b',') {
                    return Err(self.error("expected ',' after a parameter"));
                }
                return Ok(());
            }
            if !self.s[save..self.pos].contains(&b',') {
                return Err(self.error("expected ',' between parameters"));
            }
        }
    }

    fn quoted(&mut self) -> Result<String, OAuthError> {
        self.pos += 1; // opening quote
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated quoted string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b) if b == b'\t' || b >= 0x20 && b != 0x7f => out.push(b),
                        _ => return Err(self.error("invalid escape in quoted string")),
                    }
                    self.pos += 1;
                }
                Some(b) if b == b'\t' || b >= 0x20 && b != 0x7f => {
                    out.push(b);
                    self.pos += 1;
                }
                Some(_) => return Err(self.error("control character in quoted string")),
            }
        }
    }
}
