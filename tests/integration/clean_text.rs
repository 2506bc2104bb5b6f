//! Hostile text on fixture sites: control characters, script URLs and
//! raw HTML that runs script, deep and large inputs. `check` reports each
//! at its place, `build` agrees, and what `build` writes stays valid.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::Value;

/// A site made of `check-base` plus `files` (path, text).
fn site(files: &[(&str, &str)]) -> tempfile::TempDir {
    let site = fixture("check-base");
    for (rel, text) in files {
        write(site.path(), rel, text);
    }
    site
}

/// One problem: file, line, column, severity, rule.
type Row = (String, u64, u64, String, String);

/// `check --format json` with `extra` arguments: exit code and problems.
fn check(root: &Path, extra: &[&str]) -> (i32, Vec<Row>) {
    // Run from the site root, so reported paths are site-relative.
    let mut args = vec!["check", "-r", ".", "--format", "json"];
    args.extend_from_slice(extra);
    let o = errdocs_in(root, &args);
    let stdout = String::from_utf8(o.stdout.clone()).unwrap();
    let problems: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout} {}", stderr(&o)));
    let rows = problems
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["file"].as_str().unwrap().to_string(),
                p["line"].as_u64().unwrap(),
                p["column"].as_u64().unwrap(),
                p["severity"].as_str().unwrap().to_string(),
                p["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (o.status.code().unwrap(), rows)
}

fn build(root: &Path) -> Output {
    errdocs(&["build", "-r", root.to_str().unwrap()])
}

fn page_text(title: &str, body: &str) -> String {
    format!("---\ncode: x\ntitle: {title}\nstatus: 400\ncategory: Auth\nsummary: S.\n---\n{body}")
}

/// Parses an output file as XML, or fails the test.
fn parse_xml(root: &Path, rel: &str) -> String {
    let text = std::fs::read_to_string(root.join("public").join(rel)).unwrap();
    if let Err(e) = roxmltree::Document::parse(&text) {
        panic!("{rel} is not well-formed XML: {e}\n{text}");
    }
    text
}

/// True for what HTML and XML forbid or the Nu checker rejects in text.
fn is_control(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || ('\u{7f}'..='\u{9f}').contains(&c)
}

fn no_controls(root: &Path) {
    for entry in walkdir::WalkDir::new(root.join("public")) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        if let Some(c) = text.chars().find(|&c| is_control(c)) {
            panic!("{} holds U+{:04X}", entry.path().display(), u32::from(c));
        }
    }
}

#[test]
fn control_characters_in_front_matter_are_errors_where_they_are_and_build_agrees() {
    // A raw vertical tab pasted into the title, an escaped one in the summary.
    let text = "---\ncode: x\ntitle: Pasted\u{b} title\nstatus: 400\ncategory: Auth\nsummary: \"S\\v.\"\n---\nBody.\n";
    let s = site(&[("content/errors/x.md", text)]);
    let (code, rows) = check(s.path(), &[]);
    assert_eq!(code, 1, "{rows:?}");
    let file = "content/errors/x.md".to_string();
    assert_eq!(
        rows,
        [(
            file.clone(),
            3,
            14,
            "error".into(),
            "control-character".into()
        )]
    );
    // The raw one fixed, the escaped one is found at its key.
    write(s.path(), "content/errors/x.md", &text.replace('\u{b}', ""));
    let (code, rows) = check(s.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        rows,
        [(file, 6, 10, "error".into(), "control-character".into())]
    );
    let o = build(s.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("control character U+000B"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn control_characters_in_bodies_are_warnings_and_every_output_is_clean() {
    let body =
        "## What this means\n\nNUL\0 and \u{1b}[31mred\u{1b}[0m.\n\n```text\nform\u{c}feed\n```\n";
    let guide = "# Guide\u{1}\n\nText\u{7}.\n";
    let s = site(&[
        ("content/errors/x.md", &page_text("X", body)),
        ("content/guides/g.md", guide),
    ]);
    let (code, rows) = check(s.path(), &[]);
    assert_eq!(code, 0, "{rows:?}");
    let at: Vec<_> = rows
        .iter()
        .filter(|r| r.4 == "control-character")
        .map(|r| (r.0.as_str(), r.1, r.2, r.3.as_str()))
        .collect();
    assert_eq!(
        at,
        [
            ("content/errors/x.md", 10, 4, "warning"),
            ("content/errors/x.md", 10, 10, "warning"),
            ("content/errors/x.md", 10, 18, "warning"),
            ("content/errors/x.md", 13, 5, "warning"),
            ("content/guides/g.md", 1, 8, "warning"),
            ("content/guides/g.md", 3, 5, "warning"),
        ]
    );
    let (code, _) = check(s.path(), &["--deny-warnings"]);
    assert_eq!(code, 1);
    let o = build(s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    no_controls(s.path());
    // NUL becomes U+FFFD, as CommonMark says; so does every other control.
    let html =
        std::fs::read_to_string(s.path().join("public/reference/errors/x/index.html")).unwrap();
    assert!(html.contains("NUL\u{FFFD} and \u{FFFD}[31mred"), "{html}");
    let md = std::fs::read_to_string(s.path().join("public/reference/errors/x.md")).unwrap();
    assert!(md.contains("NUL\u{FFFD} and"), "{md}");
    let llms = std::fs::read_to_string(s.path().join("public/llms.txt")).unwrap();
    assert!(llms.contains("[Guide\u{FFFD}]"), "{llms}");
    parse_xml(s.path(), "reference/errors/feed.xml");
    parse_xml(s.path(), "sitemap.xml");
}

#[test]
fn the_feed_stays_xml_whatever_a_template_prints() {
    // The sitemap template prints what the checks never see.
    let s = site(&[(
        "templates/sitemap.xml",
        "<?xml version=\"1.0\"?>\n<urlset>{% for url in urls %}<url><loc>{{ url }}\u{1}</loc></url>{% endfor %}</urlset>\n",
    )]);
    let o = build(s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = parse_xml(s.path(), "sitemap.xml");
    assert!(text.contains("\u{FFFD}</loc>"), "{text}");
}

#[test]
fn sitemap_urls_are_percent_encoded() {
    let s = site(&[
        ("content/with space & amp.md", "# Odd name\n\nText.\n"),
        ("content/guides/naïve 100%.md", "# Naive\n\nText.\n"),
    ]);
    let o = build(s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = parse_xml(s.path(), "sitemap.xml");
    let doc = roxmltree::Document::parse(&text).unwrap();
    let locs: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("loc"))
        .filter_map(|n| n.text())
        .collect();
    assert!(
        locs.contains(&"https://x.test/with%20space%20%26%20amp/"),
        "{locs:?}"
    );
    assert!(
        locs.contains(&"https://x.test/guides/na%C3%AFve%20100%25/"),
        "{locs:?}"
    );
    for loc in locs {
        // A URL: ASCII, with no space and no character that needs escaping.
        assert!(
            loc.bytes()
                .all(|b| b.is_ascii_graphic() && !b"<>\"{}|\\^` ".contains(&b)),
            "{loc}"
        );
    }
    let llms = std::fs::read_to_string(s.path().join("public/llms.txt")).unwrap();
    assert!(
        llms.contains("(https://x.test/with%20space%20%26%20amp/)"),
        "{llms}"
    );
}

const UNSAFE: &str = "## What this means\n\n[Click](jav&#x61;script:alert(1)) and ![i](data:text/html,x)\n\n<script>alert(1)</script>\n\n<img src=x onerror=\"alert(1)\">\n";

#[test]
fn unsafe_html_is_a_warning_by_default_and_deny_warnings_fails() {
    let s = site(&[("content/errors/x.md", &page_text("X", UNSAFE))]);
    let (code, rows) = check(s.path(), &[]);
    assert_eq!(code, 0, "{rows:?}");
    let file = "content/errors/x.md".to_string();
    let warn = |l, c| {
        (
            file.clone(),
            l,
            c,
            "warning".to_string(),
            "unsafe-html".to_string(),
        )
    };
    assert_eq!(rows, [warn(10, 1), warn(10, 39), warn(12, 1), warn(14, 12)]);
    let (code, _) = check(s.path(), &["--deny-warnings"]);
    assert_eq!(code, 1);
    // Allowed: published as written.
    let o = build(s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let html =
        std::fs::read_to_string(s.path().join("public/reference/errors/x/index.html")).unwrap();
    assert!(html.contains("<script>alert(1)</script>"));
}

#[test]
fn unsafe_html_refuse_makes_them_errors_for_check_and_build() {
    let s = site(&[
        ("content/errors/x.md", &page_text("X", UNSAFE)),
        (
            "site.yaml",
            "title: T\nbase_url: https://x.test\ncategories: [Auth]\nunsafe_html: refuse\n",
        ),
    ]);
    let (code, rows) = check(s.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(
        rows.iter().all(|r| r.3 == "error" && r.4 == "unsafe-html"),
        "{rows:?}"
    );
    let o = build(s.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!s
        .path()
        .join("public/reference/errors/x/index.html")
        .exists());
}

#[test]
fn unsafe_html_strip_keeps_it_out_of_every_page() {
    let s = site(&[("content/errors/x.md", &page_text("X", UNSAFE))]);
    // A build with the default first: switching the setting must not reuse
    // pages (or bodies) of that build.
    let o = build(s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    write(
        s.path(),
        "site.yaml",
        "title: Check fixture\nbase_url: https://x.test\ncategories: [Auth]\nunsafe_html: strip\n",
    );
    let (code, rows) = check(s.path(), &[]);
    assert_eq!((code, rows.len()), (0, 4), "{rows:?}");
    let o = build(s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let html =
        std::fs::read_to_string(s.path().join("public/reference/errors/x/index.html")).unwrap();
    let doc = scraper::Html::parse_document(&html);
    assert!(
        select(&doc, "main script, main img[onerror]").is_empty(),
        "{html}"
    );
    for a in select(&doc, "a[href], img[src]") {
        let url = a.value().attr("href").or(a.value().attr("src")).unwrap();
        assert!(
            !url.to_ascii_lowercase().starts_with("javascript:") && !url.starts_with("data:"),
            "{url}"
        );
    }
    // The link's text stays.
    assert!(html.contains("Click and "), "{html}");
}

#[test]
fn an_unknown_unsafe_html_value_is_a_settings_error() {
    let s = site(&[("site.yaml", "title: T\nunsafe_html: sanitize\n")]);
    let o = errdocs(&["check", "-r", s.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("site.yaml:2"), "{}", stderr(&o));
    assert!(stderr(&o).contains("strip"), "{}", stderr(&o));
}

#[test]
fn deep_front_matter_is_refused_quickly_at_its_place() {
    let deep = format!(
        "---\ncode: x\ntitle: T\nstatus: 400\ncategory: Auth\nsummary: S.\nextra: {}\n---\n",
        // Under the size limit, so that the depth limit answers.
        "[".repeat(60_000)
    );
    let s = site(&[("content/errors/x.md", &deep)]);
    let started = Instant::now();
    let (code, rows) = check(s.path(), &[]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(code, 1);
    assert_eq!(
        rows,
        [(
            "content/errors/x.md".into(),
            7,
            39,
            "error".into(),
            "front-matter".into()
        )]
    );
    let o = build(s.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn large_front_matter_and_files_are_refused_and_large_files_warned() {
    let big_front = format!(
        "---\ncode: x\ntitle: T\nstatus: 400\ncategory: Auth\nsummary: S.\nextra: {{ a: \"{}\" }}\n---\n",
        "a".repeat(70_000)
    );
    let warned = page_text("X", &"Some words.\n".repeat(100_000));
    let refused = page_text("Y", &"Some words.\n".repeat(800_000)).replace("code: x", "code: y");
    let s = site(&[
        ("content/errors/x.md", &warned),
        ("content/errors/y.md", &refused),
        (
            "content/errors/z.md",
            &big_front.replace("code: x", "code: z"),
        ),
    ]);
    let (code, rows) = check(s.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        rows,
        [
            (
                "content/errors/x.md".into(),
                1,
                1,
                "warning".into(),
                "file-size".into()
            ),
            (
                "content/errors/y.md".into(),
                1,
                1,
                "error".into(),
                "file-size".into()
            ),
            (
                "content/errors/z.md".into(),
                1,
                1,
                "error".into(),
                "front-matter".into()
            ),
        ]
    );
    let o = build(s.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}
