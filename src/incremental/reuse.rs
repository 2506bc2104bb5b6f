//! Code pages of the previous build that the next one keeps as they are.
//!
//! A code page's files (its HTML, its Markdown, its aliases' redirects)
//! are a function of its source, the settings and links its Markdown reads,
//! the templates, and the page's template context. A build records, per
//! code, a key over all of that, the files it wrote with their size and
//! modification time, and what the site-wide checks need of its body
//! (headings, links, code block languages). The next build into the same folder keeps a page
//! whose key is unchanged and whose files are untouched, without rendering
//! it. The record lives in the cache folder, which is safe to delete.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::markdown::{CodeBlock, Heading, LocalLink, RenderedBody};

const STORE_FILE: &str = "pages-v2.json";

/// The hash of the JSON that follows on the first line, so that a damaged
/// record is no record.
fn checksum_line(json: &[u8]) -> String {
    format!("{:016x}\n", xxhash_rust::xxh3::xxh3_64(json))
}

/// One output file as the build left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StoredFile {
    rel: String,
    len: u64,
    mtime_ns: i128,
}

/// One code page as the previous build wrote it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredPage {
    key: u64,
    files: Vec<StoredFile>,
    headings: Vec<Heading>,
    links: Vec<LocalLink>,
    audiences: Vec<String>,
    /// Each code block's language and where its fence starts.
    blocks: Vec<(String, usize)>,
    /// The highlight cache keys of its code blocks.
    highlights: Vec<u64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StoreFile {
    errdocs: String,
    output: PathBuf,
    pages: HashMap<String, StoredPage>,
}

/// A page kept from the previous build.
#[derive(Debug)]
pub struct KeptPage {
    /// What the checks need of its body.
    pub body: RenderedBody,
    /// The highlight cache keys of its code blocks, which it still shows.
    pub highlights: Vec<u64>,
    /// How many files it has.
    pub files: usize,
}

/// The pages of the previous build, and those of this one as it goes.
#[derive(Debug, Default)]
pub struct PageStore {
    /// The output folder, whose files are checked before a page is kept;
    /// none for a site in memory (`serve`), whose files only errdocs writes.
    output: Option<PathBuf>,
    previous: std::sync::RwLock<HashMap<String, StoredPage>>,
    current: Mutex<HashMap<String, StoredPage>>,
    /// Whether this build rendered a page, so its record differs.
    changed: std::sync::atomic::AtomicBool,
}

fn mtime_ns(meta: &std::fs::Metadata) -> Option<i128> {
    let t = meta.modified().ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(d.as_nanos() as i128)
}

impl PageStore {
    /// The record in `cache_dir` of the last build into `output`; empty when
    /// there is none, it is damaged, or it describes another folder or
    /// another errdocs version.
    pub fn load(cache_dir: &Path, output: &Path) -> Self {
        let store = PageStore {
            output: Some(output.to_path_buf()),
            ..Default::default()
        };
        let Ok(text) = std::fs::read(cache_dir.join(STORE_FILE)) else {
            return store;
        };
        let Some((head, json)) = text.split_at_checked(17) else {
            return store;
        };
        if head != checksum_line(json).as_bytes() {
            return store;
        }
        if let Ok(file) = serde_json::from_slice::<StoreFile>(json) {
            if file.output == output && file.errdocs == env!("CARGO_PKG_VERSION") {
                *store.previous_mut() = file.pages;
            }
        }
        store
    }

    /// True when the previous build recorded `code`'s page.
    pub fn has(&self, code: &str) -> bool {
        self.previous
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(code)
    }

    /// What the checks need of the body of `code`'s page, when the previous
    /// build wrote that page with the same `key` and its files are still as
    /// it left them; the page is then carried over to this build's record.
    /// `keep` is called with each of its files.
    pub fn reuse(&self, code: &str, key: u64, keep: impl Fn(&str) -> bool) -> Option<KeptPage> {
        let previous = self.previous.read().unwrap_or_else(|p| p.into_inner());
        let page = previous.get(code).filter(|p| p.key == key)?;
        let intact = page.files.iter().all(|f| match &self.output {
            Some(out) => std::fs::symlink_metadata(out.join(&f.rel))
                .is_ok_and(|m| m.is_file() && m.len() == f.len && mtime_ns(&m) == Some(f.mtime_ns)),
            None => true,
        });
        if !intact || !page.files.iter().all(|f| keep(&f.rel)) {
            return None;
        }
        self.lock().insert(code.to_string(), page.clone());
        let body = RenderedBody {
            headings: page.headings.clone(),
            links: page.links.clone(),
            audiences: page.audiences.clone(),
            code_blocks: page
                .blocks
                .iter()
                .map(|(lang, fence_offset)| CodeBlock {
                    lang: lang.clone(),
                    title: None,
                    code: String::new(),
                    offset: *fence_offset,
                    fence_offset: *fence_offset,
                })
                .collect(),
            ..RenderedBody::default()
        };
        Some(KeptPage {
            body,
            highlights: page.highlights.clone(),
            files: page.files.len(),
        })
    }

    /// Records a page this build rendered: its key, its files, its body and
    /// the highlight cache keys of its blocks. A body with diagnostics is not
    /// recorded, so they are reported again.
    pub fn record(
        &self,
        code: &str,
        key: u64,
        files: Vec<String>,
        body: &RenderedBody,
        highlights: Vec<u64>,
    ) {
        self.changed
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if !body.diagnostics.is_empty() {
            return;
        }
        let page = StoredPage {
            key,
            files: files
                .into_iter()
                .map(|rel| StoredFile {
                    rel,
                    len: 0,
                    mtime_ns: 0,
                })
                .collect(),
            headings: body.headings.clone(),
            links: body.links.clone(),
            audiences: body.audiences.clone(),
            blocks: body
                .code_blocks
                .iter()
                .map(|b| (b.lang.clone(), b.fence_offset))
                .collect(),
            highlights,
        };
        self.lock().insert(code.to_string(), page);
    }

    /// A store for a site held in memory (`serve`): each build's record
    /// becomes the next one's previous when it succeeds.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// Ends a build of a site in memory: a successful one's pages become
    /// those the next build may keep; a failed one's are forgotten.
    pub fn finish_in_memory(&self, succeeded: bool) {
        let current = std::mem::take(&mut *self.lock());
        if succeeded {
            *self.previous_mut() = current;
        }
        self.changed
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    fn previous_mut(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, StoredPage>> {
        self.previous.write().unwrap_or_else(|p| p.into_inner())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, StoredPage>> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes this build's record into `cache_dir`, once its output is in
    /// place: each file's size and modification time are read now.
    pub fn save(&self, cache_dir: &Path) -> std::io::Result<()> {
        let Some(output) = &self.output else {
            return Ok(());
        };
        let mut pages = std::mem::take(&mut *self.lock());
        // Every page kept, none gone: the record on disk is still right.
        if !self.changed.load(std::sync::atomic::Ordering::Relaxed)
            && pages.len() == self.previous_mut().len()
        {
            return Ok(());
        }
        let gone: Vec<String> = {
            use rayon::prelude::*;
            pages
                .par_iter_mut()
                .filter_map(|(code, page)| {
                    let intact = page.files.iter_mut().all(|f| {
                        let Ok(meta) = std::fs::symlink_metadata(output.join(&f.rel)) else {
                            return false;
                        };
                        f.len = meta.len();
                        mtime_ns(&meta).map(|t| f.mtime_ns = t).is_some()
                    });
                    (!intact).then(|| code.clone())
                })
                .collect()
        };
        for code in gone {
            pages.remove(&code);
        }
        let file = StoreFile {
            errdocs: env!("CARGO_PKG_VERSION").to_string(),
            output: output.clone(),
            pages,
        };
        let json = serde_json::to_vec(&file).map_err(std::io::Error::other)?;
        let mut bytes = checksum_line(&json).into_bytes();
        bytes.extend_from_slice(&json);
        std::fs::create_dir_all(cache_dir)?;
        // A new file of a fresh name, never written through a link; one
        // that fails (a full disk) is removed as it is dropped.
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!("{STORE_FILE}."))
            .suffix(".tmp")
            .tempfile_in(cache_dir)?;
        std::io::Write::write_all(&mut tmp, &bytes)?;
        tmp.persist(cache_dir.join(STORE_FILE))
            .map(drop)
            .map_err(|e| e.error)
    }
}
