//! Writing a new output folder beside the old one and putting it in place
//! in one step.
//!
//! A build makes a complete sibling tree, `.<out>.errdocs-next/`: new and
//! changed files are written there; files whose bytes did not change are
//! hard links of the output's (same inode, same modification time, so a
//! sync uploads only what changed); files errdocs did not write, by the
//! output's record, are carried over as hard links too. Only once all of
//! that succeeded do the two folders exchange names ([`super::swap`]).
//! Killed at any instant, the output's path names the previous build or
//! the new one, never a mix.
//!
//! After the exchange the sibling holds the previous tree, and it is kept:
//! the next build brings it up to date instead of making every folder and
//! link again. Most of its files are already the output's own inodes, so
//! a build that changed little changes little there, and it costs the
//! disk only its folders and the previous version of changed files. Its
//! contents are never trusted: every file is checked to be the output's
//! inode or written anew, and everything else in it is removed. One that
//! others may write into is not reused at all, and another user's is
//! refused, not removed. A file
//! in it is never written in place, since it may share its inode with the
//! output.

use crate::paths::{MANIFEST_FILE, STAGING_MARKER};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;

use super::lock::Lock;
use super::manifest::{hash_bytes, is_clean_rel, Manifest, ManifestError};
use super::{guard, normalize, swap};
use crate::Error;

/// An output folder opened for one build: locked against other builds,
/// cleared of what stopped builds left beside it, its own files known.
#[derive(Debug)]
pub struct OutputFolder {
    target: PathBuf,
    /// The site root, to name a conflicting file's source.
    root: PathBuf,
    /// The previous build's record; `None` when there is no folder yet.
    previous: Option<Manifest>,
    _lock: Lock,
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
        // A folder that will be refused is refused before anything is
        // written beside it, and again once locked.
        if std::fs::symlink_metadata(&target).is_ok() {
            read_previous(shown, &target, adopt)?;
        }
        let lock = Lock::acquire(
            &crate::paths::output_lock(&target),
            &format!("the output folder {}", shown.display()),
        )?;
        swap::recover(&target).map_err(|e| Error::io(&target, e))?;
        remove_leftovers(&target);
        let previous = read_previous(shown, &target, adopt)?;
        Ok(OutputFolder {
            target,
            root: root.to_path_buf(),
            previous,
            _lock: lock,
        })
    }

    /// The folder's path, resolved.
    pub fn path(&self) -> &Path {
        &self.target
    }
}

/// The record of the folder at `target` (`shown` as the user named it):
/// `None` when there is no folder yet; an error for a folder errdocs may
/// not write into.
fn read_previous(shown: &Path, target: &Path, adopt: bool) -> Result<Option<Manifest>, Error> {
    Ok(match std::fs::symlink_metadata(target) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(target, e)),
            Ok(m) if !m.is_dir() => {
                return Err(Error::Usage(format!(
                    "the output path {} exists and is not a folder",
                    shown.display()
                )))
            }
            Ok(_) => Some(match Manifest::read(target) {
                Ok(Some(record)) => record,
                Ok(None) if adopt || is_empty_dir(target) => Manifest::default(),
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
        })
}

fn is_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none())
}

/// Removes what stopped builds left beside `target`: an old tree the
/// two-rename exchange put aside, and staging folders of earlier errdocs
/// versions. Only folders with errdocs' name that hold its marker, its
/// record or nothing are removed; the caller holds the output's lock, so
/// no build that wrote them still runs.
fn remove_leftovers(target: &Path) {
    let Some(parent) = target.parent() else {
        return;
    };
    let staging_prefix = crate::paths::old_staging_prefix(target);
    let aside = crate::paths::aside_tree(target);
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let ours = file_name.starts_with(&staging_prefix) || path == aside;
        // Another user's folder, or one others may write into, is left:
        // it may hold anything, changing as it is removed.
        let is_dir = std::fs::symlink_metadata(&path)
            .is_ok_and(|m| m.is_dir() && owned_by_us(&m) && !writable_by_others(&m));
        if !ours || !is_dir {
            continue;
        }
        let marked = path.join(STAGING_MARKER).is_file()
            || path.join(MANIFEST_FILE).is_file()
            || is_empty_dir(&path);
        if marked {
            if let Err(e) = remove_ours(&path) {
                crate::terminal::note(&format!(
                    "warning: cannot remove {}, left by a stopped build: {e}\n",
                    path.display()
                ));
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
    /// The next tree, brought up to date and then exchanged with the output.
    next: PathBuf,
    /// Every output-relative path this build produced, with the hash of
    /// its bytes.
    produced: Mutex<HashMap<String, u64>>,
    /// Paths this build writes where the old folder has a file errdocs
    /// did not write: all reported together, nothing replaced.
    conflicts: Mutex<Vec<String>>,
    /// Folders known to exist in the next tree.
    folders: Mutex<HashSet<PathBuf>>,
}

/// The identity of a file: two paths with the same are one file.
#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Without inode numbers, no two paths are known to be one file: the next
/// tree's files are linked or copied again on every build.
#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

/// Removes whatever is at `path`, a folder with all it holds.
fn remove_any(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => remove_tree(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

impl Staging {
    /// Starts writing the output that will replace `folder`'s, in its next
    /// tree (made when there is none).
    pub fn begin(folder: OutputFolder) -> Result<Self, Error> {
        let next = crate::paths::next_tree(&folder.target);
        let marker = next.join(STAGING_MARKER);
        match std::fs::symlink_metadata(&next) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir(&next).map_err(|e| Error::io(&next, e))?;
            }
            Err(e) => return Err(Error::io(&next, e)),
            // The name is errdocs' own beside the output it locked; the
            // tree under it is never trusted, but a link there could lead
            // anywhere.
            Ok(m) if !m.is_dir() => {
                return Err(Error::Usage(format!(
                    "{} is in errdocs' place beside the output and is not a folder errdocs made; remove it",
                    next.display()
                )))
            }
            // Another user's folder in errdocs' place: removing it would
            // walk a tree its owner can change under the walk.
            Ok(m) if !owned_by_us(&m) => {
                return Err(Error::Usage(format!(
                    "{} is in errdocs' place beside the output and belongs to another user; \
                     errdocs neither writes into nor removes it. Remove it, or build as its owner",
                    next.display()
                )))
            }
            // Without errdocs' marker or record it is no tree errdocs left
            // (one stopped between the exchange and its marker, or one
            // someone put there); writable by others, anyone could have
            // put anything in it. Either way it is made anew, removed by
            // the standard library's walk, which a link swapped in during
            // the removal cannot lead astray.
            Ok(m) if writable_by_others(&m)
                || (!is_file(&marker) && !is_file(&next.join(MANIFEST_FILE))) =>
            {
                std::fs::remove_dir_all(&next).map_err(|e| Error::io(&next, e))?;
                std::fs::create_dir(&next).map_err(|e| Error::io(&next, e))?;
            }
            Ok(_) => {}
        }
        // Marked first, then the stale record goes: the tree is errdocs'
        // at every instant.
        if !is_file(&marker) {
            remove_any(&marker).map_err(|e| Error::io(&marker, e))?;
            create_new(&marker, b"").map_err(|e| Error::io(&marker, e))?;
        }
        remove_any(&next.join(MANIFEST_FILE)).map_err(|e| Error::io(&next, e))?;
        Ok(Staging {
            folder,
            next,
            produced: Default::default(),
            conflicts: Default::default(),
            folders: Default::default(),
        })
    }

    fn previous_owns(&self, rel: &str) -> bool {
        self.folder
            .previous
            .as_ref()
            .is_some_and(|m| m.owns(rel) && rel != MANIFEST_FILE)
    }

    fn conflict(&self, rel: &str) -> Error {
        let from_static = Path::new(crate::paths::STATIC_DIR).join(rel);
        let source = if self.folder.root.join(&from_static).exists() {
            format!("{} writes", from_static.display())
        } else {
            "this build writes".to_string()
        };
        Error::Usage(format!(
            "{} was not written by errdocs, and {source} `{rel}` there; errdocs never replaces a file it did not write. \
             Move it out of the output folder, or change the site so that it writes no `{rel}`",
            self.folder.target.join(rel).display()
        ))
    }

    /// Makes the folder `dir` of the next tree, clearing what is in its
    /// way. Each part of the path is checked to be a real folder, from the
    /// tree's top down: the tree is never trusted, and a link in it must
    /// not lead a write out of it.
    fn make_dir(&self, dir: &Path) -> Result<(), Error> {
        let made = || self.folders.lock().unwrap_or_else(|p| p.into_inner());
        if dir == self.next || made().contains(dir) {
            return Ok(());
        }
        let rel = dir.strip_prefix(&self.next).unwrap_or(dir);
        let mut at = self.next.clone();
        for part in rel.components() {
            at.push(part);
            if made().contains(&at) {
                continue;
            }
            match std::fs::symlink_metadata(&at) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    std::fs::remove_file(&at).map_err(|e| Error::io(&at, e))?;
                    std::fs::create_dir(&at).map_err(|e| Error::io(&at, e))?;
                }
                Err(_) => match std::fs::create_dir(&at) {
                    Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                        return Err(Error::io(&at, e))
                    }
                    _ => {}
                },
            }
            made().insert(at.clone());
        }
        Ok(())
    }

    /// Clears the way for a new entry at `path` of the next tree.
    fn make_room(&self, path: &Path) -> Result<(), Error> {
        if let Some(dir) = path.parent() {
            self.make_dir(dir)?;
        }
        remove_any(path).map_err(|e| Error::io(path, e))
    }

    /// Makes `rel` in the next tree the output's own file at `rel`, unless
    /// it already is.
    fn link_in(&self, rel: &str) -> Result<(), Error> {
        let old = self.folder.target.join(rel);
        let dest = self.next.join(rel);
        let meta = std::fs::symlink_metadata(&old).map_err(|e| Error::io(&old, e))?;
        if let Some(dir) = dest.parent() {
            self.make_dir(dir)?;
        }
        if std::fs::symlink_metadata(&dest).is_ok_and(|d| same_file(&meta, &d)) {
            return Ok(());
        }
        self.make_room(&dest)?;
        link_or_copy(&old, &dest).map_err(|e| Error::io(&dest, e))
    }

    /// Writes one file at output-relative path `rel`: into the next tree
    /// when its bytes differ from the output's, else the output's own file
    /// is linked there.
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
        self.produced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(rel.to_string(), hash_bytes(bytes));
        if unchanged {
            return self.link_in(rel);
        }
        let path = self.next.join(rel);
        self.make_room(&path)?;
        // A new file, never one opened in place: the next tree's files may
        // be the output's.
        crate::timing::WRITE
            .time(|| create_new(&path, bytes))
            .map_err(|e| Error::io(&path, e))
    }

    /// Keeps the output's file at `rel` as this build's; false when there
    /// is none that errdocs wrote.
    pub fn keep(&self, rel: &str) -> bool {
        let rel = rel.trim_start_matches('/');
        let hash = self.folder.previous.as_ref().and_then(|m| m.hash(rel));
        let intact = self.previous_owns(rel)
            && std::fs::symlink_metadata(self.folder.target.join(rel)).is_ok_and(|m| m.is_file());
        let Some(hash) = hash.filter(|_| intact) else {
            return false;
        };
        if self.link_in(rel).is_err() {
            return false;
        }
        self.produced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(rel.to_string(), hash);
        true
    }

    /// Completes the next tree (files errdocs did not write linked in,
    /// whatever else it holds removed, its record written) and puts it in
    /// place of the output in one step.
    /// A build that fails before this leaves the next tree, marked, for the
    /// next build to bring up to date: it holds nothing the output needs.
    pub fn commit(self) -> Result<PathBuf, Error> {
        let produced =
            std::mem::take(&mut *self.produced.lock().unwrap_or_else(|p| p.into_inner()));
        let target = self.folder.target.clone();
        let mut wanted: HashSet<PathBuf> = produced.keys().map(PathBuf::from).collect();
        // Both trees are walked at once: the output for files errdocs did
        // not write, the next tree for what it holds.
        let (carried, entries) = rayon::join(
            || match self.folder.previous.is_some() {
                true => self.carry_foreign(&produced),
                false => Ok(Vec::new()),
            },
            || self.entries(),
        );
        wanted.extend(carried?);
        self.prune(entries.map_err(|e| Error::io(&self.next, e))?, &wanted)
            .map_err(|e| Error::io(&self.next, e))?;
        let record = self.next.join(MANIFEST_FILE);
        create_new(
            &record,
            &Manifest::render(produced.iter().map(|(rel, hash)| (rel.as_str(), *hash))),
        )
        .map_err(|e| Error::io(&record, e))?;
        let marker = self.next.join(STAGING_MARKER);
        std::fs::remove_file(&marker).map_err(|e| Error::io(&marker, e))?;
        if self.folder.previous.is_some() {
            if let Ok(meta) = std::fs::metadata(&target) {
                let _ = std::fs::set_permissions(&self.next, meta.permissions());
            }
            #[cfg(unix)]
            if let Ok(meta) = std::fs::symlink_metadata(&target) {
                use std::os::unix::fs::MetadataExt;
                let _ = std::os::unix::fs::lchown(&self.next, Some(meta.uid()), Some(meta.gid()));
            }
            swap::exchange(&self.next, &target).map_err(|e| exchange_error(&target, e))?;
            // The old tree, now the next one, is marked errdocs' at once.
            let _ = create_new(&self.next.join(STAGING_MARKER), b"");
        } else {
            std::fs::rename(&self.next, &target).map_err(|e| Error::io(&target, e))?;
        }
        Ok(target)
    }

    /// Every entry of the next tree but its marker and record: its path
    /// relative to the tree, and whether it is a folder.
    fn entries(&self) -> std::io::Result<Vec<(PathBuf, bool)>> {
        let mut found = Vec::new();
        for entry in walkdir::WalkDir::new(&self.next)
            .min_depth(1)
            .follow_links(false)
        {
            let entry = entry.map_err(std::io::Error::other)?;
            let rel = entry
                .path()
                .strip_prefix(&self.next)
                .unwrap_or(entry.path());
            if entry.depth() == 1
                && (rel == Path::new(STAGING_MARKER) || rel == Path::new(MANIFEST_FILE))
            {
                continue;
            }
            found.push((rel.to_path_buf(), entry.file_type().is_dir()));
        }
        Ok(found)
    }

    /// Removes from the next tree each of its `entries` that is not
    /// `wanted`, nor a folder holding one.
    fn prune(
        &self,
        entries: Vec<(PathBuf, bool)>,
        wanted: &HashSet<PathBuf>,
    ) -> std::io::Result<()> {
        let folders: HashSet<&Path> = wanted.iter().flat_map(|p| p.ancestors().skip(1)).collect();
        let mut gone: Vec<&PathBuf> = Vec::new();
        for (rel, is_dir) in &entries {
            // Inside a folder that goes: it goes with it.
            if gone.last().is_some_and(|g| rel.starts_with(g)) {
                continue;
            }
            let keep = wanted.contains(rel) || (*is_dir && folders.contains(rel.as_path()));
            if !keep {
                gone.push(rel);
            }
        }
        gone.par_iter()
            .try_for_each(|rel| remove_any(&self.next.join(rel)))
    }

    /// Links every entry of the output that errdocs did not write into the
    /// next tree at the same path, with the folders that hold them, and
    /// returns their paths; one at a path this build writes is an error
    /// naming it.
    fn carry_foreign(&self, produced: &HashMap<String, u64>) -> Result<Vec<PathBuf>, Error> {
        let mut wanted = Vec::new();
        let target = &self.folder.target;
        // The folders this build writes into: a link or file of someone
        // else's at one of them is in the way too.
        let folders: HashSet<&str> = produced
            .keys()
            .flat_map(|rel| rel.match_indices('/').map(move |(i, _)| &rel[..i]))
            .collect();
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
                    self.make_foreign_dirs(&dir.join("x"))?;
                    wanted.push(dir);
                }
            }
            let Some(entry) = next else { break };
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(target).to_path_buf();
                Error::io(&path, std::io::Error::other(e.to_string()))
            })?;
            let rel_path = entry.path().strip_prefix(target).unwrap_or(entry.path());
            let rel = rel_path.to_str().map(|r| r.replace('\\', "/"));
            if entry.file_type().is_dir() {
                if rel.as_deref().is_some_and(|r| produced.contains_key(r)) {
                    conflicts.push(rel.unwrap_or_default());
                    walker.skip_current_dir();
                } else if is_mount_point(target, entry.path()) {
                    return Err(Error::Usage(format!(
                        "{} is a mount point inside the output folder; errdocs replaces the output folder whole and cannot carry a mount over. Mount it elsewhere",
                        crate::terminal::from_cwd(entry.path()).display()
                    )));
                } else {
                    open_dir = Some((rel_path.to_path_buf(), entry.depth()));
                }
                continue;
            }
            if rel.as_deref() == Some(MANIFEST_FILE) {
                continue;
            }
            if let Some(r) = rel.as_deref().filter(|r| self.previous_owns(r)) {
                // errdocs' file, rewritten or gone with its page; but one
                // whose bytes someone changed since is theirs now, and kept.
                if produced.contains_key(r) || self.unchanged_since_written(r, entry.path()) {
                    continue;
                }
                crate::terminal::note(&format!(
                    "warning: kept {}: errdocs wrote it, this build no longer does, and it was changed since\n",
                    crate::terminal::from_cwd(entry.path()).display()
                ));
            }
            let in_the_way = rel
                .as_deref()
                .is_some_and(|r| produced.contains_key(r) || folders.contains(r))
                || rel_path
                    .ancestors()
                    .skip(1)
                    .any(|a| a.to_str().is_some_and(|a| produced.contains_key(a)));
            if in_the_way {
                let rel = rel_path.to_string_lossy().into_owned();
                if !conflicts.contains(&rel) {
                    conflicts.push(rel);
                }
                continue;
            }
            self.make_foreign_dirs(rel_path)?;
            let dest = self.next.join(rel_path);
            carry(entry.path(), &dest, entry.file_type()).map_err(|e| Error::io(&dest, e))?;
            wanted.push(rel_path.to_path_buf());
        }
        if conflicts.is_empty() {
            return Ok(wanted);
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

    /// True when the file at `path` still has the bytes errdocs recorded
    /// for `rel`.
    fn unchanged_since_written(&self, rel: &str, path: &Path) -> bool {
        let recorded = self.folder.previous.as_ref().and_then(|m| m.hash(rel));
        let is_file = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file());
        is_file && std::fs::read(path).is_ok_and(|b| Some(hash_bytes(&b)) == recorded)
    }

    /// Makes the folders of a carried entry at `rel`, each with the
    /// permissions it has in the output.
    fn make_foreign_dirs(&self, rel: &Path) -> Result<(), Error> {
        let Some(parent) = rel.parent() else {
            return Ok(());
        };
        self.make_dir(&self.next.join(parent))?;
        let mut old = self.folder.target.clone();
        let mut new = self.next.clone();
        for part in parent.components() {
            old.push(part);
            new.push(part);
            if let (Ok(o), Ok(n)) = (
                std::fs::symlink_metadata(&old),
                std::fs::symlink_metadata(&new),
            ) {
                if o.permissions() != n.permissions() {
                    let _ = std::fs::set_permissions(&new, o.permissions());
                }
                #[cfg(unix)]
                {
                    use std::os::unix::fs::MetadataExt;
                    if (o.uid(), o.gid()) != (n.uid(), n.gid()) {
                        let _ = std::os::unix::fs::lchown(&new, Some(o.uid()), Some(o.gid()));
                    }
                }
            }
        }
        Ok(())
    }
}

/// True when the folder `dir` inside `target` is on another file system.
fn is_mount_point(target: &Path, dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (
            std::fs::symlink_metadata(target),
            std::fs::symlink_metadata(dir),
        ) {
            (Ok(t), Ok(d)) => t.dev() != d.dev(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (target, dir);
        false
    }
}

/// Writes a new file at `path`; fails where anything is there, a link
/// included, so that nothing is ever written through one.
fn create_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
}

/// Whether this process's user owns the file `meta` describes.
#[cfg(unix)]
fn owned_by_us(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    meta.uid() == unsafe { libc::geteuid() }
}

/// Whether a user other than the owner may change what the folder `meta`
/// describes holds.
#[cfg(unix)]
fn writable_by_others(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o022 != 0
}

#[cfg(not(unix))]
fn owned_by_us(_: &std::fs::Metadata) -> bool {
    true
}

#[cfg(not(unix))]
fn writable_by_others(_: &std::fs::Metadata) -> bool {
    false
}

fn is_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

/// Says why an output folder cannot be exchanged, where the system's
/// reason alone would not.
fn exchange_error(target: &Path, e: std::io::Error) -> Error {
    #[cfg(unix)]
    {
        let why = match e.raw_os_error() {
            Some(libc::EBUSY) => Some("it is a mount point"),
            Some(libc::EXDEV) => Some("the file system cannot move it (an overlay's lower layer, as in a container image)"),
            _ => None,
        };
        if let Some(why) = why {
            return Error::Usage(format!(
                "cannot replace the output folder {} in one step: {why}. Build into a folder of a mounted folder instead, \
                 or remove {} first ({e})",
                target.display(),
                target.display()
            ));
        }
    }
    Error::io(target, e)
}

/// A hard link of `from` at `to`; a copy where the file system has none.
fn link_or_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    match std::fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
        Err(_) => std::fs::copy(from, to).map(|_| ()),
    }
}

/// Carries one entry errdocs did not write into the next tree as it is,
/// unless it is there already: a link stays a link (never followed),
/// anything else is hard-linked.
fn carry(from: &Path, to: &Path, kind: std::fs::FileType) -> std::io::Result<()> {
    let there = std::fs::symlink_metadata(to);
    if kind.is_symlink() {
        let link = std::fs::read_link(from)?;
        if there.is_ok() {
            if std::fs::read_link(to).is_ok_and(|l| l == link) {
                return Ok(());
            }
            remove_any(to)?;
        }
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
    let meta = std::fs::symlink_metadata(from)?;
    if let Ok(there) = there {
        if same_file(&meta, &there) {
            return Ok(());
        }
        remove_any(to)?;
    }
    if kind.is_file() {
        return link_or_copy(from, to);
    }
    // FIFOs, sockets and devices can only be linked.
    std::fs::hard_link(from, to)
}
