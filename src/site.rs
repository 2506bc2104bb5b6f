//! The pipeline: settings → content → rendered bodies → pages → output.
//! `check` runs the first three stages without highlighting; `build` runs
//! them all.

use crate::paths::CACHE_DIR;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::diagnostic::{Diagnostics, NameIndex, Severity, Unlisted};
use crate::export;
use crate::highlight::HighlightCache;
use crate::incremental::cache::CacheFolder;
use crate::incremental::keys;
use crate::incremental::memo::Memo;
use crate::incremental::reuse::PageStore;
use crate::load::config::SiteConfig;
use crate::load::content::{self, Content};
use crate::load::theme::{self, Theme};
use crate::markdown::{self, RenderContext, RenderedBody, ResponseExpectation};
use crate::output::{plan, OutputFolder, Sink, Staging};
use crate::render::{AssetUrls, PageCache, PageRenderer, Templates};
use crate::Error;

/// How to load a site.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Overrides `base_url` (preview deploys).
    pub base_url: Option<String>,
    /// Include drafts.
    pub drafts: bool,
}

/// A loaded site: settings and content.
#[derive(Debug, Clone)]
pub struct Site {
    /// The site root.
    pub root: PathBuf,
    /// Settings.
    pub config: SiteConfig,
    /// Content.
    pub content: Content,
    /// `response.schema`, compiled.
    pub response_schema: Option<Arc<jsonschema::Validator>>,
}

/// What receives each body as soon as it is rendered, with the body's key
/// (a hash of its source and of everything else its rendering reads).
pub type BodyConsumer<'a, E> = dyn Fn(PageRef<'_>, &RenderedBody, u64) -> Result<(), E> + Sync + 'a;

/// What may stand in for rendering a code page's body: given the page and
/// its body key, what the checks need of a body the output already holds.
pub type BodyReuse<'a> =
    dyn Fn(&crate::load::content::ErrorPage, u64) -> Option<RenderedBody> + Sync + 'a;

/// What a rendering of every body may use and whom it feeds.
#[derive(Default, Clone, Copy)]
pub struct BodyHooks<'a, E> {
    /// Bodies of earlier builds of this process.
    pub cache: Option<&'a BodyCache>,
    /// Highlighted blocks of earlier builds.
    pub highlight_cache: Option<&'a HighlightCache>,
    /// Receives each body as it is rendered.
    pub consume: Option<&'a BodyConsumer<'a, E>>,
    /// Skips bodies whose pages the output already holds.
    pub reuse: Option<&'a BodyReuse<'a>>,
    /// Keeps only what the checks need of each body, as with `consume`,
    /// even without a consumer.
    pub lean: bool,
}

/// A page whose body was just rendered.
#[derive(Debug, Clone, Copy)]
pub enum PageRef<'a> {
    /// An error code's page.
    Error(&'a crate::load::content::ErrorPage),
    /// A guide or the home page.
    Guide(&'a crate::load::content::GuidePage),
}

/// Rendered Markdown bodies, in the order of `Content::errors` and `Content::guides`.
#[derive(Debug, Clone, Default)]
pub struct Bodies {
    /// One per error page.
    pub errors: Vec<RenderedBody>,
    /// One per guide page.
    pub guides: Vec<RenderedBody>,
}

/// What a finished build did.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// Where the site went.
    pub output: PathBuf,
    /// Number of code pages.
    pub error_pages: usize,
    /// Number of files written.
    pub files: usize,
    /// Code pages kept as the previous build wrote them (not rendered).
    pub reused_pages: usize,
    /// Warnings found along the way.
    pub warnings: Diagnostics,
    /// Wall time.
    pub elapsed: Duration,
    /// Wall time of each stage, in order; `highlight (cpu)` is the time
    /// spent highlighting summed over threads.
    pub stages: Vec<(&'static str, Duration)>,
}

impl Site {
    /// Reads settings and content. Settings problems are errors; content
    /// problems come back beside the pages that did load, so that later
    /// stages can report theirs too in the same run.
    pub fn load(root: &Path, opts: &LoadOptions) -> Result<(Site, Diagnostics), Error> {
        Self::load_with(root, opts, None)
    }

    /// [`Site::load`], taking unchanged files from `memo`.
    pub fn load_with(
        root: &Path,
        opts: &LoadOptions,
        memo: Option<&content::SourceMemo>,
    ) -> Result<(Site, Diagnostics), Error> {
        check_root(root)?;
        let mut config = SiteConfig::load(root)?;
        if let Some(url) = &opts.base_url {
            config = config.with_base_url(url)?;
        }
        let response_schema = config.response_schema(root)?.map(Arc::new);
        let (content, mut problems) = content::load_with(root, &config, opts.drafts, memo);
        // Reported with the content's problems, so that one run shows both.
        problems.extend(theme::static_problems(root));
        if content.errors.is_empty() && !problems.has_errors() {
            let drafts = if opts.drafts {
                ""
            } else {
                " (pages marked `draft: true` count only with --drafts)"
            };
            return Err(no_pages(root, drafts));
        }
        Ok((
            Site {
                root: root.to_path_buf(),
                config,
                content,
                response_schema,
            },
            problems,
        ))
    }

    /// The site's own files and folders, which no output may replace.
    pub fn sources(&self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = [
            crate::paths::CONFIG_FILE,
            crate::paths::CONTENT_DIR,
            crate::paths::TEMPLATES_DIR,
            crate::paths::STATIC_DIR,
            CACHE_DIR,
        ]
        .iter()
        .map(|p| self.root.join(p))
        .collect();
        if let Some(schema) = &self.config.response.schema {
            paths.push(self.root.join(schema));
        }
        paths
    }

    /// Renders every Markdown body in parallel and checks what rendering
    /// finds (JSON examples, links and their anchors, languages). The
    /// bodies keep only what the checks need: their HTML and code go as
    /// soon as each is rendered, so memory stays flat however large the site.
    pub fn render_bodies(&self, highlight: bool) -> (Bodies, Diagnostics) {
        let hooks = BodyHooks::<std::convert::Infallible> {
            cache: None,
            highlight_cache: None,
            consume: None,
            reuse: None,
            lean: true,
        };
        match self.render_bodies_cached(highlight, hooks) {
            Ok(done) => done,
            Err(never) => match never {},
        }
    }

    /// [`Site::render_bodies`], taking unchanged bodies from `hooks.cache`
    /// and leaving only this build's bodies in it.
    ///
    /// With `hooks.consume`, each body is handed over as soon as it is
    /// rendered (to write its page), and only what the checks need is kept:
    /// the HTML and the code of every body are dropped, so memory stays flat
    /// however large the site. With `hooks.reuse`, a code page the output
    /// already holds is neither rendered nor handed over.
    pub fn render_bodies_cached<E: Send>(
        &self,
        highlight: bool,
        hooks: BodyHooks<'_, E>,
    ) -> Result<(Bodies, Diagnostics), E> {
        let BodyHooks {
            cache,
            highlight_cache,
            consume,
            reuse,
            lean,
        } = hooks;
        let links = self.content.link_map(&self.config);
        let link_names = NameIndex::new(links.keys().map(String::as_str));
        // Keys only matter to the hooks; `check` needs none.
        let keyed = cache.is_some() || consume.is_some() || reuse.is_some();
        let salt = if keyed {
            self.cache_salt(&links, highlight)
        } else {
            0
        };
        let body_key = |source: &crate::load::content::SourceFile| {
            if !keyed {
                return 0;
            }
            keys::body(salt, &source.content_path, &source.text)
        };
        let cached = |key: u64, render: &dyn Fn() -> RenderedBody| {
            let Some(c) = cache else { return render() };
            c.get_or_make::<std::convert::Infallible>(key, || Ok(render()))
                .unwrap_or_else(|never| match never {})
        };
        let keep = |page: PageRef<'_>, body: RenderedBody, key: u64| -> Result<RenderedBody, E> {
            match consume {
                Some(consume) => consume(page, &body, key)?,
                None if !lean => return Ok(body),
                None => {}
            }
            let mut body = body;
            body.html = String::new();
            for block in &mut body.code_blocks {
                block.code = String::new();
            }
            Ok(body)
        };
        let errors: Vec<RenderedBody> = self
            .content
            .errors
            .par_iter()
            .map(|page| {
                let key = body_key(&page.source);
                if let Some(body) = reuse.and_then(|reuse| reuse(page, key)) {
                    return Ok(body);
                }
                let body = cached(key, &|| {
                    self.render_error_body(page, &links, &link_names, highlight, highlight_cache)
                });
                keep(PageRef::Error(page), body, key)
            })
            .collect::<Result<_, E>>()?;
        let guides: Vec<RenderedBody> = self
            .content
            .guides
            .par_iter()
            .map(|page| {
                let ctx = RenderContext {
                    config: &self.config,
                    links: &links,
                    link_names: &link_names,
                    highlight,
                    response: None,
                    skip_leading_h1: page.meta.title.is_none(),
                    schema: None,
                    highlight_cache,
                };
                let key = body_key(&page.source);
                let body = cached(key, &|| {
                    crate::timing::MARKDOWN.time(|| markdown::render(&page.source, &ctx))
                });
                keep(PageRef::Guide(page), body, key)
            })
            .collect::<Result<_, E>>()?;
        if let Some(c) = cache {
            c.retain_used();
        }
        let bodies = Bodies { errors, guides };
        let problems = self.check_bodies(&bodies);
        Ok((bodies, problems))
    }

    /// Renders the Markdown body of a code's page.
    fn render_error_body(
        &self,
        page: &crate::load::content::ErrorPage,
        links: &HashMap<String, String>,
        link_names: &NameIndex,
        highlight: bool,
        highlight_cache: Option<&HighlightCache>,
    ) -> RenderedBody {
        let url = format!(
            "{}/{}",
            self.config.canonical_base_url,
            self.config.error_rel(&page.meta.code)
        );
        let ctx = RenderContext {
            config: &self.config,
            links,
            link_names,
            highlight,
            response: Some(ResponseExpectation {
                code: &page.meta.code,
                doc_urls: vec![url.trim_end_matches('/').to_string(), url.clone()],
            }),
            skip_leading_h1: false,
            schema: self.response_schema.as_deref(),
            highlight_cache,
        };
        crate::timing::MARKDOWN.time(|| markdown::render(&page.source, &ctx))
    }

    /// What every body's rendering depends on besides its own text.
    fn cache_salt(&self, links: &HashMap<String, String>, highlight: bool) -> u64 {
        let schema = (self.config.response.schema.as_ref()).map(|schema| {
            crate::load::sources::read(&self.root, &self.root.join(schema)).unwrap_or_default()
        });
        keys::body_salt(
            &self.config,
            &self.config.canonical_base_url,
            links,
            highlight,
            self.response_schema.is_some(),
            schema.as_deref(),
        )
    }

    fn check_bodies(&self, bodies: &Bodies) -> Diagnostics {
        let mut problems = Diagnostics::new();
        let sources = self
            .content
            .errors
            .iter()
            .map(|e| &e.source)
            .chain(self.content.guides.iter().map(|g| &g.source));
        let rendered = bodies.errors.iter().chain(bodies.guides.iter());
        let pages: Vec<_> = sources.zip(rendered).collect();
        let ids: HashMap<&str, HashSet<&str>> = pages
            .iter()
            .map(|(s, b)| {
                (
                    s.content_path.as_str(),
                    b.headings.iter().map(|h| h.id.as_str()).collect(),
                )
            })
            .collect();
        for (source, body) in &pages {
            problems.extend(body.diagnostics.iter().cloned());
            let mut unlisted = Unlisted::default();
            for link in &body.links {
                let Some(fragment) = &link.fragment else {
                    continue;
                };
                let known = ids.get(link.target.as_str());
                if known.is_some_and(|set| !set.contains(fragment.as_str()))
                    && unlisted.admit("broken-anchor", Severity::Error, link.offset)
                {
                    let page = if link.target == source.content_path {
                        "this page".to_string()
                    } else {
                        format!("content/{}", link.target)
                    };
                    problems.push(source.error_at(
                        link.offset,
                        "broken-anchor",
                        format!("link to `#{fragment}`: {page} has no heading with that id"),
                    ));
                }
            }
            for block in &body.code_blocks {
                if !crate::highlight::is_known_language(&block.lang)
                    && unlisted.admit("unknown-language", Severity::Warning, block.fence_offset)
                {
                    problems.push(source.warning_at(
                        block.fence_offset,
                        "unknown-language",
                        format!(
                            "the highlighter does not know the language `{}`; the block is shown as plain text",
                            block.lang
                        ),
                    ));
                }
            }
            problems.extend(unlisted.summaries(|severity, at, rule, msg| {
                source.diagnostic_at(severity, at, rule, msg)
            }));
        }
        problems.sort();
        problems
    }
}

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// What to load.
    pub load: LoadOptions,
    /// The output folder (default: `public/` under the root).
    pub output: Option<PathBuf>,
    /// Build into a non-empty folder that errdocs did not write, keeping
    /// every file already in it.
    pub adopt: bool,
}

/// Refuses a site root that is not a folder holding `content/`: building
/// an empty site there would replace the previous output with nothing.
pub fn check_root(root: &Path) -> Result<(), Error> {
    if !root.is_dir() {
        return Err(Error::Usage(format!(
            "the site root {} is not a folder; pass the folder that holds content/ with -r",
            root.display()
        )));
    }
    if !root.join(crate::paths::CONTENT_DIR).is_dir() {
        return Err(Error::Usage(format!(
            "the site root {} has no {}/ folder; pass the folder that holds content/ with -r",
            root.display(),
            crate::paths::CONTENT_DIR
        )));
    }
    Ok(())
}

/// [`check_root`], and that the root holds at least one error page file,
/// found as the load finds them (links inside the root followed).
pub fn check_site_root(root: &Path) -> Result<(), Error> {
    check_root(root)?;
    let errors = root
        .join(crate::paths::CONTENT_DIR)
        .join(crate::paths::ERRORS_DIR);
    let (pages, _) =
        crate::load::sources::walk(root, &errors, |p| p.extension().is_some_and(|x| x == "md"));
    if pages.is_empty() {
        return Err(no_pages(root, ""));
    }
    Ok(())
}

fn no_pages(root: &Path, why: &str) -> Error {
    Error::Usage(format!(
        "the site root {} has no error pages under {}/{}/{why}; pass the folder that holds content/ with -r, or add a page with `errdocs new`",
        root.display(),
        crate::paths::CONTENT_DIR,
        crate::paths::ERRORS_DIR,
    ))
}

/// Builds the site at `root`. On any error the previous output stays as it was.
pub fn build(root: &Path, opts: &BuildOptions) -> Result<BuildReport, Error> {
    let output = opts
        .output
        .clone()
        .unwrap_or_else(|| crate::paths::default_output(root));
    // A site that does not load (a wrong root, no pages, bad settings)
    // gets nothing written, not even a lock or a cache folder.
    let loaded = Loaded::read(root, &opts.load, &Caches::default())?;
    let loading = Instant::now();
    let folder = OutputFolder::open(root, &output, opts.adopt)?;
    let cache = CacheFolder::open_if_possible(root)?;
    let cache_dir = cache.as_ref().map(|c| c.path().to_path_buf());
    let caches = match &cache_dir {
        Some(dir) => Caches {
            highlight: HighlightCache::load(dir),
            stored: Some(PageStore::load(dir, folder.path())),
            ..Caches::default()
        },
        None => Caches::default(),
    };
    let opened = loading.elapsed();
    let mut staging = None;
    let rendered = loaded.render(&caches, true, || {
        staging = Some(Staging::begin(folder)?);
        Ok(staging.as_ref())
    })?;
    let mut report = rendered.publish(&caches)?;
    report.stages.insert(2, ("caches", opened));
    if let Some(s) = staging {
        let commit = Instant::now();
        report.output = s.commit()?;
        report.stages.push(("commit", commit.elapsed()));
        report.elapsed += commit.elapsed();
    }
    // The caches only save time; a build never fails for them.
    let Some(cache_dir) = cache_dir else {
        return Ok(report);
    };
    let saving = Instant::now();
    let (highlights, pages) = rayon::join(
        || caches.highlight.save(&cache_dir),
        || match &caches.stored {
            Some(store) => store.save(&cache_dir),
            None => Ok(()),
        },
    );
    let saved = highlights.and(pages);
    if let Err(e) = saved {
        crate::terminal::note(&format!(
            "warning: cannot save the build cache in {}: {e}\n",
            cache_dir.display()
        ));
    }
    report.stages.push(("save caches", saving.elapsed()));
    report.elapsed += saving.elapsed();
    Ok(report)
}

/// Rendered Markdown bodies kept between builds of one process (`serve`),
/// keyed by each file's text and everything else its rendering reads.
pub type BodyCache = Memo<RenderedBody>;

/// What one build may reuse from earlier ones.
#[derive(Debug, Default)]
pub struct Caches {
    /// Rendered Markdown bodies (`serve`).
    pub bodies: Option<BodyCache>,
    /// Highlighted code blocks (on disk for `build`, in memory for `serve`).
    pub highlight: HighlightCache,
    /// Rendered pages (`serve`).
    pub pages: Option<Arc<PageCache>>,
    /// Code pages of the previous build into the same folder (`build`), or
    /// in memory (`serve`).
    pub stored: Option<PageStore>,
    /// Content files as loaded by earlier builds (`serve`).
    pub sources: Option<content::SourceMemo>,
    /// What the last successful build leaves to render one page again
    /// (`serve`); emptied by a failed build.
    pub built: Option<std::sync::Mutex<Option<Arc<BuiltSite>>>>,
}

impl Caches {
    /// Every cache, in memory: what `serve` keeps between rebuilds.
    pub fn in_memory() -> Self {
        Caches {
            bodies: Some(BodyCache::new()),
            highlight: HighlightCache::new(),
            pages: Some(Arc::new(PageCache::new())),
            stored: Some(PageStore::in_memory()),
            sources: Some(content::SourceMemo::new()),
            built: Some(std::sync::Mutex::new(None)),
        }
    }
}

/// Runs the whole pipeline and writes the site into the sink that `open`
/// returns once all checks passed; nothing is written before that.
pub fn build_into<'s, S: Sink + 's>(
    root: &Path,
    load: &LoadOptions,
    caches: &Caches,
    open: impl FnOnce() -> Result<Option<&'s S>, Error>,
) -> Result<BuildReport, Error> {
    let loaded = Loaded::read(root, load, caches)?;
    loaded.render(caches, true, open)?.publish(caches)
}

/// What `check` finds: the loaded site, its bodies (what the checks keep of
/// them) and every problem a build would report.
#[derive(Debug)]
pub struct Checked {
    /// Settings and content.
    pub site: Site,
    /// The bodies, in the order of the content.
    pub bodies: Bodies,
    /// Every problem, errors and warnings, sorted.
    pub problems: Diagnostics,
}

/// Runs every stage of a build but highlighting, writing nothing: each
/// page and site file is rendered through the templates and dropped, so a
/// template that fails to render fails here as in `build`.
pub fn check(root: &Path, load: &LoadOptions) -> Result<Checked, Error> {
    let caches = Caches::default();
    let loaded = Loaded::read(root, load, &caches)?;
    let rendered = loaded.render(&caches, false, || Ok(Some(&crate::output::Discard)))?;
    Ok(Checked {
        problems: rendered.report.warnings,
        site: rendered.site,
        bodies: rendered.bodies,
    })
}

/// Theme, settings and content of a build, read before anything is opened
/// for writing: a site that cannot load leaves no lock or cache behind.
struct Loaded {
    start: Instant,
    lap: Instant,
    stages: Vec<(&'static str, Duration)>,
    /// The theme's static files as the output holds them.
    theme_files: Vec<plan::ThemeFile>,
    templates: Templates,
    site: Site,
    problems: Diagnostics,
}

impl Loaded {
    fn read(root: &Path, load: &LoadOptions, caches: &Caches) -> Result<Loaded, Error> {
        let start = Instant::now();
        if let Some(slot) = &caches.built {
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        let theme = Theme::load(root)?;
        let mut templates = Templates::new(&theme)?;
        if let Some(pages) = &caches.pages {
            templates = templates.with_cache(Arc::clone(pages));
        }
        let themed = start.elapsed();
        let lap = Instant::now();
        let (site, mut problems) = Site::load_with(root, load, caches.sources.as_ref())?;
        // A file that two claims would write, or a name no disk can hold,
        // fails here rather than halfway through writing.
        let theme_files = plan::theme_files(&site.config, &theme);
        let claims = plan::claims(root, &site.config, &site.content, &theme_files);
        problems.extend(plan::check(&claims));
        problems.extend(plan::check_code_lengths(&site.content));
        Ok(Loaded {
            start,
            stages: vec![("theme", themed), ("load", lap.elapsed())],
            lap: Instant::now(),
            theme_files,
            templates,
            site,
            problems,
        })
    }

    /// Renders the loaded site into the sink that `open` returns and
    /// collects every problem; content errors are left to the caller.
    fn render<'s, S: Sink + 's>(
        self,
        caches: &Caches,
        highlight: bool,
        open: impl FnOnce() -> Result<Option<&'s S>, Error>,
    ) -> Result<Rendered, Error> {
        let Loaded {
            start,
            mut lap,
            mut stages,
            theme_files,
            templates,
            site,
            mut problems,
        } = self;
        let mut stage = |name: &'static str, stages: &mut Vec<(&'static str, Duration)>| {
            stages.push((name, lap.elapsed()));
            lap = Instant::now();
        };
        crate::timing::reset();
        // Pages are written as their bodies are rendered; a build that then
        // fails leaves only the sink's staging behind, which is thrown away.
        // A site that already has errors (two files claiming one path among
        // them) is rendered for its other problems but written nowhere.
        let sink: Option<&dyn Sink> = if problems.has_errors() {
            Some(&crate::output::Discard)
        } else {
            open()?.map(|s| s as &dyn Sink)
        };
        let templates = match sink {
            Some(out) if out.discards() => templates.discarding_output(),
            _ => templates,
        };
        let mut files = 0;
        let assets = match sink {
            Some(out) => {
                let (assets, n) = write_assets(&site, &theme_files, out)?;
                files += n;
                assets
            }
            None => AssetUrls::default(),
        };
        let renderer = PageRenderer::new(&site.config, &templates, &assets, &site.content);
        let links = site.content.link_map(&site.config);
        let written = std::sync::atomic::AtomicUsize::new(0);
        let stored = caches.stored.as_ref();
        let reused = std::sync::atomic::AtomicUsize::new(0);
        let page_key = |page: &crate::load::content::ErrorPage, body_key: u64| {
            keys::kept_page(body_key, renderer.error_page_key(page))
        };
        let reuse =
            |page: &crate::load::content::ErrorPage, body_key: u64| -> Option<RenderedBody> {
                let (store, out) = (stored?, sink?);
                if !store.has(&page.meta.code) {
                    return None;
                }
                let key = page_key(page, body_key);
                let kept = store.reuse(&page.meta.code, key, |rel| out.keep(rel))?;
                caches.highlight.mark_used(&kept.highlights);
                written.fetch_add(kept.files, std::sync::atomic::Ordering::Relaxed);
                reused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Some(kept.body)
            };
        let write_page =
            |page: PageRef<'_>, body: &RenderedBody, body_key: u64| -> Result<(), Error> {
                let Some(out) = sink else { return Ok(()) };
                if body
                    .diagnostics
                    .iter()
                    .any(|d| d.severity == crate::Severity::Error)
                {
                    return Ok(());
                }
                let n = match page {
                    PageRef::Error(page) => {
                        let files = write_error_page(&renderer, &links, page, body, out)?;
                        let n = files.len();
                        if let Some(store) = stored {
                            let (light, dark) =
                                (&site.config.highlight.light, &site.config.highlight.dark);
                            let highlights = body
                                .code_blocks
                                .iter()
                                .map(|b| HighlightCache::block_key(&b.code, &b.lang, light, dark))
                                .collect();
                            let key = page_key(page, body_key);
                            store.record(&page.meta.code, key, files, body, highlights);
                        }
                        n
                    }
                    PageRef::Guide(page) => {
                        let html = renderer.guide(page, body)?;
                        out.write(&format!("{}index.html", page.rel_url), html.as_bytes())?;
                        1
                    }
                };
                written.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            };
        let hooks = BodyHooks {
            cache: caches.bodies.as_ref(),
            highlight_cache: Some(&caches.highlight),
            consume: Some(&write_page),
            reuse: Some(&reuse),
            lean: true,
        };
        // The site files need only the summaries: they are made beside the
        // pages, so no core idles while one renders the catalog at the end.
        // Like the pages, they reach the output only if the build succeeds.
        let site_files = || -> Result<usize, Error> {
            let Some(out) = sink else { return Ok(0) };
            let key = site_files_key(&site, &renderer);
            let kept = stored.and_then(|store| store.reuse(SITE_FILES, key, |rel| out.keep(rel)));
            if let Some(kept) = kept {
                return Ok(kept.files);
            }
            let written = write_site_files(&site, &renderer, out)?;
            let n = written.len();
            if let Some(store) = stored {
                store.record(
                    SITE_FILES,
                    key,
                    written,
                    &RenderedBody::default(),
                    Vec::new(),
                );
            }
            Ok(n)
        };
        let (bodies, site_files) =
            rayon::join(|| site.render_bodies_cached(highlight, hooks), site_files);
        let (bodies, body_problems) = bodies?;
        problems.extend(body_problems);
        problems.sort();
        stage("pages and site files", &mut stages);
        for (name, clock) in [
            ("markdown (cpu)", &crate::timing::MARKDOWN),
            ("highlight (cpu)", &crate::timing::HIGHLIGHT),
            ("templates (cpu)", &crate::timing::TEMPLATES),
            ("write (cpu)", &crate::timing::WRITE),
        ] {
            stages.push((name, clock.take()));
        }
        // Content errors come first: a template error may be their effect.
        let site_files = match site_files {
            Err(e) if !problems.has_errors() => return Err(e),
            Err(_) => 0,
            Ok(n) => n,
        };
        files += written.into_inner() + site_files;
        let report = BuildReport {
            output: PathBuf::new(),
            error_pages: site.content.errors.len(),
            files,
            reused_pages: reused.into_inner(),
            warnings: problems,
            elapsed: start.elapsed(),
            stages,
        };
        let index = Arc::clone(&renderer.index);
        drop(renderer);
        Ok(Rendered {
            report,
            site,
            bodies,
            built: (templates, assets, links, index),
        })
    }
}

/// A rendered site and every problem found on the way.
struct Rendered {
    /// `warnings` holds every problem, errors included, until published.
    report: BuildReport,
    site: Site,
    bodies: Bodies,
    built: (
        Templates,
        AssetUrls,
        HashMap<String, String>,
        Arc<crate::render::SiteIndex>,
    ),
}

impl Rendered {
    /// The report of a build that may be published: an error in the
    /// content fails it. Keeps what `serve` needs to render one page again.
    fn publish(self, caches: &Caches) -> Result<BuildReport, Error> {
        let Rendered {
            report,
            site,
            built: (templates, assets, links, index),
            ..
        } = self;
        if report.warnings.has_errors() {
            return Err(Error::Content(report.warnings));
        }
        templates.finish_build();
        if let Some(slot) = &caches.built {
            let built = BuiltSite {
                index,
                site,
                templates,
                assets,
                link_names: NameIndex::new(links.keys().map(String::as_str)),
                links,
            };
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(built));
        }
        Ok(report)
    }
}

/// A successful build's settings, content, templates and index, kept by
/// `serve` to render the page of one edited error file at once, before
/// the full rebuild that checks the whole site follows.
pub struct BuiltSite {
    site: Site,
    templates: Templates,
    assets: AssetUrls,
    index: Arc<crate::render::SiteIndex>,
    links: HashMap<String, String>,
    link_names: NameIndex,
}

impl std::fmt::Debug for BuiltSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltSite")
            .field("root", &self.site.root)
            .field("error_pages", &self.site.content.errors.len())
            .finish_non_exhaustive()
    }
}

impl BuiltSite {
    /// The files of the page of the error file at `path` (its HTML, its
    /// Markdown version and its aliases' redirects) as they are now, when
    /// that page alone changed: same code, same draft state, and the same
    /// summary, so no other page shows anything new. `None` when the file
    /// is not a code page of this build, does not load, changes other
    /// pages or has errors; the full rebuild then says what is wrong.
    pub fn render_error_file(
        &self,
        path: &Path,
        highlight: &HighlightCache,
    ) -> Option<crate::output::MemoryFiles> {
        let site = &self.site;
        let rel = content::content_path(&site.root, path);
        let old = site
            .content
            .errors
            .iter()
            .find(|e| e.source.content_path == rel)?;
        let page = content::load_error(&site.root, path).ok()?;
        let renderer = PageRenderer::with_index(
            &site.config,
            &self.templates,
            &self.assets,
            Arc::clone(&self.index),
        );
        if page.meta.code != old.meta.code
            || page.meta.draft != old.meta.draft
            || !renderer.summary_unchanged(&page)
        {
            return None;
        }
        let body =
            site.render_error_body(&page, &self.links, &self.link_names, true, Some(highlight));
        if body
            .diagnostics
            .iter()
            .any(|d| d.severity == crate::Severity::Error)
        {
            return None;
        }
        let out = crate::output::MemoryOutput::new();
        write_error_page(&renderer, &self.links, &page, &body, &out).ok()?;
        Some(out.into_files())
    }
}

/// Writes the theme's assets and static files; returns their URLs and count.
fn write_assets(
    site: &Site,
    files: &[plan::ThemeFile],
    out: &dyn Sink,
) -> Result<(AssetUrls, usize), Error> {
    let config = &site.config;
    let mut assets = AssetUrls::default();
    for file in files {
        out.write(&file.rel, &file.bytes)?;
        let url = config.url(&file.rel);
        if file.fingerprinted() {
            if file.name.ends_with(".css") {
                assets.css = url.clone();
            } else {
                assets.js = url.clone();
            }
        }
        assets.files.insert(file.name.clone(), url);
    }
    Ok((assets, files.len()))
}

/// Writes one code's page, its Markdown version and its aliases'
/// redirects; returns their output-relative paths.
fn write_error_page(
    renderer: &PageRenderer<'_>,
    links: &HashMap<String, String>,
    page: &crate::load::content::ErrorPage,
    body: &RenderedBody,
    out: &dyn Sink,
) -> Result<Vec<String>, Error> {
    let config = renderer.config;
    let html = renderer.error_page(page, body)?;
    let mut files = Vec::with_capacity(2 + page.meta.aliases.len());
    let rel = format!("{}index.html", config.error_rel(&page.meta.code));
    out.write(&rel, html.as_bytes())?;
    files.push(rel);
    let rel = config.error_markdown_rel(&page.meta.code);
    if !out.discards() {
        out.write(&rel, export::page_markdown(page, config, links).as_bytes())?;
    }
    files.push(rel);
    let summary = crate::render::ErrorSummary::new(page, config);
    for alias in &page.meta.aliases {
        let html = renderer.redirect(alias, &summary)?;
        let rel = format!("{}index.html", config.error_rel(alias));
        out.write(&rel, html.as_bytes())?;
        files.push(rel);
    }
    Ok(files)
}

/// Writes what is not one page's: the default home page, the catalog,
/// `index.json` and its schema, the feed, `llms.txt`, 404 and the sitemap;
/// returns their output-relative paths.
fn write_site_files(
    site: &Site,
    renderer: &PageRenderer<'_>,
    out: &dyn Sink,
) -> Result<Vec<String>, Error> {
    let config = &site.config;
    let mut files = Vec::new();
    let mut put = |rel: String, bytes: &[u8]| -> Result<(), Error> {
        out.write(&rel, bytes)?;
        files.push(rel);
        Ok(())
    };
    let mut sitemap: Vec<String> = site
        .content
        .guides
        .iter()
        .map(|g| g.rel_url.clone())
        .collect();
    // With `errors_path: ""` the catalog is the home page.
    let catalog_rel = config.catalog_rel();
    if !catalog_rel.is_empty() && !site.content.guides.iter().any(|g| g.rel_url.is_empty()) {
        put("index.html".into(), renderer.default_home()?.as_bytes())?;
        sitemap.push(String::new());
    }
    put(
        format!("{catalog_rel}index.html"),
        renderer.catalog()?.as_bytes(),
    )?;
    // What no template makes cannot fail: a sink that drops it all (the
    // checks) is spared making it.
    if out.discards() {
        for rel in [
            crate::paths::index_json_rel(config),
            crate::paths::index_schema_rel(config),
            crate::paths::feed_rel(config),
            crate::paths::LLMS_TXT.to_string(),
        ] {
            put(rel, &[])?;
        }
    } else {
        put(
            crate::paths::index_json_rel(config),
            export::catalog_index_json(&renderer.index.summaries, config).as_bytes(),
        )?;
        let schema = export::index_schema(config);
        put(
            crate::paths::index_schema_rel(config),
            // A `Value` always serialises.
            (serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n").as_bytes(),
        )?;
        put(
            crate::paths::feed_rel(config),
            export::atom_feed(&renderer.index.summaries, config).as_bytes(),
        )?;
        put(
            crate::paths::LLMS_TXT.into(),
            export::llms_txt(&site.content, &renderer.index.summaries, config).as_bytes(),
        )?;
    }
    put(
        crate::paths::NOT_FOUND.into(),
        renderer.not_found()?.as_bytes(),
    )?;
    sitemap.push(catalog_rel);
    sitemap.extend(
        site.content
            .errors
            .iter()
            .map(|e| config.error_rel(&e.meta.code)),
    );
    sitemap.sort();
    put(
        crate::paths::SITEMAP.into(),
        renderer.sitemap(&sitemap)?.as_bytes(),
    )?;
    Ok(files)
}

/// The name under which the store records the site files (no code has a space).
const SITE_FILES: &str = " site files";

/// A key over everything [`write_site_files`] reads: every code's summary,
/// the templates and settings, and the guides.
fn site_files_key(site: &Site, renderer: &PageRenderer<'_>) -> u64 {
    let guides = site.content.guides.iter().map(|g| keys::GuideEntry {
        url: &g.rel_url,
        title: &g.title,
        description: g.meta.description.as_deref(),
    });
    keys::site_files(renderer.catalog_key(), guides)
}
