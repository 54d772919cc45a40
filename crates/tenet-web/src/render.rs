//! Markdown to HTML that runs nothing: raw HTML in a document is shown as text, links
//! and images keep only `http`, `https`, `mailto` and relative targets, and every
//! heading gets the anchor its section has on the page.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Whether a link or image target is safe to keep: `http(s)`, `mailto`, or relative
/// (no scheme at all). `javascript:`, `data:`, `vbscript:` and the rest are not, however
/// they are spelled (case, whitespace and control characters are ignored, as browsers do).
pub fn safe_url(url: &str) -> bool {
    let cleaned: String = url.chars().filter(|c| !c.is_whitespace() && !c.is_control()).collect();
    let lower = cleaned.to_ascii_lowercase();
    match lower.find(':') {
        None => true,
        // A colon after a path, query or fragment starts no scheme.
        Some(colon) if lower[..colon].contains(['/', '?', '#']) => true,
        Some(colon) => matches!(&lower[..colon], "http" | "https" | "mailto"),
    }
}

/// The HTML of `markdown`; the n-th heading gets the n-th of `anchors` as its id.
pub fn markdown(markdown: &str, anchors: &[String]) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES;
    let mut headings = anchors.iter();
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        // Raw HTML, block or inline, is shown as the text it is.
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Heading { level, classes, attrs, .. }) => {
            let id = headings.next().map(|a| CowStr::from(a.clone()));
            // Attributes written in the document (`{#id .class}`) are dropped: ids are ours.
            let _ = (classes, attrs);
            Event::Start(Tag::Heading { level, id, classes: Vec::new(), attrs: Vec::new() })
        }
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            let dest_url = if safe_url(&dest_url) { dest_url } else { CowStr::from("#") };
            Event::Start(Tag::Link { link_type, dest_url, title, id })
        }
        Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
            // Images stay on this server (the page's policy blocks others anyway).
            let dest_url = if safe_url(&dest_url) && !dest_url.contains("//") { dest_url } else { CowStr::from("") };
            Event::Start(Tag::Image { link_type, dest_url, title, id })
        }
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// A search snippet (`**match**` marks the matched words) as HTML with `<mark>`.
pub fn snippet(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (n, part) in text.split("**").enumerate() {
        if n % 2 == 1 {
            out.push_str("<mark>");
            out.push_str(&escape(part));
            out.push_str("</mark>");
        } else {
            out.push_str(&escape(part));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_is_shown_not_run() {
        let html =
            markdown("# T\n\n<script>alert(1)</script>\n\nText <img src=x onerror=alert(1)> here.\n", &["t".into()]);
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
        assert!(!html.contains("<img src=x"), "{html}");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"), "{html}");
        assert!(html.contains(r#"<h1 id="t">T</h1>"#), "{html}");
    }

    #[test]
    fn only_safe_link_targets_are_kept() {
        for bad in
            ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " java\tscript:alert(1)", "data:text/html,x", "vbscript:x"]
        {
            assert!(!safe_url(bad), "{bad}");
            let html = markdown(&format!("[click](<{bad}>)"), &[]).to_ascii_lowercase();
            assert!(!html.contains("script:") && !html.contains("data:"), "{bad}: {html}");
        }
        for good in [
            "https://example.com/a",
            "http://x",
            "mailto:a@b.c",
            "/standards/rust/testing",
            "#section",
            "other.md",
            "a/b:c",
        ] {
            assert!(safe_url(good), "{good}");
        }
        let html = markdown("[ok](https://example.com/a?b=1&c=2)", &[]);
        assert!(html.contains(r#"href="https://example.com/a?b=1&amp;c=2""#), "{html}");
    }

    #[test]
    fn headings_get_the_anchors_given_not_the_documents_own() {
        let html = markdown("# One {#evil onclick=x}\n\n## Two\n", &["a.one".into(), "a.two".into()]);
        assert!(html.contains(r#"<h1 id="a.one">One</h1>"#), "{html}");
        assert!(html.contains(r#"<h2 id="a.two">Two</h2>"#), "{html}");
        assert!(!html.contains("onclick"), "{html}");
    }

    #[test]
    fn a_large_table_renders_in_linear_time() {
        let mut doc = String::from("| a | b |\n|---|---|\n");
        while doc.len() < 5 * 1024 * 1024 {
            doc.push_str("| <b>cell</b> | [x](javascript:y) |\n");
        }
        let started = std::time::Instant::now();
        let html = markdown(&doc, &[]);
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
        assert!(!html.contains("<b>") && !html.contains("javascript:"));
    }

    #[test]
    fn snippets_mark_matches_and_escape_the_rest() {
        assert_eq!(snippet("use **retries** <b>"), "use <mark>retries</mark> &lt;b&gt;");
    }
}
