//! Pages from templates: the contexts every template receives, documented
//! in `docs/templates.md`, and the tera instance that renders them.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use tera::{Tera, Value};

use crate::incremental::keys;
use crate::load::config::SiteConfig;
use crate::load::content::{Content, ErrorPage, GuidePage};
use crate::load::theme::Theme;
use crate::markdown::{slugify, Heading, RenderedBody};
use crate::Error;

/// The reason phrase of an HTTP status.
pub fn status_text(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        418 => "I'm a teapot",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        511 => "Network Authentication Required",
        _ => "",
    }
}

/// URLs of the theme's assets, for templates.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AssetUrls {
    /// The stylesheet (theme CSS and syntax colours).
    pub css: String,
    /// The script.
    pub js: String,
    /// Every static file by its name in `static/`, as a root-relative URL.
    pub files: BTreeMap<String, String>,
}

/// `site` in every template.
#[derive(Debug, Clone, Serialize)]
pub struct SiteView<'a> {
    /// `title` from settings.
    pub title: &'a str,
    /// Absolute base URL, no trailing slash.
    pub base_url: &'a str,
    /// Path prefix of every URL, with slashes at both ends.
    pub base_path: &'a str,
    /// The pages' language.
    pub language: &'a str,
    /// `extra` from settings.
    pub extra: &'a serde_json::Value,
    /// URL of the home page.
    pub home_url: String,
    /// URL of the catalog.
    pub catalog_url: String,
    /// URL of `index.json`.
    pub catalog_json_url: String,
    /// URL of the Atom feed of new and deprecated codes.
    pub feed_url: String,
    /// The audiences from settings.
    pub audiences: &'a [crate::load::config::Audience],
    /// Assets.
    pub assets: &'a AssetUrls,
    /// Guide pages (not the home page), for navigation.
    pub guides: &'a [GuideLink],
    /// Categories with their counts, for navigation (codes are listed on the catalog).
    pub categories: &'a [CategoryLink],
}

/// A guide page in navigation.
#[derive(Debug, Clone, Serialize)]
pub struct GuideLink {
    /// Title.
    pub title: String,
    /// URL.
    pub url: String,
}

/// A category in navigation.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryLink {
    /// Name.
    pub name: String,
    /// Anchor id on the catalog.
    pub id: String,
    /// Link to its section of the catalog.
    pub url: String,
    /// Number of codes.
    pub count: usize,
}

/// One code as lists and cards show it.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorSummary {
    /// The code.
    pub code: String,
    /// Title.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// Its reason phrase (`Unauthorized`).
    pub status_text: &'static str,
    /// `4xx`, `5xx`, …
    pub status_class: String,
    /// Category.
    pub category: String,
    /// Category anchor id.
    pub category_id: String,
    /// Summary sentence.
    pub summary: String,
    /// Root-relative URL of the page.
    pub url: String,
    /// Absolute URL of the page.
    pub absolute_url: String,
    /// Scope, when given.
    pub scope: Option<String>,
    /// Retryable, when given.
    pub retryable: Option<bool>,
    /// Deprecated?
    pub deprecated: bool,
    /// The deprecation note, when given.
    pub deprecation_message: Option<String>,
    /// Since, when given.
    pub since: Option<String>,
    /// The code to use instead, when given.
    pub replaced_by: Option<String>,
    /// Root-relative URL of the replacement's page.
    pub replaced_by_url: Option<String>,
    /// Root-relative URL of the page as Markdown.
    pub markdown_url: String,
    /// Former codes.
    pub aliases: Vec<String>,
    /// Related codes.
    pub related: Vec<String>,
}

impl ErrorSummary {
    /// The summary of one page.
    pub fn new(page: &ErrorPage, config: &SiteConfig) -> Self {
        let m = &page.meta;
        let rel = config.error_rel(&m.code);
        ErrorSummary {
            code: m.code.clone(),
            title: m.title.clone(),
            status: m.status,
            status_text: status_text(m.status),
            status_class: format!("{}xx", m.status / 100),
            category: m.category.clone(),
            category_id: category_id(&m.category),
            summary: m.summary.clone(),
            url: config.url(&rel),
            absolute_url: config.absolute_url(&rel),
            scope: m.scope.clone(),
            retryable: m.retryable,
            deprecated: m.deprecated.is_deprecated(),
            deprecation_message: m.deprecated.message().map(str::to_string),
            since: m.since.clone(),
            replaced_by: m.replaced_by.clone(),
            replaced_by_url: m
                .replaced_by
                .as_ref()
                .map(|r| config.url(&config.error_rel(r))),
            markdown_url: config.url(&config.error_markdown_rel(&m.code)),
            aliases: m.aliases.clone(),
            related: m.related.clone(),
        }
    }
}

/// The anchor id of a category on the catalog.
pub fn category_id(name: &str) -> String {
    format!("category-{}", slugify(name))
}

/// A category and its codes, in display order.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryGroup {
    /// Name.
    pub name: String,
    /// Anchor id.
    pub id: String,
    /// Number of codes.
    pub count: usize,
    /// The codes, sorted by code.
    pub errors: Vec<ErrorSummary>,
}

/// Groups codes by category: the order of `categories` in settings first,
/// then the rest A–Z.
pub fn group_by_category(summaries: &[ErrorSummary], config: &SiteConfig) -> Vec<CategoryGroup> {
    category_members(summaries, config)
        .into_iter()
        .map(|m| CategoryGroup {
            count: m.members.len(),
            errors: m.members.iter().map(|&i| summaries[i].clone()).collect(),
            name: m.name,
            id: m.id,
        })
        .collect()
}

/// A category and its codes, as indices into the summaries, sorted by code.
#[derive(Debug)]
pub struct CategoryMembers {
    /// Name.
    pub name: String,
    /// Anchor id.
    pub id: String,
    /// Indices into the summaries.
    pub members: Vec<usize>,
}

/// The categories of `summaries` (sorted by code) in the order of
/// `site.yaml`'s `categories`, then the others by name.
fn category_members(summaries: &[ErrorSummary], config: &SiteConfig) -> Vec<CategoryMembers> {
    let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, s) in summaries.iter().enumerate() {
        by_name.entry(s.category.as_str()).or_default().push(i);
    }
    let mut groups = Vec::new();
    for name in &config.categories {
        if let Some(members) = by_name.remove(name.as_str()) {
            groups.push((name.clone(), members));
        }
    }
    let mut rest: Vec<_> = by_name
        .into_iter()
        .map(|(n, e)| (n.to_string(), e))
        .collect();
    rest.sort_by_key(|(n, _)| n.to_lowercase());
    groups.extend(rest);
    groups
        .into_iter()
        .map(|(name, mut members)| {
            members.sort_by(|&a, &b| summaries[a].code.cmp(&summaries[b].code));
            CategoryMembers {
                id: category_id(&name),
                name,
                members,
            }
        })
        .collect()
}

/// A [`CategoryGroup`] as templates see it, borrowing the summaries.
#[derive(Serialize)]
struct CategoryGroupView<'a> {
    name: &'a str,
    id: &'a str,
    count: usize,
    errors: Vec<&'a ErrorSummary>,
}

/// An entry of a page's "on this page" list.
#[derive(Debug, Clone, Serialize)]
pub struct TocEntry {
    /// Heading id.
    pub id: String,
    /// Heading text.
    pub text: String,
    /// 2 or 3.
    pub level: u8,
}

/// How many sections a page's "on this page" list names at most: past a
/// few dozen it no longer helps a reader, and a page of a million headings
/// would otherwise carry a second copy of them all.
pub const TOC_LIMIT: usize = 100;

fn toc(headings: &[Heading]) -> Vec<TocEntry> {
    headings
        .iter()
        .filter(|h| h.level == 2)
        .take(TOC_LIMIT)
        .map(|h| TocEntry {
            id: h.id.clone(),
            text: h.text.clone(),
            level: h.level,
        })
        .collect()
}

/// How many codes of the current category the sidebar lists at most.
pub const SIDEBAR_WINDOW: usize = 40;

/// The compiled templates and what every page shares.
pub struct Templates {
    tera: Tera,
    /// A hash of every template's source, for the page cache.
    fingerprint: u64,
    /// Pages of earlier builds (`serve`), keyed by template and context.
    cache: Option<std::sync::Arc<PageCache>>,
    /// Whether rendered pages are dropped (`check`): templates still run,
    /// so they fail as they would in a build, but no output is kept.
    discard: bool,
}

/// Rendered pages kept between builds of one process (`serve`): a page
/// whose template and context did not change is not rendered again.
pub type PageCache = crate::incremental::memo::Memo<std::sync::Arc<str>>;

/// Where in a template a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSpot {
    /// The template's name, e.g. `error.html`.
    pub template: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// Turns a tera error and its causes into one message; its report shows
/// the template, line and column, which are also kept apart.
fn template_error(e: tera::Error) -> Error {
    let at = match e.kind() {
        tera::ErrorKind::SyntaxError(report) | tera::ErrorKind::RenderingError(report) => {
            Some(TemplateSpot {
                template: report.filename().to_string(),
                line: report.span().start_line,
                column: report.span().start_col + 1,
            })
        }
        _ => None,
    };
    // Tera's report starts with its own `error: `; the CLI writes one.
    let report = e.to_string();
    let mut message = report
        .strip_prefix("error: ")
        .unwrap_or(&report)
        .to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    Error::Template { message, at }
}

impl Templates {
    /// Compiles the theme's templates.
    pub fn new(theme: &Theme) -> Result<Self, Error> {
        let mut tera = Tera::default();
        tera.autoescape_on([".html", ".htm", ".xml"]);
        // Tera's own escaping also rewrites `/`, which makes URLs unreadable.
        tera.set_escape_fn(crate::highlight::write_escaped);
        tera.add_raw_templates(
            theme
                .templates
                .iter()
                .map(|(n, s)| (n.as_str(), s.as_str())),
        )
        .map_err(template_error)?;
        let fingerprint =
            keys::templates((theme.templates.iter()).map(|(n, s)| (n.as_str(), s.as_str())));
        Ok(Templates {
            tera,
            fingerprint,
            cache: None,
            discard: false,
        })
    }

    /// Keeps rendered pages in `cache` and reuses those whose context is unchanged.
    pub fn with_cache(mut self, cache: std::sync::Arc<PageCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Renders every template as before but keeps none of the output:
    /// each render returns an empty page.
    pub fn discarding_output(mut self) -> Self {
        self.discard = true;
        self
    }

    fn render(&self, name: &str, vars: Vars) -> Result<String, Error> {
        if self.discard {
            let ctx = context(vars);
            crate::timing::TEMPLATES
                .time(|| self.tera.render_to(name, &ctx, std::io::sink()))
                .map_err(template_error)?;
            return Ok(String::new());
        }
        let Some(cache) = &self.cache else {
            return self.render_now(name, vars);
        };
        // Same template, same variables: same bytes.
        let key = keys::rendered(self.fingerprint, name, &vars.0);
        let html = cache.get_or_make(key, || {
            self.render_now(name, vars)
                .map(|h| std::sync::Arc::<str>::from(h.as_str()))
        })?;
        Ok(html.to_string())
    }

    fn render_now(&self, name: &str, vars: Vars) -> Result<String, Error> {
        let ctx = context(vars);
        crate::timing::TEMPLATES
            .time(|| self.tera.render(name, &ctx))
            .map_err(template_error)
    }

    /// Ends one build: pages it did not use leave the cache.
    pub fn finish_build(&self) {
        if let Some(cache) = &self.cache {
            cache.retain_used();
        }
    }
}

/// `vars` as a Tera context.
fn context(vars: Vars) -> tera::Context {
    let mut ctx = tera::Context::new();
    for (key, value) in vars.0 {
        ctx.insert_value(key, value);
    }
    ctx
}

/// The variables a template receives, in the order they are set (a later
/// one of the same name wins).
#[derive(Default)]
struct Vars(Vec<(&'static str, Value)>);

impl Vars {
    /// Sets `key` to `value` as templates see it.
    fn insert(&mut self, key: &'static str, value: &(impl Serialize + ?Sized)) {
        self.0.push((key, value_of(value)));
    }

    /// Sets `key` to a template value: a made one is cheap to clone, as
    /// lists and maps are shared.
    fn put(&mut self, key: &'static str, value: Value) {
        self.0.push((key, value));
    }
}

/// `value` as templates see it. Only a map key that is not a string,
/// number or boolean can fail, and errdocs hands templates none.
fn value_of(value: &(impl Serialize + ?Sized)) -> Value {
    Value::try_from_serializable(value).unwrap_or_else(|_| Value::none())
}

/// Everything shared by the pages of one build.
pub struct PageRenderer<'a> {
    /// Settings.
    pub config: &'a SiteConfig,
    /// Templates.
    pub templates: &'a Templates,
    /// Asset URLs.
    pub assets: &'a AssetUrls,
    /// What pages show of the whole site.
    pub index: Arc<SiteIndex>,
}

/// What the pages of one build show of the whole site: every code's
/// summary, the categories and the guides. Made once per build; `serve`
/// keeps it to render one page again without going over every code.
#[derive(Debug)]
pub struct SiteIndex {
    /// Summaries of all codes, sorted by code.
    pub summaries: Vec<ErrorSummary>,
    /// Codes grouped by category.
    pub groups: Vec<CategoryMembers>,
    /// Categories for navigation.
    pub categories: Vec<CategoryLink>,
    /// Guides for navigation.
    pub guides: Vec<GuideLink>,
    /// The site as templates see it.
    site: Value,
    /// A hash of each summary, in the order of `summaries`, and of what
    /// every page shares: the parts of a page's key.
    summary_keys: Vec<u64>,
    shared_key: u64,
}

/// How much of a code a template value shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SummaryShape {
    /// The whole summary.
    Full,
    /// What a sidebar link shows ([`NavEntry`]).
    Nav,
}

/// One code as the sidebar lists it: a page shows a window of 40 of
/// these, so they carry what a link needs rather than the whole summary.
#[derive(Serialize)]
struct NavEntry<'a> {
    code: &'a str,
    title: &'a str,
    url: &'a str,
    status: u16,
    deprecated: bool,
}

/// Template values made on this thread, by the hash of the summary and
/// their shape. The next page in a category shows nearly the same codes
/// (its sidebar window moves by one), so a value is cloned from here far
/// more often than made, and a clone shares the made map.
type SummaryValues =
    std::collections::HashMap<(u64, SummaryShape), Value, rustc_hash::FxBuildHasher>;

thread_local! {
    static SUMMARY_VALUES: std::cell::RefCell<SummaryValues> = Default::default();
}

/// At this many values a thread starts again from none, bounding memory
/// (a value is a few KiB) while holding the windows of many categories.
const SUMMARY_VALUES_LIMIT: usize = 2048;

impl SiteIndex {
    /// The template value of summary `i`, in `shape`.
    fn summary_value(&self, i: usize, shape: SummaryShape) -> Value {
        let key = (self.summary_keys[i], shape);
        SUMMARY_VALUES.with(|cell| {
            let mut values = cell.borrow_mut();
            if let Some(value) = values.get(&key) {
                return value.clone();
            }
            let s = &self.summaries[i];
            let value = match shape {
                SummaryShape::Full => value_of(s),
                SummaryShape::Nav => value_of(&NavEntry {
                    code: &s.code,
                    title: &s.title,
                    url: &s.url,
                    status: s.status,
                    deprecated: s.deprecated,
                }),
            };
            if values.len() >= SUMMARY_VALUES_LIMIT {
                values.clear();
            }
            values.insert(key, value.clone());
            value
        })
    }
}

/// What a code's page shows of other codes, as indices: into `summaries`,
/// and into its category's group.
struct ErrorParts {
    /// The code itself in `summaries` (none only for a page not loaded with the others).
    own: Option<usize>,
    related: Vec<usize>,
    /// The category's group, and the sidebar's window and neighbours in it.
    group: Option<usize>,
    window: std::ops::Range<usize>,
    prev: Option<usize>,
    next: Option<usize>,
}

/// The site as every page's context shows it.
fn site_value(
    config: &SiteConfig,
    assets: &AssetUrls,
    guides: &[GuideLink],
    categories: &[CategoryLink],
) -> Value {
    let c = config;
    let site = SiteView {
        title: &c.title,
        base_url: &c.base_url,
        base_path: &c.base_path,
        language: &c.language,
        extra: &c.extra,
        home_url: c.url(""),
        catalog_url: c.url(&c.catalog_rel()),
        catalog_json_url: c.url(&crate::paths::index_json_rel(c)),
        feed_url: c.url(&crate::paths::feed_rel(c)),
        audiences: &c.audiences,
        assets,
        guides,
        categories,
    };
    value_of(&site)
}

impl<'a> PageRenderer<'a> {
    /// Prepares the shared parts of every page.
    pub fn new(
        config: &'a SiteConfig,
        templates: &'a Templates,
        assets: &'a AssetUrls,
        content: &Content,
    ) -> Self {
        use rayon::prelude::*;
        // Made once per build for every page, before any page can start.
        let summaries: Vec<ErrorSummary> = content
            .errors
            .par_iter()
            .map(|e| ErrorSummary::new(e, config))
            .collect();
        let groups = category_members(&summaries, config);
        let catalog_url = config.url(&config.catalog_rel());
        let categories: Vec<CategoryLink> = groups
            .iter()
            .map(|g| CategoryLink {
                name: g.name.clone(),
                id: g.id.clone(),
                url: format!("{catalog_url}#{}", g.id),
                count: g.members.len(),
            })
            .collect();
        let mut guide_pages: Vec<&GuidePage> = content
            .guides
            .iter()
            .filter(|g| !g.rel_url.is_empty())
            .collect();
        guide_pages.sort_by(|a, b| {
            (a.meta.weight.unwrap_or(i64::MAX), a.title.to_lowercase())
                .cmp(&(b.meta.weight.unwrap_or(i64::MAX), b.title.to_lowercase()))
        });
        let guides: Vec<GuideLink> = guide_pages
            .into_iter()
            .map(|g| GuideLink {
                title: g.title.clone(),
                url: config.url(&g.rel_url),
            })
            .collect();
        let summary_keys = summaries.par_iter().map(keys::summary).collect();
        let mut index = SiteIndex {
            site: site_value(config, assets, &guides, &categories),
            summaries,
            groups,
            categories,
            guides,
            summary_keys,
            shared_key: 0,
        };
        index.shared_key = keys::shared(templates.fingerprint, &index.site, config);
        Self::with_index(config, templates, assets, Arc::new(index))
    }

    /// A renderer over the index of an earlier build with the same
    /// settings, templates and assets.
    pub fn with_index(
        config: &'a SiteConfig,
        templates: &'a Templates,
        assets: &'a AssetUrls,
        index: Arc<SiteIndex>,
    ) -> Self {
        PageRenderer {
            config,
            templates,
            assets,
            index,
        }
    }

    /// Whether `page` shows other pages what the index says of its code:
    /// then a change to it changes no other page.
    pub fn summary_unchanged(&self, page: &ErrorPage) -> bool {
        self.summary_index(&page.meta.code).is_some_and(|i| {
            self.index.summary_keys[i] == keys::summary(&ErrorSummary::new(page, self.config))
        })
    }

    /// A key over the templates, the settings and every code's summary:
    /// what the catalog and the site-wide files show.
    pub fn catalog_key(&self) -> u64 {
        keys::catalog(self.index.shared_key, &self.index.summary_keys)
    }

    fn summary_index(&self, code: &str) -> Option<usize> {
        self.index
            .summaries
            .binary_search_by(|s| s.code.as_str().cmp(code))
            .ok()
    }

    /// The codes of a category, as indices into the summaries.
    fn siblings(&self, group: Option<usize>) -> &[usize] {
        group.map_or(&[][..], |g| self.index.groups[g].members.as_slice())
    }

    /// The groups as templates see them.
    fn group_views(&self) -> Vec<CategoryGroupView<'_>> {
        self.index
            .groups
            .iter()
            .map(|g| CategoryGroupView {
                name: &g.name,
                id: &g.id,
                count: g.members.len(),
                errors: g
                    .members
                    .iter()
                    .map(|&i| &self.index.summaries[i])
                    .collect(),
            })
            .collect()
    }

    fn error_parts(&self, page: &ErrorPage) -> ErrorParts {
        let m = &page.meta;
        let related = m
            .related
            .iter()
            .filter_map(|r| self.summary_index(r))
            .collect();
        let group = self.index.groups.iter().position(|g| g.name == m.category);
        let siblings = self.siblings(group);
        let pos = siblings
            .binary_search_by(|&i| self.index.summaries[i].code.as_str().cmp(&m.code))
            .ok();
        // The sidebar shows the neighbourhood of a large category, so page
        // size stays constant however many codes a category holds.
        let at = pos.unwrap_or(0);
        let start = at
            .saturating_sub(SIDEBAR_WINDOW / 2)
            .min(siblings.len().saturating_sub(SIDEBAR_WINDOW));
        let window = start..(start + SIDEBAR_WINDOW).min(siblings.len());
        ErrorParts {
            own: self.summary_index(&m.code),
            related,
            group,
            window,
            prev: pos.and_then(|i| i.checked_sub(1)),
            next: pos.map(|i| i + 1).filter(|&i| i < siblings.len()),
        }
    }

    /// What every page's variables start from: the site and the page's URLs.
    fn base_vars(&self, rel: &str) -> Vars {
        let c = self.config;
        let mut vars = Vars::default();
        vars.put("site", self.index.site.clone());
        vars.insert("page_url", &c.url(rel));
        vars.insert("canonical_url", &c.absolute_url(rel));
        vars
    }

    /// The template variables of a code's page, but for what its body
    /// gives (`content`, `toc`, `audiences`).
    fn error_vars(&self, page: &ErrorPage) -> Vars {
        let m = &page.meta;
        let parts = self.error_parts(page);
        let rel = self.config.error_rel(&m.code);
        let index = &self.index;
        let summary = |i: &usize| index.summary_value(*i, SummaryShape::Full);
        let own = match parts.own {
            Some(i) => summary(&i),
            None => value_of(&ErrorSummary::new(page, self.config)),
        };
        let related: Vec<Value> = parts.related.iter().map(summary).collect();
        let siblings = self.siblings(parts.group);
        let nav: Vec<Value> = siblings[parts.window.clone()]
            .iter()
            .map(|&i| index.summary_value(i, SummaryShape::Nav))
            .collect();
        let extra = m
            .extra
            .as_ref()
            .and_then(|v| serde_json::to_value(v).ok())
            .unwrap_or(serde_json::Value::Object(Default::default()));
        let category_url = format!(
            "{}#{}",
            self.config.url(&self.config.catalog_rel()),
            category_id(&m.category)
        );
        let neighbour = |n: Option<usize>| n.map_or(Value::none(), |i| summary(&siblings[i]));
        let mut vars = self.base_vars(&rel);
        vars.put("error", own);
        vars.insert("error_extra", &extra);
        vars.insert("source_path", &page.source.content_path);
        vars.insert(
            "edit_url",
            &self.config.edit_link(&page.source.content_path),
        );
        vars.put("related", Value::from(related));
        vars.put("siblings", Value::from(nav));
        vars.insert("siblings_total", &siblings.len());
        vars.put("prev", neighbour(parts.prev));
        vars.put("next", neighbour(parts.next));
        vars.insert("category_url", &category_url);
        vars
    }

    /// A key over everything a code's files depend on but its body: the
    /// templates, the settings, and each part of the page's context (which
    /// also fixes its aliases' redirects). Equal keys and equal bodies give
    /// equal files. It hashes the same parts [`Self::error_page`] puts in
    /// the context, by their precomputed hashes, so it costs little.
    pub fn error_page_key(&self, page: &ErrorPage) -> u64 {
        let m = &page.meta;
        let parts = self.error_parts(page);
        let summaries = &self.index.summary_keys;
        let own = match parts.own {
            Some(i) => summaries[i],
            None => keys::summary(&ErrorSummary::new(page, self.config)),
        };
        let related: Vec<u64> = parts.related.iter().map(|&i| summaries[i]).collect();
        let siblings = self.siblings(parts.group);
        let mut window = siblings[parts.window.clone()].iter().map(|&i| summaries[i]);
        let neighbour = |n: Option<usize>| n.map_or(0, |i| summaries[siblings[i]]);
        let category = parts.group.map(|_| keys::CategoryPlace {
            len: siblings.len(),
            window: &mut window,
            prev: neighbour(parts.prev),
            next: neighbour(parts.next),
        });
        keys::error_page(
            self.index.shared_key,
            own,
            keys::extra(m.extra.as_ref()),
            &page.source.content_path,
            &related,
            category,
        )
    }

    /// The page of a code, with its rendered body.
    pub fn error_page(&self, page: &ErrorPage, body: &RenderedBody) -> Result<String, Error> {
        let mut vars = self.error_vars(page);
        let audiences: Vec<_> = body
            .audiences
            .iter()
            .filter_map(|id| self.config.audiences.iter().find(|a| &a.id == id))
            .collect();
        vars.insert("content", &body.html);
        vars.insert("toc", &toc(&body.headings));
        vars.insert("audiences", &audiences);
        self.templates.render("error.html", vars)
    }

    /// The catalog page.
    pub fn catalog(&self) -> Result<String, Error> {
        let mut vars = self.base_vars(&self.config.catalog_rel());
        let mut statuses: Vec<u16> = self.index.summaries.iter().map(|s| s.status).collect();
        statuses.sort_unstable();
        statuses.dedup();
        vars.insert("groups", &self.group_views());
        vars.insert("total", &self.index.summaries.len());
        vars.insert("statuses", &statuses);
        self.templates.render("catalog.html", vars)
    }

    /// A guide page, or the home page.
    pub fn guide(&self, page: &GuidePage, body: &RenderedBody) -> Result<String, Error> {
        let mut vars = self.base_vars(&page.rel_url);
        let extra = page
            .meta
            .extra
            .as_ref()
            .and_then(|v| serde_json::to_value(v).ok())
            .unwrap_or(serde_json::Value::Object(Default::default()));
        vars.insert(
            "page",
            &serde_json::json!({
                "title": page.title,
                "description": page.meta.description,
                "url": self.config.url(&page.rel_url),
                "source_path": page.source.content_path,
                "edit_url": self.config.edit_link(&page.source.content_path),
                "extra": extra,
            }),
        );
        vars.insert("is_home", &page.rel_url.is_empty());
        vars.insert("content", &body.html);
        vars.insert("toc", &toc(&body.headings));
        vars.insert("groups", &self.group_views());
        self.templates.render("page.html", vars)
    }

    /// The home page when `content/index.md` does not exist.
    pub fn default_home(&self) -> Result<String, Error> {
        let mut vars = self.base_vars("");
        vars.insert(
            "page",
            &serde_json::json!({
                "title": self.config.title,
                "description": null,
                "url": self.config.url(""),
                "source_path": null,
                "edit_url": null,
                "extra": {},
            }),
        );
        vars.insert("is_home", &true);
        vars.insert("content", "");
        vars.insert("toc", &Vec::<TocEntry>::new());
        vars.insert("groups", &self.group_views());
        self.templates.render("page.html", vars)
    }

    /// The 404 page.
    pub fn not_found(&self) -> Result<String, Error> {
        let mut vars = self.base_vars("404.html");
        vars.insert("groups", &self.group_views());
        self.templates.render("404.html", vars)
    }

    /// The redirect page of a former code.
    pub fn redirect(&self, alias: &str, target: &ErrorSummary) -> Result<String, Error> {
        let mut vars = self.base_vars(&self.config.error_rel(alias));
        vars.insert("alias", &alias);
        vars.insert("error", target);
        self.templates.render("redirect.html", vars)
    }

    /// `sitemap.xml` over the given site-relative paths.
    pub fn sitemap(&self, rels: &[String]) -> Result<String, Error> {
        let mut vars = Vars::default();
        let urls: Vec<String> = rels
            .iter()
            .map(|r| self.config.absolute_url(&crate::export::encode_path(r)))
            .collect();
        vars.insert("urls", &urls);
        // Whatever a template override prints, the sitemap stays XML.
        let xml = self.templates.render("sitemap.xml", vars)?;
        Ok(crate::export::xml_chars(&xml).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_phrases() {
        assert_eq!(status_text(401), "Unauthorized");
        assert_eq!(status_text(429), "Too Many Requests");
        assert_eq!(status_text(599), "");
    }
}
