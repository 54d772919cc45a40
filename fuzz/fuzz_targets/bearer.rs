//! Bearer tokens as the auth layer reads them: any `Authorization` headers and query
//! string, any token (header read, claims decoded with the signature unchecked and
//! read for a grant) and any JWK are read or refused, never a panic; a token is only
//! read from a single well-formed `Bearer` header.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use tenet_http::axum::http::{HeaderMap, HeaderValue};

#[derive(Debug, Arbitrary)]
struct Input {
    authorization: Vec<Vec<u8>>,
    query: String,
    /// Claims to sign into a well-formed token, as JSON text.
    claims: String,
    jwk: Vec<u8>,
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fuzz_target!(|input: Input| {
    let mut headers = HeaderMap::new();
    for value in input.authorization.iter().take(3) {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append("authorization", value);
        }
    }
    let read = tenet_http::fuzzing::bearer(&headers, &input.query);
    if read.is_ok() {
        assert_eq!(headers.get_all("authorization").iter().count(), 1, "a token read from several headers");
    }
    // A well-formed token carrying the fuzzed claims reaches the reading of claims.
    let token = format!("{}.{}.{}", b64(br#"{"alg":"ES256","kid":"k"}"#), b64(input.claims.as_bytes()), b64(b"sig"));
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) {
        headers.insert("authorization", value);
        let _ = tenet_http::fuzzing::bearer(&headers, "");
    }
    if let Ok(jwk) = serde_json::from_slice(&input.jwk) {
        let _ = tenet_http::fuzzing::jwk(&jwk);
    }
});
