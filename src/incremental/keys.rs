//! Every cache key errdocs computes, and what each one covers.
//!
//! A cache is only as right as its key: a key that leaves out an input
//! serves stale output when that input changes. So every key is made
//! here, from the inputs named below, and nowhere else. Parts are
//! length-prefixed (or, for JSON, end in a NUL that JSON text never holds),
//! so two different lists of parts never hash the same bytes.
//!
//! | key | used by | covers |
//! | --- | --- | --- |
//! | [`templates`] | every key below that renders | each template's name and source, built in and overridden |
//! | [`shared`] | [`error_page`], [`catalog`] | [`templates`], what every page shows of the site (title, navigation, categories, guides, asset URLs), all of `site.yaml` |
//! | [`summary`] | [`error_page`], [`catalog`] | what the catalog, the sidebar and related links show of one code |
//! | [`catalog`] | [`site_files`] | [`shared`] and every code's [`summary`], in order |
//! | [`site_files`] | kept site files (home, catalog, feed, `index.json`, `llms.txt`, sitemap, 404) | [`catalog`], each guide's URL, title and description |
//! | [`error_page`] | [`kept_page`] | [`shared`], the code's own [`summary`], its `extra` front matter, its file's path, the summaries of its related codes, and of its category: the number of codes, the sidebar's window and the previous and next code |
//! | [`body_salt`] | [`body`] | all of `site.yaml`, the canonical base URL, every page's path and URL (links are rewritten to them), whether code is highlighted, whether a response schema compiled, and its bytes |
//! | [`body`] | the rendered-body memo of `serve`, [`kept_page`] | [`body_salt`], the file's path under `content/` and its whole text |
//! | [`kept_page`] | the record of the previous build's pages ([`super::reuse`]) | [`body`] and [`error_page`]: a page is kept only when both are unchanged (and its files are untouched) |
//! | [`rendered`] | the rendered-page memo of `serve` | [`templates`], the template's name and its whole context |
//! | [`highlight_block`] | the highlight cache on disk | errdocs' version, both colour themes, the language and the code |
//!
//! A value that cannot be serialised (no errdocs type is one) gets a key
//! no other value has, so nothing is ever reused for it.

use serde::Serialize;
use xxhash_rust::xxh3::Xxh3;

/// A key being built from parts.
pub(crate) struct Key {
    hasher: Xxh3,
    unkeyable: bool,
}

impl Key {
    /// A key of kind `kind`: keys of two kinds never collide by their parts.
    fn new(kind: &str) -> Self {
        let mut k = Key {
            hasher: Xxh3::new(),
            unkeyable: false,
        };
        k.str(kind);
        k
    }

    fn u64(&mut self, v: u64) -> &mut Self {
        self.hasher.update(&v.to_le_bytes());
        self
    }

    fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.u64(b.len() as u64);
        self.hasher.update(b);
        self
    }

    fn json(&mut self, value: &(impl Serialize + ?Sized)) -> &mut Self {
        if serde_json::to_writer(HashWriter(&mut self.hasher), value).is_err() {
            self.unkeyable = true;
        }
        self.hasher.update(&[0]);
        self
    }

    fn finish(&self) -> u64 {
        if self.unkeyable {
            return unique();
        }
        self.hasher.digest()
    }
}

/// Feeds serialised bytes straight into the hasher.
struct HashWriter<'a>(&'a mut Xxh3);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A key no other value shares: random per process, and counted within it.
fn unique() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNT.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

/// The templates, by name and source.
pub(crate) fn templates<'a>(templates: impl IntoIterator<Item = (&'a str, &'a str)>) -> u64 {
    let mut k = Key::new("templates");
    for (name, source) in templates {
        k.str(name).str(source);
    }
    k.finish()
}

/// What every page shares: the templates, the site as templates see it,
/// and the settings.
pub(crate) fn shared(templates: u64, site: &impl Serialize, config: &impl Serialize) -> u64 {
    Key::new("shared")
        .u64(templates)
        .json(site)
        .json(config)
        .finish()
}

/// What other pages show of one code.
pub(crate) fn summary(summary: &impl Serialize) -> u64 {
    Key::new("summary").json(summary).finish()
}

/// A page's `extra` front matter, 0 when it has none.
pub(crate) fn extra(extra: Option<&impl Serialize>) -> u64 {
    extra.map_or(0, |e| Key::new("extra").json(e).finish())
}

/// The catalog and everything else that lists every code.
pub(crate) fn catalog(shared: u64, summaries: &[u64]) -> u64 {
    let mut k = Key::new("catalog");
    k.u64(shared).u64(summaries.len() as u64);
    for &s in summaries {
        k.u64(s);
    }
    k.finish()
}

/// One guide as the site files show it.
pub(crate) struct GuideEntry<'a> {
    /// Its URL below the site root.
    pub(crate) url: &'a str,
    /// Its title.
    pub(crate) title: &'a str,
    /// Its description, if any.
    pub(crate) description: Option<&'a str>,
}

/// The site-wide files: the catalog's inputs and the guides.
pub(crate) fn site_files<'a>(
    catalog: u64,
    guides: impl IntoIterator<Item = GuideEntry<'a>>,
) -> u64 {
    let mut k = Key::new("site files");
    k.u64(catalog);
    for g in guides {
        k.str(g.url).str(g.title);
        match g.description {
            Some(d) => k.u64(1).str(d),
            None => k.u64(0),
        };
    }
    k.finish()
}

/// The place of a code in its category, as its page shows it.
pub(crate) struct CategoryPlace<'a> {
    /// How many codes the category has.
    pub(crate) len: usize,
    /// The summaries of the codes the sidebar lists.
    pub(crate) window: &'a mut dyn Iterator<Item = u64>,
    /// The summaries of the previous and next code (0 for none).
    pub(crate) prev: u64,
    pub(crate) next: u64,
}

/// Everything a code's files depend on but its body.
pub(crate) fn error_page(
    shared: u64,
    own: u64,
    extra: u64,
    content_path: &str,
    related: &[u64],
    category: Option<CategoryPlace<'_>>,
) -> u64 {
    let mut k = Key::new("error page");
    k.u64(shared).u64(own).u64(extra).str(content_path);
    k.u64(related.len() as u64);
    for &r in related {
        k.u64(r);
    }
    match category {
        Some(c) => {
            k.u64(1).u64(c.len as u64);
            let window: Vec<u64> = c.window.collect();
            k.u64(window.len() as u64);
            for w in window {
                k.u64(w);
            }
            k.u64(c.prev).u64(c.next);
        }
        None => {
            k.u64(0);
        }
    }
    k.finish()
}

/// What every body's rendering depends on besides its own text.
pub(crate) fn body_salt(
    config: &impl Serialize,
    canonical_base_url: &str,
    links: &std::collections::HashMap<String, String>,
    highlight: bool,
    schema_compiled: bool,
    schema: Option<&[u8]>,
) -> u64 {
    let mut sorted: Vec<_> = links.iter().collect();
    sorted.sort();
    let mut k = Key::new("body salt");
    k.json(config).str(canonical_base_url);
    k.u64(sorted.len() as u64);
    for (path, url) in sorted {
        k.str(path).str(url);
    }
    k.u64(u64::from(highlight)).u64(u64::from(schema_compiled));
    match schema {
        Some(bytes) => k.u64(1).bytes(bytes),
        None => k.u64(0),
    };
    k.finish()
}

/// One body: the salt, the file's path under `content/` and its text.
pub(crate) fn body(salt: u64, content_path: &str, text: &str) -> u64 {
    Key::new("body")
        .u64(salt)
        .str(content_path)
        .str(text)
        .finish()
}

/// A code page of the previous build, kept when this is unchanged.
pub(crate) fn kept_page(body: u64, error_page: u64) -> u64 {
    Key::new("kept page").u64(body).u64(error_page).finish()
}

/// One template rendered with one context.
pub(crate) fn rendered(templates: u64, name: &str, context: &impl Serialize) -> u64 {
    Key::new("rendered")
        .u64(templates)
        .str(name)
        .json(context)
        .finish()
}

/// One highlighted code block.
pub(crate) fn highlight_block(code: &str, lang: &str, light: &str, dark: &str) -> u64 {
    let mut k = Key::new("highlight");
    for part in [env!("CARGO_PKG_VERSION"), light, dark, lang, code] {
        k.str(part);
    }
    k.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_delimited() {
        // The same bytes split differently are different keys.
        assert_ne!(
            body(0, "a", "bc"),
            body(0, "ab", "c"),
            "path and text are told apart"
        );
        assert_ne!(
            highlight_block("x", "json", "a", "b"),
            highlight_block("x", "json", "ab", "")
        );
        assert_ne!(templates([("a", "b")]), templates([("ab", "")]));
    }

    #[test]
    fn kinds_are_kept_apart_and_keys_are_stable() {
        assert_ne!(kept_page(1, 2), catalog(1, &[2]));
        assert_eq!(body(7, "errors/a.md", "x"), body(7, "errors/a.md", "x"));
    }

    #[test]
    fn a_value_that_does_not_serialise_never_shares_a_key() {
        // JSON maps need string keys: this one fails to serialise.
        let bad: std::collections::HashMap<(u8, u8), u8> = [((1, 2), 3)].into();
        let a = summary(&bad);
        let b = summary(&bad);
        assert_ne!(a, b);
        assert_ne!(a, summary(&()));
    }
}
