//! Writing the output folder, and nothing but errdocs' own files in it.
//!
//! - [`manifest`]: the record of the files a build wrote, kept in the
//!   output; files it does not name are someone else's and survive.
//! - [`staging`]: a build writes a complete new tree beside the output and
//!   exchanges the two in one step ([`swap`]): the output is always the
//!   previous build or the new one.
//! - [`lock`]: one build at a time per output folder and per cache.
//! - [`plan`]: every file a build writes and who claims it, checked
//!   before anything is written.
//! - [`destination`]: `export -o`, which writes through devices and pipes.
//!
//! `serve` writes into memory instead ([`MemoryOutput`]).

pub mod destination;
pub mod lock;
pub mod manifest;
pub mod plan;
pub mod staging;
pub mod swap;

pub use staging::{OutputFolder, Staging};

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

    /// Whether every file written is dropped: then what no template makes
    /// (and so cannot fail) need not be made at all.
    fn discards(&self) -> bool {
        false
    }
}

/// A sink that drops every file: `check` renders each page as `build`
/// would and keeps nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Discard;

impl Sink for Discard {
    fn write(&self, _rel: &str, _bytes: &[u8]) -> Result<(), Error> {
        Ok(())
    }

    fn discards(&self) -> bool {
        true
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
        Staging::keep(self, rel)
    }
}

/// Makes `path` absolute and drops `.` and `..` without touching the disk.
fn lexical(path: &Path) -> PathBuf {
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
    clean
}

/// [`lexical`], then resolves symbolic links of the longest part that exists.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let clean = lexical(path);
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

/// Refuses an output folder that is, or holds, the site root, or that lies
/// inside the site's content, templates or static files.
pub fn guard(root: &Path, out: &Path) -> Result<(), Error> {
    let named_inside = lexical(out).starts_with(lexical(root));
    let root = normalize(root);
    let out_n = normalize(out);
    // A link committed where the output goes (`public -> /somewhere`)
    // would make the build replace a folder outside the site.
    if named_inside && !out_n.starts_with(&root) {
        return Err(Error::Usage(format!(
            "refusing to write the site to {}: a symbolic link on that path leads out of the site root to {}; \
             remove the link, or name the folder outside the root with -o",
            out.display(),
            out_n.display()
        )));
    }
    if root.starts_with(&out_n) {
        return Err(Error::Usage(format!(
            "refusing to write the site to {}: it is or holds the site root {}; choose another output folder",
            out.display(),
            root.display()
        )));
    }
    for dir in [
        crate::paths::CONTENT_DIR,
        crate::paths::TEMPLATES_DIR,
        crate::paths::STATIC_DIR,
        crate::paths::CACHE_DIR,
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
    Ok(())
}
