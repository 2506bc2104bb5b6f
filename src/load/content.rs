//! Loading content: walk `content/`, split front matter, parse it into
//! typed pages and check what can be checked without rendering.

use crate::paths::{CONTENT_DIR, ERRORS_DIR};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, Diagnostics, Excerpt, LineIndex, Severity};
use crate::load::config::SiteConfig;
use crate::load::yaml;

/// Markdown files larger than this many bytes are refused (a page worth
/// reading is far smaller, and rendering costs a multiple of the size).
pub const MAX_FILE_BYTES: usize = 8 << 20;

/// Front matter larger than this many bytes is refused unparsed.
pub const MAX_FRONT_MATTER_BYTES: usize = 64 << 10;

/// One Markdown file as read from disk.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The file's path as shown to users (relative to the site root).
    pub shown: PathBuf,
    /// Path relative to `content/`, with `/` separators.
    pub content_path: String,
    /// The whole text, BOM removed.
    pub text: String,
    /// Byte offset where the Markdown body starts.
    pub body_start: usize,
    /// Line starts of `text`, for positions.
    pub lines: LineIndex,
}

impl SourceFile {
    /// The Markdown body, after the front matter.
    pub fn body(&self) -> &str {
        &self.text[self.body_start..]
    }

    /// The 1-based line and column of a byte offset into the body.
    pub fn body_position(&self, body_offset: usize) -> (usize, usize) {
        self.lines
            .position(&self.text, self.body_start + body_offset)
    }

    /// A problem at 1-based `line`:`col` of this file, with its source line.
    pub fn diagnostic(
        &self,
        severity: Severity,
        line: usize,
        col: usize,
        rule: &'static str,
        msg: impl Into<String>,
    ) -> Diagnostic {
        // The line index keeps this cheap for files with many problems.
        let mut d = Diagnostic::error(&self.shown, None, line, col, rule, msg);
        d.severity = severity;
        d.source_line =
            (self.lines.line_text(&self.text, line)).map(|l| Box::new(Excerpt::new(l, col)));
        d
    }

    /// A problem at a byte offset of the body.
    pub fn diagnostic_at(
        &self,
        severity: Severity,
        body_offset: usize,
        rule: &'static str,
        msg: impl Into<String>,
    ) -> Diagnostic {
        let (l, c) = self.body_position(body_offset);
        self.diagnostic(severity, l, c, rule, msg)
    }

    /// An error at a byte offset of the body.
    pub fn error_at(
        &self,
        body_offset: usize,
        rule: &'static str,
        msg: impl Into<String>,
    ) -> Diagnostic {
        self.diagnostic_at(Severity::Error, body_offset, rule, msg)
    }

    /// A warning at a byte offset of the body.
    pub fn warning_at(
        &self,
        body_offset: usize,
        rule: &'static str,
        msg: impl Into<String>,
    ) -> Diagnostic {
        self.diagnostic_at(Severity::Warning, body_offset, rule, msg)
    }

    /// An error at the value of front-matter key `key` (or the file's first line).
    pub fn error_at_key(
        &self,
        key: &str,
        rule: &'static str,
        msg: impl Into<String>,
    ) -> Diagnostic {
        let (l, c) = self.key_position(key);
        self.diagnostic(Severity::Error, l, c, rule, msg)
    }

    /// A warning at the value of front-matter key `key`.
    pub fn warning_at_key(
        &self,
        key: &str,
        rule: &'static str,
        msg: impl Into<String>,
    ) -> Diagnostic {
        let (l, c) = self.key_position(key);
        self.diagnostic(Severity::Warning, l, c, rule, msg)
    }

    /// Where `key:` stands in the front matter.
    pub fn key_position(&self, key: &str) -> (usize, usize) {
        yaml::key_position(&self.text[..self.body_start], 0, key).unwrap_or((1, 1))
    }

    /// Where `needle` first appears inside the value of front-matter key
    /// `key` (for one item of a list), else where the key is.
    pub fn item_position(&self, key: &str, needle: &str) -> (usize, usize) {
        let (line, col) = self.key_position(key);
        let front = &self.text[..self.body_start];
        // Lists may be inline (`[a, b]`) or one item a line below the key.
        for (i, text) in front.split('\n').enumerate().skip(line - 1).take(64) {
            if i + 1 > line && !text.starts_with([' ', '\t', '-']) {
                break;
            }
            if let Some(byte) = find_word(text, needle) {
                return (i + 1, text[..byte].chars().count() + 1);
            }
        }
        (line, col)
    }
}

fn find_word(haystack: &str, word: &str) -> Option<usize> {
    let is_word = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.');
    haystack.match_indices(word).map(|(i, _)| i).find(|&i| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + word.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

/// `deprecated:` in front matter: a flag, or a message saying what to do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Deprecation {
    /// `true` or `false`.
    Flag(bool),
    /// Deprecated, with a note for readers.
    Message(String),
    /// Not given.
    #[default]
    #[serde(skip)]
    Absent,
}

impl Deprecation {
    /// True when the code is deprecated.
    pub fn is_deprecated(&self) -> bool {
        matches!(self, Deprecation::Flag(true) | Deprecation::Message(_))
    }

    /// The message, when one was given.
    pub fn message(&self) -> Option<&str> {
        match self {
            Deprecation::Message(m) => Some(m),
            _ => None,
        }
    }
}

/// The front matter of an errdocs error file.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "errdocs error front matter")]
pub struct ErrorMeta {
    /// The error code, as the API returns it; used verbatim in the URL.
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"))]
    pub code: String,
    /// Human title.
    pub title: String,
    /// HTTP status, 100–599.
    #[schemars(range(min = 100, max = 599))]
    pub status: u16,
    /// Category name, for grouping.
    pub category: String,
    /// One sentence.
    pub summary: String,
    /// Which endpoints it affects.
    #[serde(default)]
    pub scope: Option<String>,
    /// Whether a retry may succeed.
    #[serde(default)]
    pub retryable: Option<bool>,
    /// Codes to show as related.
    #[serde(default)]
    pub related: Vec<String>,
    /// Former codes; each gets a redirect page.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Whether (and why) the code is deprecated.
    #[serde(default)]
    pub deprecated: Deprecation,
    /// The code to use instead, when this one is on its way out.
    #[serde(default)]
    pub replaced_by: Option<String>,
    /// When the code appeared: a date (`2024-03` or `2024-03-15`); the feed
    /// of new codes orders by it.
    #[serde(default)]
    pub since: Option<String>,
    /// Drafts build only with `--drafts`.
    #[serde(default)]
    pub draft: bool,
    /// Free data for templates.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub extra: Option<serde_yaml::Value>,
}

/// A JSON Schema of error front matter, for editors.
pub fn front_matter_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ErrorMeta)).unwrap_or_default()
}

/// The front matter of a guide page (all optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PageMeta {
    /// Title; defaults to the first `#` heading, then the file name.
    pub title: Option<String>,
    /// A sentence for the meta description and link cards.
    pub description: Option<String>,
    /// Drafts build only with `--drafts`.
    pub draft: bool,
    /// Order among sibling pages (lower first), then title.
    pub weight: Option<i64>,
    /// Free data for templates.
    pub extra: Option<serde_yaml::Value>,
}

/// One error code's page.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    /// Its front matter.
    pub meta: ErrorMeta,
    /// Its file.
    pub source: SourceFile,
}

/// A Markdown page that is not an error code: the home page or a guide.
#[derive(Debug, Clone)]
pub struct GuidePage {
    /// Its front matter.
    pub meta: PageMeta,
    /// The resolved title.
    pub title: String,
    /// Site-relative URL path (`guides/retries/`, or empty for the home page).
    pub rel_url: String,
    /// Its file.
    pub source: SourceFile,
}

/// Everything under `content/`.
#[derive(Debug, Clone, Default)]
pub struct Content {
    /// Error pages, sorted by code.
    pub errors: Vec<ErrorPage>,
    /// Home and guide pages, sorted by path.
    pub guides: Vec<GuidePage>,
    /// Content paths of files that failed to load; links to them are not
    /// reported again.
    pub unloaded: Vec<String>,
}

impl Content {
    /// Maps each page's content path (`errors/auth/x.md`) to its site-relative URL.
    pub fn link_map(&self, config: &SiteConfig) -> HashMap<String, String> {
        let mut map = HashMap::new();
        for path in &self.unloaded {
            map.insert(path.clone(), String::new());
        }
        for e in &self.errors {
            map.insert(
                e.source.content_path.clone(),
                config.error_rel(&e.meta.code),
            );
        }
        for g in &self.guides {
            map.insert(g.source.content_path.clone(), g.rel_url.clone());
        }
        map
    }

    /// The error page for `code`, exactly.
    pub fn error(&self, code: &str) -> Option<&ErrorPage> {
        self.errors
            .binary_search_by(|e| e.meta.code.as_str().cmp(code))
            .ok()
            .map(|i| &self.errors[i])
    }
}

/// Decodes a file's bytes as UTF-8 without a BOM, or says where it is not UTF-8.
pub fn decode_text(shown: &Path, bytes: &[u8]) -> Result<String, Diagnostic> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            // The valid prefix is UTF-8 by definition.
            let prefix = std::str::from_utf8(valid).unwrap_or_default();
            let line = prefix.matches('\n').count() + 1;
            let col = prefix
                .rsplit('\n')
                .next()
                .map(|l| l.chars().count())
                .unwrap_or(0)
                + 1;
            Err(Diagnostic::error(
                shown,
                None,
                line,
                col,
                "encoding",
                format!(
                    "the file is not valid UTF-8 (byte 0x{:02X} at offset {}); save it as UTF-8",
                    bytes[e.valid_up_to()],
                    e.valid_up_to()
                ),
            ))
        }
    }
}

/// A file split into its front matter and body.
struct Split<'a> {
    /// The YAML between the `---` lines; `None` when the file has none.
    yaml: Option<&'a str>,
    /// Where the body starts.
    body_start: usize,
}

/// Splits `---` front matter from the body. An opening `---` without a
/// closing one is an error.
fn split_front_matter(text: &str) -> Result<Split<'_>, (usize, String)> {
    let mut lines = text.split_inclusive('\n');
    let Some(first) = lines.next() else {
        return Ok(Split {
            yaml: None,
            body_start: 0,
        });
    };
    if first.trim_end() != "---" {
        return Ok(Split {
            yaml: None,
            body_start: 0,
        });
    }
    let yaml_start = first.len();
    let mut offset = yaml_start;
    for line in lines {
        let t = line.trim_end();
        if t == "---" || t == "..." {
            return Ok(Split {
                yaml: Some(&text[yaml_start..offset]),
                body_start: offset + line.len(),
            });
        }
        offset += line.len();
    }
    Err((
        1,
        "front matter is not closed: add a `---` line after it".into(),
    ))
}

/// Reads one file, giving its source and front-matter YAML.
/// The path of a file under `content/`, relative to it, with `/` separators.
pub fn content_path(root: &Path, path: &Path) -> String {
    path.strip_prefix(root.join(CONTENT_DIR))
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn read_source(root: &Path, path: &Path) -> Result<(SourceFile, Option<String>), Diagnostic> {
    use std::io::Read as _;
    let shown = crate::diagnostic::display_path(root, path);
    let content_path = content_path(root, path);
    let read_error = |e: crate::load::sources::ReadError| {
        Diagnostic::error(&shown, None, 1, 1, e.rule(), e.to_string())
    };
    let meta = crate::load::sources::check_inside(root, path).map_err(read_error)?;
    if !meta.is_file() {
        return Err(read_error(crate::load::sources::ReadError::NotAFile));
    }
    // A file too large is refused before it is read, and one that grows
    // while it is read is not read past the limit.
    let too_large = |len: u64| len > MAX_FILE_BYTES as u64;
    if too_large(meta.len()) {
        return Err(too_large_error(&shown));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes))
        .map_err(|e| read_error(e.into()))?;
    source_from_bytes(shown, content_path, &bytes)
}

fn too_large_error(shown: &Path) -> Diagnostic {
    Diagnostic::error(
        shown,
        None,
        1,
        1,
        "file-size",
        format!(
            "the file is larger than {} MiB, the most errdocs reads; split it into several pages",
            MAX_FILE_BYTES >> 20
        ),
    )
}

/// Decodes a file and splits its front matter from its body.
pub fn source_from_bytes(
    shown: PathBuf,
    content_path: String,
    bytes: &[u8],
) -> Result<(SourceFile, Option<String>), Diagnostic> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_large_error(&shown));
    }
    let text = decode_text(&shown, bytes)?;
    let split = split_front_matter(&text).map_err(|(line, msg)| {
        Diagnostic::error(&shown, Some(&text), line, 1, "front-matter", msg)
    })?;
    let yaml = split.yaml.map(str::to_string);
    let source = SourceFile {
        shown,
        content_path,
        lines: LineIndex::new(&text),
        body_start: split.body_start,
        text,
    };
    Ok((source, yaml))
}

/// A code's pattern: `^[A-Za-z0-9][A-Za-z0-9_.-]*$`.
pub fn is_valid_code(code: &str) -> bool {
    let mut chars = code.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Reads and parses the error file at `path` on its own.
pub fn load_error(root: &Path, path: &Path) -> Result<ErrorPage, Vec<Diagnostic>> {
    let (source, yaml) = read_source(root, path).map_err(|d| vec![d])?;
    error_page(source, yaml)
}

/// Parses an error file from its bytes: front matter, required fields and
/// the rules one file can break on its own.
pub fn parse_error_file(
    shown: PathBuf,
    content_path: String,
    bytes: &[u8],
) -> Result<ErrorPage, Vec<Diagnostic>> {
    let (source, yaml) = source_from_bytes(shown, content_path, bytes).map_err(|d| vec![d])?;
    error_page(source, yaml)
}

fn error_page(source: SourceFile, yaml: Option<String>) -> Result<ErrorPage, Vec<Diagnostic>> {
    let Some(yaml) = yaml else {
        return Err(vec![Diagnostic::error(
            &source.shown,
            Some(&source.text),
            1,
            1,
            "front-matter",
            "no front matter: an error file starts with a `---` line, then code, title, status, category and summary",
        )]);
    };
    raw_controls(&source)?;
    let meta: ErrorMeta =
        yaml::from_str(&yaml, 1).map_err(|e| vec![e.at(&source.shown, &source.text)])?;
    let mut problems = escaped_controls(&source, &yaml);
    if !is_valid_code(&meta.code) {
        problems.push(source.error_at_key(
            "code",
            "code",
            format!(
                "code `{}` must start with a letter or digit and hold only letters, digits, `_`, `.` and `-`",
                meta.code
            ),
        ));
    }
    if !(100..=599).contains(&meta.status) {
        problems.push(source.error_at_key(
            "status",
            "status",
            format!("status {} is not an HTTP status (100–599)", meta.status),
        ));
    }
    for (key, value) in [
        ("title", &meta.title),
        ("category", &meta.category),
        ("summary", &meta.summary),
    ] {
        if value.trim().is_empty() {
            problems.push(source.error_at_key(key, "front-matter", format!("`{key}` is empty")));
        }
    }
    for alias in &meta.aliases {
        if !is_valid_code(alias) {
            let (l, c) = source.item_position("aliases", alias);
            problems.push(Diagnostic::error(
                &source.shown,
                Some(&source.text),
                l,
                c,
                "code",
                format!("alias `{alias}` is not a valid code"),
            ));
        }
    }
    if problems.is_empty() {
        Ok(ErrorPage { meta, source })
    } else {
        Err(problems)
    }
}

fn load_guide(root: &Path, path: &Path) -> Result<GuidePage, Vec<Diagnostic>> {
    let (source, yaml) = read_source(root, path).map_err(|d| vec![d])?;
    let meta: PageMeta = match &yaml {
        Some(y) => {
            raw_controls(&source)?;
            let meta = yaml::from_str(y, 1).map_err(|e| vec![e.at(&source.shown, &source.text)])?;
            let problems = escaped_controls(&source, y);
            if !problems.is_empty() {
                return Err(problems);
            }
            meta
        }
        None => PageMeta::default(),
    };
    let rel = source.content_path.trim_end_matches(".md");
    let rel_url = match rel.strip_suffix("index") {
        Some(dir) if dir.is_empty() || dir.ends_with('/') => dir.to_string(),
        _ => format!("{rel}/"),
    };
    let title = meta
        .title
        .clone()
        .or_else(|| first_h1(source.body()))
        .unwrap_or_else(|| {
            let stem = rel.rsplit('/').next().unwrap_or(rel);
            stem.replace(['-', '_'], " ")
        });
    // A heading or file name may hold control characters (the body's are
    // warnings); the title goes into HTML and XML, which forbid them.
    let title = crate::markdown::replace_controls(title);
    Ok(GuidePage {
        meta,
        title,
        rel_url,
        source,
    })
}

/// Front matter over [`MAX_FRONT_MATTER_BYTES`] is an error; so is each
/// control character written as it is in the front matter, at its position: they are not text, and XML (the feed) forbids
/// most of them.
fn raw_controls(source: &SourceFile) -> Result<(), Vec<Diagnostic>> {
    let front = &source.text[..source.body_start];
    // Checked before parsing, which costs a multiple of the size.
    if front.len() > MAX_FRONT_MATTER_BYTES {
        return Err(vec![source.diagnostic(
            Severity::Error,
            1,
            1,
            "front-matter",
            format!(
                "the front matter is larger than {} KiB, the most errdocs parses; move long text into the body",
                MAX_FRONT_MATTER_BYTES >> 10
            ),
        )]);
    }
    let problems: Vec<Diagnostic> = crate::markdown::control_chars(front)
        .take(20)
        .map(|(offset, c)| {
            let (l, col) = source.lines.position(&source.text, offset);
            source.diagnostic(
                Severity::Error,
                l,
                col,
                "control-character",
                format!(
                    "the front matter holds the control character U+{:04X}, which is not text (text pasted from a PDF or a terminal often does); delete it",
                    u32::from(c)
                ),
            )
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Control characters that YAML escapes put into front-matter values,
/// each an error at its key.
fn escaped_controls(source: &SourceFile, yaml: &str) -> Vec<Diagnostic> {
    yaml::escaped_controls(yaml)
        .into_iter()
        .map(|(key, c)| {
            source.error_at_key(
                &key,
                "control-character",
                yaml::escaped_control_message(&key, c),
            )
        })
        .collect()
}

/// The text of a leading `# ` heading.
pub fn first_h1(body: &str) -> Option<String> {
    let line = body.lines().find(|l| !l.trim().is_empty())?;
    let t = line.trim_start().strip_prefix("# ")?;
    Some(t.trim().trim_end_matches('#').trim().to_string())
}

/// Lists the Markdown files under `content/`, sorted; dotfiles and editor
/// leftovers are skipped, and a walk problem (a link out of the site, a
/// link loop, an unreadable folder, a FIFO) is a diagnostic.
pub fn markdown_files(root: &Path) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    crate::load::sources::walk(root, &root.join(CONTENT_DIR), |p| {
        p.extension().is_some_and(|x| x == "md")
    })
}

pub use crate::load::sources::is_ignored_name;

/// Loads every page under `content/` and checks each on its own and
/// against the others (unique codes and URLs, aliases, related codes).
/// Drafts are dropped unless `drafts` is set. The problems come back
/// sorted, warnings included; pages with errors are left out of the content.
pub fn load(root: &Path, config: &SiteConfig, drafts: bool) -> (Content, Diagnostics) {
    load_with(root, config, drafts, None)
}

/// A file as loaded, and the size and modification time it had then.
type Remembered<T> = (u64, std::time::SystemTime, Result<T, Vec<Diagnostic>>);

/// Files loaded by earlier builds of one process (`serve`), by path: a file
/// whose size and modification time did not change is not read again.
#[derive(Debug, Default)]
pub struct SourceMemo {
    errors: std::sync::Mutex<HashMap<PathBuf, Remembered<ErrorPage>>>,
    guides: std::sync::Mutex<HashMap<PathBuf, Remembered<GuidePage>>>,
}

impl SourceMemo {
    /// An empty memo.
    pub fn new() -> Self {
        Self::default()
    }
}

/// `load(path)`, or what it gave last time if the file looks unchanged;
/// only files of this load stay in `memo`.
fn remembered<T: Clone>(
    memo: Option<&std::sync::Mutex<HashMap<PathBuf, Remembered<T>>>>,
    path: &Path,
    load: impl FnOnce() -> Result<T, Vec<Diagnostic>>,
) -> Result<T, Vec<Diagnostic>> {
    let Some(memo) = memo else { return load() };
    let stamp = std::fs::metadata(path)
        .ok()
        .and_then(|m| Some((m.len(), m.modified().ok()?)));
    let lock = || memo.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((len, mtime)) = stamp {
        if let Some((l, t, result)) = lock().get(path) {
            if (*l, *t) == (len, mtime) {
                return result.clone();
            }
        }
    }
    let result = load();
    // A file changed within the last moments may change again within the
    // same timestamp tick, unseen: it is read again next time.
    let settled = |t: std::time::SystemTime| {
        t.elapsed()
            .is_ok_and(|age| age > std::time::Duration::from_secs(2))
    };
    match stamp {
        Some((len, mtime)) if settled(mtime) => {
            lock().insert(path.to_path_buf(), (len, mtime, result.clone()));
        }
        _ => {
            lock().remove(path);
        }
    }
    result
}

/// [`load`], taking files that did not change from `memo`.
pub fn load_with(
    root: &Path,
    config: &SiteConfig,
    drafts: bool,
    memo: Option<&SourceMemo>,
) -> (Content, Diagnostics) {
    let (files, mut problems) = markdown_files(root);
    let errors_prefix = format!("{}/", ERRORS_DIR);
    let content_root = root.join(CONTENT_DIR);
    let is_error = |p: &Path| {
        p.strip_prefix(&content_root)
            .map(|r| {
                r.to_string_lossy()
                    .replace('\\', "/")
                    .starts_with(&errors_prefix)
            })
            .unwrap_or(false)
    };
    let (error_files, guide_files): (Vec<&PathBuf>, Vec<&PathBuf>) =
        files.iter().partition(|p| is_error(p));

    let error_results: Vec<_> = error_files
        .par_iter()
        .map(|p| remembered(memo.map(|m| &m.errors), p, || load_error(root, p)))
        .collect();
    let guide_results: Vec<_> = guide_files
        .par_iter()
        .map(|p| remembered(memo.map(|m| &m.guides), p, || load_guide(root, p)))
        .collect();
    if let Some(memo) = memo {
        // Deleted files leave the memo.
        let errors: HashSet<&PathBuf> = error_files.iter().copied().collect();
        let guides: HashSet<&PathBuf> = guide_files.iter().copied().collect();
        memo.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|p, _| errors.contains(p));
        memo.guides
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|p, _| guides.contains(p));
    }

    let mut content = Content::default();
    for (r, path) in error_results.into_iter().zip(&error_files) {
        match r {
            Ok(page) if page.meta.draft && !drafts => {}
            Ok(page) => content.errors.push(page),
            Err(ds) => {
                problems.extend(ds);
                content.unloaded.push(content_path(root, path));
            }
        }
    }
    for (r, path) in guide_results.into_iter().zip(&guide_files) {
        match r {
            Ok(page) if page.meta.draft && !drafts => {}
            Ok(page) => content.guides.push(page),
            Err(ds) => {
                problems.extend(ds);
                content.unloaded.push(content_path(root, path));
            }
        }
    }
    content.errors.sort_by(|a, b| a.meta.code.cmp(&b.meta.code));
    content
        .guides
        .sort_by(|a, b| a.source.content_path.cmp(&b.source.content_path));
    problems.extend(cross_checks(&content, config));

    let mut problems: Diagnostics = problems.into_iter().collect();
    problems.sort();
    (content, problems)
}

/// `since` must be a date the feed can order by; `replaced_by` must name
/// another existing code, and only a deprecated code is replaced.
fn lifecycle_checks(
    page: &ErrorPage,
    content: &Content,
    codes: &yaml::NameIndex,
) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let m = &page.meta;
    if let Some(since) = &m.since {
        if since_date(since).is_none() {
            problems.push(page.source.warning_at_key(
                "since",
                "since",
                format!(
                    "since `{since}` is not a date (YYYY, YYYY-MM or YYYY-MM-DD); the feed of new codes leaves this code out"
                ),
            ));
        }
    }
    let Some(target) = &m.replaced_by else {
        return problems;
    };
    if target == &m.code {
        problems.push(page.source.error_at_key(
            "replaced_by",
            "replaced-by",
            format!("the code is replaced by itself (`{target}`)"),
        ));
    } else if content.error(target).is_none() {
        let hint = codes
            .did_you_mean(target)
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        problems.push(page.source.error_at_key(
            "replaced_by",
            "replaced-by",
            format!("replacement code `{target}` does not exist{hint}"),
        ));
    }
    if !m.deprecated.is_deprecated() {
        problems.push(page.source.warning_at_key(
            "replaced_by",
            "replaced-by",
            "the code has a replacement but is not deprecated; add `deprecated: true` or a message",
        ));
    }
    problems
}

/// `since` as an RFC 3339 date (`2024-03` becomes `2024-03-01`), when it is
/// a plausible `YYYY`, `YYYY-MM` or `YYYY-MM-DD` date.
pub fn since_date(since: &str) -> Option<String> {
    let parts: Vec<&str> = since.trim().split('-').collect();
    let num = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let year = num(parts.first()?, 4)?;
    let month = parts.get(1).map_or(Some(1), |m| num(m, 2))?;
    let day = parts.get(2).map_or(Some(1), |d| num(d, 2))?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (parts.len() <= 3 && (1..=days).contains(&day))
        .then(|| format!("{year:04}-{month:02}-{day:02}"))
}

/// Checks between pages: unique codes (ignoring case), aliases and related
/// codes. Output URLs are checked with the theme's files, in
/// [`crate::output::plan`].
fn cross_checks(content: &Content, config: &SiteConfig) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    // Hints for codes that do not exist, bounded however many pages ask.
    let codes = yaml::NameIndex::new(content.errors.iter().map(|e| e.meta.code.as_str()));
    // Lower-cased name -> (the name as written, the page that claims it, whether it is an alias).
    let mut names: BTreeMap<String, (&str, &ErrorPage, bool)> = BTreeMap::new();
    for page in &content.errors {
        let code = &page.meta.code;
        match names.get(&code.to_lowercase()) {
            Some((other, first, _)) => {
                let (fl, fc) = first.source.key_position("code");
                let (l, c) = page.source.key_position("code");
                problems.push(
                    page.source
                        .error_at_key(
                            "code",
                            "duplicate-code",
                            format!("code `{code}` is already used by another page (`{other}`); codes must be unique ignoring case"),
                        )
                        .with_related(&first.source.shown, fl, fc, "first used here"),
                );
                problems.push(
                    first
                        .source
                        .error_at_key(
                            "code",
                            "duplicate-code",
                            format!("code `{other}` is used again by another page (`{code}`)"),
                        )
                        .with_related(&page.source.shown, l, c, "used again here"),
                );
            }
            None => {
                names.insert(code.to_lowercase(), (code, page, false));
            }
        }
    }
    for page in &content.errors {
        for alias in &page.meta.aliases {
            match names.get(&alias.to_lowercase()) {
                Some((other, owner, is_alias)) => {
                    let (l, c) = page.source.item_position("aliases", alias);
                    let (what, (ol, oc)) = if *is_alias {
                        ("an alias", owner.source.item_position("aliases", other))
                    } else {
                        ("the code", owner.source.key_position("code"))
                    };
                    let d = Diagnostic::error(
                        &page.source.shown,
                        Some(&page.source.text),
                        l,
                        c,
                        "alias",
                        format!("alias `{alias}` collides with {what} `{other}`"),
                    );
                    problems.push(d.with_related(
                        &owner.source.shown,
                        ol,
                        oc,
                        format!("`{other}` is here"),
                    ));
                }
                None => {
                    names.insert(alias.to_lowercase(), (alias, page, true));
                }
            }
        }
    }
    for page in &content.errors {
        for rel in &page.meta.related {
            // Found only for a problem: most pages have none.
            let at = || page.source.item_position("related", rel);
            if rel == &page.meta.code {
                let (l, c) = at();
                problems.push(Diagnostic::warning(
                    &page.source.shown,
                    Some(&page.source.text),
                    l,
                    c,
                    "related",
                    format!("the page relates to itself (`{rel}`)"),
                ));
            } else if content.error(rel).is_none() {
                let (l, c) = at();
                let hint = codes
                    .did_you_mean(rel)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                problems.push(Diagnostic::error(
                    &page.source.shown,
                    Some(&page.source.text),
                    l,
                    c,
                    "related",
                    format!("related code `{rel}` does not exist{hint}"),
                ));
            }
        }
    }
    for page in &content.errors {
        problems.extend(lifecycle_checks(page, content, &codes));
    }
    if !config.categories.is_empty() {
        for page in &content.errors {
            if !config.categories.contains(&page.meta.category) {
                let hint = yaml::did_you_mean(
                    &page.meta.category,
                    config.categories.iter().map(String::as_str),
                )
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
                problems.push(page.source.warning_at_key(
                    "category",
                    "category",
                    format!(
                        "category `{}` is not in site.yaml's `categories`, so it is listed after them{hint}",
                        page.meta.category
                    ),
                ));
            }
        }
    }
    problems
}

/// Resolves a relative link `target` (without fragment) written in the page
/// at content path `from` into a content path; `None` when it leaves `content/`.
pub fn resolve_relative(from: &str, target: &str) -> Option<String> {
    let base = Path::new(from).parent().unwrap_or(Path::new(""));
    let mut parts: Vec<String> = Vec::new();
    for comp in base.join(target).components() {
        match comp {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_memo_rereads_files_whose_stamp_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("content/errors/a.md");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let page = |title: &str| {
            format!("---\ncode: a\ntitle: {title}\nstatus: 400\ncategory: C\nsummary: s\n---\n")
        };
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let write = |text: &str, mtime: std::time::SystemTime| {
            std::fs::write(&path, text).unwrap();
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(mtime)
                .unwrap();
        };
        let memo = SourceMemo::new();
        let title = || {
            let (content, _) = load_with(dir.path(), &SiteConfig::default(), false, Some(&memo));
            content.errors[0].meta.title.clone()
        };
        write(&page("One"), hour_ago);
        assert_eq!(title(), "One");
        // Same size, same time: taken from the memo without reading.
        write(&page("Two"), hour_ago);
        assert_eq!(title(), "One");
        // A new modification time: read again.
        write(&page("Two"), hour_ago + std::time::Duration::from_secs(1));
        assert_eq!(title(), "Two");
        // A file changed just now is read every time until it settles.
        write(&page("Six"), std::time::SystemTime::now());
        assert_eq!(title(), "Six");
        write(&page("Ten"), std::time::SystemTime::now());
        assert_eq!(title(), "Ten");
    }

    #[test]
    fn since_dates() {
        assert_eq!(since_date("2024").as_deref(), Some("2024-01-01"));
        assert_eq!(since_date("2024-03").as_deref(), Some("2024-03-01"));
        assert_eq!(since_date("2024-02-29").as_deref(), Some("2024-02-29"));
        for bad in [
            "2023-02-29",
            "2024-13",
            "2024-3",
            "v2",
            "2024-03-01-01",
            "",
            "24-03",
        ] {
            assert_eq!(since_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn splits_front_matter_with_crlf() {
        let t = "---\r\ncode: a\r\n---\r\nbody\r\n";
        let s = split_front_matter(t).unwrap();
        assert_eq!(s.yaml, Some("code: a\r\n"));
        assert_eq!(&t[s.body_start..], "body\r\n");
    }

    #[test]
    fn unclosed_front_matter() {
        assert!(split_front_matter("---\ncode: a\n").is_err());
        assert!(split_front_matter("no front matter")
            .unwrap()
            .yaml
            .is_none());
        assert!(split_front_matter("").unwrap().yaml.is_none());
    }

    #[test]
    fn code_pattern() {
        assert!(is_valid_code("authentication_failed"));
        assert!(is_valid_code("E1.2-x"));
        assert!(!is_valid_code("_x"));
        assert!(!is_valid_code(""));
        assert!(!is_valid_code("a/b"));
        assert!(!is_valid_code("a b"));
    }

    #[test]
    fn not_utf8_has_position() {
        let d = decode_text(Path::new("a.md"), b"ab\ncd\xFFe").unwrap_err();
        assert_eq!((d.line, d.column), (2, 3));
    }

    #[test]
    fn bom_is_dropped() {
        assert_eq!(
            decode_text(Path::new("a.md"), b"\xEF\xBB\xBF---").unwrap(),
            "---"
        );
    }

    #[test]
    fn resolves_relative_links() {
        assert_eq!(
            resolve_relative("errors/auth/a.md", "../billing/b.md").as_deref(),
            Some("errors/billing/b.md")
        );
        assert_eq!(
            resolve_relative("errors/a.md", "./b.md").as_deref(),
            Some("errors/b.md")
        );
        assert_eq!(resolve_relative("a.md", "../../x.md"), None);
    }

    #[test]
    fn item_position_in_block_list() {
        let text = "---\ncode: a\nrelated:\n  - foo\n  - bar\n---\n";
        let source = SourceFile {
            shown: "a.md".into(),
            content_path: "errors/a.md".into(),
            lines: LineIndex::new(text),
            body_start: text.len(),
            text: text.into(),
        };
        assert_eq!(source.item_position("related", "bar"), (5, 5));
        assert_eq!(source.key_position("code"), (2, 7));
    }

    #[test]
    fn a_file_removed_after_the_walk_is_a_diagnostic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("content/errors/gone.md");
        let err = load_error(dir.path(), &path).unwrap_err();
        assert_eq!(err[0].rule, "io");
        assert_eq!(err[0].file, Path::new("content/errors/gone.md"));
        assert!(
            err[0].message.starts_with("cannot read the file"),
            "{}",
            err[0].message
        );
    }

    #[test]
    fn h1_title() {
        assert_eq!(
            first_h1("\n# Retries and idempotency\n\ntext").as_deref(),
            Some("Retries and idempotency")
        );
        assert_eq!(first_h1("text\n# Not first"), None);
    }
}
