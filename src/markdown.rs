//! Markdown bodies to HTML: sections with permalinks, audience cards,
//! callouts, highlighted code and tab groups, and links between pages.
//!
//! pulldown-cmark parses the body; this module rewrites its event stream
//! and records what the checks need (headings, local links, problems).

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::ops::Range;

use pulldown_cmark::{
    BlockQuoteKind, CodeBlockKind, CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag,
    TagEnd,
};

use crate::diagnostic::{Diagnostic, Severity, Unlisted};
use crate::highlight::{self, escape_html};
use crate::load::config::{SiteConfig, UnsafeHtml};
use crate::load::content::{resolve_relative, SourceFile};

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
    /// The content paths of `links`, for the hint of a broken link.
    pub link_names: &'a crate::diagnostic::NameIndex,
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

/// The parser's events with their source ranges, one at a time.
type Events<'a> = std::iter::Peekable<pulldown_cmark::OffsetIter<'a>>;

struct Renderer<'a, 'c> {
    source: &'a SourceFile,
    ctx: &'a RenderContext<'c>,
    /// Events still to come from the parser. The body is rendered as it is
    /// parsed, so that memory stays a small multiple of the body's size.
    events: Events<'a>,
    /// Rewritten events ready for the HTML writer.
    queue: VecDeque<Event<'a>>,
    /// How many blocks and inlines are open.
    depth: usize,
    /// No block has ended yet (a leading `#` heading may be dropped).
    first_block: bool,
    /// The parser is done and the last section closed.
    finished: bool,
    /// For each open link or image: whether its tags are left out.
    stripped: Vec<bool>,
    /// Problems past the per-rule limit, counted.
    unlisted: Unlisted,
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
    let mut r = Renderer {
        source,
        ctx,
        events: Parser::new_ext(body, options())
            .into_offset_iter()
            .peekable(),
        queue: VecDeque::new(),
        depth: 0,
        first_block: true,
        finished: false,
        stripped: Vec::new(),
        unlisted: Unlisted::default(),
        ids: IdSet::new(),
        section: Section::None,
        in_card_group: false,
        card: None,
        groups: 0,
        result: RenderedBody::default(),
        example_named: false,
    };
    r.file_checks();
    let mut html_out = String::with_capacity(body.len() + body.len() / 2);
    pulldown_cmark::html::push_html(&mut html_out, std::iter::from_fn(|| r.next_event()));
    r.result.html = replace_controls(html_out);
    let summaries: Vec<_> = r
        .unlisted
        .summaries(|severity, at, rule, msg| source.diagnostic_at(severity, at, rule, msg))
        .collect();
    r.result.diagnostics.extend(summaries);
    r.result
}

fn html<'a>(s: String) -> Event<'a> {
    Event::Html(CowStr::from(s))
}

impl<'a> Renderer<'a, '_> {
    /// The next event for the HTML writer.
    fn next_event(&mut self) -> Option<Event<'a>> {
        loop {
            if let Some(e) = self.queue.pop_front() {
                return Some(e);
            }
            match self.events.next() {
                Some((ev, range)) => self.step(ev, range),
                None if !self.finished => {
                    self.finished = true;
                    self.close_section(false);
                }
                None => return None,
            }
        }
    }

    /// The events after an opening tag up to its closing tag, which is
    /// consumed too.
    fn take_to_end(&mut self) -> Vec<(Event<'a>, Range<usize>)> {
        let mut depth = 1usize;
        let mut inner = Vec::new();
        for (e, r) in self.events.by_ref() {
            match &e {
                Event::Start(_) => depth += 1,
                Event::End(_) => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            inner.push((e, r));
        }
        inner
    }

    /// Rewrites one event of the parser into the queue.
    fn step(&mut self, ev: Event<'a>, range: Range<usize>) {
        match ev {
            Event::Start(Tag::Heading { level, .. }) => {
                let inner = self.take_to_end();
                let inner = self.guard_inline(inner);
                let skip =
                    self.first_block && level == HeadingLevel::H1 && self.ctx.skip_leading_h1;
                if !skip {
                    self.heading(level, &inner, self.depth == 0, range.start);
                }
                self.first_block = false;
                return;
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                self.code_group(kind, range);
                self.first_block = false;
                return;
            }
            Event::Start(Tag::BlockQuote(Some(kind))) => {
                self.depth += 1;
                let (class, label) = alert_kind(kind);
                self.queue.push_back(html(format!(
                    "<div class=\"callout callout-{class}\" role=\"note\">\n<p class=\"callout-title\">{label}</p>\n"
                )));
            }
            Event::End(TagEnd::BlockQuote(Some(_))) => {
                self.depth = self.depth.saturating_sub(1);
                self.queue.push_back(html("</div>\n".into()));
            }
            Event::Start(Tag::Table(_)) => {
                self.depth += 1;
                self.queue
                    .push_back(html("<div class=\"table-wrap\">\n".into()));
                self.queue.push_back(ev);
            }
            Event::End(TagEnd::Table) => {
                self.depth = self.depth.saturating_sub(1);
                self.queue.push_back(ev);
                self.queue.push_back(html("</div>\n".into()));
            }
            Event::Start(Tag::HtmlBlock) => {
                let inner = self.take_to_end();
                let block = self.guard_html_block(inner);
                self.queue.push_back(Event::Start(Tag::HtmlBlock));
                self.queue.push_back(Event::Html(block));
                self.queue.push_back(Event::End(TagEnd::HtmlBlock));
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                self.depth += 1;
                if self.guard_url(&dest_url, range.start, "link") {
                    self.stripped.push(true);
                } else {
                    self.stripped.push(false);
                    let dest = self.link(link_type, &dest_url, range.start);
                    self.queue.push_back(Event::Start(Tag::Link {
                        link_type,
                        dest_url: dest,
                        title,
                        id,
                    }));
                }
            }
            Event::Start(Tag::Image { ref dest_url, .. }) => {
                self.depth += 1;
                let strip = self.guard_url(dest_url, range.start, "image");
                self.stripped.push(strip);
                if !strip {
                    self.queue.push_back(ev);
                }
            }
            Event::End(TagEnd::Link | TagEnd::Image) => {
                self.depth = self.depth.saturating_sub(1);
                if !self.stripped.pop().unwrap_or(false) {
                    self.queue.push_back(ev);
                }
            }
            Event::InlineHtml(raw) | Event::Html(raw) => {
                let guarded = self.guard_html(raw, &[(0, range.start)]);
                self.queue.push_back(Event::InlineHtml(guarded));
            }
            Event::Start(_) => {
                self.depth += 1;
                self.queue.push_back(ev);
            }
            Event::End(_) => {
                self.depth = self.depth.saturating_sub(1);
                self.queue.push_back(ev);
            }
            _ => self.queue.push_back(ev),
        }
        if self.depth == 0 {
            self.first_block = false;
        }
    }

    /// Checks (and with `unsafe_html: strip`, removes) unsafe links, images
    /// and raw HTML among the inline events of a heading.
    fn guard_inline(
        &mut self,
        inner: Vec<(Event<'a>, Range<usize>)>,
    ) -> Vec<(Event<'a>, Range<usize>)> {
        let mut out = Vec::with_capacity(inner.len());
        let mut stripped = Vec::new();
        for (e, r) in inner {
            match e {
                Event::Start(Tag::Link { ref dest_url, .. }) => {
                    let strip = self.guard_url(dest_url, r.start, "link");
                    stripped.push(strip);
                    if !strip {
                        out.push((e, r));
                    }
                }
                Event::Start(Tag::Image { ref dest_url, .. }) => {
                    let strip = self.guard_url(dest_url, r.start, "image");
                    stripped.push(strip);
                    if !strip {
                        out.push((e, r));
                    }
                }
                Event::End(TagEnd::Link | TagEnd::Image) => {
                    if !stripped.pop().unwrap_or(false) {
                        out.push((e, r));
                    }
                }
                Event::InlineHtml(raw) => {
                    let guarded = self.guard_html(raw, &[(0, r.start)]);
                    out.push((Event::InlineHtml(guarded), r));
                }
                _ => out.push((e, r)),
            }
        }
        out
    }

    /// The raw HTML of a block, in one piece, checked.
    fn guard_html_block(&mut self, inner: Vec<(Event<'a>, Range<usize>)>) -> CowStr<'a> {
        let mut text = String::new();
        // Where each piece starts in `text` and in the body: the pieces
        // are lines, without the markers of the containers around them.
        let mut pieces = Vec::new();
        for (e, r) in &inner {
            if let Event::Html(t) | Event::Text(t) = e {
                pieces.push((text.len(), r.start));
                text.push_str(t);
            }
        }
        self.guard_html(CowStr::from(text), &pieces)
    }
}

impl<'a> Renderer<'a, '_> {
    fn close_section(&mut self, next_is_card: bool) {
        if self.section == (Section::Card { titled: false }) {
            if let Some((offset, label)) = self.card.take() {
                self.report(Severity::Warning, offset, "audience-card", || {
                    format!(
                        "the \"{label}\" card has no `###` title; add one, e.g. `### Quick fix`"
                    )
                });
            }
        }
        if self.section != Section::None {
            self.queue.push_back(html("</section>\n".into()));
        }
        if self.in_card_group && !next_is_card {
            self.queue.push_back(html("</div>\n".into()));
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
            self.report(Severity::Warning, offset, "duplicate-heading", || {
                format!("another heading on this page already has the id `{slug}`; this one gets `{id}`, and links to `#{slug}` go to the first")
            });
        }
        let n = level as u8;
        let mut class = "";
        if top && level == HeadingLevel::H2 {
            let audience = self.ctx.config.audience_for(&text).cloned();
            self.close_section(audience.is_some());
            match audience {
                Some(a) => {
                    if !self.in_card_group {
                        self.queue
                            .push_back(html("<div class=\"audience-cards\">\n".into()));
                        self.in_card_group = true;
                    }
                    self.queue.push_back(html(format!(
                        "<section class=\"audience-card\" data-audience=\"{}\" aria-labelledby=\"{id}\">\n",
                        escape_html(&a.id)
                    )));
                    self.section = Section::Card { titled: false };
                    self.card = Some((offset, a.label.clone()));
                    self.result.audiences.push(a.id);
                    class = " class=\"card-eyebrow\"";
                }
                None => {
                    self.queue.push_back(html(format!(
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
        // Pieces pushed in turn: a page has many headings, and formatting
        // machinery costs more than the copying.
        let label = escape_html(text.trim());
        let digit = ["1", "2", "3", "4", "5", "6"][usize::from(n - 1)];
        let mut tag = String::with_capacity(96 + 2 * id.len() + inner_html.len() + label.len());
        for piece in [
            "<h",
            digit,
            " id=\"",
            &id,
            "\"",
            class,
            ">",
            &inner_html,
            " <a class=\"permalink\" href=\"#",
            &id,
            "\" aria-label=\"Link to this section: ",
            &label,
            "\">#</a></h",
            digit,
            ">\n",
        ] {
            tag.push_str(piece);
        }
        self.queue.push_back(html(tag));
        self.result.headings.push(Heading {
            level: n,
            id,
            text: replace_controls(text.trim().to_string()),
        });
    }

    /// Renders the code block just opened (of `kind`, at `range`) and any
    /// fenced blocks right after it as one group.
    fn code_group(&mut self, kind: CodeBlockKind<'a>, range: Range<usize>) {
        let mut blocks = Vec::new();
        let (mut kind, mut range) = (kind, range);
        loop {
            let inner = self.take_to_end();
            let mut code = String::new();
            let mut offset = None;
            for (e, r) in &inner {
                if let Event::Text(t) = e {
                    offset.get_or_insert(r.start);
                    code.push_str(t);
                }
            }
            let fenced = matches!(kind, CodeBlockKind::Fenced(_));
            let (lang, title) = match &kind {
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
            let next_fenced = matches!(
                self.events.peek(),
                Some((Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_))), _))
            );
            if !(fenced && next_fenced) {
                break;
            }
            match self.events.next() {
                Some((Event::Start(Tag::CodeBlock(k)), r)) => (kind, range) = (k, r),
                _ => break,
            }
        }
        let out = self.group_html(&blocks);
        self.queue.push_back(html(out));
        self.result.code_blocks.extend(blocks);
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
                let msg = e.to_string();
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
                self.report_in_code(
                    b,
                    "json",
                    |r| r.code_position(b, e.line(), e.column()),
                    format!("this ```json block does not parse: {msg} (use ```jsonc or ```text for fragments)"),
                );
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
                    self.report_in_code(
                        b,
                        "response-code",
                        |r| r.pointer_position(b, ptr),
                        format!(
                            "the example response names `{found}` at {ptr}, but this page is `{}`",
                            expect.code
                        ),
                    );
                }
            }
        }
        if let Some(schema) = self.ctx.schema {
            for err in schema.iter_errors(&value) {
                let path = err.instance_path().as_str().to_string();
                let at = if path.is_empty() { "/" } else { &path };
                let msg =
                    format!("the example response does not match response.schema at {at}: {err}");
                self.report_in_code(
                    b,
                    "response-schema",
                    |r| {
                        if path.is_empty() {
                            r.code_position(b, 1, 1)
                        } else {
                            r.pointer_position(b, &path)
                        }
                    },
                    msg,
                );
            }
        }
        if let Some(ptr) = cfg.doc_url_pointer.as_deref().filter(|p| !p.is_empty()) {
            if let Some(serde_json::Value::String(found)) = value.pointer(ptr) {
                if !expect.doc_urls.iter().any(|u| u == found) {
                    self.report_in_code(
                        b,
                        "response-doc-url",
                        |r| r.pointer_position(b, ptr),
                        format!(
                            "the example response links to `{found}` at {ptr}, but this page is at `{}`",
                            expect.doc_urls.first().map(String::as_str).unwrap_or("")
                        ),
                    );
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
            self.report(Severity::Error, offset, "broken-link", || {
                format!("link to `{path}` leaves the content folder")
            });
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
                let names = self.ctx.link_names;
                self.report(Severity::Error, offset, "broken-link", || {
                    let hint = (names.did_you_mean(&target))
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                    format!("link to `{path}`: there is no page content/{target}{hint}")
                });
                dest.clone()
            }
        }
    }
}

/// Bodies longer than this many bytes get a `file-size` warning.
pub const WARN_BODY_BYTES: usize = 1 << 20;

impl<'a> Renderer<'a, '_> {
    /// Adds a problem at body offset `at`, unless its rule has listed
    /// [`crate::diagnostic::LISTED_PER_RULE`] in this file: then it is only counted, and its
    /// position and message are never worked out.
    fn report(
        &mut self,
        severity: Severity,
        at: usize,
        rule: &'static str,
        msg: impl FnOnce() -> String,
    ) {
        if self.unlisted.admit(rule, severity, at) {
            let d = self.source.diagnostic_at(severity, at, rule, msg());
            self.result.diagnostics.push(d);
        }
    }

    /// An error about code block `b`, at the place `pos` finds in it.
    fn report_in_code(
        &mut self,
        b: &CodeBlock,
        rule: &'static str,
        pos: impl FnOnce(&Self) -> (usize, usize),
        msg: String,
    ) {
        if self.unlisted.admit(rule, Severity::Error, b.fence_offset) {
            let (line, col) = pos(self);
            let d = self
                .source
                .diagnostic(Severity::Error, line, col, rule, msg);
            self.result.diagnostics.push(d);
        }
    }

    /// The checks on the body as a whole: its size and its control characters.
    fn file_checks(&mut self) {
        let body = self.source.body();
        if self.source.text.len() > WARN_BODY_BYTES {
            let size = self.source.text.len();
            self.result.diagnostics.push(self.source.diagnostic(
                Severity::Warning,
                1,
                1,
                "file-size",
                format!(
                    "the file is {} KiB; pages over {} KiB are slow to build and to read (split it), and files over {} KiB are refused",
                    size / 1024,
                    WARN_BODY_BYTES / 1024,
                    crate::load::content::MAX_FILE_BYTES / 1024
                ),
            ));
        }
        for (offset, c) in control_chars(body) {
            self.report(Severity::Warning, offset, "control-character", || {
                format!(
                    "the control character U+{:04X} is not text; the page shows U+FFFD (\u{FFFD}) in its place (delete it, or write it as an escape in code)",
                    u32::from(c)
                )
            });
        }
    }

    /// Reports a `javascript:`, `vbscript:` or `data:` destination of a link
    /// or image at `offset`; true when `unsafe_html: strip` drops its tags.
    fn guard_url(&mut self, dest: &str, offset: usize, what: &str) -> bool {
        let Some(scheme) = unsafe_scheme(dest) else {
            return false;
        };
        self.unsafe_found(
            offset,
            format!("this {what} goes to a `{scheme}` URL, which can run script in the reader's browser"),
        )
    }

    /// Reports what in raw HTML can run script; with `unsafe_html: strip`,
    /// the HTML without it. `pieces` maps offsets in `raw` to offsets in
    /// the body: (start in `raw`, start in the body) of each piece.
    fn guard_html(&mut self, raw: CowStr<'a>, pieces: &[(usize, usize)]) -> CowStr<'a> {
        let findings = scan_html(&raw);
        if findings.is_empty() {
            return raw;
        }
        for f in findings.iter().filter(|f| f.report) {
            let n = pieces.partition_point(|(at, _)| *at <= f.range.start);
            let offset = n
                .checked_sub(1)
                .map_or(0, |n| pieces[n].1 + (f.range.start - pieces[n].0));
            self.unsafe_found(offset, f.what.clone());
        }
        // Stray end tags of such elements go too, without a word.
        if self.ctx.config.unsafe_html != UnsafeHtml::Strip {
            return raw;
        }
        let mut out = String::with_capacity(raw.len());
        let mut pos = 0;
        for f in &findings {
            if f.range.start >= pos {
                out.push_str(&raw[pos..f.range.start]);
                pos = f.range.end;
            }
        }
        out.push_str(&raw[pos.min(raw.len())..]);
        CowStr::from(out)
    }

    /// Reports unsafe HTML at `offset` as `unsafe_html` says; true when it
    /// is to be left out of the page.
    fn unsafe_found(&mut self, offset: usize, what: String) -> bool {
        let (severity, then, strip) = match self.ctx.config.unsafe_html {
            UnsafeHtml::Allow => (
                Severity::Warning,
                "; it is published as written (set `unsafe_html: strip` or `refuse` in site.yaml to keep it out)",
                false,
            ),
            UnsafeHtml::Strip => (
                Severity::Warning,
                "; it is left out of the page (`unsafe_html: strip`)",
                true,
            ),
            UnsafeHtml::Refuse => (Severity::Error, " (`unsafe_html: refuse`)", false),
        };
        self.report(severity, offset, "unsafe-html", || format!("{what}{then}"));
        strip
    }
}

/// True for the characters that are not text: C0 controls but tab, line
/// feed and carriage return; DEL; C1 controls.
pub fn is_control(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || ('\u{7f}'..='\u{9f}').contains(&c)
}

/// The byte offsets and characters of `text`'s control characters.
pub fn control_chars(text: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    // Most text has none: one pass over the bytes says so without decoding.
    // 0xC2 leads U+0080–U+00BF, where the C1 controls are. Chunks are
    // folded without an early exit so that the loop is vectorised.
    let suspect =
        |b: u8| (b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r') | (b == 0x7f) | (b == 0xc2);
    let any = text
        .as_bytes()
        .chunks(64)
        .any(|chunk| chunk.iter().fold(false, |found, &b| found | suspect(b)));
    text.char_indices()
        .take(if any { usize::MAX } else { 0 })
        .filter(|&(_, c)| is_control(c))
}

/// `text` with each control character (see [`is_control`]) replaced by
/// U+FFFD, as CommonMark does with NUL: HTML and XML forbid them.
pub fn replace_controls(text: String) -> String {
    if control_chars(&text).next().is_none() {
        return text;
    }
    text.chars()
        .map(|c| if is_control(c) { '\u{FFFD}' } else { c })
        .collect()
}

/// The scheme of a URL that runs script or carries a document of its own
/// (`javascript:`, `vbscript:`, `data:`), read as browsers do: ignoring
/// case, leading spaces and controls, and tabs and line breaks anywhere.
pub fn unsafe_scheme(url: &str) -> Option<&'static str> {
    let lower: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .take(11)
        .collect::<String>()
        .to_ascii_lowercase();
    ["javascript:", "vbscript:", "data:"]
        .into_iter()
        .find(|s| lower.starts_with(s))
}

/// Something in raw HTML that can run script.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HtmlFinding {
    /// What to cut out to make it safe.
    range: Range<usize>,
    /// What it is, for the diagnostic.
    what: String,
    /// False for what is cut out without a word (the end tag of a
    /// reported element).
    report: bool,
}

/// Elements whose only purpose in a page body is to run or embed code.
const UNSAFE_ELEMENTS: &[&str] = &["script", "iframe", "object", "embed", "meta"];

/// Elements whose content a browser does not read as HTML (raw text and
/// escapable raw text): markup inside one can end it early and run, in
/// ways a scan of the tags cannot follow, so they count as unsafe too.
const RAW_TEXT_ELEMENTS: &[&str] = &[
    "style",
    "noscript",
    "noembed",
    "noframes",
    "xmp",
    "title",
    "textarea",
    "plaintext",
    "template",
];

/// Attributes that hold a URL.
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "poster",
    "data",
    "background",
];

/// Finds `<script>`, `<iframe>`, `<object>`, `<embed>`, `on…=` event
/// handlers and script URLs in attributes, in order.
fn scan_html(html: &str) -> Vec<HtmlFinding> {
    let b = html.as_bytes();
    let len = b.len();
    let mut found = Vec::new();
    let mut unclosed: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(p) = html[i..].find('<').map(|p| p + i) {
        let mut j = p + 1;
        if html[j..].starts_with("!--") {
            i = html[j..].find("-->").map_or(len, |k| j + k + 3);
            continue;
        }
        let closing = b.get(j) == Some(&b'/');
        j += usize::from(closing);
        let name_start = j;
        while j < len && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'-' | b':')) {
            j += 1;
        }
        if j == name_start || !b[name_start].is_ascii_alphabetic() {
            i = p + 1;
            continue;
        }
        let name = html[name_start..j].to_ascii_lowercase();
        let mut attrs = Vec::new();
        loop {
            while j < len && (b[j].is_ascii_whitespace() || b[j] == b'/') {
                j += 1;
            }
            if j >= len {
                break;
            }
            if b[j] == b'>' {
                j += 1;
                break;
            }
            let attr_start = j;
            while j < len && !b[j].is_ascii_whitespace() && !matches!(b[j], b'=' | b'>' | b'/') {
                j += 1;
            }
            if j == attr_start {
                j += 1;
                continue;
            }
            let attr_name = html[attr_start..j].to_ascii_lowercase();
            let mut k = j;
            while k < len && b[k].is_ascii_whitespace() {
                k += 1;
            }
            let mut value = "";
            if k < len && b[k] == b'=' {
                k += 1;
                while k < len && b[k].is_ascii_whitespace() {
                    k += 1;
                }
                if k < len && matches!(b[k], b'"' | b'\'') {
                    let quote = b[k] as char;
                    let end = html[k + 1..].find(quote).map_or(len, |e| k + 1 + e);
                    value = &html[k + 1..end];
                    k = (end + 1).min(len);
                } else {
                    let start = k;
                    while k < len && !b[k].is_ascii_whitespace() && b[k] != b'>' {
                        k += 1;
                    }
                    value = &html[start..k];
                }
                j = k;
            }
            attrs.push((attr_start..j, attr_name, value));
        }
        let tag_end = j;
        let raw_text = RAW_TEXT_ELEMENTS.contains(&name.as_str());
        if UNSAFE_ELEMENTS.contains(&name.as_str()) || raw_text {
            let mut end = tag_end;
            // The element goes with its content, up to its end tag. A name
            // without one ahead is not looked for again (that would be
            // quadratic in the number of such tags).
            if !closing && name != "embed" && !unclosed.contains(&name) {
                match find_end_tag(html, tag_end, &name) {
                    Some(e) => end = e,
                    None => unclosed.push(name.clone()),
                }
            }
            let what = if raw_text {
                format!("raw `<{name}>` in the body: browsers do not read its content as HTML, so markup in it can run")
            } else {
                format!("raw `<{name}>` in the body runs or embeds code from anywhere")
            };
            found.push(HtmlFinding {
                range: p..end,
                what,
                report: !closing,
            });
            i = end.max(p + 1);
            continue;
        }
        for (range, attr, value) in attrs {
            let handler = attr.len() > 2 && attr.starts_with("on");
            let url = URL_ATTRIBUTES
                .contains(&attr.as_str())
                .then(|| unsafe_scheme(&decode_entities(value)))
                .flatten();
            let what = if handler {
                format!("the `{attr}` attribute of `<{name}>` runs script")
            } else if let Some(scheme) = url {
                format!("the `{attr}` of `<{name}>` is a `{scheme}` URL, which can run script")
            } else {
                continue;
            };
            found.push(HtmlFinding {
                range,
                what,
                report: true,
            });
        }
        i = tag_end.max(p + 1);
    }
    found
}

/// The end of the first `</name…>` tag at or after `from`, ignoring case.
fn find_end_tag(html: &str, from: usize, name: &str) -> Option<usize> {
    let b = html.as_bytes();
    let mut at = from;
    while let Some(k) = html[at..].find("</") {
        let s = at + k + 2;
        if b.len() >= s + name.len() && b[s..s + name.len()].eq_ignore_ascii_case(name.as_bytes()) {
            return Some(html[s..].find('>').map_or(html.len(), |g| s + g + 1));
        }
        at = s;
    }
    None
}

/// The start of an attribute value with character references decoded, as
/// far as a URL scheme goes (`jav&#x61;script&colon;`).
fn decode_entities(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while out.len() < 32 {
        let Some(c) = rest.chars().next() else { break };
        if c != '&' {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let body = &rest[1..];
        // A numeric reference ends at its last digit, `;` or not
        // (`&#106avascript:` is `javascript:` to a browser).
        let digits = |hex: bool, from: usize| {
            body[from..]
                .find(|c: char| {
                    !(if hex {
                        c.is_ascii_hexdigit()
                    } else {
                        c.is_ascii_digit()
                    })
                })
                .map_or(body.len(), |e| from + e)
        };
        let end = match body.as_bytes() {
            [b'#', b'x' | b'X', ..] => digits(true, 2),
            [b'#', ..] => digits(false, 1),
            _ => body
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(body.len()),
        };
        let name = &body[..end];
        let decoded = if let Some(num) = name.strip_prefix('#') {
            match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => num.parse().ok(),
            }
            .and_then(char::from_u32)
        } else {
            match name {
                "colon" => Some(':'),
                "Tab" => Some('\t'),
                "NewLine" => Some('\n'),
                _ => None,
            }
        };
        match decoded {
            Some(d) => {
                out.push(d);
                let semi = usize::from(body[end..].starts_with(';'));
                rest = &body[end + semi..];
            }
            None => {
                out.push('&');
                rest = body;
            }
        }
    }
    out
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
        render_with(body, UnsafeHtml::Allow)
    }

    fn render_with(body: &str, unsafe_html: UnsafeHtml) -> RenderedBody {
        let config = SiteConfig {
            unsafe_html,
            ..SiteConfig::default()
        };
        let mut links = HashMap::new();
        links.insert("errors/b.md".to_string(), "reference/errors/b/".to_string());
        let names = crate::diagnostic::NameIndex::new(links.keys().map(String::as_str));
        let ctx = RenderContext {
            config: &config,
            links: &links,
            link_names: &names,
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

    const UNSAFE: &str = "[a](jav&#x61;script:alert(1)) [b]( <\tVBScript:x>) ![c](DATA:text/html,x)\n\
        [ok](https://e.test/) <img src=x onerror=\"alert(1)\"> <a href=\"&#106;avascript&colon;x\">d</a>\n\n\
        <script>\nalert(1)\n</script>\n\n<div>\n<iframe src=\"https://e.test\"></iframe>\n</div>\n\n## T <embed src=x>\n";

    fn unsafe_rows(r: &RenderedBody) -> Vec<(usize, usize, Severity)> {
        r.diagnostics
            .iter()
            .filter(|d| d.rule == "unsafe-html")
            .map(|d| (d.line, d.column, d.severity))
            .collect()
    }

    #[test]
    fn script_urls_and_raw_html_that_runs_script_are_reported_where_they_are() {
        let r = render_with(UNSAFE, UnsafeHtml::Allow);
        let at: Vec<_> = unsafe_rows(&r).iter().map(|&(l, c, _)| (l, c)).collect();
        assert_eq!(
            at,
            [
                (1, 1),
                (1, 31),
                (1, 51),
                (2, 34),
                (2, 57),
                (4, 1),
                (9, 1),
                (12, 6)
            ],
            "{:#?}",
            r.diagnostics
        );
        assert!(unsafe_rows(&r).iter().all(|d| d.2 == Severity::Warning));
        // Allowed: published as written.
        assert!(
            r.html.contains("<script>") && r.html.contains("onerror"),
            "{}",
            r.html
        );
        let refused = render_with(UNSAFE, UnsafeHtml::Refuse);
        assert_eq!(unsafe_rows(&refused).len(), 8);
        assert!(unsafe_rows(&refused).iter().all(|d| d.2 == Severity::Error));
    }

    #[test]
    fn raw_text_elements_and_references_without_semicolons_are_caught() {
        for body in [
            "<style><p title=\"</style><img src=x onerror=alert(1)>\"></p>\n",
            "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></p>\n",
            "<xmp><p title=\"</xmp><img src=x onerror=alert(1)>\"></p>\n",
            "<a href=\"&#106avascript:alert(1)\">x</a>\n",
            "<a href=\"&#x6a&#x61vascript:alert(1)\">x</a>\n",
            "<meta http-equiv=refresh content=\"0;url=javascript:alert(1)\">\n",
        ] {
            let refused = render_with(body, UnsafeHtml::Refuse);
            assert!(
                unsafe_rows(&refused).iter().any(|d| d.2 == Severity::Error),
                "{body}: {:#?}",
                refused.diagnostics
            );
            // What is left has no raw-text element to end early: an
            // `onerror` inside a `title` value stays text.
            let stripped = render_with(body, UnsafeHtml::Strip)
                .html
                .to_ascii_lowercase();
            for gone in ["<style", "<noscript", "<xmp", "avascript", "http-equiv"] {
                assert!(!stripped.contains(gone), "{body}: {stripped}");
            }
        }
        assert_eq!(decode_entities("&#106avascript:"), "javascript:");
        assert_eq!(decode_entities("&#x6a&#x61vascript:"), "javascript:");
        assert_eq!(decode_entities("&amp;x"), "&amp;x");
    }

    #[test]
    fn strip_leaves_the_text_and_drops_what_runs_script() {
        let r = render_with(UNSAFE, UnsafeHtml::Strip);
        let lower = r.html.to_ascii_lowercase();
        for gone in [
            "script",
            "onerror",
            "iframe",
            "embed",
            "data:",
            "&#106;",
            "alert(1)\n",
        ] {
            assert!(!lower.contains(gone), "`{gone}` in {}", r.html);
        }
        assert!(
            r.html
                .contains("<p>a b c\n<a href=\"https://e.test/\">ok</a>"),
            "{}",
            r.html
        );
        assert!(
            r.html.contains("<a >d</a>") || r.html.contains("<a>d</a>"),
            "{}",
            r.html
        );
        assert!(r.html.contains("<div>\n\n</div>"), "{}", r.html);
    }

    #[test]
    fn safe_html_and_links_pass_quietly() {
        let r = render_body("<details open><summary>x</summary>\n\n[a](https://e.test/data:x) [b](b.md) <span title=\"onclick=x\">s</span> ![i](data.png)\n\n</details>\n");
        assert_eq!(unsafe_rows(&r), []);
    }

    #[test]
    fn control_characters_become_replacement_characters_with_a_warning() {
        let r = render_body("# T\u{1}\n\na\0b \u{1b}[31m\n\n```text\nx\u{7f}\u{85}\n```\n");
        for c in ['\0', '\u{1}', '\u{1b}', '\u{7f}', '\u{85}'] {
            assert!(!r.html.contains(c), "{c:?} in {}", r.html);
        }
        // The heading's shows twice: as text and in its permalink's label.
        assert_eq!(r.html.matches('\u{FFFD}').count(), 6, "{}", r.html);
        let at: Vec<_> = r
            .diagnostics
            .iter()
            .filter(|d| d.rule == "control-character")
            .map(|d| (d.line, d.column, d.severity))
            .collect();
        assert_eq!(
            at,
            [(1, 4), (3, 2), (3, 5), (6, 2), (6, 3)].map(|(l, c)| (l, c, Severity::Warning))
        );
        assert_eq!(r.headings[0].text, "T\u{FFFD}");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b.md"), "a b.md");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
