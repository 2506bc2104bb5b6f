//! The cache folder, `.errdocs-cache/` under the site root: safe to delete
//! and to damage (every entry is checked before use), worth keeping
//! between CI runs. A build holds its lock while it reads and writes it,
//! and first removes what stopped builds left in it.

use crate::paths::CACHE_DIR;
use std::path::{Path, PathBuf};

use crate::output::lock::Lock;
use crate::Error;

/// The lock file inside the cache folder.
const LOCK_FILE: &str = "lock";

/// Files of earlier cache formats, removed when met.
const FORMER_FILES: &[&str] = &["highlight-v1.bin", "pages-v1.json"];

/// The cache folder, locked for one build.
#[derive(Debug)]
pub struct CacheFolder {
    dir: PathBuf,
    _lock: Lock,
}

impl CacheFolder {
    /// Opens (making it if need be) and locks the cache folder of the site
    /// at `root`. A cache folder that is a link is refused: errdocs writes
    /// nothing outside the site but its output, nor among its sources.
    pub fn open(root: &Path) -> Result<Self, Error> {
        let dir = root.join(CACHE_DIR);
        if let Ok(meta) = std::fs::symlink_metadata(&dir) {
            // Out of the root it would be written outside the site; inside,
            // into the site's sources, and so published.
            if meta.file_type().is_symlink() {
                return Err(Error::Usage(format!(
                    "the cache folder {} is a symbolic link (to `{}`); errdocs keeps its cache in a folder of its own, \
                     never among the site's files or outside the site. Remove the link",
                    dir.display(),
                    std::fs::read_link(&dir).unwrap_or_default().display()
                )));
            }
            if !std::fs::metadata(&dir).is_ok_and(|m| m.is_dir()) {
                return Err(Error::Usage(format!(
                    "the cache folder {} is not a folder; remove it",
                    dir.display()
                )));
            }
        }
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let lock = Lock::acquire(
            &dir.join(LOCK_FILE),
            &format!("the cache {}", dir.display()),
        )?;
        remove_leftovers(&dir);
        // errdocs writes only regular files here: anything else (a link
        // to a secret, a FIFO that would hang the build, /dev/zero) is
        // someone else's, and the cache is not used with it.
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        for entry in entries.filter_map(Result::ok) {
            if !entry.file_type().is_ok_and(|t| t.is_file()) {
                return Err(Error::Usage(format!(
                    "the cache folder holds {}, which is not a regular file errdocs wrote; remove the cache folder {} (it is safe to delete)",
                    entry.path().display(),
                    dir.display()
                )));
            }
        }
        Ok(CacheFolder { dir, _lock: lock })
    }

    /// [`CacheFolder::open`], or none where the site root cannot hold one
    /// (a read-only checkout): the build goes on without its caches, as
    /// they only save time. Refusals stay errors.
    pub fn open_if_possible(root: &Path) -> Result<Option<Self>, Error> {
        match Self::open(root) {
            Ok(cache) => Ok(Some(cache)),
            Err(Error::Io { path, source }) => {
                crate::terminal::note(&format!(
                    "warning: building without the cache: {}: {source}\n",
                    path.display()
                ));
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

/// Removes temporary and spill files of builds that no longer run (the
/// caller holds the lock), and files of former formats.
fn remove_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let temporary = name.ends_with(".tmp") || name.ends_with(".new");
        // Links too: removing one never touches its target.
        if (temporary || FORMER_FILES.contains(&name.as_str()))
            && entry.file_type().is_ok_and(|t| !t.is_dir())
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_of_stopped_builds_are_removed_and_entries_kept() {
        let site = tempfile::tempdir().unwrap();
        let dir = site.path().join(CACHE_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        for name in [
            "highlight-v2.bin.4242.new",
            "pages-v2.json.4242.tmp",
            "highlight-v1.bin",
        ] {
            std::fs::write(dir.join(name), "x").unwrap();
        }
        std::fs::write(dir.join("highlight-v2.bin"), "kept").unwrap();
        let cache = CacheFolder::open(site.path()).unwrap();
        let mut left: Vec<_> = std::fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["highlight-v2.bin", "lock"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_cache_folder_linked_out_of_the_site_or_into_its_files_is_refused() {
        let elsewhere = tempfile::tempdir().unwrap();
        let site = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), site.path().join(CACHE_DIR)).unwrap();
        assert!(CacheFolder::open(site.path()).is_err());
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
        // Into static/, the cache would be published with the site.
        let site = tempfile::tempdir().unwrap();
        let published = site.path().join("static/c");
        std::fs::create_dir_all(&published).unwrap();
        std::os::unix::fs::symlink("static/c", site.path().join(CACHE_DIR)).unwrap();
        assert!(CacheFolder::open(site.path()).is_err());
        assert_eq!(std::fs::read_dir(&published).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn links_and_fifos_in_the_cache_folder_are_never_followed() {
        let elsewhere = tempfile::tempdir().unwrap();
        let secret = elsewhere.path().join("secret");
        std::fs::write(&secret, "keep me").unwrap();
        for name in ["lock", "pages-v2.json", "highlight-v2.bin"] {
            let site = tempfile::tempdir().unwrap();
            let dir = site.path().join(CACHE_DIR);
            std::fs::create_dir_all(&dir).unwrap();
            std::os::unix::fs::symlink(&secret, dir.join(name)).unwrap();
            assert!(CacheFolder::open(site.path()).is_err(), "{name}");
            assert_eq!(std::fs::read_to_string(&secret).unwrap(), "keep me");
        }
        // Leftover names are removed, links or not, their targets kept.
        let site = tempfile::tempdir().unwrap();
        let dir = site.path().join(CACHE_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink(&secret, dir.join("pages-v2.json.77.tmp")).unwrap();
        CacheFolder::open(site.path()).unwrap();
        assert!(std::fs::symlink_metadata(dir.join("pages-v2.json.77.tmp")).is_err());
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "keep me");
    }
}
