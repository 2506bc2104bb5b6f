//! Markdown bodies to HTML: sections with permalinks, audience cards,
//! callouts, highlighted code and tab groups, and links between pages.
//!
//! pulldown-cmark parses the body; this module rewrites its event stream
//! and records what the checks need (headings, local links, problems).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::ops::Range;

use pulldown_cmark::{
    BlockQuoteKind, CodeBlockKind, CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag,
    TagEnd,
};

use crate::config::SiteConfig;
use crate::content::{resolve_relative, SourceFile};
use crate::diagnostic::{Diagnostic, Severity};
use crate::highlight::{self, escape_html};

/// Ids the page templates use; headings never take them.
pub const RESERVED_IDS: &[&str] = &[
    "main-content",
    "site-header",
    "site-search",
    "site-nav",
    "page-toc",
    "related-codes",
    "browse-categories",
    "top",
];

/// The Markdown dialect: CommonMark with GitHub's extensions.
pub fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM
}

/// What a page expects of its ```json example responses.
#[derive(Debug, Clone)]
pub struct ResponseExpectation<'a> {
    /// The page's code, for `response.code_pointer`.
    pub code: &'a str,
    /// The page's accepted absolute URLs, for `response.doc_url_pointer`.
    pub doc_urls: Vec<String>,
}

/// What rendering needs besides the page itself.
#[derive(Debug, Clone)]
pub struct RenderContext<'a> {
    /// Site settings.
    pub config: &'a SiteConfig,
    /// Content path (`errors/auth/x.md`) to site-relative URL.
    pub links: &'a HashMap<String, String>,
    /// Highlight code (off for `check`, which only needs the problems).
    pub highlight: bool,
    /// The checks on example responses, for error pages.
    pub response: Option<ResponseExpectation<'a>>,
    /// Drop a leading `#` heading (it became the page title).
    pub skip_leading_h1: bool,
    /// `response.schema`, which example responses of code pages must match.
    pub schema: Option<&'a jsonschema::Validator>,
    /// Highlighted blocks of earlier builds.
    pub highlight_cache: Option<&'a highlight::HighlightCache>,
}

/// A heading of the page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Heading {
    /// 1–6.
    pub level: u8,
    /// The unique id.
    pub id: String,
    /// Plain text.
    pub text: String,
}

/// A link to a page in `content/`, checked once all pages are rendered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LocalLink {
    /// The target's content path.
    pub target: String,
    /// The heading id after `#`, if any.
    pub fragment: Option<String>,
    /// Byte offset of the link in the body.
    pub offset: usize,
}

/// A rendered body.
#[derive(Debug, Clone, Default)]
pub struct RenderedBody {
    /// The HTML.
    pub html: String,
    /// Every heading, in order.
    pub headings: Vec<Heading>,
    /// Links to other content pages (and to own headings).
    pub links: Vec<LocalLink>,
    /// Problems found while rendering.
    pub diagnostics: Vec<Diagnostic>,
    /// Ids of the audiences that have a card, in order.
    pub audiences: Vec<String>,
    /// Fenced code blocks, in order.
    pub code_blocks: Vec<CodeBlock>,
    /// A code page's example response: its first ```json block under a
    /// heading that names an example response, else its first ```json
    /// block, parsed (what `export --format openapi` shows).
    pub example: Option<serde_json::Value>,
}

/// One fenced code block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBlock {
    /// Language from the info string (may be empty).
    pub lang: String,
    /// `title="…"` from the info string.
    pub title: Option<String>,
    /// The code.
    pub code: String,
    /// Byte offset of the code's first line in the body.
    pub offset: usize,
    /// Byte offset of the opening fence (where the language is written).
    pub fence_offset: usize,
}

/// GitHub's heading anchors: lower case, punctuation dropped, spaces to `-`.
pub fn slugify(text: &str) -> String {
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

/// Ids in use on one page, with the next suffix to try for each base, so
/// that many equal headings stay linear.
struct IdSet {
    used: HashSet<String>,
    next: HashMap<String, usize>,
}

impl IdSet {
    fn new() -> Self {
        IdSet {
            used: RESERVED_IDS.iter().map(|s| s.to_string()).collect(),
            next: HashMap::new(),
        }
    }

    fn unique(&mut self, base: &str) -> String {
        let base = if base.is_empty() { "section" } else { base };
        let mut id = base.to_string();
        if self.used.contains(&id) {
            let n = self.next.entry(base.to_string()).or_insert(1);
            loop {
                id = format!("{base}-{n}");
                *n += 1;
                if !self.used.contains(&id) {
                    break;
                }
            }
        }
        self.used.insert(id.clone());
        id
    }
}

/// Parses a fenced block's info string: `python title="Handler"`.
pub fn parse_info(info: &str) -> (String, Option<String>) {
    let info = info.trim();
    let (lang, rest) = match info.find(char::is_whitespace) {
        Some(i) => (&info[..i], info[i..].trim_start()),
        None => (info, ""),
    };
    let lang = lang.trim_matches(|c| c == '{' || c == '}').to_string();
    let mut title = None;
    let mut rest = rest;
    while let Some(i) = rest.find("title=") {
        let after = &rest[i + "title=".len()..];
        let quote = after.chars().next();
        match quote {
            Some(q @ ('"' | '\'')) => {
                let body = &after[1..];
                let end = body.find(q).unwrap_or(body.len());
                title = Some(body[..end].to_string());
                rest = body.get(end + 1..).unwrap_or("");
            }
            _ => {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                title = Some(after[..end].to_string());
                rest = &after[end..];
            }
        }
    }
    (lang, title.filter(|t| !t.trim().is_empty()))
}

#[derive(PartialEq, Eq)]
enum Section {
    None,
    Plain,
    Card { titled: bool },
}

struct Renderer<'a, 'c> {
    source: &'a SourceFile,
    ctx: &'a RenderContext<'c>,
    out: Vec<Event<'a>>,
    ids: IdSet,
    section: Section,
    in_card_group: bool,
    /// Where the open audience card's heading is, and its label.
    card: Option<(usize, String)>,
    groups: usize,
    result: RenderedBody,
    /// Whether `result.example` is a block under an example-response heading.
    example_named: bool,
}

/// Renders the body of `source`.
pub fn render(source: &SourceFile, ctx: &RenderContext<'_>) -> RenderedBody {
    let body = source.body();
    let events: Vec<(Event<'_>, Range<usize>)> = Parser::new_ext(body, options())
        .into_offset_iter()
        .collect();
    let mut r = Renderer {
        source,
        ctx,
        out: Vec::with_capacity(events.len() + 16),
        ids: IdSet::new(),
        section: Section::None,
        in_card_group: false,
        card: None,
        groups: 0,
        result: RenderedBody::default(),
        example_named: false,
    };
    r.run(events);
    r.result
}

fn html<'a>(s: String) -> Event<'a> {
    Event::Html(CowStr::from(s))
}

impl<'a> Renderer<'a, '_> {
    fn run(&mut self, events: Vec<(Event<'a>, Range<usize>)>) {
        let mut depth = 0usize;
        let mut i = 0;
        let mut first_block = true;
        while i < events.len() {
            let (ev, range) = &events[i];
            match ev {
                Event::Start(Tag::Heading { level, .. }) => {
                    let end = find_end(&events, i);
                    let level = *level;
                    let inner = &events[i + 1..end];
                    let skip = first_block && level == HeadingLevel::H1 && self.ctx.skip_leading_h1;
                    if !skip {
                        self.heading(level, inner, depth == 0, range.start);
                    }
                    i = end + 1;
                    first_block = false;
                    continue;
                }
                Event::Start(Tag::CodeBlock(_)) => {
                    i = self.code_group(&events, i);
                    first_block = false;
                    continue;
                }
                Event::Start(Tag::BlockQuote(Some(kind))) => {
                    depth += 1;
                    let (class, label) = alert_kind(*kind);
                    self.out.push(html(format!(
                        "<div class=\"callout callout-{class}\" role=\"note\">\n<p class=\"callout-title\">{label}</p>\n"
                    )));
                }
                Event::End(TagEnd::BlockQuote(Some(_))) => {
                    depth -= 1;
                    self.out.push(html("</div>\n".into()));
                }
                Event::Start(Tag::Table(_)) => {
                    depth += 1;
                    self.out.push(html("<div class=\"table-wrap\">\n".into()));
                    self.out.push(ev.clone());
                }
                Event::End(TagEnd::Table) => {
                    depth -= 1;
                    self.out.push(ev.clone());
                    self.out.push(html("</div>\n".into()));
                }
                Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                }) => {
                    depth += 1;
                    let dest = self.link(*link_type, dest_url, range.start);
                    self.out.push(Event::Start(Tag::Link {
                        link_type: *link_type,
                        dest_url: dest,
                        title: title.clone(),
                        id: id.clone(),
                    }));
                }
                Event::Start(_) => {
                    depth += 1;
                    self.out.push(ev.clone());
                }
                Event::End(_) => {
                    depth = depth.saturating_sub(1);
                    self.out.push(ev.clone());
                }
                _ => self.out.push(ev.clone()),
            }
            if depth == 0 {
                first_block = false;
            }
            i += 1;
        }
        self.close_section(false);
        let mut html_out = String::with_capacity(self.source.body().len() * 2);
        pulldown_cmark::html::push_html(&mut html_out, self.out.drain(..));
        self.result.html = html_out;
    }

    fn close_section(&mut self, next_is_card: bool) {
        if self.section == (Section::Card { titled: false }) {
            if let Some((offset, label)) = self.card.take() {
                self.result.diagnostics.push(self.source.warning_at(
                    offset,
                    "audience-card",
                    format!(
                        "the \"{label}\" card has no `###` title; add one, e.g. `### Quick fix`"
                    ),
                ));
            }
        }
        if self.section != Section::None {
            self.out.push(html("</section>\n".into()));
        }
        if self.in_card_group && !next_is_card {
            self.out.push(html("</div>\n".into()));
            self.in_card_group = false;
        }
        self.section = Section::None;
    }

    fn heading(
        &mut self,
        level: HeadingLevel,
        inner: &[(Event<'a>, Range<usize>)],
        top: bool,
        offset: usize,
    ) {
        let mut text = String::new();
        for (e, _) in inner {
            match e {
                Event::Text(t) | Event::Code(t) => text.push_str(t),
                Event::SoftBreak | Event::HardBreak => text.push(' '),
                _ => {}
            }
        }
        let mut inner_html = String::new();
        pulldown_cmark::html::push_html(&mut inner_html, inner.iter().map(|(e, _)| e.clone()));
        let slug = slugify(&text);
        let id = self.ids.unique(&slug);
        if !slug.is_empty() && id != slug && !RESERVED_IDS.contains(&slug.as_str()) {
            self.result.diagnostics.push(self.source.warning_at(
                offset,
                "duplicate-heading",
                format!("another heading on this page already has the id `{slug}`; this one gets `{id}`, and links to `#{slug}` go to the first"),
            ));
        }
        let n = level as u8;
        let permalink = format!(
            "<a class=\"permalink\" href=\"#{id}\" aria-label=\"Link to this section: {}\">#</a>",
            escape_html(text.trim())
        );
        let mut class = "";
        if top && level == HeadingLevel::H2 {
            let audience = self.ctx.config.audience_for(&text).cloned();
            self.close_section(audience.is_some());
            match audience {
                Some(a) => {
                    if !self.in_card_group {
                        self.out
                            .push(html("<div class=\"audience-cards\">\n".into()));
                        self.in_card_group = true;
                    }
                    self.out.push(html(format!(
                        "<section class=\"audience-card\" data-audience=\"{}\" aria-labelledby=\"{id}\">\n",
                        escape_html(&a.id)
                    )));
                    self.section = Section::Card { titled: false };
                    self.card = Some((offset, a.label.clone()));
                    self.result.audiences.push(a.id);
                    class = " class=\"card-eyebrow\"";
                }
                None => {
                    self.out.push(html(format!(
                        "<section class=\"doc-section\" aria-labelledby=\"{id}\">\n"
                    )));
                    self.section = Section::Plain;
                }
            }
        } else if top
            && level == HeadingLevel::H3
            && self.section == (Section::Card { titled: false })
        {
            self.section = Section::Card { titled: true };
            class = " class=\"card-title\"";
        }
        self.out.push(html(format!(
            "<h{n} id=\"{id}\"{class}>{inner_html} {permalink}</h{n}>\n"
        )));
        self.result.headings.push(Heading {
            level: n,
            id,
            text: text.trim().to_string(),
        });
    }

    /// Renders the code block at `start` and any fenced blocks right after
    /// it as one group; returns the index after the group.
    fn code_group(&mut self, events: &[(Event<'a>, Range<usize>)], start: usize) -> usize {
        let mut blocks = Vec::new();
        let mut i = start;
        while let (Event::Start(Tag::CodeBlock(kind)), range) = &events[i] {
            let end = find_end(events, i);
            let mut code = String::new();
            let mut offset = None;
            for (e, r) in &events[i + 1..end] {
                if let Event::Text(t) = e {
                    offset.get_or_insert(r.start);
                    code.push_str(t);
                }
            }
            let fenced = matches!(kind, CodeBlockKind::Fenced(_));
            let (lang, title) = match kind {
                CodeBlockKind::Fenced(info) => parse_info(info),
                CodeBlockKind::Indented => (String::new(), None),
            };
            let offset = offset.unwrap_or(range.start);
            let block = CodeBlock {
                lang,
                title,
                code,
                offset,
                fence_offset: range.start,
            };
            self.check_code(&block);
            blocks.push(block);
            i = end + 1;
            let next_fenced = matches!(
                events.get(i),
                Some((Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_))), _))
            );
            if !(fenced && next_fenced) {
                break;
            }
        }
        let out = self.group_html(&blocks);
        self.out.push(html(out));
        self.result.code_blocks.extend(blocks);
        i
    }

    fn block_html(&self, b: &CodeBlock) -> String {
        let label = highlight::language_label(&b.lang);
        let title = b.title.clone().unwrap_or_else(|| label.clone());
        let code = if self.ctx.highlight {
            let (light, dark) = (
                &self.ctx.config.highlight.light,
                &self.ctx.config.highlight.dark,
            );
            match self.ctx.highlight_cache {
                Some(cache) => cache.highlight(&b.code, &b.lang, light, dark),
                None => highlight::highlight(&b.code, &b.lang, light, dark),
            }
        } else {
            escape_html(&b.code)
        };
        let lang_badge = if b.title.is_some() && !b.lang.is_empty() {
            format!("<span class=\"code-lang\">{}</span>", escape_html(&label))
        } else {
            String::new()
        };
        let lang_class = if b.lang.is_empty() {
            String::new()
        } else {
            format!(" class=\"language-{}\"", escape_html(&b.lang))
        };
        format!(
            "<figure class=\"code-block\" data-lang=\"{}\">\n<figcaption class=\"code-head\"><span class=\"code-title\">{}</span>{lang_badge}<button type=\"button\" class=\"wrap-button\" aria-pressed=\"false\" hidden>Wrap</button><button type=\"button\" class=\"copy-button\" hidden>Copy</button></figcaption>\n<pre class=\"hl-code\" tabindex=\"0\"><code{lang_class}>{code}</code></pre>\n</figure>\n",
            escape_html(&b.lang),
            escape_html(&title),
        )
    }

    fn group_html(&mut self, blocks: &[CodeBlock]) -> String {
        if blocks.len() == 1 {
            return self.block_html(&blocks[0]);
        }
        self.groups += 1;
        let g = self.groups;
        let labels: Vec<String> = blocks
            .iter()
            .map(|b| highlight::language_label(&b.lang))
            .collect();
        let mut out = String::from("<div class=\"code-group\" data-code-group>\n<div class=\"code-tabs\" role=\"tablist\" aria-label=\"Code examples\" hidden>\n");
        let mut panels = String::new();
        for (n, b) in blocks.iter().enumerate() {
            let tab_id = self.ids.unique(&format!("code-{g}-{n}"));
            let panel_id = self.ids.unique(&format!("{tab_id}-panel"));
            let repeated = labels.iter().filter(|l| **l == labels[n]).count() > 1;
            let label = match (&b.title, repeated) {
                (Some(t), true) => t.clone(),
                _ => labels[n].clone(),
            };
            let selected = n == 0;
            let _ = writeln!(
                out,
                "<button type=\"button\" role=\"tab\" id=\"{tab_id}\" aria-controls=\"{panel_id}\" aria-selected=\"{selected}\" tabindex=\"{}\" data-lang=\"{}\">{}</button>",
                if selected { 0 } else { -1 },
                escape_html(&b.lang),
                escape_html(&label)
            );
            // The panel wraps the figure: a figure with a caption keeps its own role.
            panels.push_str(&format!(
                "<div class=\"code-panel\" role=\"tabpanel\" id=\"{panel_id}\" aria-labelledby=\"{tab_id}\">\n"
            ));
            panels.push_str(&self.block_html(b));
            panels.push_str("</div>\n");
        }
        out.push_str("</div>\n");
        out.push_str(&panels);
        out.push_str("</div>\n");
        out
    }

    fn check_code(&mut self, b: &CodeBlock) {
        if b.lang != "json" {
            return;
        }
        let value: serde_json::Value = match serde_json::from_str(&b.code) {
            Ok(v) => v,
            Err(e) => {
                let (line, col) = self.code_position(b, e.line(), e.column());
                let msg = e.to_string();
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
                self.result.diagnostics.push(self.source.diagnostic(
                    Severity::Error,
                    line,
                    col,
                    "json",
                    format!("this ```json block does not parse: {msg} (use ```jsonc or ```text for fragments)"),
                ));
                return;
            }
        };
        let Some(expect) = &self.ctx.response else {
            return;
        };
        let under_example = self
            .result
            .headings
            .iter()
            .rev()
            .find(|h| h.level <= 3)
            .is_some_and(|h| {
                let h = h.text.to_lowercase();
                h.contains("example") && h.contains("response")
            });
        if under_example && !self.example_named {
            self.example_named = true;
            self.result.example = Some(value.clone());
        } else if self.result.example.is_none() {
            self.result.example = Some(value.clone());
        }
        let cfg = &self.ctx.config.response;
        if let Some(ptr) = cfg.code_pointer.as_deref().filter(|p| !p.is_empty()) {
            if let Some(serde_json::Value::String(found)) = value.pointer(ptr) {
                if found != expect.code {
                    let (line, col) = self.pointer_position(b, ptr);
                    self.result.diagnostics.push(self.source.diagnostic(
                        Severity::Error,
                        line,
                        col,
                        "response-code",
                        format!(
                            "the example response names `{found}` at {ptr}, but this page is `{}`",
                            expect.code
                        ),
                    ));
                }
            }
        }
        if let Some(schema) = self.ctx.schema {
            for err in schema.iter_errors(&value) {
                let path = err.instance_path().as_str().to_string();
                let (line, col) = if path.is_empty() {
                    self.code_position(b, 1, 1)
                } else {
                    self.pointer_position(b, &path)
                };
                let at = if path.is_empty() {
                    "/".to_string()
                } else {
                    path
                };
                self.result.diagnostics.push(self.source.diagnostic(
                    Severity::Error,
                    line,
                    col,
                    "response-schema",
                    format!("the example response does not match response.schema at {at}: {err}"),
                ));
            }
        }
        if let Some(ptr) = cfg.doc_url_pointer.as_deref().filter(|p| !p.is_empty()) {
            if let Some(serde_json::Value::String(found)) = value.pointer(ptr) {
                if !expect.doc_urls.iter().any(|u| u == found) {
                    let (line, col) = self.pointer_position(b, ptr);
                    self.result.diagnostics.push(self.source.diagnostic(
                        Severity::Error,
                        line,
                        col,
                        "response-doc-url",
                        format!(
                            "the example response links to `{found}` at {ptr}, but this page is at `{}`",
                            expect.doc_urls.first().map(String::as_str).unwrap_or("")
                        ),
                    ));
                }
            }
        }
    }

    /// The file position of 1-based `line`:`col` inside a code block.
    fn code_position(&self, b: &CodeBlock, line: usize, col: usize) -> (usize, usize) {
        let (first_line, _) = self.source.body_position(b.offset);
        let file_line = first_line + line.saturating_sub(1);
        // Code inside a list is indented in the file but not in the block.
        let code_line = b.code.split('\n').nth(line.saturating_sub(1)).unwrap_or("");
        let shift = crate::diagnostic::nth_line(&self.source.text, file_line)
            .and_then(|l| {
                if code_line.is_empty() {
                    None
                } else {
                    l.find(code_line).map(|i| l[..i].chars().count())
                }
            })
            .unwrap_or(0);
        (file_line, col.max(1) + shift)
    }

    /// Where the key of the pointer's last segment stands in a block.
    fn pointer_position(&self, b: &CodeBlock, ptr: &str) -> (usize, usize) {
        let key = ptr
            .rsplit('/')
            .next()
            .unwrap_or("")
            .replace("~1", "/")
            .replace("~0", "~");
        let needle = format!("\"{key}\"");
        for (n, l) in b.code.split('\n').enumerate() {
            if let Some(i) = l.find(&needle) {
                return self.code_position(b, n + 1, l[..i].chars().count() + 1);
            }
        }
        self.code_position(b, 1, 1)
    }

    /// Rewrites a relative `.md` link to the page's URL and records it.
    fn link(&mut self, kind: LinkType, dest: &CowStr<'a>, offset: usize) -> CowStr<'a> {
        if matches!(kind, LinkType::Autolink | LinkType::Email) {
            return dest.clone();
        }
        let d = dest.as_ref();
        if let Some(frag) = d.strip_prefix('#') {
            self.result.links.push(LocalLink {
                target: self.source.content_path.clone(),
                fragment: Some(percent_decode(frag)),
                offset,
            });
            return dest.clone();
        }
        // A root-relative link means the site's root, wherever it is deployed.
        if d.starts_with('/') && !d.starts_with("//") {
            let base = &self.ctx.config.base_path;
            if base != "/" && !d.starts_with(base.as_str()) {
                return CowStr::from(self.ctx.config.url(d));
            }
            return dest.clone();
        }
        let is_external = is_external(d);
        let (path, fragment) = match d.split_once('#') {
            Some((p, f)) => (p, Some(f)),
            None => (d, None),
        };
        if is_external || !path.to_ascii_lowercase().ends_with(".md") {
            return dest.clone();
        }
        let decoded = percent_decode(path);
        let Some(target) = resolve_relative(&self.source.content_path, &decoded) else {
            self.result.diagnostics.push(self.source.error_at(
                offset,
                "broken-link",
                format!("link to `{path}` leaves the content folder"),
            ));
            return dest.clone();
        };
        match self.ctx.links.get(&target) {
            Some(rel) => {
                self.result.links.push(LocalLink {
                    target,
                    fragment: fragment.map(percent_decode),
                    offset,
                });
                let mut url = self.ctx.config.url(rel);
                if let Some(f) = fragment {
                    url.push('#');
                    url.push_str(f);
                }
                CowStr::from(url)
            }
            None => {
                let hint =
                    crate::yaml::did_you_mean(&target, self.ctx.links.keys().map(String::as_str))
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                self.result.diagnostics.push(self.source.error_at(
                    offset,
                    "broken-link",
                    format!("link to `{path}`: there is no page content/{target}{hint}"),
                ));
                dest.clone()
            }
        }
    }
}

fn find_end(events: &[(Event<'_>, Range<usize>)], start: usize) -> usize {
    let mut depth = 0usize;
    for (i, (e, _)) in events.iter().enumerate().skip(start) {
        match e {
            Event::Start(_) => depth += 1,
            Event::End(_) => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    events.len() - 1
}

fn alert_kind(kind: BlockQuoteKind) -> (&'static str, &'static str) {
    match kind {
        BlockQuoteKind::Note => ("note", "Note"),
        BlockQuoteKind::Tip => ("tip", "Tip"),
        BlockQuoteKind::Important => ("important", "Important"),
        BlockQuoteKind::Warning => ("warning", "Warning"),
        BlockQuoteKind::Caution => ("caution", "Caution"),
    }
}

/// Decodes `%XX` escapes; anything malformed is kept as written.
/// True for a link that leaves the site: `//host/…` or one with a scheme
/// (`https:`, `mailto:`).
pub(crate) fn is_external(dest: &str) -> bool {
    dest.starts_with("//")
        || dest.split_once(':').is_some_and(|(scheme, _)| {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        })
}

pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::LineIndex;

    fn source(body: &str) -> SourceFile {
        SourceFile {
            shown: "content/errors/a.md".into(),
            content_path: "errors/a.md".into(),
            lines: LineIndex::new(body),
            body_start: 0,
            text: body.into(),
        }
    }

    fn render_body(body: &str) -> RenderedBody {
        let config = SiteConfig::default();
        let mut links = HashMap::new();
        links.insert("errors/b.md".to_string(), "reference/errors/b/".to_string());
        let ctx = RenderContext {
            config: &config,
            links: &links,
            highlight: true,
            response: Some(ResponseExpectation {
                code: "a",
                doc_urls: vec!["https://x.test/reference/errors/a".into()],
            }),
            skip_leading_h1: false,
            schema: None,
            highlight_cache: None,
        };
        render(&source(body), &ctx)
    }

    #[test]
    fn slugs_like_github() {
        assert_eq!(slugify("What this means"), "what-this-means");
        assert_eq!(slugify("Don't retry: 429s!"), "dont-retry-429s");
        assert_eq!(slugify("Über Café"), "über-café");
    }

    #[test]
    fn info_string_title() {
        assert_eq!(
            parse_info("python title=\"Production handler\""),
            ("python".into(), Some("Production handler".into()))
        );
        assert_eq!(parse_info("go"), ("go".into(), None));
        assert_eq!(
            parse_info("js title='x y' other"),
            ("js".into(), Some("x y".into()))
        );
    }

    #[test]
    fn sections_and_unique_ids() {
        let r = render_body("## Intro\ntext\n## Intro\nmore\n## Main content\n");
        let ids: Vec<_> = r.headings.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["intro", "intro-1", "main-content-1"]);
        assert_eq!(r.html.matches("<section class=\"doc-section\"").count(), 3);
        assert_eq!(r.html.matches("</section>").count(), 3);
    }

    #[test]
    fn audience_cards_grouped() {
        let r = render_body("## New to APIs\n### Quick fix\n1. a\n## production ENGINEER\n### Recovery\nx\n## Avoid\n");
        assert_eq!(r.audiences, ["new-to-apis", "production-engineer"]);
        assert_eq!(r.html.matches("<div class=\"audience-cards\">").count(), 1);
        assert!(r
            .html
            .contains("<h3 id=\"quick-fix\" class=\"card-title\">"));
        let group_end = r
            .html
            .find("</div>\n<section class=\"doc-section\"")
            .unwrap();
        assert!(group_end > r.html.find("Recovery").unwrap());
    }

    #[test]
    fn consecutive_fences_form_a_group() {
        let r = render_body("```python title=\"H\"\nx = 1\n```\n\n```js\nlet x;\n```\n\n```go\nx\n```\n\ntext\n\n```go\ny\n```\n");
        assert_eq!(r.html.matches("data-code-group").count(), 1);
        assert_eq!(r.html.matches("role=\"tab\"").count(), 3);
        assert_eq!(r.html.matches("<figure").count(), 4);
    }

    #[test]
    fn json_errors_have_file_positions() {
        let r = render_body("text\n\n```json\n{\n  \"a\": 1,,\n}\n```\n");
        let d = &r.diagnostics[0];
        assert_eq!((d.line, d.rule), (5, "json"));
        assert_eq!(d.column, 10);
    }

    #[test]
    fn response_pointers_checked() {
        let r = render_body("```json\n{\"error\": \"b\",\n \"doc_url\": \"https://x.test/reference/errors/a\"}\n```\n");
        assert_eq!(r.diagnostics.len(), 1);
        assert_eq!(r.diagnostics[0].rule, "response-code");
        assert_eq!(r.diagnostics[0].line, 2);
        let r = render_body(
            "```json\n{\"error\": \"a\",\n \"doc_url\": \"https://x.test/wrong\"}\n```\n",
        );
        assert_eq!(r.diagnostics[0].rule, "response-doc-url");
        assert_eq!((r.diagnostics[0].line, r.diagnostics[0].column), (3, 2));
    }

    #[test]
    fn md_links_rewritten_and_checked() {
        let r = render_body("See [b](b.md#retry) and [c](c.md) and [x](https://e.test/a.md).\n");
        assert!(
            r.html.contains("href=\"/reference/errors/b/#retry\""),
            "{}",
            r.html
        );
        assert!(r.html.contains("href=\"https://e.test/a.md\""));
        assert_eq!(r.diagnostics.len(), 1);
        assert_eq!((r.diagnostics[0].line, r.diagnostics[0].column), (1, 25));
        assert_eq!(r.links[0].fragment.as_deref(), Some("retry"));
    }

    #[test]
    fn alerts_become_callouts() {
        let r = render_body("> [!TIP]\n> The gotcha.\n");
        assert!(
            r.html
                .contains("<div class=\"callout callout-tip\" role=\"note\">"),
            "{}",
            r.html
        );
        assert!(!r.html.contains("blockquote"));
    }

    #[test]
    fn details_pass_through() {
        let r = render_body("<details><summary>Learn more</summary>\n\nInside.\n\n</details>\n");
        assert!(r.html.contains("<details><summary>Learn more</summary>"));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b.md"), "a b.md");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
