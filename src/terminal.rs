//! What errdocs prints for people: text from content made safe for a
//! terminal, paths shown from where the command runs, and writes to
//! standard error that never panic.
//!
//! A catalog may come from someone else, and its text reaches developers'
//! terminals and CI logs. An escape sequence in a title could clear the
//! screen, retitle the window, fake a hyperlink or (on some terminals)
//! write the clipboard, so every printer passes content through
//! [`escape`]; only errdocs' own colours reach the terminal.

use std::borrow::Cow;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::Error;

/// True for the characters a terminal may act on rather than show: C0
/// controls other than newline and tab, DEL and the C1 controls.
fn is_control(c: char) -> bool {
    matches!(c, '\0'..='\x08' | '\x0b'..='\x1f' | '\x7f'..='\u{9f}')
}

/// `text` with each control character (C0 except `\n` and `\t`, DEL, C1)
/// written as a visible Rust-style escape: ESC becomes `\u{1b}`, BEL
/// `\u{7}`, CSI (U+009B) `\u{9b}`.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// Pushes `c` onto `out`, as an escape when it is a control character.
pub fn push_escaped(out: &mut String, c: char) {
    if is_control(c) {
        out.push_str(&format!("\\u{{{:x}}}", c as u32));
    } else {
        out.push(c);
    }
}

/// How many columns `c` takes once escaped (ignoring wide characters).
pub fn escaped_width(c: char) -> usize {
    if is_control(c) {
        format!("\\u{{{:x}}}", c as u32).len()
    } else {
        1
    }
}

/// `path` as a command prints it: relative to the working directory when
/// it lies inside it, absolute otherwise. An empty path stays empty.
pub fn from_cwd(path: &Path) -> PathBuf {
    if path.as_os_str().is_empty() {
        return PathBuf::new();
    }
    let Ok(cwd) = std::env::current_dir() else {
        return path.to_path_buf();
    };
    let full = normalize(&cwd.join(path));
    match full.strip_prefix(&cwd) {
        Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rel) => rel.to_path_buf(),
        // The working directory may be reached through a link: compare
        // resolved paths before giving up on a relative path.
        Err(_) => match (full.canonicalize(), cwd.canonicalize()) {
            (Ok(f), Ok(c)) if f.starts_with(&c) && f != c => {
                f.strip_prefix(&c).map(Path::to_path_buf).unwrap_or(full)
            }
            _ => full,
        },
    }
}

/// A file that diagnostics name relative to the site `root` (or absolutely),
/// as a command prints it: see [`from_cwd`].
pub fn site_file(root: &Path, file: &Path) -> PathBuf {
    if file.as_os_str().is_empty() {
        return PathBuf::new();
    }
    from_cwd(&root.join(file))
}

/// `.` and `..` resolved by spelling (the path is absolute).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Writes `text` to standard output. A closed pipe is no error: whoever
/// read the output has all they wanted (`errdocs check | head`), and the
/// command ends with the status it would have had, as `cat` does. Any
/// other failure (a full disk) is an I/O error.
pub fn write_stdout(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    quiet_on_closed_pipe(
        "standard output",
        out.write_all(text.as_bytes()).and_then(|()| out.flush()),
    )
}

/// Writes `text` to standard error, as [`write_stdout`] does.
pub fn write_stderr(text: &str) -> Result<(), Error> {
    let mut err = std::io::stderr().lock();
    quiet_on_closed_pipe(
        "standard error",
        err.write_all(text.as_bytes()).and_then(|()| err.flush()),
    )
}

fn quiet_on_closed_pipe(stream: &str, written: std::io::Result<()>) -> Result<(), Error> {
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io(Path::new(stream), e))
        }
        _ => Ok(()),
    }
}

/// The one-line report of an error that is not a list of diagnostics,
/// with its path from the working directory and its text escaped.
pub fn error_line(e: &Error) -> String {
    let text = match e {
        Error::Io { path, source } => format!("{}: {source}", from_cwd(path).display()),
        other => other.to_string(),
    };
    format!("error: {}\n", escape(&text))
}

/// Writes `text` to standard error without panicking. The library's notes
/// and warnings go through it: a full disk or a closed pipe behind
/// standard error must not stop a build; the command's own last line
/// reports a broken standard error.
pub fn note(text: &str) {
    // Paths and names in a note may come from the site's files.
    write_note(&escape(text));
}

/// [`note`] for text already made safe for a terminal (rendered
/// diagnostics, with errdocs' own colours).
pub fn note_styled(text: &str) {
    write_note(text);
}

fn write_note(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_not_sent() {
        assert_eq!(escape("plain\ttext\n"), "plain\ttext\n");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(
            escape("a\x1b[2Jb\x1b]0;title\x07c\u{9b}31m\x7f\r\0"),
            "a\\u{1b}[2Jb\\u{1b}]0;title\\u{7}c\\u{9b}31m\\u{7f}\\u{d}\\u{0}"
        );
        assert_eq!(escape("é ü 中"), "é ü 中");
        assert_eq!(escaped_width('\x1b'), "\\u{1b}".len());
        assert_eq!(escaped_width('a'), 1);
    }

    #[test]
    fn paths_from_the_working_directory() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(from_cwd(&cwd.join("a/b.md")), Path::new("a/b.md"));
        assert_eq!(from_cwd(Path::new("./docs/./x.md")), Path::new("docs/x.md"));
        assert_eq!(from_cwd(Path::new("docs/../x.md")), Path::new("x.md"));
        assert_eq!(from_cwd(&cwd), Path::new("."));
        let outside = cwd.parent().unwrap().join("elsewhere/x.md");
        assert_eq!(from_cwd(&outside), outside);
        assert_eq!(from_cwd(Path::new("../elsewhere/x.md")), outside);
        assert_eq!(
            site_file(Path::new("docs"), Path::new("content/a.md")),
            Path::new("docs/content/a.md")
        );
        assert_eq!(site_file(Path::new("docs"), Path::new("")), Path::new(""));
        assert_eq!(site_file(Path::new("docs"), &outside), outside);
    }
}
