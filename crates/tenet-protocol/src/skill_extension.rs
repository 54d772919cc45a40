//! The Skills extension (SEP-2640, `io.modelcontextprotocol/skills`): its wire types,
//! and the front matter of a `SKILL.md` (the Agent Skills format), which a server
//! copies into a skill's entry and a client compares with the file it reads.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The extension's identifier.
pub const SKILLS_EXTENSION: &str = "io.modelcontextprotocol/skills";

/// A skill's entry in `skills/list` and `skills/get`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillEntry {
    /// Its `SKILL.md`'s URI, which names it.
    pub uri: String,
    /// The front matter of its `SKILL.md`, as JSON.
    pub frontmatter: Map<String, Value>,
    /// Its files, or `"dynamic"` when the server does not list them.
    pub resources: SkillResources,
}

/// A skill's files, as its entry gives them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SkillResources {
    /// Every file, once each, `SKILL.md` included.
    Listed(Vec<SkillResource>),
    /// `"dynamic"`: the server does not say.
    Dynamic(Dynamic),
}

/// The string `"dynamic"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dynamic {
    /// `"dynamic"`.
    Dynamic,
}

/// One file of a skill, as its entry gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillResource {
    /// Its URI.
    pub uri: String,
    /// `sha256:` and the lowercase hex of its bytes' digest.
    pub digest: String,
    /// How many bytes it holds.
    pub size: u64,
}

/// A page of `skills/list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListSkillsResult {
    /// The skills of the page.
    pub skills: Vec<SkillEntry>,
    /// Where the next page starts, if there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The answer to `skills/get`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetSkillResult {
    /// The skill's entry.
    pub skill: SkillEntry,
}

/// Whether `name` follows the Agent Skills naming rules: 1 to 64 of `a-z`, `0-9` and
/// `-`, neither first nor last a hyphen, and no two hyphens together. A server holds
/// its skills to them, and a client the entries it is given.
pub fn valid_skill_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// The most bytes of front matter read: past it, a `SKILL.md` is refused unparsed (the
/// front matter is a name, a description and a few settings).
pub const MAX_FRONT_MATTER: usize = 64 * 1024;

/// The front matter of a `SKILL.md`: the YAML between its first line (`---`) and the
/// next `---` line, as JSON. At most [`MAX_FRONT_MATTER`] bytes are read.
///
/// # Errors
/// Why there is none: no opening or closing line, YAML that does not parse, or a
/// block that is not a mapping.
///
/// ```
/// let md = "---\nname: pdf\ndescription: Use for PDFs.\n---\n# PDF\n";
/// let front = tenet_protocol::skill_front_matter(md).unwrap();
/// assert_eq!(front["name"], "pdf");
/// ```
pub fn skill_front_matter(text: &str) -> Result<Map<String, Value>, String> {
    let (yaml, _) = split_skill_md(text)?;
    match serde_saphyr::from_str::<Value>(yaml) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("the SKILL.md's front matter is not a mapping".into()),
        Err(e) => Err(format!("the SKILL.md's front matter is not YAML: {e}")),
    }
}

/// A `SKILL.md` cut in two: the YAML of its front matter (between the first `---` line
/// and the next, unparsed) and the body after the closing line. At most
/// [`MAX_FRONT_MATTER`] bytes are looked through for the closing line.
///
/// # Errors
/// No opening line, or no closing line within [`MAX_FRONT_MATTER`] bytes.
///
/// ```
/// let md = "---\nname: pdf\ndescription: Use for PDFs.\n---\n# PDF\n";
/// let (yaml, body) = tenet_protocol::skill_extension::split_skill_md(md).unwrap();
/// assert_eq!((yaml, body), ("name: pdf\ndescription: Use for PDFs.", "# PDF\n"));
/// ```
pub fn split_skill_md(text: &str) -> Result<(&str, &str), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
        .ok_or("the SKILL.md does not begin with front matter (a --- line)")?;
    let closing = |at: usize| {
        let after = &rest[at + 4..];
        after.is_empty() || after.starts_with('\n') || after.starts_with("\r\n")
    };
    let end = rest
        .match_indices("\n---")
        .map(|(at, _)| at)
        .take_while(|&at| at <= MAX_FRONT_MATTER)
        .find(|&at| closing(at))
        .ok_or("the SKILL.md's front matter has no closing --- line within 64 KiB")?;
    let after = &rest[end + 4..];
    let body = after.strip_prefix('\n').or_else(|| after.strip_prefix("\r\n")).unwrap_or(after);
    Ok((rest[..end].strip_suffix('\r').unwrap_or(&rest[..end]), body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_entry_reads_listed_or_dynamic_resources() {
        let listed: SkillEntry = serde_json::from_value(json!({
            "uri": "skill://a/SKILL.md", "frontmatter": {"name": "a"},
            "resources": [{"uri": "skill://a/SKILL.md", "digest": "sha256:00", "size": 3}],
        }))
        .unwrap();
        assert!(matches!(listed.resources, SkillResources::Listed(ref r) if r[0].size == 3));
        let dynamic: SkillEntry =
            serde_json::from_value(json!({"uri": "skill://b/SKILL.md", "frontmatter": {}, "resources": "dynamic"}))
                .unwrap();
        assert_eq!(dynamic.resources, SkillResources::Dynamic(Dynamic::Dynamic));
        assert!(
            serde_json::from_value::<SkillEntry>(json!({"uri": "u", "frontmatter": {}, "resources": "all"})).is_err()
        );
    }

    #[test]
    fn front_matter_needs_both_fences_and_a_mapping() {
        assert!(skill_front_matter("# no front matter\n").is_err());
        assert!(skill_front_matter("---\nname: a\n").is_err());
        assert!(skill_front_matter("---\n- a\n---\n").is_err());
        let long = format!("---\nname: a\ndescription: {}\n---\n", "x".repeat(MAX_FRONT_MATTER));
        assert!(skill_front_matter(&long).is_err(), "past the limit, not parsed");
        let crlf = skill_front_matter("---\r\nname: a\r\n---\r\nbody").unwrap();
        assert_eq!(crlf["name"], "a");
        // A line that only begins with --- does not close it.
        let front = skill_front_matter("---\nname: a\nnote: >\n  x\n  ---y\nb: 1\n---\n").unwrap();
        assert_eq!((front["note"].as_str(), front["b"].as_i64()), (Some("x ---y\n"), Some(1)));
    }
}
