//! Authoring commands: `errdocs new` writes an error file, `errdocs init`
//! writes a new site. What they write builds and checks clean at once.

use crate::paths::{CONFIG_FILE, CONTENT_DIR, ERRORS_DIR};
use std::path::{Path, PathBuf};

use crate::load::config::SiteConfig;
use crate::load::content::{self, is_valid_code};
use crate::markdown::slugify;
use crate::Error;

/// What `errdocs new` is asked for.
#[derive(Debug, Clone, Default)]
pub struct NewError {
    /// The code.
    pub code: String,
    /// Category (default: the first of site.yaml's `categories`, else `General`).
    pub category: Option<String>,
    /// HTTP status (default 400).
    pub status: Option<u16>,
    /// Title (default: the code in words).
    pub title: Option<String>,
}

/// A YAML scalar for `value`, quoted when YAML needs it.
fn yaml_scalar(value: &str) -> String {
    serde_yaml::to_string(value)
        .map(|s| s.trim_end().to_string())
        .unwrap_or_else(|_| format!("{value:?}"))
}

/// `rate_limit_exceeded` → `Rate limit exceeded`.
fn title_from_code(code: &str) -> String {
    let words = code.replace(['_', '-', '.'], " ");
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => code.to_string(),
    }
}

/// The text of a new error file, with every usual section and a prompt in each.
fn error_file(config: &SiteConfig, code: &str, title: &str, status: u16, category: &str) -> String {
    let doc_url = format!(
        "{}/{}",
        config.canonical_base_url,
        config.error_rel(code).trim_end_matches('/')
    );
    let example = serde_json::json!({
        "success": false,
        "error": code,
        "message": "A message for the developer who made the request.",
        "doc_url": doc_url,
    });
    let example = serde_json::to_string_pretty(&example).unwrap_or_default();
    let new_label = config
        .audiences
        .first()
        .map(|a| a.label.as_str())
        .unwrap_or("New to APIs");
    let prod_label = config
        .audiences
        .get(1)
        .map(|a| a.label.as_str())
        .unwrap_or("Production engineer");
    format!(
        r#"---
code: {code}
title: {title}
status: {status}
category: {category}
summary: One sentence that says what went wrong, in the reader's words.
# scope: Which endpoints return it
# retryable: false
# related: []
# aliases: []
# since: "{since}"
---

## What this means

What happened, and what did not happen: was anything created, changed or charged?

## When you'll see this

- A situation that leads to this error.

> [!TIP]
> The most common gotcha: the mistake people make most often.

## Example response

```json
{example}
```

## {new_label}

### Quick fix

1. The first thing to check, in plain words.

## {prod_label}

### Recovery pattern

Whether to retry, how long to wait, and what to log.

## Avoid this error by

- A habit that prevents it.
"#,
        title = yaml_scalar(title),
        category = yaml_scalar(category),
        since = "YYYY-MM",
    )
}

/// Writes `content/errors/<category-slug>/<code>.md` under `root`; refuses a
/// bad code, or one that exists already (ignoring case, aliases included).
pub fn new_error(root: &Path, req: &NewError) -> Result<PathBuf, Error> {
    let code = req.code.trim();
    if !is_valid_code(code) {
        return Err(Error::Usage(format!(
            "`{code}` is not a valid code: it must start with a letter or digit and hold only letters, digits, `_`, `.` and `-`"
        )));
    }
    let status = req.status.unwrap_or(400);
    if !(100..=599).contains(&status) {
        return Err(Error::Usage(format!(
            "--status {status} is not an HTTP status (100–599)"
        )));
    }
    let config = SiteConfig::load(root)?;
    let (existing, _) = content::load(root, &config, true);
    let lower = code.to_lowercase();
    for page in &existing.errors {
        let names = std::iter::once(&page.meta.code).chain(&page.meta.aliases);
        if let Some(name) = names.into_iter().find(|n| n.to_lowercase() == lower) {
            return Err(Error::Usage(format!(
                "`{code}` already exists as `{name}` in {}",
                page.source.shown.display()
            )));
        }
    }
    let category = req
        .category
        .clone()
        .or_else(|| config.categories.first().cloned())
        .unwrap_or_else(|| "General".into());
    let title = req.title.clone().unwrap_or_else(|| title_from_code(code));
    for (flag, value) in [("--category", &category), ("--title", &title)] {
        if value.trim().is_empty() {
            return Err(Error::Usage(format!(
                "{flag} is empty; an error file needs a {}",
                &flag[2..]
            )));
        }
    }
    let folder = match slugify(&category) {
        s if s.is_empty() => "general".to_string(),
        s => s,
    };
    let path = root
        .join(CONTENT_DIR)
        .join(ERRORS_DIR)
        .join(folder)
        .join(format!("{code}.md"));
    if path.exists() {
        return Err(Error::Usage(format!("{} already exists", path.display())));
    }
    let text = error_file(&config, code, &title, status, &category);
    // What `new` writes must pass `check` at once: the file is parsed as
    // `check` parses it, and refused before anything is written.
    let shown = crate::diagnostic::display_path(root, &path);
    if let Err(problems) =
        content::parse_error_file(shown, content::content_path(root, &path), text.as_bytes())
    {
        let reasons: Vec<String> = problems.iter().map(|d| d.message.clone()).collect();
        return Err(Error::Usage(format!(
            "these values would write an error file that fails `errdocs check`: {}",
            reasons.join("; ")
        )));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}

const INIT_SITE_YAML: &str = r#"# errdocs site settings. Every key is optional; the values below are the
# defaults except base_url, which you should set to where the site will live.

# The site's name, shown in the header and page titles.
title: API error reference

# Absolute URL of the published site. Its path (e.g. /docs) prefixes every URL.
base_url: https://docs.example.com

# Where code pages go: <base_url>/<errors_path>/<code>/
errors_path: reference/errors

# The pages' language.
language: en

# Display order of categories; categories not listed follow A–Z.
categories: [General]

# Reader groups. A `##` heading whose text is a label opens that audience's card.
audiences:
  - { id: new-to-apis, label: New to APIs }
  - { id: production-engineer, label: Production engineer }

# syntect theme names for highlighted code, light and dark.
highlight: { light: InspiredGitHub, dark: base16-ocean.dark }

# Checks on ```json example responses (JSON Pointers; null turns one off).
response:
  code_pointer: /error         # a string here must equal the page's code
  doc_url_pointer: /doc_url    # a string here must equal the page's URL
  # schema: response.schema.json   # every example must match this JSON Schema

# Where "Edit this page" links go: this URL plus the file's path from the
# site root (content/errors/….md). Unset, pages have no edit link.
# edit_url: https://github.com/org/repo/edit/main/

# Free data for templates, as `site.extra`.
extra: {}
"#;

const INIT_EXAMPLE: &str = r#"---
code: resource_not_found
title: Resource not found
status: 404
category: General
summary: No object with the id in the URL exists for this account.
scope: Endpoints that read one object by id
retryable: false
since: "2026-01"
---

## What this means

The request named an object by its id, and no object with that id exists
in your account. Nothing was read or changed.

## When you'll see this

- An id was copied with a character missing.
- The object was deleted, or belongs to another account.

> [!TIP]
> The most common gotcha: ids are case-sensitive.

## Example response

```json
{
  "success": false,
  "error": "resource_not_found",
  "message": "No object with id obj_123.",
  "doc_url": "https://docs.example.com/reference/errors/resource_not_found"
}
```

## New to APIs

### Quick fix

1. Compare the id in your request with the one your dashboard shows.
2. Check that your key belongs to the account that owns the object.

## Production engineer

### Recovery pattern

Do not retry: the answer will not change. Mark the record that holds the
id for review.

```python title="Flag missing objects"
if resp.status_code == 404 and resp.json().get("error") == "resource_not_found":
    record.mark_orphaned()
```

```javascript title="Flag missing objects"
if (resp.status === 404 && body.error === "resource_not_found") {
  await record.markOrphaned();
}
```

## Avoid this error by

- Storing ids exactly as the API returned them.
"#;

const INIT_HOME: &str = r#"---
title: API error reference
---

Every error our API returns has a page here: what it means, how to fix it,
and how to handle it in production.
"#;

/// Writes a new site into `dir`, which must be absent, empty or hold only
/// `.git`.
pub fn init(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    if dir.exists() {
        if !dir.is_dir() {
            return Err(Error::Usage(format!(
                "{} exists and is not a folder",
                dir.display()
            )));
        }
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
        // A fresh repository (`git init docs`) counts as empty: the site
        // goes beside its `.git`.
        let mut others = entries.filter(|e| e.as_ref().map_or(true, |e| e.file_name() != ".git"));
        if others.next().is_some() {
            return Err(Error::Usage(format!(
                "{} is not empty; errdocs init writes a new site into an empty folder (or one that holds only `.git`)",
                dir.display()
            )));
        }
    }
    let gitignore = crate::paths::gitignore();
    let files = [
        (CONFIG_FILE.to_string(), INIT_SITE_YAML),
        (format!("{CONTENT_DIR}/index.md"), INIT_HOME),
        (
            format!("{CONTENT_DIR}/{ERRORS_DIR}/general/resource_not_found.md"),
            INIT_EXAMPLE,
        ),
        (".gitignore".to_string(), &gitignore),
    ];
    let mut written = Vec::new();
    for (rel, text) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_from_codes() {
        assert_eq!(
            title_from_code("rate_limit_exceeded"),
            "Rate limit exceeded"
        );
        assert_eq!(title_from_code("E42"), "E42");
    }

    #[test]
    fn scalars_are_quoted_when_needed() {
        assert_eq!(yaml_scalar("Billing"), "Billing");
        assert_eq!(yaml_scalar("a: b"), "'a: b'");
        assert_eq!(yaml_scalar("#1"), "'#1'");
    }
}
