//! The catalog for machines, made from the same content as the pages:
//! `index.json` and its published schema, each code page as Markdown,
//! `llms.txt`, the Atom feed of new and deprecated codes, and the formats of
//! `errdocs export` (an RFC 9457 problem-type registry and an OpenAPI 3.1
//! document of error responses).

use std::collections::HashMap;

use pulldown_cmark::{Event, LinkType, Parser, Tag};
use serde::Serialize;

use crate::highlight::escape_html;
use crate::load::config::SiteConfig;
use crate::load::content::{since_date, Content, Deprecation, ErrorPage};
use crate::render::{status_text, ErrorSummary};

/// The version of `index.json`'s format; it changes only when a field
/// changes meaning or goes away (new fields may appear within a version).
pub const INDEX_VERSION: u32 = 1;

/// `index.json`: every code, sorted by code.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(
    title = "errdocs catalog index",
    description = "The error codes of an API, as published by errdocs at reference/errors/index.json."
)]
pub struct CatalogIndex {
    /// The format's version; this schema describes version 1.
    #[schemars(extend("const" = 1))]
    pub version: u32,
    /// The site's title.
    pub title: String,
    /// Absolute URL of the catalog page.
    #[schemars(extend("format" = "uri"))]
    pub catalog_url: String,
    /// Every published code, sorted by code.
    pub errors: Vec<IndexEntry>,
}

/// One code in `index.json`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct IndexEntry {
    /// The error code, as the API returns it.
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"))]
    pub code: String,
    /// Human title.
    pub title: String,
    /// HTTP status.
    #[schemars(range(min = 100, max = 599))]
    pub status: u16,
    /// Category name.
    pub category: String,
    /// One sentence.
    pub summary: String,
    /// Absolute URL of the code's page; also its RFC 9457 problem type URI.
    #[schemars(extend("format" = "uri"))]
    pub url: String,
    /// Absolute URL of the page as Markdown.
    #[schemars(extend("format" = "uri"))]
    pub markdown_url: String,
    /// Which endpoints it affects, when given.
    pub scope: Option<String>,
    /// Whether a retry may succeed, when given.
    pub retryable: Option<bool>,
    /// Whether the code is deprecated.
    pub deprecated: bool,
    /// What to do instead, when the deprecation came with a message.
    pub deprecation_message: Option<String>,
    /// The code to use instead, when given.
    pub replaced_by: Option<String>,
    /// When the code appeared, as written (usually `YYYY-MM`).
    pub since: Option<String>,
    /// Related codes.
    pub related: Vec<String>,
    /// Former codes, which redirect to this one.
    pub aliases: Vec<String>,
}

/// `index.json` of the codes in `summaries` (sorted by code).
pub fn catalog_index(summaries: &[ErrorSummary], config: &SiteConfig) -> CatalogIndex {
    CatalogIndex {
        version: INDEX_VERSION,
        title: config.title.clone(),
        catalog_url: config.absolute_url(&config.catalog_rel()),
        errors: summaries
            .iter()
            .map(|s| IndexEntry {
                code: s.code.clone(),
                title: s.title.clone(),
                status: s.status,
                category: s.category.clone(),
                summary: s.summary.clone(),
                url: s.absolute_url.clone(),
                markdown_url: config.absolute_url(&config.error_markdown_rel(&s.code)),
                scope: s.scope.clone(),
                retryable: s.retryable,
                deprecated: s.deprecated,
                deprecation_message: s.deprecation_message.clone(),
                replaced_by: s.replaced_by.clone(),
                since: s.since.clone(),
                related: s.related.clone(),
                aliases: s.aliases.clone(),
            })
            .collect(),
    }
}

/// `index.json` as text, naming its schema in `$schema`.
pub fn catalog_index_json(summaries: &[ErrorSummary], config: &SiteConfig) -> String {
    #[derive(Serialize)]
    struct WithSchema<'a> {
        #[serde(rename = "$schema")]
        schema: String,
        #[serde(flatten)]
        index: &'a CatalogIndex,
    }
    let index = catalog_index(summaries, config);
    let doc = WithSchema {
        schema: config.absolute_url(&crate::paths::index_schema_rel(config)),
        index: &index,
    };
    to_json(&doc)
}

/// The JSON Schema of `index.json`, with its published URL as `$id`.
pub fn index_schema(config: &SiteConfig) -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(CatalogIndex)).unwrap_or_default();
    if let Some(obj) = schema.as_object_mut() {
        obj.insert(
            "$id".into(),
            config
                .absolute_url(&crate::paths::index_schema_rel(config))
                .into(),
        );
        if let Some(props) = obj.get_mut("properties").and_then(|p| p.as_object_mut()) {
            props.insert(
                "$schema".into(),
                serde_json::json!({ "type": "string", "description": "URL of this schema." }),
            );
        }
    }
    schema
}

fn to_json(value: &impl Serialize) -> String {
    // The values serialised here are plain data, which cannot fail.
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

/// The front matter of a page's Markdown version: the published facts, with
/// its URL, and without build-only keys (`draft`, `extra`).
#[derive(Serialize)]
struct MarkdownFrontMatter<'a> {
    code: &'a str,
    title: &'a str,
    status: u16,
    category: &'a str,
    summary: &'a str,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retryable: Option<bool>,
    #[serde(skip_serializing_if = "is_absent")]
    deprecated: &'a Deprecation,
    #[serde(skip_serializing_if = "Option::is_none")]
    replaced_by: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    since: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    related: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    aliases: &'a [String],
}

fn is_absent(d: &Deprecation) -> bool {
    !d.is_deprecated()
}

impl MarkdownFrontMatter<'_> {
    /// The front matter as YAML, as serde_yaml writes it. Almost every
    /// value is a plain scalar, written here directly (serde_yaml's emitter
    /// costs more than the rest of the Markdown version); anything else goes
    /// through serde_yaml.
    fn to_yaml(&self) -> String {
        self.to_plain_yaml().unwrap_or_else(|| {
            // Plain strings and numbers always serialise.
            serde_yaml::to_string(self).unwrap_or_default()
        })
    }

    fn to_plain_yaml(&self) -> Option<String> {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(256);
        // Numbers and booleans are written as they are, strings only when plain.
        let mut raw = |key: &str, value: &dyn std::fmt::Display| {
            let _ = writeln!(out, "{key}: {value}");
        };
        let text = plain_scalar;
        raw("code", &text(self.code)?);
        raw("title", &text(self.title)?);
        raw("status", &self.status);
        raw("category", &text(self.category)?);
        raw("summary", &text(self.summary)?);
        raw("url", &text(&self.url)?);
        if let Some(scope) = self.scope {
            raw("scope", &text(scope)?);
        }
        if let Some(r) = self.retryable {
            raw("retryable", &r);
        }
        match self.deprecated {
            Deprecation::Absent | Deprecation::Flag(false) => {}
            Deprecation::Flag(true) => raw("deprecated", &true),
            Deprecation::Message(m) => raw("deprecated", &text(m)?),
        }
        for (key, value) in [("replaced_by", self.replaced_by), ("since", self.since)] {
            if let Some(v) = value {
                raw(key, &text(v)?);
            }
        }
        for (key, items) in [("related", self.related), ("aliases", self.aliases)] {
            if items.is_empty() {
                continue;
            }
            let _ = writeln!(out, "{key}:");
            for item in items {
                let _ = writeln!(out, "- {}", text(item)?);
            }
        }
        Some(out)
    }
}

/// `value` when serde_yaml writes it as a plain scalar, checked
/// conservatively: none for anything that might need quotes or read as
/// another type (a number, a boolean, null).
fn plain_scalar(value: &str) -> Option<&str> {
    let bytes = value.as_bytes();
    let (&first, &last) = (bytes.first()?, bytes.last()?);
    let date_like = |b: &[u8]| {
        // `2025-03` or `2025-03-14`.
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        (b.len() == 7 || (b.len() == 10 && b[7] == b'-' && digits(8..10)))
            && b[4] == b'-'
            && digits(0..4)
            && digits(5..7)
    };
    let leads = first.is_ascii_alphabetic() || matches!(first, b'_' | b'/' | b'(');
    if !(leads || (first.is_ascii_digit() && date_like(bytes))) || last == b' ' || last == b':' {
        return None;
    }
    let words = [
        "true", "false", "null", "yes", "no", "on", "off", "y", "n", "inf", "infinity", "nan",
    ];
    if words.iter().any(|w| value.eq_ignore_ascii_case(w)) {
        return None;
    }
    let mut after_colon = false;
    for &b in bytes {
        let ok = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'.' | b','
                    | b'_'
                    | b'-'
                    | b'/'
                    | b'('
                    | b')'
                    | b'\''
                    | b'?'
                    | b'!'
                    | b'@'
                    | b'%'
                    | b'+'
                    | b'='
                    | b';'
                    | b':'
            )
            || (b == b' ' && !after_colon);
        if !ok {
            return None;
        }
        after_colon = b == b':';
    }
    Some(value)
}

/// A page as Markdown (`reference/errors/<code>.md`): its front matter and
/// body, with every link made absolute so the file reads the same anywhere.
pub fn page_markdown(
    page: &ErrorPage,
    config: &SiteConfig,
    links: &HashMap<String, String>,
) -> String {
    let m = &page.meta;
    let front = MarkdownFrontMatter {
        code: &m.code,
        title: &m.title,
        status: m.status,
        category: &m.category,
        summary: &m.summary,
        url: config.absolute_url(&config.error_rel(&m.code)),
        scope: m.scope.as_deref(),
        retryable: m.retryable,
        deprecated: &m.deprecated,
        replaced_by: m.replaced_by.as_deref(),
        since: m.since.as_deref(),
        related: &m.related,
        aliases: &m.aliases,
    };
    let yaml = front.to_yaml();
    let body = absolute_links(page.source.body(), &page.source.content_path, config, links);
    // As on the page: NUL (and every other control) becomes U+FFFD.
    let body = crate::markdown::replace_controls(body);
    format!(
        "---\n{yaml}---\n\n{}",
        body.trim_start_matches(['\r', '\n'])
    )
}

/// The absolute form of a link written in the page at `content_path`.
pub(crate) fn absolute_link(
    dest: &str,
    content_path: &str,
    config: &SiteConfig,
    links: &HashMap<String, String>,
) -> Option<String> {
    let page_url = links
        .get(content_path)
        .map(|rel| config.absolute_url(rel))
        .unwrap_or_else(|| config.absolute_url(""));
    if dest.starts_with('#') {
        return Some(format!("{page_url}{dest}"));
    }
    if crate::markdown::is_external(dest) {
        return None;
    }
    if let Some(path) = dest.strip_prefix('/') {
        let base = config.base_path.trim_matches('/');
        let rel = path
            .strip_prefix(base)
            .filter(|_| !base.is_empty())
            .map(|p| p.trim_start_matches('/'))
            .unwrap_or(path);
        return Some(config.absolute_url(rel));
    }
    let (path, fragment) = match dest.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (dest, None),
    };
    let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
    if path.to_ascii_lowercase().ends_with(".md") {
        let decoded = crate::markdown::percent_decode(path);
        let target = crate::load::content::resolve_relative(content_path, &decoded)?;
        let rel = links.get(&target).filter(|r| !r.is_empty())?;
        return Some(format!("{}{fragment}", config.absolute_url(rel)));
    }
    // Any other relative link is relative to the HTML page's URL.
    let mut parts: Vec<&str> = page_url.trim_end_matches('/').split('/').collect();
    let origin_len = 3; // scheme, empty, host
    for seg in path.split('/') {
        match seg {
            "." | "" => {}
            ".." => {
                if parts.len() > origin_len {
                    parts.pop();
                }
            }
            s => parts.push(s),
        }
    }
    let trailing = if path.ends_with('/') { "/" } else { "" };
    Some(format!("{}{trailing}{fragment}", parts.join("/")))
}

/// `body` with the destinations of its links, images and link reference
/// definitions made absolute; what cannot be located exactly is left as is.
fn absolute_links(
    body: &str,
    content_path: &str,
    config: &SiteConfig,
    links: &HashMap<String, String>,
) -> String {
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let parser = Parser::new_ext(body, crate::markdown::options()).into_offset_iter();
    let defs: Vec<(String, std::ops::Range<usize>)> = parser
        .reference_definitions()
        .iter()
        .map(|(_, def)| (def.dest.to_string(), def.span.clone()))
        .collect();
    for (event, range) in parser {
        let (kind, dest) = match &event {
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                ..
            })
            | Event::Start(Tag::Image {
                link_type,
                dest_url,
                ..
            }) => (*link_type, dest_url.to_string()),
            _ => continue,
        };
        if !matches!(kind, LinkType::Inline) {
            continue;
        }
        let Some(abs) = absolute_link(&dest, content_path, config, links) else {
            continue;
        };
        let text = &body[range.clone()];
        // The destination follows the last `](` of an inline link.
        if let Some(open) = text.rfind("](") {
            let after = open + 2;
            let skip = text[after..].len() - text[after..].trim_start().len();
            let at = after + skip + usize::from(text[after + skip..].starts_with('<'));
            if text[at..].starts_with(dest.as_str()) {
                let start = range.start + at;
                edits.push((start..start + dest.len(), abs));
            }
        }
    }
    for (dest, span) in defs {
        let Some(abs) = absolute_link(&dest, content_path, config, links) else {
            continue;
        };
        let text = &body[span.clone()];
        if let Some(colon) = text.find("]:") {
            let rest = &text[colon + 2..];
            let skip = rest.len() - rest.trim_start().len();
            let at = colon + 2 + skip + usize::from(rest[skip..].starts_with('<'));
            if text[at..].starts_with(dest.as_str()) {
                let start = span.start + at;
                edits.push((start..start + dest.len(), abs));
            }
        }
    }
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(body.len() + edits.len() * 40);
    let mut pos = 0;
    for (range, text) in edits {
        if range.start < pos {
            continue;
        }
        out.push_str(&body[pos..range.start]);
        out.push_str(&text);
        pos = range.end;
    }
    out.push_str(&body[pos..]);
    out
}

/// `llms.txt` (llmstxt.org): the site's name, what it holds, and every code
/// by category with its title, summary and the URL of its Markdown.
pub fn llms_txt(content: &Content, summaries: &[ErrorSummary], config: &SiteConfig) -> String {
    let groups = crate::render::group_by_category(summaries, config);
    let one_line = |s: &str| {
        crate::markdown::replace_controls(s.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    let mut out = format!(
        "# {}\n\n> The error codes of this API, {} in all: what each means, why it happens and how to recover. Every code's page is also published as Markdown, linked below.\n\n",
        one_line(&config.title),
        summaries.len()
    );
    out.push_str(&format!(
        "The catalog as JSON: {}\n",
        config.absolute_url(&crate::paths::index_json_rel(config))
    ));
    for g in &groups {
        out.push_str(&format!("\n## {}\n\n", one_line(&g.name)));
        for e in &g.errors {
            let mut notes = one_line(&e.summary);
            if e.deprecated {
                notes.push_str(" (deprecated");
                if let Some(r) = &e.replaced_by {
                    notes.push_str(&format!("; use {r}"));
                }
                notes.push(')');
            }
            out.push_str(&format!(
                "- [{}: {}]({}): {}\n",
                e.code,
                one_line(&e.title).replace(['[', ']'], ""),
                config.absolute_url(&config.error_markdown_rel(&e.code)),
                notes
            ));
        }
    }
    let guides: Vec<_> = content
        .guides
        .iter()
        .filter(|g| !g.rel_url.is_empty())
        .collect();
    if !guides.is_empty() {
        out.push_str("\n## Optional\n\n");
        for g in guides {
            let mut line = format!(
                "- [{}]({})",
                one_line(&g.title).replace(['[', ']'], ""),
                config.absolute_url(&encode_path(&g.rel_url))
            );
            if let Some(d) = &g.meta.description {
                line.push_str(&format!(": {}", one_line(d)));
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// The Atom feed (RFC 4287) of new codes, newest `since` first, and of
/// deprecated codes. A deprecation has no date of its own, so it carries the
/// feed's date (the newest `since`); codes whose `since` is not a date are
/// left out of the new-code entries.
pub fn atom_feed(summaries: &[ErrorSummary], config: &SiteConfig) -> String {
    struct Entry<'a> {
        date: String,
        id: String,
        title: String,
        summary: String,
        e: &'a ErrorSummary,
    }
    let dated: Vec<(String, &ErrorSummary)> = summaries
        .iter()
        .filter_map(|e| Some((since_date(e.since.as_deref()?)?, e)))
        .collect();
    let newest = dated
        .iter()
        .map(|(d, _)| d.clone())
        .max()
        .unwrap_or_else(|| "1970-01-01".into());
    let mut entries: Vec<Entry<'_>> = Vec::new();
    for e in summaries.iter().filter(|e| e.deprecated) {
        let mut summary = e
            .deprecation_message
            .clone()
            .unwrap_or_else(|| format!("{} is deprecated.", e.code));
        if let Some(r) = &e.replaced_by {
            summary.push_str(&format!(" Use {r} instead."));
        }
        entries.push(Entry {
            date: newest.clone(),
            id: format!("{}#deprecated", e.absolute_url),
            title: format!("Deprecated: {} ({})", e.code, e.title),
            summary,
            e,
        });
    }
    for (date, e) in &dated {
        entries.push(Entry {
            date: date.clone(),
            id: e.absolute_url.clone(),
            title: format!("New: {} ({})", e.code, e.title),
            summary: format!("HTTP {} · {}. {}", e.status, e.category, e.summary),
            e,
        });
    }
    // Newest first; on the same date deprecations first, then by code.
    entries.sort_by(|a, b| {
        b.date
            .cmp(&a.date)
            .then_with(|| {
                b.id.ends_with("#deprecated")
                    .cmp(&a.id.ends_with("#deprecated"))
            })
            .then_with(|| a.e.code.cmp(&b.e.code))
    });
    let feed_url = config.absolute_url(&crate::paths::feed_rel(config));
    let x = escape_xml;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str(&format!(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{}\">\n",
        x(&config.language)
    ));
    out.push_str(&format!(
        "  <title>{}: new and deprecated error codes</title>\n",
        x(&config.title)
    ));
    out.push_str(&format!("  <id>{}</id>\n", x(&feed_url)));
    out.push_str(&format!(
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        x(&feed_url)
    ));
    out.push_str(&format!(
        "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
        x(&config.absolute_url(&config.catalog_rel()))
    ));
    out.push_str(&format!("  <updated>{newest}T00:00:00Z</updated>\n"));
    out.push_str(&format!(
        "  <author><name>{}</name></author>\n",
        x(&config.title)
    ));
    out.push_str(&format!(
        "  <generator version=\"{}\">errdocs</generator>\n",
        env!("CARGO_PKG_VERSION")
    ));
    for entry in entries {
        out.push_str("  <entry>\n");
        out.push_str(&format!("    <title>{}</title>\n", x(&entry.title)));
        out.push_str(&format!("    <id>{}</id>\n", x(&entry.id)));
        out.push_str(&format!(
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            x(&entry.e.absolute_url)
        ));
        out.push_str(&format!(
            "    <updated>{}T00:00:00Z</updated>\n",
            entry.date
        ));
        out.push_str(&format!(
            "    <category term=\"{}\"/>\n",
            x(&entry.e.category)
        ));
        out.push_str(&format!("    <summary>{}</summary>\n", x(&entry.summary)));
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

/// Escapes text for XML content and attributes, with each character XML
/// 1.0 forbids (C0 controls but tab and line breaks, U+FFFE, U+FFFF)
/// replaced by U+FFFD: whatever the text, the document stays well-formed.
pub fn escape_xml(text: &str) -> String {
    escape_html(&xml_chars(text))
}

/// `text` with the characters XML 1.0 forbids replaced by U+FFFD.
pub fn xml_chars(text: &str) -> std::borrow::Cow<'_, str> {
    let forbidden = |c: char| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    };
    if !text.chars().any(forbidden) {
        return text.into();
    }
    text.chars()
        .map(|c| if forbidden(c) { '\u{FFFD}' } else { c })
        .collect::<String>()
        .into()
}

/// A site-relative path percent-encoded for a URL: everything but
/// unreserved characters and `/` (a guide `with space & amp.md` is
/// `with%20space%20%26%20amp/`).
pub fn encode_path(rel: &str) -> String {
    let mut out = String::with_capacity(rel.len());
    for b in rel.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `errdocs export --format problem-types`: the RFC 9457 §4.2 registry
/// fields of every code, as JSON.
pub fn problem_types(content: &Content, config: &SiteConfig) -> String {
    #[derive(Serialize)]
    struct Registry {
        version: u32,
        title: String,
        problem_types: Vec<ProblemType>,
    }
    #[derive(Serialize)]
    struct ProblemType {
        #[serde(rename = "type")]
        type_uri: String,
        title: String,
        recommended_status: u16,
        reference: String,
        code: String,
        deprecated: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        replaced_by: Option<String>,
    }
    let registry = Registry {
        version: INDEX_VERSION,
        title: config.title.clone(),
        problem_types: content
            .errors
            .iter()
            .map(|e| {
                let url = config.absolute_url(&config.error_rel(&e.meta.code));
                ProblemType {
                    type_uri: url.clone(),
                    title: e.meta.title.clone(),
                    recommended_status: e.meta.status,
                    reference: url,
                    code: e.meta.code.clone(),
                    deprecated: e.meta.deprecated.is_deprecated(),
                    replaced_by: e.meta.replaced_by.clone(),
                }
            })
            .collect(),
    };
    to_json(&registry)
}

/// `errdocs export --format openapi`: an OpenAPI 3.1 document whose
/// `components` hold a `ProblemDetails` schema (RFC 9457) and one response
/// per code, with the code's status, problem type and example response, for
/// an API description to reference (`$ref: …#/components/responses/<code>`).
/// `examples` holds each code's example response, in the order of
/// `content.errors` (what rendering its body found).
pub fn openapi(
    content: &Content,
    examples: &[Option<&serde_json::Value>],
    config: &SiteConfig,
) -> String {
    let mut responses = serde_json::Map::new();
    for (i, e) in content.errors.iter().enumerate() {
        let m = &e.meta;
        let url = config.absolute_url(&config.error_rel(&m.code));
        let reason = status_text(m.status);
        let status_line = if reason.is_empty() {
            m.status.to_string()
        } else {
            format!("{} {reason}", m.status)
        };
        let mut description = format!("{status_line}: {}. {}", m.title, m.summary);
        if let Some(msg) = m.deprecated.message() {
            description.push_str(&format!(" Deprecated: {msg}"));
        } else if m.deprecated.is_deprecated() {
            description.push_str(" Deprecated.");
        }
        let schema = serde_json::json!({
            "allOf": [
                { "$ref": "#/components/schemas/ProblemDetails" },
                {
                    "type": "object",
                    "properties": {
                        "type": { "const": url },
                        "status": { "const": m.status }
                    }
                }
            ]
        });
        let example = examples.get(i).copied().flatten();
        // Problem details (with a `type` member) are their own media type.
        let media_type = if example
            .as_ref()
            .is_some_and(|v| v.get("type").is_some_and(|t| t.is_string()))
        {
            "application/problem+json"
        } else {
            "application/json"
        };
        let mut media = serde_json::json!({ "schema": schema });
        if let Some(example) = example {
            media["example"] = example.clone();
        }
        let mut response = serde_json::json!({
            "description": description,
            "content": { media_type: media },
            "x-errdocs-status": m.status,
            "x-errdocs-type": url,
        });
        if m.deprecated.is_deprecated() {
            response["x-errdocs-deprecated"] = true.into();
        }
        responses.insert(m.code.clone(), response);
    }
    let doc = serde_json::json!({
        "openapi": "3.1.0",
        "info": {
            "title": format!("{}: error responses", config.title),
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "Error responses of the API, one per code, generated by errdocs from {}. Reference them from operations with $ref: '#/components/responses/<code>'.",
                config.absolute_url(&config.catalog_rel())
            ),
        },
        "components": {
            "schemas": {
                "ProblemDetails": {
                    "type": "object",
                    "description": "Problem details for HTTP APIs (RFC 9457). Every member is optional; members beyond these are extensions.",
                    "properties": {
                        "type": { "type": "string", "format": "uri-reference", "description": "The problem type: the URL of the code's page." },
                        "title": { "type": "string", "description": "A short summary of the problem type." },
                        "status": { "type": "integer", "minimum": 100, "maximum": 599, "description": "The HTTP status code." },
                        "detail": { "type": "string", "description": "An explanation of this occurrence." },
                        "instance": { "type": "string", "format": "uri-reference", "description": "A URI for this occurrence." }
                    }
                }
            },
            "responses": responses,
        }
    });
    to_json(&doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn front<'a>(
        strings: [&'a str; 6],
        deprecated: &'a Deprecation,
        lists: &'a [String],
    ) -> MarkdownFrontMatter<'a> {
        let [code, title, summary, scope, since, item] = strings;
        MarkdownFrontMatter {
            code,
            title,
            status: 429,
            category: "Rate limits",
            summary,
            url: format!("https://api.example/docs/reference/errors/{code}/"),
            scope: (!scope.is_empty()).then_some(scope),
            retryable: (!item.is_empty()).then_some(item.len() % 2 == 0),
            deprecated,
            replaced_by: (!item.is_empty()).then_some(item),
            since: (!since.is_empty()).then_some(since),
            related: lists,
            aliases: &lists[..lists.len().min(1)],
        }
    }

    #[test]
    fn front_matter_is_written_as_serde_yaml_writes_it() {
        let lists = ["quota_exceeded".to_string(), "a:b".to_string()];
        let flags = [
            Deprecation::Absent,
            Deprecation::Flag(false),
            Deprecation::Flag(true),
            Deprecation::Message("Use v2 (see /docs/v2).".into()),
            Deprecation::Message("yes".into()),
        ];
        let strings = [
            [
                "rate_limited",
                "Too many requests",
                "Slow down, then retry.",
                "All endpoints",
                "2025-03",
                "x",
            ],
            [
                "e1",
                "It's 50% off!",
                "Use the key; retry @ 5 s (max).",
                "",
                "2025-03-14",
                "",
            ],
            ["e2", "Key: missing", "a #b", "x:", "2025-3", "1e3"],
            ["e3", "True", "null", " lead", "trail ", "0123"],
            ["e4", "naïve", "a\tb", "\"quoted\"", "line\nbreak", "-x"],
            ["e5", "[list]", "{map}", "*star", "&amp", "!tag"],
            [
                "e6",
                "2025-03",
                "12:30",
                "https://x.example/a?b=c",
                "yes",
                "NaN",
            ],
        ];
        let mut plain = 0;
        for s in strings {
            for d in &flags {
                for n in [0, 1, 2] {
                    let f = front(s, d, &lists[..n]);
                    let expected = serde_yaml::to_string(&f).unwrap();
                    assert_eq!(f.to_yaml(), expected);
                    plain += usize::from(f.to_plain_yaml().is_some());
                }
            }
        }
        // The common case takes the direct path.
        assert!(plain >= 5, "{plain}");
    }

    #[test]
    fn plain_scalars_are_what_serde_yaml_leaves_unquoted() {
        let alphabet: Vec<char> = "aZ09 .,_-/()'?!@%+=;:#\"\\&*[]{}|>~`\tüe".chars().collect();
        // Every string of up to three of these characters, and some longer.
        let mut strings = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = strings
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings.extend(longer);
        }
        strings.dedup();
        strings
            .extend(["2025-03-14", "2025-13", "Infinity", "off", "e5", "x: y"].map(String::from));
        for s in &strings {
            if let Some(p) = plain_scalar(s) {
                assert_eq!(serde_yaml::to_string(s).unwrap(), format!("{p}\n"), "{s:?}");
            }
        }
        let plain = strings.iter().filter(|s| plain_scalar(s).is_some()).count();
        assert!(plain > 1000, "{plain}");
    }

    fn links() -> HashMap<String, String> {
        let mut map = HashMap::new();
        map.insert("errors/a/x.md".into(), "reference/errors/x/".into());
        map.insert("errors/b/y.md".into(), "reference/errors/y/".into());
        map.insert("guides/g.md".into(), "guides/g/".into());
        map
    }

    fn config() -> SiteConfig {
        SiteConfig::parse(
            std::path::Path::new("site.yaml"),
            "base_url: https://d.test/docs\n",
        )
        .unwrap()
    }

    #[test]
    fn links_become_absolute() {
        let body = "See [y](../b/y.md#retry), [g](../../guides/g.md), [top](#what),\n\
                    [root](/guides/g/), [img](img/p.png \"P\"), [ext](https://e.test/a.md),\n\
                    [ref][r] and `[not](a link.md)`.\n\n[r]: <../b/y.md>\n";
        let out = absolute_links(body, "errors/a/x.md", &config(), &links());
        assert_eq!(
            out,
            "See [y](https://d.test/docs/reference/errors/y/#retry), [g](https://d.test/docs/guides/g/), [top](https://d.test/docs/reference/errors/x/#what),\n\
             [root](https://d.test/docs/guides/g/), [img](https://d.test/docs/reference/errors/x/img/p.png \"P\"), [ext](https://e.test/a.md),\n\
             [ref][r] and `[not](a link.md)`.\n\n[r]: <https://d.test/docs/reference/errors/y/>\n"
        );
    }

    #[test]
    fn xml_text_never_holds_what_xml_forbids() {
        assert_eq!(
            escape_xml("a\u{b}b\0<\u{FFFF}\tc"),
            "a\u{FFFD}b\u{FFFD}&lt;\u{FFFD}\tc"
        );
        assert!(matches!(
            xml_chars("plain é"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn paths_are_percent_encoded() {
        assert_eq!(
            encode_path("guides/with space & amp/"),
            "guides/with%20space%20%26%20amp/"
        );
        assert_eq!(encode_path("a/é%/"), "a/%C3%A9%25/");
    }

    #[test]
    fn root_links_with_the_base_path_are_not_doubled() {
        let out = absolute_links(
            "[c](/docs/reference/errors/)\n",
            "errors/a/x.md",
            &config(),
            &links(),
        );
        assert_eq!(out, "[c](https://d.test/docs/reference/errors/)\n");
    }
}
