//! Integrity-protected `requestState` for input-required results (2026-07-28 MRTR).
//!
//! The state is `base64url(payload) "." base64url(HMAC-SHA256(key, payload))`. The
//! payload binds the state to the method, the target and a digest of the arguments,
//! carries the answers collected in earlier rounds, and expires. The client can read it
//! but not change it: a tampered state fails verification and the request gets -32602.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tenet_protocol::JsonObject;

type HmacSha256 = Hmac<Sha256>;

/// How long a requestState stays valid.
pub const STATE_LIFETIME: Duration = Duration::from_secs(3600);

/// A secret key for signing request state, and the key it replaced (still accepted
/// while it rotates out).
#[derive(Clone)]
pub struct StateKey {
    key: [u8; 32],
    previous: Option<[u8; 32]>,
}

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateKey(..)")
    }
}

impl StateKey {
    /// A fresh random key (per process; state does not survive a restart).
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        // With no OS randomness, fall back to a time-derived key rather than failing.
        if getrandom::fill(&mut key).is_err() {
            let seed = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
            key = Sha256::digest(seed.to_le_bytes()).into();
        }
        Self { key, previous: None }
    }

    /// A fresh random secret (64 hex digits) to make a key of with
    /// [`StateKey::from_bytes`], where the secret itself is to be shared later (a
    /// replica that could not reach its store yet offers it there once it can).
    pub fn random_secret() -> String {
        let mut bytes = [0u8; 32];
        if getrandom::fill(&mut bytes).is_err() {
            let seed = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
            bytes = Sha256::digest(seed.to_le_bytes()).into();
        }
        crate::hex::hex(&bytes)
    }

    /// A key from bytes (e.g. shared by several server processes).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self { key: Sha256::digest(bytes).into(), previous: None }
    }

    /// This key, also accepting state signed with the key from `previous` (while a
    /// shared secret is rotated: every replica first gets the new secret with the old
    /// one as previous, then the old one is dropped).
    #[must_use]
    pub fn with_previous(mut self, previous: &[u8]) -> Self {
        self.previous = Some(Sha256::digest(previous).into());
        self
    }

    /// The key from `secret`, still accepting state signed with this one; `None` when
    /// `secret` is the secret of this very key. For a key agreed through a shared store
    /// that another replica has written anew (the store lost its data): rounds begun
    /// here under the old key still continue here.
    #[must_use]
    pub fn succeeded_by(&self, secret: &[u8]) -> Option<Self> {
        let key: [u8; 32] = Sha256::digest(secret).into();
        (key != self.key).then_some(Self { key, previous: Some(self.key) })
    }

    fn mac(key: &[u8; 32]) -> HmacSha256 {
        // HMAC accepts keys of any length.
        <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
    }

    /// Signs `state`.
    pub fn seal(&self, state: &State) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(state).unwrap_or_default());
        let mut mac = Self::mac(&self.key);
        mac.update(payload.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    /// Verifies and reads a sealed state.
    ///
    /// # Errors
    /// A message saying why the state is not acceptable.
    pub fn open(&self, sealed: &str, binding: &str) -> Result<State, &'static str> {
        let (payload, tag) = sealed.split_once('.').ok_or("requestState is malformed")?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| INTEGRITY)?;
        let verifies = |key: &[u8; 32]| {
            let mut mac = Self::mac(key);
            mac.update(payload.as_bytes());
            mac.verify_slice(&tag).is_ok()
        };
        if !verifies(&self.key) && !self.previous.as_ref().is_some_and(verifies) {
            return Err(INTEGRITY);
        }
        let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| "requestState is malformed")?;
        let state: State = serde_json::from_slice(&bytes).map_err(|_| "requestState is malformed")?;
        if state.binding != binding {
            return Err("requestState belongs to another request, or to another caller");
        }
        if now_secs().saturating_sub(state.issued_at) > STATE_LIFETIME.as_secs() {
            return Err("requestState has expired");
        }
        Ok(state)
    }
}

/// What a requestState carries between rounds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// Method, target and argument digest this state belongs to.
    #[serde(rename = "b")]
    pub binding: String,
    /// Answers collected in earlier rounds, by input key.
    #[serde(rename = "r")]
    pub responses: JsonObject,
    /// How many rounds came before.
    #[serde(rename = "n")]
    pub round: u32,
    /// When it was issued, in Unix seconds.
    #[serde(rename = "t")]
    pub issued_at: u64,
    /// Another server's requestState that a relay carries for it (a gateway wraps its
    /// upstream's state in its own).
    #[serde(rename = "w", default, skip_serializing_if = "Option::is_none")]
    pub wrapped: Option<String>,
}

impl State {
    /// A new state for `binding`.
    pub fn new(binding: String, responses: JsonObject, round: u32) -> Self {
        Self { binding, responses, round, issued_at: now_secs(), wrapped: None }
    }
}

/// A request's binding (method, target and a digest of its arguments and of who asks),
/// the digest taken only when asked for: most requests never need it (only a second
/// MRTR round or an input request does).
#[derive(Debug)]
pub(crate) struct Binding {
    method: &'static str,
    target: String,
    arguments: Digested,
    /// The caller's [`crate::Grant::owner`]: another caller cannot continue its rounds.
    owner: Option<String>,
    text: std::sync::OnceLock<String>,
}

/// The arguments a binding is taken of, as the request gives them.
pub(crate) enum Arguments<'a, T> {
    /// As read into `T`: written out at once, as serde writes `T`.
    Read(&'a T),
    /// As the request wrote them (a JSON object, or `null` for none): read and written
    /// out only if the digest is taken. The digest is the same as that of
    /// [`Arguments::Read`] of the tree this text reads as (a `Value`, with `null` as
    /// `{}`), whatever its spacing and member order.
    Written(&'a str),
}

/// What is kept of [`Arguments`] until the digest is taken.
#[derive(Debug)]
enum Digested {
    /// Their JSON as serde writes the tree read.
    Canonical(Vec<u8>),
    /// The request's text of them.
    Written(Box<str>),
}

impl Digested {
    /// Their JSON as serde writes the tree read: for a written text, the `Value` it reads
    /// as (an object: the text was read as one when the request was routed; `null` as
    /// `{}`, as a call with none).
    fn canonical(&self) -> std::borrow::Cow<'_, [u8]> {
        match self {
            Digested::Canonical(bytes) => bytes.into(),
            Digested::Written(text) => match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Null) => b"{}".as_slice().into(),
                Ok(tree) => serde_json::to_vec(&tree).unwrap_or_default().into(),
                // Not met (the text was read before it was kept), and bound apart from
                // every tree if it were: no JSON serde writes starts with this byte.
                Err(_) => [&[0xFF][..], text.as_bytes()].concat().into(),
            },
        }
    }
}

impl Binding {
    pub(crate) fn new(
        method: &'static str,
        target: &str,
        arguments: Arguments<'_, impl Serialize>,
        owner: Option<&str>,
    ) -> Self {
        let arguments = match arguments {
            Arguments::Read(tree) => Digested::Canonical(serde_json::to_vec(tree).unwrap_or_default()),
            Arguments::Written(text) => Digested::Written(text.into()),
        };
        let owner = owner.map(str::to_owned);
        Self { method, target: target.to_owned(), arguments, owner, text: std::sync::OnceLock::new() }
    }

    /// `method target digest`.
    pub(crate) fn get(&self) -> &str {
        self.text.get_or_init(|| {
            let mut hash = Sha256::new();
            hash.update(self.arguments.canonical());
            if let Some(owner) = &self.owner {
                // After the arguments' JSON, which never holds a NUL byte.
                hash.update([0]);
                hash.update(owner.as_bytes());
            }
            let digest = hash.finalize();
            format!("{} {} {}", self.method, self.target, URL_SAFE_NO_PAD.encode(&digest[..16]))
        })
    }
}

/// Why a state's seal does not verify, with what most often causes it.
const INTEGRITY: &str = "requestState integrity check failed: it was sealed with another key (another \
    deployment's, a --state-secret rotated without --state-secret-previous, a replica not given the shared \
    one, a replica that could not reach the shared store when it started and kept a key of its own until it \
    agrees, or a shared store that lost the agreed key, e.g. Redis restarted without persistence) or altered; \
    start the round again";

fn now_secs() -> u64 {
    // The clock replicas share: a round another replica began is dated by the same one.
    crate::clock::unix_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_state_opens_only_untampered_and_for_its_binding() {
        let key = StateKey::random();
        let b = Binding::new("tools/call", "t", Arguments::Read(&serde_json::json!({"a": 1})), None).get().to_owned();
        let mut responses = JsonObject::new();
        responses.insert("k".into(), serde_json::json!({"action": "accept"}));
        let sealed = key.seal(&State::new(b.clone(), responses, 1));
        let state = key.open(&sealed, &b).unwrap();
        assert_eq!(state.round, 1);
        assert!(state.responses.contains_key("k"));

        assert!(key.open(&format!("{sealed}-TAMPERED"), &b).is_err());
        let mut flipped = sealed.clone().into_bytes();
        flipped[3] ^= 1;
        assert!(key.open(std::str::from_utf8(&flipped).unwrap(), &b).is_err());
        assert!(key.open(&sealed, "tools/call other x").is_err());
        let e = StateKey::random().open(&sealed, &b).unwrap_err();
        for cause in ["another deployment", "--state-secret-previous", "not given the shared one", "shared store"] {
            assert!(e.contains(cause), "the likely causes are named: {e}");
        }
        assert!(key.open("garbage", &b).is_err());
    }

    #[test]
    fn an_integrity_failure_names_the_key_agreements_causes_and_what_to_do() {
        let b = "tools/call t x".to_owned();
        let sealed = StateKey::random().seal(&State::new(b.clone(), JsonObject::new(), 1));
        let e = StateKey::random().open(&sealed, &b).unwrap_err();
        for cause in [
            "could not reach the shared store when it started and kept a key of its own until it agrees",
            "a shared store that lost the agreed key, e.g. Redis restarted without persistence",
            "start the round again",
        ] {
            assert!(e.contains(cause), "{cause:?} is not named: {e}");
        }
    }

    #[test]
    fn a_state_is_bound_to_the_caller_that_began_it() {
        let key = StateKey::random();
        let args = serde_json::json!({"a": 1});
        let of = |owner| Binding::new("tools/call", "t", Arguments::Read(&args), owner).get().to_owned();
        let alice = of(Some("key:alice"));
        let sealed = key.seal(&State::new(alice.clone(), JsonObject::new(), 1));
        assert!(key.open(&sealed, &alice).is_ok());
        for other in [of(Some("key:bob")), of(Some("token:0:alice")), of(None)] {
            let e = key.open(&sealed, &other).unwrap_err();
            assert!(e.contains("another caller"), "{e}");
        }
    }

    #[test]
    fn a_rotated_key_still_opens_what_the_previous_one_sealed() {
        let b = "tools/call t x".to_owned();
        let old = StateKey::from_bytes(b"old secret");
        let sealed = old.seal(&State::new(b.clone(), JsonObject::new(), 1));
        let rotating = StateKey::from_bytes(b"new secret").with_previous(b"old secret");
        assert_eq!(rotating.open(&sealed, &b).unwrap().round, 1);
        let new_sealed = rotating.seal(&State::new(b.clone(), JsonObject::new(), 2));
        assert!(old.open(&new_sealed, &b).is_err(), "sealed with the new key");
        assert!(StateKey::from_bytes(b"new secret").open(&sealed, &b).is_err(), "the old key dropped");
        assert!(StateKey::from_bytes(b"new secret").with_previous(b"other").open(&sealed, &b).is_err());
    }

    #[test]
    fn a_successor_key_signs_anew_and_still_opens_what_its_predecessor_sealed() {
        let b = "tools/call t x".to_owned();
        let old = StateKey::from_bytes(b"agreed first");
        assert!(old.succeeded_by(b"agreed first").is_none(), "the same secret: nothing to adopt");
        let sealed = old.seal(&State::new(b.clone(), JsonObject::new(), 1));
        let next = old.succeeded_by(b"agreed again").unwrap();
        assert_eq!(next.open(&sealed, &b).unwrap().round, 1, "a round begun under the old key");
        let new_sealed = next.seal(&State::new(b.clone(), JsonObject::new(), 2));
        assert!(old.open(&new_sealed, &b).is_err(), "sealed with the new key");
        assert_eq!(StateKey::from_bytes(b"agreed again").open(&new_sealed, &b).unwrap().round, 2);
        let third = next.succeeded_by(b"agreed a third time").unwrap();
        assert!(third.open(&sealed, &b).is_err(), "one predecessor is kept, not every one");
    }

    #[test]
    fn arguments_as_written_bind_as_the_tree_they_read_as() {
        let read = |tree: &serde_json::Value| Binding::new("tools/call", "t", Arguments::Read(tree), Some("key:a"));
        let written =
            |text: &str| Binding::new("tools/call", "t", Arguments::<serde_json::Value>::Written(text), Some("key:a"));
        let cases = [
            (
                r#"{"b":[1,2.5,-0.0,1e300],"a":{"y":null,"x":"\u00e9\n"}}"#,
                r#" { "a" : { "x" : "é\n" , "y" : null } , "b" : [ 1 , 2.5 , -0.0 , 1E300 ] } "#,
            ),
            (r#"{}"#, "null"),
            (r#"{"k":"v"}"#, r#"{"k":"\u0076"}"#),
        ];
        for (canonical, text) in cases {
            let tree: serde_json::Value = serde_json::from_str(canonical).unwrap();
            assert_eq!(read(&tree).get(), written(text).get(), "{text}");
            assert_eq!(read(&tree).get(), written(canonical).get(), "{canonical}");
        }
        assert_ne!(written(r#"{"k":1}"#).get(), written(r#"{"k":2}"#).get());
    }
}
