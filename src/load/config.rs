//! Site settings: `site.yaml`, every key optional.

use crate::paths::CONFIG_FILE;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::load::yaml;
use crate::Error;

/// One group of readers, with a card of its own on each code page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    /// Stable id, used in markup and the reader's filter (`new-to-apis`).
    pub id: String,
    /// The heading text that opens the card (`New to APIs`).
    pub label: String,
}

/// syntect theme names for the light and the dark colour scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HighlightConfig {
    /// Theme for the light scheme.
    pub light: String,
    /// Theme for the dark scheme.
    pub dark: String,
}

impl Default for HighlightConfig {
    fn default() -> Self {
        HighlightConfig {
            light: "InspiredGitHub".into(),
            dark: "base16-ocean.dark".into(),
        }
    }
}

/// Checks on the ```json example responses, as JSON Pointers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResponseConfig {
    /// Where a response names its error code; `null` turns the check off.
    pub code_pointer: Option<String>,
    /// Where a response links to its page; `null` turns the check off.
    pub doc_url_pointer: Option<String>,
    /// A JSON Schema file (relative to the site root) that every ```json
    /// example response of a code page must match.
    pub schema: Option<String>,
}

impl Default for ResponseConfig {
    fn default() -> Self {
        ResponseConfig {
            code_pointer: Some("/error".into()),
            doc_url_pointer: Some("/doc_url".into()),
            schema: None,
        }
    }
}

/// What to do with links, images and raw HTML in bodies that can run
/// script (`javascript:`, `vbscript:` and `data:` URLs, `<script>`,
/// `<iframe>`, `<object>`, `<embed>`, `on…=` attributes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnsafeHtml {
    /// Publish them as written, with a warning.
    #[default]
    Allow,
    /// Leave them out of the pages, with a warning.
    Strip,
    /// Refuse them: each is an error.
    Refuse,
}

/// `site.yaml` as written; see [`SiteConfig`] for the resolved settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    title: String,
    base_url: String,
    errors_path: String,
    language: String,
    categories: Vec<String>,
    audiences: Vec<Audience>,
    highlight: HighlightConfig,
    response: ResponseConfig,
    edit_url: Option<String>,
    unsafe_html: UnsafeHtml,
    extra: serde_yaml::Value,
}

impl Default for RawConfig {
    fn default() -> Self {
        RawConfig {
            title: "API error reference".into(),
            base_url: "http://127.0.0.1:1111".into(),
            errors_path: "reference/errors".into(),
            language: "en".into(),
            categories: Vec::new(),
            audiences: vec![
                Audience {
                    id: "new-to-apis".into(),
                    label: "New to APIs".into(),
                },
                Audience {
                    id: "production-engineer".into(),
                    label: "Production engineer".into(),
                },
            ],
            highlight: HighlightConfig::default(),
            response: ResponseConfig::default(),
            edit_url: None,
            unsafe_html: UnsafeHtml::Allow,
            extra: serde_yaml::Value::Mapping(Default::default()),
        }
    }
}

/// Resolved site settings.
#[derive(Debug, Clone, Serialize)]
pub struct SiteConfig {
    /// The site's name.
    pub title: String,
    /// Absolute URL of the site root, without a trailing slash.
    pub base_url: String,
    /// The path part of `base_url`, with a leading and a trailing slash (`/docs/`).
    pub base_path: String,
    /// Where error pages go, relative to the root, without slashes at either end.
    pub errors_path: String,
    /// The pages' `lang`.
    pub language: String,
    /// Display order of categories; others follow A–Z.
    pub categories: Vec<String>,
    /// Reader groups with their own cards.
    pub audiences: Vec<Audience>,
    /// Syntax themes.
    pub highlight: HighlightConfig,
    /// Checks on example responses.
    pub response: ResponseConfig,
    /// Prefix of "Edit this page" links, ending in `/`; a page's link is
    /// this plus its file's path from the site root.
    pub edit_url: Option<String>,
    /// What to do with what in bodies can run script.
    pub unsafe_html: UnsafeHtml,
    /// Free data for templates.
    pub extra: serde_json::Value,
    /// The base URL that `doc_url` in example responses must use: the one in
    /// `site.yaml`, even when a preview build overrides it.
    #[serde(skip)]
    pub canonical_base_url: String,
}

impl Default for SiteConfig {
    fn default() -> Self {
        // The defaults are valid by construction.
        resolve(RawConfig::default(), Path::new(CONFIG_FILE), "")
            .unwrap_or_else(|_| unreachable!("built-in defaults are valid settings"))
    }
}

impl SiteConfig {
    /// Reads `site.yaml` from `root`; a missing file gives the defaults.
    pub fn load(root: &Path) -> Result<Self, Error> {
        let path = root.join(CONFIG_FILE);
        let shown = PathBuf::from(CONFIG_FILE);
        let bytes = match crate::load::sources::read(root, &path) {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return Ok(Self::default()),
            Err(e) => {
                return Err(Error::Settings(Diagnostics::from_iter([
                    Diagnostic::error(&shown, None, 1, 1, e.rule(), e.to_string()),
                ])))
            }
        };
        let text = crate::load::content::decode_text(&shown, &bytes)
            .map_err(|d| Error::Settings(Diagnostics::from_iter([d])))?;
        Self::parse(&shown, &text)
    }

    /// Parses settings from `text`; `shown` names the file in diagnostics.
    pub fn parse(shown: &Path, text: &str) -> Result<Self, Error> {
        // The title and the rest land in every page and in the feed.
        if let Some((offset, c)) = crate::markdown::control_chars(text).next() {
            let line = text[..offset].matches('\n').count() + 1;
            let col = text[..offset]
                .rsplit('\n')
                .next()
                .unwrap_or("")
                .chars()
                .count()
                + 1;
            return Err(Error::Settings(Diagnostics::from_iter([
                Diagnostic::error(
                    shown,
                    Some(text),
                    line,
                    col,
                    "control-character",
                    format!(
                    "site.yaml holds the control character U+{:04X}, which is not text; delete it",
                    u32::from(c)
                ),
                ),
            ])));
        }
        let raw: RawConfig = if text.trim().is_empty() {
            RawConfig::default()
        } else {
            yaml::from_str(text, 0)
                .map_err(|e| Error::Settings(Diagnostics::from_iter([e.at(shown, text)])))?
        };
        if let Some((key, c)) = yaml::escaped_controls(text).into_iter().next() {
            let (l, col) = yaml::key_position(text, 0, &key).unwrap_or((1, 1));
            return Err(Error::Settings(Diagnostics::from_iter([
                Diagnostic::error(
                    shown,
                    Some(text),
                    l,
                    col,
                    "control-character",
                    yaml::escaped_control_message(&key, c),
                ),
            ])));
        }
        resolve(raw, shown, text)
    }

    /// Replaces `base_url` (a preview deploy); `doc_url` checks keep the
    /// canonical one.
    pub fn with_base_url(mut self, url: &str) -> Result<Self, Error> {
        let (base, path) = split_base_url(url).ok_or_else(|| {
            Error::Usage(format!(
                "--base-url: `{url}` is not an absolute http(s) URL"
            ))
        })?;
        self.base_url = base;
        self.base_path = path;
        Ok(self)
    }

    /// Reads and compiles `response.schema`, when set. Problems with the
    /// file are settings errors.
    pub fn response_schema(&self, root: &Path) -> Result<Option<jsonschema::Validator>, Error> {
        let Some(rel) = &self.response.schema else {
            return Ok(None);
        };
        let path = root.join(rel);
        let settings_error = |msg: String| {
            let text = std::fs::read_to_string(root.join(CONFIG_FILE)).unwrap_or_default();
            let (l, c) = yaml::key_position(&text, 0, "schema").unwrap_or((1, 1));
            Error::Settings(Diagnostics::from_iter([Diagnostic::error(
                CONFIG_FILE,
                Some(&text),
                l,
                c,
                "settings",
                msg,
            )]))
        };
        let bytes = crate::load::sources::read(root, &path)
            .map_err(|e| settings_error(format!("response.schema: {rel}: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| settings_error(format!("response.schema: {rel} is not UTF-8")))?;
        let schema: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| settings_error(format!("response.schema: {rel} is not JSON: {e}")))?;
        jsonschema::validator_for(&schema).map(Some).map_err(|e| {
            settings_error(format!(
                "response.schema: {rel} is not a valid JSON Schema: {e}"
            ))
        })
    }

    /// Absolute URL of a site-relative path (`reference/errors/x/`).
    pub fn absolute_url(&self, rel: &str) -> String {
        format!("{}/{}", self.base_url, rel.trim_start_matches('/'))
    }

    /// Root-relative URL (with the base path) of a site-relative path.
    pub fn url(&self, rel: &str) -> String {
        format!("{}{}", self.base_path, rel.trim_start_matches('/'))
    }

    /// Site-relative path of a code's page (`reference/errors/<code>/`).
    pub fn error_rel(&self, code: &str) -> String {
        if self.errors_path.is_empty() {
            format!("{code}/")
        } else {
            format!("{}/{code}/", self.errors_path)
        }
    }

    /// Site-relative path of a code's Markdown (`reference/errors/<code>.md`).
    pub fn error_markdown_rel(&self, code: &str) -> String {
        format!("{}{code}.md", self.catalog_rel())
    }

    /// The "Edit this page" link of a file under `content/`, when `edit_url` is set.
    pub fn edit_link(&self, content_path: &str) -> Option<String> {
        let base = self.edit_url.as_ref()?;
        Some(format!("{base}content/{content_path}"))
    }

    /// Site-relative path of the catalog (`reference/errors/`).
    pub fn catalog_rel(&self) -> String {
        if self.errors_path.is_empty() {
            String::new()
        } else {
            format!("{}/", self.errors_path)
        }
    }

    /// The audience whose label equals `heading`, ignoring case.
    pub fn audience_for(&self, heading: &str) -> Option<&Audience> {
        let h = heading.trim();
        self.audiences
            .iter()
            .find(|a| a.label.trim().to_lowercase() == h.to_lowercase())
    }
}

fn resolve(raw: RawConfig, shown: &Path, text: &str) -> Result<SiteConfig, Error> {
    let mut problems = Diagnostics::new();
    let at = |key: &str| yaml::key_position(text, 0, key).unwrap_or((1, 1));
    let (base_url, base_path) = match split_base_url(&raw.base_url) {
        Some(v) => v,
        None => {
            let (l, c) = at("base_url");
            problems.push(Diagnostic::error(
                shown,
                Some(text),
                l,
                c,
                "settings",
                format!(
                    "base_url `{}` must be an absolute http:// or https:// URL",
                    raw.base_url
                ),
            ));
            (String::new(), "/".into())
        }
    };
    let errors_path = raw.errors_path.trim_matches('/').to_string();
    // Every code's files go below it, so it must be a path the output
    // folder holds: no `..`, no hidden part, no backslash or control.
    if !errors_path.is_empty() && !crate::output::manifest::is_clean_rel(&errors_path)
        || errors_path.chars().any(char::is_control)
    {
        let (l, c) = at("errors_path");
        problems.push(Diagnostic::error(
            shown,
            Some(text),
            l,
            c,
            "settings",
            format!(
                "errors_path `{}` must be a plain relative path (no `..`, no part starting with `.`, no backslash or control character)",
                crate::terminal::escape(&raw.errors_path)
            ),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for a in &raw.audiences {
        let valid_id = !a.id.is_empty()
            && a.id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_id || a.label.trim().is_empty() || !seen.insert(a.id.clone()) {
            let (l, c) = at("audiences");
            problems.push(Diagnostic::error(
                shown,
                Some(text),
                l,
                c,
                "settings",
                format!(
                    "audience `{}` needs a unique id of letters, digits, `-` or `_`, and a label",
                    a.id
                ),
            ));
        }
    }
    for (key, name) in [
        ("light", &raw.highlight.light),
        ("dark", &raw.highlight.dark),
    ] {
        if !crate::highlight::theme_exists(name) {
            let (l, c) = yaml::key_position(text, 0, key)
                .or_else(|| yaml::key_position(text, 0, "highlight"))
                .unwrap_or((1, 1));
            problems.push(Diagnostic::error(
                shown,
                Some(text),
                l,
                c,
                "settings",
                format!(
                    "unknown highlight theme `{name}`; known themes: {}",
                    crate::highlight::theme_names().join(", ")
                ),
            ));
        }
    }
    for (key, ptr) in [
        ("code_pointer", &raw.response.code_pointer),
        ("doc_url_pointer", &raw.response.doc_url_pointer),
    ] {
        if let Some(p) = ptr {
            if !p.is_empty() && !p.starts_with('/') {
                let (l, c) = yaml::key_position(text, 0, key).unwrap_or((1, 1));
                problems.push(Diagnostic::error(
                    shown,
                    Some(text),
                    l,
                    c,
                    "settings",
                    format!("{key} `{p}` is not a JSON Pointer (it must start with `/`)"),
                ));
            }
        }
    }
    let edit_url = raw
        .edit_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty());
    if let Some(url) = edit_url {
        if split_base_url(url.split(['?', '#']).next().unwrap_or(url)).is_none() {
            let (l, c) = at("edit_url");
            problems.push(Diagnostic::error(
                shown,
                Some(text),
                l,
                c,
                "settings",
                format!("edit_url `{url}` must be an absolute http:// or https:// URL"),
            ));
        }
    }
    let edit_url = edit_url.map(|u| {
        if u.ends_with('/') || u.ends_with('=') {
            u.to_string()
        } else {
            format!("{u}/")
        }
    });
    if !problems.is_empty() {
        return Err(Error::Settings(problems));
    }
    let extra = serde_json::to_value(&raw.extra).unwrap_or(serde_json::Value::Null);
    Ok(SiteConfig {
        title: raw.title,
        canonical_base_url: base_url.clone(),
        base_url,
        base_path,
        errors_path,
        language: raw.language,
        categories: raw.categories,
        audiences: raw.audiences,
        highlight: raw.highlight,
        response: raw.response,
        edit_url,
        unsafe_html: raw.unsafe_html,
        extra,
    })
}

/// Splits `https://host/path/` into `("https://host/path", "/path/")`.
fn split_base_url(url: &str) -> Option<(String, String)> {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let scheme_len = url.len() - rest.len();
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if host.is_empty() || host.contains(char::is_whitespace) || path.contains(['?', '#', ' ']) {
        return None;
    }
    let path = path.trim_matches('/');
    let base_path = if path.is_empty() {
        "/".to_string()
    } else {
        format!("/{path}/")
    };
    let base = format!(
        "{}{}{}",
        &url[..scheme_len],
        host,
        base_path.trim_end_matches('/')
    );
    Some((base, base_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_without_file() {
        let c = SiteConfig::default();
        assert_eq!(c.errors_path, "reference/errors");
        assert_eq!(c.base_path, "/");
        assert_eq!(c.audiences.len(), 2);
        assert_eq!(c.url(&c.error_rel("x")), "/reference/errors/x/");
    }

    #[test]
    fn base_url_with_path() {
        let c = SiteConfig::parse(
            Path::new("site.yaml"),
            "base_url: https://docs.example.com/docs/\n",
        )
        .unwrap();
        assert_eq!(c.base_url, "https://docs.example.com/docs");
        assert_eq!(c.base_path, "/docs/");
        assert_eq!(
            c.absolute_url(&c.error_rel("a")),
            "https://docs.example.com/docs/reference/errors/a/"
        );
    }

    #[test]
    fn unknown_key_is_reported_with_line() {
        let err = SiteConfig::parse(Path::new("site.yaml"), "title: x\ntitel: y\n").unwrap_err();
        let Error::Settings(ds) = err else {
            panic!("expected settings error")
        };
        let d = ds.iter().next().unwrap();
        assert_eq!(d.line, 2);
        assert!(d.message.contains("titel"), "{}", d.message);
        assert!(d.message.contains("did you mean `title`"), "{}", d.message);
    }

    #[test]
    fn bad_theme_and_base_url() {
        let err = SiteConfig::parse(
            Path::new("site.yaml"),
            "base_url: docs.example.com\nhighlight:\n  light: Nope\n",
        )
        .unwrap_err();
        let Error::Settings(ds) = err else {
            panic!("expected settings error")
        };
        let lines: Vec<_> = ds.iter().map(|d| d.line).collect();
        assert_eq!(lines, vec![1, 3]);
    }

    #[test]
    fn a_control_character_is_a_settings_error_at_its_place() {
        let err = SiteConfig::parse(Path::new("site.yaml"), "title: x\nlanguage: e\u{1b}n\n")
            .unwrap_err();
        let Error::Settings(ds) = err else {
            panic!("expected settings error")
        };
        let d = ds.iter().next().unwrap();
        assert_eq!((d.line, d.column, d.rule), (2, 12, "control-character"));
    }

    #[test]
    fn unsafe_html_modes() {
        for (text, mode) in [
            ("", UnsafeHtml::Allow),
            ("unsafe_html: strip\n", UnsafeHtml::Strip),
            ("unsafe_html: refuse\n", UnsafeHtml::Refuse),
        ] {
            let c = SiteConfig::parse(Path::new("site.yaml"), text).unwrap();
            assert_eq!(c.unsafe_html, mode);
        }
        // The mode is part of what the build caches hash (the serialised settings).
        let strip = SiteConfig::parse(Path::new("site.yaml"), "unsafe_html: strip\n").unwrap();
        assert_ne!(
            serde_json::to_string(&strip).unwrap(),
            serde_json::to_string(&SiteConfig::default()).unwrap()
        );
    }

    #[test]
    fn base_url_override_keeps_canonical() {
        let c = SiteConfig::parse(Path::new("site.yaml"), "base_url: https://a.test/\n")
            .unwrap()
            .with_base_url("https://preview.test/pr-7")
            .unwrap();
        assert_eq!(c.base_path, "/pr-7/");
        assert_eq!(c.canonical_base_url, "https://a.test");
    }
}
