//! `errdocs new`, `errdocs init` and `errdocs schema`: what they write
//! builds and checks clean, and bad requests are refused.

use crate::common::*;

#[test]
fn init_writes_a_site_that_builds_and_checks_clean() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("docs-site");
    let o = errdocs(&["init", site.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(site.join(".gitignore")).unwrap(),
        "/public/\n/.errdocs-cache/\n# Beside the output: its lock, and a build's new tree while it is written.\n/.public.errdocs-*\n"
    );
    let yaml = std::fs::read_to_string(site.join("site.yaml")).unwrap();
    for key in [
        "title:",
        "base_url:",
        "errors_path:",
        "language:",
        "categories:",
        "audiences:",
        "highlight:",
        "response:",
        "extra:",
    ] {
        assert!(yaml.contains(key), "site.yaml documents `{key}`");
    }
    let o = errdocs(&["check", "-r", site.to_str().unwrap(), "--deny-warnings"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = errdocs(&["build", "-r", site.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = page(
        &site.join("public"),
        "reference/errors/resource_not_found/index.html",
    );
    assert_eq!(text_of(&doc, "h1"), "Resource not found");
    assert_eq!(select(&doc, ".audience-card").len(), 2);
    assert_eq!(select(&doc, "[data-code-group] [role='tab']").len(), 2);
}

#[test]
fn init_refuses_a_non_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let o = errdocs(&["init", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not empty"), "{}", stderr(&o));
    assert!(!dir.path().join("site.yaml").exists());
}

#[test]
fn new_writes_a_page_that_checks_clean() {
    let site = fixture("check-base");
    let root = site.path().to_str().unwrap();
    let o = errdocs(&[
        "new",
        "quota_exceeded",
        "-r",
        root,
        "--category",
        "Rate limits",
        "--status",
        "429",
        "--title",
        "Quota: exceeded",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let path = site
        .path()
        .join("content/errors/rate-limits/quota_exceeded.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let front = text.split("---\n").nth(1).unwrap();
    let meta: serde_yaml::Value = serde_yaml::from_str(front).unwrap();
    assert_eq!(meta["code"].as_str(), Some("quota_exceeded"));
    assert_eq!(meta["title"].as_str(), Some("Quota: exceeded"));
    assert_eq!(meta["status"].as_u64(), Some(429));
    assert_eq!(meta["category"].as_str(), Some("Rate limits"));
    for heading in [
        "## What this means",
        "## When you'll see this",
        "## Example response",
        "## New to APIs",
        "### Quick fix",
        "## Production engineer",
        "### Recovery pattern",
        "## Avoid this error by",
    ] {
        assert!(text.contains(heading), "{heading}");
    }
    assert!(
        text.contains("\"doc_url\": \"https://x.test/reference/errors/quota_exceeded\""),
        "{text}"
    );
    // Clean apart from the category, which check-base does not list.
    let o = errdocs(&["check", "-r", root, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let problems: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rules: Vec<&str> = problems
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["category"]);
}

#[test]
fn new_refuses_existing_and_bad_codes() {
    let site = fixture("check-base");
    let root = site.path().to_str().unwrap();
    for (code, needle) in [
        ("GOOD", "already exists"),
        ("bad code", "not a valid code"),
        ("_x", "not a valid code"),
    ] {
        let o = errdocs(&["new", code, "-r", root]);
        assert_eq!(o.status.code(), Some(2), "{code}");
        assert!(stderr(&o).contains(needle), "{code}: {}", stderr(&o));
    }
    let o = errdocs(&["new", "fine_code", "-r", root, "--status", "700"]);
    assert_eq!(o.status.code(), Some(2));
    // Nothing was written by the refused calls.
    let files = walkdir::WalkDir::new(site.path().join("content"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .count();
    assert_eq!(files, 1);
}

#[test]
fn schema_describes_the_front_matter() {
    let o = errdocs(&["schema"]);
    assert_eq!(o.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for key in ["code", "title", "status", "category", "summary"] {
        assert!(required.contains(&key), "{key} is required");
    }
    assert_eq!(schema["additionalProperties"], false);
    // The schema accepts a real page's front matter and rejects a wrong type.
    let validator = jsonschema::validator_for(&schema).unwrap();
    let good = serde_json::json!({"code": "a", "title": "A", "status": 401, "category": "Auth", "summary": "s", "deprecated": "use b"});
    assert!(validator.is_valid(&good));
    let bad = serde_json::json!({"code": "a b", "title": "A", "status": "401", "category": "Auth", "summary": "s"});
    assert!(!validator.is_valid(&bad));
}

#[test]
fn new_refuses_values_that_would_fail_check() {
    let site = fixture("check-base");
    let root = site.path().to_str().unwrap();
    let before = snapshot(site.path());
    for (flag, value, needle) in [
        ("--title", "", "--title is empty"),
        ("--title", "   ", "--title is empty"),
        ("--category", "", "--category is empty"),
    ] {
        let o = errdocs(&["new", "fine_code", "-r", root, flag, value]);
        assert_eq!(o.status.code(), Some(2), "{flag} {value:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{flag}: {}", stderr(&o));
    }
    assert_eq!(snapshot(site.path()), before, "nothing written");
    // A title that is kept as written, odd characters and all, checks clean.
    let o = errdocs(&[
        "new",
        "fine_code",
        "-r",
        root,
        "--title",
        "#1: \"quoted\" & more",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = errdocs(&["check", "-r", root]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn init_accepts_a_fresh_repository() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(docs.join(".git/objects")).unwrap();
    std::fs::write(docs.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    let o = errdocs_in(dir.path(), &["init", "docs"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Paths as given, from the working directory.
    assert!(
        stderr(&o).contains("wrote docs/site.yaml\n"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(docs.join(".git/HEAD")).unwrap(),
        "ref: refs/heads/main\n"
    );
    let o = errdocs(&["check", "-r", docs.to_str().unwrap(), "--deny-warnings"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Anything else beside `.git` still counts.
    let other = dir.path().join("other");
    std::fs::create_dir_all(other.join(".git")).unwrap();
    std::fs::write(other.join("README.md"), "mine").unwrap();
    let o = errdocs(&["init", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!other.join("site.yaml").exists());
}

#[test]
fn explain_shows_control_characters_escaped() {
    let site = fixture("check-base");
    write(
        site.path(),
        "content/errors/evil.md",
        "---\ncode: evil\ntitle: Evil\nstatus: 400\ncategory: Auth\nsummary: s\n---\n\nClears \u{1b}[2J the screen.\n\nBody \u{1b}]8;;https://x.test\u{7}link\u{1b}]8;;\u{7} and \u{9b}31m.\n\n```text\ncode \u{1b}[31m red\n```\n",
    );
    let root = site.path().to_str().unwrap();
    let o = errdocs(&["explain", "evil", "-r", root]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(!out.contains(['\x1b', '\x07', '\u{9b}']), "{out:?}");
    for shown in [
        "Clears \\u{1b}[2J the screen",
        "Body \\u{1b}]8;;https://x.test\\u{7}link\\u{1b}]8;;\\u{7} and \\u{9b}31m.",
        "code \\u{1b}[31m red",
    ] {
        assert!(out.contains(shown), "{shown}: {out}");
    }
    // A former name that is asked for is echoed escaped too.
    let o = errdocs(&["explain", "ev\u{1b}[2Jil", "-r", root]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).contains('\x1b'), "{:?}", stderr(&o));
    assert!(stderr(&o).contains("ev\\u{1b}[2Jil"), "{}", stderr(&o));
}
