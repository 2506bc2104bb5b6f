//! YAML into typed settings, with file positions and readable messages.
//!
//! serde_yaml reports positions inside the YAML text it was given; front
//! matter starts below a `---` line, so callers pass how many lines come
//! before the YAML and get positions in the whole file.

use std::collections::HashMap;
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::diagnostic::Diagnostic;

/// A YAML problem at a 1-based line and column of the whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YamlError {
    /// 1-based line in the file.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl YamlError {
    /// The problem as a diagnostic in `file`, whose full text is `text`.
    pub(crate) fn at(&self, file: &Path, text: &str) -> Diagnostic {
        Diagnostic::error(
            file,
            Some(text),
            self.line,
            self.column,
            "front-matter",
            self.message.clone(),
        )
    }
}

/// The deepest nesting of collections that YAML text may have: the parser
/// takes time quadratic in depth, so deeper text is refused unparsed.
pub(crate) const MAX_DEPTH: usize = 32;

/// Brackets open at once, counted inside quotes too, beyond which YAML is
/// refused unparsed (the parser's time grows with the square of depth).
const MAX_BRACKETS: usize = 256;

/// Parses `yaml` into `T`. `line_offset` is the number of file lines
/// before the YAML text. Text nested deeper than [`MAX_DEPTH`] is refused
/// before parsing.
pub(crate) fn from_str<T: DeserializeOwned>(
    yaml: &str,
    line_offset: usize,
) -> Result<T, YamlError> {
    if let Some((line, column)) = too_deep(yaml) {
        return Err(YamlError {
            line: line + line_offset,
            column,
            message: format!(
                "the YAML is nested more than {MAX_DEPTH} levels deep here, more than errdocs parses"
            ),
        });
    }
    // An empty block is an empty mapping, so that missing keys are named.
    let source = if yaml.trim().is_empty() { "{}" } else { yaml };
    serde_yaml::from_str(source).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((1, 1));
        YamlError {
            line: line + line_offset,
            column,
            message: friendly_message(&e.to_string()),
        }
    })
}

/// The 1-based line and column where `yaml` first nests deeper than
/// [`MAX_DEPTH`], counting block indentation, `- ` sequence entries on
/// one line and flow `[`/`{`. It errs on the side of depth: quotes and
/// block scalars are skipped, plain text is not read as flow.
fn too_deep(yaml: &str) -> Option<(usize, usize)> {
    nested(yaml).or_else(|| too_many_brackets(yaml))
}

/// Where brackets open at once pass [`MAX_BRACKETS`], inside quotes or not.
fn too_many_brackets(yaml: &str) -> Option<(usize, usize)> {
    // Whatever the quoting, no front matter opens this many brackets in a
    // row: a bound on the parser's cost that holds even where the scan
    // below reads a quote the parser does not see.
    let mut loose = 0usize;
    for (i, c) in yaml.bytes().enumerate() {
        match c {
            b'[' | b'{' => {
                loose += 1;
                if loose > MAX_BRACKETS {
                    let line = yaml[..i].bytes().filter(|&c| c == b'\n').count();
                    let start = yaml[..i].rfind('\n').map_or(0, |n| n + 1);
                    return Some((line + 1, yaml[start..i].chars().count() + 1));
                }
            }
            b']' | b'}' => loose = loose.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// [`too_deep`] as the structure reads.
fn nested(yaml: &str) -> Option<(usize, usize)> {
    let mut block: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    // The quote of a scalar that runs on past its line, if any.
    let mut quote: Option<u8> = None;
    // The indentation of a line that opened a block scalar (`|`, `>`).
    let mut literal: Option<usize> = None;
    for (n, line) in yaml.split('\n').enumerate() {
        let b = line.as_bytes();
        let indent = b.iter().take_while(|&&c| c == b' ').count();
        let blank = b[indent..].iter().all(|c| c.is_ascii_whitespace());
        if let Some(at) = literal {
            if blank || indent > at {
                continue;
            }
            literal = None;
        }
        if quote.is_none() && flow == 0 && !blank && b[indent] != b'#' {
            // Block structure: each `- ` on the line opens a level.
            let mut cols = vec![indent];
            let mut i = indent;
            while b.get(i) == Some(&b'-') && matches!(b.get(i + 1), Some(b' ' | b'\t')) {
                i += 2;
                while matches!(b.get(i), Some(b' ' | b'\t')) {
                    i += 1;
                }
                cols.push(i);
            }
            for col in cols {
                while block.last().is_some_and(|&top| top > col) {
                    block.pop();
                }
                if block.last().is_none_or(|&top| top < col) {
                    block.push(col);
                }
                if block.len() > MAX_DEPTH {
                    return Some((n + 1, line[..col.min(line.len())].chars().count() + 1));
                }
            }
        }
        // Flow collections and quotes, which may span lines.
        let mut prev = b' ';
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if let Some(q) = quote {
                if c == b'\\' && q == b'"' {
                    i += 2;
                    continue;
                }
                if c == q {
                    if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    quote = None;
                    prev = c;
                }
                i += 1;
                continue;
            }
            // Outside flow collections a comma is text (`x,'y` is plain).
            let token_start = matches!(prev, b' ' | b'\t' | b':' | b'-' | b'?')
                || (flow > 0 && matches!(prev, b'[' | b'{' | b','));
            match c {
                b'#' if matches!(prev, b' ' | b'\t') => break,
                b'"' | b'\'' if token_start => quote = Some(c),
                b'[' | b'{' if token_start || flow > 0 => {
                    flow += 1;
                    if block.len() + flow > MAX_DEPTH {
                        return Some((n + 1, line[..i].chars().count() + 1));
                    }
                }
                b']' | b'}' if flow > 0 => flow -= 1,
                b'|' | b'>' if token_start && flow == 0 => {
                    let rest = line[i + 1..].trim_start_matches([
                        '+', '-', '1', '2', '3', '4', '5', '6', '7', '8', '9',
                    ]);
                    if rest.trim().is_empty() || rest.trim_start().starts_with('#') {
                        literal = Some(indent);
                        break;
                    }
                }
                _ => {}
            }
            if !matches!(c, b' ' | b'\t') || prev != b' ' {
                prev = c;
            }
            i += 1;
        }
    }
    None
}

/// Rewrites serde_yaml's messages for people who write docs, not Rust.
fn friendly_message(raw: &str) -> String {
    // Positions are reported separately.
    let mut msg = match raw.rfind(" at line ") {
        Some(i) if raw[i..].contains(" column ") => raw[..i].to_string(),
        _ => raw.to_string(),
    };
    if let Some(start) = msg.find("unknown field `") {
        let name_start = start + "unknown field `".len();
        if let Some(len) = msg[name_start..].find('`') {
            let name = msg[name_start..name_start + len].to_string();
            let expected: Vec<String> = msg[name_start + len + 1..]
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect();
            let prefix = &msg[..start];
            let hint = match did_you_mean(&name, expected.iter().map(String::as_str)) {
                Some(s) => format!("; did you mean `{s}`?"),
                None if !expected.is_empty() => format!(
                    "; expected one of {}",
                    expected
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => String::new(),
            };
            msg = format!("{prefix}unknown key `{name}`{hint}");
        }
    }
    for (from, to) in [
        ("expected u16", "expected an integer"),
        ("expected u32", "expected an integer"),
        ("expected u64", "expected an integer"),
        ("expected i64", "expected an integer"),
        ("expected a sequence", "expected a list"),
        ("missing field", "missing required key"),
    ] {
        msg = msg.replace(from, to);
    }
    msg
}

/// The closest of `candidates` to `word`, when it is close enough to be a typo.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Each top-level key of `yaml` whose value (or key) holds a control
/// character that only an escape (`"\x1b"`, `"\v"`, `"\N"`) can write,
/// with the first such character. Only double-quoted scalars have
/// escapes, so text without a backslash is not parsed again.
pub(crate) fn escaped_controls(yaml: &str) -> Vec<(String, char)> {
    use serde_yaml::Value;
    if !yaml.contains('\\') {
        return Vec::new();
    }
    fn find(value: &Value) -> Option<char> {
        match value {
            Value::String(s) => s.chars().find(|&c| crate::markdown::is_control(c)),
            Value::Sequence(items) => items.iter().find_map(find),
            Value::Mapping(map) => map.iter().find_map(|(k, v)| find(k).or_else(|| find(v))),
            Value::Tagged(t) => find(&t.value),
            _ => None,
        }
    }
    // Callers parsed the same text typed first, so this parse succeeds too.
    let Ok(Value::Mapping(fields)) = from_str::<Value>(yaml, 0) else {
        return Vec::new();
    };
    fields
        .iter()
        .filter_map(|(key, value)| {
            let c = find(key).or_else(|| find(value))?;
            Some((key.as_str().unwrap_or_default().to_string(), c))
        })
        .collect()
}

/// The message for a control character that an escape put into `key`.
pub(crate) fn escaped_control_message(key: &str, c: char) -> String {
    format!(
        "`{key}` holds the control character U+{:04X} (from an escape), which is not text; remove the escape",
        u32::from(c)
    )
}

/// `did_you_mean` over many names without comparing a word with each:
/// beyond a few hundred names, only names one edit away (found through
/// their one-letter deletions) or with the same last path segment are
/// scored, so a catalog of 10,000 pages, each with a broken link, costs
/// time linear in its size. The index is built on the first question.
#[derive(Debug, Default)]
pub struct NameIndex {
    names: Vec<Box<str>>,
    index: std::sync::OnceLock<Variants>,
}

/// Deletion variants and last path segments, each to the names that have them.
type Variants = HashMap<Box<str>, Vec<u32>>;

/// Up to this many names, every name is scored.
const SCORE_ALL: usize = 256;

impl NameIndex {
    /// An index of `names`.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut names: Vec<Box<str>> = names.into_iter().map(Box::from).collect();
        // A fixed order makes the answer the same from run to run.
        names.sort_unstable();
        NameIndex {
            names,
            index: std::sync::OnceLock::new(),
        }
    }

    /// The name most like `word`, if one is close.
    pub fn did_you_mean(&self, word: &str) -> Option<&str> {
        if self.names.len() <= SCORE_ALL {
            return did_you_mean(word, self.names.iter().map(|n| &**n));
        }
        let index = self.index.get_or_init(|| {
            let mut map: Variants = HashMap::new();
            for (i, name) in self.names.iter().enumerate() {
                for key in keys(name) {
                    map.entry(key.into()).or_default().push(i as u32);
                }
            }
            map
        });
        let mut found: Vec<u32> = keys(word)
            .filter_map(|k| index.get(k.as_str()))
            .flatten()
            .copied()
            .collect();
        found.sort_unstable();
        found.dedup();
        did_you_mean(word, found.iter().map(|&i| &*self.names[i as usize]))
    }
}

/// What a name is indexed under: itself, each of its one-character
/// deletions, and its last path segment (a link into the wrong folder).
fn keys(name: &str) -> impl Iterator<Item = String> + '_ {
    let deletions = name
        .char_indices()
        .map(move |(i, c)| format!("{}{}", &name[..i], &name[i + c.len_utf8()..]));
    let tail = name
        .rsplit_once('/')
        .map(|(_, t)| format!("/{t}"))
        .into_iter();
    std::iter::once(name.to_string())
        .chain(deletions)
        .chain(tail)
}

/// The 1-based line and column (of the value, or of the key when it has
/// none on its line) where `key:` first appears in `yaml`, at any depth.
pub(crate) fn key_position(yaml: &str, line_offset: usize, key: &str) -> Option<(usize, usize)> {
    for (i, line) in yaml.split('\n').enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let trimmed = trimmed.strip_prefix("- ").unwrap_or(trimmed);
        let lead = line.len() - trimmed.len();
        let Some(after) = trimmed.strip_prefix(key) else {
            continue;
        };
        let after_key = after.trim_start();
        if let Some(value) = after_key.strip_prefix(':') {
            let value_trimmed = value.trim_start();
            let value_start = line.len() - value_trimmed.len();
            let col_byte = if value_trimmed.trim_end().is_empty() {
                lead.max(indent)
            } else {
                value_start
            };
            let col = line[..col_byte.min(line.len())].chars().count() + 1;
            return Some((i + 1 + line_offset, col));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_past_a_quote_the_parser_does_not_see_are_refused() {
        for text in [
            format!("scope: x,'y\nextra: {}\n", "[".repeat(65_000)),
            format!("scope: x-'y\nextra: {}\n", "[".repeat(65_000)),
            format!("scope: x 'y\nextra: {}\n", "{".repeat(65_000)),
        ] {
            let start = std::time::Instant::now();
            assert_eq!(too_deep(&text).map(|(l, _)| l), Some(2));
            assert!(start.elapsed() < std::time::Duration::from_secs(1));
        }
        // Brackets in a quoted title are text, up to the bound.
        assert_eq!(too_deep(&format!("title: '{}'\n", "[".repeat(200))), None);
    }

    #[test]
    fn a_large_index_finds_one_edit_and_the_wrong_folder() {
        let names: Vec<String> = (0..5000)
            .map(|i| format!("errors/c{}/code_{i:05}.md", i % 50))
            .collect();
        let index = NameIndex::new(names.iter().map(String::as_str));
        assert_eq!(
            index.did_you_mean("errors/c7/code_00157.md"),
            Some("errors/c7/code_00157.md")
        );
        assert_eq!(
            index.did_you_mean("errors/c7/cde_00157.md"),
            Some("errors/c7/code_00157.md")
        );
        assert_eq!(
            index.did_you_mean("errors/c7/codee_00157.md"),
            Some("errors/c7/code_00157.md")
        );
        assert_eq!(
            index.did_you_mean("errors/other/code_00157.md"),
            Some("errors/c7/code_00157.md")
        );
        assert_eq!(index.did_you_mean("nothing/like/it"), None);
        let small = NameIndex::new(["payment_failed", "card_declined"]);
        assert_eq!(small.did_you_mean("payment_faild"), Some("payment_failed"));
    }
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        status: u16,
        code: String,
    }

    #[test]
    fn unknown_key_suggests() {
        let e = from_str::<T>("code: a\nstauts: 4\n", 1).unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(e.message, "unknown key `stauts`; did you mean `status`?");
    }

    #[test]
    fn wrong_type_says_expected() {
        let e = from_str::<T>("code: a\nstatus: \"401\"\n", 1).unwrap_err();
        assert_eq!((e.line, e.column), (3, 9));
        assert!(e.message.contains("expected an integer"), "{}", e.message);
    }

    #[test]
    fn missing_field_named() {
        let e = from_str::<T>("", 1).unwrap_err();
        assert!(
            e.message.contains("missing required key `status`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn alias_bomb_is_an_error_not_a_hang() {
        let mut y = String::from("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
        for i in 0..9 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            y.push_str(&format!(
                "l{i}: &l{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
            ));
        }
        assert!(from_str::<serde_yaml::Value>(&y, 0).is_err());
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        for (deep, at) in [
            ("a: ".to_string() + &"[".repeat(100_000), (1, 35)),
            ("a: ".to_string() + &"{x: ".repeat(40), (1, 128)),
            ("- ".repeat(40) + "x", (1, 65)),
            (
                (0..40)
                    .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
                    .collect(),
                (33, 33),
            ),
        ] {
            let started = std::time::Instant::now();
            let e = from_str::<serde_yaml::Value>(&deep, 1).unwrap_err();
            assert!(started.elapsed() < std::time::Duration::from_secs(1));
            assert_eq!((e.line - 1, e.column), at, "{}", &deep[..40]);
            assert!(e.message.contains("nested more than 32"), "{}", e.message);
        }
        // Brackets in plain text, quotes and block scalars are not nesting.
        let fine = format!(
            "title: a [b {{c\nq: \"[[[[[{}\"\nd: |\n{}\nlist: [[1, 2], {{a: [3]}}]\n",
            "[".repeat(50),
            (0..40)
                .map(|i| format!("  {}x", " ".repeat(i)))
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert!(from_str::<serde_yaml::Value>(&fine, 0).is_ok(), "{fine}");
    }

    #[test]
    fn key_position_finds_value() {
        let y = "code: a\nstatus:  99\nhighlight:\n  dark: x\n";
        assert_eq!(key_position(y, 1, "status"), Some((3, 10)));
        assert_eq!(key_position(y, 0, "dark"), Some((4, 9)));
        assert_eq!(key_position(y, 0, "nope"), None);
    }
}
