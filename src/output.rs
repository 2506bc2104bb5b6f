//! Writing the output folder: everything goes to a staging folder beside
//! it, which replaces the old output only once the whole build succeeded.

use std::path::{Component, Path, PathBuf};

use crate::Error;

/// Where a build writes its files.
pub trait Sink: Sync {
    /// Writes one file at output-relative path `rel`.
    fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), Error>;
}

/// A site held in memory (for `serve`): output-relative path to bytes.
#[derive(Debug, Default)]
pub struct MemoryOutput {
    files: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<[u8]>>>,
}

impl MemoryOutput {
    /// An empty site.
    pub fn new() -> Self {
        Self::default()
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
}

impl Sink for Staging {
    fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), Error> {
        Staging::write(self, rel, bytes)
    }
}

/// An output folder being written.
#[derive(Debug)]
pub struct Staging {
    target: PathBuf,
    staging: PathBuf,
    committed: bool,
}

/// Makes `path` absolute and drops `.` and `..` without touching the disk,
/// then resolves symbolic links of the longest part that exists.
fn normalize(path: &Path) -> PathBuf {
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
            target,
            staging,
            committed: false,
        })
    }

    /// Writes one file at output-relative path `rel`.
    ///
    /// A file whose bytes equal the previous output's is linked from it
    /// instead of written, so it keeps its modification time and static
    /// host syncs upload only what changed.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), Error> {
        let rel = rel.trim_start_matches('/');
        let path = self.staging.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        crate::timing::WRITE
            .time(|| {
                // A second write of one path must never reach a linked old file.
                if std::fs::symlink_metadata(&path).is_ok() {
                    std::fs::remove_file(&path)?;
                }
                let old = self.target.join(rel);
                let unchanged = std::fs::metadata(&old)
                    .is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
                    && std::fs::read(&old).is_ok_and(|b| b == bytes);
                if unchanged && std::fs::hard_link(&old, &path).is_ok() {
                    return Ok(());
                }
                std::fs::write(&path, bytes)
            })
            .map_err(|e| Error::io(&path, e))
    }

    /// Replaces the target with what was written.
    pub fn commit(mut self) -> Result<PathBuf, Error> {
        let parent = self.target.parent().unwrap_or(Path::new("."));
        let name = self
            .target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let old = parent.join(format!(".{name}.errdocs-old-{}", std::process::id()));
        let had_old = self.target.exists();
        if had_old {
            if old.exists() {
                std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
            }
            std::fs::rename(&self.target, &old).map_err(|e| Error::io(&self.target, e))?;
        }
        if let Err(e) = std::fs::rename(&self.staging, &self.target) {
            if had_old {
                // Put the previous output back; the build failed as a whole.
                let _ = std::fs::rename(&old, &self.target);
            }
            return Err(Error::io(&self.target, e));
        }
        self.committed = true;
        if had_old {
            remove_tree(&old).map_err(|e| Error::io(&old, e))?;
        }
        Ok(self.target.clone())
    }
}

/// Removes a folder tree, deleting its files in parallel: a large site has
/// tens of thousands of them.
fn remove_tree(dir: &Path) -> std::io::Result<()> {
    use rayon::prelude::*;
    let files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| !e.file_type().is_dir())
        .map(walkdir::DirEntry::into_path)
        .collect();
    files.par_iter().try_for_each(std::fs::remove_file)?;
    std::fs::remove_dir_all(dir)
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}
