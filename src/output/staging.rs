//! Writing a new output folder beside the old one and putting it in place
//! in one step.
//!
//! A build writes a complete sibling tree, `.<out>.errdocs-staging-<pid>`:
//! new and changed files are written there; files whose bytes did not
//! change are hard links of the old ones (same inode, same modification
//! time, so a sync uploads only what changed); files errdocs did not
//! write, by the old folder's record, are carried over as hard links too.
//! Only once all of that succeeded do the two folders exchange names
//! ([`super::swap`]), and the old tree is removed. Killed at any instant,
//! the output's path names the previous build or the new one, never a mix;
//! what is left beside it, the next build removes.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;

use super::lock::Lock;
use super::manifest::{is_clean_rel, Manifest, ManifestError, MANIFEST_FILE};
use super::{guard, normalize, swap};
use crate::Error;

/// The file that marks a staging folder as errdocs' while it is written.
const STAGING_MARKER: &str = ".errdocs-staging";

/// An output folder opened for one build: locked against other builds,
/// cleared of what stopped builds left beside it, its own files known.
#[derive(Debug)]
pub struct OutputFolder {
    target: PathBuf,
    /// The previous build's record; `None` when there is no folder yet.
    previous: Option<Manifest>,
    _lock: Lock,
}

fn folder_name(target: &Path) -> String {
    target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "public".into())
}

/// The lock file of the output folder `target`, beside it.
pub fn lock_path(target: &Path) -> PathBuf {
    target.with_file_name(format!(".{}.errdocs-lock", folder_name(target)))
}

impl OutputFolder {
    /// Opens `target` as the output of the site at `root`. A folder that is
    /// not empty and has no errdocs record is refused unless `adopt`, and
    /// then every file in it is kept as one errdocs did not write.
    pub fn open(root: &Path, target: &Path, adopt: bool) -> Result<Self, Error> {
        guard(root, target)?;
        let shown = target;
        let target = normalize(target);
        let parent = target
            .parent()
            .ok_or_else(|| Error::Usage(format!("{} has no parent folder", target.display())))?;
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let lock = Lock::acquire(
            &lock_path(&target),
            &format!("the output folder {}", shown.display()),
        )?;
        swap::recover(&target).map_err(|e| Error::io(&target, e))?;
        remove_leftovers(&target);
        let previous = match std::fs::symlink_metadata(&target) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(&target, e)),
            Ok(m) if !m.is_dir() => {
                return Err(Error::Usage(format!(
                    "the output path {} exists and is not a folder",
                    shown.display()
                )))
            }
            Ok(_) => Some(match Manifest::read(&target) {
                Ok(Some(record)) => record,
                Ok(None) if adopt || is_empty_dir(&target) => Manifest::default(),
                Ok(None) => {
                    return Err(Error::Usage(format!(
                        "the output folder {} is not empty and errdocs did not write it (it has no {MANIFEST_FILE}); \
                         errdocs never replaces or mixes into a folder it did not make. Choose an empty or new folder, \
                         or pass --adopt to build into this one keeping every file already in it",
                        shown.display()
                    )))
                }
                Err(e @ ManifestError::Damaged(_)) => {
                    return Err(Error::Usage(format!(
                        "the output folder {} cannot be updated: {e}, so errdocs cannot tell the files it wrote from others'. \
                         Remove {MANIFEST_FILE} and build again with --adopt (every file in the folder is then kept, \
                         and one at a path the build writes must be moved out first)",
                        shown.display()
                    )))
                }
                Err(ManifestError::Io(e)) => return Err(Error::io(&target.join(MANIFEST_FILE), e)),
            }),
        };
        Ok(OutputFolder {
            target,
            previous,
            _lock: lock,
        })
    }

    /// The folder's path, resolved.
    pub fn path(&self) -> &Path {
        &self.target
    }
}

fn is_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none())
}

/// Removes what stopped builds left beside `target`: staging folders and
/// old trees. Only folders with errdocs' name that hold its marker, its
/// record or nothing are removed; the caller holds the output's lock, so
/// no build that wrote them still runs.
fn remove_leftovers(target: &Path) {
    let Some(parent) = target.parent() else {
        return;
    };
    let name = folder_name(target);
    let staging_prefix = format!(".{name}.errdocs-staging-");
    let aside = swap::aside_path(target);
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let ours = file_name.starts_with(&staging_prefix) || path == aside;
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !ours || !is_dir {
            continue;
        }
        let marked = path.join(STAGING_MARKER).is_file()
            || path.join(MANIFEST_FILE).is_file()
            || is_empty_dir(&path);
        if marked {
            if let Err(e) = remove_ours(&path) {
                eprintln!(
                    "warning: cannot remove {}, left by a stopped build: {e}",
                    path.display()
                );
            }
        }
    }
}

/// Removes a staging folder or old tree of errdocs': its marker and record
/// go last, so that one stopped halfway is still known as errdocs' own.
fn remove_ours(dir: &Path) -> std::io::Result<()> {
    remove_entries(dir, &[STAGING_MARKER, MANIFEST_FILE])?;
    for name in [STAGING_MARKER, MANIFEST_FILE] {
        match std::fs::remove_file(dir.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    match std::fs::remove_dir(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Removes a folder and everything in it, folders in parallel; never
/// follows a symbolic link.
pub(crate) fn remove_tree(dir: &Path) -> std::io::Result<()> {
    remove_entries(dir, &[])?;
    std::fs::remove_dir(dir)
}

/// Removes what is in `dir` but the entries named in `spare`.
fn remove_entries(dir: &Path, spare: &[&str]) -> std::io::Result<()> {
    let entries: Vec<std::fs::DirEntry> = match std::fs::read_dir(dir) {
        Ok(d) => d.collect::<Result<_, _>>()?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let entries: Vec<_> = entries
        .into_iter()
        .filter(|e| !spare.iter().any(|s| e.file_name() == *s))
        .collect();
    entries.par_iter().try_for_each(|e| {
        let path = e.path();
        let gone = if e.file_type()?.is_dir() {
            remove_tree(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match gone {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    })
}

/// An output folder being written.
#[derive(Debug)]
pub struct Staging {
    folder: OutputFolder,
    staging: PathBuf,
    /// Every output-relative path this build produced: `true` when its new
    /// bytes were written into the staging folder, `false` when the old
    /// file is to be linked in unchanged.
    produced: Mutex<HashMap<String, bool>>,
    /// Paths this build writes where the old folder has a file errdocs
    /// did not write: all reported together, nothing replaced.
    conflicts: Mutex<Vec<String>>,
    /// Folders made in the staging folder so far.
    folders: Mutex<HashSet<PathBuf>>,
    committed: bool,
}

impl Staging {
    /// Starts writing the output that will replace `folder`'s.
    pub fn begin(folder: OutputFolder) -> Result<Self, Error> {
        let staging = folder.target.with_file_name(format!(
            ".{}.errdocs-staging-{}",
            folder_name(&folder.target),
            std::process::id()
        ));
        remove_ours(&staging).map_err(|e| Error::io(&staging, e))?;
        std::fs::create_dir(&staging).map_err(|e| Error::io(&staging, e))?;
        let marker = staging.join(STAGING_MARKER);
        let staging_ = Staging {
            folder,
            staging,
            produced: Default::default(),
            conflicts: Default::default(),
            folders: Default::default(),
            committed: false,
        };
        std::fs::write(&marker, b"").map_err(|e| Error::io(&marker, e))?;
        Ok(staging_)
    }

    fn previous_owns(&self, rel: &str) -> bool {
        self.folder
            .previous
            .as_ref()
            .is_some_and(|m| m.owns(rel) && rel != MANIFEST_FILE)
    }

    fn conflict(&self, rel: &str) -> Error {
        Error::Usage(format!(
            "{} was not written by errdocs, and this build writes `{rel}` there; errdocs never replaces a file it did not write. \
             Move it out of the output folder, or change the site so that it writes no `{rel}`",
            self.folder.target.join(rel).display()
        ))
    }

    /// Makes the folder `dir` inside the staging folder, once.
    fn make_dir(&self, dir: &Path) -> Result<(), Error> {
        let made = || self.folders.lock().unwrap_or_else(|p| p.into_inner());
        if !made().contains(dir) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            made().insert(dir.to_path_buf());
        }
        Ok(())
    }

    /// Writes one file at output-relative path `rel`: into the staging
    /// folder when its bytes differ from the previous output's, else only
    /// noted, to be linked in unchanged.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), Error> {
        let rel = rel.trim_start_matches('/');
        if !is_clean_rel(rel) || rel == MANIFEST_FILE || rel == STAGING_MARKER {
            return Err(Error::Usage(format!(
                "cannot write `{rel}`: not a plain path inside the output folder"
            )));
        }
        let old = self.folder.target.join(rel);
        let owned = self.previous_owns(rel);
        if !owned && self.folder.previous.is_some() && std::fs::symlink_metadata(&old).is_ok() {
            let mut conflicts = self.conflicts.lock().unwrap_or_else(|p| p.into_inner());
            conflicts.push(rel.to_string());
            return Ok(());
        }
        let unchanged = owned
            && crate::timing::WRITE.time(|| {
                std::fs::symlink_metadata(&old)
                    .is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
                    && std::fs::read(&old).is_ok_and(|b| b == bytes)
            });
        let path = self.staging.join(rel);
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
            self.make_dir(dir)?;
        }
        crate::timing::WRITE
            .time(|| std::fs::write(&path, bytes))
            .map_err(|e| Error::io(&path, e))
    }

    /// Keeps the previous output's file at `rel` as this build's; false
    /// when there is none that errdocs wrote.
    pub fn keep(&self, rel: &str) -> bool {
        let rel = rel.trim_start_matches('/');
        let intact = self.previous_owns(rel)
            && std::fs::symlink_metadata(self.folder.target.join(rel)).is_ok_and(|m| m.is_file());
        if intact {
            let mut produced = self.produced.lock().unwrap_or_else(|p| p.into_inner());
            produced.entry(rel.to_string()).or_insert(false);
        }
        intact
    }

    /// Completes the new tree (unchanged files and files errdocs did not
    /// write linked in, its record written) and puts it in place of the
    /// old one in one step.
    pub fn commit(mut self) -> Result<PathBuf, Error> {
        let produced =
            std::mem::take(&mut *self.produced.lock().unwrap_or_else(|p| p.into_inner()));
        let target = self.folder.target.clone();
        let unchanged: Vec<&String> = produced
            .iter()
            .filter(|(_, staged)| !**staged)
            .map(|(rel, _)| rel)
            .collect();
        unchanged.par_iter().try_for_each(|rel| {
            let dest = self.staging.join(rel);
            if let Some(dir) = dest.parent() {
                self.make_dir(dir)?;
            }
            link_or_copy(&target.join(rel), &dest).map_err(|e| Error::io(&dest, e))
        })?;
        if self.folder.previous.is_some() {
            self.carry_foreign(&produced)?;
        }
        let record = self.staging.join(MANIFEST_FILE);
        std::fs::write(
            &record,
            Manifest::render(produced.keys().map(String::as_str)),
        )
        .map_err(|e| Error::io(&record, e))?;
        let marker = self.staging.join(STAGING_MARKER);
        std::fs::remove_file(&marker).map_err(|e| Error::io(&marker, e))?;
        if self.folder.previous.is_some() {
            if let Ok(meta) = std::fs::metadata(&target) {
                let _ = std::fs::set_permissions(&self.staging, meta.permissions());
            }
            swap::exchange(&self.staging, &target).map_err(|e| Error::io(&target, e))?;
            self.committed = true;
            // The staging path now names the old tree.
            if let Err(e) = remove_ours(&self.staging) {
                eprintln!(
                    "warning: cannot remove the previous output, now at {}: {e}; the next build removes it",
                    self.staging.display()
                );
            }
        } else {
            std::fs::rename(&self.staging, &target).map_err(|e| Error::io(&target, e))?;
            self.committed = true;
        }
        Ok(target)
    }

    /// Links every file of the old folder that errdocs did not write into
    /// the new tree at the same path, with the folders that hold them; one
    /// at a path this build writes is an error naming it.
    fn carry_foreign(&self, produced: &HashMap<String, bool>) -> Result<(), Error> {
        let target = &self.folder.target;
        let mut conflicts =
            std::mem::take(&mut *self.conflicts.lock().unwrap_or_else(|p| p.into_inner()));
        let mut walker = walkdir::WalkDir::new(target)
            .follow_links(false)
            .min_depth(1)
            .into_iter();
        // A folder is empty when the entry after it is not inside it; an
        // empty one is someone else's (errdocs leaves none) and is kept.
        let mut open_dir: Option<(PathBuf, usize)> = None;
        loop {
            let next = walker.next();
            if let Some((dir, depth)) = open_dir.take() {
                let inside = matches!(&next, Some(Ok(e)) if e.depth() > depth);
                if !inside {
                    self.make_foreign_dirs(&dir.join("x"), &self.staging.join(&dir))?;
                }
            }
            let Some(entry) = next else { break };
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(target).to_path_buf();
                Error::io(&path, std::io::Error::other(e.to_string()))
            })?;
            let rel_path = entry.path().strip_prefix(target).unwrap_or(entry.path());
            let rel = rel_path.to_str().map(|r| r.replace('\\', "/"));
            let dest = self.staging.join(rel_path);
            if entry.file_type().is_dir() {
                if rel.as_deref().is_some_and(|r| produced.contains_key(r)) {
                    conflicts.push(rel.unwrap_or_default());
                    walker.skip_current_dir();
                } else {
                    open_dir = Some((rel_path.to_path_buf(), entry.depth()));
                }
                continue;
            }
            if rel
                .as_deref()
                .is_some_and(|r| self.previous_owns(r) || r == MANIFEST_FILE)
            {
                continue;
            }
            if std::fs::symlink_metadata(&dest).is_ok() {
                let rel = rel_path.to_string_lossy().into_owned();
                if !conflicts.contains(&rel) {
                    conflicts.push(rel);
                }
                continue;
            }
            if let Some(dir) = dest.parent() {
                self.make_foreign_dirs(rel_path, dir)?;
            }
            carry(entry.path(), &dest, entry.file_type()).map_err(|e| Error::io(&dest, e))?;
        }
        if conflicts.is_empty() {
            return Ok(());
        }
        conflicts.sort();
        conflicts.dedup();
        let more = match conflicts.len() {
            1 => String::new(),
            n => format!(" (and {} more: {})", n - 1, conflicts[1..].join(", ")),
        };
        Err(Error::Usage(format!(
            "{}{more}",
            self.conflict(&conflicts[0])
        )))
    }

    /// Makes the folders of a carried file, each with its old permissions.
    fn make_foreign_dirs(&self, rel: &Path, dir: &Path) -> Result<(), Error> {
        if dir.is_dir() {
            return Ok(());
        }
        self.make_dir(dir)?;
        let mut old = self.folder.target.clone();
        let mut new = self.staging.clone();
        for part in rel.parent().into_iter().flat_map(Path::components) {
            old.push(part);
            new.push(part);
            if let Ok(meta) = std::fs::metadata(&old) {
                let _ = std::fs::set_permissions(&new, meta.permissions());
            }
        }
        Ok(())
    }
}

/// A hard link of `from` at `to`; a copy where the file system has none.
fn link_or_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    match std::fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
        Err(_) => std::fs::copy(from, to).map(|_| ()),
    }
}

/// Carries one entry errdocs did not write into the new tree as it is: a
/// link stays a link (never followed), anything else is hard-linked.
fn carry(from: &Path, to: &Path, kind: std::fs::FileType) -> std::io::Result<()> {
    if kind.is_symlink() {
        let link = std::fs::read_link(from)?;
        #[cfg(unix)]
        return std::os::unix::fs::symlink(link, to);
        #[cfg(windows)]
        return match std::fs::metadata(from) {
            Ok(m) if m.is_dir() => std::os::windows::fs::symlink_dir(link, to),
            _ => std::os::windows::fs::symlink_file(link, to),
        };
        #[cfg(not(any(unix, windows)))]
        return Err(std::io::Error::other(format!(
            "cannot carry over the link {}",
            link.display()
        )));
    }
    if kind.is_file() {
        return link_or_copy(from, to);
    }
    // FIFOs, sockets and devices can only be linked.
    std::fs::hard_link(from, to)
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = remove_ours(&self.staging);
        }
    }
}
