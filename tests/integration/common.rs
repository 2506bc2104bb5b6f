//! Helpers for integration tests: fixture sites in temp folders, the
//! binary, and parsed output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use scraper::{Html, Selector};

/// Copies `tests/fixtures/<name>` into a fresh temp folder.
pub(crate) fn fixture(name: &str) -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&src, dir.path());
    dir
}

/// Copies a folder tree.
pub(crate) fn copy_tree(src: &Path, dst: &Path) {
    for entry in walkdir::WalkDir::new(src) {
        let entry = entry.expect("walk fixture");
        let rel = entry.path().strip_prefix(src).unwrap();
        let target = dst.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Writes a file, creating its folders.
pub(crate) fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// Runs the `errdocs` binary with `args`.
pub(crate) fn errdocs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_errdocs"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run errdocs")
}

/// Runs the `errdocs` binary with `args` from the working directory `cwd`,
/// from which it prints every path.
pub(crate) fn errdocs_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_errdocs"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("run errdocs")
}

/// Standard error as text.
pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Builds `root` into `root/public` with the library.
pub(crate) fn build(root: &Path) -> errdocs::BuildReport {
    errdocs::build(root, &errdocs::BuildOptions::default()).expect("build succeeds")
}

/// Parses an output HTML file.
pub(crate) fn page(out: &Path, rel: &str) -> Html {
    let text = std::fs::read_to_string(out.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    Html::parse_document(&text)
}

/// All elements matching `css`.
pub(crate) fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    let sel = Selector::parse(css).unwrap_or_else(|e| panic!("selector {css}: {e:?}"));
    doc.select(&sel).collect()
}

/// The text of the single element matching `css`.
pub(crate) fn text_of(doc: &Html, css: &str) -> String {
    let found = select(doc, css);
    assert_eq!(
        found.len(),
        1,
        "expected one `{css}`, found {}",
        found.len()
    );
    found[0]
        .text()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every file under `dir` with its bytes, for before/after comparisons.
pub(crate) fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(dir).unwrap().to_path_buf(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}
