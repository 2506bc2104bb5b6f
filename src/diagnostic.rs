//! Problems found in a site's files, with their exact place.
//!
//! Every content problem is a [`Diagnostic`]: the file, a 1-based line and
//! column, a severity, the rule that found it and a message. They are
//! collected into [`Diagnostics`] so that one run reports all of them.

pub use crate::load::yaml::NameIndex;
use std::fmt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::terminal::escape;

/// How serious a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails the build.
    Error,
    /// Reported, but the build goes on.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file, relative to the site root when inside it, else absolute;
    /// empty for a problem that belongs to no file. Commands print it from
    /// the working directory (see [`Diagnostics::from_cwd`]).
    #[serde(serialize_with = "lossy_path")]
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// Error or warning.
    pub severity: Severity,
    /// A short stable name of the check, e.g. `front-matter`, `broken-link`.
    pub rule: &'static str,
    /// What is wrong, in a sentence.
    pub message: String,
    /// The part of the offending source line that is shown.
    #[serde(skip)]
    pub source_line: Option<Box<Excerpt>>,
    /// Other places the problem involves, such as the first page that
    /// uses a duplicated code.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
}

/// Another place a [`Diagnostic`] points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Related {
    /// The file, as [`Diagnostic::file`] is.
    #[serde(serialize_with = "lossy_path")]
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is there, e.g. "first used here".
    pub message: String,
}

impl Related {
    fn place(&self) -> String {
        format!(
            "{}:{}:{}",
            escape(&self.file.to_string_lossy()),
            self.line,
            self.column
        )
    }
}

impl Diagnostic {
    /// An error at `line`:`column` of `file`; the source line is attached
    /// from `text` when it is given.
    pub fn error(
        file: impl Into<PathBuf>,
        text: Option<&str>,
        line: usize,
        column: usize,
        rule: &'static str,
        message: impl Into<String>,
    ) -> Self {
        debug_assert!(
            crate::rules::find(rule).is_some(),
            "the rule `{rule}` is not in crate::rules::RULES"
        );
        let line = line.max(1);
        Diagnostic {
            file: file.into(),
            line,
            column: column.max(1),
            severity: Severity::Error,
            rule,
            message: message.into(),
            source_line: text
                .and_then(|t| nth_line(t, line))
                .map(|l| Box::new(Excerpt::new(l, column))),
            related: Vec::new(),
        }
    }

    /// The same as [`Diagnostic::error`], as a warning.
    pub fn warning(
        file: impl Into<PathBuf>,
        text: Option<&str>,
        line: usize,
        column: usize,
        rule: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, text, line, column, rule, message)
        }
    }

    /// The same problem, also pointing at `file`:`line`:`column`.
    pub fn with_related(
        mut self,
        file: impl Into<PathBuf>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        self.related.push(Related {
            file: file.into(),
            line,
            column,
            message: message.into(),
        });
        self
    }

    /// Writes the diagnostic as `path:line:col: error: message`, followed by
    /// the source line and a caret under the column. ANSI colour only when
    /// `color` is set. Control characters from the content are shown as
    /// escapes ([`crate::terminal::escape`]), and a long source line is cut
    /// to a window around the column.
    pub fn render(&self, color: bool) -> String {
        let (bold, red, yellow, blue, reset) = if color {
            (
                "\x1b[1m",
                "\x1b[1;31m",
                "\x1b[1;33m",
                "\x1b[1;34m",
                "\x1b[0m",
            )
        } else {
            ("", "", "", "", "")
        };
        let sev_color = match self.severity {
            Severity::Error => red,
            Severity::Warning => yellow,
        };
        let place = if self.file.as_os_str().is_empty() {
            String::new()
        } else {
            format!(
                "{}:{}:{}: ",
                escape(&self.file.to_string_lossy()),
                self.line,
                self.column
            )
        };
        let mut out = format!(
            "{bold}{place}{reset}{sev_color}{}{reset}{bold}: {}{reset}\n",
            self.severity,
            escape(&self.message)
        );
        if let Some(src) = &self.source_line {
            let gutter = self.line.to_string();
            let pad = " ".repeat(gutter.len());
            let (shown, lead) = src.window();
            out.push_str(&format!("{blue}{gutter} |{reset} {shown}\n"));
            out.push_str(&format!("{blue}{pad} |{reset} {lead}{sev_color}^{reset}\n"));
        }
        let pad = " ".repeat(self.line.to_string().len());
        for r in &self.related {
            out.push_str(&format!(
                "{blue}{pad} ={reset} {}: {}\n",
                escape(&r.message),
                r.place()
            ));
        }
        out
    }

    /// The GitHub Actions workflow command for this problem. A problem
    /// that belongs to no file is an annotation of the run.
    pub fn github(&self) -> String {
        let mut msg = self.message.clone();
        for r in &self.related {
            msg.push_str(&format!(" ({}: {})", r.message, r.place()));
        }
        let msg = workflow_data(&escape(&msg));
        let title = workflow_property(self.rule);
        if self.file.as_os_str().is_empty() {
            return format!("::{} title={title}::{msg}", self.severity);
        }
        let file = workflow_property(&escape(&self.file.to_string_lossy()));
        format!(
            "::{} file={},line={},col={},title={title}::{msg}",
            self.severity, file, self.line, self.column
        )
    }
}

/// A workflow command's message: `%`, CR and LF escaped.
fn workflow_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: as a message, and `:` and `,`.
fn workflow_property(text: &str) -> String {
    workflow_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The characters of a source line that a diagnostic shows: at most
/// [`SOURCE_WINDOW`] of them around the column. Only these are kept, so a
/// problem on a line of megabytes costs what one on a short line does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excerpt {
    text: String,
    cut_before: bool,
    cut_after: bool,
    /// The 0-based character index of the column in `text`.
    caret: usize,
}

impl Excerpt {
    /// The window of `line` around 1-based `column`.
    pub fn new(line: &str, column: usize) -> Self {
        let col = column.saturating_sub(1);
        let len = line.chars().count();
        let (start, end) = if len <= SOURCE_WINDOW {
            (0, len)
        } else {
            let start = col
                .saturating_sub(SOURCE_WINDOW / 2)
                .min(len - SOURCE_WINDOW);
            (start, start + SOURCE_WINDOW)
        };
        Excerpt {
            text: line.chars().skip(start).take(end - start).collect(),
            cut_before: start > 0,
            cut_after: end < len,
            caret: col - start.min(col),
        }
    }

    /// The excerpt escaped for a terminal, with `…` where the line was cut,
    /// and the lead that puts a caret under the column.
    fn window(&self) -> (String, String) {
        let mut shown = String::new();
        let mut lead = String::new();
        if self.cut_before {
            shown.push('…');
            lead.push(' ');
        }
        for (i, c) in self.text.chars().enumerate() {
            crate::terminal::push_escaped(&mut shown, c);
            if i < self.caret {
                // Tabs are kept so that the caret lines up under them.
                if c == '\t' {
                    lead.push('\t');
                } else {
                    lead.push_str(&" ".repeat(crate::terminal::escaped_width(c)));
                }
            }
        }
        if self.cut_after {
            shown.push('…');
        }
        (shown, lead)
    }
}

/// How many problems of one rule one file lists. Past it they are only
/// counted, and one more problem says how many were left out, so a file
/// holding a mistake 100,000 times costs what one holding it twenty does.
pub const LISTED_PER_RULE: usize = 20;

/// The problems one file has left unlisted, by rule.
#[derive(Debug, Default)]
pub struct Unlisted(Vec<RuleTally>);

#[derive(Debug)]
struct RuleTally {
    rule: &'static str,
    listed: usize,
    left_out: usize,
    worst: Severity,
    first: usize,
}

impl Unlisted {
    /// Counts a problem of `rule` at byte offset `at`; true while problems
    /// of that rule are still listed, so the caller builds this one.
    pub fn admit(&mut self, rule: &'static str, severity: Severity, at: usize) -> bool {
        let i = match self.0.iter().position(|t| t.rule == rule) {
            Some(i) => i,
            None => {
                self.0.push(RuleTally {
                    rule,
                    listed: 0,
                    left_out: 0,
                    worst: severity,
                    first: 0,
                });
                self.0.len() - 1
            }
        };
        let t = &mut self.0[i];
        if t.listed < LISTED_PER_RULE {
            t.listed += 1;
            return true;
        }
        if t.left_out == 0 {
            (t.first, t.worst) = (at, severity);
        }
        // Errors order first, so the smaller severity is the worse.
        t.worst = t.worst.min(severity);
        t.left_out += 1;
        false
    }

    /// One problem per rule that left some out, made by `make` from the
    /// worst severity left out, the offset of the first and a message.
    pub fn summaries<'a>(
        &'a self,
        mut make: impl FnMut(Severity, usize, &'static str, String) -> Diagnostic + 'a,
    ) -> impl Iterator<Item = Diagnostic> + 'a {
        self.0.iter().filter(|t| t.left_out > 0).map(move |t| {
            let (n, s) = (t.left_out, if t.left_out == 1 { "" } else { "s" });
            make(
                t.worst,
                t.first,
                t.rule,
                format!(
                    "{n} more `{}` problem{s} in this file, from here on, are not listed (the first {LISTED_PER_RULE} are)",
                    t.rule
                ),
            )
        })
    }
}

/// How many characters of a source line a diagnostic shows.
pub const SOURCE_WINDOW: usize = 120;

/// Serialises a path as text; a name that is not UTF-8 keeps its valid
/// parts, so the report still says which file it is.
fn lossy_path<S: serde::Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

/// All the problems of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// No problems.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one problem.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// Adds all of another run's problems.
    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.0.extend(other);
    }

    /// True when at least one problem is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    /// The number of errors.
    pub fn error_count(&self) -> usize {
        self.0
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// The number of warnings.
    pub fn warning_count(&self) -> usize {
        self.0.len() - self.error_count()
    }

    /// True when there is nothing to report.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problems, in the order they were found (call [`Self::sort`] first
    /// for a stable report).
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// Sorts by file, line and column, and drops exact repeats.
    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| {
            (&a.file, a.line, a.column, a.severity, &a.message)
                .cmp(&(&b.file, b.line, b.column, b.severity, &b.message))
        });
        self.0.dedup();
    }

    /// Renders every problem for a terminal or a log, with a closing count.
    pub fn render(&self, color: bool) -> String {
        let mut out = String::new();
        for d in &self.0 {
            out.push_str(&d.render(color));
        }
        out
    }

    /// One JSON object per problem (file, line, column, severity, rule,
    /// message), as a JSON array.
    /// JSON escapes C0 controls itself; DEL and the C1 controls are
    /// escaped too, so that the report is safe to print in a terminal.
    pub fn to_json(&self) -> String {
        // Diagnostics hold only strings and numbers, which always serialise.
        let json = serde_json::to_string_pretty(&self.0).unwrap_or_else(|_| "[]".into());
        let mut out = String::with_capacity(json.len() + 1);
        for c in json.chars() {
            if ('\x7f'..='\u{9f}').contains(&c) {
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                out.push(c);
            }
        }
        out.push('\n');
        out
    }

    /// The same problems with their files as a command prints them: from
    /// the working directory (see [`crate::terminal::site_file`]), for a
    /// site at `root`.
    pub fn from_cwd(&self, root: &Path) -> Diagnostics {
        self.0
            .iter()
            .map(|d| Diagnostic {
                file: crate::terminal::site_file(root, &d.file),
                related: (d.related.iter())
                    .map(|r| Related {
                        file: crate::terminal::site_file(root, &r.file),
                        ..r.clone()
                    })
                    .collect(),
                ..d.clone()
            })
            .collect()
    }

    /// GitHub Actions workflow commands, one line per problem.
    pub fn to_github(&self) -> String {
        self.0.iter().map(|d| d.github() + "\n").collect()
    }

    /// Renders for standard error, with colour only when it is a terminal.
    pub fn render_for_stderr(&self) -> String {
        self.render(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Self {
        Diagnostics(iter.into_iter().collect())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

/// The `n`th (1-based) line of `text`, without its line ending.
pub fn nth_line(text: &str, n: usize) -> Option<&str> {
    text.split('\n')
        .nth(n.checked_sub(1)?)
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
}

/// Maps byte offsets in a text to 1-based lines and columns.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the line starts of `text`.
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = Vec::with_capacity(1 + bytes.len() / 32);
        starts.push(0);
        starts.extend(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1));
        LineIndex { starts }
    }

    /// The text of 1-based `line`, without its line ending.
    pub fn line_text<'t>(&self, text: &'t str, line: usize) -> Option<&'t str> {
        let start = *self.starts.get(line.checked_sub(1)?)?;
        let end = self.starts.get(line).map(|e| e - 1).unwrap_or(text.len());
        let l = text.get(start..end)?;
        Some(l.strip_suffix('\r').unwrap_or(l))
    }

    /// The 1-based line and column (in characters) of byte `offset`.
    pub fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let col = text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(0);
        (line, col + 1)
    }
}

/// A path shown relative to `root` when it lies inside it, else absolute
/// (so that it names the same file from any working directory).
pub fn display_path(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_position_line_and_caret() {
        let text = "---\ncode: x\nstatus: abc\n---\n";
        let d = Diagnostic::error("a.md", Some(text), 3, 9, "front-matter", "bad status");
        let out = d.render(false);
        assert_eq!(
            out,
            "a.md:3:9: error: bad status\n3 | status: abc\n  |         ^\n"
        );
    }

    #[test]
    fn line_index_positions() {
        let text = "ab\ncdé\nf";
        let idx = LineIndex::new(text);
        assert_eq!(idx.position(text, 0), (1, 1));
        assert_eq!(idx.position(text, 3), (2, 1));
        assert_eq!(idx.position(text, 7), (2, 4));
        assert_eq!(idx.position(text, 8), (3, 1));
        assert_eq!(idx.position(text, 9), (3, 2));
    }

    #[test]
    fn github_format_escapes() {
        let d = Diagnostic::warning("dir/a.md", None, 2, 1, "unknown-language", "50% off\nnext");
        assert_eq!(
            d.github(),
            "::warning file=dir/a.md,line=2,col=1,title=unknown-language::50%25 off%0Anext"
        );
    }

    #[test]
    fn github_format_escapes_properties_and_runs_without_a_file() {
        let d = Diagnostic::error("a,b:c%\nd.md", None, 1, 2, "json", "x\r\ny");
        assert_eq!(
            d.github(),
            "::error file=a%2Cb%3Ac%25%0Ad.md,line=1,col=2,title=json::x\\u{d}%0Ay"
        );
        let mut d = Diagnostic::error("", None, 0, 0, "usage", "bad\x1b[2J flag");
        d.line = 0;
        assert_eq!(d.github(), "::error title=usage::bad\\u{1b}[2J flag");
        assert_eq!(d.render(false), "error: bad\\u{1b}[2J flag\n");
    }

    #[test]
    fn long_lines_show_a_window_around_the_column() {
        let line = format!("{}X{}", "a".repeat(1000), "b".repeat(1000));
        let d = Diagnostic::error("a.md", Some(&line), 1, 1001, "json", "m");
        // Only the shown window is kept.
        let kept = d.source_line.as_ref().unwrap();
        assert_eq!(kept.text.chars().count(), SOURCE_WINDOW);
        let out = d.render(false);
        let rows: Vec<&str> = out.lines().collect();
        let shown = rows[1].strip_prefix("1 | ").unwrap();
        let caret = rows[2].strip_prefix("  | ").unwrap();
        assert_eq!(shown.chars().count(), SOURCE_WINDOW + 2);
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert_eq!(shown.chars().nth(caret.chars().count() - 1), Some('X'));
        // Near the start: no cut before, the caret where it was.
        let d = Diagnostic::error("a.md", Some(&line), 1, 3, "json", "m");
        let out = d.render(false);
        assert!(
            out.contains("\n1 | aaa") && out.contains("\n  |   ^\n"),
            "{out}"
        );
        // Escaped characters before the column move the caret along.
        let d = Diagnostic::error("a.md", Some("\x1bx"), 1, 2, "json", "m");
        assert_eq!(
            d.render(false),
            "a.md:1:2: error: m\n1 | \\u{1b}x\n  |       ^\n"
        );
    }

    #[test]
    fn json_escapes_del_and_c1() {
        let ds: Diagnostics = [Diagnostic::error(
            "a.md",
            None,
            1,
            1,
            "json",
            "\x7f\u{9b}\x1b",
        )]
        .into_iter()
        .collect();
        let json = ds.to_json();
        assert!(!json.contains(['\x7f', '\u{9b}', '\x1b']), "{json:?}");
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back[0]["message"], "\x7f\u{9b}\x1b");
    }

    #[test]
    fn sort_orders_and_dedups() {
        let mut ds: Diagnostics = [
            Diagnostic::error("b.md", None, 1, 1, "json", "m"),
            Diagnostic::error("a.md", None, 5, 1, "json", "m"),
            Diagnostic::error("a.md", None, 2, 1, "json", "m"),
            Diagnostic::error("a.md", None, 2, 1, "json", "m"),
        ]
        .into_iter()
        .collect();
        ds.sort();
        let lines: Vec<_> = ds.iter().map(|d| (d.file.clone(), d.line)).collect();
        assert_eq!(
            lines,
            vec![("a.md".into(), 2), ("a.md".into(), 5), ("b.md".into(), 1)]
        );
    }
}
