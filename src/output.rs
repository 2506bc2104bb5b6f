//! Writing the output folder. A build writes only what changed, into a
//! staging folder beside the output; only once the whole build succeeded
//! are those files moved in and files no longer produced removed. A failed
//! build leaves the old output as it was, and unchanged files are never
//! touched, so they keep their modification time and a sync to a static
//! host uploads only what changed.

use std::path::{Component, Path, PathBuf};

use crate::Error;

/// Where a build writes its files.
pub trait Sink: Sync {
    /// Writes one file at output-relative path `rel`.
    fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), Error>;

    /// Keeps the previous output's file at `rel` as this build's; false
    /// when this sink cannot (nothing to keep, or no previous output).
    fn keep(&self, _rel: &str) -> bool {
        false
    }
}

/// Files of a site in memory, by output-relative path.
pub type MemoryFiles = std::collections::HashMap<String, std::sync::Arc<[u8]>>;

/// A site held in memory (for `serve`): output-relative path to bytes.
#[derive(Debug, Default)]
pub struct MemoryOutput {
    files: std::sync::Mutex<MemoryFiles>,
    /// The previous build's files, which this one may keep.
    previous: std::sync::Arc<MemoryFiles>,
}

impl MemoryOutput {
    /// An empty site.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty site that may keep files of `previous`.
    pub fn updating(previous: std::sync::Arc<MemoryFiles>) -> Self {
        MemoryOutput {
            previous,
            ..Self::default()
        }
    }

    /// The files written, by output-relative path.
    pub fn into_files(self) -> std::collections::HashMap<String, std::sync::Arc<[u8]>> {
        self.files.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

impl Sink for MemoryOutput {
    fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), Error> {
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        files.insert(rel.trim_start_matches('/').to_string(), bytes.into());
        Ok(())
    }

    fn keep(&self, rel: &str) -> bool {
        let rel = rel.trim_start_matches('/');
        let Some(bytes) = self.previous.get(rel) else {
            return false;
        };
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        files.insert(rel.to_string(), std::sync::Arc::clone(bytes));
        true
    }
}

impl Sink for Staging {
    fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), Error> {
        Staging::write(self, rel, bytes)
    }

    /// The caller has checked that the file is there, as it left it.
    fn keep(&self, rel: &str) -> bool {
        let rel = rel.trim_start_matches('/');
        if !self.update {
            return false;
        }
        let mut produced = self.produced.lock().unwrap_or_else(|p| p.into_inner());
        produced.entry(rel.to_string()).or_insert(false);
        true
    }
}

/// An output folder being written.
#[derive(Debug)]
pub struct Staging {
    target: PathBuf,
    staging: PathBuf,
    /// Whether there was an output to update (else the staging folder
    /// simply becomes the output).
    update: bool,
    /// Every output-relative path this build produced: `true` when its new
    /// bytes wait in the staging folder, `false` when the old file is kept.
    produced: std::sync::Mutex<std::collections::HashMap<String, bool>>,
    /// Folders made in the staging folder so far.
    folders: std::sync::Mutex<std::collections::HashSet<PathBuf>>,
    committed: bool,
}

/// Makes `path` absolute and drops `.` and `..` without touching the disk,
/// then resolves symbolic links of the longest part that exists.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut clean = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            other => clean.push(other),
        }
    }
    // Canonicalise the deepest existing ancestor so links cannot hide the root.
    let mut existing = clean.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match existing.file_name() {
            Some(name) => {
                rest.push(name.to_os_string());
                existing.pop();
            }
            None => break,
        }
    }
    let mut out = existing.canonicalize().unwrap_or(existing);
    for name in rest.into_iter().rev() {
        out.push(name);
    }
    out
}

/// Writes `bytes` to `path` whole or not at all: into a temporary file
/// beside it, renamed over it when complete.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Refuses an output folder that is, or holds, the site root, or that lies
/// inside the site's content, templates or static files.
pub fn guard(root: &Path, out: &Path) -> Result<(), Error> {
    let root = normalize(root);
    let out_n = normalize(out);
    if root.starts_with(&out_n) {
        return Err(Error::Usage(format!(
            "refusing to write the site to {}: it is or holds the site root {}; choose another output folder",
            out.display(),
            root.display()
        )));
    }
    for dir in [
        crate::content::CONTENT_DIR,
        crate::theme::TEMPLATES_DIR,
        crate::theme::STATIC_DIR,
    ] {
        if out_n.starts_with(root.join(dir)) {
            return Err(Error::Usage(format!(
                "refusing to write the site to {}: it is inside the site's {dir}/ folder",
                out.display()
            )));
        }
    }
    if out_n.exists() && !out_n.is_dir() {
        return Err(Error::Usage(format!(
            "the output path {} exists and is not a folder",
            out.display()
        )));
    }
    // A folder errdocs did not write is never deleted: every build writes a sitemap.
    if out_n.is_dir() && !out_n.join("sitemap.xml").is_file() {
        let mut entries = std::fs::read_dir(&out_n).map_err(|e| Error::io(&out_n, e))?;
        if entries.next().is_some() {
            return Err(Error::Usage(format!(
                "the output folder {} is not empty and does not look like an errdocs build (no sitemap.xml); remove it or choose another output folder",
                out.display()
            )));
        }
    }
    Ok(())
}

impl Staging {
    /// Starts writing the output that will replace `target`.
    pub fn begin(root: &Path, target: &Path) -> Result<Self, Error> {
        guard(root, target)?;
        let target = normalize(target);
        let parent = target
            .parent()
            .ok_or_else(|| Error::Usage(format!("{} has no parent folder", target.display())))?;
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "public".into());
        let staging = parent.join(format!(".{name}.errdocs-staging-{}", std::process::id()));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
        }
        std::fs::create_dir(&staging).map_err(|e| Error::io(&staging, e))?;
        Ok(Staging {
            update: target.is_dir(),
            target,
            staging,
            produced: Default::default(),
            folders: Default::default(),
            committed: false,
        })
    }

    /// Writes one file at output-relative path `rel`: staged when its bytes
    /// differ from the previous output's, else only noted as kept.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), Error> {
        let rel = rel.trim_start_matches('/');
        let path = self.staging.join(rel);
        let unchanged = crate::timing::WRITE.time(|| {
            let old = self.target.join(rel);
            self.update
                && std::fs::metadata(&old)
                    .is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
                && std::fs::read(&old).is_ok_and(|b| b == bytes)
        });
        let was_staged = {
            let mut produced = self.produced.lock().unwrap_or_else(|p| p.into_inner());
            produced.insert(rel.to_string(), !unchanged)
        };
        if unchanged {
            // A second write of one path may undo a first that differed.
            if was_staged == Some(true) {
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            }
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            // Most files share their folder with others: make it once.
            let made = || self.folders.lock().unwrap_or_else(|p| p.into_inner());
            if !made().contains(dir) {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                made().insert(dir.to_path_buf());
            }
        }
        crate::timing::WRITE
            .time(|| std::fs::write(&path, bytes))
            .map_err(|e| Error::io(&path, e))
    }

    /// Brings the output up to date: moves the changed files in and removes
    /// the files this build did not produce.
    pub fn commit(mut self) -> Result<PathBuf, Error> {
        if !self.update {
            std::fs::rename(&self.staging, &self.target).map_err(|e| Error::io(&self.target, e))?;
            self.committed = true;
            return Ok(self.target.clone());
        }
        let produced =
            std::mem::take(&mut *self.produced.lock().unwrap_or_else(|p| p.into_inner()));
        let mut staged: Vec<&String> = produced
            .iter()
            .filter(|(_, staged)| **staged)
            .map(|(rel, _)| rel)
            .collect();
        staged.sort_unstable();
        for rel in staged {
            let dest = self.target.join(rel);
            make_room(&self.target, &dest).map_err(|e| Error::io(&dest, e))?;
            std::fs::rename(self.staging.join(rel), &dest).map_err(|e| Error::io(&dest, e))?;
        }
        self.committed = true;
        let stale: Vec<PathBuf> = walkdir::WalkDir::new(&self.target)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| !e.file_type().is_dir())
            .filter(|e| {
                e.path()
                    .strip_prefix(&self.target)
                    .ok()
                    .and_then(Path::to_str)
                    .map_or(true, |rel| !produced.contains_key(rel))
            })
            .map(walkdir::DirEntry::into_path)
            .collect();
        {
            use rayon::prelude::*;
            stale
                .par_iter()
                .try_for_each(std::fs::remove_file)
                .map_err(|e| Error::io(&self.target, e))?;
        }
        remove_empty_dirs(&self.target, &stale);
        let _ = std::fs::remove_dir_all(&self.staging);
        Ok(self.target.clone())
    }
}

/// Clears the way for a file at `dest` inside `target`: a folder in its
/// place, or a file where one of its folders must be, goes.
fn make_room(target: &Path, dest: &Path) -> std::io::Result<()> {
    if dest.is_dir() {
        std::fs::remove_dir_all(dest)?;
    }
    let Some(dir) = dest.parent() else {
        return Ok(());
    };
    if dir.is_dir() {
        return Ok(());
    }
    let mut at = target.to_path_buf();
    if let Ok(rel) = dir.strip_prefix(target) {
        for part in rel.components() {
            at.push(part);
            if at.is_file() {
                std::fs::remove_file(&at)?;
            }
        }
    }
    std::fs::create_dir_all(dir)
}

/// Removes the folders under `root` that the removal of `removed` files
/// left empty, deepest first.
fn remove_empty_dirs(root: &Path, removed: &[PathBuf]) {
    let mut dirs: Vec<&Path> = removed
        .iter()
        .flat_map(|f| f.ancestors().skip(1))
        .filter(|d| d.starts_with(root) && *d != root)
        .collect();
    dirs.sort_unstable_by(|a, b| (b.components().count(), b).cmp(&(a.components().count(), a)));
    dirs.dedup();
    for dir in dirs {
        // Fails, harmlessly, on a folder that is not empty.
        let _ = std::fs::remove_dir(dir);
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}
