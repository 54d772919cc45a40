//! How the client commands print results: text for people, JSON with `--json`.

use serde::Serialize;
use serde_json::Value;
use tenet_client::protocol::{
    CallToolResult, GetPromptResult, Prompt, ReadResourceResult, Resource, ResourceTemplate, Tool,
};

fn print_json(value: &impl Serialize) -> u8 {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            outln!("{text}");
            0
        }
        Err(e) => {
            eprintln!("tenet: cannot print the result: {e}");
            4
        }
    }
}

fn first_line(text: Option<&str>) -> String {
    text.and_then(|t| t.lines().next()).map(|l| format!(" — {l}")).unwrap_or_default()
}

/// Prints tools.
pub fn tools(tools: &[Tool], json: bool) -> u8 {
    if json {
        return print_json(&tools);
    }
    if tools.is_empty() {
        none("tools");
    }
    for tool in tools {
        outln!("{}{}", tool.name, first_line(tool.description.as_deref()));
    }
    0
}

/// Prints resources and templates.
pub fn resources(resources: &[Resource], templates: &[ResourceTemplate], json: bool) -> u8 {
    if json {
        return print_json(&serde_json::json!({"resources": resources, "resourceTemplates": templates}));
    }
    if resources.is_empty() && templates.is_empty() {
        none("resources or resource templates");
    }
    for resource in resources {
        outln!("{}  {}{}", resource.uri, resource.name, first_line(resource.description.as_deref()));
    }
    for template in templates {
        outln!(
            "{}  {} (template){}",
            template.uri_template,
            template.name,
            first_line(template.description.as_deref())
        );
    }
    0
}

/// Prints prompts with their arguments.
pub fn prompts(prompts: &[Prompt], json: bool) -> u8 {
    if json {
        return print_json(&prompts);
    }
    if prompts.is_empty() {
        none("prompts");
    }
    for prompt in prompts {
        let args: Vec<String> = prompt
            .arguments
            .iter()
            .flatten()
            .map(|a| if a.required == Some(true) { a.name.clone() } else { format!("{}?", a.name) })
            .collect();
        outln!("{}({}){}", prompt.name, args.join(", "), first_line(prompt.description.as_deref()));
    }
    0
}

/// `text` with the control characters a terminal acts on (escape sequences that move the
/// cursor, retitle the window, write the clipboard) shown as `\u{…}` escapes: line breaks
/// and tabs stay. What a server sends is printed through it.
pub(super) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    // C0, DEL and C1 are all `is_control`.
    let acts = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(acts) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars().map(|c| if acts(c) { c.escape_unicode().to_string() } else { c.to_string() }).collect(),
    )
}

/// JSON text with every control character a terminal acts on written as a JSON escape
/// (`\u009b`), so that what a server sent prints as harmlessly as [`printable`] makes text,
/// and still reads as the same JSON. Raw control characters can stand only inside JSON
/// strings (C1 ones: JSON requires escaping C0 alone), where the escape means the same.
pub(super) fn printable_json(text: &str) -> std::borrow::Cow<'_, str> {
    let acts = |c: char| c.is_control() && c != '\n' && c != '\t' && c != '\r';
    if !text.chars().any(acts) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars().map(|c| if acts(c) { format!("\\u{:04x}", u32::from(c)) } else { c.to_string() }).collect(),
    )
}

/// Prints content blocks for people: text as is; an embedded resource as a line naming
/// it, then its text (binary contents summarized); a resource link, an image or audio as
/// one line saying what it is; anything else as one line of JSON.
fn content(blocks: &[impl Serialize]) {
    for block in blocks {
        let value = serde_json::to_value(block).unwrap_or(Value::Null);
        let field = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(|s| printable(s).into_owned());
        let kind = field(&value, "type").unwrap_or_default();
        match kind.as_str() {
            "resource" => {
                let resource = &value["resource"];
                let uri = field(resource, "uri").unwrap_or_default();
                let mime = field(resource, "mimeType").map(|m| format!(", {m}")).unwrap_or_default();
                outln!("(resource {uri}{mime})");
                match (field(resource, "text"), field(resource, "blob")) {
                    (Some(text), _) => outln!("{}", text.trim_end()),
                    (None, Some(blob)) => outln!("<{} base64 characters>", blob.len()),
                    (None, None) => {}
                }
            }
            "resource_link" => {
                let name = field(&value, "name").map(|n| format!(" {n}")).unwrap_or_default();
                outln!("(link {}){name}", field(&value, "uri").unwrap_or_default());
            }
            "image" | "audio" => outln!(
                "<{kind}, {}, {} base64 characters>",
                field(&value, "mimeType").unwrap_or_default(),
                field(&value, "data").map_or(0, |d| d.len())
            ),
            _ => match field(&value, "text") {
                Some(text) => outln!("{text}"),
                None => outln!("{}", printable(&value.to_string())),
            },
        }
    }
}

/// On stderr, that a list came back empty (stdout stays empty, for scripts).
fn none(what: &str) {
    eprintln!("tenet: the server lists no {what}");
}

/// Prints a tool result (the caller turns `isError` into the exit code).
pub fn call(result: &CallToolResult, json: bool) {
    if json {
        print_json(result);
        return;
    }
    if result.is_error == Some(true) {
        eprintln!("tenet: the tool reported an error");
    }
    content(&result.content);
    if result.content.is_empty()
        && let Some(structured) = &result.structured_content
    {
        outln!("{structured}");
    }
}

/// Prints a resource's contents (binary contents are summarized).
pub fn read(result: &ReadResourceResult, json: bool) -> u8 {
    if json {
        return print_json(result);
    }
    for item in &result.contents {
        let value = serde_json::to_value(item).unwrap_or(Value::Null);
        match (value.get("text").and_then(Value::as_str), value.get("blob").and_then(Value::as_str)) {
            (Some(text), _) => outln!("{text}"),
            (None, Some(blob)) => {
                outln!("<{} base64 characters of {}>", blob.len(), value["mimeType"].as_str().unwrap_or("binary data"));
            }
            _ => outln!("{value}"),
        }
    }
    0
}

/// Prints skills: each one's name, description and how many files it has.
pub fn skills(skills: &[tenet_client::protocol::skill_extension::SkillEntry], json: bool) -> u8 {
    if json {
        return print_json(&skills);
    }
    for skill in skills {
        let field = |key: &str| skill.frontmatter.get(key).and_then(Value::as_str);
        let files = match &skill.resources {
            tenet_client::protocol::skill_extension::SkillResources::Listed(files) if files.len() == 1 => {
                "1 file".to_owned()
            }
            tenet_client::protocol::skill_extension::SkillResources::Listed(files) => format!("{} files", files.len()),
            tenet_client::protocol::skill_extension::SkillResources::Dynamic(_) => "files not listed".to_owned(),
        };
        outln!("{}{} ({files}, {})", field("name").unwrap_or("?"), first_line(field("description")), skill.uri);
    }
    0
}

/// Prints a skill file that passed its checks: its text, or a summary of its bytes.
pub fn skill_file(uri: &str, bytes: &[u8]) -> u8 {
    match std::str::from_utf8(bytes) {
        Ok(text) => out!("{text}"),
        Err(_) => outln!("<{} bytes of binary data at {uri}>", bytes.len()),
    }
    0
}

/// Prints a prompt's messages, each after its role.
pub fn prompt(result: &GetPromptResult, json: bool) -> u8 {
    if json {
        return print_json(result);
    }
    for message in &result.messages {
        let role = serde_json::to_value(message.role).unwrap_or(Value::Null);
        outln!("[{}]", role.as_str().unwrap_or("?"));
        content(std::slice::from_ref(&message.content));
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_terminal_would_act_on_is_shown_not_sent() {
        assert_eq!(printable("plain\ttext\nnext line"), "plain\ttext\nnext line");
        assert_eq!(printable("a\u{1b}]52;c;aGk=\u{7}b"), "a\\u{1b}]52;c;aGk=\\u{7}b", "OSC 52 writes the clipboard");
        assert_eq!(printable("\u{9b}2J\r"), "\\u{9b}2J\\u{d}", "C1 CSI and a carriage return");
    }

    #[test]
    fn json_a_gateway_sent_prints_escaped_and_reads_the_same() {
        let sent = "{\"name\":\"evil\u{9b}2J\u{85}\",\n\"ok\":1}";
        let shown = printable_json(sent);
        assert_eq!(shown, "{\"name\":\"evil\\u009b2J\\u0085\",\n\"ok\":1}");
        let (a, b): (Value, Value) = (serde_json::from_str(sent).unwrap(), serde_json::from_str(&shown).unwrap());
        assert_eq!(a, b, "the same JSON");
        assert!(matches!(printable_json("{\"a\":\"b\"}"), std::borrow::Cow::Borrowed(_)));
    }
}
