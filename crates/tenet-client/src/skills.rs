//! The Skills extension (SEP-2640) from the client's side: listing skills, and reading a
//! skill's files with every byte checked against the skill's entry (size, then digest,
//! then, for `SKILL.md`, its front matter), so a host never loads what the server did
//! not list. Nothing is read before it is asked for.

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tenet_protocol::skill_extension::{GetSkillResult, ListSkillsResult, SkillEntry, SkillResources};
use tenet_protocol::{JsonObject, ResourceContents};

use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::options::RequestOptions;

/// Why a skill file was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SkillFileError {
    /// The entry itself breaks the extension's rules: its URI is not a `SKILL.md` under
    /// `skill://`, its name does not follow the naming rules or differ from its path's
    /// last segment, or it lists a file outside the skill or twice.
    #[error("the entry of {uri} breaks the Skills extension's rules: {why}")]
    BadEntry {
        /// The entry's URI.
        uri: String,
        /// What is wrong.
        why: String,
    },
    /// The entry does not list the file (or lists its files as `"dynamic"`).
    #[error("{uri} is not a file the skill's entry lists")]
    NotListed {
        /// The file asked for.
        uri: String,
    },
    /// Reading it failed.
    #[error("reading {uri}: {source}")]
    Read {
        /// The file.
        uri: String,
        /// Why.
        source: ClientError,
    },
    /// The server answered with no contents for it.
    #[error("the server sent no contents for {uri}")]
    Empty {
        /// The file.
        uri: String,
    },
    /// Its size differs from the entry's.
    #[error("{uri} is {got} bytes, and the skill's entry says {expected}: list the skills again")]
    Size {
        /// The file.
        uri: String,
        /// The entry's size.
        expected: u64,
        /// What came.
        got: u64,
    },
    /// Its digest differs from the entry's.
    #[error("{uri} does not match the digest in the skill's entry: list the skills again")]
    Digest {
        /// The file.
        uri: String,
    },
    /// Its front matter differs from the entry's (a `SKILL.md`).
    #[error("{uri}'s front matter differs from the skill's entry ({why}): list the skills again")]
    FrontMatter {
        /// The file.
        uri: String,
        /// What differs.
        why: String,
    },
}

impl Client {
    /// One page of `skills/list`.
    ///
    /// # Errors
    /// The server's error, or an answer that is not a listing.
    pub async fn list_skills(&self, cursor: Option<&str>) -> Result<ListSkillsResult> {
        let params = cursor.map_or_else(|| json!({}), |cursor| json!({ "cursor": cursor }));
        decode(self.request("skills/list", params, &RequestOptions::default()).await?)
    }

    /// Every skill, page after page (bounded as [`Client::list_all`] is; a cursor seen
    /// twice ends it).
    ///
    /// # Errors
    /// As [`Client::list_skills`], or a listing that would not end or is too large.
    pub async fn all_skills(&self) -> Result<Vec<SkillEntry>> {
        self.all_skills_with(&JsonObject::new()).await
    }

    /// [`Client::all_skills`], with `meta` in each request's `_meta`.
    ///
    /// # Errors
    /// As [`Client::all_skills`].
    pub async fn all_skills_with(&self, meta: &JsonObject) -> Result<Vec<SkillEntry>> {
        let options = RequestOptions { meta: (!meta.is_empty()).then(|| meta.clone()), ..RequestOptions::default() };
        let split = |page: ListSkillsResult| (page.skills, page.next_cursor);
        self.follow_pages("skills/list", &options, split).await
    }

    /// `skills/get`: the entry of the skill whose `SKILL.md` is at `uri`.
    ///
    /// # Errors
    /// The server's error (-32602 for a URI that is not a skill's), or a bad answer.
    pub async fn get_skill(&self, uri: &str) -> Result<SkillEntry> {
        let got: GetSkillResult =
            decode(self.request("skills/get", json!({ "uri": uri }), &RequestOptions::default()).await?)?;
        Ok(got.skill)
    }

    /// Reads the file at `uri` of `skill` and checks it against the entry: it must be
    /// listed there, of the entry's size, with the entry's digest, and a `SKILL.md`'s
    /// front matter must equal the entry's, key by key. Its bytes, when they pass.
    ///
    /// # Errors
    /// [`SkillFileError`]: the file is not listed, cannot be read, or does not match.
    pub async fn read_skill_file(&self, skill: &SkillEntry, uri: &str) -> Result<Vec<u8>, SkillFileError> {
        check_entry(skill)?;
        let SkillResources::Listed(files) = &skill.resources else {
            return Err(SkillFileError::NotListed { uri: uri.to_owned() });
        };
        let listed =
            files.iter().find(|f| f.uri == uri).ok_or_else(|| SkillFileError::NotListed { uri: uri.to_owned() })?;
        let read =
            self.read_resource(uri).await.map_err(|source| SkillFileError::Read { uri: uri.to_owned(), source })?;
        let mut parts = read.contents.into_iter();
        let (first, more) = (parts.next(), parts.next());
        let part_uri = match &first {
            Some(ResourceContents::Text(text)) => Some(text.uri.as_str()),
            Some(ResourceContents::Blob(blob)) => Some(blob.uri.as_str()),
            None => None,
        };
        if more.is_some() || part_uri.is_some_and(|u| u != uri) {
            let why = "the answer is not one part of this file".to_owned();
            return Err(SkillFileError::Read { uri: uri.to_owned(), source: ClientError::Protocol(why) });
        }
        let bytes = match first {
            Some(ResourceContents::Text(text)) => text.text.into_bytes(),
            Some(ResourceContents::Blob(blob)) => {
                base64::engine::general_purpose::STANDARD.decode(blob.blob).map_err(|e| SkillFileError::Read {
                    uri: uri.to_owned(),
                    source: ClientError::Protocol(format!("bad base64: {e}")),
                })?
            }
            None => return Err(SkillFileError::Empty { uri: uri.to_owned() }),
        };
        let got = bytes.len() as u64;
        if got != listed.size {
            return Err(SkillFileError::Size { uri: uri.to_owned(), expected: listed.size, got });
        }
        let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        if listed.digest.strip_prefix("sha256:") != Some(digest.as_str()) {
            return Err(SkillFileError::Digest { uri: uri.to_owned() });
        }
        if uri == skill.uri {
            let text = std::str::from_utf8(&bytes).map_err(|_| SkillFileError::FrontMatter {
                uri: uri.to_owned(),
                why: "the file is not UTF-8".into(),
            })?;
            let front = tenet_protocol::skill_front_matter(text)
                .map_err(|why| SkillFileError::FrontMatter { uri: uri.to_owned(), why })?;
            let keys = front.keys().chain(skill.frontmatter.keys());
            if let Some(key) = keys.into_iter().find(|k| front.get(*k) != skill.frontmatter.get(*k)) {
                return Err(SkillFileError::FrontMatter { uri: uri.to_owned(), why: format!("{key} differs") });
            }
        }
        Ok(bytes)
    }
}

/// Checks an entry against the extension's rules before anything of it is read.
fn check_entry(skill: &SkillEntry) -> Result<(), SkillFileError> {
    let bad = |why: String| Err(SkillFileError::BadEntry { uri: skill.uri.clone(), why });
    let Some(path) = skill.uri.strip_prefix("skill://").and_then(|p| p.strip_suffix("/SKILL.md")) else {
        return bad("its URI is not skill://<path>/SKILL.md".into());
    };
    let name = skill.frontmatter.get("name").and_then(Value::as_str).unwrap_or_default();
    if !tenet_protocol::skill_extension::valid_skill_name(name) || path.rsplit('/').next() != Some(name) {
        return bad(format!("its name {name:?} breaks the naming rules or is not its path's last segment"));
    }
    if let SkillResources::Listed(files) = &skill.resources {
        let root = format!("skill://{path}/");
        let mut seen = std::collections::HashSet::new();
        for file in files {
            let inside = file.uri.strip_prefix(&root);
            let plain = inside.is_some_and(|rest| {
                rest.split('/').all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains('%') && !s.contains('\\'))
            });
            if !plain {
                return bad(format!("it lists {} outside the skill", file.uri));
            }
            if !seen.insert(file.uri.as_str()) {
                return bad(format!("it lists {} twice", file.uri));
            }
        }
    }
    Ok(())
}

fn decode<T: serde::de::DeserializeOwned>(value: Value) -> Result<T> {
    serde_json::from_value(value).map_err(|e| ClientError::Protocol(format!("an answer of the Skills extension: {e}")))
}
