//! `errdocs check`: every stage of a build but highlighting, writing
//! nothing, plus the checks only a review needs (published codes that
//! vanished).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Diagnostics, LineIndex};
use crate::site::{Checked, LoadOptions, Site};
use crate::Error;

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// What to load.
    pub load: LoadOptions,
    /// An `index.json` from an earlier build: each of its codes must still
    /// be a code or an alias.
    pub published: Option<PathBuf>,
}

/// Runs every check. Problems in the content come back as diagnostics,
/// errors and warnings alike, sorted; settings, template and I/O problems
/// are errors.
pub fn run(root: &Path, opts: &CheckOptions) -> Result<Diagnostics, Error> {
    let checked = crate::site::check(root, &opts.load)?;
    let mut problems = checked.problems;
    if let Some(path) = &opts.published {
        problems.extend(published_codes(&checked.site, path)?);
    }
    problems.sort();
    Ok(problems)
}

/// What `export` describes: a site that `build` would build. Any error
/// `check` reports refuses it, as it refuses a build.
pub fn for_export(root: &Path, load: &LoadOptions) -> Result<Checked, Error> {
    let checked = crate::site::check(root, load)?;
    if checked.problems.has_errors() {
        return Err(Error::Content(checked.problems));
    }
    Ok(checked)
}

impl Checked {
    /// Each code's example response, in the order of `site.content.errors`.
    pub fn examples(&self) -> Vec<Option<&serde_json::Value>> {
        self.bodies
            .errors
            .iter()
            .map(|b| b.example.as_ref())
            .collect()
    }
}

/// Reports every code of a published `index.json` that is no longer a code
/// or an alias: someone's logs still link to it.
pub fn published_codes(site: &Site, path: &Path) -> Result<Vec<Diagnostic>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::Usage(format!("--published {}: not JSON: {e}", path.display())))?;
    let Some(entries) = doc.get("errors").and_then(|e| e.as_array()) else {
        return Err(Error::Usage(format!(
            "--published {}: expected an errdocs index.json with an `errors` list",
            path.display()
        )));
    };
    let mut known: HashSet<&str> = HashSet::new();
    for page in &site.content.errors {
        known.insert(&page.meta.code);
        known.extend(page.meta.aliases.iter().map(String::as_str));
    }
    let lines = LineIndex::new(&text);
    let mut problems = Vec::new();
    for code in entries.iter().filter_map(|e| e.get("code")?.as_str()) {
        if known.contains(code) {
            continue;
        }
        let needle = format!("\"{}\"", code.replace('\\', "\\\\").replace('"', "\\\""));
        let (line, col) = text
            .match_indices(&needle)
            .map(|(i, _)| i)
            .find(|&i| text[..i].trim_end().ends_with(':'))
            .map(|i| lines.position(&text, i))
            .unwrap_or((1, 1));
        let hint = crate::yaml::did_you_mean(code, known.iter().copied())
            .map(|s| format!(" (did `{s}` replace it? then add `{code}` to its `aliases`)"))
            .unwrap_or_else(|| {
                format!(
                    "; add it back, or add `{code}` to the `aliases` of the code that replaced it"
                )
            });
        problems.push(Diagnostic::error(
            path,
            Some(&text),
            line,
            col,
            "published-code",
            format!("the published code `{code}` is no longer a code or an alias{hint}"),
        ));
    }
    Ok(problems)
}
