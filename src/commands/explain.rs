//! `errdocs explain CODE`: one code's page in the terminal, like
//! `rustc --explain`: the facts from the front matter, then the body with
//! headings, lists, quotes and code blocks laid out as text. Colour (ANSI)
//! only when asked for, which the CLI does on a terminal without `NO_COLOR`.

use std::collections::HashMap;

use pulldown_cmark::{BlockQuoteKind, Event, HeadingLevel, Parser, Tag, TagEnd};

use crate::load::config::SiteConfig;
use crate::load::content::{Content, ErrorPage};
use crate::render::status_text;
use crate::terminal::escape as esc;

/// How `explain` found (or did not find) the code asked for.
#[derive(Debug)]
pub enum Lookup<'a> {
    /// The code's page; `via` is the former code (alias) or differently
    /// cased spelling that was asked for, if it was not the code itself.
    Found {
        /// The page.
        page: &'a ErrorPage,
        /// What was asked for, when it differs from the code.
        via: Option<String>,
    },
    /// No such code; the closest codes, best first (maybe none).
    Unknown(Vec<String>),
}

/// Finds `code` among the pages: exactly, ignoring case, or as an alias.
pub fn lookup<'a>(content: &'a Content, code: &str) -> Lookup<'a> {
    if let Some(page) = content.error(code) {
        return Lookup::Found { page, via: None };
    }
    let lower = code.to_lowercase();
    for page in &content.errors {
        let m = &page.meta;
        if m.code.to_lowercase() == lower || m.aliases.iter().any(|a| a.to_lowercase() == lower) {
            return Lookup::Found {
                page,
                via: Some(code.to_string()),
            };
        }
    }
    Lookup::Unknown(closest(content, &lower))
}

/// Up to three codes (or aliases' codes) closest to `lower`.
fn closest(content: &Content, lower: &str) -> Vec<String> {
    let mut scored: Vec<(f64, &str)> = content
        .errors
        .iter()
        .flat_map(|p| {
            std::iter::once(p.meta.code.as_str())
                .chain(p.meta.aliases.iter().map(String::as_str))
                .map(move |name| (name, p.meta.code.as_str()))
        })
        .map(|(name, code)| {
            let name = name.to_lowercase();
            let mut score = strsim::jaro_winkler(lower, &name);
            if !lower.is_empty() && (name.contains(lower) || lower.contains(&name)) {
                score = score.max(0.9);
            }
            (score, code)
        })
        .filter(|(score, _)| *score >= 0.75)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let mut out: Vec<String> = Vec::new();
    for (_, code) in scored {
        if !out.iter().any(|c| c == code) {
            out.push(code.to_string());
        }
        if out.len() == 3 {
            break;
        }
    }
    out
}

/// Terminal styles, or nothing when colour is off.
#[derive(Clone, Copy)]
struct Style {
    color: bool,
}

impl Style {
    /// `text` in the SGR style `code` (`1` bold, `33` yellow, …).
    fn wrap(&self, code: &str, text: &str) -> String {
        format!("{}{text}{}", self.on(code), self.off())
    }

    /// The escape that starts the SGR style `code`.
    fn on(&self, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m")
        } else {
            String::new()
        }
    }

    /// The escape that ends any style.
    fn off(&self) -> &'static str {
        if self.color {
            "\x1b[0m"
        } else {
            ""
        }
    }
}

/// The visible width of `s`, skipping ANSI escape sequences.
fn visible_width(s: &str) -> usize {
    let mut width = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match c {
            '\x1b' => in_escape = true,
            'm' if in_escape => in_escape = false,
            _ if in_escape => {}
            _ => width += 1,
        }
    }
    width
}

/// `text` wrapped at `width` columns; the first line starts with `first`,
/// the others with `rest` (both counted in the width).
fn wrap(text: &str, width: usize, first: &str, rest: &str) -> String {
    let mut out = String::new();
    for (i, para_line) in text.split('\n').enumerate() {
        let mut line = String::from(if i == 0 { first } else { rest });
        let mut line_width = visible_width(&line);
        let indent_width = line_width;
        for word in para_line.split(' ').filter(|w| !w.is_empty()) {
            let w = visible_width(word);
            if line_width > indent_width && line_width + 1 + w > width {
                out.push_str(line.trim_end());
                out.push('\n');
                line = rest.to_string();
                line_width = visible_width(rest);
            } else if line_width > indent_width {
                line.push(' ');
                line_width += 1;
            }
            line.push_str(word);
            line_width += w;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Drops HTML tags, keeping the text between them.
fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

struct Writer<'a> {
    style: Style,
    width: usize,
    out: String,
    /// Inline text of the block being read.
    inline: String,
    /// Prefix of quote levels (`│ `).
    quote: String,
    /// One entry per open list: the next number, or none for bullets.
    lists: Vec<Option<u64>>,
    /// Set after a callout's label, whose first paragraph follows directly.
    after_label: bool,
    /// Prefix of the first line of the current list item.
    item_first: Option<String>,
    code: Option<String>,
    link_dest: Vec<String>,
    table_row: Vec<String>,
    content_path: &'a str,
    config: &'a SiteConfig,
    links: &'a HashMap<String, String>,
}

impl Writer<'_> {
    fn blank(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    /// The width of a list's items' indent: a bullet and a space, or a
    /// number, a dot and a space.
    fn list_indent(list: &Option<u64>) -> usize {
        if list.is_some() {
            3
        } else {
            2
        }
    }

    fn indent(&self) -> String {
        let width: usize = self.lists.iter().map(Self::list_indent).sum();
        format!("{}{}", self.quote, " ".repeat(width))
    }

    /// Ends the block of inline text read so far.
    fn flush(&mut self) {
        let text = std::mem::take(&mut self.inline);
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let rest = self.indent();
        let first = self.item_first.take().unwrap_or_else(|| rest.clone());
        let wrapped = wrap(text, self.width, &first, &rest);
        self.out.push_str(&wrapped);
    }

    fn event(&mut self, event: Event<'_>) {
        let s = self.style;
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                self.flush();
                self.blank();
                if !s.color {
                    let hashes = match level {
                        HeadingLevel::H1 => "#",
                        HeadingLevel::H2 => "##",
                        HeadingLevel::H3 => "###",
                        _ => "####",
                    };
                    self.inline.push_str(hashes);
                    self.inline.push(' ');
                } else if level <= HeadingLevel::H2 {
                    self.inline.push_str(&s.on("1;36"));
                } else {
                    self.inline.push_str(&s.on("1"));
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                self.inline.push_str(s.off());
                self.flush();
                self.out.push('\n');
            }
            Event::Start(Tag::Paragraph)
                if self.item_first.is_none() && !std::mem::take(&mut self.after_label) =>
            {
                self.blank();
            }
            Event::End(TagEnd::Paragraph) => self.flush(),
            Event::Start(Tag::BlockQuote(kind)) => {
                self.flush();
                self.blank();
                self.quote
                    .push_str(if s.color { "\x1b[2m│\x1b[0m " } else { "> " });
                if let Some(kind) = kind {
                    let label = match kind {
                        BlockQuoteKind::Note => "Note",
                        BlockQuoteKind::Tip => "Tip",
                        BlockQuoteKind::Important => "Important",
                        BlockQuoteKind::Warning => "Warning",
                        BlockQuoteKind::Caution => "Caution",
                    };
                    let line = format!("{}{}\n", self.quote, s.wrap("1", label));
                    self.out.push_str(&line);
                    self.after_label = true;
                }
            }
            Event::End(TagEnd::BlockQuote(_)) => {
                self.flush();
                let len = self.quote.rfind(['│', '>']).unwrap_or(0);
                let start = if s.color {
                    self.quote[..len].rfind("\x1b[2m").unwrap_or(0)
                } else {
                    len
                };
                self.quote.truncate(start);
                self.blank();
            }
            Event::Start(Tag::List(start)) => {
                self.flush();
                if self.lists.is_empty() {
                    self.blank();
                }
                self.lists.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                self.flush();
                self.lists.pop();
                if self.lists.is_empty() {
                    self.blank();
                }
            }
            Event::Start(Tag::Item) => {
                self.flush();
                let outer: usize = self.lists[..self.lists.len().saturating_sub(1)]
                    .iter()
                    .map(Self::list_indent)
                    .sum();
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let m = format!("{n}. ");
                        *n += 1;
                        m
                    }
                    _ => (if s.color { "• " } else { "- " }).to_string(),
                };
                self.item_first = Some(format!("{}{}{marker}", self.quote, " ".repeat(outer)));
            }
            Event::End(TagEnd::Item) => self.flush(),
            Event::TaskListMarker(done) => {
                self.inline.push_str(if done { "[x] " } else { "[ ] " });
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                self.flush();
                self.blank();
                if let pulldown_cmark::CodeBlockKind::Fenced(info) = kind {
                    let (lang, title) = crate::markdown::parse_info(&esc(&info));
                    let label = match (title, lang.is_empty()) {
                        (Some(t), false) => format!("{t} ({lang})"),
                        (Some(t), true) => t,
                        (None, false) => lang,
                        (None, true) => String::new(),
                    };
                    if !label.is_empty() {
                        let line = format!("{}    {}\n", self.indent(), s.wrap("2", &label));
                        self.out.push_str(&line);
                    }
                }
                self.code = Some(String::new());
            }
            Event::End(TagEnd::CodeBlock) => {
                let code = self.code.take().unwrap_or_default();
                let indent = self.indent();
                for line in code.trim_end_matches('\n').split('\n') {
                    let line = esc(line.trim_end_matches('\r'));
                    let text = format!("{indent}    {}", s.wrap("33", &line));
                    self.out.push_str(text.trim_end());
                    self.out.push('\n');
                }
                self.blank();
            }
            // Code keeps its line endings until it is laid out, line by line.
            Event::Text(t) => match &mut self.code {
                Some(code) => code.push_str(&t),
                None => self.inline.push_str(&esc(&t)),
            },
            Event::Code(t) => {
                let t = esc(&t);
                if s.color {
                    self.inline.push_str(&s.wrap("33", &t));
                } else {
                    self.inline.push('`');
                    self.inline.push_str(&t);
                    self.inline.push('`');
                }
            }
            Event::Start(Tag::Emphasis) => self.inline.push_str(&s.on("3")),
            Event::Start(Tag::Strong) => self.inline.push_str(&s.on("1")),
            Event::End(TagEnd::Emphasis | TagEnd::Strong) => self.inline.push_str(s.off()),
            Event::Start(Tag::Link { dest_url, .. }) => {
                let dest = crate::export::absolute_link(
                    &dest_url,
                    self.content_path,
                    self.config,
                    self.links,
                )
                .unwrap_or_else(|| dest_url.to_string());
                self.link_dest.push(esc(&dest).into_owned());
                self.inline.push_str(&s.on("4"));
            }
            Event::End(TagEnd::Link) => {
                self.inline.push_str(s.off());
                if let Some(dest) = self.link_dest.pop() {
                    self.inline.push_str(&format!(" ({dest})"));
                }
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                self.inline.push_str("[image: ");
                self.link_dest.push(esc(&dest_url).into_owned());
            }
            Event::End(TagEnd::Image) => {
                let dest = self.link_dest.pop().unwrap_or_default();
                self.inline.push_str(&format!("] ({dest})"));
            }
            Event::SoftBreak => self.inline.push(' '),
            Event::HardBreak => self.inline.push('\n'),
            Event::Rule => {
                self.flush();
                self.blank();
                let line = format!("{}{}\n", self.indent(), "─".repeat(20));
                self.out.push_str(&line);
                self.blank();
            }
            Event::Html(html) | Event::InlineHtml(html) => {
                let html = esc(&html);
                // `<summary>` opens a disclosure: its text reads as a heading.
                let lower = html.to_lowercase();
                if lower.contains("<summary") {
                    self.flush();
                    self.blank();
                    self.inline.push_str(&s.on("1"));
                    self.inline.push_str(strip_tags(&html).trim());
                    self.inline.push_str(s.off());
                    if lower.contains("</summary>") {
                        self.flush();
                    }
                } else if lower.contains("</summary>") {
                    self.inline.push_str(strip_tags(&html).trim());
                    self.inline.push_str(s.off());
                    self.flush();
                } else {
                    let text = strip_tags(&html);
                    if !text.trim().is_empty() {
                        self.inline.push_str(text.trim());
                        self.inline.push(' ');
                    }
                }
            }
            Event::FootnoteReference(name) => {
                self.inline.push_str(&format!("[^{}]", esc(&name)));
            }
            Event::Start(Tag::FootnoteDefinition(name)) => {
                self.flush();
                self.blank();
                self.inline.push_str(&format!("[^{}]: ", esc(&name)));
            }
            Event::Start(Tag::Table(_)) => {
                self.flush();
                self.blank();
            }
            Event::End(TagEnd::TableCell) => {
                let cell = std::mem::take(&mut self.inline);
                self.table_row.push(cell.trim().to_string());
            }
            Event::End(TagEnd::TableHead | TagEnd::TableRow) => {
                let row = std::mem::take(&mut self.table_row).join(" │ ");
                let line = format!("{}{row}\n", self.indent());
                self.out.push_str(&line);
            }
            Event::End(TagEnd::Table) => self.blank(),
            _ => {}
        }
    }
}

/// The terminal text of one code: its facts, then its body, wrapped at
/// `width` columns, with ANSI styles when `color` is set. Control
/// characters of the content are shown as escapes
/// ([`crate::terminal::escape`]): only these styles reach the terminal.
pub fn render(
    page: &ErrorPage,
    content: &Content,
    config: &SiteConfig,
    color: bool,
    width: usize,
) -> String {
    let s = Style { color };
    let m = &page.meta;
    let width = width.clamp(40, 200);
    let mut out = String::new();
    out.push_str(&format!(
        "{}: {}\n",
        s.wrap("1;36", &esc(&m.code)),
        s.wrap("1", &esc(&m.title))
    ));
    let mut facts = vec![match status_text(m.status) {
        "" => format!("HTTP {}", m.status),
        reason => format!("HTTP {} {reason}", m.status),
    }];
    facts.push(esc(&m.category).into_owned());
    if let Some(scope) = &m.scope {
        facts.push(esc(scope).into_owned());
    }
    out.push_str(&wrap(&facts.join(" · "), width, "", ""));
    let mut badges = Vec::new();
    match m.retryable {
        Some(true) => badges.push(s.wrap("32", "Retryable")),
        Some(false) => badges.push("Not retryable".to_string()),
        None => {}
    }
    if let Some(since) = &m.since {
        badges.push(format!("Since {}", esc(since)));
    }
    if m.deprecated.is_deprecated() {
        badges.push(s.wrap("1;33", "Deprecated"));
    }
    if let Some(r) = &m.replaced_by {
        badges.push(format!("Replaced by {}", s.wrap("1", &esc(r))));
    }
    if !badges.is_empty() {
        out.push_str(&badges.join(" · "));
        out.push('\n');
    }
    if let Some(msg) = m.deprecated.message() {
        out.push('\n');
        out.push_str(&wrap(
            &format!("{} {}", s.wrap("1;33", "Deprecated:"), esc(msg)),
            width,
            "",
            "",
        ));
    }
    out.push('\n');
    out.push_str(&wrap(&esc(&m.summary), width, "", ""));
    let links = content.link_map(config);
    let mut w = Writer {
        style: s,
        width,
        out,
        inline: String::new(),
        quote: String::new(),
        lists: Vec::new(),
        after_label: false,
        item_first: None,
        code: None,
        link_dest: Vec::new(),
        table_row: Vec::new(),
        content_path: &page.source.content_path,
        config,
        links: &links,
    };
    w.blank();
    for event in Parser::new_ext(page.source.body(), crate::markdown::options()) {
        w.event(event);
    }
    w.flush();
    let mut out = w.out;
    while out.ends_with("\n\n") {
        out.pop();
    }
    out.push('\n');
    if !m.related.is_empty() {
        out.push_str(&format!(
            "{} {}\n",
            s.wrap("1", "Related:"),
            esc(&m.related.join(", "))
        ));
    }
    if !m.aliases.is_empty() {
        out.push_str(&format!(
            "{} {}\n",
            s.wrap("1", "Formerly:"),
            esc(&m.aliases.join(", "))
        ));
    }
    out.push_str(&format!(
        "{} {}\n",
        s.wrap("1", "Online:"),
        esc(&config.absolute_url(&config.error_rel(&m.code)))
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_by_visible_width() {
        let text = "\x1b[1mbold\x1b[0m words that go on and on";
        let out = wrap(text, 14, "- ", "  ");
        assert_eq!(out, "- \x1b[1mbold\x1b[0m words\n  that go on\n  and on\n");
    }

    #[test]
    fn content_cannot_send_escapes_to_the_terminal() {
        // Control characters in the body are warnings, so they reach
        // `explain`; in front matter they are errors, set here directly as
        // a page that skipped the checks would carry them.
        let text = "---\ncode: evil\ntitle: Evil\nstatus: 400\ncategory: A\nsummary: s\n---\n\n# Head \u{1b}[5m\n\n`\u{7f}` and [l](https://x.test/\u{9b})\n";
        let mut page = crate::load::content::parse_error_file(
            "content/errors/evil.md".into(),
            "errors/evil.md".into(),
            text.as_bytes(),
        )
        .unwrap();
        page.meta.title = "Evil\u{1b}]0;pwned\u{7}".into();
        page.meta.category = "A\u{1b}[2J".into();
        page.meta.scope = Some("\u{9b}1m".into());
        let content = Content {
            errors: vec![page],
            ..Content::default()
        };
        let config = SiteConfig::default();
        for color in [false, true] {
            let out = render(&content.errors[0], &content, &config, color, 80);
            let theirs: String = out
                .replace("\x1b[0m", "")
                .split('\x1b')
                .skip(1)
                .filter(|rest| {
                    // Only errdocs' own styles: `ESC [ digits;digits m`.
                    let end = rest.find('m').unwrap_or(rest.len());
                    !(rest.starts_with('[')
                        && rest[1..end].chars().all(|c| c.is_ascii_digit() || c == ';'))
                })
                .collect();
            assert_eq!(theirs, "", "{out:?}");
            assert!(!out.contains(['\x07', '\x7f', '\u{9b}']), "{out:?}");
            assert!(out.contains("Evil\\u{1b}]0;pwned\\u{7}"), "{out}");
            assert!(out.contains("A\\u{1b}[2J"), "{out}");
            assert!(out.contains("\\u{9b}1m"), "{out}");
            assert!(out.contains("Head \\u{1b}[5m"), "{out}");
            assert!(out.contains("\\u{7f}"), "{out}");
        }
    }

    #[test]
    fn strips_tags() {
        assert_eq!(
            strip_tags("<summary>Learn <b>more</b></summary>"),
            "Learn more"
        );
    }
}
