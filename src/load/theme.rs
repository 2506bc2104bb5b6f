//! The theme: templates and static assets, built in and overridden by a
//! site's own `templates/` and `static/`, file by file.

use crate::paths::{STATIC_DIR, TEMPLATES_DIR};
use std::collections::BTreeMap;
use std::path::Path;

use crate::diagnostic::{display_path, Diagnostic, Diagnostics};
use crate::Error;

/// Templates embedded in the binary (the repository's `templates/`).
const BUILTIN_TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("catalog.html", include_str!("../../templates/catalog.html")),
    ("page.html", include_str!("../../templates/page.html")),
    ("404.html", include_str!("../../templates/404.html")),
    (
        "redirect.html",
        include_str!("../../templates/redirect.html"),
    ),
    ("sitemap.xml", include_str!("../../templates/sitemap.xml")),
    (
        "components.html",
        include_str!("../../templates/components.html"),
    ),
];

/// Static files embedded in the binary (the repository's `static/`).
const BUILTIN_STATIC: &[(&str, &[u8])] = &[
    ("errdocs.css", include_bytes!("../../static/errdocs.css")),
    ("errdocs.js", include_bytes!("../../static/errdocs.js")),
    ("favicon.svg", include_bytes!("../../static/favicon.svg")),
];

/// The theme's stylesheet and script, written with a content hash in their
/// names so hosts may cache them forever.
pub const FINGERPRINTED: &[&str] = &["errdocs.css", "errdocs.js"];

/// Templates and static files after the site's overrides.
#[derive(Debug, Clone, Default)]
pub struct Theme {
    /// Template name to source.
    pub templates: BTreeMap<String, String>,
    /// Output-relative path to bytes.
    pub static_files: BTreeMap<String, Vec<u8>>,
}

impl Theme {
    /// The built-in theme with `root`'s `templates/` and `static/` laid over it.
    pub fn load(root: &Path) -> Result<Self, Error> {
        let mut theme = Theme::default();
        for (name, src) in BUILTIN_TEMPLATES {
            theme
                .templates
                .insert((*name).to_string(), (*src).to_string());
        }
        for (name, bytes) in BUILTIN_STATIC {
            theme
                .static_files
                .insert((*name).to_string(), bytes.to_vec());
        }
        for (name, bytes) in read_tree(root, &root.join(TEMPLATES_DIR), true)? {
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::Usage(format!("{TEMPLATES_DIR}/{name} is not valid UTF-8")))?;
            theme.templates.insert(name, text);
        }
        for (name, bytes) in read_tree(root, &root.join(STATIC_DIR), false)? {
            theme.static_files.insert(name, bytes);
        }
        Ok(theme)
    }
}

/// The problems of the site's `static/` files: links out of the site,
/// files that are not regular, files that cannot be opened. The site's
/// load reports them beside the content's problems, so that one `check`
/// shows all of them; [`Theme::load`] leaves such files out.
pub fn static_problems(root: &Path) -> Vec<Diagnostic> {
    let dir = root.join(STATIC_DIR);
    let (files, mut problems) = crate::load::sources::walk(root, &dir, |_| true);
    for path in files {
        let opened = crate::load::sources::check_inside(root, &path).and_then(|_| {
            std::fs::File::open(&path)
                .map(drop)
                .map_err(crate::load::sources::ReadError::Io)
        });
        if let Err(e) = opened {
            problems.push(Diagnostic::error(
                display_path(root, &path),
                None,
                1,
                1,
                e.rule(),
                e.to_string(),
            ));
        }
    }
    problems
}

/// Every file under `dir` (none when it does not exist), keyed by its
/// `/`-separated relative path; dotfiles and editor leftovers are skipped.
/// A link out of the site or a file that is not regular is an error when
/// `strict`; otherwise it is left out ([`static_problems`] reports it).
fn read_tree(root: &Path, dir: &Path, strict: bool) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let (files, problems) = crate::load::sources::walk(root, dir, |_| true);
    let mut problems = Diagnostics::from_iter(problems.into_iter().filter(|_| strict));
    let mut out = Vec::new();
    for path in files {
        let rel = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        match crate::load::sources::read(root, &path) {
            Ok(bytes) => out.push((rel, bytes)),
            // What `static_problems` reports (a link out of the site, a
            // file that cannot be opened) is left out; a read that fails
            // after the file opened is still an error.
            Err(e)
                if !strict
                    && (!matches!(e, crate::load::sources::ReadError::Io(_))
                        || std::fs::File::open(&path).is_err()) => {}
            Err(e) => problems.push(Diagnostic::error(
                display_path(root, &path),
                None,
                1,
                1,
                e.rule(),
                e.to_string(),
            )),
        }
    }
    if problems.has_errors() {
        problems.sort();
        return Err(Error::Content(problems));
    }
    Ok(out)
}

/// A short content hash for cache-busting file names.
pub fn content_hash(bytes: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(bytes))[..10].to_string()
}

/// `errdocs.css` with hash `h` becomes `errdocs.h.css`.
pub fn fingerprinted_name(name: &str, hash: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{name}.{hash}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_names() {
        assert_eq!(fingerprinted_name("errdocs.css", "abc"), "errdocs.abc.css");
        assert_eq!(content_hash(b"x").len(), 10);
        assert_ne!(content_hash(b"x"), content_hash(b"y"));
    }

    #[test]
    fn overrides_file_by_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("templates")).unwrap();
        std::fs::create_dir_all(dir.path().join("static/img")).unwrap();
        std::fs::write(dir.path().join("templates/404.html"), "custom").unwrap();
        std::fs::write(dir.path().join("static/img/logo.svg"), "<svg/>").unwrap();
        std::fs::write(dir.path().join("static/.hidden"), "x").unwrap();
        let t = Theme::load(dir.path()).unwrap();
        assert_eq!(t.templates["404.html"], "custom");
        assert!(t.templates["base.html"].contains("<html"));
        assert_eq!(t.static_files["img/logo.svg"], b"<svg/>");
        assert!(!t.static_files.contains_key(".hidden"));
        assert!(t.static_files.contains_key("errdocs.css"));
    }
}
