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
    let Checked {
        mut problems,
        site,
        bodies,
    } = crate::site::check(root, &opts.load)?;
    if let Some(path) = &opts.published {
        problems.extend(published_codes(&site, path)?);
    }
    // Freeing every page's source and body is a sizeable part of a large
    // check: a thread of its own does it while the report is printed.
    std::thread::spawn(move || drop((site, bodies)));
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
    let names = crate::diagnostic::NameIndex::new(known.iter().copied());
    let lines = LineIndex::new(&text);
    // Absolute, as diagnostics name files outside the site: the report
    // shows it from the working directory like every other file.
    let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut problems = Vec::new();
    // The entries' places in the text, in order, to point at a bad one.
    let entry_starts = entry_starts(&text);
    for (i, entry) in entries.iter().enumerate() {
        let Some(code) = entry.get("code").and_then(|c| c.as_str()) else {
            let (line, col) = entry_starts
                .get(i)
                .map(|&at| lines.position(&text, at))
                .unwrap_or((1, 1));
            let what = match entry.get("code") {
                None => "has no `code`".to_string(),
                Some(v) => format!("has a `code` that is not a string: {v}"),
            };
            problems.push(Diagnostic::error(
                &shown,
                Some(&text),
                line,
                col,
                "published-code",
                format!(
                    "entry {} of `errors` {what}; this is not an errdocs index.json, or it was edited by hand",
                    i + 1
                ),
            ));
            continue;
        };
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
        let hint = names
            .did_you_mean(code)
            .map(|s| format!(" (did `{s}` replace it? then add `{code}` to its `aliases`)"))
            .unwrap_or_else(|| {
                format!(
                    "; add it back, or add `{code}` to the `aliases` of the code that replaced it"
                )
            });
        problems.push(Diagnostic::error(
            &shown,
            Some(&text),
            line,
            col,
            "published-code",
            format!("the published code `{code}` is no longer a code or an alias{hint}"),
        ));
    }
    Ok(problems)
}

/// The byte offsets of the values of the top-level `errors` array of a JSON
/// text, found by scanning its brackets and strings; empty when the text
/// is not laid out so.
fn entry_starts(text: &str) -> Vec<usize> {
    let Some(key) = text.find("\"errors\"") else {
        return Vec::new();
    };
    let Some(open) = text[key..].find('[').map(|i| key + i) else {
        return Vec::new();
    };
    let mut starts = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut want_value = true;
    for (i, c) in text[open + 1..].char_indices() {
        let at = open + 1 + i;
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c.is_whitespace() {
            continue;
        }
        if depth == 0 && want_value && c != ']' {
            starts.push(at);
            want_value = false;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => depth += 1,
            ']' | '}' if depth == 0 => break,
            ']' | '}' => depth -= 1,
            ',' if depth == 0 => want_value = true,
            _ => {}
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_entry_of_the_errors_list() {
        let text = "{\"x\": [1], \"errors\": [\n  {\"code\": \"a]\"},\n  7,\n  [\"b\"] ]}";
        let starts = entry_starts(text);
        let found: Vec<char> = starts
            .iter()
            .map(|&i| text[i..].chars().next().unwrap())
            .collect();
        assert_eq!(found, ['{', '7', '[']);
        assert!(entry_starts("{}").is_empty());
    }
}
