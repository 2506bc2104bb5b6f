//! The record of what errdocs wrote into an output folder.
//!
//! Every build leaves `.errdocs-manifest` at the top of its output: the
//! output-relative path of every file it wrote, with the xxh3 hash of its
//! bytes. That record, and nothing guessed from names, is how the next
//! build tells its own files from the ones others put there (`.git/`,
//! `CNAME`, a hand-placed `robots.txt`), which it carries over untouched;
//! and a file at one of its paths whose bytes someone changed since is
//! not removed with the page it once belonged to.

use crate::paths::MANIFEST_FILE;
use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

/// The first line's start; the line ends with the hash of what follows.
const HEADER: &str = "errdocs output manifest 1 ";

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    /// The errdocs version that wrote it, for people reading it.
    errdocs: String,
    /// Output-relative paths with `/` separators, sorted, and the hash of
    /// each file's bytes in hex.
    files: BTreeMap<String, String>,
}

/// The files an earlier build wrote into a folder.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    files: HashMap<String, u64>,
}

/// Why a folder's record cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The record is there but does not read back as errdocs wrote it.
    #[error("its record {MANIFEST_FILE} is damaged ({0})")]
    Damaged(&'static str),
    /// The record cannot be read.
    #[error("its record {MANIFEST_FILE} cannot be read: {0}")]
    Io(#[from] std::io::Error),
}

impl Manifest {
    /// The record in folder `dir`; `None` when it has none.
    pub fn read(dir: &Path) -> Result<Option<Manifest>, ManifestError> {
        let path = dir.join(MANIFEST_FILE);
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
            Ok(m) if !m.is_file() => return Err(ManifestError::Damaged("not a regular file")),
            Ok(_) => {}
        }
        let bytes = std::fs::read(&path)?;
        Self::parse(&bytes).map(Some)
    }

    fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let text = std::str::from_utf8(bytes).map_err(|_| ManifestError::Damaged("not UTF-8"))?;
        let (first, rest) = text
            .split_once('\n')
            .ok_or(ManifestError::Damaged("no header"))?;
        let hash = first
            .strip_prefix(HEADER)
            .ok_or(ManifestError::Damaged("unknown header"))?;
        if hash != format!("{:016x}", xxhash_rust::xxh3::xxh3_64(rest.as_bytes())) {
            return Err(ManifestError::Damaged("checksum mismatch"));
        }
        let record: Record =
            serde_json::from_str(rest).map_err(|_| ManifestError::Damaged("not its JSON"))?;
        let mut files = HashMap::with_capacity(record.files.len());
        for (rel, hash) in record.files {
            if !is_clean_rel(&rel) {
                return Err(ManifestError::Damaged(
                    "a path leaves the folder or is hidden",
                ));
            }
            let hash = u64::from_str_radix(&hash, 16)
                .map_err(|_| ManifestError::Damaged("a hash is not hex"))?;
            files.insert(rel, hash);
        }
        Ok(Manifest { files })
    }

    /// The bytes of a record of `files`: path and hash of the bytes.
    pub fn render<'a>(files: impl IntoIterator<Item = (&'a str, u64)>) -> Vec<u8> {
        let record = Record {
            errdocs: env!("CARGO_PKG_VERSION").to_string(),
            files: files
                .into_iter()
                .map(|(rel, hash)| (rel.to_string(), format!("{hash:016x}")))
                .collect(),
        };
        // A list of strings always serialises.
        let body = serde_json::to_string_pretty(&record).unwrap_or_default() + "\n";
        let hash = xxhash_rust::xxh3::xxh3_64(body.as_bytes());
        format!("{HEADER}{hash:016x}\n{body}").into_bytes()
    }

    /// True when an earlier build wrote `rel`.
    pub fn owns(&self, rel: &str) -> bool {
        rel == MANIFEST_FILE || self.files.contains_key(rel)
    }

    /// The hash of the bytes an earlier build wrote at `rel`.
    pub fn hash(&self, rel: &str) -> Option<u64> {
        self.files.get(rel).copied()
    }

    /// How many files the record names.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when the record names no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// True for a relative path of plain names joined by `/`: nothing that
/// could step out of the folder or name it, and no hidden name. errdocs
/// writes no hidden file, so a record naming one (`.git/config`) is
/// forged or damaged, and never makes errdocs delete it.
pub fn is_clean_rel(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.contains('\\')
        && !rel.contains('\0')
        && rel
            .split('/')
            .all(|part| !part.is_empty() && !part.starts_with('.'))
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// The hash a record keeps of a file's bytes.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_any_changed_byte() {
        let bytes = Manifest::render([("index.html", 1), ("reference/errors/a/index.html", 2)]);
        let m = Manifest::parse(&bytes).unwrap();
        assert!(m.owns("index.html") && m.owns("reference/errors/a/index.html"));
        assert!(m.owns(MANIFEST_FILE));
        assert!(!m.owns("CNAME") && !m.owns("reference"));
        assert_eq!(m.len(), 2);
        assert_eq!(m.hash("reference/errors/a/index.html"), Some(2));
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x20;
            assert!(Manifest::parse(&damaged).is_err(), "byte {i} changed");
        }
    }

    #[test]
    fn a_record_naming_paths_outside_the_folder_is_damaged() {
        for bad in [
            "../x",
            "/etc/passwd",
            "a/../../b",
            "a//b",
            "./a",
            "",
            ".git/config",
            "a/.git/HEAD",
        ] {
            let bytes = Manifest::render([(bad, 0)]);
            assert!(Manifest::parse(&bytes).is_err(), "{bad:?}");
        }
    }
}
