//! Reading the site's own files, and nothing else.
//!
//! A site's sources come from pull requests, and `build` runs in CI with
//! secrets around it. So errdocs reads only regular files inside the site
//! root: a symbolic link whose target resolves outside the root (to
//! `/etc/passwd`, a folder of keys, `/proc/self/environ`) is an error at
//! the link's own path and its target is never opened; links that stay
//! inside the root work. FIFOs, sockets and devices are errors too: reading
//! one could block a build forever or never end.

use std::path::{Path, PathBuf};

use crate::diagnostic::{display_path, Diagnostic};

/// Why a site file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A symbolic link whose target is outside the site root.
    #[error("it is a symbolic link to `{}`, outside the site root; errdocs reads nothing from outside the site (put the file itself here, or link to one inside the site)", .0.display())]
    OutsideRoot(PathBuf),
    /// A symbolic link to a hidden file or folder of the site, such as
    /// `.git/config` (where CI keeps its token) or the cache.
    #[error("it is a symbolic link to `{}`, a hidden file or folder of the site; errdocs publishes no hidden file (link to the file itself)", .0.display())]
    HiddenTarget(PathBuf),
    /// Not a regular file.
    #[error(
        "it is not a regular file (a FIFO, socket or device); errdocs reads only regular files"
    )]
    NotAFile,
    /// The read itself failed.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
}

impl ReadError {
    /// The diagnostic rule for this problem.
    pub fn rule(&self) -> &'static str {
        match self {
            ReadError::OutsideRoot(_) | ReadError::HiddenTarget(_) => "outside-root",
            ReadError::NotAFile => "not-a-file",
            ReadError::Io(_) => "io",
        }
    }

    /// True when the file does not exist (and is no link either).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

/// The root as the file system resolves it, which every target is compared with.
pub fn canonical_root(root: &Path) -> PathBuf {
    root.canonicalize().unwrap_or_else(|_| root.to_path_buf())
}

/// Checks that `path`, a link or a file under `root`, resolves inside it,
/// and that what it names is a regular file or a folder.
pub fn check_inside(root: &Path, path: &Path) -> Result<std::fs::Metadata, ReadError> {
    let meta = std::fs::symlink_metadata(path)?;
    let target = match path.canonicalize() {
        Ok(t) => t,
        // A link to nothing: say where it points, without following it.
        Err(e) if meta.file_type().is_symlink() => {
            return Err(ReadError::Io(std::io::Error::new(
                e.kind(),
                format!(
                    "it is a symbolic link to `{}`, which does not exist",
                    std::fs::read_link(path).unwrap_or_default().display()
                ),
            )))
        }
        Err(e) => return Err(e.into()),
    };
    allowed_target(&canonical_root(root), path, &target)?;
    let meta = std::fs::metadata(&target)?;
    if !meta.is_file() && !meta.is_dir() {
        return Err(ReadError::NotAFile);
    }
    Ok(meta)
}

/// Checks where a path resolves: inside the root, and in none of its
/// hidden files or folders (errdocs walks none of them either).
fn allowed_target(canonical_root: &Path, path: &Path, target: &Path) -> Result<(), ReadError> {
    let shown = || std::fs::read_link(path).unwrap_or_else(|_| target.to_path_buf());
    let Ok(rel) = target.strip_prefix(canonical_root) else {
        return Err(ReadError::OutsideRoot(shown()));
    };
    if rel
        .components()
        .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
    {
        return Err(ReadError::HiddenTarget(shown()));
    }
    Ok(())
}

/// Reads the file at `path` under `root`: only a regular file that
/// resolves inside the root.
pub fn read(root: &Path, path: &Path) -> Result<Vec<u8>, ReadError> {
    let meta = check_inside(root, path)?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile);
    }
    Ok(std::fs::read(path)?)
}

/// The files under `dir` (a folder of the site at `root`) that `wanted`
/// accepts, sorted, skipping dotfiles and editor leftovers. Links that
/// resolve outside the root, files that are not regular and walk problems
/// (a link loop, an unreadable folder) come back as diagnostics, and
/// nothing behind such a link is listed.
pub fn walk(
    root: &Path,
    dir: &Path,
    wanted: impl Fn(&Path) -> bool,
) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    if std::fs::symlink_metadata(dir).is_err() {
        return (files, problems);
    }
    let canonical = canonical_root(root);
    let problem = |path: &Path, rule: &'static str, msg: String| {
        Diagnostic::error(display_path(root, path), None, 1, 1, rule, msg)
    };
    let mut walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_ignored_name(&e.file_name().to_string_lossy()));
    while let Some(entry) = walker.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(err) => {
                let path = err.path().unwrap_or(dir).to_path_buf();
                let msg = if err.loop_ancestor().is_some() {
                    "a symbolic link here loops back to a folder above it; remove or fix the link"
                        .to_string()
                } else if let Err(e) = check_inside(root, &path) {
                    // A dangling link: its own message says where it points.
                    e.to_string()
                } else {
                    format!(
                        "cannot read: {}",
                        err.io_error()
                            .map(ToString::to_string)
                            .unwrap_or_else(|| err.to_string())
                    )
                };
                problems.push(problem(&path, "io", msg));
                continue;
            }
        };
        if entry.path_is_symlink() {
            let inside = entry
                .path()
                .canonicalize()
                .is_ok_and(|t| allowed_target(&canonical, entry.path(), &t).is_ok());
            if !inside {
                let e = check_inside(root, entry.path())
                    .err()
                    .unwrap_or_else(|| ReadError::OutsideRoot(PathBuf::new()));
                problems.push(problem(entry.path(), e.rule(), e.to_string()));
                if entry.file_type().is_dir() {
                    walker.skip_current_dir();
                }
                continue;
            }
        }
        let kind = entry.file_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            if wanted(entry.path()) {
                let e = ReadError::NotAFile;
                problems.push(problem(entry.path(), e.rule(), e.to_string()));
            }
            continue;
        }
        if !wanted(entry.path()) {
            continue;
        }
        // Such a name has no one spelling in a URL or a record: two of
        // them could become one published file.
        if entry
            .path()
            .strip_prefix(root)
            .unwrap_or(entry.path())
            .to_str()
            .is_none()
        {
            let msg = "the file's path is not valid UTF-8, so no web address names it; rename it";
            problems.push(problem(entry.path(), "file-name", msg.to_string()));
            continue;
        }
        files.push(entry.into_path());
    }
    (files, problems)
}

/// Files that editors and tools leave beside content, never pages.
pub fn is_ignored_name(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('#')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name.ends_with("___jb_tmp___")
        || name.ends_with("___jb_old___")
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_inside_the_root_are_read_and_links_outside_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "TOKEN=hunter2").unwrap();
        let site = tempfile::tempdir().unwrap();
        let root = site.path();
        std::fs::create_dir_all(root.join("static/real")).unwrap();
        std::fs::write(root.join("static/real/a.txt"), "a").unwrap();
        symlink(
            root.join("static/real/a.txt"),
            root.join("static/inside.txt"),
        )
        .unwrap();
        symlink("real", root.join("static/dir")).unwrap();
        symlink(outside.path().join("secret"), root.join("static/leak.txt")).unwrap();
        symlink(outside.path(), root.join("static/keys")).unwrap();
        symlink("/nowhere/at/all", root.join("static/dangling")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(
            root.join(".git/config"),
            "extraheader = AUTHORIZATION: basic hunter2",
        )
        .unwrap();
        symlink("../.git/config", root.join("static/notes.txt")).unwrap();
        symlink("../.git", root.join("static/g")).unwrap();

        let (files, problems) = walk(root, &root.join("static"), |_| true);
        let rels: Vec<_> = files
            .iter()
            .map(|f| f.strip_prefix(root).unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            rels,
            ["static/dir/a.txt", "static/inside.txt", "static/real/a.txt"]
        );
        let found: Vec<_> = problems
            .iter()
            .map(|d| (d.file.to_string_lossy().into_owned(), d.rule))
            .collect();
        assert_eq!(
            found,
            [
                ("static/dangling".to_string(), "io"),
                ("static/g".to_string(), "outside-root"),
                ("static/keys".to_string(), "outside-root"),
                ("static/leak.txt".to_string(), "outside-root"),
                ("static/notes.txt".to_string(), "outside-root"),
            ]
        );
        for d in &problems {
            assert!(!d.message.contains("hunter2"), "{}", d.message);
        }
        assert_eq!(read(root, &root.join("static/inside.txt")).unwrap(), b"a");
        assert!(matches!(
            read(root, &root.join("static/leak.txt")),
            Err(ReadError::OutsideRoot(_))
        ));
        assert!(matches!(
            read(root, &root.join("static/keys/secret")),
            Err(ReadError::OutsideRoot(_))
        ));
    }

    #[test]
    fn a_path_that_is_not_utf8_is_an_error_not_a_renamed_file() {
        use std::os::unix::ffi::OsStrExt;
        let site = tempfile::tempdir().unwrap();
        let root = site.path();
        let dir = root.join("static");
        std::fs::create_dir_all(dir.join(std::ffi::OsStr::from_bytes(b"f\xff"))).unwrap();
        std::fs::write(dir.join(std::ffi::OsStr::from_bytes(b"a\xfe.txt")), "1").unwrap();
        std::fs::write(dir.join(std::ffi::OsStr::from_bytes(b"a\xff.txt")), "2").unwrap();
        std::fs::write(dir.join(std::ffi::OsStr::from_bytes(b"f\xff/x")), "3").unwrap();
        std::fs::write(dir.join("ok.txt"), "4").unwrap();
        let (files, problems) = walk(root, &dir, |_| true);
        assert_eq!(files, [dir.join("ok.txt")]);
        assert_eq!(problems.len(), 3);
        assert!(problems.iter().all(|d| d.rule == "file-name"));
    }

    #[test]
    fn a_fifo_is_never_opened() {
        let site = tempfile::tempdir().unwrap();
        let root = site.path();
        std::fs::create_dir_all(root.join("content")).unwrap();
        let fifo = root.join("content/pipe.md");
        let c = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).unwrap();
        // SAFETY: a valid C string and mode.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let (files, problems) = walk(root, &root.join("content"), |_| true);
        assert!(files.is_empty());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].rule, "not-a-file");
        assert!(matches!(read(root, &fifo), Err(ReadError::NotAFile)));
    }
}
