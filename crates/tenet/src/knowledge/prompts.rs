//! Prompts: review code against a standard; brief me on a language's standards.

use std::sync::Arc;

use tenet_kb::normalize;
use tenet_protocol::{ContentBlock, GetPromptResult, PromptMessage, ResourceContents, Role, TextResourceContents};
use tenet_server::{CompletionRequest, PromptDef, PromptRequest, ToolError};

use super::Knowledge;
use super::resources::complete;

fn arg(req: &PromptRequest, name: &str) -> String {
    req.arguments.get(name).map(|v| normalize(v)).unwrap_or_default()
}

fn with_completions(prompt: PromptDef, knowledge: &Arc<Knowledge>, names: &[&str]) -> PromptDef {
    names.iter().fold(prompt, |prompt, name| {
        let k = knowledge.clone();
        prompt.complete(*name, move |req: CompletionRequest| {
            let values = complete(&k.base(), &req);
            async move { values }
        })
    })
}

/// The prompts.
pub fn all(knowledge: &Arc<Knowledge>) -> Vec<PromptDef> {
    let k = knowledge.clone();
    let review = PromptDef::new("review_against_standards", move |req: PromptRequest| {
        let base = k.base();
        let (language, domain) = (arg(&req, "language"), arg(&req, "domain"));
        let code = req.arguments.get("code").cloned().unwrap_or_default();
        let docs = base.standard(&language, &domain);
        let result = if docs.iter().all(|d| d.language != language) {
            Err(ToolError::invalid_params(format!(
                "No {language}/{domain} standard; languages: {}",
                base.languages().join(", ")
            )))
        } else {
            let mut messages: Vec<PromptMessage> = docs
                .iter()
                .map(|d| PromptMessage {
                    role: Role::User,
                    content: ContentBlock::resource(ResourceContents::Text(TextResourceContents {
                        uri: d.uri(),
                        mime_type: Some("text/markdown".into()),
                        text: d.body.clone(),
                        meta: None,
                    })),
                })
                .collect();
            messages.push(PromptMessage::user(format!(
                "Review the following {language} code against the {domain} standards above. List every violation with the rule it breaks (quote the section heading), why it matters, and a concrete fix; then note what the code does well. Say so plainly if it follows the standards.\n\n```{language}\n{code}\n```"
            )));
            Ok(GetPromptResult {
                description: Some(format!("Review {language} code against the {domain} standards")),
                messages,
                meta: None,
            })
        };
        async move { result }
    })
    .title("Review code against the standards")
    .description("Review a piece of code against the team's standards for its language and a domain.")
    .argument("language", "Programming language of the code", true)
    .argument("domain", "Which standard: architecture, testing, security, performance, patterns …", true)
    .argument("code", "The code to review", true);

    let k = knowledge.clone();
    let brief = PromptDef::new("standards_brief", move |req: PromptRequest| {
        let base = k.base();
        let language = arg(&req, "language");
        let domains = base.domains_of(&language);
        let result = if domains.is_empty() {
            Err(ToolError::invalid_params(format!(
                "No standards for {language:?}; languages: {}",
                base.languages().join(", ")
            )))
        } else {
            let mut outline = String::new();
            for domain in &domains {
                for doc in base.key(&language, domain) {
                    outline.push_str(&format!("\n## {} ({}) — {}\n", doc.title, doc.uri(), doc.description.clone().unwrap_or_default()));
                    for section in doc.sections.iter().filter(|s| s.level == 2) {
                        outline.push_str(&format!("- {}\n", section.heading));
                    }
                }
            }
            Ok(GetPromptResult {
                description: Some(format!("A brief on the {language} standards")),
                messages: vec![PromptMessage::user(format!(
                    "Brief me on our {language} engineering standards. Here is what exists, by domain, with each standard's rules as headings:\n{outline}\nSummarize the most important rules per domain in a few bullets each, and say when to call get_stdlib(language: \"{language}\", domain) for the full text."
                ))],
                meta: None,
            })
        };
        async move { result }
    })
    .title("Brief me on a language's standards")
    .description("A short brief on every standard the team has for one language.")
    .argument("language", "Programming language", true);

    vec![
        with_completions(review, knowledge, &["language", "domain"]).scope(super::PROMPTS_SCOPE),
        with_completions(brief, knowledge, &["language"]).scope(super::PROMPTS_SCOPE),
    ]
}
