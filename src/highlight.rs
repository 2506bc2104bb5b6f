//! Build-time syntax highlighting with syntect, as CSS classes.
//!
//! Syntaxes and themes are loaded once per process from syntect's binary
//! dumps and shared by every thread. Each token gets short classes naming
//! its colour in the light (`l…`) and the dark (`d…`) theme, so one pass
//! serves both; one stylesheet maps them to colours, the dark ones under
//! `prefers-color-scheme: dark` and an explicit `data-theme="dark"`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::OnceLock;

use syntect::highlighting::{Color, FontStyle, Highlighter, Style, Theme, ThemeSet};
use syntect::parsing::{ParseState, Scope, ScopeStack, SyntaxReference, SyntaxSet};
use syntect::util::LinesWithEndings;

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

fn themes() -> &'static ThemeSet {
    static SET: OnceLock<ThemeSet> = OnceLock::new();
    SET.get_or_init(ThemeSet::load_defaults)
}

/// True when `name` is one of syntect's built-in themes.
pub fn theme_exists(name: &str) -> bool {
    themes().themes.contains_key(name)
}

/// The names of the built-in themes, sorted.
pub fn theme_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = themes().themes.keys().map(String::as_str).collect();
    v.sort_unstable();
    v
}

/// Info-string names that syntect does not know by that name.
fn canonical_token(lang: &str) -> &str {
    match lang {
        "curl" | "shell" | "console" | "zsh" | "shell-session" => "sh",
        "jsonc" | "json5" => "json",
        "node" | "javascript" | "ts" | "typescript" | "mjs" | "jsx" => "js",
        "golang" => "go",
        "py" | "python3" => "python",
        "rs" => "rust",
        "c#" | "csharp" => "cs",
        "kt" | "kotlin" => "java",
        "yml" => "yaml",
        other => other,
    }
}

fn find_syntax(lang: &str) -> Option<&'static SyntaxReference> {
    if lang.is_empty() {
        return None;
    }
    // syntect's lookup compares with every syntax's names and extensions;
    // a site uses a handful of languages on every page.
    thread_local! {
        static FOUND: RefCell<FastMap<Box<str>, Option<&'static SyntaxReference>>> =
            RefCell::default();
    }
    FOUND.with(|found| {
        if let Some(syntax) = found.borrow().get(lang) {
            return *syntax;
        }
        let lower = lang.to_ascii_lowercase();
        let token = canonical_token(&lower);
        let set = syntaxes();
        let syntax = set
            .find_syntax_by_token(token)
            .or_else(|| set.find_syntax_by_name(lang));
        let mut found = found.borrow_mut();
        // Languages come from users' files: stay bounded whatever they hold.
        if found.len() >= 256 {
            found.clear();
        }
        found.insert(lang.into(), syntax);
        syntax
    })
}

/// Languages that are shown without colours on purpose.
fn is_plain(lang: &str) -> bool {
    matches!(
        lang.to_ascii_lowercase().as_str(),
        "" | "text" | "txt" | "plain" | "plaintext" | "none" | "output"
    )
}

/// True when fenced code in `lang` gets colours (or is plain on purpose).
pub fn is_known_language(lang: &str) -> bool {
    is_plain(lang) || find_syntax(lang).is_some()
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    push_escaped(&mut out, text);
    out
}

/// Appends `text` to `out`, escaped as [`escape_html`] does.
fn push_escaped(out: &mut String, text: &str) {
    let done: Result<(), std::convert::Infallible> = escaped_pieces(text, |piece| {
        out.push_str(piece);
        Ok(())
    });
    let Ok(()) = done;
}

/// Writes `text` to `out`, escaped as [`escape_html`] does: the escaping
/// templates use.
pub fn write_escaped(text: &str, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    escaped_pieces(text, |piece| out.write_all(piece.as_bytes()))
}

/// Hands `put` the pieces of `text` escaped as [`escape_html`] does: runs
/// of plain text and entities, in order.
#[inline]
fn escaped_pieces<E>(text: &str, mut put: impl FnMut(&str) -> Result<(), E>) -> Result<(), E> {
    let mut plain = 0;
    // The characters replaced are ASCII, so byte positions are char boundaries.
    for (i, b) in text.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        put(&text[plain..i])?;
        put(entity)?;
        plain = i + 1;
    }
    put(&text[plain..])
}

/// `code` as HTML with short class spans (no `<pre>` around it), styled for
/// both themes at once: `l…` classes carry the light theme's colour and font
/// style, `d…` classes the dark theme's. An unknown language, or code the
/// highlighter rejects, comes back as escaped text.
pub fn highlight(code: &str, lang: &str, light: &str, dark: &str) -> String {
    crate::timing::HIGHLIGHT
        .time(|| highlight_inner(code, lang, light, dark).unwrap_or_else(|| escape_html(code)))
}

fn hex(c: Color) -> String {
    format!("{:02x}{:02x}{:02x}", c.r, c.g, c.b)
}

/// The classes of a token's style in one theme; none for the theme's
/// default look, which the block itself carries.
fn style_class(out: &mut String, prefix: char, style: Style, default_fg: Color) {
    if style.foreground != default_fg {
        out.push(' ');
        out.push(prefix);
        out.push_str(&hex(style.foreground));
    }
    for (flag, letter) in [
        (FontStyle::BOLD, 'b'),
        (FontStyle::ITALIC, 'i'),
        (FontStyle::UNDERLINE, 'u'),
    ] {
        if style.font_style.contains(flag) {
            out.push(' ');
            out.push(prefix);
            out.push(letter);
        }
    }
}

fn push_span(out: &mut String, text: &mut String, class: &str) {
    if text.is_empty() {
        return;
    }
    if class.is_empty() {
        push_escaped(out, text);
    } else {
        out.push_str("<span class=\"");
        out.push_str(class);
        out.push_str("\">");
        push_escaped(out, text);
        out.push_str("</span>");
    }
    text.clear();
}

/// A line cut where its style changes: where each piece ends (a byte
/// offset into the line) and the classes it gets.
type Pieces = Rc<[(usize, Rc<str>)]>;

/// One way a line was highlighted: the parser state and scope stack
/// before, the outcome, and whether it was used again since the memo was
/// last trimmed.
struct LineParse {
    before: ParseState,
    stack_before: ScopeStack,
    pieces: Pieces,
    after: ParseState,
    stack_after: ScopeStack,
    hit: bool,
}

/// Lines highlighted before, by syntax and text, each with the states it
/// was highlighted from. Parsing a line is a pure function of the parser
/// state before it and its text, and its classes of the scope stack too;
/// error catalogs repeat the same snippets with small changes, so most
/// lines of a new block were already highlighted in an earlier one.
#[derive(Default)]
struct LineMemo {
    /// By syntax (its address), then by line.
    lines: HashMap<usize, FastMap<Box<str>, Vec<LineParse>>>,
    entries: usize,
}

/// A map keyed by this process's own data: a fast unkeyed hash will do.
type FastMap<K, V> = HashMap<K, V, rustc_hash::FxBuildHasher>;

/// At this many remembered lines the memo keeps only the lines that were
/// used again (the shared lines of snippets), bounding memory: lines seen
/// once (a code, a status) are the most and the least worth keeping.
const LINE_MEMO_LIMIT: usize = 4_000;

impl LineMemo {
    /// The pieces of `line`, highlighted from `state` and `stack`, which
    /// it moves past the line.
    fn highlight(
        &mut self,
        syntax: &SyntaxReference,
        state: &mut ParseState,
        stack: &mut ScopeStack,
        line: &str,
        mut class_of: impl FnMut(&ScopeStack) -> Rc<str>,
    ) -> Option<Pieces> {
        let syntax_id = syntax as *const SyntaxReference as usize;
        if let Some(seen) = self.lines.get_mut(&syntax_id).and_then(|l| l.get_mut(line)) {
            if let Some(p) = seen
                .iter_mut()
                .find(|p| &p.before == state && &p.stack_before == stack)
            {
                p.hit = true;
                state.clone_from(&p.after);
                stack.clone_from(&p.stack_after);
                return Some(Rc::clone(&p.pieces));
            }
        }
        let (before, stack_before) = (state.clone(), stack.clone());
        let ops = state.parse_line(line, syntaxes()).ok()?;
        let mut pieces = Vec::with_capacity(ops.len() + 1);
        let mut pos = 0;
        let ends = ops
            .iter()
            .map(|(i, op)| (*i, Some(op)))
            .chain(std::iter::once((line.len(), None)));
        for (end, op) in ends {
            let end = end.clamp(pos, line.len());
            if end > pos {
                pieces.push((end, class_of(stack)));
                pos = end;
            }
            if let Some(op) = op {
                stack.apply(op).ok()?;
            }
        }
        let pieces: Pieces = pieces.into();
        if self.entries >= LINE_MEMO_LIMIT {
            self.trim();
        }
        self.entries += 1;
        let lines = self.lines.entry(syntax_id).or_default();
        lines.entry(line.into()).or_default().push(LineParse {
            before,
            stack_before,
            pieces: Rc::clone(&pieces),
            after: state.clone(),
            stack_after: stack.clone(),
            hit: false,
        });
        Some(pieces)
    }

    /// Keeps the lines used again since the last trim; all go when those
    /// alone fill half the memo.
    fn trim(&mut self) {
        for lines in self.lines.values_mut() {
            for parses in lines.values_mut() {
                parses.retain_mut(|p| std::mem::take(&mut p.hit));
            }
            lines.retain(|_, parses| !parses.is_empty());
        }
        self.entries = self
            .lines
            .values()
            .flat_map(|l| l.values())
            .map(Vec::len)
            .sum();
        if self.entries >= LINE_MEMO_LIMIT / 2 {
            self.lines.clear();
            self.entries = 0;
        }
    }
}

/// A thread's highlighting state for one theme pair: its two
/// highlighters, the classes of each scope stack under them, and the
/// lines highlighted so far.
struct ThemedHighlighter {
    /// The two themes' names.
    pair: (String, String),
    light: Highlighter<'static>,
    dark: Highlighter<'static>,
    fg_light: Color,
    fg_dark: Color,
    /// Matching a stack against a theme's selectors is the costly part of
    /// styling, and the same stacks recur in every block.
    classes: FastMap<Vec<Scope>, Rc<str>>,
    lines: LineMemo,
}

thread_local! {
    /// Made again only when the theme pair changes: making a highlighter
    /// compiles its theme's selectors.
    static HIGHLIGHTER: RefCell<Option<ThemedHighlighter>> = const { RefCell::new(None) };
}

fn highlight_inner(code: &str, lang: &str, light: &str, dark: &str) -> Option<String> {
    if is_plain(lang) {
        return None;
    }
    let syntax = find_syntax(lang)?;
    let themes = &themes().themes;
    let (light_theme, dark_theme) = (themes.get(light)?, themes.get(dark)?);
    let fg = |t: &Theme| t.settings.foreground.unwrap_or(Color::BLACK);
    HIGHLIGHTER.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell
            .as_ref()
            .is_none_or(|h| h.pair.0 != light || h.pair.1 != dark)
        {
            *cell = Some(ThemedHighlighter {
                pair: (light.to_string(), dark.to_string()),
                light: Highlighter::new(light_theme),
                dark: Highlighter::new(dark_theme),
                fg_light: fg(light_theme),
                fg_dark: fg(dark_theme),
                classes: FastMap::default(),
                lines: LineMemo::default(),
            });
        }
        let h = cell.as_mut()?;
        let ThemedHighlighter {
            light,
            dark,
            fg_light,
            fg_dark,
            classes,
            lines,
            ..
        } = h;
        let mut class_of = |stack: &ScopeStack| -> Rc<str> {
            if let Some(c) = classes.get(stack.as_slice()) {
                return Rc::clone(c);
            }
            let mut class = String::new();
            style_class(
                &mut class,
                'l',
                light.style_for_stack(stack.as_slice()),
                *fg_light,
            );
            style_class(
                &mut class,
                'd',
                dark.style_for_stack(stack.as_slice()),
                *fg_dark,
            );
            let class: Rc<str> = class.trim_start().into();
            classes.insert(stack.as_slice().to_vec(), Rc::clone(&class));
            class
        };
        let mut parse = ParseState::new(syntax);
        let mut stack = ScopeStack::new();
        let mut out = String::with_capacity(code.len() * 2);
        let mut pending = String::new();
        let mut pending_class: Rc<str> = "".into();
        for line in LinesWithEndings::from(code) {
            let pieces = lines.highlight(syntax, &mut parse, &mut stack, line, &mut class_of)?;
            let mut pos = 0;
            for (end, class) in pieces.iter() {
                let text = &line[pos..*end];
                // Blank text needs no colour: it joins whatever span is open.
                if *class != pending_class && !text.trim().is_empty() {
                    push_span(&mut out, &mut pending, &pending_class);
                    pending_class = Rc::clone(class);
                }
                pending.push_str(text);
                pos = *end;
            }
        }
        push_span(&mut out, &mut pending, &pending_class);
        Some(out)
    })
}

/// Highlighted blocks kept between builds, in a cache folder that is safe
/// to delete. Entries are keyed by errdocs' version, both theme names, the
/// language and the code, so a stale entry is never used; entries a build
/// did not use are dropped when it saves.
#[derive(Debug, Default)]
pub struct HighlightCache {
    /// Where the cache file is; none for a cache that lives in memory only.
    dir: Option<std::path::PathBuf>,
    /// The file, read on first need: a build that keeps every page never
    /// reads it.
    loaded: std::sync::OnceLock<LoadedEntries>,
    used: std::sync::Mutex<std::collections::HashSet<u64>>,
    fresh: std::sync::Mutex<FreshEntries>,
}

/// Blocks highlighted by this process: in memory for a cache without a
/// folder (`serve`), else appended to a file in the cache folder as they
/// come, so a large build does not hold every block's HTML until it saves.
#[derive(Debug, Default)]
struct FreshEntries {
    memory: HashMap<u64, String>,
    keys: std::collections::HashSet<u64>,
    spill: Option<(std::path::PathBuf, std::io::BufWriter<std::fs::File>)>,
    /// Set when the spill file could not be written: the cache is then not saved.
    failed: bool,
}

impl FreshEntries {
    fn is_empty(&self) -> bool {
        self.memory.is_empty() && self.keys.is_empty()
    }
}

/// The cache file at `path` opened for writing in place, if it is a regular
/// file with no other name and no link in its place.
fn open_in_place(path: &std::path::Path) -> Option<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    let file = options.open(path).ok()?;
    let lone =
        file.metadata().is_ok_and(|m| m.is_file()) && crate::output::lock::has_one_name(&file);
    lone.then_some(file)
}

/// A new file at `path`, never opened through a link in its place.
fn create_new(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let _ = std::fs::remove_file(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// One entry as the cache file stores it: key, length, checksum, HTML.
fn write_entry(out: &mut impl std::io::Write, key: u64, html: &str) -> std::io::Result<()> {
    out.write_all(&key.to_le_bytes())?;
    out.write_all(&(html.len() as u32).to_le_bytes())?;
    out.write_all(&entry_checksum(key, html.as_bytes()).to_le_bytes())?;
    out.write_all(html.as_bytes())
}

/// The bytes of an entry's head: key, length, checksum.
const ENTRY_HEAD: u64 = 20;

/// What an entry's checksum covers: its key, its length and its HTML, so
/// that a changed byte anywhere in it makes it a miss, never output.
fn entry_checksum(key: u64, html: &[u8]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&key.to_le_bytes());
    h.update(&(html.len() as u64).to_le_bytes());
    h.update(html);
    h.digest()
}

/// The cache file, open, and where each entry's HTML lies in it: only the
/// index is read up front, each entry when a block needs it, so a build
/// that highlights a few blocks does not hold the whole file in memory.
#[derive(Debug, Default)]
struct LoadedEntries {
    /// Taken away (closed) before the file is replaced.
    file: std::sync::RwLock<Option<std::fs::File>>,
    /// Key to offset, length and checksum of the HTML.
    known: HashMap<u64, (u64, u32, u64)>,
    /// Where the last whole entry ends: new entries are appended there.
    end: u64,
}

/// Reads `buf.len()` bytes of `file` at `offset`, leaving its cursor alone
/// where the platform allows.
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buf.len() {
            let n = std::os::windows::fs::FileExt::seek_read(
                file,
                &mut buf[done..],
                offset + done as u64,
            )?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            done += n;
        }
        Ok(())
    }
    #[cfg(not(any(unix, windows)))]
    {
        use std::io::{Read, Seek};
        let mut file = file;
        file.seek(std::io::SeekFrom::Start(offset))?;
        file.read_exact(buf)
    }
}

impl LoadedEntries {
    fn read(dir: Option<&std::path::Path>) -> Self {
        use std::io::Read;
        let mut entries = Self::default();
        let Some(Ok(file)) = dir.map(|d| std::fs::File::open(d.join(CACHE_FILE))) else {
            return entries;
        };
        let Ok(len) = file.metadata().map(|m| m.len()) else {
            return entries;
        };
        let mut reader = std::io::BufReader::with_capacity(1 << 16, &file);
        let mut magic = vec![0; CACHE_MAGIC.len()];
        if reader.read_exact(&mut magic).is_err() || magic != CACHE_MAGIC {
            return entries;
        }
        let mut at = CACHE_MAGIC.len() as u64;
        let mut head = [0u8; ENTRY_HEAD as usize];
        // An entry cut short (a build stopped while appending) ends the file.
        while reader.read_exact(&mut head).is_ok() {
            let key = u64::from_le_bytes(head[..8].try_into().unwrap_or_default());
            let n = u32::from_le_bytes(head[8..12].try_into().unwrap_or_default());
            let check = u64::from_le_bytes(head[12..20].try_into().unwrap_or_default());
            let html_at = at + ENTRY_HEAD;
            if html_at + u64::from(n) > len || reader.seek_relative(i64::from(n)).is_err() {
                break;
            }
            entries.known.insert(key, (html_at, n, check));
            at = html_at + u64::from(n);
        }
        drop(reader);
        entries.end = at;
        entries.file = std::sync::RwLock::new(Some(file));
        entries
    }

    fn html(&self, key: u64) -> Option<String> {
        let &(offset, n, check) = self.known.get(&key)?;
        let file = self.file.read().unwrap_or_else(|p| p.into_inner());
        let mut buf = vec![0; n as usize];
        read_exact_at(file.as_ref()?, &mut buf, offset).ok()?;
        // A damaged entry is a miss: the block is highlighted again.
        if entry_checksum(key, &buf) != check {
            return None;
        }
        String::from_utf8(buf).ok()
    }

    /// The bytes the entries take in the file, used and unused.
    fn sizes(&self, used: &std::collections::HashSet<u64>) -> (u64, u64) {
        let mut sizes = (0, 0);
        for (key, (_, n, _)) in &self.known {
            let size = ENTRY_HEAD + u64::from(*n);
            if used.contains(key) {
                sizes.0 += size;
            } else {
                sizes.1 += size;
            }
        }
        sizes
    }

    /// Closes the file, so that it can be replaced.
    fn close(&self) {
        *self.file.write().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

const CACHE_FILE: &str = "highlight-v2.bin";
const CACHE_MAGIC: &[u8] = b"errdocs highlight cache 2\n";

impl HighlightCache {
    /// An empty cache (for a process that will not save it).
    pub fn new() -> Self {
        Self::default()
    }

    /// The cache in `dir`, read when first needed; a missing or damaged
    /// file gives an empty cache.
    pub fn load(dir: &std::path::Path) -> Self {
        HighlightCache {
            dir: Some(dir.to_path_buf()),
            ..Self::default()
        }
    }

    fn entries(&self) -> &LoadedEntries {
        self.loaded
            .get_or_init(|| LoadedEntries::read(self.dir.as_deref()))
    }

    /// The key of a block: errdocs' version, both themes, the language and the code.
    pub fn block_key(code: &str, lang: &str, light: &str, dark: &str) -> u64 {
        crate::incremental::keys::highlight_block(code, lang, light, dark)
    }

    /// [`highlight`], from the cache when the same block was highlighted before.
    pub fn highlight(&self, code: &str, lang: &str, light: &str, dark: &str) -> String {
        let key = Self::block_key(code, lang, light, dark);
        if let Some(html) = self.entries().html(key) {
            self.used
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key);
            return html;
        }
        if let Some(html) = self
            .fresh
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .memory
            .get(&key)
        {
            return html.clone();
        }
        let html = highlight(code, lang, light, dark);
        let mut fresh = self.fresh.lock().unwrap_or_else(|p| p.into_inner());
        let Some(dir) = &self.dir else {
            fresh.memory.insert(key, html.clone());
            return html;
        };
        if fresh.failed || !fresh.keys.insert(key) {
            return html;
        }
        if fresh.spill.is_none() {
            let path = dir.join(format!("{CACHE_FILE}.{}.new", std::process::id()));
            // The spill file starts like a cache file, so that a build with
            // nothing to keep from the old one can simply rename it.
            let created = std::fs::create_dir_all(dir)
                .and_then(|()| create_new(&path))
                .and_then(|file| {
                    let mut out = std::io::BufWriter::new(file);
                    std::io::Write::write_all(&mut out, CACHE_MAGIC)?;
                    Ok(out)
                });
            match created {
                Ok(out) => fresh.spill = Some((path, out)),
                Err(_) => fresh.failed = true,
            }
        }
        if let Some((_, out)) = &mut fresh.spill {
            if write_entry(out, key, &html).is_err() {
                fresh.failed = true;
            }
        }
        html
    }

    /// Marks the entries of blocks this build did not highlight but still
    /// shows (in pages kept from the previous build) as used, so they stay.
    pub fn mark_used(&self, keys: &[u64]) {
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        used.extend(keys.iter().copied());
    }

    /// Writes the entries this process used into `dir`. New entries are
    /// appended to the file while at least half of it is still in use;
    /// else the file is replaced by one holding only the used entries.
    pub fn save(&self, dir: &std::path::Path) -> std::io::Result<()> {
        let used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let mut fresh = self.fresh.lock().unwrap_or_else(|p| p.into_inner());
        let spill = fresh.spill.take();
        let spill_path = spill.as_ref().map(|(path, _)| path.clone());
        let tmp = dir.join(format!("{CACHE_FILE}.{}.tmp", std::process::id()));
        let result = (|| {
            if fresh.failed {
                return Err(std::io::Error::other("could not write new entries"));
            }
            // Nothing new, and the file was not even needed: it stays as it
            // is (entries no page uses any more go at a later save).
            if fresh.is_empty() && self.loaded.get().is_none() {
                return Ok(());
            }
            let entries = self.entries();
            let (kept, unused) = entries.sizes(&used);
            if fresh.is_empty() && unused == 0 {
                return Ok(());
            }
            std::fs::create_dir_all(dir)?;
            let mut spill = spill;
            if kept == 0 && fresh.memory.is_empty() {
                if let Some((path, spilled)) = spill.take() {
                    drop(spilled.into_inner().map_err(|e| e.into_error())?);
                    entries.close();
                    return std::fs::rename(&path, dir.join(CACHE_FILE));
                }
            }
            let has_file = entries
                .file
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .is_some();
            // Appending keeps a large cache's save proportional to what is new.
            let append = has_file && unused <= kept;
            if append && fresh.is_empty() {
                return Ok(());
            }
            let target = dir.join(CACHE_FILE);
            // Written in place only if the file is the cache's alone: a link
            // in its place, or a second name, gets the file replaced instead.
            let appendable = append.then(|| open_in_place(&target)).flatten();
            let append = appendable.is_some();
            let mut out = if let Some(mut file) = appendable {
                // Past the last whole entry, over any cut-short one.
                file.set_len(entries.end)?;
                std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(entries.end))?;
                std::io::BufWriter::new(file)
            } else {
                let mut out = std::io::BufWriter::new(create_new(&tmp)?);
                std::io::Write::write_all(&mut out, CACHE_MAGIC)?;
                for key in entries.known.keys().filter(|k| used.contains(k)) {
                    if let Some(html) = entries.html(*key) {
                        write_entry(&mut out, *key, &html)?;
                    }
                }
                out
            };
            for (key, html) in &fresh.memory {
                write_entry(&mut out, *key, html)?;
            }
            if let Some((path, spilled)) = spill {
                drop(spilled.into_inner().map_err(|e| e.into_error())?);
                let mut file = std::fs::File::open(&path)?;
                // Past the spill file's own header.
                std::io::Seek::seek(
                    &mut file,
                    std::io::SeekFrom::Start(CACHE_MAGIC.len() as u64),
                )?;
                std::io::copy(&mut file, &mut out)?;
            }
            drop(out.into_inner().map_err(|e| e.into_error())?);
            if append {
                return Ok(());
            }
            entries.close();
            std::fs::rename(&tmp, &target)
        })();
        if let Some(path) = spill_path {
            let _ = std::fs::remove_file(path);
        }
        // A save cut short (a full disk) leaves no part-written file.
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

impl Drop for FreshEntries {
    /// A build that failed, or never saved, removes its own spill file.
    fn drop(&mut self) {
        if let Some((path, out)) = self.spill.take() {
            drop(out);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The stylesheet for highlighted code: `light` by default, `dark` under
/// `prefers-color-scheme: dark` unless the reader chose light, and under an
/// explicit `data-theme="dark"` on the root element. Every colour a theme
/// can give a token has a class, its colour adjusted to AA contrast.
pub fn stylesheet(light: &str, dark: &str) -> String {
    // (selector, declarations) of one theme, before scoping.
    let rules = |name: &str, prefix: char| {
        let Some(theme) = themes().themes.get(name) else {
            return Vec::new();
        };
        let readable = readable_theme(theme);
        let bg = readable.settings.background.unwrap_or(Color::WHITE);
        let fg = readable.settings.foreground.unwrap_or(Color::BLACK);
        let mut rules = vec![(
            ".hl-code".to_string(),
            format!("color: #{}; background-color: #{};", hex(fg), hex(bg)),
        )];
        let mut seen = std::collections::BTreeSet::new();
        for (orig, adjusted) in theme.scopes.iter().zip(&readable.scopes) {
            if let (Some(o), Some(a)) = (orig.style.foreground, adjusted.style.foreground) {
                if seen.insert(hex(o)) {
                    rules.push((
                        format!(".{prefix}{}", hex(o)),
                        format!("color: #{};", hex(a)),
                    ));
                }
            }
        }
        for (letter, decl) in [
            ('b', "font-weight: bold;"),
            ('i', "font-style: italic;"),
            ('u', "text-decoration: underline;"),
        ] {
            rules.push((format!(".{prefix}{letter}"), decl.to_string()));
        }
        rules
    };
    let emit = |out: &mut String, rules: &[(String, String)], scope: &str| {
        for (selector, decls) in rules {
            out.push_str(&format!("{scope}{selector} {{ {decls} }}\n"));
        }
    };
    let light_rules = rules(light, 'l');
    let dark_rules = rules(dark, 'd');
    // Each theme applies alone: rules of one must never show through the other.
    let mut out = String::from("/* Syntax colours: generated by errdocs from syntect themes. */\n");
    out.push_str("@media not (prefers-color-scheme: dark) {\n");
    emit(&mut out, &light_rules, ":root:not([data-theme=\"dark\"]) ");
    out.push_str("}\n");
    emit(&mut out, &light_rules, ":root[data-theme=\"light\"] ");
    out.push_str("@media (prefers-color-scheme: dark) {\n");
    emit(&mut out, &dark_rules, ":root:not([data-theme=\"light\"]) ");
    out.push_str("}\n");
    emit(&mut out, &dark_rules, ":root[data-theme=\"dark\"] ");
    out
}

/// WCAG contrast the code colours must reach against their background (AA
/// for normal text, with a little margin for rounding).
const MIN_CONTRAST: f64 = 4.6;

fn relative_luminance(c: Color) -> f64 {
    let channel = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v <= 0.03928 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)
}

/// The WCAG contrast ratio of two opaque colours.
pub fn contrast(a: Color, b: Color) -> f64 {
    let (la, lb) = (relative_luminance(a), relative_luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

fn mix(a: Color, b: Color, t: f64) -> Color {
    let m = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * t).round() as u8;
    Color {
        r: m(a.r, b.r),
        g: m(a.g, b.g),
        b: m(a.b, b.b),
        a: 255,
    }
}

/// `fg` drawn over `bg`, moved towards black or white just enough to reach
/// [`MIN_CONTRAST`]; hues are kept as far as possible.
fn readable_on(fg: Color, bg: Color) -> Color {
    // Translucent foregrounds are what the reader sees over the background.
    let fg = mix(bg, fg, f64::from(fg.a) / 255.0);
    if contrast(fg, bg) >= MIN_CONTRAST {
        return fg;
    }
    let target = if contrast(Color::WHITE, bg) > contrast(Color::BLACK, bg) {
        Color::WHITE
    } else {
        Color::BLACK
    };
    (1..=20)
        .map(|step| mix(fg, target, f64::from(step) * 0.05))
        .find(|c| contrast(*c, bg) >= MIN_CONTRAST)
        .unwrap_or(target)
}

/// A copy of `theme` whose token colours all reach AA contrast against
/// the code background, so no theme choice makes code unreadable.
fn readable_theme(theme: &Theme) -> Theme {
    let mut t = theme.clone();
    let bg = t.settings.background.unwrap_or(Color::WHITE);
    let bg = Color { a: 255, ..bg };
    t.settings.background = Some(bg);
    let fg = t
        .settings
        .foreground
        .unwrap_or(if relative_luminance(bg) < 0.2 {
            Color::WHITE
        } else {
            Color::BLACK
        });
    t.settings.foreground = Some(readable_on(fg, bg));
    for item in &mut t.scopes {
        let scope_bg = item
            .style
            .background
            .map(|c| mix(bg, c, f64::from(c.a) / 255.0))
            .unwrap_or(bg);
        if let Some(fg) = item.style.foreground {
            item.style.foreground = Some(readable_on(fg, scope_bg));
        }
        if item.style.background.is_some() {
            item.style.background = Some(scope_bg);
        }
    }
    t
}

/// How a language is named in a code block's title bar and tabs.
pub fn language_label(lang: &str) -> String {
    let known = match lang.to_ascii_lowercase().as_str() {
        "python" | "py" | "python3" => "Python",
        "javascript" | "js" | "node" | "mjs" => "JavaScript",
        "typescript" | "ts" => "TypeScript",
        "json" => "JSON",
        "jsonc" => "JSON with comments",
        "go" | "golang" => "Go",
        "sh" | "bash" | "shell" | "zsh" | "console" => "Shell",
        "curl" => "cURL",
        "ruby" | "rb" => "Ruby",
        "php" => "PHP",
        "java" => "Java",
        "kotlin" | "kt" => "Kotlin",
        "csharp" | "cs" | "c#" => "C#",
        "rust" | "rs" => "Rust",
        "http" => "HTTP",
        "yaml" | "yml" => "YAML",
        "xml" => "XML",
        "html" => "HTML",
        "sql" => "SQL",
        "" | "text" | "txt" | "plain" | "plaintext" | "none" => "Text",
        _ => "",
    };
    if known.is_empty() {
        lang.to_string()
    } else {
        known.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_with_classes_not_styles() {
        let html = highlight(
            "{\"a\": 1}\n",
            "json",
            "InspiredGitHub",
            "base16-ocean.dark",
        );
        assert!(html.contains("<span class=\"l"), "{html}");
        assert!(html.contains(" d"), "{html}");
        assert!(!html.contains("style="), "{html}");
        // Every class the code uses has a rule in the stylesheet.
        let css = stylesheet("InspiredGitHub", "base16-ocean.dark");
        for class in html
            .split("class=\"")
            .skip(1)
            .flat_map(|c| c.split('"').next().unwrap().split(' '))
        {
            assert!(css.contains(&format!(".{class} ")), "no rule for {class}");
        }
    }

    #[test]
    fn remembered_lines_give_the_same_html_as_a_fresh_parse() {
        // The second block shares its first lines with the first, then goes
        // into a string the first never opened, then repeats lines in the
        // new state: only lines parsed from the same state may be reused.
        let first = "def f(x):\n    return x\n\nclient = f(1)\n";
        let second =
            "def f(x):\n    return x\n\ns = \"\"\"\nclient = f(1)\n\"\"\"\nclient = f(1)\n";
        let hl = |code: &str| highlight(code, "python", "InspiredGitHub", "base16-ocean.dark");
        let fresh = std::thread::spawn(move || hl(second)).join().unwrap();
        let _ = hl(first);
        assert_eq!(hl(second), fresh);
        assert_ne!(hl(first), hl(second));
        // Past the memo's limit, lines seen once go and shared lines stay;
        // either way the output is what a fresh parse gives.
        let many: String = (0..LINE_MEMO_LIMIT + 10)
            .map(|i| format!("x{i} = {i}\n"))
            .collect();
        let _ = hl(&many);
        assert_eq!(hl(second), fresh);
        HIGHLIGHTER.with(|h| {
            let entries = h.borrow().as_ref().map_or(0, |h| h.lines.entries);
            assert!(entries > 0 && entries <= LINE_MEMO_LIMIT, "{entries}");
        });
    }

    #[test]
    fn remembered_pieces_give_the_same_html_in_every_language() {
        // Blocks that share most lines and differ in strings, numbers and
        // the state a shared line is reached in (inside a comment or a
        // string, or not): each, highlighted after the others on one
        // thread, equals a fresh highlight of it.
        let blocks: Vec<(&str, String)> = (0..12)
            .flat_map(|i| {
                let odd = i % 2;
                [
                    (
                        "json",
                        format!(
                            "{{\n  \"error\": \"e{i}\",\n  \"retry_after\": {},\n  \"details\": [\n    {{ \"param\": \"f{odd}\" }}\n  ]\n}}\n",
                            i % 3
                        ),
                    ),
                    (
                        "javascript",
                        format!(
                            "const r = await send();\n{}if (r.status !== 40{odd}) return r;\nthrow new Error(\"e{i}\");\n",
                            if odd == 0 { "/*\n" } else { "" }
                        ),
                    ),
                    (
                        "python",
                        format!(
                            "def f(r):\n{}    if r.status == 40{odd}:\n        return \"e{i}\"\n    return None\n",
                            if i % 3 == 0 { "    \"\"\"\n" } else { "" }
                        ),
                    ),
                ]
            })
            .collect();
        let hl =
            |lang: &str, code: &str| highlight(code, lang, "InspiredGitHub", "base16-ocean.dark");
        let fresh: Vec<String> = blocks
            .iter()
            .map(|(lang, code)| {
                let (lang, code) = (lang.to_string(), code.clone());
                std::thread::spawn(move || hl(&lang, &code)).join().unwrap()
            })
            .collect();
        let warm: Vec<String> = blocks.iter().map(|(lang, code)| hl(lang, code)).collect();
        assert_eq!(warm, fresh);
        assert!(fresh.iter().all(|h| h.contains("<span class=")));
    }

    #[test]
    fn escapes_the_five_characters_and_keeps_the_rest() {
        assert_eq!(
            escape_html("<a href=\"x\">it's</a> & ünïcødé → ok"),
            "&lt;a href=&quot;x&quot;&gt;it&#39;s&lt;/a&gt; &amp; ünïcødé → ok"
        );
        assert_eq!(escape_html(""), "");
        assert_eq!(escape_html("&&"), "&amp;&amp;");
        assert_eq!(escape_html("plain"), "plain");
    }

    #[test]
    fn unknown_language_is_escaped_text() {
        assert_eq!(
            highlight("<b>\n", "klingon", "InspiredGitHub", "base16-ocean.dark"),
            "&lt;b&gt;\n"
        );
        assert!(!is_known_language("klingon"));
        assert!(is_known_language("curl"));
        assert!(is_known_language("text"));
    }

    #[test]
    fn languages_are_found_by_token_or_name_the_same_way_every_time() {
        let name = |lang: &str| find_syntax(lang).map(|s| s.name.as_str());
        for _ in 0..2 {
            assert_eq!(name("json"), Some("JSON"));
            assert_eq!(name("JSON"), Some("JSON"));
            assert_eq!(name("py"), Some("Python"));
            assert_eq!(name("Python"), Some("Python"));
            assert_eq!(name("js"), Some("JavaScript"));
            assert_eq!(name("klingon"), None);
        }
        // Past the bound the answers stay right.
        for i in 0..600 {
            assert_eq!(name(&format!("lang{i}")), None);
        }
        assert_eq!(name("py"), Some("Python"));
    }

    const LIGHT: &str = "InspiredGitHub";
    const DARK: &str = "base16-ocean.dark";

    fn cache_keys(dir: &std::path::Path) -> std::collections::BTreeSet<u64> {
        HighlightCache::load(dir)
            .entries()
            .known
            .keys()
            .copied()
            .collect()
    }

    fn key(code: &str) -> u64 {
        HighlightCache::block_key(code, "python", LIGHT, DARK)
    }

    #[test]
    fn the_cache_round_trips_and_drops_unused_entries() {
        let dir = tempfile::tempdir().unwrap();
        let cache = HighlightCache::load(dir.path());
        let a = cache.highlight("x = 1\n", "python", LIGHT, DARK);
        let b = cache.highlight("y = 2\n", "python", LIGHT, DARK);
        cache.highlight("w = 4\n", "python", LIGHT, DARK);
        cache.save(dir.path()).unwrap();
        assert_eq!(cache_keys(dir.path()).len(), 3);
        let again = HighlightCache::load(dir.path());
        assert_eq!(again.highlight("x = 1\n", "python", LIGHT, DARK), a);
        assert_ne!(a, b);
        // Two of three entries unused: the file is rewritten without them.
        again.save(dir.path()).unwrap();
        assert_eq!(cache_keys(dir.path()), [key("x = 1\n")].into());

        // Kept entries and new ones together; no spill file stays behind.
        let third = HighlightCache::load(dir.path());
        assert_eq!(third.highlight("x = 1\n", "python", LIGHT, DARK), a);
        let c = third.highlight("z = 3\n", "python", LIGHT, DARK);
        third.save(dir.path()).unwrap();
        let fourth = HighlightCache::load(dir.path());
        assert_eq!(fourth.entries().known.len(), 2);
        assert_eq!(fourth.entries().html(key("z = 3\n")), Some(c.clone()));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != CACHE_FILE)
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        // Another theme is another key.
        assert!(!fourth
            .entries()
            .known
            .contains_key(&HighlightCache::block_key(
                "x = 1\n",
                "python",
                LIGHT,
                "Solarized (dark)"
            )));
        // A damaged file is an empty cache.
        std::fs::write(dir.path().join(CACHE_FILE), b"garbage").unwrap();
        assert!(HighlightCache::load(dir.path()).entries().known.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_cache_file_with_a_second_name_is_replaced_not_appended_to() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CACHE_FILE);
        let first = HighlightCache::load(dir.path());
        first.highlight("a = 1\n", "python", LIGHT, DARK);
        first.save(dir.path()).unwrap();
        let elsewhere = dir.path().join("someone-elses");
        std::fs::hard_link(&path, &elsewhere).unwrap();
        let theirs = std::fs::read(&elsewhere).unwrap();

        let second = HighlightCache::load(dir.path());
        second.highlight("a = 1\n", "python", LIGHT, DARK);
        second.highlight("b = 2\n", "python", LIGHT, DARK);
        second.save(dir.path()).unwrap();
        assert_eq!(std::fs::read(&elsewhere).unwrap(), theirs);
        assert_eq!(cache_keys(dir.path()).len(), 2);
    }

    #[test]
    fn new_entries_are_appended_while_most_of_the_cache_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CACHE_FILE);
        let first = HighlightCache::load(dir.path());
        for code in ["a = 1\n", "b = 2\n", "c = 3\n"] {
            first.highlight(code, "python", LIGHT, DARK);
        }
        first.save(dir.path()).unwrap();
        let before = std::fs::read(&path).unwrap();

        // Two of three used, one new: the old bytes stay, the new entry follows.
        let second = HighlightCache::load(dir.path());
        second.highlight("a = 1\n", "python", LIGHT, DARK);
        second.highlight("b = 2\n", "python", LIGHT, DARK);
        let d = second.highlight("d = 4\n", "python", LIGHT, DARK);
        second.save(dir.path()).unwrap();
        let after = std::fs::read(&path).unwrap();
        assert!(after.len() > before.len());
        assert_eq!(after[..before.len()], before[..]);
        assert_eq!(cache_keys(dir.path()).len(), 4);

        // An entry cut short (a build stopped while appending) is dropped,
        // and the next append goes where it began.
        std::fs::write(&path, &after[..after.len() - 5]).unwrap();
        assert_eq!(
            cache_keys(dir.path()),
            [key("a = 1\n"), key("b = 2\n"), key("c = 3\n")].into()
        );
        let third = HighlightCache::load(dir.path());
        for code in ["a = 1\n", "b = 2\n", "c = 3\n"] {
            third.highlight(code, "python", LIGHT, DARK);
        }
        assert_eq!(third.highlight("d = 4\n", "python", LIGHT, DARK), d);
        third.save(dir.path()).unwrap();
        let fourth = HighlightCache::load(dir.path());
        assert_eq!(fourth.entries().known.len(), 4);
        assert_eq!(fourth.entries().html(key("d = 4\n")), Some(d));
        assert_eq!(std::fs::read(&path).unwrap().len(), after.len());
    }

    #[test]
    fn every_theme_colour_reaches_aa_contrast() {
        for name in theme_names() {
            let t = readable_theme(&themes().themes[name]);
            let bg = t.settings.background.unwrap();
            assert!(
                contrast(t.settings.foreground.unwrap(), bg) >= 4.5,
                "{name}"
            );
            for item in &t.scopes {
                if let Some(fg) = item.style.foreground {
                    let under = item.style.background.unwrap_or(bg);
                    assert!(contrast(fg, under) >= 4.5, "{name}: {:?}", item.scope);
                }
            }
        }
    }

    #[test]
    fn stylesheet_scopes_dark_theme() {
        let css = stylesheet("InspiredGitHub", "base16-ocean.dark");
        assert!(css.contains("@media (prefers-color-scheme: dark)"));
        assert!(css.contains(":root[data-theme=\"dark\"] .hl-code"));
        assert!(css.contains(":root:not([data-theme=\"light\"]) .hl-code"));
        assert!(css.contains("@media not (prefers-color-scheme: dark)"));
        assert!(css.contains(":root[data-theme=\"light\"] .hl-code"));
    }
}
