//! Every rule a diagnostic can name, with its default severity and what it
//! checks. `check --list-rules` prints this list and README's rule table is
//! tested against it, so neither can fall behind the code; in debug builds
//! a diagnostic naming a rule missing here panics.

use serde::Serialize;

/// How serious a rule's problems are by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Always an error.
    Error,
    /// Always a warning (an error with `--deny-warnings`).
    Warning,
    /// An error or a warning, as the rule's doc says.
    ErrorOrWarning,
}

impl Level {
    /// As README's table writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::ErrorOrWarning => "error / warning",
        }
    }
}

/// One check.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rule {
    /// The name diagnostics carry, e.g. `broken-link`.
    pub name: &'static str,
    /// Its default severity.
    pub severity: Level,
    /// What it reports, in one line.
    pub doc: &'static str,
}

const fn rule(name: &'static str, severity: Level, doc: &'static str) -> Rule {
    Rule {
        name,
        severity,
        doc,
    }
}

use Level::{Error, ErrorOrWarning, Warning};

/// Every rule, in the order README lists them.
pub const RULES: &[Rule] = &[
    rule("front-matter", Error, "YAML that does not parse, no front matter, an unclosed `---`, a missing required key, a wrong type, an unknown key (with a suggestion); front matter over 64 KiB or nested more than 32 levels deep, refused before it is parsed"),
    rule("control-character", ErrorOrWarning, "a control character (C0 but tab and line breaks, DEL, C1): in front matter, as it is or as a YAML escape, an error (the feed is XML); in a body a warning, and the page shows U+FFFD in its place"),
    rule("file-size", ErrorOrWarning, "a Markdown file over 8 MiB is refused unread; one over 1 MiB is a warning"),
    rule("unsafe-html", ErrorOrWarning, "a link or image to a `javascript:`, `vbscript:` or `data:` URL, raw `<script>`, `<iframe>`, `<object>`, `<embed>`, `<meta>`, a raw-text element such as `<style>` or `<textarea>`, an `on…=` attribute: a warning, an error with `unsafe_html: refuse`"),
    rule("encoding", Error, "a file that is not UTF-8"),
    rule("io", Error, "a file that cannot be read, a symbolic link loop or a link to nothing; a `static/` file is reported with the content's problems, in the same run"),
    rule("outside-root", Error, "a symbolic link in `content/`, `static/` or `templates/` (or `site.yaml`, the schema, the cache) that leads out of the site root or into a hidden file or folder of it"),
    rule("not-a-file", Error, "a FIFO, socket or device where a site file is read; it is never opened"),
    rule("file-name", Error, "a file or folder of the site whose path is not UTF-8, which no web address can name"),
    rule("settings", Error, "a `site.yaml` that does not parse or holds a bad value (exit 2)"),
    rule("template", Error, "a template that does not compile or render, at its place in `templates/` (exit 2)"),
    rule("code", Error, "a code or alias that breaks the pattern, or is over 128 characters (its page folder and `<code>.md` must fit a 255-byte file name)"),
    rule("status", Error, "a status outside 100–599"),
    rule("duplicate-code", Error, "two codes equal ignoring case; each points at the other"),
    rule("alias", Error, "an alias that clashes with a code or another alias"),
    rule("url", Error, "two files of the build at one path, a file where another needs a folder, or a path the output cannot hold, among every file a build writes (pages, redirects, `.md` versions, guides, `static/`, the theme's and errdocs' own files)"),
    rule("portable-name", Warning, "a file name Windows cannot hold (`CON`, `aux.md`, a trailing dot or space, `<>:\"\\|?*`), or two paths that differ only in case"),
    rule("related", ErrorOrWarning, "a related code that does not exist; a page relating to itself (warning)"),
    rule("replaced-by", ErrorOrWarning, "a `replaced_by` code that does not exist or is the page itself; a replacement on a code that is not deprecated (warning)"),
    rule("since", Warning, "a `since` that is not a date (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`), which the feed cannot place"),
    rule("broken-link", Error, "a relative `.md` link to a missing page or out of `content/`"),
    rule("broken-anchor", Error, "a link to a heading that is not there"),
    rule("duplicate-heading", Warning, "two headings of one page with the same id"),
    rule("json", Error, "a ```` ```json ```` block that does not parse"),
    rule("response-code", Error, "an example response whose error code is not the page's"),
    rule("response-doc-url", Error, "an example response whose `doc_url` is not the page's URL"),
    rule("response-schema", Error, "an example response that breaks `response.schema`"),
    rule("audience-card", Warning, "an audience card without a `###` title"),
    rule("unknown-language", Warning, "a code block in a language the highlighter does not know"),
    rule("category", Warning, "a category missing from `categories` in `site.yaml`"),
    rule("published-code", Error, "with `--published PATH`: a code of an earlier build's `index.json` that is no longer a code or an alias, or an entry without a string `code`"),
    rule("usage", Error, "bad usage: a refused output folder, a bad flag value (exit 2)"),
];

/// The rule named `name`.
pub fn find(name: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_kebab_case() {
        let mut names: Vec<_> = RULES.iter().map(|r| r.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "a rule is listed twice");
        for name in names {
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{name}"
            );
        }
    }
}
