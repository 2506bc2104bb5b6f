//! Every file a build writes, and who claims it.
//!
//! A build writes code pages, their Markdown versions, aliases'
//! redirects, guides, the site files (catalog, `index.json` and its
//! schema, feed, `llms.txt`, 404, sitemap, default home) and the theme's
//! assets and `static/` files. Two claims on one path, or a file where
//! another claim needs a folder (`reference/errors/index.json` beside the
//! code `index.json`'s `reference/errors/index.json/index.html`), would
//! make the build fail while writing, so `check` refuses them first, at
//! the file that makes the claim. Names some file systems cannot hold are
//! warnings.

use std::collections::HashMap;
use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::load::config::SiteConfig;
use crate::load::content::{Content, SourceFile};
use crate::load::theme::{self, Theme};

/// A file of the site's `static/`, from the site root.
fn static_path(name: &str) -> std::path::PathBuf {
    Path::new(crate::paths::STATIC_DIR).join(name)
}

/// The longest code or alias: its page folder and its `<code>.md` fit in
/// any common file system's 255-byte name limit, with room for the
/// temporary names a write uses.
pub const MAX_CODE_LEN: usize = 128;

/// Who makes a file of the output.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    /// A code's page, Markdown version or one of its aliases' redirects.
    Code {
        /// The code.
        code: &'a str,
        /// The error file.
        source: &'a SourceFile,
        /// Which of its files.
        file: CodeFile<'a>,
    },
    /// A guide page (or the home page) from `content/`.
    Guide(&'a SourceFile),
    /// A file under the site's `static/`, or of the built-in theme.
    Static {
        /// The path below `static/`.
        name: &'a str,
        /// Whether the site's `static/` holds it (else the built-in theme does).
        own: bool,
    },
    /// A file errdocs makes for the whole site.
    Generated(&'static str),
}

impl<'a> Owner<'a> {
    /// How a message names this owner. Files are named by their place
    /// ([`Owner::place`]), which commands print from the working folder.
    fn describe(&self) -> String {
        match self {
            Owner::Code { code, file, .. } => match file {
                CodeFile::Page => format!("the page of `{code}`"),
                CodeFile::Markdown => format!("the Markdown version of `{code}`"),
                CodeFile::Alias(a) => format!("the redirect of alias `{a}` of `{code}`"),
            },
            Owner::Guide(source) => format!("the page of guide `{}`", source.content_path),
            Owner::Static { name, own: true } => format!("the static file `{name}`"),
            Owner::Static { name, own: false } => format!("the built-in theme's {name}"),
            Owner::Generated(what) => format!("errdocs' {what}"),
        }
    }

    /// Whether the user wrote this claim (else errdocs or its theme makes it).
    fn user_written(&self) -> bool {
        !matches!(self, Owner::Generated(_) | Owner::Static { own: false, .. })
    }

    /// Where the user wrote this claim: the file, line and column.
    fn place(&self) -> Option<(&'a SourceFile, usize, usize)> {
        match *self {
            Owner::Code { source, file, .. } => {
                let (l, c) = match file {
                    CodeFile::Alias(a) => source.item_position("aliases", a),
                    _ => source.key_position("code"),
                };
                Some((source, l, c))
            }
            Owner::Guide(source) => Some((source, 1, 1)),
            Owner::Static { .. } | Owner::Generated(_) => None,
        }
    }

    /// A problem placed where the user wrote this claim.
    fn diagnostic(&self, error: bool, rule: &'static str, msg: String) -> Option<Diagnostic> {
        let severity = if error {
            crate::Severity::Error
        } else {
            crate::Severity::Warning
        };
        if let Some((source, l, c)) = self.place() {
            return Some(source.diagnostic(severity, l, c, rule, msg));
        }
        match self {
            Owner::Static { name, own: true } => {
                let mut d = Diagnostic::error(static_path(name), None, 1, 1, rule, msg);
                d.severity = severity;
                Some(d)
            }
            // Nothing the user wrote: the other claim of the clash carries it.
            _ => None,
        }
    }

    /// `d`, also pointing at this claim when the user wrote it.
    fn related_to(&self, d: Diagnostic) -> Diagnostic {
        if let Some((source, l, c)) = self.place() {
            return d.with_related(&source.shown, l, c, "the other claim");
        }
        match self {
            Owner::Static { name, own: true } => {
                d.with_related(static_path(name), 1, 1, "the other claim")
            }
            _ => d,
        }
    }
}

/// Which file of a code this is.
#[derive(Debug, Clone, Copy)]
pub enum CodeFile<'a> {
    /// The page.
    Page,
    /// The page as Markdown.
    Markdown,
    /// The redirect of this alias.
    Alias(&'a str),
}

/// One file of the output and who makes it.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    /// The output-relative path, `/`-separated.
    pub rel: String,
    /// Who makes it.
    pub owner: Owner<'a>,
}

/// A file of the theme as the output holds it.
#[derive(Debug, Clone)]
pub struct ThemeFile {
    /// Its path below `static/` (the site's or the built-in theme's).
    pub name: String,
    /// Where it goes: fingerprinted assets to `assets/` under a name with
    /// their content's hash, the rest under their own name.
    pub rel: String,
    /// Its bytes; the stylesheet ends with the syntax colours of the
    /// site's highlighting themes.
    pub bytes: Vec<u8>,
}

impl ThemeFile {
    /// Whether this is a fingerprinted asset (the stylesheet or script).
    pub fn fingerprinted(&self) -> bool {
        theme::FINGERPRINTED.contains(&self.name.as_str())
    }
}

/// The theme's static files as a build writes them, made once for both
/// the claims and the writing.
pub fn theme_files(config: &SiteConfig, theme: &Theme) -> Vec<ThemeFile> {
    theme
        .static_files
        .iter()
        .map(|(name, bytes)| {
            if !theme::FINGERPRINTED.contains(&name.as_str()) {
                return ThemeFile {
                    name: name.clone(),
                    rel: name.clone(),
                    bytes: bytes.clone(),
                };
            }
            let mut data = bytes.clone();
            if name.ends_with(".css") {
                let syntax_css =
                    crate::highlight::stylesheet(&config.highlight.light, &config.highlight.dark);
                data.extend_from_slice(b"\n");
                data.extend_from_slice(syntax_css.as_bytes());
            }
            let rel = format!(
                "assets/{}",
                theme::fingerprinted_name(name, &theme::content_hash(&data))
            );
            ThemeFile {
                name: name.clone(),
                rel,
                bytes: data,
            }
        })
        .collect()
}

/// Every file a build of `content` with the theme's `files` writes, in
/// no set order.
pub fn claims<'a>(
    root: &Path,
    config: &SiteConfig,
    content: &'a Content,
    files: &'a [ThemeFile],
) -> Vec<Claim<'a>> {
    let mut out = Vec::new();
    let mut put = |rel: String, owner: Owner<'a>| out.push(Claim { rel, owner });
    for page in &content.errors {
        let code = &page.meta.code;
        let source = &page.source;
        let owner = |file| Owner::Code { code, source, file };
        put(
            format!("{}index.html", config.error_rel(code)),
            owner(CodeFile::Page),
        );
        put(config.error_markdown_rel(code), owner(CodeFile::Markdown));
        for alias in &page.meta.aliases {
            let owner = owner(CodeFile::Alias(alias));
            put(format!("{}index.html", config.error_rel(alias)), owner);
        }
    }
    for guide in &content.guides {
        put(
            format!("{}index.html", guide.rel_url),
            Owner::Guide(&guide.source),
        );
    }
    for rel in site_files(config, content) {
        put(rel.0, Owner::Generated(rel.1));
    }
    for file in files {
        let own = root
            .join(crate::paths::STATIC_DIR)
            .join(&file.name)
            .exists();
        let name = &file.name;
        put(file.rel.clone(), Owner::Static { name, own });
    }
    out
}

/// The site files a build writes, each with what it is.
pub fn site_files(config: &SiteConfig, content: &Content) -> Vec<(String, &'static str)> {
    let catalog = config.catalog_rel();
    let mut files = Vec::new();
    // With `errors_path: ""` the catalog is the home page.
    if !catalog.is_empty() && !content.guides.iter().any(|g| g.rel_url.is_empty()) {
        files.push(("index.html".to_string(), "home page"));
    }
    files.extend([
        (format!("{catalog}index.html"), "error catalog"),
        (crate::paths::index_json_rel(config), "catalog index.json"),
        (crate::paths::index_schema_rel(config), "index.json schema"),
        (crate::paths::feed_rel(config), "Atom feed"),
        (crate::paths::LLMS_TXT.to_string(), "llms.txt"),
        (crate::paths::NOT_FOUND.to_string(), "404 page"),
        (crate::paths::SITEMAP.to_string(), "sitemap"),
    ]);
    files
}

/// The problems of a set of claims: a path claimed twice, a file where a
/// folder is needed (errors), and names that Windows or a case-insensitive
/// disk cannot hold (warnings). Each is reported at the claim that comes
/// second, or at the one the user wrote when the other is errdocs' own.
pub fn check(claims: &[Claim<'_>]) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    // Claims the user wrote come after errdocs' own, so that a clash is
    // reported at the user's file.
    let mut order: Vec<&Claim<'_>> = claims.iter().collect();
    order.sort_by_key(|c| c.owner.user_written());
    let mut exact: HashMap<&str, &Claim<'_>> = HashMap::with_capacity(claims.len());
    let mut folded: HashMap<String, &Claim<'_>> = HashMap::with_capacity(claims.len());
    // The message names both claims; it goes to the one the user wrote.
    let report = |problems: &mut Vec<Diagnostic>,
                  claim: &Claim<'_>,
                  first: &Claim<'_>,
                  error: bool,
                  rule: &'static str,
                  msg: String| {
        let (target, other) = if claim.owner.user_written() {
            (claim, first)
        } else {
            (first, claim)
        };
        if let Some(d) = target.owner.diagnostic(error, rule, msg) {
            problems.push(other.owner.related_to(d));
        }
    };
    for claim in &order {
        let rel = claim.rel.as_str();
        if !is_plain(rel) {
            if let Some(d) = claim.owner.diagnostic(
                true,
                "url",
                format!(
                    "{} would go to /{}, which is not a plain path: a backslash, a control character or a part starting with `.` cannot be published",
                    claim.owner.describe(),
                    crate::terminal::escape(rel)
                ),
            ) {
                problems.push(d);
            }
            continue;
        }
        if let Some(first) = exact.get(rel) {
            if !already_reported(&first.owner, &claim.owner) {
                let msg = format!(
                    "two files would be written to /{rel}: {} and {}",
                    first.owner.describe(),
                    claim.owner.describe()
                );
                report(&mut problems, claim, first, true, "url", msg);
            }
            continue;
        }
        exact.insert(rel, claim);
        let key = rel.to_lowercase();
        match folded.get(&key) {
            Some(first) if !already_reported(&first.owner, &claim.owner) => {
                let msg = format!(
                    "{} goes to /{}, and {} to /{rel}: a case-insensitive disk (macOS, Windows) holds only one of them",
                    first.owner.describe(),
                    first.rel,
                    claim.owner.describe()
                );
                report(&mut problems, claim, first, false, "portable-name", msg);
            }
            Some(_) => {}
            None => {
                folded.insert(key, claim);
            }
        }
    }
    for claim in order.iter().filter(|c| is_plain(&c.rel)) {
        let rel = claim.rel.as_str();
        // A claimed file where this claim needs a folder.
        for (i, _) in rel.match_indices('/') {
            let folder = &rel[..i];
            let (file, exactly) = match exact.get(folder) {
                Some(file) => (file, true),
                None => match folded.get(&folder.to_lowercase()) {
                    Some(file) => (file, false),
                    None => continue,
                },
            };
            let msg = format!(
                "{} goes to /{rel}, which needs /{folder}/ to be a folder, but {} is the file /{}{}",
                claim.owner.describe(),
                file.owner.describe(),
                file.rel,
                if exactly {
                    ""
                } else {
                    " on a case-insensitive disk (macOS, Windows)"
                }
            );
            let rule = if exactly { "url" } else { "portable-name" };
            report(&mut problems, claim, file, exactly, rule, msg);
            break;
        }
        if let Some(why) = rel.split('/').find_map(unportable) {
            if let Some(d) = claim.owner.diagnostic(
                false,
                "portable-name",
                format!("this would write /{rel}: {why}, so Windows cannot hold it"),
            ) {
                problems.push(d);
            }
        }
    }
    problems
}

/// Whether the output folder can hold `rel` as it is and a URL can name
/// it: what the write stage refuses, refused here first.
fn is_plain(rel: &str) -> bool {
    crate::output::manifest::is_clean_rel(rel) && !rel.chars().any(char::is_control)
}

/// Whether two claims of one path are reported by other rules already:
/// codes and aliases that are equal ignoring case are `duplicate-code` and
/// `alias` errors, and one page never clashes with itself.
fn already_reported(a: &Owner<'_>, b: &Owner<'_>) -> bool {
    match (a, b) {
        (Owner::Code { .. }, Owner::Code { .. }) => true,
        (Owner::Guide(x), Owner::Guide(y)) => std::ptr::eq(*x, *y),
        _ => false,
    }
}

/// Why Windows cannot hold a file or folder named `name`, if it cannot.
fn unportable(name: &str) -> Option<String> {
    const RESERVED: [&str; 4] = ["con", "prn", "aux", "nul"];
    let stem = name.split('.').next().unwrap_or(name).to_ascii_lowercase();
    let numbered = ["com", "lpt"].iter().any(|p| {
        stem.strip_prefix(p)
            .is_some_and(|n| n.len() == 1 && n.as_bytes()[0].is_ascii_digit())
    });
    if RESERVED.contains(&stem.as_str()) || numbered {
        return Some(format!("`{name}` is a reserved device name"));
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return Some(format!("`{name}` ends with a dot or a space"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*'))
    {
        return Some(format!("`{name}` holds {c:?}"));
    }
    None
}

/// Codes and aliases longer than [`MAX_CODE_LEN`]: their files would not
/// fit a file name on every disk.
pub fn check_code_lengths(content: &Content) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for page in &content.errors {
        let source = &page.source;
        let code = &page.meta.code;
        if code.len() > MAX_CODE_LEN {
            problems.push(source.error_at_key(
                "code",
                "code",
                format!(
                    "the code is {} characters long; codes are limited to {MAX_CODE_LEN} so that every file system can hold their files",
                    code.len()
                ),
            ));
        }
        for alias in page.meta.aliases.iter().filter(|a| a.len() > MAX_CODE_LEN) {
            let (l, c) = source.item_position("aliases", alias);
            problems.push(source.diagnostic(
                crate::Severity::Error,
                l,
                c,
                "code",
                format!(
                    "alias `{}…` is {} characters long; codes are limited to {MAX_CODE_LEN}",
                    alias.chars().take(32).collect::<String>(),
                    alias.len()
                ),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_names() {
        for bad in [
            "con", "CON.html", "aux.md", "Com1", "lpt9.txt", "x.", "x ", "a:b",
        ] {
            assert!(unportable(bad).is_some(), "{bad}");
        }
        for good in ["console", "com10", "conference.md", "index.html", "x.y"] {
            assert!(unportable(good).is_none(), "{good}");
        }
    }

    #[test]
    fn generated_clashes_need_a_user_claim_to_report() {
        let a = Claim {
            rel: "x".into(),
            owner: Owner::Generated("one"),
        };
        let b = Claim {
            rel: "x/index.html".into(),
            owner: Owner::Generated("two"),
        };
        // errdocs' own files never clash; if they did, no user file is to blame.
        assert!(check(&[a, b]).is_empty());
    }
}
