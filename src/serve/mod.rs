//! `errdocs serve`: builds the site into memory, serves it on 127.0.0.1,
//! rebuilds when a source file changes and tells open pages to reload.
//!
//! The site is built with `base_url` set to the server's own address, so
//! every page works at the server's root whatever `site.yaml` says. The
//! real output folder is never touched. Pages learn about rebuilds by
//! long-polling `/__errdocs/poll`; each connection has its own thread, so
//! waiting pages never hold up normal requests. The HTTP side is in
//! `http.rs`: [`LiveSite::respond`] is all it asks of the site.

mod fds;
mod host;
mod http;

use crate::paths::{CONTENT_DIR, STATIC_DIR, TEMPLATES_DIR};
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use notify::Watcher;
use serde::Serialize;

use crate::diagnostic::Diagnostics;
use crate::load::content::is_ignored_name;
use crate::output::{MemoryFiles, MemoryOutput};
use crate::site::{build_into, Caches, LoadOptions};
use crate::Error;

/// The port `serve` tries first when none is given.
pub const DEFAULT_PORT: u16 = 1111;
/// Where the server's own files live; no site page can be there.
const INTERNAL: &str = "/__errdocs/";
/// How long a poll waits for a rebuild before answering anyway.
const POLL_WAIT: Duration = Duration::from_secs(25);
/// How many polls may wait at once. Browsers open at most six connections
/// to one host; the rest must stay free for pages, whatever the number of
/// open tabs. Polls beyond this are answered at once and come back later.
const MAX_WAITING_POLLS: usize = 3;
/// How long the watcher waits for a save to settle before serving the
/// edited page: editors' atomic saves raise their events within it.
const SETTLE: Duration = Duration::from_millis(5);
/// How long the watcher waits for a burst of events to end before
/// rebuilding the site.
const DEBOUNCE: Duration = Duration::from_millis(60);

const LIVE_JS: &str = include_str!("live.js");

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The site root.
    pub root: PathBuf,
    /// Address to listen on.
    pub bind: String,
    /// Port; `None` tries [`DEFAULT_PORT`] and the next ones.
    pub port: Option<u16>,
    /// Include drafts.
    pub drafts: bool,
    /// Poll the file system instead of native events.
    pub poll: bool,
    /// More `Host` names to answer (`NAME` or `NAME:PORT`), besides the
    /// server's own.
    pub allowed_hosts: Vec<String>,
    /// Closes connections idle, or slow to send a request, for this long
    /// instead of the defaults (for tests).
    pub idle_timeout: Option<Duration>,
}

/// One problem as the browser overlay shows it.
#[derive(Debug, Clone, Serialize)]
struct OverlayError {
    file: String,
    line: usize,
    column: usize,
    message: String,
}

/// What the pages learn from `/__errdocs/poll`.
#[derive(Debug, Clone, Serialize)]
struct Status {
    version: u64,
    ok: bool,
    /// `full` or `css`.
    reload: &'static str,
    /// The new stylesheet, for a `css` reload.
    css: Option<String>,
    errors: Vec<OverlayError>,
    /// False when the server answered at once because enough polls wait:
    /// the page should ask again after a pause.
    held: bool,
}

/// The files being served: the last build's, and pages rendered since.
#[derive(Debug, Default)]
struct Served {
    built: Arc<MemoryFiles>,
    /// Pages of single edited files, ahead of `built` until the next
    /// build has checked the whole site.
    pages: MemoryFiles,
}

impl Served {
    fn get(&self, key: &str) -> Option<&Arc<[u8]>> {
        self.pages.get(key).or_else(|| self.built.get(key))
    }

    /// Whether a build's `files` are exactly what is served.
    fn same_as(&self, files: &MemoryFiles) -> bool {
        let new_paths = self.pages.keys().filter(|k| !self.built.contains_key(*k));
        files.len() == self.built.len() + new_paths.count()
            && files.iter().all(|(k, v)| {
                self.get(k)
                    .is_some_and(|old| Arc::ptr_eq(old, v) || old[..] == v[..])
            })
    }
}

/// The served site and the state of its last build.
pub struct LiveSite {
    root: PathBuf,
    load: LoadOptions,
    caches: Caches,
    files: RwLock<Served>,
    status: Mutex<Status>,
    changed: Condvar,
    waiting: std::sync::atomic::AtomicUsize,
}

impl LiveSite {
    /// Builds the site once; a failing first build is served as an overlay.
    pub fn new(root: &Path, load: LoadOptions) -> Self {
        let site = LiveSite {
            root: root.to_path_buf(),
            load,
            caches: Caches::in_memory(),
            files: RwLock::new(Served::default()),
            status: Mutex::new(Status {
                version: 0,
                ok: true,
                reload: "full",
                css: None,
                errors: Vec::new(),
                held: true,
            }),
            changed: Condvar::new(),
            waiting: std::sync::atomic::AtomicUsize::new(0),
        };
        site.rebuild(&BTreeSet::new());
        site
    }

    fn served(&self) -> std::sync::RwLockReadGuard<'_, Served> {
        self.files.read().unwrap_or_else(|p| p.into_inner())
    }

    fn served_mut(&self) -> std::sync::RwLockWriteGuard<'_, Served> {
        self.files.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Serves the new page of a single edited error file at once, when no
    /// other page can have changed (see [`crate::site::BuiltSite::render_error_file`]);
    /// returns a one-line report. [`Self::rebuild`] must follow: it checks
    /// the whole site and reloads the pages again only if anything else
    /// changed.
    pub fn update_page(&self, changed: &BTreeSet<PathBuf>) -> Option<String> {
        let start = Instant::now();
        let [path] = Vec::from_iter(changed).try_into().ok()?;
        if !self.lock_status().ok {
            return None;
        }
        let built = self.caches.built.as_ref()?;
        let built = built.lock().unwrap_or_else(|p| p.into_inner()).clone()?;
        let files = built.render_error_file(path, &self.caches.highlight)?;
        self.served_mut().pages.extend(files);
        let mut status = self.lock_status();
        status.version += 1;
        status.reload = "full";
        drop(status);
        self.changed.notify_all();
        Some(format!(
            "updated{} in {:.1} ms",
            describe(&self.root, changed),
            start.elapsed().as_secs_f64() * 1000.0
        ))
    }

    /// Rebuilds after `changed` paths changed; returns a one-line report.
    pub fn rebuild(&self, changed: &BTreeSet<PathBuf>) -> String {
        let start = Instant::now();
        let previous = Arc::clone(&self.served().built);
        let memory = MemoryOutput::updating(previous);
        let result = build_into(&self.root, &self.load, &self.caches, || Ok(Some(&memory)));
        if let Some(store) = &self.caches.stored {
            store.finish_in_memory(result.is_ok());
        }
        let what = describe(&self.root, changed);
        let css_only = !changed.is_empty()
            && changed.iter().all(|p| {
                p.strip_prefix(&self.root)
                    .is_ok_and(|r| r.starts_with(STATIC_DIR))
                    && p.extension().is_some_and(|e| e == "css")
            });
        let mut status = self.lock_status();
        let line = match result {
            Ok(report) => {
                let files = memory.into_files();
                let css = files
                    .keys()
                    .find(|k| k.starts_with("assets/errdocs.") && k.ends_with(".css"))
                    .map(|k| format!("/{k}"));
                let mut served = self.served_mut();
                // After a page update, open pages already show this build
                // unless it changed more.
                let updated = !served.pages.is_empty();
                let unchanged = updated && status.ok && served.same_as(&files);
                *served = Served {
                    built: Arc::new(files),
                    pages: MemoryFiles::new(),
                };
                drop(served);
                if !report.warnings.is_empty() {
                    crate::terminal::note_styled(
                        &report.warnings.from_cwd(&self.root).render_for_stderr(),
                    );
                }
                if unchanged {
                    return format!(
                        "checked the site in {} ms; nothing else changed",
                        start.elapsed().as_millis()
                    );
                }
                status.version += 1;
                let was_ok = status.ok;
                status.ok = true;
                status.errors.clear();
                status.reload = if css_only && was_ok { "css" } else { "full" };
                status.css = css;
                format!("rebuilt{what} in {} ms", start.elapsed().as_millis())
            }
            Err(e) => {
                status.version += 1;
                status.ok = false;
                status.errors = overlay_errors(&e);
                match &e {
                    Error::Content(ds) | Error::Settings(ds) => {
                        crate::terminal::note_styled(&ds.from_cwd(&self.root).render_for_stderr())
                    }
                    other => crate::terminal::note_styled(&crate::terminal::error_line(other)),
                }
                format!(
                    "build failed{what}: {} problem(s); still serving the last good site",
                    status.errors.len()
                )
            }
        };
        drop(status);
        self.changed.notify_all();
        line
    }

    fn lock_status(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The status once its version differs from `seen`, or after `wait`.
    fn wait_for_change(&self, seen: Option<u64>, wait: Duration) -> Status {
        use std::sync::atomic::Ordering;
        let status = self.lock_status();
        let Some(seen) = seen else {
            return status.clone();
        };
        if status.version != seen {
            return status.clone();
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING_POLLS {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Status {
                held: false,
                ..status.clone()
            };
        }
        let (status, _) = self
            .changed
            .wait_timeout_while(status, wait, |s| s.version == seen)
            .unwrap_or_else(|p| p.into_inner());
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        status.clone()
    }

    fn file(&self, key: &str) -> Option<Arc<[u8]>> {
        self.served().get(key).cloned()
    }

    /// Answers one request.
    pub fn respond(&self, method: &str, url: &str) -> Reply {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        if let Some(internal) = path.strip_prefix(INTERNAL) {
            return match internal {
                "live.js" => Reply::ok(
                    "application/javascript; charset=utf-8",
                    LIVE_JS.as_bytes().into(),
                ),
                "poll" => {
                    let seen = query
                        .split('&')
                        .find_map(|kv| kv.strip_prefix("v="))
                        .and_then(|v| v.parse::<u64>().ok());
                    let status = self.wait_for_change(seen, POLL_WAIT);
                    let body = serde_json::to_vec(&status).unwrap_or_default();
                    Reply::ok("application/json", body.into())
                }
                _ => self.not_found(),
            };
        }
        if method != "GET" && method != "HEAD" {
            return Reply::status(405, "method not allowed");
        }
        let Some(key) = request_key(path) else {
            return Reply::status(400, "bad path");
        };
        let lookup = if key.is_empty() || key.ends_with('/') {
            format!("{key}index.html")
        } else {
            key.clone()
        };
        if let Some(bytes) = self.file(&lookup) {
            return Reply::file(&lookup, bytes);
        }
        if self.file(&format!("{key}/index.html")).is_some() {
            let mut location = format!("/{key}/");
            if !query.is_empty() {
                location.push('?');
                location.push_str(query);
            }
            return Reply {
                status: 301,
                content_type: "text/plain; charset=utf-8",
                body: Vec::new().into(),
                location: Some(location),
            };
        }
        self.not_found()
    }

    fn not_found(&self) -> Reply {
        let body = self
            .file(crate::paths::NOT_FOUND)
            .unwrap_or_else(|| b"not found".to_vec().into());
        Reply {
            status: 404,
            content_type: "text/html; charset=utf-8",
            body: with_live_script(&body).into(),
            location: None,
        }
    }
}

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Content-Type.
    pub content_type: &'static str,
    /// Body.
    pub body: Arc<[u8]>,
    /// Location, for redirects.
    pub location: Option<String>,
}

impl Reply {
    fn ok(content_type: &'static str, body: Arc<[u8]>) -> Self {
        Reply {
            status: 200,
            content_type,
            body,
            location: None,
        }
    }

    fn status(status: u16, text: &str) -> Self {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: text.as_bytes().into(),
            location: None,
        }
    }

    fn file(key: &str, bytes: Arc<[u8]>) -> Self {
        let content_type = content_type(key);
        let body = if content_type.starts_with("text/html") {
            with_live_script(&bytes).into()
        } else {
            bytes
        };
        Reply::ok(content_type, body)
    }
}

/// The Content-Type of an output file.
pub fn content_type(path: &str) -> &'static str {
    match path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("html") | Some("htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") | Some("mjs") => "application/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("xml") => "application/xml",
        Some("png") => "image/png",
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("md") => "text/markdown; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Adds the live-reload client to an HTML page.
fn with_live_script(html: &[u8]) -> Vec<u8> {
    let tag = format!("<script src=\"{INTERNAL}live.js\" defer></script>");
    let text = String::from_utf8_lossy(html);
    match text.rfind("</head>") {
        Some(i) => format!("{}{tag}{}", &text[..i], &text[i..]).into_bytes(),
        None => format!("{text}{tag}").into_bytes(),
    }
}

/// The output-relative key of a request path, or `None` for a path that
/// tries to leave the site (`..`, encoded or not, backslashes, NUL).
pub fn request_key(path: &str) -> Option<String> {
    let path = path.strip_prefix('/')?;
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: u8| (b as char).to_digit(16);
            let (h, l) = (hex(*bytes.get(i + 1)?)?, hex(*bytes.get(i + 2)?)?);
            decoded.push((h * 16 + l) as u8);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8(decoded).ok()?;
    if decoded.contains(['\0', '\\']) || decoded.starts_with('/') {
        return None;
    }
    if decoded.split('/').any(|seg| seg == ".." || seg == ".") {
        return None;
    }
    Some(decoded)
}

fn overlay_errors(e: &Error) -> Vec<OverlayError> {
    let from = |ds: &Diagnostics| {
        ds.iter()
            .filter(|d| d.severity == crate::Severity::Error)
            .map(|d| OverlayError {
                file: d.file.display().to_string(),
                line: d.line,
                column: d.column,
                message: d.message.clone(),
            })
            .collect()
    };
    match e {
        Error::Content(ds) | Error::Settings(ds) => from(ds),
        Error::Template { at: Some(at), .. } => vec![OverlayError {
            file: format!("{}/{}", crate::paths::TEMPLATES_DIR, at.template),
            line: at.line,
            column: at.column,
            message: e.to_string(),
        }],
        other => vec![OverlayError {
            file: String::new(),
            line: 0,
            column: 0,
            message: other.to_string(),
        }],
    }
}

fn describe(root: &Path, changed: &BTreeSet<PathBuf>) -> String {
    let names: Vec<String> = changed
        .iter()
        .take(3)
        .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
        .collect();
    match changed.len() {
        0 => String::new(),
        n if n <= 3 => format!(" ({} changed)", names.join(", ")),
        n => format!(" ({} and {} more changed)", names.join(", "), n - 3),
    }
}

/// True when a change at `path` can change the site: under `content/`,
/// `templates/` or `static/`, or `site.yaml`, and not an editor's or the
/// system's leftover.
pub fn is_relevant(root: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(root) else {
        return false;
    };
    let mut parts = rel.components().map(|c| c.as_os_str().to_string_lossy());
    let Some(first) = parts.next() else {
        return false;
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    // Vim checks that a folder is writable with a file named 4913.
    if is_ignored_name(&name) || name == "4913" {
        return false;
    }
    if first == crate::paths::CONFIG_FILE {
        return rel.components().count() == 1;
    }
    if ![CONTENT_DIR, TEMPLATES_DIR, STATIC_DIR].contains(&first.as_ref()) {
        return false;
    }
    // Hidden folders inside (`.git`, `.obsidian`) do not count either.
    !rel.components()
        .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
}

/// Binds the server: the given port, or the default one and the next free ones.
fn bind(opts: &ServeOptions) -> Result<(TcpListener, u16), Error> {
    let try_bind = |port: u16| TcpListener::bind((opts.bind.as_str(), port));
    match opts.port {
        Some(port) => {
            let listener = try_bind(port)
                .map_err(|e| Error::Usage(format!("cannot listen on {}:{port}: {e}", opts.bind)))?;
            // Port 0 asks the system for a free port: name the one it gave.
            let bound = listener.local_addr().map(|a| a.port()).unwrap_or(port);
            Ok((listener, bound))
        }
        None => {
            for port in DEFAULT_PORT..DEFAULT_PORT + 50 {
                if let Ok(l) = try_bind(port) {
                    if port != DEFAULT_PORT {
                        crate::terminal::note(&format!(
                            "port {DEFAULT_PORT} is in use; using {port} instead\n"
                        ));
                    }
                    return Ok((l, port));
                }
            }
            Err(Error::Usage(format!(
                "no free port from {DEFAULT_PORT} to {}; pass --port",
                DEFAULT_PORT + 49
            )))
        }
    }
}

/// Serves the site until the process is stopped. `ready` is called with the
/// address once the server listens.
pub fn serve(opts: &ServeOptions, ready: impl FnOnce(&str)) -> Result<(), Error> {
    let root = opts
        .root
        .canonicalize()
        .map_err(|e| Error::io(&opts.root, e))?;
    // A wrong root is refused at once rather than served empty.
    crate::site::check_site_root(&root)?;
    if opts.bind == "0.0.0.0" || opts.bind == "::" || opts.bind == "[::]" {
        crate::terminal::note(&format!(
            "warning: listening on {} makes the preview reachable from other machines\n",
            opts.bind
        ));
    }
    let (listener, port) = bind(opts)?;
    let hosts = host::Hosts::new(&opts.bind, port, &opts.allowed_hosts)?;
    let mut limits = http::Limits::new(fds::connection_cap(fds::raise_open_files_limit()));
    if let Some(timeout) = opts.idle_timeout {
        limits.idle_timeout = timeout;
        limits.head_timeout = timeout;
    }
    let host = match opts.bind.as_str() {
        "0.0.0.0" | "::" | "[::]" => "127.0.0.1".to_string(),
        h if h.contains(':') => format!("[{h}]"),
        h => h.to_string(),
    };
    let address = format!("http://{host}:{port}");
    let load = LoadOptions {
        base_url: Some(address.clone()),
        drafts: opts.drafts,
    };
    let site = Arc::new(LiveSite::new(&root, load));
    crate::terminal::write_stderr(if site.lock_status().ok {
        "built the site\n"
    } else {
        "the first build failed; fix the errors and save\n"
    })?;

    let (tx, rx) = channel();
    let mut watcher: Box<dyn Watcher + Send> = if opts.poll {
        let config = notify::Config::default().with_poll_interval(Duration::from_millis(500));
        Box::new(notify::PollWatcher::new(tx, config).map_err(watch_error)?)
    } else {
        Box::new(notify::recommended_watcher(tx).map_err(watch_error)?)
    };
    watcher
        .watch(&root, notify::RecursiveMode::NonRecursive)
        .map_err(watch_error)?;
    for dir in [CONTENT_DIR, TEMPLATES_DIR, STATIC_DIR] {
        let path = root.join(dir);
        if path.is_dir() {
            watcher
                .watch(&path, notify::RecursiveMode::Recursive)
                .map_err(watch_error)?;
        }
    }

    let watched_site = Arc::clone(&site);
    let watch_root = root.clone();
    std::thread::spawn(move || {
        let mut watcher = watcher;
        let mut changed = BTreeSet::new();
        loop {
            let Ok(first) = rx.recv() else { return };
            changed.clear();
            note_changes(&mut watcher, &watch_root, first, &mut changed);
            // An edited page is served as soon as its save settles; the
            // site is checked once the burst of events is over.
            if !wait_for_quiet(&rx, SETTLE, |ev| {
                note_changes(&mut watcher, &watch_root, ev, &mut changed)
            }) {
                return;
            }
            if changed.is_empty() {
                continue;
            }
            if let Some(line) = watched_site.update_page(&changed) {
                crate::terminal::note(&format!("{line}\n"));
            }
            if !wait_for_quiet(&rx, DEBOUNCE, |ev| {
                note_changes(&mut watcher, &watch_root, ev, &mut changed)
            }) {
                return;
            }
            crate::terminal::note(&format!("{}\n", watched_site.rebuild(&changed)));
        }
    });

    ready(&address);
    // A full disk behind standard error ends the command; a closed pipe
    // does not: the preview still serves.
    crate::terminal::write_stderr(&format!(
        "serving {} at {address}/ (Ctrl-C to stop)\n",
        crate::terminal::escape(&crate::terminal::from_cwd(&root).to_string_lossy())
    ))?;
    http::run(
        listener,
        limits,
        hosts,
        Arc::new(move |method: &str, target: &str| site.respond(method, target)),
    )
}

/// Hands the events to `note` until none came for `quiet`; false when the
/// watcher is gone.
fn wait_for_quiet(
    rx: &std::sync::mpsc::Receiver<notify::Result<notify::Event>>,
    quiet: Duration,
    mut note: impl FnMut(notify::Result<notify::Event>),
) -> bool {
    loop {
        match rx.recv_timeout(quiet) {
            Ok(ev) => note(ev),
            Err(RecvTimeoutError::Timeout) => return true,
            Err(RecvTimeoutError::Disconnected) => return false,
        }
    }
}

/// Adds the source files that `event` changed to `changed`, and watches a
/// source folder created while serving.
fn note_changes(
    watcher: &mut Box<dyn Watcher + Send>,
    root: &Path,
    event: notify::Result<notify::Event>,
    changed: &mut BTreeSet<PathBuf>,
) {
    // Reading files (ours included) raises access events; only changes count.
    let Ok(event) = event else { return };
    if !is_change(&event.kind) {
        return;
    }
    for path in event.paths {
        if path.parent() == Some(root) && path.is_dir() {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if name.is_some_and(|n| [CONTENT_DIR, TEMPLATES_DIR, STATIC_DIR].contains(&n.as_str()))
            {
                let _ = watcher.watch(&path, notify::RecursiveMode::Recursive);
            }
        }
        if is_relevant(root, &path) {
            changed.insert(path);
        }
    }
}

/// True for events that change a file or folder: not reads, not metadata.
fn is_change(kind: &notify::EventKind) -> bool {
    use notify::event::ModifyKind;
    use notify::EventKind;
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) | EventKind::Any | EventKind::Other => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(_) => false,
    }
}

fn watch_error(e: notify::Error) -> Error {
    Error::Usage(format!("cannot watch the site for changes: {e}"))
}

/// Opens `url` in the system's browser, if there is one.
pub fn open_browser(url: &str) {
    let candidates: &[(&str, &[&str])] = if cfg!(target_os = "macos") {
        &[("open", &[])]
    } else if cfg!(windows) {
        &[("cmd", &["/C", "start", ""])]
    } else {
        &[("xdg-open", &[])]
    };
    for (cmd, args) in candidates {
        let mut command = std::process::Command::new(cmd);
        command
            .args(*args)
            .arg(url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        fds::restore_for_child(&mut command);
        if command.spawn().is_ok() {
            return;
        }
    }
    crate::terminal::note(&format!("could not open a browser; visit {url}\n"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_keys_never_leave_the_site() {
        assert_eq!(request_key("/").as_deref(), Some(""));
        assert_eq!(request_key("/a/b/").as_deref(), Some("a/b/"));
        assert_eq!(request_key("/a%20b").as_deref(), Some("a b"));
        for bad in [
            "/../etc/passwd",
            "/a/../../x",
            "/%2e%2e/x",
            "/%2E%2E%2Fx",
            "/a/%2e%2e%2f%2e%2e%2fx",
            "/a\\..\\x",
            "/a%5c..%5cx",
            "/a%00b",
            "//etc/passwd",
            "/%2fetc/passwd",
            "/%zz",
            "relative",
        ] {
            assert_eq!(request_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn relevant_paths() {
        let root = Path::new("/site");
        assert!(is_relevant(root, Path::new("/site/content/errors/a.md")));
        assert!(is_relevant(root, Path::new("/site/site.yaml")));
        assert!(is_relevant(root, Path::new("/site/static/x.css")));
        assert!(!is_relevant(root, Path::new("/site/public/index.html")));
        assert!(!is_relevant(root, Path::new("/site/target/debug/x")));
        assert!(!is_relevant(root, Path::new("/site/content/.a.md.swp")));
        assert!(!is_relevant(root, Path::new("/site/content/a.md~")));
        assert!(!is_relevant(root, Path::new("/site/content/4913")));
        assert!(!is_relevant(
            root,
            Path::new("/site/content/a.md___jb_tmp___")
        ));
        assert!(!is_relevant(root, Path::new("/site/content/.#a.md")));
        assert!(!is_relevant(root, Path::new("/site/content/.git/x")));
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("a/index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("x.woff2"), "font/woff2");
        assert_eq!(content_type("sitemap.xml"), "application/xml");
        assert_eq!(
            content_type("reference/errors/a.md"),
            "text/markdown; charset=utf-8"
        );
        assert_eq!(content_type("llms.txt"), "text/plain; charset=utf-8");
        assert_eq!(content_type("index.json"), "application/json");
    }

    #[test]
    fn live_script_goes_in_the_head() {
        let out = String::from_utf8(with_live_script(
            b"<html><head><title>x</title></head><body></body></html>",
        ))
        .unwrap();
        assert!(out.contains("<script src=\"/__errdocs/live.js\" defer></script></head>"));
    }
}
