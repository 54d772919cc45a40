//! Verifies one ES256 and one RS256 token over and over, with `ring` directly (how
//! Tenet checked signatures before it used `jsonwebtoken`) and with `jsonwebtoken` on
//! aws-lc-rs (how it checks them now, claims included), and prints microseconds per
//! token for each. (Build it with jsonwebtoken's `rust_crypto` feature instead to see
//! what the pure-Rust backend would cost.) Tenet remembers verified tokens, so this is paid once per token,
//! not once per request.
//!
//!     cargo run --release -p jwt-verify [seconds per case, default 3]

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{DecodingKey, Validation};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use serde_json::{Value, json};

const RSA_KEY: &[u8] = include_bytes!("../../../crates/tenet-http/tests/issuer/rsa-test-key.der");

fn main() {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let budget = Duration::from_secs(seconds);
    let rng = SystemRandom::new();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let claims = json!({"iss": "https://as.example", "aud": "https://mcp.example/mcp", "exp": now + 3600, "sub": "ann", "scope": "stdlib:read"});

    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let ec = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let es_token = token("ES256", &claims, |input| ec.sign(&rng, input).unwrap().as_ref().to_vec());
    let point = ec.public_key().as_ref().to_vec();
    let (x, y) = (B64.encode(&point[1..33]), B64.encode(&point[33..]));

    let rsa = RsaKeyPair::from_der(RSA_KEY).unwrap();
    let rs_token = token("RS256", &claims, |input| {
        let mut sig = vec![0; rsa.public().modulus_len()];
        rsa.sign(&signature::RSA_PKCS1_SHA256, &rng, input, &mut sig).unwrap();
        sig
    });
    let public: ring::rsa::PublicKeyComponents<Vec<u8>> = rsa.public().into();

    // As Tenet builds them: one per algorithm (jsonwebtoken checks one key family at a time).
    let validation = |alg| {
        let mut validation = Validation::new(alg);
        validation.set_issuer(&["https://as.example"]);
        validation.set_audience(&["https://mcp.example/mcp"]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation
    };

    let es_key = DecodingKey::from_ec_components(&x, &y).unwrap();
    let rs_key = DecodingKey::from_rsa_raw_components(&public.n, &public.e);
    println!("| token | ring (µs) | jsonwebtoken (µs) | ratio |");
    println!("|---|---:|---:|---:|");
    for (name, token, jwt_key, alg) in [
        ("ES256", &es_token, &es_key, jsonwebtoken::Algorithm::ES256),
        ("RS256", &rs_token, &rs_key, jsonwebtoken::Algorithm::RS256),
    ] {
        let validation = validation(alg);
        if let Err(e) = jsonwebtoken::decode::<Value>(token, jwt_key, &validation) {
            panic!("{name}: jsonwebtoken refuses a good token: {e:?}");
        }
        assert!(ring_verify(token, &point, &public), "{name}: ring refuses a good token");
        let ring_us = per_token(budget, || ring_verify(token, &point, &public));
        let jwt_us = per_token(budget, || jsonwebtoken::decode::<Value>(token, jwt_key, &validation).is_ok());
        println!("| {name} | {ring_us:.1} | {jwt_us:.1} | {:.2} |", jwt_us / ring_us);
    }
}

fn token(alg: &str, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input =
        format!("{}.{}", B64.encode(json!({"alg": alg, "kid": "k"}).to_string()), B64.encode(claims.to_string()));
    let sig = sign(input.as_bytes());
    format!("{input}.{}", B64.encode(sig))
}

/// What the hand-written path did: split, decode header and claims, check the
/// signature with `ring`, read the claims.
fn ring_verify(token: &str, point: &[u8], rsa: &ring::rsa::PublicKeyComponents<Vec<u8>>) -> bool {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s)) = (parts.next(), parts.next(), parts.next()) else { return false };
    let header: Value = serde_json::from_slice(&B64.decode(h).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&B64.decode(c).unwrap()).unwrap();
    let sig = B64.decode(s).unwrap();
    let input = &token.as_bytes()[..h.len() + 1 + c.len()];
    let ok = match header["alg"].as_str() {
        Some("ES256") => {
            signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).verify(input, &sig).is_ok()
        }
        Some("RS256") => ring::signature::RsaPublicKeyComponents { n: &rsa.n, e: &rsa.e }
            .verify(&signature::RSA_PKCS1_2048_8192_SHA256, input, &sig)
            .is_ok(),
        _ => false,
    };
    ok && claims["iss"] == "https://as.example" && claims["aud"] == "https://mcp.example/mcp"
}

/// Microseconds per call of `verify` (which must succeed), over `budget`.
fn per_token(budget: Duration, mut verify: impl FnMut() -> bool) -> f64 {
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < budget {
        for _ in 0..16 {
            assert!(verify(), "a good token did not verify");
        }
        n += 16;
    }
    started.elapsed().as_secs_f64() * 1e6 / n as f64
}
