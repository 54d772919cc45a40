//! The fixture's resources, resource template and prompts.

use serde_json::{Value, json};
use tenet_server::protocol::{
    BlobResourceContents, ContentBlock, GetPromptResult, PromptMessage, Resource, ResourceContents, ResourceTemplate,
    Role, TextResourceContents,
};
use tenet_server::{PromptDef, ResourceDef, TemplateDef, ToolError};

use crate::mrtr;
use crate::tools::TEST_IMAGE_BASE64;

fn resource(uri: &str, name: &str, title: &str, description: &str, mime: &str) -> Resource {
    Resource {
        uri: uri.into(),
        name: name.into(),
        title: Some(title.into()),
        description: Some(description.into()),
        mime_type: Some(mime.into()),
        size: None,
        annotations: None,
        icons: None,
        meta: None,
    }
}

/// The concrete resources (listed by URI, after the skill's `SKILL.md`, whose
/// `skill://` sorts first: the caching scenario reads the first one listed).
pub(crate) fn resources() -> Vec<ResourceDef> {
    let text = resource(
        "test://static-text",
        "static-text",
        "Static Text Resource",
        "A static text resource for testing",
        "text/plain",
    );
    let binary = resource(
        "test://static-binary",
        "static-binary",
        "Static Binary Resource",
        "A static binary resource (image) for testing",
        "image/png",
    );
    let watched = resource(
        "test://watched-resource",
        "watched-resource",
        "Watched Resource",
        "A resource that auto-updates every 3 seconds",
        "text/plain",
    );
    vec![
        ResourceDef::text(text, "This is the content of the static text resource."),
        ResourceDef::new(binary, |req| async move {
            Ok(Some(vec![ResourceContents::Blob(BlobResourceContents {
                uri: req.uri,
                mime_type: Some("image/png".into()),
                blob: TEST_IMAGE_BASE64.into(),
                meta: None,
            })]))
        }),
        ResourceDef::text(watched, "Watched resource content"),
    ]
}

/// `test://template/{id}/data`.
pub(crate) fn template() -> TemplateDef {
    let template = ResourceTemplate {
        uri_template: "test://template/{id}/data".into(),
        name: "template".into(),
        title: Some("Resource Template".into()),
        description: Some("A resource template with parameter substitution".into()),
        mime_type: Some("application/json".into()),
        annotations: None,
        icons: None,
        meta: None,
    };
    TemplateDef::new(template, |req| async move {
        let id = req.vars.get("id").cloned().unwrap_or_default();
        let text = json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")}).to_string();
        Ok(Some(vec![ResourceContents::Text(TextResourceContents {
            uri: req.uri,
            mime_type: Some("application/json".into()),
            text,
            meta: None,
        })]))
    })
}

fn messages(value: Value) -> Result<GetPromptResult, ToolError> {
    Ok(GetPromptResult { description: None, messages: serde_json::from_value(value)?, meta: None })
}

/// The prompts (`test_simple_prompt` first: the mutation hook re-registers it).
pub(crate) fn prompts() -> Vec<PromptDef> {
    vec![
        PromptDef::new("test_simple_prompt", |_| async {
            Ok(GetPromptResult {
                description: None,
                messages: vec![PromptMessage::user("This is a simple prompt for testing.")],
                meta: None,
            })
        })
        .title("Simple Test Prompt")
        .description("A simple prompt without arguments"),
        PromptDef::new("test_prompt_with_arguments", |req| async move {
            let arg = |name: &str| req.arguments.get(name).cloned().unwrap_or_default();
            let text = format!("Prompt with arguments: arg1='{}', arg2='{}'", arg("arg1"), arg("arg2"));
            Ok(GetPromptResult { description: None, messages: vec![PromptMessage::user(text)], meta: None })
        })
        .title("Prompt With Arguments")
        .description("A prompt with required arguments")
        .argument("arg1", "First test argument", true)
        .argument("arg2", "Second test argument", true)
        .complete("arg1", |req| async move {
            ["test-value-1", "test-value-2", "testValue1"]
                .into_iter()
                .filter(|v| v.starts_with(&req.value))
                .map(str::to_owned)
                .collect()
        }),
        PromptDef::new("test_prompt_with_embedded_resource", |req| async move {
            let uri = req.arguments.get("resourceUri").cloned().unwrap_or_default();
            messages(json!([
                {"role": "user", "content": {"type": "resource", "resource": {
                    "uri": uri, "mimeType": "text/plain", "text": "Embedded resource content for testing."
                }}},
                {"role": "user", "content": {"type": "text", "text": "Please process the embedded resource above."}}
            ]))
        })
        .title("Prompt With Embedded Resource")
        .description("A prompt that includes an embedded resource")
        .argument("resourceUri", "URI of the resource to embed", true),
        PromptDef::new("test_prompt_with_image", |_| async {
            Ok(GetPromptResult {
                description: None,
                messages: vec![
                    PromptMessage { role: Role::User, content: ContentBlock::image(TEST_IMAGE_BASE64, "image/png") },
                    PromptMessage::user("Please analyze the image above."),
                ],
                meta: None,
            })
        })
        .title("Prompt With Image")
        .description("A prompt that includes image content"),
        mrtr::prompt(),
    ]
}

/// The fixture's skills: `conformance-guide`, a `SKILL.md` and `references/checklist.md`
/// (a subfolder, for the directory reads).
pub(crate) fn skills() -> std::sync::Arc<tenet_skills::Skills> {
    let skill_md = "---\nname: conformance-guide\ndescription: Use when checking an MCP server against the conformance suite.\n---\n# Conformance guide\n\nRead references/checklist.md first.\n";
    let mut source = tenet_skills::SkillSource::single("conformance-guide", skill_md);
    let checklist: std::sync::Arc<[u8]> = std::sync::Arc::from(&b"# Checklist\n\n- Both eras.\n"[..]);
    source.files.insert("references/checklist.md".into(), checklist.into());
    let (catalog, problems) = tenet_skills::Catalog::build([source]);
    debug_assert!(problems.is_empty(), "{problems:?}");
    tenet_skills::Skills::new(catalog)
}
