//! YAML into typed settings, with file positions and readable messages.
//!
//! serde_yaml reports positions inside the YAML text it was given; front
//! matter starts below a `---` line, so callers pass how many lines come
//! before the YAML and get positions in the whole file.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::diagnostic::Diagnostic;

/// A YAML problem at a 1-based line and column of the whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line in the file.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl YamlError {
    /// The problem as a diagnostic in `file`, whose full text is `text`.
    pub fn at(&self, file: &Path, text: &str) -> Diagnostic {
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

/// Parses `yaml` into `T`. `line_offset` is the number of file lines
/// before the YAML text.
pub fn from_str<T: DeserializeOwned>(yaml: &str, line_offset: usize) -> Result<T, YamlError> {
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
pub fn did_you_mean<'a>(
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

/// The 1-based line and column (of the value, or of the key when it has
/// none on its line) where `key:` first appears in `yaml`, at any depth.
pub fn key_position(yaml: &str, line_offset: usize, key: &str) -> Option<(usize, usize)> {
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
    fn key_position_finds_value() {
        let y = "code: a\nstatus:  99\nhighlight:\n  dark: x\n";
        assert_eq!(key_position(y, 1, "status"), Some((3, 10)));
        assert_eq!(key_position(y, 0, "dark"), Some((4, 9)));
        assert_eq!(key_position(y, 0, "nope"), None);
    }
}
