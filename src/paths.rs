//! Every fixed file and folder name errdocs reads or writes, in one place:
//! those of a site, those of its output, and those errdocs keeps beside
//! the output folder while it builds.

use std::path::{Path, PathBuf};

use crate::load::config::SiteConfig;

/// The settings file at the site root.
pub const CONFIG_FILE: &str = "site.yaml";
/// The content folder, under the site root.
pub const CONTENT_DIR: &str = "content";
/// The folder of error files, under `content/`.
pub const ERRORS_DIR: &str = "errors";
/// The folder of template overrides, under the site root.
pub const TEMPLATES_DIR: &str = "templates";
/// The folder of static files, under the site root.
pub const STATIC_DIR: &str = "static";
/// The cache folder, under the site root.
pub const CACHE_DIR: &str = ".errdocs-cache";
/// The default output folder, under the site root.
pub const OUTPUT_DIR: &str = "public";

/// The record of what a build wrote, at the top of the output.
pub const MANIFEST_FILE: &str = ".errdocs-manifest";
/// The catalog as JSON, in the catalog's folder.
pub const INDEX_JSON: &str = "index.json";
/// The JSON Schema of [`INDEX_JSON`], beside it.
pub const INDEX_SCHEMA: &str = "index.schema.json";
/// The Atom feed, in the catalog's folder.
pub const FEED: &str = "feed.xml";
/// The llmstxt.org index, at the top of the output.
pub const LLMS_TXT: &str = "llms.txt";
/// The page for unknown URLs, at the top of the output.
pub const NOT_FOUND: &str = "404.html";
/// The sitemap, at the top of the output.
pub const SITEMAP: &str = "sitemap.xml";

/// The file that marks a next tree as errdocs' while it is written.
pub const STAGING_MARKER: &str = ".errdocs-staging";

/// Where `index.json` goes, from the top of the output.
pub fn index_json_rel(config: &SiteConfig) -> String {
    format!("{}{INDEX_JSON}", config.catalog_rel())
}

/// Where the schema of `index.json` goes, from the top of the output.
pub fn index_schema_rel(config: &SiteConfig) -> String {
    format!("{}{INDEX_SCHEMA}", config.catalog_rel())
}

/// Where the Atom feed goes, from the top of the output.
pub fn feed_rel(config: &SiteConfig) -> String {
    format!("{}{FEED}", config.catalog_rel())
}

/// The default output folder of the site at `root`.
pub fn default_output(root: &Path) -> PathBuf {
    root.join(OUTPUT_DIR)
}

/// The output folder's name, as the names beside it spell it.
fn folder_name(target: &Path) -> String {
    target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| OUTPUT_DIR.into())
}

/// The next tree of the output folder `target`, beside it.
pub fn next_tree(target: &Path) -> PathBuf {
    target.with_file_name(format!(".{}.errdocs-next", folder_name(target)))
}

/// The lock file of the output folder `target`, beside it.
pub fn output_lock(target: &Path) -> PathBuf {
    target.with_file_name(format!(".{}.errdocs-lock", folder_name(target)))
}

/// Where the two-rename fallback puts the old folder while it swaps.
pub fn aside_tree(target: &Path) -> PathBuf {
    target.with_file_name(format!(".{}.errdocs-old", folder_name(target)))
}

/// How the staging folders of earlier errdocs versions beside `target`
/// begin.
pub fn old_staging_prefix(target: &Path) -> String {
    format!(".{}.errdocs-staging-", folder_name(target))
}

/// What `init` puts in a new site's `.gitignore`: the output, the cache,
/// and what builds keep beside the default output.
pub fn gitignore() -> String {
    format!(
        "/{OUTPUT_DIR}/\n/{CACHE_DIR}/\n# Beside the output: its lock, and a build's new tree while it is written.\n/.{OUTPUT_DIR}.errdocs-*\n"
    )
}
