//! `errdocs serve` on a fixture site: pages, reloads, errors, and a server
//! that serves nothing outside the site. Every wait is bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use crate::common::*;

/// A running `errdocs serve`, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
    log: Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(root: &Path, extra: &[&str]) -> Server {
    start_with(root, extra, |_| {})
}

/// Starts `errdocs serve` after `setup` has adjusted its command.
fn start_with(root: &Path, extra: &[&str], setup: impl FnOnce(&mut Command)) -> Server {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_errdocs"));
    command
        .args([
            "serve",
            "-r",
            root.to_str().unwrap(),
            "--port",
            &port.to_string(),
        ])
        .args(extra)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    setup(&mut command);
    let mut child = command.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let server = Server {
        child,
        port,
        log: rx,
    };
    wait_for_line(&server, "serving ");
    server
}

fn wait_for_line(server: &Server, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(line) = server.log.recv_timeout(Duration::from_millis(200)) {
            if line.contains(needle) {
                return line;
            }
        }
    }
    panic!("no `{needle}` from the server in time");
}

/// A response: status, headers (lower-cased names) and body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One raw HTTP/1.1 request, so paths go out exactly as written.
fn request(port: u16, method: &str, path: &str) -> Reply {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(40)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

fn get(port: u16, path: &str) -> Reply {
    request(port, "GET", path)
}

/// The build status, waiting (bounded by the server) for one newer than `seen`.
fn poll(port: u16, seen: Option<u64>) -> serde_json::Value {
    let path = match seen {
        Some(v) => format!("/__errdocs/poll?v={v}"),
        None => "/__errdocs/poll".to_string(),
    };
    serde_json::from_slice(&get(port, &path).body).unwrap()
}

/// Polls from build `seen` on until `done` holds of the status (an editor
/// may save in several steps), for at most 30 s; the last status.
fn poll_until(
    port: u16,
    seen: u64,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut status = poll(port, Some(seen));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(&status) && Instant::now() < deadline {
        status = poll(port, status["version"].as_u64());
    }
    status
}

fn version(port: u16) -> u64 {
    poll(port, None)["version"].as_u64().unwrap()
}

fn title(port: u16, path: &str) -> String {
    let doc = scraper::Html::parse_document(&get(port, path).text());
    text_of(&doc, "h1")
}

#[test]
fn serves_pages_with_types_and_the_live_client() {
    let site = fixture("basic");
    let s = start(site.path(), &[]);
    let page = get(s.port, "/reference/errors/key_missing/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let doc = scraper::Html::parse_document(&page.text());
    assert_eq!(text_of(&doc, "h1"), "Key missing");
    assert_eq!(select(&doc, "script[src='/__errdocs/live.js']").len(), 1);
    // Served at the root, whatever base_url's path is.
    let css = select(&doc, "link[rel='stylesheet']")[0]
        .value()
        .attr("href")
        .unwrap()
        .to_string();
    assert!(css.starts_with("/assets/"), "{css}");
    for (path, ty) in [
        (css.as_str(), "text/css; charset=utf-8"),
        ("/reference/errors/index.json", "application/json"),
        ("/sitemap.xml", "application/xml"),
        ("/favicon.svg", "image/svg+xml"),
        (
            "/__errdocs/live.js",
            "application/javascript; charset=utf-8",
        ),
    ] {
        let r = get(s.port, path);
        assert_eq!(
            (r.status, r.header("content-type")),
            (200, Some(ty)),
            "{path}"
        );
    }
    let head = request(s.port, "HEAD", "/reference/errors/key_missing/");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "HEAD has no body");
    assert_eq!(
        head.header("content-type"),
        Some("text/html; charset=utf-8")
    );
}

#[test]
fn directories_redirect_and_missing_paths_get_the_404_page() {
    let site = fixture("basic");
    let s = start(site.path(), &[]);
    let r = get(s.port, "/reference/errors/key_missing");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("/reference/errors/key_missing/"));
    let r = get(s.port, "/reference/errors/no_such_code/");
    assert_eq!(r.status, 404);
    let doc = scraper::Html::parse_document(&r.text());
    assert_eq!(text_of(&doc, "h1"), "Page not found");
}

#[test]
fn nothing_outside_the_site_is_served() {
    let site = fixture("basic");
    write(site.path(), "secret.txt", "TOP SECRET");
    let s = start(site.path(), &[]);
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/reference/..%2f..%2fsecret.txt",
        "/reference/%2e%2e/%2e%2e/secret.txt",
        "/..\\secret.txt",
        "/%5c..%5csecret.txt",
        "/index.html%00.txt",
        "//etc/passwd",
        "/site.yaml",
        "/content/errors/auth/key_missing.md",
        "/secret.txt",
    ] {
        let r = get(s.port, path);
        assert!(r.status == 400 || r.status == 404, "{path}: {}", r.status);
        assert!(!r.text().contains("TOP SECRET"), "{path}");
        assert!(!r.text().contains("base_url"), "{path}");
    }
}

#[cfg(unix)]
#[test]
fn a_link_out_of_the_site_is_an_error_and_never_served() {
    let site = fixture("basic");
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "token.txt", "sk_live_never_served_77");
    let s = start(site.path(), &[]);
    let v0 = version(s.port);
    std::fs::create_dir_all(site.path().join("static")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("token.txt"),
        site.path().join("static/leak.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), site.path().join("static/keys")).unwrap();
    let status = poll_until(s.port, v0, |st| st["ok"] == false);
    let files: Vec<_> = status["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["file"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(files, ["static/keys", "static/leak.txt"]);
    for path in ["/leak.txt", "/keys/token.txt"] {
        let r = get(s.port, path);
        assert_eq!(r.status, 404, "{path}");
        assert!(!r.text().contains("sk_live_never_served_77"), "{path}");
    }
    let overlay = get(s.port, "/reference/errors/key_missing/").text();
    assert!(!overlay.contains("sk_live_never_served_77"));
}

#[test]
fn edits_rebuild_and_fire_the_reload_event() {
    let site = fixture("basic");
    let s = start(site.path(), &[]);
    let path = site.path().join("content/errors/auth/key_missing.md");
    let original = std::fs::read_to_string(&path).unwrap();

    // A plain write.
    let v0 = version(s.port);
    std::fs::write(
        &path,
        original.replace("title: Key missing", "title: Key absent"),
    )
    .unwrap();
    let status = poll(s.port, Some(v0));
    assert!(status["version"].as_u64().unwrap() > v0);
    assert_eq!(status["ok"], true);
    wait_for_line(&s, "rebuilt");
    assert_eq!(
        title(s.port, "/reference/errors/key_missing/"),
        "Key absent"
    );

    // An atomic save: a temp file renamed over the original.
    let v1 = version(s.port);
    let tmp = site.path().join("content/errors/auth/.key_missing.md.tmp");
    std::fs::write(
        &tmp,
        original.replace("title: Key missing", "title: Key renamed"),
    )
    .unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    let status = poll(s.port, Some(v1));
    assert!(status["version"].as_u64().unwrap() > v1);
    wait_for_line(&s, "rebuilt");
    assert_eq!(
        title(s.port, "/reference/errors/key_missing/"),
        "Key renamed"
    );
}

#[test]
fn a_broken_file_keeps_the_last_good_site_and_shows_the_error() {
    let site = fixture("basic");
    let s = start(site.path(), &[]);
    let path = site.path().join("content/errors/auth/key_missing.md");
    let original = std::fs::read_to_string(&path).unwrap();
    let v0 = version(s.port);
    std::fs::write(&path, original.replace("status: 401", "status: \"401\"")).unwrap();
    // Wait for the failing build.
    let status = poll_until(s.port, v0, |st| st["ok"] == false);
    assert_eq!(status["ok"], false);
    let errors = status["errors"].as_array().unwrap();
    assert_eq!(errors[0]["file"], "content/errors/auth/key_missing.md");
    assert_eq!(errors[0]["line"], 4);
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("expected an integer"));
    // The old page is still served.
    assert_eq!(
        title(s.port, "/reference/errors/key_missing/"),
        "Key missing"
    );

    // Fixing it clears the error.
    let v1 = status["version"].as_u64().unwrap();
    std::fs::write(&path, &original).unwrap();
    let status = poll_until(s.port, v1, |st| st["ok"] == true);
    assert_eq!(status["ok"], true);
    assert!(status["errors"].as_array().unwrap().is_empty());
}

#[test]
fn a_broken_template_shows_its_file_line_and_column() {
    let site = fixture("basic");
    let s = start(site.path(), &[]);
    let v0 = version(s.port);
    write(
        site.path(),
        "templates/error.html",
        "{% extends \"base.html\" %}\n{% block main %}\n<p>{{ error.code }} {{ error.nope.x }}</p>\n{% endblock main %}\n",
    );
    let status = poll_until(s.port, v0, |st| st["ok"] == false);
    assert_eq!(status["ok"], false);
    let errors = status["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["file"], "templates/error.html");
    assert_eq!(errors[0]["line"], 3);
    // The unknown field, `nope`, starts at the 30th character of the line.
    assert_eq!(errors[0]["column"], 30);
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("`nope` is not defined"));
    // The last good site is still served.
    assert_eq!(
        title(s.port, "/reference/errors/key_missing/"),
        "Key missing"
    );
}

#[test]
fn a_deleted_page_gives_404() {
    let site = fixture("basic");
    let s = start(site.path(), &[]);
    assert_eq!(get(s.port, "/reference/errors/escape_me/").status, 200);
    let v0 = version(s.port);
    std::fs::remove_file(site.path().join("content/errors/auth/escape_me.md")).unwrap();
    poll(s.port, Some(v0));
    wait_for_line(&s, "rebuilt");
    assert_eq!(get(s.port, "/reference/errors/escape_me/").status, 404);
}

#[test]
fn a_css_change_swaps_the_stylesheet_only() {
    let site = fixture("basic");
    let s = start(site.path(), &[]);
    let v0 = version(s.port);
    write(
        site.path(),
        "static/errdocs.css",
        "body { color: rebeccapurple; }\n",
    );
    let status = poll_until(s.port, v0, |st| {
        st["css"]
            .as_str()
            .is_some_and(|c| get(s.port, c).text().contains("rebeccapurple"))
    });
    assert_eq!(status["ok"], true);
    let css = status["css"].as_str().unwrap();
    assert!(get(s.port, css).text().contains("rebeccapurple"));
}

#[test]
fn waiting_polls_never_take_every_connection() {
    let site = fixture("basic");
    let s = start(site.path(), &[]);
    let v = version(s.port);
    // Many open tabs: each holds a poll.
    let port = s.port;
    let holders: Vec<_> = (0..6)
        .map(|_| std::thread::spawn(move || poll(port, Some(v))))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // A page still loads at once, and extra polls are answered at once.
    let start = Instant::now();
    assert_eq!(get(s.port, "/").status, 200);
    let extra = poll(s.port, Some(v));
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(extra["held"], false);
    // A rebuild releases the waiting polls.
    let key = site.path().join("content/errors/auth/key_missing.md");
    let text = std::fs::read_to_string(&key).unwrap();
    std::fs::write(&key, text.replace("Key missing", "Key gone")).unwrap();
    let answered_at_once = holders
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|st| st["held"] == false)
        .count();
    assert_eq!(
        answered_at_once, 3,
        "three polls wait, the others come back later"
    );
}

#[test]
fn an_explicit_busy_port_is_an_error() {
    let site = fixture("basic");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let o = errdocs(&[
        "serve",
        "-r",
        site.path().to_str().unwrap(),
        "--port",
        &port.to_string(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_default_port_moves_when_busy() {
    let site = fixture("basic");
    // Hold the default port (if another program already does, so much the better).
    let _held = TcpListener::bind(("127.0.0.1", errdocs::serve::DEFAULT_PORT));
    let mut child = Command::new(env!("CARGO_BIN_EXE_errdocs"))
        .args(["serve", "-r", site.path().to_str().unwrap()])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline && !seen.contains("serving ") {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        seen.push_str(&line);
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.contains("port 1111 is in use; using"), "{seen}");
    assert!(!seen.contains("127.0.0.1:1111/"), "{seen}");
}

/// Load options as `serve` gives them.
fn preview_load() -> errdocs::LoadOptions {
    errdocs::LoadOptions {
        base_url: Some("http://127.0.0.1:9999".into()),
        drafts: false,
    }
}

/// Builds the site at `root` into memory with `caches`.
fn build_in_memory(
    root: &Path,
    caches: &errdocs::site::Caches,
) -> Result<errdocs::output::MemoryFiles, errdocs::Error> {
    let memory = errdocs::output::MemoryOutput::new();
    errdocs::site::build_into(root, &preview_load(), caches, || Ok(Some(&memory)))?;
    Ok(memory.into_files())
}

#[test]
fn a_cached_rebuild_equals_a_clean_build() {
    use errdocs::site::Caches;
    use std::collections::BTreeMap;

    let site = fixture("basic");
    let root = site.path();
    let run = |caches: &Caches| {
        build_in_memory(root, caches)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k, v.to_vec()))
            .collect::<BTreeMap<_, _>>()
    };
    let caches = Caches::in_memory();
    let first = run(&caches);
    assert_eq!(first, run(&Caches::default()));
    let bodies = caches.bodies.as_ref().unwrap();
    let pages = bodies.len();
    let rendered = caches.pages.as_ref().unwrap().len();
    assert!(rendered > pages, "pages are cached too");
    // Edit one page's body and another's front matter, add a page.
    let key = root.join("content/errors/auth/key_missing.md");
    let text = std::fs::read_to_string(&key).unwrap();
    std::fs::write(
        &key,
        text.replace("The request had no key.", "The request had no key at all."),
    )
    .unwrap();
    let card = root.join("content/errors/billing/card_declined.md");
    let text = std::fs::read_to_string(&card).unwrap();
    std::fs::write(&card, text.replace("status: 402", "status: 409")).unwrap();
    write(root, "content/errors/billing/new_one.md", "---\ncode: new_one\ntitle: New\nstatus: 400\ncategory: Billing\nsummary: s\n---\n\nSee [key](../auth/key_missing.md).\n");
    let cached = run(&caches);
    let clean = run(&Caches::default());
    assert_eq!(
        cached.keys().collect::<Vec<_>>(),
        clean.keys().collect::<Vec<_>>()
    );
    for (k, v) in &clean {
        assert!(
            cached[k] == *v,
            "{k} differs between the cached and the clean build"
        );
    }
    assert_ne!(cached, first);
    assert_eq!(
        bodies.len(),
        pages + 1,
        "the cache holds this build's bodies only"
    );
    assert_eq!(
        caches.pages.as_ref().unwrap().len(),
        rendered + 1,
        "and this build's pages only"
    );
}

#[test]
fn a_rebuild_keeping_unchanged_pages_equals_a_clean_build() {
    use errdocs::output::{MemoryFiles, MemoryOutput};
    use errdocs::site::{build_into, Caches};
    use std::sync::Arc;

    let site = fixture("basic");
    let root = site.path();
    let load = preview_load();
    let caches = Caches::in_memory();
    // As `serve` does: each build may keep the last good build's files.
    let rebuild = |previous: Arc<MemoryFiles>| {
        let memory = MemoryOutput::updating(previous);
        let report = build_into(root, &load, &caches, || Ok(Some(&memory))).unwrap();
        caches.stored.as_ref().unwrap().finish_in_memory(true);
        (report.reused_pages, Arc::new(memory.into_files()))
    };
    let clean = || build_in_memory(root, &Caches::default()).unwrap();
    let (reused, first) = rebuild(Arc::default());
    assert_eq!(reused, 0);
    let (reused, second) = rebuild(Arc::clone(&first));
    assert_eq!(reused, 3);
    assert_eq!(*second, *first);
    // One page's body, another's title (shown on a third), a new page.
    let key = root.join("content/errors/auth/key_missing.md");
    let text = std::fs::read_to_string(&key).unwrap();
    std::fs::write(&key, text.replace("Do not retry.", "Never retry.")).unwrap();
    let card = root.join("content/errors/billing/card_declined.md");
    let text = std::fs::read_to_string(&card).unwrap();
    std::fs::write(
        &card,
        text.replace("title: Card declined", "title: Card refused"),
    )
    .unwrap();
    write(
        root,
        "content/errors/billing/new_one.md",
        "---\ncode: new_one\ntitle: New\nstatus: 400\ncategory: Billing\nsummary: s\n---\n\nSee [key](../auth/key_missing.md#quick-fix).\n",
    );
    let (_, third) = rebuild(Arc::clone(&second));
    let expected = clean();
    let mut keys: Vec<_> = third.keys().collect();
    keys.sort();
    let mut want: Vec<_> = expected.keys().collect();
    want.sort();
    assert_eq!(keys, want);
    for (k, v) in &expected {
        assert!(third[k] == *v, "{k} differs from a clean build");
    }
}

#[test]
fn a_page_rendered_alone_equals_a_clean_build_and_only_when_nothing_else_changes() {
    use errdocs::site::Caches;

    let site = fixture("basic");
    let root = site.path();
    let caches = Caches::in_memory();
    let built = |caches: &Caches| build_in_memory(root, caches);
    built(&caches).unwrap();
    let last = || {
        caches
            .built
            .as_ref()
            .unwrap()
            .lock()
            .unwrap()
            .clone()
            .expect("a successful build leaves its site")
    };
    let key = root.join("content/errors/auth/key_missing.md");
    let original = std::fs::read_to_string(&key).unwrap();
    let render = |text: &str| {
        std::fs::write(&key, text).unwrap();
        last().render_error_file(&key, &caches.highlight)
    };

    // A body edit, with a new code block: the page, its Markdown version
    // and its aliases' redirects, as a clean build makes them.
    let edited = original.replace(
        "Do not retry.",
        "Never retry.\n\n```python\nprint(\"new\")\n```",
    );
    let files = render(&edited).expect("a body edit is rendered alone");
    let clean = built(&Caches::default()).unwrap();
    let mut paths: Vec<&str> = files.keys().map(String::as_str).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "reference/errors/key_missing.md",
            "reference/errors/key_missing/index.html",
            "reference/errors/no_key/index.html",
            "reference/errors/old_missing/index.html",
        ]
    );
    for (path, bytes) in &files {
        assert!(clean[path] == *bytes, "{path} differs from a clean build");
    }
    let html = String::from_utf8_lossy(&files["reference/errors/key_missing/index.html"]);
    assert!(html.contains("Never retry."));

    // What other pages show of the code, its draft state, a file that does
    // not load, a body with errors: the whole site must be built again.
    for (what, text) in [
        (
            "title",
            original.replace("title: Key missing", "title: Key absent"),
        ),
        ("summary", original.replace("No key was sent.", "No key.")),
        (
            "related",
            original.replace("related: [card_declined]", "related: []"),
        ),
        ("aliases", original.replace(", old_missing]", "]")),
        (
            "code",
            original.replace("code: key_missing", "code: key_gone"),
        ),
        ("draft", original.replace("since:", "draft: true\nsince:")),
        (
            "status type",
            original.replace("status: 401", "status: \"401\""),
        ),
        ("bad example", original.replace("{ \"error\"", "{ error")),
    ] {
        assert!(render(&text).is_none(), "{what}: rendered alone");
    }
    // Not a code page of the build.
    assert!(last()
        .render_error_file(&root.join("content/guides/retries.md"), &caches.highlight)
        .is_none());

    // A failed build leaves nothing to render alone with.
    std::fs::write(&key, original.replace("status: 401", "status: \"401\"")).unwrap();
    assert!(built(&caches).is_err());
    assert!(caches.built.as_ref().unwrap().lock().unwrap().is_none());
}

#[test]
fn a_saved_page_is_served_before_the_site_is_checked_and_reloads_once() {
    let site = fixture("basic");
    let s = start(site.path(), &[]);
    let path = site.path().join("content/errors/auth/key_missing.md");
    let original = std::fs::read_to_string(&path).unwrap();

    // Saved as editors do, in one step: a file written in two could be
    // seen half-written, which would rightly take the slow path.
    let save = |path: &Path, text: &str| {
        let tmp = path.with_file_name(".key_missing.md.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    };
    let v0 = version(s.port);
    save(&path, &original.replace("Do not retry.", "Never retry."));
    let updated = wait_for_line(&s, "updated");
    assert!(
        updated.contains("content/errors/auth/key_missing.md"),
        "{updated}"
    );
    let page = get(s.port, "/reference/errors/key_missing/").text();
    assert!(page.contains("Never retry."));
    let checked = wait_for_line(&s, "checked the site");
    assert!(checked.contains("nothing else changed"), "{checked}");
    // One reload for the edit: the check found nothing more.
    assert_eq!(version(s.port), v0 + 1);
    assert!(get(s.port, "/reference/errors/key_missing/")
        .text()
        .contains("Never retry."));

    // A link to a heading the site lacks: the page is shown at once, then
    // the check reports the broken anchor.
    let v1 = version(s.port);
    save(
        &path,
        &original.replace("Do not retry.", "See [below](#no-such-heading)."),
    );
    wait_for_line(&s, "updated");
    wait_for_line(&s, "build failed");
    let status = poll(s.port, Some(v1 + 1));
    assert_eq!(status["ok"], false);
    assert_eq!(status["version"], v1 + 2);
    let errors = status["errors"].as_array().unwrap();
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("no-such-heading"),
        "{errors:?}"
    );

    // A title change shows on other pages: only a full rebuild serves it.
    save(
        &path,
        &original.replace("title: Key missing", "title: Key absent"),
    );
    let line = wait_for_line(&s, "rebuilt");
    assert!(line.contains("key_missing.md"), "{line}");
    let catalog = get(s.port, "/reference/errors/").text();
    assert!(catalog.contains("Key absent"));
}

#[test]
fn port_zero_serves_on_the_port_the_system_gave() {
    let site = fixture("basic");
    let mut child = Command::new(env!("CARGO_BIN_EXE_errdocs"))
        .args(["serve", "-r", site.path().to_str().unwrap(), "--port", "0"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut server = Server {
        child,
        port: 0,
        log: rx,
    };
    let line = wait_for_line(&server, "serving ");
    let port: u16 = line
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert_ne!(port, 0, "{line}");
    server.port = port;
    let page = get(server.port, "/reference/errors/key_missing/");
    assert_eq!(page.status, 200);
    let doc = scraper::Html::parse_document(&page.text());
    let canonical = select(&doc, "link[rel=canonical]");
    assert_eq!(canonical.len(), 1);
    assert_eq!(
        canonical[0].value().attr("href"),
        Some(format!("http://127.0.0.1:{port}/reference/errors/key_missing/").as_str())
    );
}

/// A connection to the server that gives up reading after 10 s.
fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Reads one response from a connection that may stay open: the head,
/// then as many body bytes as Content-Length says (none for HEAD).
fn read_reply(reader: &mut BufReader<TcpStream>, head_only: bool) -> Reply {
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("status line {status_line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (n, v) = line.split_once(':').unwrap();
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let mut reply = Reply {
        status,
        headers,
        body: Vec::new(),
    };
    if !head_only {
        let length: usize = reply.header("content-length").unwrap().parse().unwrap();
        reply.body = vec![0; length];
        reader.read_exact(&mut reply.body).unwrap();
    }
    reply
}

/// Sends a raw request head (or anything else) and reads what comes back
/// until the server closes the connection.
fn raw(port: u16, bytes: &[u8]) -> String {
    let mut stream = connect(port);
    stream.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Open descriptors and threads of a process.
#[cfg(target_os = "linux")]
fn usage(pid: u32) -> (usize, usize) {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let threads = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    (fds, threads)
}

/// Waits up to 10 s for the process's descriptors and threads to come
/// back to `before`; what they are then.
#[cfg(target_os = "linux")]
fn settled(pid: u32, before: (usize, usize)) -> (usize, usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = usage(pid);
        if (now.0 <= before.0 && now.1 <= before.1) || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_reused_connection_answers_as_fast_as_a_new_one() {
    let site = fixture("basic");
    let s = start(site.path(), &[]);
    let stream = connect(s.port);
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let ask = format!(
        "GET /reference/errors/key_missing/ HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
        s.port
    );
    let mut times = Vec::new();
    for _ in 0..5 {
        let at = Instant::now();
        writer.write_all(ask.as_bytes()).unwrap();
        let reply = read_reply(&mut reader, false);
        times.push(at.elapsed());
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("connection"), None);
    }
    // Delayed acknowledgements held each answer after the first ~40 ms.
    let first = times[0];
    for later in &times[1..] {
        assert!(
            *later < Duration::from_millis(20) || *later < first * 10 + Duration::from_millis(5),
            "{times:?}"
        );
    }
}

#[test]
fn only_the_servers_own_names_are_answered() {
    let site = fixture("basic");
    let s = start(site.path(), &["--allowed-host", "docs.tunnel.example"]);
    let port = s.port;
    let with_host = |host: &str| {
        let text = raw(
            port,
            format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        let status: u16 = text.split(' ').nth(1).unwrap().parse().unwrap();
        (status, text)
    };
    for own in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        "docs.tunnel.example".to_string(),
        "docs.tunnel.example:443".to_string(),
    ] {
        assert_eq!(with_host(&own).0, 200, "{own}");
    }
    for foreign in [
        format!("evil.example:{port}"),
        "evil.example".to_string(),
        format!("localhost:{}", port.wrapping_add(1)),
        format!("127.0.0.1.evil.example:{port}"),
    ] {
        let (status, text) = with_host(&foreign);
        assert_eq!(status, 403, "{foreign}");
        let body = text.split("\r\n\r\n").nth(1).unwrap();
        assert_eq!(body.lines().count(), 1, "{body}");
        assert!(body.contains("--allowed-host"), "{body}");
        assert!(
            !text.to_ascii_lowercase().contains("access-control"),
            "{text}"
        );
    }
    // HTTP/1.1 requires Host; a script's HTTP/1.0 request may lack it.
    assert!(raw(port, b"GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 400 "));
    let old = raw(port, b"GET / HTTP/1.0\r\n\r\n");
    assert!(old.starts_with("HTTP/1.1 200 "), "{old}");
    // A target in absolute form names its host itself.
    let absolute = raw(
        port,
        format!("GET http://evil.example:{port}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n")
            .as_bytes(),
    );
    assert!(absolute.starts_with("HTTP/1.1 403 "), "{absolute}");
}

#[test]
fn a_bad_allowed_host_is_a_usage_error() {
    let site = fixture("basic");
    let o = errdocs(&[
        "serve",
        "-r",
        site.path().to_str().unwrap(),
        "--port",
        "0",
        "--allowed-host",
        "http://x/",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--allowed-host"), "{}", stderr(&o));
}

#[test]
fn an_oversized_head_gets_431_and_the_server_goes_on() {
    let site = fixture("basic");
    let s = start(site.path(), &[]);
    let big = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nX-Big: {}\r\n\r\n",
        s.port,
        "a".repeat(100 * 1024)
    );
    let text = raw(s.port, big.as_bytes());
    assert!(
        text.starts_with("HTTP/1.1 431 "),
        "{}",
        &text[..text.len().min(200)]
    );
    // A request line of a megabyte that never ends.
    let mut stream = connect(s.port);
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        std::thread::spawn(move || {
            let _ = stream.write_all(b"GET /");
            let _ = stream.write_all(&vec![b'a'; 1 << 20]);
        })
    };
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    writer.join().unwrap();
    assert!(
        out.starts_with(b"HTTP/1.1 431 "),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(get(s.port, "/").status, 200);
}

#[test]
fn idle_and_slow_connections_are_closed() {
    let site = fixture("basic");
    let s = start(site.path(), &["--idle-timeout", "0.5"]);
    // Nothing sent at all.
    let at = Instant::now();
    let mut idle = connect(s.port);
    let mut out = Vec::new();
    assert_eq!(idle.read_to_end(&mut out).unwrap(), 0);
    assert!(at.elapsed() < Duration::from_secs(5), "{:?}", at.elapsed());
    // Kept alive after a request, then idle.
    let stream = connect(s.port);
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    write!(
        writer,
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
        s.port
    )
    .unwrap();
    assert_eq!(read_reply(&mut reader, false).status, 200);
    let at = Instant::now();
    let mut rest = Vec::new();
    assert_eq!(reader.read_to_end(&mut rest).unwrap(), 0);
    assert!(at.elapsed() < Duration::from_secs(5));
    // A head sent a byte at a time, too slowly: 408, then closed.
    let mut slow = connect(s.port);
    let at = Instant::now();
    for b in b"GET / HTTP/1.1\r\n" {
        if slow.write_all(&[*b]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut out = Vec::new();
    let _ = slow.read_to_end(&mut out);
    assert!(
        out.starts_with(b"HTTP/1.1 408 "),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert!(at.elapsed() < Duration::from_secs(5));
    assert_eq!(get(s.port, "/").status, 200);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let site = fixture("basic");
    let s = start(site.path(), &[]);
    let stream = connect(s.port);
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let host = format!("127.0.0.1:{}", s.port);
    write!(
        writer,
        "GET /reference/errors/key_missing/ HTTP/1.1\r\nHost: {host}\r\n\r\n\
         HEAD /reference/errors/ HTTP/1.1\r\nHost: {host}\r\n\r\n\
         GET /reference/errors/key_missing HTTP/1.1\r\nHost: {host}\r\n\r\n\
         GET /sitemap.xml HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let first = read_reply(&mut reader, false);
    assert!(first.text().contains("Key missing"));
    let head = read_reply(&mut reader, true);
    assert_eq!(head.status, 200);
    assert!(
        head.header("content-length")
            .unwrap()
            .parse::<usize>()
            .unwrap()
            > 0
    );
    assert_eq!(read_reply(&mut reader, false).status, 301);
    let last = read_reply(&mut reader, false);
    assert_eq!(
        (last.status, last.header("connection")),
        (200, Some("close"))
    );
    let mut rest = Vec::new();
    assert_eq!(reader.read_to_end(&mut rest).unwrap(), 0, "closed after");
}

#[test]
fn a_request_with_a_body_is_answered_and_its_connection_closed() {
    let site = fixture("basic");
    let s = start(site.path(), &[]);
    let host = format!("127.0.0.1:{}", s.port);
    for head in [
        format!("GET / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 99999999999\r\n\r\nxyz"),
        format!("POST / HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n"),
    ] {
        let text = raw(s.port, head.as_bytes());
        assert!(text.contains("\r\nConnection: close\r\n"), "{text}");
        assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text}");
    }
    assert_eq!(get(s.port, "/").status, 200);
}

/// The server when its descriptors run out: below its cap on
/// connections (a hard limit of 64), and when the limit is lowered under
/// it while it runs, so that accepting fails.
#[cfg(target_os = "linux")]
#[test]
fn running_out_of_descriptors_is_survived() {
    use std::os::unix::process::CommandExt;
    let site = fixture("basic");
    let mut s = start_with(site.path(), &["--idle-timeout", "30"], |c| {
        // SAFETY: only setrlimit runs between fork and exec.
        unsafe {
            c.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: 32,
                    rlim_max: 64,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    let pid = s.child.id();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>()[3..5],
        ["64", "64"],
        "the soft limit is raised to the hard one: {line}"
    );
    let before = usage(pid);
    let hold = |n: usize| -> Vec<TcpStream> {
        (0..n)
            .filter_map(|_| {
                let mut c = TcpStream::connect(("127.0.0.1", s.port)).ok()?;
                c.write_all(b"GET / HTTP/1.1\r\n").ok()?;
                Some(c)
            })
            .collect()
    };
    let held = hold(100);
    std::thread::sleep(Duration::from_millis(500));
    assert!(s.child.try_wait().unwrap().is_none(), "the server died");
    assert!(usage(pid).0 <= 64);
    drop(held);
    let at = Instant::now();
    assert_eq!(get(s.port, "/").status, 200);
    assert!(at.elapsed() < Duration::from_secs(5), "{:?}", at.elapsed());

    // Fewer descriptors than the cap on connections: accepting fails.
    let limit = libc::rlimit {
        rlim_cur: (before.0 + 3) as libc::rlim_t,
        rlim_max: 64,
    };
    // SAFETY: prlimit reads `limit` and writes nothing here.
    let set = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_NOFILE,
            &limit,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(set, 0, "{}", std::io::Error::last_os_error());
    let held = hold(40);
    wait_for_line(&s, "cannot take a connection");
    std::thread::sleep(Duration::from_millis(300));
    assert!(s.child.try_wait().unwrap().is_none(), "the server died");
    drop(held);
    let at = Instant::now();
    assert_eq!(get(s.port, "/").status, 200);
    assert!(at.elapsed() < Duration::from_secs(5), "{:?}", at.elapsed());
    let after = settled(pid, before);
    assert!(
        after.0 <= before.0 && after.1 <= before.1,
        "{before:?} {after:?}"
    );
}

/// Port scans, closes halfway through an answer, slow heads and bodies
/// leave no thread or descriptor behind.
#[cfg(target_os = "linux")]
#[test]
fn abuse_leaves_nothing_behind() {
    let site = fixture("basic");
    let mut s = start(site.path(), &["--idle-timeout", "1"]);
    let pid = s.child.id();
    assert_eq!(get(s.port, "/").status, 200);
    let before = usage(pid);
    let host = format!("127.0.0.1:{}", s.port);
    // Connect and close at once, many times.
    for _ in 0..300 {
        drop(TcpStream::connect(("127.0.0.1", s.port)).unwrap());
    }
    // Ask and leave before the answer is read.
    for _ in 0..50 {
        let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        let _ = write!(
            c,
            "GET /reference/errors/key_missing/ HTTP/1.1\r\nHost: {host}\r\n\r\n"
        );
    }
    // Half a head, a body that never comes, a chunked body cut short.
    let mut open = Vec::new();
    for head in [
        "GET / HTTP/1.1\r\nHost: x".to_string(),
        format!("GET / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 1000000\r\n\r\nab"),
        format!("POST / HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nab"),
        "\u{0}\u{1}garbage\r\n\r\n".to_string(),
    ] {
        let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        c.write_all(head.as_bytes()).unwrap();
        open.push(c);
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(get(s.port, "/").status, 200);
    drop(open);
    let after = settled(pid, before);
    assert!(
        after.0 <= before.0 && after.1 <= before.1,
        "{before:?} {after:?}"
    );
    assert!(s.child.try_wait().unwrap().is_none());
}

#[test]
fn what_is_not_http_is_refused_at_once() {
    let site = fixture("basic");
    let s = start(site.path(), &[]);
    let at = Instant::now();
    // The start of a TLS greeting: no line ends in it.
    let text = raw(s.port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");
    assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
    let text = raw(s.port, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    assert!(text.starts_with("HTTP/1.1 505 "), "{text}");
    assert!(at.elapsed() < Duration::from_secs(5));
    assert_eq!(get(s.port, "/").status, 200);
}
