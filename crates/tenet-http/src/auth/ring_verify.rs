//! The signature check under `jsonwebtoken`'s token checks, done by `ring`, the crypto
//! library TLS already brings: ES256 and RS256 verification, nothing else.
//!
//! `jsonwebtoken` still splits and decodes the token, matches its algorithm against the
//! allow-list and checks every claim; this module only answers whether a signature
//! verifies under a key. It replaces the crate's aws-lc-rs backend, whose C build
//! (cmake) was the single most expensive dependency of a test run; `ring`'s ECDSA and
//! RSA verification are what Tenet used before `jsonwebtoken`, and what rustls uses.

use std::sync::Once;

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{Error, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::signature::{ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey};

/// Verification only: Tenet never signs with `jsonwebtoken`.
static PROVIDER: CryptoProvider =
    CryptoProvider { signer_factory: no_signer, verifier_factory: verifier, key_utils: KeyUtils::new_unimplemented() };

/// Makes `ring` the process's `jsonwebtoken` backend, once, before the first token is
/// checked. Should the embedding program have installed a backend of its own first,
/// that one stays (there is one per process).
pub(crate) fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if PROVIDER.install_default().is_err() {
            tracing::info!("a jsonwebtoken crypto provider was installed before Tenet's; tokens are verified with it");
        }
    });
}

fn no_signer(_: &Algorithm, _: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    Err(ErrorKind::InvalidAlgorithm.into())
}

/// A verifier for ES256 with a P-256 point, or RS256 with an RSA modulus and exponent;
/// any other pairing is refused.
fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    let key = match (algorithm, key.family(), key.kind()) {
        (Algorithm::ES256, AlgorithmFamily::Ec, DecodingKeyKind::SecretOrDer(point)) => Key::P256(point.clone()),
        (Algorithm::RS256, AlgorithmFamily::Rsa, DecodingKeyKind::RsaModulusExponent { n, e }) => {
            // A JWK's `n` may carry a leading zero byte (a DER habit); `ring` takes the
            // modulus without it.
            let first = n.iter().position(|b| *b != 0).unwrap_or(n.len());
            Key::Rsa { n: n[first..].to_vec(), e: e.clone() }
        }
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(Box::new(RingVerifier { algorithm: *algorithm, key }))
}

/// A public key in the form `ring` takes it.
enum Key {
    /// An uncompressed P-256 point: 0x04 || X || Y.
    P256(Vec<u8>),
    /// Big-endian modulus and exponent, 2048 to 8192 bits.
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

struct RingVerifier {
    algorithm: Algorithm,
    key: Key,
}

impl Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> std::result::Result<(), Error> {
        let verified = match &self.key {
            Key::P256(point) => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(message, signature),
            Key::Rsa { n, e } => {
                RsaPublicKeyComponents { n, e }.verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
            }
        };
        verified.map_err(|_| Error::new())
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

    const RSA_TEST_KEY: &[u8] = include_bytes!("../../tests/issuer/rsa-test-key.der");

    fn signed(message: &[u8]) -> (RsaKeyPair, Vec<u8>) {
        let pair = RsaKeyPair::from_der(RSA_TEST_KEY).unwrap();
        let mut signature = vec![0; pair.public().modulus_len()];
        pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature).unwrap();
        (pair, signature)
    }

    #[test]
    fn an_rsa_modulus_with_a_leading_zero_byte_still_verifies() {
        let (pair, signature) = signed(b"header.claims");
        let public: ring::rsa::PublicKeyComponents<Vec<u8>> = pair.public().into();
        let padded: Vec<u8> = [0].iter().chain(&public.n).copied().collect();
        for n in [&public.n, &padded] {
            let key = DecodingKey::from_rsa_raw_components(n, &public.e);
            let check = verifier(&Algorithm::RS256, &key).unwrap();
            assert!(check.verify(b"header.claims", &signature).is_ok());
            assert!(check.verify(b"header.claimz", &signature).is_err(), "another message");
        }
    }

    #[test]
    fn a_key_of_another_family_or_algorithm_gets_no_verifier() {
        let (pair, _) = signed(b"x");
        let public: ring::rsa::PublicKeyComponents<Vec<u8>> = pair.public().into();
        let rsa = DecodingKey::from_rsa_raw_components(&public.n, &public.e);
        let ec = DecodingKey::from_ec_components("AQ", "AQ").unwrap();
        assert!(verifier(&Algorithm::ES256, &rsa).is_err());
        assert!(verifier(&Algorithm::RS256, &ec).is_err());
        for other in [Algorithm::HS256, Algorithm::RS384, Algorithm::PS256, Algorithm::ES384, Algorithm::EdDSA] {
            assert!(verifier(&other, &rsa).is_err() && verifier(&other, &ec).is_err(), "{other:?}");
        }
        assert!(no_signer(&Algorithm::RS256, &jsonwebtoken::EncodingKey::from_secret(b"k")).is_err());
    }
}
