//! `WWW-Authenticate` parsing: RFC 9110 grammar, RFC 6750 Bearer parameters, and
//! malformed headers.

#![allow(clippy::unwrap_used)]

use tenet_oauth::{BearerChallenge, OAuthError, parse_www_authenticate};

#[test]
fn bearer_with_quoted_and_token_params() {
    let c = BearerChallenge::parse(
        r#"Bearer resource_metadata="https://r.example/.well-known/oauth-protected-resource/mcp", scope="a b", error=insufficient_scope"#,
    )
    .unwrap()
    .unwrap();
    assert_eq!(c.resource_metadata.as_deref(), Some("https://r.example/.well-known/oauth-protected-resource/mcp"));
    assert_eq!(c.scope.as_deref(), Some("a b"));
    assert_eq!(c.error.as_deref(), Some("insufficient_scope"));
}

#[test]
fn escapes_in_quoted_strings_are_unescaped() {
    let c = parse_www_authenticate(r#"Bearer error_description="say \"hi\" \\ now""#).unwrap();
    assert_eq!(c[0].param("error_description"), Some(r#"say "hi" \ now"#));
}

#[test]
fn several_challenges_with_odd_whitespace_and_empty_elements() {
    let c = parse_www_authenticate(
        "  Basic realm=\"x\" ,, \tNewauth   realm = \"apps\" , type=1 ,Bearer   scope = \"s\"\t,  error=\"invalid_token\" ",
    )
    .unwrap();
    let schemes: Vec<&str> = c.iter().map(|c| c.scheme.as_str()).collect();
    assert_eq!(schemes, ["Basic", "Newauth", "Bearer"]);
    assert_eq!(c[1].param("type"), Some("1"));
    assert_eq!(c[1].param("realm"), Some("apps"));
    assert_eq!(c[2].param("scope"), Some("s"));
    assert_eq!(c[2].param("error"), Some("invalid_token"));
}

#[test]
fn scheme_and_param_names_are_case_insensitive() {
    let c = BearerChallenge::parse(r#"bEaReR SCOPE="x", Resource_Metadata="https://m""#).unwrap().unwrap();
    assert_eq!(c.scope.as_deref(), Some("x"));
    assert_eq!(c.resource_metadata.as_deref(), Some("https://m"));
}

#[test]
fn bare_scheme_and_token68() {
    let c = parse_www_authenticate("Bearer, Negotiate abc+/==, Basic").unwrap();
    assert_eq!(c.len(), 3);
    assert!(c[0].params.is_empty() && c[0].token68.is_none());
    assert_eq!(c[1].token68.as_deref(), Some("abc+/=="));
    assert_eq!(c[2].scheme, "Basic");
}

#[test]
fn no_bearer_challenge_is_none() {
    assert_eq!(BearerChallenge::parse(r#"Basic realm="r""#).unwrap(), None);
    assert_eq!(BearerChallenge::parse("").unwrap(), None);
}

#[test]
fn malformed_headers_are_errors_with_a_position() {
    let bad = [
        r#"Bearer scope="unterminated"#,
        r#"Bearer scope="a" error="b""#,
        "Bearer scope= \"x",
        "Bearer =x",
        r#"Bearer scope="a", scope="b""#,
        "Bearer scope=\"a\u{1}\"",
        "Bearer realm=\"x\"\r\nX: y",
        r#"Bearer scope="a\"#,
        "\"quoted\" scheme",
        "Bearer a=b c",
    ];
    for header in bad {
        match parse_www_authenticate(header) {
            Err(OAuthError::MalformedChallenge { position, .. }) => assert!(position <= header.len(), "{header:?}"),
            other => panic!("{header:?} parsed as {other:?}"),
        }
    }
}

#[test]
fn garbage_never_panics() {
    // Every prefix of a tricky header either parses or is a typed error.
    let header = r#"Bearer realm="a\"b", scope=x, Basic abc==, Other k = "v\\""#;
    for end in 0..=header.len() {
        let _ = parse_www_authenticate(&header[..end]);
    }
    let bytes: Vec<u8> = (0u8..=127).collect();
    let all_ascii = String::from_utf8(bytes).unwrap();
    assert!(parse_www_authenticate(&all_ascii).is_err());
}
