//! The standards as skills (the MCP Skills extension, SEP-2640): every standard a
//! client may ask `get_stdlib` for is also a skill — `rust-testing` for Rust's testing
//! standard, `security` for the language-neutral one — whose `SKILL.md` holds what
//! `get_stdlib` returns for it, under front matter that tells an agent when to load it.
//! A skills-aware host so has the team's standards in view with no tool call, and a
//! skill's digest changes exactly when its standard does. The roots' skill folders
//! (`<root>/skills/<name>/SKILL.md`, [`tenet_kb::skills`]) are served beside them.

use std::collections::HashSet;
use std::sync::Arc;

use tenet_kb::KnowledgeBase;
use tenet_server::{ResourceDef, Server};
use tenet_skills::{Catalog, FileBody, Problem, SkillSource, Skills};

use super::READ_SCOPE;

/// A standard's description for an agent: what it covers and when to load it.
fn description(language: &str, domain: &str, titles: &[String]) -> String {
    let (who, code) = if language == "all" {
        ("any language".to_owned(), "code".to_owned())
    } else {
        (language_name(language), format!("{} code", language_name(language)))
    };
    let mut covers = titles.join("; ");
    if covers.chars().count() > 600 {
        covers = covers.chars().take(600).collect::<String>() + "…";
    }
    format!(
        "This team's {domain} standard for {who} ({covers}). Load it before writing, reviewing or changing \
         {code} that concerns its {domain}, and follow it over general habits."
    )
}

/// A language's name as its users write it (`javascript` is JavaScript); a language
/// this does not know, capitalised.
fn language_name(language: &str) -> String {
    const NAMES: [(&str, &str); 12] = [
        ("javascript", "JavaScript"),
        ("typescript", "TypeScript"),
        ("csharp", "C#"),
        ("cpp", "C++"),
        ("fsharp", "F#"),
        ("php", "PHP"),
        ("sql", "SQL"),
        ("html", "HTML"),
        ("css", "CSS"),
        ("ocaml", "OCaml"),
        ("objc", "Objective-C"),
        ("graphql", "GraphQL"),
    ];
    if let Some((_, name)) = NAMES.iter().find(|(key, _)| key.eq_ignore_ascii_case(language)) {
        return (*name).to_owned();
    }
    let mut chars = language.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Every standard of `base` as a skill, and why any is not one (a language or domain
/// whose name breaks the naming rules). A standard's `SKILL.md` is written from `base`
/// when read, not held: the text is the standard's, which the base holds already.
pub(crate) fn sources(base: &Arc<KnowledgeBase>) -> (Vec<SkillSource>, Vec<Problem>) {
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for key in base.taxonomy(None, None) {
        let (language, domain) = (key.language.as_str(), key.domain.as_str());
        let name = tenet_kb::skills::standard_skill_name(language, domain);
        if !tenet_skills::valid_name(&name) {
            problems.push(Problem {
                skill: name,
                why: format!(
                    "the standard {language}/{domain} is not served as a skill: its name breaks the naming rules"
                ),
            });
            continue;
        }
        if !seen.insert(name.clone()) {
            continue;
        }
        let titles: Vec<String> = base.standard(language, domain).iter().map(|d| d.title.clone()).collect();
        let front = format!(
            "---\nname: {name}\ndescription: {}\nmetadata:\n  domain: {}\n  language: {}\n---\n",
            yaml_string(&description(language, domain, &titles)),
            yaml_string(domain),
            yaml_string(language),
        );
        let (base, language, domain) = (Arc::clone(base), language.to_owned(), domain.to_owned());
        sources.push(SkillSource::made(name, front, move |sink| {
            for block in super::text::blocks(&base.standard(&language, &domain)) {
                sink(block.as_bytes());
            }
        }));
    }
    (sources, problems)
}

/// `text` as a YAML double-quoted scalar (JSON's string syntax is one).
fn yaml_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// The standard's skill a skill folder at `path` would replace or add to, if any:
/// `path` itself, or the skill around it (a standard's skill name is one segment), when
/// `is_standard` says it is a standard's. A standard's skill holds its `SKILL.md` alone,
/// and a skill's files include those of the skills inside it: such a folder is left out.
pub(crate) fn standard_at(path: &str, is_standard: impl Fn(&str) -> bool) -> Option<&str> {
    let first = path.split('/').next()?;
    is_standard(first).then_some(first)
}

/// Why the skill folder at `path` is left out, in the standard's skill `standard`.
pub(crate) fn shadowing(path: &str, standard: &str) -> String {
    if path == standard {
        "a standard is served as this skill already; name the folder otherwise".to_owned()
    } else {
        format!("it lies inside the skill {standard}, which is a standard's and holds it alone; move the folder")
    }
}

/// The catalog of `base`'s skills: its roots' skill folders first (written as skills,
/// they lead the list; a later root's replaces an earlier one's of the same path), then
/// its standards'. A folder at a standard's skill name, or inside one, is left out,
/// with a warning: the standard's skill is the standard as `get_stdlib` gives it, which
/// roots override as standards, never through a skills folder.
pub(crate) fn catalog(base: &Arc<KnowledgeBase>) -> Catalog {
    let (standards, mut problems) = sources(base);
    let taken: HashSet<String> = standards.iter().map(|s| s.path.clone()).collect();
    let mut sources: Vec<SkillSource> = Vec::new();
    for folder in base.skills() {
        if let Some(standard) = standard_at(&folder.path, |name| taken.contains(name)) {
            let why = format!("{}: {}", folder.root, shadowing(&folder.path, standard));
            problems.push(Problem { skill: folder.path.clone(), why });
            continue;
        }
        let files = folder.files.iter().map(|(path, bytes)| (path.clone(), FileBody::Held(bytes.clone())));
        sources.push(SkillSource { path: folder.path.clone(), files: files.collect() });
    }
    sources.extend(standards);
    let (catalog, more) = Catalog::build(sources);
    problems.extend(more);
    for problem in problems {
        tracing::warn!("{problem}");
    }
    catalog
}

/// A listed `SKILL.md`, for readers with the read scope.
pub(crate) fn listed(skills: &Arc<Skills>) -> Vec<ResourceDef> {
    skills.listed().into_iter().map(|def| def.scope(READ_SCOPE)).collect()
}

/// Serves `skills` on `server`: its files through the hidden `skill://` template (which
/// asks readers for the read scope itself: a gateway's upstreams' skill files, read
/// through it too, need their upstream's scopes instead).
pub(crate) fn serve_files(server: &Server, skills: &Arc<Skills>) {
    for refused in server.change_hidden_templates(&[], [skills.files()]) {
        tracing::error!("the skills' files cannot be served: {refused}");
    }
}

/// What a reload of the skills tells clients, in one announcement with the documents'.
pub(crate) struct Reloaded {
    /// The `SKILL.md` URIs of the skills no longer served (no longer listed).
    pub(crate) gone: Vec<String>,
    /// The listed `SKILL.md` of every skill new or changed (any of its files, or the
    /// set of them): replacing one tells its subscribers, adding one changes the list.
    pub(crate) listed: Vec<ResourceDef>,
    /// Every other file whose bytes changed or that is no longer served: its
    /// subscribers hear `resources/updated` (it is not a listed resource).
    pub(crate) updated: Vec<String>,
}

/// Serves `base`'s skills from now on, and says what changed (the old and new
/// catalogs compared file by file: a file held by several skills is one file).
pub(crate) fn reload(skills: &Arc<Skills>, base: &Arc<KnowledgeBase>) -> Reloaded {
    let old = skills.replace(catalog(base));
    let new = skills.catalog();
    let gone = old.skills().iter().filter(|s| new.skill(&s.uri).is_none()).map(|s| s.uri.clone()).collect::<Vec<_>>();
    let changed: HashSet<&str> = new
        .skills()
        .iter()
        .filter(|s| old.skill(&s.uri).is_none_or(|before| before.entry() != s.entry()))
        .map(|s| s.uri.as_str())
        .collect();
    let listed: Vec<ResourceDef> =
        listed(skills).into_iter().filter(|def| changed.contains(def.listing().uri.as_str())).collect();
    // A listed SKILL.md replaced above tells its subscribers already: not twice.
    let mut updated: Vec<String> = old
        .files()
        .filter(|before| new.file(&before.uri).is_none_or(|now| now.digest != before.digest))
        .filter(|before| !changed.contains(before.uri.as_str()))
        .map(|before| before.uri.clone())
        .collect();
    updated.sort_unstable();
    Reloaded { gone, listed, updated }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_standards_description_names_its_language_as_its_users_write_it_and_reads_as_english() {
        let titles = ["JavaScript patterns".to_owned()];
        let text = description("javascript", "patterns", &titles);
        assert_eq!(
            text,
            "This team's patterns standard for JavaScript (JavaScript patterns). Load it before writing, reviewing \
             or changing JavaScript code that concerns its patterns, and follow it over general habits."
        );
        assert!(description("all", "testing", &[]).contains("changing code that concerns its testing"));
        assert_eq!(language_name("rust"), "Rust");
        assert_eq!(language_name("TypeScript"), "TypeScript");
        assert_eq!(language_name("csharp"), "C#");
    }
}
