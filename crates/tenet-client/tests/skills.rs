//! The Skills extension from the client's side, against a server whose entries and
//! files agree, and against one that lies about a file's size, digest or front matter:
//! every file read is checked against the skill's entry, and one that does not match is
//! refused, never handed over.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tenet_client::protocol::{ProtocolVersion, Resource, ResourceContents, TextResourceContents};
use tenet_client::{Client, SkillFileError, VersionPin};
use tenet_server::{MethodDef, ReadRequest, ResourceDef, Server, ToolError};

const SKILL_MD: &str = "---\nname: pdf\ndescription: Use for PDFs.\n---\n# PDF\n";
const FORMS: &str = "# Forms\n";

fn digest(text: &str) -> String {
    format!("sha256:{}", Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// A server whose one skill's entry says `entry_md` of its SKILL.md (size, digest, front
/// matter) while serving `served_md`.
fn server(entry_md: &'static str, served_md: &'static str, description: &'static str) -> Server {
    let entry = json!({
        "uri": "skill://pdf/SKILL.md",
        "frontmatter": {"name": "pdf", "description": description},
        "resources": [
            {"uri": "skill://pdf/SKILL.md", "digest": digest(entry_md), "size": entry_md.len()},
            {"uri": "skill://pdf/forms.md", "digest": digest(FORMS), "size": FORMS.len()},
        ],
    });
    let list = move || {
        let entry = entry.clone();
        async move { Ok::<_, ToolError>(json!({ "skills": [entry] })) }
    };
    let file = |uri: &str, text: &'static str| {
        let resource = Resource {
            uri: uri.to_owned(),
            name: uri.to_owned(),
            title: None,
            description: None,
            mime_type: None,
            size: None,
            annotations: None,
            icons: None,
            meta: None,
        };
        ResourceDef::new(resource, move |request: ReadRequest| async move {
            let contents =
                TextResourceContents { uri: request.uri, mime_type: None, text: text.to_owned(), meta: None };
            Ok(Some(vec![ResourceContents::Text(contents)]))
        })
    };
    Server::builder("skills", "1.0.0")
        .method(MethodDef::new("skills/list", list).extension("io.modelcontextprotocol/skills"))
        .resource(file("skill://pdf/SKILL.md", served_md))
        .resource(file("skill://pdf/forms.md", FORMS))
        .build()
        .unwrap()
}

async fn connect(server: Server, pin: VersionPin) -> Client {
    let (client_end, server_end) = tenet_transport::memory::pair();
    let (read, write) = tokio::io::split(server_end);
    tokio::spawn(async move { server.serve(read, write, Default::default()).await });
    let (read, write) = tokio::io::split(client_end);
    Client::builder().version(pin).connect_pipe(read, write).await.expect("connects")
}

#[tokio::test]
async fn files_that_match_their_entry_are_read_in_both_eras() {
    for pin in [VersionPin::Exact(ProtocolVersion::V2025_11_25), VersionPin::Exact(ProtocolVersion::V2026_07_28)] {
        let client = connect(server(SKILL_MD, SKILL_MD, "Use for PDFs."), pin).await;
        let skills = client.all_skills().await.unwrap();
        assert_eq!(skills.len(), 1);
        let md = client.read_skill_file(&skills[0], "skill://pdf/SKILL.md").await.unwrap();
        assert_eq!(md, SKILL_MD.as_bytes());
        let forms = client.read_skill_file(&skills[0], "skill://pdf/forms.md").await.unwrap();
        assert_eq!(forms, FORMS.as_bytes());
        let unlisted = client.read_skill_file(&skills[0], "skill://pdf/other.md").await;
        assert!(matches!(unlisted, Err(SkillFileError::NotListed { .. })), "{unlisted:?}");
    }
}

#[tokio::test]
async fn a_file_that_does_not_match_its_entry_is_refused() {
    let pin = VersionPin::Exact(ProtocolVersion::V2025_11_25);
    // Longer than the entry says.
    let longer: &'static str = "---\nname: pdf\ndescription: Use for PDFs.\n---\n# PDF\nmore\n";
    let client = connect(server(SKILL_MD, longer, "Use for PDFs."), pin).await;
    let skill = client.all_skills().await.unwrap().remove(0);
    let refused = client.read_skill_file(&skill, "skill://pdf/SKILL.md").await;
    assert!(matches!(refused, Err(SkillFileError::Size { expected, got, .. }) if expected < got), "{refused:?}");
    // As long, other bytes.
    let other: &'static str = "---\nname: pdf\ndescription: Use for PDFs.\n---\n# FDP\n";
    let client = connect(server(SKILL_MD, other, "Use for PDFs."), pin).await;
    let skill = client.all_skills().await.unwrap().remove(0);
    let refused = client.read_skill_file(&skill, "skill://pdf/SKILL.md").await;
    assert!(matches!(refused, Err(SkillFileError::Digest { .. })), "{refused:?}");
    // Honest bytes, an entry whose front matter says otherwise.
    let client = connect(server(SKILL_MD, SKILL_MD, "Use for everything."), pin).await;
    let skill = client.all_skills().await.unwrap().remove(0);
    let refused = client.read_skill_file(&skill, "skill://pdf/SKILL.md").await;
    let Err(SkillFileError::FrontMatter { why, .. }) = refused else { panic!("{refused:?}") };
    assert!(why.contains("description"), "{why}");
}

#[tokio::test]
async fn an_entry_that_breaks_the_rules_is_refused_before_anything_is_read() {
    let client =
        connect(server(SKILL_MD, SKILL_MD, "Use for PDFs."), VersionPin::Exact(ProtocolVersion::V2025_11_25)).await;
    let good = client.all_skills().await.unwrap().remove(0);
    let bad = |change: &dyn Fn(&mut Value)| {
        let mut entry = serde_json::to_value(&good).unwrap();
        change(&mut entry);
        serde_json::from_value::<tenet_client::protocol::skill_extension::SkillEntry>(entry).unwrap()
    };
    let outside = bad(&|e| e["resources"][1]["uri"] = json!("skill://other/secret.md"));
    let climbing = bad(&|e| e["resources"][1]["uri"] = json!("skill://pdf/../other/secret.md"));
    let twice = bad(&|e| e["resources"][1]["uri"] = json!("skill://pdf/SKILL.md"));
    let renamed = bad(&|e| e["frontmatter"]["name"] = json!("code-review"));
    let not_a_skill = bad(&|e| e["uri"] = json!("https://example.com/pdf/SKILL.md"));
    for entry in [outside, climbing, twice, renamed, not_a_skill] {
        let refused = client.read_skill_file(&entry, "skill://pdf/SKILL.md").await;
        assert!(matches!(refused, Err(SkillFileError::BadEntry { .. })), "{refused:?}");
    }
}
