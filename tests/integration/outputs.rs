//! The outputs for machines, terminals and feeds, parsed: `index.json`
//! against its published schema, each page's Markdown, `llms.txt`, the Atom
//! feed, `export`, `explain`, lifecycle badges and edit links.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::{build, errdocs, errdocs_in, fixture, page, select, stderr, write};
use pulldown_cmark::{Event, Parser, Tag};

/// The basic fixture plus a replacement code, so every lifecycle field is used.
fn lifecycle_site() -> tempfile::TempDir {
    let site = fixture("basic");
    write(
        site.path(),
        "content/errors/billing/payment_failed.md",
        "---\ncode: payment_failed\ntitle: Payment failed\nstatus: 402\ncategory: Billing\nsummary: The payment did not go through.\nsince: \"2025-06-15\"\n---\n\n## What this means\n\nThe [old code](card_declined.md) said the same.\n\n## Example response\n\n```json\n{ \"type\": \"https://x.test/docs/reference/errors/payment_failed/\", \"status\": 402 }\n```\n",
    );
    let card = site.path().join("content/errors/billing/card_declined.md");
    let text = std::fs::read_to_string(&card).unwrap();
    std::fs::write(
        &card,
        text.replace(
            "deprecated: Use payment_failed instead.\n",
            "deprecated: Use payment_failed instead.\nreplaced_by: payment_failed\nsince: \"2023\"\n",
        ),
    )
    .unwrap();
    site
}

fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The output path of an absolute URL under the fixture's base URL.
fn output_path(out: &Path, url: &str) -> std::path::PathBuf {
    let rel = url
        .strip_prefix("https://x.test/docs/")
        .unwrap_or_else(|| panic!("{url} is not under the base URL"));
    out.join(rel)
}

fn codes(index: &serde_json::Value) -> Vec<String> {
    index["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn index_json_is_versioned_and_valid_against_its_published_schema() {
    let site = lifecycle_site();
    build(site.path());
    let out = site.path().join("public");
    let index = json(&out.join("reference/errors/index.json"));
    let schema = json(&out.join("reference/errors/index.schema.json"));
    assert_eq!(index["version"], 1);
    assert_eq!(
        index["$schema"],
        "https://x.test/docs/reference/errors/index.schema.json"
    );
    assert_eq!(schema["$id"], index["$schema"]);
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let problems: Vec<String> = validator
        .iter_errors(&index)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        codes(&index),
        [
            "card_declined",
            "escape_me",
            "key_missing",
            "payment_failed"
        ]
    );
    let card = &index["errors"][0];
    assert_eq!(card["replaced_by"], "payment_failed");
    assert_eq!(card["deprecated"], true);
    assert_eq!(card["deprecation_message"], "Use payment_failed instead.");
    assert_eq!(
        card["markdown_url"],
        "https://x.test/docs/reference/errors/card_declined.md"
    );

    // The schema is strict enough to catch a wrong document.
    for (pointer, bad) in [
        ("/version", serde_json::json!(2)),
        ("/errors/0/status", serde_json::json!("402")),
        ("/errors/0/url", serde_json::json!(7)),
        ("/errors/0/deprecated", serde_json::json!("yes")),
    ] {
        let mut wrong = index.clone();
        *wrong.pointer_mut(pointer).unwrap() = bad;
        assert!(!validator.is_valid(&wrong), "{pointer} should be refused");
    }
    let mut missing = index.clone();
    missing["errors"][0].as_object_mut().unwrap().remove("code");
    assert!(!validator.is_valid(&missing));
}

/// Front matter and body of a Markdown file.
fn split_markdown(text: &str) -> (serde_yaml::Value, &str) {
    let rest = text
        .strip_prefix("---\n")
        .expect("front matter opens the file");
    let end = rest.find("\n---\n").expect("front matter closes");
    let yaml = serde_yaml::from_str(&rest[..end + 1]).expect("front matter is YAML");
    (yaml, &rest[end + 5..])
}

fn link_destinations(body: &str) -> Vec<String> {
    Parser::new_ext(body, errdocs::markdown::options())
        .filter_map(|e| match e {
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => Some(dest_url.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn every_page_is_also_markdown_with_front_matter_and_absolute_links() {
    let site = lifecycle_site();
    build(site.path());
    let out = site.path().join("public");
    let index = json(&out.join("reference/errors/index.json"));
    for entry in index["errors"].as_array().unwrap() {
        let path = output_path(&out, entry["markdown_url"].as_str().unwrap());
        let text = std::fs::read_to_string(&path).unwrap();
        let (front, body) = split_markdown(&text);
        for key in ["code", "title", "status", "category", "summary", "url"] {
            let want = &entry[key];
            let got = serde_json::to_value(&front[key]).unwrap();
            assert_eq!(&got, want, "{key} of {}", path.display());
        }
        assert!(front.get("draft").is_none() && front.get("extra").is_none());
        for dest in link_destinations(body) {
            assert!(dest.starts_with("https://"), "{dest} in {}", path.display());
        }
    }
    let text = std::fs::read_to_string(out.join("reference/errors/key_missing.md")).unwrap();
    let (front, body) = split_markdown(&text);
    assert_eq!(
        front["aliases"],
        serde_yaml::from_str::<serde_yaml::Value>("[no_key, old_missing]").unwrap()
    );
    assert_eq!(
        link_destinations(body),
        ["https://x.test/docs/reference/errors/card_declined/#retry-later"]
    );
    assert!(body.contains("## Example response"));
    let text = std::fs::read_to_string(out.join("reference/errors/card_declined.md")).unwrap();
    let (front, _) = split_markdown(&text);
    assert_eq!(front["deprecated"], "Use payment_failed instead.");
    assert_eq!(front["replaced_by"], "payment_failed");
    // The HTML page points at its Markdown.
    let doc = page(&out, "reference/errors/key_missing/index.html");
    let alt = select(&doc, "link[rel='alternate'][type='text/markdown']");
    assert_eq!(
        alt[0].value().attr("href"),
        Some("/docs/reference/errors/key_missing.md")
    );
}

#[test]
fn llms_txt_lists_every_code_with_its_markdown() {
    let site = lifecycle_site();
    build(site.path());
    let out = site.path().join("public");
    let index = json(&out.join("reference/errors/index.json"));
    let text = std::fs::read_to_string(out.join("llms.txt")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("# Fixture API"));
    assert_eq!(lines.next(), Some(""));
    assert!(lines.next().unwrap().starts_with("> "));
    let mut sections = Vec::new();
    let mut listed = BTreeSet::new();
    for line in lines {
        if let Some(h) = line.strip_prefix("## ") {
            sections.push(h.to_string());
        } else if let Some(item) = line.strip_prefix("- [") {
            let (name, rest) = item.split_once("](").expect("a link");
            let (url, notes) = rest.split_once(')').expect("a closed link");
            if sections.last().map(String::as_str) == Some("Optional") {
                assert!(url.starts_with("https://x.test/docs/"), "{url}");
                continue;
            }
            let (code, title) = name.split_once(": ").expect("code: title");
            let entry = index["errors"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["code"] == code)
                .unwrap_or_else(|| panic!("{code} is not in index.json"));
            assert_eq!(entry["markdown_url"], url);
            assert!(output_path(&out, url).is_file(), "{url}");
            assert!(notes.starts_with(": "), "{line}");
            assert!(notes.contains(entry["summary"].as_str().unwrap()) || code == "escape_me");
            assert!(!title.is_empty());
            listed.insert(code.to_string());
        }
    }
    assert_eq!(sections, ["Billing", "Auth", "Optional"]);
    assert_eq!(listed.into_iter().collect::<Vec<_>>(), codes(&index));
    assert!(text.contains("(deprecated; use payment_failed)"));
}

#[test]
fn the_feed_is_atom_with_new_codes_newest_first_and_deprecations() {
    let site = lifecycle_site();
    build(site.path());
    let out = site.path().join("public");
    let text = std::fs::read_to_string(out.join("reference/errors/feed.xml")).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("the feed is XML");
    const ATOM: &str = "http://www.w3.org/2005/Atom";
    let feed = doc.root_element();
    assert_eq!(feed.tag_name().name(), "feed");
    assert_eq!(feed.tag_name().namespace(), Some(ATOM));
    let child_text = |n: roxmltree::Node<'_, '_>, name: &str| -> String {
        n.children()
            .find(|c| c.has_tag_name((ATOM, name)))
            .and_then(|c| c.text())
            .unwrap_or_else(|| panic!("<{name}> missing"))
            .to_string()
    };
    let rfc3339 = |s: &str| {
        s.len() == 20
            && s.as_bytes()[4] == b'-'
            && s.as_bytes()[10] == b'T'
            && s.ends_with('Z')
            && s[..4].parse::<u32>().is_ok()
    };
    assert_eq!(
        child_text(feed, "id"),
        "https://x.test/docs/reference/errors/feed.xml"
    );
    assert!(!child_text(feed, "title").is_empty());
    assert_eq!(child_text(feed, "updated"), "2025-06-15T00:00:00Z");
    assert!(feed.children().any(|c| c.has_tag_name((ATOM, "author"))));
    let self_link = feed
        .children()
        .find(|c| c.has_tag_name((ATOM, "link")) && c.attribute("rel") == Some("self"))
        .expect("a self link");
    assert_eq!(
        self_link.attribute("href"),
        Some("https://x.test/docs/reference/errors/feed.xml")
    );

    let entries: Vec<_> = feed
        .children()
        .filter(|c| c.has_tag_name((ATOM, "entry")))
        .collect();
    let mut ids = BTreeSet::new();
    let mut dates = Vec::new();
    let mut titles = Vec::new();
    for e in &entries {
        let updated = child_text(*e, "updated");
        assert!(rfc3339(&updated), "{updated}");
        assert!(ids.insert(child_text(*e, "id")), "ids are unique");
        let link = e
            .children()
            .find(|c| c.has_tag_name((ATOM, "link")))
            .expect("entry link");
        let href = link.attribute("href").unwrap();
        assert!(
            output_path(&out, href).join("index.html").is_file(),
            "{href}"
        );
        dates.push(updated);
        titles.push(child_text(*e, "title"));
    }
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted, "newest first");
    assert_eq!(
        titles,
        [
            "Deprecated: card_declined (Card declined)",
            "New: payment_failed (Payment failed)",
            "New: key_missing (Key missing)",
            "New: card_declined (Card declined)",
        ]
    );
    assert_eq!(dates[2], "2024-03-01T00:00:00Z");
    assert_eq!(dates[3], "2023-01-01T00:00:00Z");
    let summary = child_text(entries[0], "summary");
    assert!(summary.contains("Use payment_failed instead."), "{summary}");
    // Pages announce the feed.
    let doc = page(&out, "reference/errors/index.html");
    let alt = select(&doc, "link[rel='alternate'][type='application/atom+xml']");
    assert_eq!(
        alt[0].value().attr("href"),
        Some("/docs/reference/errors/feed.xml")
    );
}

#[test]
fn lifecycle_shows_as_badges_on_pages_and_in_the_catalog() {
    let site = lifecycle_site();
    build(site.path());
    let out = site.path().join("public");
    let doc = page(&out, "reference/errors/card_declined/index.html");
    let badges: Vec<String> = select(&doc, ".error-header .badges .badge")
        .iter()
        .map(|b| b.text().collect::<String>())
        .collect();
    assert_eq!(
        badges,
        ["Deprecated", "Replaced by payment_failed", "Since 2023"]
    );
    let link = select(&doc, ".badge-replaced a");
    assert_eq!(
        link[0].value().attr("href"),
        Some("/docs/reference/errors/payment_failed/")
    );

    let doc = page(&out, "reference/errors/index.html");
    let row = |code: &str| -> Vec<String> {
        select(
            &doc,
            &format!(".catalog-row[data-code='{code}'] .catalog-badges .badge"),
        )
        .iter()
        .map(|b| b.text().collect::<String>())
        .collect()
    };
    assert_eq!(
        row("card_declined"),
        ["Deprecated", "Replaced by payment_failed", "Since 2023"]
    );
    assert_eq!(row("payment_failed"), ["Since 2025-06-15"]);
    assert!(row("escape_me").is_empty());
}

#[test]
fn a_bad_replacement_or_since_is_reported_at_its_line() {
    let site = lifecycle_site();
    let card = site.path().join("content/errors/billing/card_declined.md");
    let text = std::fs::read_to_string(&card).unwrap();
    std::fs::write(
        &card,
        text.replace("replaced_by: payment_failed", "replaced_by: payment_faild")
            .replace("since: \"2023\"", "since: v2"),
    )
    .unwrap();
    let root = site.path().to_str().unwrap();
    let o = errdocs_in(site.path(), &["check", "-r", root, "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let find = |rule: &str| {
        report
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["rule"] == rule)
            .unwrap_or_else(|| panic!("no {rule} in {report:#}"))
            .clone()
    };
    let replaced = find("replaced-by");
    assert_eq!(replaced["severity"], "error");
    assert_eq!(replaced["file"], "content/errors/billing/card_declined.md");
    assert_eq!(
        (replaced["line"].as_u64(), replaced["column"].as_u64()),
        (Some(8), Some(14))
    );
    assert!(replaced["message"]
        .as_str()
        .unwrap()
        .contains("did you mean `payment_failed`?"));
    let since = find("since");
    assert_eq!(since["severity"], "warning");
    assert_eq!(since["line"], 9);

    // A replacement on a code that is not deprecated is a warning.
    std::fs::write(
        &card,
        text.replace("deprecated: Use payment_failed instead.\n", ""),
    )
    .unwrap();
    let o = errdocs(&["check", "-r", root, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(report
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["rule"] == "replaced-by" && d["severity"] == "warning"));
}

#[test]
fn export_problem_types_is_a_registry_of_page_urls() {
    let site = lifecycle_site();
    let root = site.path().to_str().unwrap();
    let o = errdocs(&["export", "--format", "problem-types", "-r", root]);
    assert!(o.status.success(), "{}", stderr(&o));
    let reg: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let types = reg["problem_types"].as_array().unwrap();
    let listed: Vec<&str> = types.iter().map(|t| t["code"].as_str().unwrap()).collect();
    assert_eq!(
        listed,
        [
            "card_declined",
            "escape_me",
            "key_missing",
            "payment_failed"
        ]
    );
    let key = &types[2];
    assert_eq!(
        key["type"],
        "https://x.test/docs/reference/errors/key_missing/"
    );
    assert_eq!(key["reference"], key["type"]);
    assert_eq!(key["title"], "Key missing");
    assert_eq!(key["recommended_status"], 401);
    assert_eq!(types[0]["replaced_by"], "payment_failed");
}

#[test]
fn export_openapi_has_one_response_per_code_with_its_example() {
    let site = lifecycle_site();
    let root = site.path().to_str().unwrap();
    let file = site.path().join("errors.openapi.json");
    let o = errdocs(&[
        "export",
        "--format",
        "openapi",
        "-r",
        root,
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let doc = json(&file);
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let responses = doc["components"]["responses"].as_object().unwrap();
    let keys: Vec<&String> = responses.keys().collect();
    assert_eq!(
        keys,
        [
            "card_declined",
            "escape_me",
            "key_missing",
            "payment_failed"
        ]
    );
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for (code, r) in responses {
        assert!(r["description"].as_str().unwrap().len() > 10, "{code}");
        let (_, media) = r["content"].as_object().unwrap().iter().next().unwrap();
        let parts = media["schema"]["allOf"].as_array().unwrap();
        let target = parts[0]["$ref"].as_str().unwrap();
        let name = target.strip_prefix("#/components/schemas/").unwrap();
        assert!(schemas.contains_key(name), "{target}");
        assert_eq!(
            parts[1]["properties"]["type"]["const"],
            format!("https://x.test/docs/reference/errors/{code}/")
        );
    }
    let key = &responses["key_missing"];
    assert_eq!(key["x-errdocs-status"], 401);
    let media = &key["content"]["application/json"];
    assert_eq!(
        media["schema"]["allOf"][1]["properties"]["status"]["const"],
        401
    );
    assert_eq!(
        media["example"],
        serde_json::json!({ "error": "key_missing", "doc_url": "https://x.test/docs/reference/errors/key_missing" })
    );
    // An example with a problem `type` is served as problem details.
    let paid = &responses["payment_failed"]["content"]["application/problem+json"];
    assert_eq!(paid["example"]["status"], 402);
    // A page without a JSON example has no example rather than a made-up one.
    assert!(responses["escape_me"]["content"]["application/json"]
        .get("example")
        .is_none());
}

#[test]
fn export_refuses_a_catalog_with_errors() {
    let site = lifecycle_site();
    write(
        site.path(),
        "content/errors/auth/broken.md",
        "---\ncode: broken\n---\n",
    );
    let o = errdocs(&[
        "export",
        "--format",
        "openapi",
        "-r",
        site.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(
        stderr(&o).contains("content/errors/auth/broken.md:"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn explain_prints_the_page_as_text() {
    let site = lifecycle_site();
    let root = site.path().to_str().unwrap();
    let o = errdocs(&["explain", "key_missing", "-r", root]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(!text.contains('\x1b'), "no colour off a terminal");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "key_missing: Key missing");
    assert_eq!(lines[1], "HTTP 401 Unauthorized · Auth · All endpoints");
    assert_eq!(lines[2], "Not retryable · Since 2024-03");
    for expected in [
        "## What this means",
        "### Quick fix",
        "1. Send a key.",
        "- Checking keys at start-up.",
        "> Tip",
        "> The most common gotcha.",
        "    Handler (python)",
        "    raise AuthError()",
        "Learn more",
        "Related: card_declined",
        "Formerly: no_key, old_missing",
        "Online: https://x.test/docs/reference/errors/key_missing/",
    ] {
        assert!(
            lines.contains(&expected),
            "no line `{expected}` in:\n{text}"
        );
    }
    let flowing = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flowing.contains(
        "See card declined (https://x.test/docs/reference/errors/card_declined/#retry-later)."
    ));
    // Prose wraps at 80 columns; code keeps its lines.
    assert!(
        lines
            .iter()
            .filter(|l| !l.starts_with("    "))
            .all(|l| l.chars().count() <= 80),
        "{text}"
    );

    // A former code or another case finds the page.
    let o = errdocs(&["explain", "NO_KEY", "-r", root]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("key_missing: Key missing\n"));
    assert!(stderr(&o).contains("former name of `key_missing`"));
}

#[test]
fn a_missing_site_root_is_an_error_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let missing = missing.to_str().unwrap();
    for args in [
        vec!["explain", "a", "-r", missing],
        vec!["export", "--format", "openapi", "-r", missing],
        vec!["check", "-r", missing],
        vec!["build", "-r", missing],
    ] {
        let o = errdocs(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
        assert!(
            stderr(&o).contains("is not a folder"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn explain_suggests_the_closest_codes_for_an_unknown_one() {
    let site = lifecycle_site();
    let root = site.path().to_str().unwrap();
    let o = errdocs(&["explain", "key_mising", "-r", root]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(
        stderr(&o).contains(
            "error: no error code `key_mising` in this catalog; did you mean `key_missing`?"
        ),
        "{}",
        stderr(&o)
    );
    let o = errdocs(&["explain", "zzzz", "-r", root]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no error code `zzzz` in this catalog"),
        "{}",
        stderr(&o)
    );
    // One file with three errors is one file that did not load.
    write(
        site.path(),
        "content/errors/broken.md",
        "---\ncode: broken\nstatus: 99\ntitle: 5\nnope: 1\n---\n",
    );
    let o = errdocs(&["explain", "zzzz", "-r", root]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("note: 1 file(s) could not be loaded"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn edit_links_point_at_the_source_file() {
    let site = lifecycle_site();
    let cfg = site.path().join("site.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        format!("{text}edit_url: https://git.test/org/docs/edit/main/site\n"),
    )
    .unwrap();
    build(site.path());
    let out = site.path().join("public");
    let doc = page(&out, "reference/errors/key_missing/index.html");
    let link = select(&doc, "a[href].edit-link, .edit-link a[href]");
    assert_eq!(
        link[0].value().attr("href"),
        Some("https://git.test/org/docs/edit/main/site/content/errors/auth/key_missing.md")
    );
    assert_eq!(link[0].text().collect::<String>(), "Edit this page");
    let doc = page(&out, "guides/retries/index.html");
    let link = select(&doc, ".edit-link a[href]");
    assert_eq!(
        link[0].value().attr("href"),
        Some("https://git.test/org/docs/edit/main/site/content/guides/retries.md")
    );

    // Without edit_url there is no link; a bad one is a settings error.
    std::fs::write(&cfg, &text).unwrap();
    build(site.path());
    let doc = page(&out, "reference/errors/key_missing/index.html");
    assert!(select(&doc, ".edit-link").is_empty());
    std::fs::write(&cfg, format!("{text}edit_url: github.com/org/repo\n")).unwrap();
    let o = errdocs(&["check", "-r", site.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("site.yaml:4:11: error: edit_url"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn explain_colours_only_when_asked() {
    let site = lifecycle_site();
    let (loaded, problems) =
        errdocs::Site::load(site.path(), &errdocs::LoadOptions::default()).unwrap();
    assert!(!problems.has_errors());
    let errdocs::commands::explain::Lookup::Found { page, .. } =
        errdocs::commands::explain::lookup(&loaded.content, "key_missing")
    else {
        panic!("key_missing not found");
    };
    let coloured =
        errdocs::commands::explain::render(page, &loaded.content, &loaded.config, true, 60);
    let plain =
        errdocs::commands::explain::render(page, &loaded.content, &loaded.config, false, 60);
    assert!(coloured.contains("\x1b[1;36mWhat this means\x1b[0m"));
    assert!(!plain.contains('\x1b'));
    // Without its escapes, every coloured prose line fits the width too
    // (a single word longer than the width stands alone).
    let mut visible = String::new();
    let mut in_escape = false;
    for c in coloured.chars() {
        match c {
            '\x1b' => in_escape = true,
            'm' if in_escape => in_escape = false,
            _ if in_escape => {}
            c => visible.push(c),
        }
    }
    assert!(visible.lines().any(|l| l == "What this means"));
    assert!(
        visible
            .lines()
            .filter(|l| !l.starts_with("    ") && l.trim().contains(' '))
            .all(|l| l.chars().count() <= 60),
        "{visible}"
    );
}
