//! The README and the guide (docs/, an mdBook) as a reader meets them: every relative link
//! resolves, down to the heading it names; every chapter is in the book's table of
//! contents; the README stays a front door; and every shell block marked runnable runs as
//! a new user would run it, in an empty folder with `tenet` on the PATH, and shows the
//! output the page says it does.
//!
//! A runnable block is a ```` ```sh ```` block whose previous non-blank line is exactly
//! `<!-- runnable -->`. After it (blank lines aside), a line `<!-- output -->` and a
//! ```` ```text ```` block give lines its output must show, in order, each within one line
//! of the output; `…` in such a line stands for anything. A block that starts a server
//! waits until it is ready and stops it before it ends: whatever it leaves running fails
//! the test.

#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The line before a ```` ```sh ```` block that this test runs.
const RUNNABLE: &str = "<!-- runnable -->";
/// The line after a runnable block, before the ```` ```text ```` block of its output.
const OUTPUT: &str = "<!-- output -->";
/// The README's length at most, in lines (the issue that split it into the guide).
const README_LINES: usize = 300;
/// How long a runnable block may take before its processes are killed and it fails.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(120);
/// How long what a block started may take to end after the block itself has ended (a
/// server stopped with `kill` and not waited for still shuts down for a moment).
const GRACE: Duration = Duration::from_secs(3);
/// The lines of a failed block's output its failure shows, from the end.
const TAIL_LINES: usize = 40;

/// The repository's root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// `path` as the failures name it: relative to `root`.
fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// The Markdown a reader meets: README.md, CONTRIBUTING.md, then every `.md` under docs/
/// (its images aside), sorted.
fn markdown_files(root: &Path) -> Vec<PathBuf> {
    let mut docs = Vec::new();
    collect_markdown(&root.join("docs"), &root.join("docs/images"), &mut docs);
    docs.sort();
    [root.join("README.md"), root.join("CONTRIBUTING.md")].into_iter().chain(docs).collect()
}

/// Adds the `.md` files under `dir`, `skip` and what is under it aside, to `found`.
fn collect_markdown(dir: &Path, skip: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.starts_with(skip) {
            continue;
        }
        if path.is_dir() {
            collect_markdown(&path, skip, found);
        } else if path.extension().is_some_and(|ext| ext == "md") {
            found.push(path);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reading Markdown: fences, code spans, links, headings.
// ---------------------------------------------------------------------------------------

/// A code fence's line: its character (`` ` `` or `~`), its length and its info string.
fn fence(line: &str) -> Option<(char, usize, &str)> {
    let trimmed = line.trim_start();
    let mark = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let length = trimmed.chars().take_while(|c| *c == mark).count();
    let info = trimmed[length..].trim();
    (length >= 3 && !(mark == '`' && info.contains('`'))).then_some((mark, length, info))
}

/// Whether the fence line `line` closes a block opened by `mark` repeated `length` times.
fn closes(line: &str, mark: char, length: usize) -> bool {
    fence(line).is_some_and(|(m, n, info)| m == mark && n >= length && info.is_empty())
}

/// For each line of `text` (as `str::lines` splits it), whether it belongs to a fenced
/// code block, its fences included.
fn fenced_lines(text: &str) -> Vec<bool> {
    let mut open: Option<(char, usize)> = None;
    text.lines()
        .map(|line| match open {
            Some((mark, length)) => {
                if closes(line, mark, length) {
                    open = None;
                }
                true
            }
            None => {
                open = fence(line).map(|(mark, length, _)| (mark, length));
                open.is_some()
            }
        })
        .collect()
}

/// The length of the run of `` ` `` starting at `at`.
fn backticks(chars: &[char], at: usize) -> usize {
    chars[at..].iter().take_while(|c| **c == '`').count()
}

/// Where the run of exactly `length` backticks closing a code span opened before `from`
/// starts; none before a blank line (a code span stays within its paragraph).
fn closing_backticks(chars: &[char], from: usize, length: usize) -> Option<usize> {
    let mut at = from;
    while at < chars.len() {
        match chars[at] {
            '`' => {
                let run = backticks(chars, at);
                if run == length {
                    return Some(at);
                }
                at += run;
            }
            '\n' => {
                let rest = &chars[at + 1..];
                let line_end = rest.iter().position(|c| *c == '\n').unwrap_or(rest.len());
                if rest[..line_end].iter().all(|c| c.is_whitespace()) {
                    return None;
                }
                at += 1;
            }
            _ => at += 1,
        }
    }
    None
}

/// `text` with what a reader sees as code or does not see at all (fenced blocks, code
/// spans, HTML comments) blanked out, line breaks kept, so that its lines are `text`'s.
fn visible(text: &str) -> String {
    let mut unfenced = String::with_capacity(text.len());
    for (line, fenced) in text.split_inclusive('\n').zip(fenced_lines(text)) {
        if fenced {
            unfenced.extend(line.chars().map(|c| if c == '\n' { c } else { ' ' }));
        } else {
            unfenced.push_str(line);
        }
    }
    let chars: Vec<char> = unfenced.chars().collect();
    let mut hidden = vec![false; chars.len()];
    let mut at = 0;
    while at < chars.len() {
        match chars[at] {
            '\\' => at += 2,
            '`' => {
                let run = backticks(&chars, at);
                match closing_backticks(&chars, at + run, run) {
                    Some(end) => {
                        hidden[at..end + run].fill(true);
                        at = end + run;
                    }
                    None => at += run,
                }
            }
            '<' if chars[at..].starts_with(&['<', '!', '-', '-']) => {
                let end = (at + 4..chars.len())
                    .find(|i| chars[*i..].starts_with(&['-', '-', '>']))
                    .map_or(chars.len(), |i| i + 3);
                hidden[at..end].fill(true);
                at = end;
            }
            _ => at += 1,
        }
    }
    chars.iter().zip(hidden).map(|(c, hide)| if hide && *c != '\n' { ' ' } else { *c }).collect()
}

/// A link's target and the line it is on.
#[derive(Debug, PartialEq)]
struct Link {
    /// The line, from 1.
    line: usize,
    /// The target as written (`path#fragment`, a URL, …).
    target: String,
}

/// The line, from 1, of the byte `at` of `text`.
fn line_at(text: &str, at: usize) -> usize {
    text[..at].matches('\n').count() + 1
}

/// An inline link's destination, `rest` being what follows its `](`; none when it does
/// not end (with `)` or a space before a title) as a destination does.
fn destination(rest: &str) -> Option<&str> {
    let rest = rest.trim_start_matches([' ', '\t', '\n']);
    if let Some(angled) = rest.strip_prefix('<') {
        return Some(&angled[..angled.find(['>', '\n'])?]);
    }
    let (mut depth, mut escaped) = (0, false);
    for (at, c) in rest.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '(' => depth += 1,
            ')' if depth == 0 => return Some(&rest[..at]),
            ')' => depth -= 1,
            c if c.is_whitespace() => return Some(&rest[..at]),
            _ => {}
        }
    }
    None
}

/// An HTML tag `<a …>` or `<img …>`.
struct Tag {
    /// Where it starts, in bytes.
    at: usize,
    /// `a` or `img`.
    name: &'static str,
    /// Its attributes, their names in lower case, with their values.
    attributes: Vec<(String, String)>,
}

/// The HTML `<a …>` and `<img …>` tags of `text`.
fn html_tags(text: &str) -> Vec<Tag> {
    let lower = text.to_ascii_lowercase();
    let mut tags = Vec::new();
    for (at, _) in lower.match_indices('<') {
        let rest = &lower[at + 1..];
        let Some(name) = ["a", "img"].into_iter().find(|name| {
            rest.strip_prefix(name).and_then(|after| after.chars().next()).is_some_and(char::is_whitespace)
        }) else {
            continue;
        };
        let start = at + 1 + name.len();
        let end = text[start..].find('>').map_or(text.len(), |end| start + end);
        tags.push(Tag { at, name, attributes: attributes(&text[start..end]) });
    }
    tags
}

/// The attributes `name="value"` (or with `'`, or unquoted) of a tag's inside.
fn attributes(inside: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = inside;
    while let Some(equals) = rest.find('=') {
        let name = rest[..equals].trim_end().rsplit(char::is_whitespace).next().unwrap_or("").to_ascii_lowercase();
        let after = rest[equals + 1..].trim_start();
        let (value, next) = match after.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let quoted = &after[1..];
                let end = quoted.find(quote).unwrap_or(quoted.len());
                (&quoted[..end], &quoted[(end + 1).min(quoted.len())..])
            }
            _ => {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        found.push((name, value.to_owned()));
        rest = next;
    }
    found
}

/// Every link of a Markdown text outside code: inline links and images
/// (`[text](target)`, `![alt](target)`), reference definitions (`[label]: target`) and
/// HTML `<a href>` and `<img src>`; in the order of the text.
fn links(text: &str) -> Vec<Link> {
    let seen = visible(text);
    let mut found = Vec::new();
    for (at, _) in seen.match_indices("](") {
        if let Some(target) = destination(&seen[at + 2..]) {
            found.push(Link { line: line_at(&seen, at), target: target.to_owned() });
        }
    }
    for (index, line) in seen.lines().enumerate() {
        let trimmed = line.trim_start();
        if line.len() - trimmed.len() > 3 || !trimmed.starts_with('[') || trimmed.starts_with("[^") {
            continue;
        }
        let Some(close) = trimmed.find("]:") else { continue };
        if trimmed[1..close].contains(['[', ']']) {
            continue;
        }
        let rest = trimmed[close + 2..].trim_start();
        let target = match rest.strip_prefix('<') {
            Some(angled) => angled.split('>').next().unwrap_or(""),
            None => rest.split_whitespace().next().unwrap_or(""),
        };
        if !target.is_empty() {
            found.push(Link { line: index + 1, target: target.to_owned() });
        }
    }
    for tag in html_tags(&seen) {
        let wanted = if tag.name == "a" { "href" } else { "src" };
        for (_, value) in tag.attributes.into_iter().filter(|(attribute, _)| attribute == wanted) {
            found.push(Link { line: line_at(&seen, tag.at), target: value });
        }
    }
    found.sort_by_key(|link| link.line);
    found
}

/// The text a heading's Markdown shows (code spans' text kept, links' text kept and their
/// targets dropped, images, HTML tags and emphasis dropped), from which its id is made.
fn heading_text(markdown: &str) -> String {
    let chars: Vec<char> = markdown.chars().collect();
    let mut text = String::new();
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        match c {
            '\\' if chars.get(at + 1).is_some_and(char::is_ascii_punctuation) => {
                text.push(chars[at + 1]);
                at += 2;
            }
            '`' => {
                let run = backticks(&chars, at);
                match closing_backticks(&chars, at + run, run) {
                    Some(end) => {
                        let code: String = chars[at + run..end].iter().collect();
                        let strip =
                            code.len() >= 2 && code.starts_with(' ') && code.ends_with(' ') && !code.trim().is_empty();
                        text.push_str(if strip { &code[1..code.len() - 1] } else { &code });
                        at = end + run;
                    }
                    None => at += run,
                }
            }
            '!' if chars.get(at + 1) == Some(&'[') => match bracketed_link(&chars, at + 1) {
                Some((_, after)) => at = after,
                None => at += 1,
            },
            '[' => match bracketed_link(&chars, at) {
                Some((label_end, after)) => {
                    text.push_str(&heading_text(&chars[at + 1..label_end].iter().collect::<String>()));
                    at = after;
                }
                None => at += 1,
            },
            '<' if chars.get(at + 1).is_some_and(|next| next.is_ascii_alphabetic() || *next == '/') => {
                at = chars[at..].iter().position(|c| *c == '>').map_or(chars.len(), |end| at + end + 1);
            }
            '_' => {
                let run = chars[at..].iter().take_while(|c| **c == '_').count();
                let before = at.checked_sub(1).map(|i| chars[i]);
                let after = chars.get(at + run);
                if before.is_some_and(char::is_alphanumeric) && after.is_some_and(|c| c.is_alphanumeric()) {
                    text.extend(std::iter::repeat_n('_', run));
                }
                at += run;
            }
            _ => {
                text.push(c);
                at += 1;
            }
        }
    }
    text
}

/// For a `[` at `open` that starts a link (`[label](target)` or `[label][reference]`):
/// where its label ends (the `]`) and the index after the link.
fn bracketed_link(chars: &[char], open: usize) -> Option<(usize, usize)> {
    let matching = |from: usize, opening: char, closing: char| {
        let mut depth = 0;
        for (at, c) in chars.iter().enumerate().skip(from) {
            if *c == opening {
                depth += 1;
            } else if *c == closing {
                depth -= 1;
                if depth == 0 {
                    return Some(at);
                }
            }
        }
        None
    };
    let label_end = matching(open, '[', ']')?;
    match chars.get(label_end + 1) {
        Some('(') => Some((label_end, matching(label_end + 1, '(', ')')? + 1)),
        Some('[') => Some((label_end, matching(label_end + 1, '[', ']')? + 1)),
        _ => None,
    }
}

/// A heading's id as GitHub makes it from the heading's text: lower case, every character
/// that is not a letter, a digit, a space, `-` or `_` dropped, spaces made `-` (repeated
/// headings then get `-1`, `-2`, …: `anchors`).
fn slug(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Whether a line starts an item of a list (`-`, `*`, `+`, `1.`, `1)`).
fn list_item(line: &str) -> bool {
    let line = line.trim_start();
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    let rest = &line[digits..];
    let marker = if digits > 0 { rest.strip_prefix(['.', ')']) } else { rest.strip_prefix(['-', '*', '+']) };
    marker.is_some_and(|after| after.is_empty() || after.starts_with(char::is_whitespace))
}

/// The Markdown of a Markdown text's headings, in order: ATX (`## Heading`) and setext
/// (a line underlined with `===` or `---`), those in fenced code blocks aside.
fn headings(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let fenced = fenced_lines(text);
    let atx = |line: &str| -> Option<String> {
        let trimmed = line.trim_start();
        let level = trimmed.chars().take_while(|c| *c == '#').count();
        let rest = &trimmed[level..];
        if line.len() - trimmed.len() > 3 || !(1..=6).contains(&level) {
            return None;
        }
        if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
            return None;
        }
        let rest = rest.trim();
        let without_closing = rest.trim_end_matches('#');
        Some(
            if without_closing.is_empty() || without_closing.ends_with([' ', '\t']) { without_closing } else { rest }
                .trim()
                .to_owned(),
        )
    };
    let mut found = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if fenced[index] {
            continue;
        }
        if let Some(heading) = atx(line) {
            found.push(heading);
            continue;
        }
        let underline = line.trim();
        let indent = line.len() - line.trim_start().len();
        let is_underline = indent <= 3
            && !underline.is_empty()
            && (underline.chars().all(|c| c == '=') || underline.chars().all(|c| c == '-'));
        if !is_underline || index == 0 || fenced[index - 1] {
            continue;
        }
        let previous = lines[index - 1];
        let plain = previous.trim_start();
        let paragraph = !plain.is_empty()
            && previous.len() - plain.len() <= 3
            && atx(previous).is_none()
            && !list_item(previous)
            && !plain.starts_with(['|', '>', '<'])
            && !plain.chars().all(|c| matches!(c, '-' | '=' | '*' | '_' | ' '));
        if paragraph {
            found.push(plain.trim_end().to_owned());
        }
    }
    found
}

/// The ids a link's `#fragment` may name in a Markdown text: its headings' (as GitHub
/// makes them, repeats numbered) and those of its `<a id="…">` and `<a name="…">`.
fn anchors(text: &str) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut repeats: HashMap<String, usize> = HashMap::new();
    for heading in headings(text) {
        let id = slug(&heading_text(&heading));
        let seen = repeats.entry(id.clone()).or_insert(0);
        ids.insert(if *seen == 0 { id } else { format!("{id}-{seen}") });
        *seen += 1;
    }
    for tag in html_tags(&visible(text)) {
        if tag.name == "a" {
            ids.extend(
                tag.attributes.into_iter().filter(|(key, _)| key == "id" || key == "name").map(|(_, value)| value),
            );
        }
    }
    ids
}

/// Whether a link's target starts with a URL scheme (`https:`, `mailto:`, …).
fn has_scheme(target: &str) -> bool {
    let Some((scheme, _)) = target.split_once(':') else { return false };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
}

/// `text` with its `%XX` escapes decoded.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = bytes.get(at + 1..at + 3).and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match (bytes[at], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                at += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// `path` with its `.` and `..` resolved (without reading the disk); none when that
/// leaves `root`.
fn within(root: &Path, path: &Path) -> Option<PathBuf> {
    let mut resolved = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !resolved.pop() {
                    return None;
                }
            }
            other => resolved.push(other),
        }
    }
    resolved.starts_with(root).then_some(resolved)
}

/// Why a link of `file` to `target` is broken, if it is: its path is not in the
/// repository, a page of the guide (docs/) leads out of docs/ (the built book holds docs/
/// alone, so such a link is a dead end there: write the path as code instead), or its
/// fragment names no heading or anchor of the Markdown file it points to. Targets with a
/// scheme are not checked.
fn broken(root: &Path, file: &Path, target: &str, ids: &mut HashMap<PathBuf, HashSet<String>>) -> Option<String> {
    if has_scheme(target) || target.starts_with("//") {
        return None;
    }
    let (path, fragment) = target.split_once('#').unwrap_or((target, ""));
    let path = percent_decoded(path.split_once('?').map_or(path, |(path, _)| path));
    let resolved = if path.is_empty() {
        file.to_path_buf()
    } else {
        let joined = match path.strip_prefix('/') {
            Some(from_root) => root.join(from_root),
            None => file.parent().unwrap().join(&path),
        };
        let Some(resolved) = within(root, &joined) else { return Some("outside the repository".to_owned()) };
        resolved
    };
    if !resolved.exists() {
        return Some("no such file or directory".to_owned());
    }
    let docs = root.join("docs");
    if file.starts_with(&docs) && !resolved.starts_with(&docs) {
        return Some("leads out of the guide, which the built book does not hold: write the path as `code`".to_owned());
    }
    let fragment = percent_decoded(fragment);
    if fragment.is_empty() || !resolved.is_file() || resolved.extension().is_none_or(|ext| ext != "md") {
        return None;
    }
    let known = ids.entry(resolved.clone()).or_insert_with(|| anchors(&fs::read_to_string(&resolved).unwrap()));
    (!known.contains(&fragment))
        .then(|| format!("no heading or anchor with the id `{fragment}` in {}", shown(root, &resolved)))
}

/// Every broken link of `files`, as `file:line: target: why`.
fn broken_links(root: &Path, files: &[PathBuf]) -> Vec<String> {
    let mut ids = HashMap::new();
    let mut problems = Vec::new();
    for file in files {
        let text = fs::read_to_string(file).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        for link in links(&text) {
            if let Some(why) = broken(root, file, link.target.trim(), &mut ids) {
                problems.push(format!("{}:{}: {}: {why}", shown(root, file), link.line, link.target));
            }
        }
    }
    problems
}

/// What is wrong with docs/SUMMARY.md, the book's table of contents: a chapter it lists
/// that is not there (`mdbook build` fails), or a page under docs/ it leaves out (the book
/// would not have it).
fn summary_problems(root: &Path) -> Vec<String> {
    let docs = root.join("docs");
    let summary = docs.join("SUMMARY.md");
    let text = fs::read_to_string(&summary).unwrap();
    let mut listed = HashSet::new();
    let mut problems = Vec::new();
    for link in links(&text) {
        let path = link.target.split('#').next().unwrap_or("");
        if path.is_empty() || has_scheme(path) {
            continue; // `[A draft]()`: a chapter still to write, or a link out
        }
        match within(&docs, &docs.join(percent_decoded(path))) {
            Some(chapter) if chapter.is_file() => {
                listed.insert(chapter);
            }
            _ => problems.push(format!(
                "docs/SUMMARY.md:{}: {}: no such chapter under docs/ (mdbook build fails on it)",
                link.line, link.target
            )),
        }
    }
    for page in markdown_files(root).into_iter().filter(|page| page.starts_with(&docs) && *page != summary) {
        if !listed.contains(&page) {
            problems.push(format!("{}: not listed in docs/SUMMARY.md, so the book leaves it out", shown(root, &page)));
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------
// Running the runnable blocks.
// ---------------------------------------------------------------------------------------

/// A runnable block.
#[derive(Debug)]
struct Block {
    /// `file:line` of its opening fence.
    place: String,
    /// Its text, run by bash.
    script: String,
    /// The lines its output must show, in order (from its `<!-- output -->` block).
    expected: Vec<String>,
}

/// The lines of the fenced block opened at `lines[open]` (its indentation taken off) and
/// the index of its closing fence; none when it is not closed.
fn fenced_body(lines: &[&str], open: usize) -> Option<(String, usize)> {
    let (mark, length, _) = fence(lines[open])?;
    let indent = lines[open].len() - lines[open].trim_start().len();
    let close = (open + 1..lines.len()).find(|at| closes(lines[*at], mark, length))?;
    let body = lines[open + 1..close]
        .iter()
        .map(|line| {
            let strip = line.len() - line.trim_start().len();
            format!("{}\n", &line[strip.min(indent)..])
        })
        .collect();
    Some((body, close))
}

/// The index of the first line from `from` that is not blank.
fn next_filled(lines: &[&str], from: usize) -> usize {
    (from..lines.len()).find(|at| !lines[*at].trim().is_empty()).unwrap_or(lines.len())
}

/// The runnable blocks of a Markdown text shown as `file`, and the markers in it that
/// mark nothing (a marker followed by something else than a ```` ```sh ```` block, an
/// output marker without its ```` ```text ```` block).
fn runnable_blocks(file: &str, text: &str) -> (Vec<Block>, Vec<String>) {
    let lines: Vec<&str> = text.lines().collect();
    let fenced = fenced_lines(text);
    let (mut blocks, mut problems) = (Vec::new(), Vec::new());
    let mut consumed = HashSet::new();
    for (marker, line) in lines.iter().enumerate() {
        if fenced[marker] {
            continue;
        }
        // A marker mistyped would leave its block unrun and nothing would say so.
        let squeezed: String = line.trim().to_ascii_lowercase().chars().filter(|c| !c.is_whitespace()).collect();
        let near = |marker: &str| squeezed == marker.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        if line.trim() != RUNNABLE && line.trim() != OUTPUT && (near(RUNNABLE) || near(OUTPUT)) {
            problems.push(format!(
                "{file}:{}: `{}` is not written as `{RUNNABLE}` or `{OUTPUT}`",
                marker + 1,
                line.trim()
            ));
            continue;
        }
        if line.trim() != RUNNABLE {
            continue;
        }
        let open = next_filled(&lines, marker + 1);
        let Some((script, close)) =
            lines.get(open).filter(|line| line.trim() == "```sh").and_then(|_| fenced_body(&lines, open))
        else {
            problems.push(format!("{file}:{}: `{RUNNABLE}` is not followed by a closed ```sh block", marker + 1));
            continue;
        };
        let mut expected = Vec::new();
        let after = next_filled(&lines, close + 1);
        if lines.get(after).is_some_and(|line| line.trim() == OUTPUT) {
            consumed.insert(after);
            let open_text = next_filled(&lines, after + 1);
            match lines
                .get(open_text)
                .filter(|line| line.trim() == "```text")
                .and_then(|_| fenced_body(&lines, open_text))
            {
                Some((text, _)) => {
                    expected = text.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned).collect();
                    // A line of nothing but `…` would match any line: it asserts nothing.
                    if let Some(empty) = expected.iter().find(|line| line.replace('…', "").trim().is_empty()) {
                        problems.push(format!(
                            "{file}:{}: `{empty}` in `{OUTPUT}` matches any line: write what the output shows",
                            open_text + 1
                        ));
                    }
                }
                None => {
                    problems
                        .push(format!("{file}:{}: `{OUTPUT}` is not followed by a closed ```text block", after + 1));
                }
            }
        }
        blocks.push(Block { place: format!("{file}:{}", open + 1), script, expected });
    }
    for (at, line) in lines.iter().enumerate() {
        if !fenced[at] && line.trim() == OUTPUT && !consumed.contains(&at) {
            problems.push(format!("{file}:{}: `{OUTPUT}` follows no `{RUNNABLE}` block", at + 1));
        }
    }
    (blocks, problems)
}

/// The first of the `expected` lines that `output` does not show: each must be within a
/// line of the output after the one the line before it matched; `…` stands for anything
/// within that line.
fn first_missing<'a>(expected: &'a [String], output: &str) -> Option<&'a str> {
    let lines: Vec<&str> = output.lines().collect();
    let mut next = 0;
    for want in expected {
        let pieces: Vec<&str> = want.split('…').collect();
        let shows = |line: &&str| {
            let mut rest = *line;
            pieces.iter().all(|piece| match rest.find(piece) {
                Some(at) => {
                    rest = &rest[at + piece.len()..];
                    true
                }
                None => false,
            })
        };
        match lines[next..].iter().position(shows) {
            Some(at) => next += at + 1,
            None => return Some(want),
        }
    }
    None
}

/// The processes of the process group `group`, zombies aside, each as its pid and
/// command line (from Linux's /proc).
fn group_members(group: u32) -> Vec<String> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    let mut members = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else { continue };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else { continue };
        // pid (command) state ppid pgrp …, where the command may hold spaces and ')'.
        let Some((_, fields)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<&str> = fields.split_whitespace().collect();
        let alive = fields.first().is_some_and(|state| *state != "Z" && *state != "X");
        if alive && fields.get(2).and_then(|pgrp| pgrp.parse::<u32>().ok()) == Some(group) {
            let command = fs::read(entry.path().join("cmdline")).unwrap_or_default();
            members.push(format!("{pid} `{}`", String::from_utf8_lossy(&command).replace('\0', " ").trim()));
        }
    }
    members
}

/// Waits up to `limit` for the process group `group` to be empty; what is left of it.
fn group_after(group: u32, limit: Duration) -> Vec<String> {
    let deadline = Instant::now() + limit;
    loop {
        let members = group_members(group);
        if members.is_empty() || Instant::now() >= deadline {
            return members;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends SIGKILL to every process of the process group `group`.
fn kill_group(group: u32) {
    let _ = Command::new("bash")
        .args(["-c", r#"kill -KILL -- "-$0" 2>/dev/null || true"#, &group.to_string()])
        .stdin(Stdio::null())
        .status();
}

/// The last `count` lines of `output`.
fn tail(output: &str, count: usize) -> String {
    let lines: Vec<&str> = output.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// The PATH a block runs with: the `tenet` under test first, then this process's.
fn path_with_tenet() -> std::ffi::OsString {
    let bin = Path::new(env!("CARGO_BIN_EXE_tenet")).parent().unwrap();
    std::env::join_paths(
        std::iter::once(bin.to_path_buf()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap()
}

/// Runs a block as a new user would: `bash -euo pipefail` in an empty folder, `tenet` on
/// the PATH, no `TENET_*` variable set, its stderr with its stdout (in a file: a server
/// it leaves holding the output open cannot hang the read), in a process group of its
/// own, killed after `timeout`. What it leaves running is killed, and fails it. Says how
/// it failed, with its output.
/// `ip`, when this machine lets a test make a network namespace of its own (`unshare
/// --net --map-root-user`, then `ip link set lo up`); `None` where it cannot, and the
/// blocks then share the machine's loopback (said once on stderr).
fn isolated_network() -> Option<PathBuf> {
    static IP: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    IP.get_or_init(|| {
        let ip =
            ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].into_iter().map(PathBuf::from).find(|p| p.exists());
        let works = ip.as_ref().is_some_and(|ip| {
            Command::new("unshare")
                .args(["--net", "--map-root-user"])
                .arg(ip)
                .args(["link", "set", "lo", "up"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
        if !works {
            eprintln!(
                "guide: no network namespace here (unshare --net, ip): the blocks use this machine's loopback, \
                 and a port one of them binds must be free"
            );
        }
        ip.filter(|_| works)
    })
    .clone()
}

fn run_block(block: &Block, timeout: Duration) -> Result<(), String> {
    let folder = tempfile::tempdir().unwrap();
    let log_folder = tempfile::tempdir().unwrap();
    let log = log_folder.path().join("output");
    let output_file = fs::File::create(&log).unwrap();
    let home = log_folder.path().join("home");
    fs::create_dir_all(&home).unwrap();
    let mut bash = match isolated_network() {
        // A network of its own, where the block's fixed ports are free whatever else
        // listens on this machine's (and its servers reach nothing outside): `unshare`
        // runs bash in it once loopback is up.
        Some(ip) => {
            let mut unshare = Command::new("unshare");
            unshare
                .args(["--net", "--map-root-user", "bash", "-c"])
                .arg(format!("{} link set lo up && exec bash -euo pipefail -c \"$0\"", ip.display()));
            unshare.arg(&block.script);
            unshare
        }
        None => {
            let mut bash = Command::new("bash");
            bash.args(["-euo", "pipefail", "-c", &block.script]);
            bash
        }
    };
    // A new user's: no home of the tester's, so nothing kept from an earlier run (a
    // node's id under ~/.local/state) is found again.
    bash.current_dir(folder.path())
        .env("HOME", &home)
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("PATH", path_with_tenet())
        .stdin(Stdio::null())
        .stdout(output_file.try_clone().unwrap())
        .stderr(output_file)
        .process_group(0);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TENET_") {
            bash.env_remove(name);
        }
    }
    let mut child = bash.spawn().unwrap();
    let group = child.id();
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            kill_group(group);
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut why = match status {
        None => Some(format!("timed out after {} s (its processes were killed)", timeout.as_secs())),
        Some(status) if !status.success() => Some(format!("failed ({status})")),
        Some(_) => None,
    };
    let left = group_after(group, GRACE);
    if !left.is_empty() {
        kill_group(group);
        let still = group_after(group, Duration::from_secs(5));
        assert!(still.is_empty(), "the processes of the block at {} outlived SIGKILL: {still:?}", block.place);
        if status.is_some() {
            let running = format!(
                "left processes running; it should stop the servers it starts (they were killed): {}",
                left.join(", ")
            );
            why = Some(why.map_or(running.clone(), |why| format!("{why}, and {running}")));
        }
    }
    let output = String::from_utf8_lossy(&fs::read(&log).unwrap()).into_owned();
    if let Some(why) = why {
        return Err(format!(
            "the block at {} {why}; the last {TAIL_LINES} lines of its output:\n{}",
            block.place,
            tail(&output, TAIL_LINES)
        ));
    }
    match first_missing(&block.expected, &output) {
        Some(missing) => Err(format!(
            "the block at {}: its output does not show `{missing}` (after the lines before it in its {OUTPUT} block); \
             its output:\n{output}",
            block.place
        )),
        None => Ok(()),
    }
}

/// Runs the runnable blocks of `files` (shown relative to `root`) one after the other, in
/// the order of the files and within each file, each given `timeout`: how many ran, and
/// every failure (a misplaced marker among them).
fn run_blocks(root: &Path, files: &[PathBuf], timeout: Duration) -> (usize, Vec<String>) {
    let (mut ran, mut failures) = (0, Vec::new());
    for file in files {
        let text = fs::read_to_string(file).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        let (blocks, problems) = runnable_blocks(&shown(root, file), &text);
        failures.extend(problems);
        for block in blocks {
            let began = Instant::now();
            let result = run_block(&block, timeout);
            ran += 1;
            let verdict = if result.is_ok() { "passed" } else { "FAILED" };
            eprintln!("guide: the block at {} {verdict} in {:.1} s", block.place, began.elapsed().as_secs_f64());
            failures.extend(result.err());
        }
    }
    (ran, failures)
}

// ---------------------------------------------------------------------------------------
// The tests of the repository's own pages.
// ---------------------------------------------------------------------------------------

#[test]
fn every_relative_link_of_the_readme_contributing_and_the_guide_resolves() {
    let root = repo();
    let files = markdown_files(&root);
    let problems = broken_links(&root, &files);
    assert!(
        problems.is_empty(),
        "{} broken link(s) in README.md, CONTRIBUTING.md and docs/ (a path relative to the page's folder, a \
         #fragment a heading's id as GitHub makes it):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_books_table_of_contents_lists_every_chapter_and_only_those() {
    let problems = summary_problems(&repo());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_readme_stays_a_front_door() {
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= README_LINES,
        "README.md has {lines} lines, more than {README_LINES}: it is the front door (what Tenet is, the first \
         steps, one short recipe per job, links into the guide); new detail goes into the guide under docs/"
    );
}

#[test]
fn the_runnable_blocks_of_the_readme_and_the_guide_run() {
    let root = repo();
    let files: Vec<PathBuf> =
        markdown_files(&root).into_iter().filter(|file| *file != root.join("CONTRIBUTING.md")).collect();
    let (ran, failures) = run_blocks(&root, &files, BLOCK_TIMEOUT);
    assert!(
        ran > 0,
        "no block of README.md or docs/ is marked runnable (a line `{RUNNABLE}` before a ```sh block): is the marker \
         mistyped?\n{}",
        failures.join("\n")
    );
    assert!(
        failures.is_empty(),
        "{} problem(s) with the {ran} runnable block(s) of README.md and docs/:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

// ---------------------------------------------------------------------------------------
// The checker's own tests, on fixtures.
// ---------------------------------------------------------------------------------------

#[test]
fn headings_get_the_ids_github_gives_them() {
    let id = |heading: &str| slug(&heading_text(heading));
    assert_eq!(id("`tenet serve` options"), "tenet-serve-options");
    assert_eq!(id("One endpoint (gateway, in progress)"), "one-endpoint-gateway-in-progress");
    assert_eq!(
        id("One endpoint for all your MCP servers (gateway, in progress)"),
        "one-endpoint-for-all-your-mcp-servers-gateway-in-progress"
    );
    assert_eq!(id("What `scripts/test` runs"), "what-scriptstest-runs");
    assert_eq!(id("Operating: metrics, logs, traces"), "operating-metrics-logs-traces");
    assert_eq!(
        id("One-click install: the MCP Bundle, and the registry entry"),
        "one-click-install-the-mcp-bundle-and-the-registry-entry"
    );
    assert_eq!(id("C++ & Rust: 2024"), "c--rust-2024");
    assert_eq!(id("[The guide](docs/introduction.md) *in* short"), "the-guide-in-short");
    assert_eq!(id("snake_case, _emphasis_ and __strong__"), "snake_case-emphasis-and-strong");
    assert_eq!(id("`__init__` and \\_escaped"), "__init__-and-_escaped");
    assert_eq!(id("Héllo Wörld ![logo](logo.png) <sup>1</sup>"), "héllo-wörld--1");
}

#[test]
fn repeated_headings_are_numbered_and_code_and_explicit_anchors_count_as_they_should() {
    let text = "# Tenet\n\n## Usage\n\n```sh\n# Usage\n```\n\n## Usage ##\n\nSetext\n------\n\n- a list item\n---\n\n\
                ### Usage\n\n<a id=\"custom\"></a><a name='named'>x</a>\n";
    let ids = anchors(text);
    let mut sorted: Vec<&str> = ids.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    assert_eq!(sorted, ["custom", "named", "setext", "tenet", "usage", "usage-1", "usage-2"]);
}

#[test]
fn links_are_found_outside_code_only() {
    let text = "A [link](a.md#x) and ![an image](images/i.png \"title\"), [![badge](b.svg)](c.md).\n\
                `[not](code.md)` and ``[nor](this.md)``, <!-- [nor](comment.md) -->\n\
                \n\
                ```sh\n[in](fence.md)\n```\n\
                A code span over `two\n[lines](span.md)` and [<angled>](<with space.md>) and [p](f(x).md).\n\
                \n\
                [reference]: ref.md#y \"title\"\n\
                [^note]: a footnote, not a link\n\
                <a href=\"html.md\">x</a> <img alt=\"y\" src='img.png'> <a id=\"anchor\"></a>\n";
    let links = links(text);
    let found: Vec<(usize, &str)> = links.iter().map(|link| (link.line, link.target.as_str())).collect();
    assert_eq!(
        found,
        [
            (1, "a.md#x"),
            (1, "images/i.png"),
            (1, "b.svg"),
            (1, "c.md"),
            (8, "with space.md"),
            (8, "f(x).md"),
            (10, "ref.md#y"),
            (12, "html.md"),
            (12, "img.png"),
        ]
    );
}

#[test]
fn the_link_checker_reports_every_broken_link_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    fs::create_dir_all(root.join("docs/images")).unwrap();
    fs::write(root.join("docs/images/a.png"), "").unwrap();
    fs::write(root.join("docs/other.md"), "# Other page\n\n## `tenet serve` options\n\n## Twice\n\n## Twice\n")
        .unwrap();
    fs::write(root.join("README.md"), "# Readme\n").unwrap();
    let page = root.join("docs/page.md");
    fs::write(
        &page,
        "# The page\n\
         [fine](other.md#tenet-serve-options) [fine](other.md#twice-1) [fine](#the-page) [fine](../docs/)\n\
         [fine](images/a.png) [fine](https://example.invalid/x.md#nowhere) [fine](mailto:a@b.invalid) [fine]()\n\
         [fine](/docs/other.md#other-page) [fine](other.md?plain=1#twice)\n\
         [broken](missing.md) [broken](other.md#twice-2) [broken](#nowhere)\n\
         ![broken](images/b.png) [broken](../../outside.md) [broken](../README.md)\n\
         `[ignored](missing.md)`\n\
         \n\
         [broken]: other.md#Other-Page\n",
    )
    .unwrap();
    let problems = broken_links(&root, &[page]);
    assert_eq!(
        problems,
        [
            "docs/page.md:5: missing.md: no such file or directory",
            "docs/page.md:5: other.md#twice-2: no heading or anchor with the id `twice-2` in docs/other.md",
            "docs/page.md:5: #nowhere: no heading or anchor with the id `nowhere` in docs/page.md",
            "docs/page.md:6: images/b.png: no such file or directory",
            "docs/page.md:6: ../../outside.md: outside the repository",
            "docs/page.md:6: ../README.md: leads out of the guide, which the built book does not hold: write the path as `code`",
            "docs/page.md:9: other.md#Other-Page: no heading or anchor with the id `Other-Page` in docs/other.md",
        ]
    );
}

#[test]
fn a_mistyped_marker_an_orphan_output_and_an_output_line_that_matches_anything_are_reported() {
    let text = "<!--runnable-->\n```sh\necho hi\n```\n\n<!-- Output -->\n\n```sh\necho unmarked\n```\n\n\
                <!-- output -->\n```text\nhi\n```\n\n<!-- runnable -->\n```sh\necho hi\n```\n<!-- output -->\n\
                ```text\nhi\n …  \n```\n";
    let (blocks, problems) = runnable_blocks("x.md", text);
    assert_eq!(blocks.len(), 1, "{problems:?}");
    assert_eq!(
        problems,
        [
            "x.md:1: `<!--runnable-->` is not written as `<!-- runnable -->` or `<!-- output -->`",
            "x.md:6: `<!-- Output -->` is not written as `<!-- runnable -->` or `<!-- output -->`",
            "x.md:22: `…` in `<!-- output -->` matches any line: write what the output shows",
            "x.md:12: `<!-- output -->` follows no `<!-- runnable -->` block",
        ]
    );
}

#[test]
fn markers_are_read_outside_code_only_and_a_misplaced_one_is_reported() {
    let text = "````md\n<!-- runnable -->\n```sh\nshown, not run\n```\n````\n\n<!-- runnable -->\n```sh\n  echo hi\n```\n\
                <!-- output -->\n\nprose\n\n- A list item:\n\n  <!-- runnable -->\n  ```sh\n  echo indented\n    echo more\n  ```\n";
    let (blocks, problems) = runnable_blocks("x.md", text);
    let found: Vec<(&str, &str, usize)> =
        blocks.iter().map(|block| (block.place.as_str(), block.script.as_str(), block.expected.len())).collect();
    assert_eq!(found, [("x.md:9", "  echo hi\n", 0), ("x.md:19", "echo indented\n  echo more\n", 0)]);
    assert_eq!(problems, ["x.md:12: `<!-- output -->` is not followed by a closed ```text block"]);
}

#[test]
fn expected_output_lines_match_in_order_each_within_one_line() {
    let expected = |lines: &[&str]| lines.iter().map(|line| (*line).to_owned()).collect::<Vec<_>>();
    let output = "tenet 0.1.0 (commit abc)\nfirst: 1\nsecond: 2\n";
    assert_eq!(first_missing(&expected(&["tenet …", "second: …"]), output), None);
    assert_eq!(first_missing(&expected(&["first…1", "second"]), output), None);
    assert_eq!(first_missing(&expected(&["second", "first"]), output), Some("first"));
    assert_eq!(first_missing(&expected(&["first…2"]), output), Some("first…2"), "a wildcard stays within a line");
    assert_eq!(first_missing(&expected(&["first", "first"]), output), Some("first"), "one output line, one match");
}

#[test]
fn the_runner_runs_marked_blocks_checks_their_output_and_stops_what_they_leave_running() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let doc = root.join("fixture.md");
    let fixture = "# A fixture\n\
                   \n\
                   <!-- runnable -->\n\
                   ```sh\n\
                   tenet --version\n\
                   echo 'to stderr' >&2\n\
                   printf 'one\\ntwo three four\\n'\n\
                   test -z \"$(ls -A)\" && echo 'an empty folder'\n\
                   ```\n\
                   \n\
                   <!-- output -->\n\
                   ```text\n\
                   tenet …\n\
                   to stderr\n\
                   \n\
                   two … four\n\
                   an empty folder\n\
                   ```\n\
                   \n\
                   Not marked, so never run:\n\
                   \n\
                   ```sh\n\
                   exit 1\n\
                   ```\n\
                   \n\
                   <!-- runnable -->\n\
                   \n\
                   ```sh\n\
                   echo 'before the failure'\n\
                   false\n\
                   echo 'not reached'\n\
                   ```\n\
                   \n\
                   <!-- runnable -->\n\
                   ```sh\n\
                   echo 'the first line'\n\
                   echo 'the second line'\n\
                   ```\n\
                   <!-- output -->\n\
                   ```text\n\
                   the second line\n\
                   the first line\n\
                   ```\n\
                   \n\
                   <!-- runnable -->\n\
                   ```sh\n\
                   sleep 987.25 &\n\
                   echo 'a server started'\n\
                   ```\n\
                   \n\
                   <!-- runnable -->\n\
                   ```sh\n\
                   echo 'waiting'\n\
                   sleep 986.25\n\
                   ```\n\
                   \n\
                   <!-- runnable -->\n\
                   ```bash\n\
                   echo 'not sh'\n\
                   ```\n";
    fs::write(&doc, fixture).unwrap();
    let began = Instant::now();
    let (ran, failures) = run_blocks(&root, &[doc], Duration::from_secs(2));
    assert!(began.elapsed() < Duration::from_secs(30), "the runner took {:?}", began.elapsed());
    assert_eq!(ran, 5, "{failures:#?}");
    // Whether `failure` names `place` (and not a line number that merely starts the same).
    let names = |failure: &str, place: &str| {
        failure
            .match_indices(place)
            .any(|(at, _)| !failure[at + place.len()..].starts_with(|c: char| c.is_ascii_digit()))
    };
    let failure = |place: &str| {
        let found: Vec<&String> = failures.iter().filter(|failure| names(failure, place)).collect();
        assert_eq!(found.len(), 1, "one failure names {place}: {failures:#?}");
        found[0].clone()
    };
    assert!(!failures.iter().any(|failure| names(failure, "fixture.md:4")), "the first block passes: {failures:#?}");
    let failed = failure("fixture.md:28");
    assert!(failed.contains("failed (exit status: 1)") && failed.contains("before the failure"), "{failed}");
    assert!(!failed.contains("not reached"), "bash -e stops at the failing command: {failed}");
    let unordered = failure("fixture.md:35");
    assert!(unordered.contains("does not show `the first line`"), "{unordered}");
    assert!(unordered.contains("the first line\nthe second line"), "the whole output is shown: {unordered}");
    let left = failure("fixture.md:46");
    assert!(left.contains("left processes running") && left.contains("sleep 987.25"), "{left}");
    let slow = failure("fixture.md:52");
    assert!(slow.contains("timed out after 2 s") && slow.contains("waiting"), "{slow}");
    let marker = failure("fixture.md:57");
    assert!(marker.contains("is not followed by a closed ```sh block"), "{marker}");
    assert_eq!(failures.len(), 5, "{failures:#?}");
    let survivors: Vec<String> = fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| fs::read(entry.path().join("cmdline")).ok())
        .map(|command| String::from_utf8_lossy(&command).replace('\0', " "))
        .filter(|command| command.contains("987.25") || command.contains("986.25"))
        .collect();
    assert!(survivors.is_empty(), "the runner killed what the blocks left: {survivors:?}");
}
