//! `errdocs check` on bad inputs, one fixture each: every rule gives its
//! diagnostic at the right place, and nothing panics.

mod agreement;

use std::path::Path;

use crate::common::*;
use serde_json::Value;

/// A site made of `check-base` plus the given bad-input files in `content/errors/`.
fn site_with(cases: &[&str]) -> tempfile::TempDir {
    let site = fixture("check-base");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad-inputs");
    for case in cases {
        std::fs::copy(
            src.join(case),
            site.path().join("content/errors").join(case),
        )
        .unwrap();
    }
    site
}

/// Runs `errdocs check --format json` from the site root and returns the
/// exit code and the problems.
fn check_json(root: &Path, extra: &[&str]) -> (i32, Vec<Value>) {
    let mut args = vec!["check", "-r", root.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    let o = errdocs_in(root, &args);
    let stdout = String::from_utf8(o.stdout).unwrap();
    let problems: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout} {}", stderr_text(&o.stderr)));
    (
        o.status.code().unwrap(),
        problems.as_array().unwrap().clone(),
    )
}

fn stderr_text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One reported problem: file, line, column, severity, rule, message.
type Row = (String, u64, u64, String, String, String);

/// The problems of one case, with the exit code.
fn case(name: &str) -> (i32, Vec<Row>) {
    let site = site_with(&[name]);
    let (code, problems) = check_json(site.path(), &[]);
    let rows = problems
        .iter()
        .map(|p| {
            (
                p["file"].as_str().unwrap().to_string(),
                p["line"].as_u64().unwrap(),
                p["column"].as_u64().unwrap(),
                p["severity"].as_str().unwrap().to_string(),
                p["rule"].as_str().unwrap().to_string(),
                p["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (code, rows)
}

/// Asserts exactly one problem, at `line`:`col` of the case's file, whose
/// message contains `needle`.
fn expect_one(
    name: &str,
    code: i32,
    severity: &str,
    rule: &str,
    line: u64,
    col: u64,
    needle: &str,
) {
    let (exit, rows) = case(name);
    assert_eq!(exit, code, "{name}: exit code; {rows:?}");
    assert_eq!(rows.len(), 1, "{name}: {rows:#?}");
    let (file, l, c, sev, r, msg) = &rows[0];
    assert_eq!(file, &format!("content/errors/{name}"), "{name}");
    assert_eq!((*l, *c), (line, col), "{name}: position of `{msg}`");
    assert_eq!(sev, severity, "{name}");
    assert_eq!(r, rule, "{name}");
    assert!(msg.contains(needle), "{name}: `{msg}` lacks `{needle}`");
}

#[test]
fn a_clean_site_passes() {
    let site = fixture("check-base");
    let (code, problems) = check_json(site.path(), &[]);
    assert_eq!((code, problems.len()), (0, 0));
}

#[test]
fn yaml_syntax_error_points_into_the_file() {
    let (exit, rows) = case("yaml_syntax.md");
    assert_eq!(exit, 1);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].4, "front-matter");
    assert!(
        rows[0].1 >= 3,
        "line inside the file, not the block: {rows:?}"
    );
}

#[test]
fn front_matter_shape() {
    expect_one(
        "no_front_matter.md",
        1,
        "error",
        "front-matter",
        1,
        1,
        "no front matter",
    );
    expect_one(
        "unclosed.md",
        1,
        "error",
        "front-matter",
        1,
        1,
        "not closed",
    );
    expect_one(
        "missing_field.md",
        1,
        "error",
        "front-matter",
        2,
        1,
        "missing required key `status`",
    );
    expect_one(
        "wrong_type.md",
        1,
        "error",
        "front-matter",
        4,
        9,
        "expected an integer",
    );
    expect_one(
        "unknown_field.md",
        1,
        "error",
        "front-matter",
        4,
        1,
        "did you mean `status`?",
    );
    expect_one(
        "bad_code.md",
        1,
        "error",
        "code",
        2,
        7,
        "must start with a letter or digit",
    );
}

#[test]
fn duplicate_codes_show_both_places() {
    let (exit, rows) = case("duplicate_code.md");
    assert_eq!(exit, 1);
    assert_eq!(rows.len(), 2, "{rows:#?}");
    let files: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        files,
        ["content/errors/duplicate_code.md", "content/errors/good.md"]
    );
}

/// Each duplicate points at the other page, and that path too is written
/// from where the command runs: here the site is `docs/` of the folder
/// `check` runs in, as in a repository whose docs live in a subfolder.
#[test]
fn the_other_place_of_a_problem_is_relative_to_the_working_directory() {
    let repo = tempfile::tempdir().unwrap();
    let docs = repo.path().join("docs");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check-base"),
        &docs,
    );
    let bad = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad-inputs");
    for case in ["duplicate_code.md", "alias_collision.md"] {
        std::fs::copy(bad.join(case), docs.join("content/errors").join(case)).unwrap();
    }
    let o = errdocs_in(repo.path(), &["check", "-r", "docs", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let problems: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    let related = |file: &str, rule: &str| -> Vec<(String, u64, u64)> {
        let p = problems
            .iter()
            .find(|p| p["file"] == file && p["rule"] == rule)
            .unwrap_or_else(|| panic!("{file} {rule}: {problems:#?}"));
        (p["related"].as_array().unwrap().iter())
            .map(|r| {
                let s = |k: &str| r[k].as_u64().unwrap();
                (
                    r["file"].as_str().unwrap().to_string(),
                    s("line"),
                    s("column"),
                )
            })
            .collect()
    };
    // duplicate_code.md is read first, so good.md is the second use.
    assert_eq!(
        related("docs/content/errors/good.md", "duplicate-code"),
        [("docs/content/errors/duplicate_code.md".to_string(), 2, 7)]
    );
    assert_eq!(
        related("docs/content/errors/duplicate_code.md", "duplicate-code"),
        [("docs/content/errors/good.md".to_string(), 2, 7)]
    );
    assert_eq!(
        related("docs/content/errors/alias_collision.md", "alias"),
        [("docs/content/errors/duplicate_code.md".to_string(), 2, 7)]
    );
    for p in &problems {
        let msg = p["message"].as_str().unwrap();
        assert!(!msg.contains("content/"), "a path inside a message: {msg}");
    }
    // The human and GitHub formats name the same places.
    let o = errdocs_in(repo.path(), &["check", "-r", "docs"]);
    let human = stderr(&o);
    assert!(
        human.contains("\n  = first used here: docs/content/errors/duplicate_code.md:2:7\n"),
        "{human}"
    );
    let o = errdocs_in(repo.path(), &["check", "-r", "docs", "--format", "github"]);
    let github = String::from_utf8(o.stdout).unwrap();
    assert!(
        github.lines().any(
            |l| l.starts_with("::error file=docs/content/errors/good.md,")
                && l.ends_with("(first used here: docs/content/errors/duplicate_code.md:2:7)")
        ),
        "{github}"
    );
}

#[test]
fn alias_and_related_rules() {
    expect_one(
        "alias_collision.md",
        1,
        "error",
        "alias",
        7,
        19,
        "collides with the code `good`",
    );
    expect_one(
        "related_missing.md",
        1,
        "error",
        "related",
        9,
        5,
        "`nope_missing` does not exist",
    );
    expect_one(
        "related_self.md",
        0,
        "warning",
        "related",
        7,
        11,
        "relates to itself",
    );
}

#[test]
fn links_to_missing_pages_and_anchors() {
    let (exit, rows) = case("broken_links.md");
    assert_eq!(exit, 1);
    let found: Vec<(u64, u64, &str)> = rows.iter().map(|r| (r.1, r.2, r.4.as_str())).collect();
    assert_eq!(
        found,
        [(9, 31, "broken-link"), (11, 5, "broken-anchor")],
        "{rows:#?}"
    );
    assert!(rows[1].5.contains("#nowhere"));
}

#[test]
fn heading_json_and_response_rules() {
    expect_one(
        "duplicate_heading.md",
        0,
        "warning",
        "duplicate-heading",
        13,
        1,
        "`details`",
    );
    // serde_json stops where the broken literal ends: the next line.
    expect_one(
        "json_syntax.md",
        1,
        "error",
        "json",
        15,
        1,
        "does not parse",
    );
    let (exit, rows) = case("response_pointers.md");
    assert_eq!(exit, 1);
    let found: Vec<(u64, u64, &str)> = rows.iter().map(|r| (r.1, r.2, r.4.as_str())).collect();
    assert_eq!(
        found,
        [(11, 3, "response-code"), (12, 3, "response-doc-url")]
    );
}

#[test]
fn warnings_for_cards_languages_and_categories() {
    expect_one(
        "card_without_title.md",
        0,
        "warning",
        "audience-card",
        9,
        1,
        "no `###` title",
    );
    expect_one(
        "unknown_language.md",
        0,
        "warning",
        "unknown-language",
        9,
        1,
        "`brainfudge`",
    );
    expect_one(
        "unknown_category.md",
        0,
        "warning",
        "category",
        5,
        11,
        "did you mean `Auth`?",
    );
}

#[test]
fn deny_warnings_turns_warnings_into_failure() {
    let site = site_with(&["unknown_language.md"]);
    assert_eq!(check_json(site.path(), &[]).0, 0);
    assert_eq!(check_json(site.path(), &["--deny-warnings"]).0, 1);
}

#[test]
fn response_schema_violations_have_json_paths() {
    let site = fixture("check-base");
    write(
        site.path(),
        "site.yaml",
        "base_url: https://x.test\nresponse:\n  schema: schema.json\n",
    );
    write(
        site.path(),
        "schema.json",
        r#"{"type":"object","required":["error","message"],"properties":{"error":{"type":"string"},"retry_after":{"type":"integer"}}}"#,
    );
    write(
        site.path(),
        "content/errors/s2.md",
        "---\ncode: s2\ntitle: S\nstatus: 429\ncategory: Auth\nsummary: s\n---\n\n```json\n{\n  \"error\": \"s2\",\n  \"retry_after\": \"soon\"\n}\n```\n",
    );
    let (exit, problems) = check_json(site.path(), &[]);
    assert_eq!(exit, 1);
    let msgs: Vec<(u64, String)> = problems
        .iter()
        .filter(|p| p["rule"] == "response-schema")
        .map(|p| {
            (
                p["line"].as_u64().unwrap(),
                p["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(msgs.len(), 2, "{problems:#?}");
    assert!(
        msgs.iter()
            .any(|(l, m)| *l == 10 && m.contains("at /:") && m.contains("message")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|(l, m)| *l == 12 && m.contains("at /retry_after")),
        "{msgs:?}"
    );

    // A schema file that is missing is a settings error: exit 2.
    std::fs::remove_file(site.path().join("schema.json")).unwrap();
    let o = errdocs(&["check", "-r", site.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("site.yaml:3:11: error: response.schema"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn published_codes_never_vanish() {
    let site = fixture("check-base");
    write(site.path(), "content/errors/renamed.md", "---\ncode: renamed\ntitle: R\nstatus: 400\ncategory: Auth\nsummary: s\naliases: [old_name]\n---\n");
    let published = site.path().join("published.json");
    std::fs::write(
        &published,
        "{\n  \"errors\": [\n    { \"code\": \"good\" },\n    { \"code\": \"old_name\" },\n    { \"code\": \"removed_code\" }\n  ]\n}\n",
    )
    .unwrap();
    let (exit, problems) = check_json(site.path(), &["--published", published.to_str().unwrap()]);
    assert_eq!(exit, 1);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0]["rule"], "published-code");
    assert_eq!(problems[0]["line"], 5);
    assert!(problems[0]["message"]
        .as_str()
        .unwrap()
        .contains("`removed_code`"));
}

#[test]
fn human_and_github_formats() {
    let site = site_with(&["wrong_type.md", "unknown_language.md"]);
    let root = site.path().to_str().unwrap();
    let o = errdocs_in(site.path(), &["check", "-r", root]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(
            "content/errors/unknown_language.md:9:1: warning: the highlighter does not know"
        ),
        "{err}"
    );
    assert!(
        err.contains("content/errors/wrong_type.md:4:9: error: status: invalid type"),
        "{err}"
    );
    assert!(
        err.contains("  |         ^"),
        "caret under the column: {err}"
    );
    assert!(!err.contains('\x1b'), "no colour when not a terminal");
    // Sorted by file.
    assert!(err.find("unknown_language.md").unwrap() < err.find("wrong_type.md").unwrap());

    let o = errdocs_in(site.path(), &["check", "-r", root, "--format", "github"]);
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with(
        "::warning file=content/errors/unknown_language.md,line=9,col=1,title=unknown-language::"
    ));
    assert!(lines[1].starts_with(
        "::error file=content/errors/wrong_type.md,line=4,col=9,title=front-matter::"
    ));
}

#[test]
fn every_problem_of_every_file_in_one_run() {
    let site = site_with(&[
        "wrong_type.md",
        "broken_links.md",
        "json_syntax.md",
        "unknown_field.md",
    ]);
    let (exit, problems) = check_json(site.path(), &[]);
    assert_eq!(exit, 1);
    let files: std::collections::BTreeSet<&str> = problems
        .iter()
        .map(|p| p["file"].as_str().unwrap())
        .collect();
    assert_eq!(files.len(), 4, "{problems:#?}");
}

#[test]
fn odd_bytes_never_panic() {
    for (name, rule) in [
        ("empty.md", "front-matter"),
        ("front_matter_only.md", "front-matter"),
        ("tab_indented.md", "front-matter"),
        ("alias_bomb.md", "front-matter"),
        ("not_utf8.md", "encoding"),
    ] {
        let (exit, rows) = case(name);
        assert_eq!(exit, 1, "{name}: {rows:?}");
        assert_eq!(rows.len(), 1, "{name}: {rows:?}");
        assert_eq!(rows[0].4, rule, "{name}: {rows:?}");
    }
    let (_, rows) = case("not_utf8.md");
    assert_eq!((rows[0].1, rows[0].2), (6, 13), "position of the bad byte");
    // Valid files that only look unusual.
    assert_eq!(case("anchors.md"), (0, vec![]));
    assert_eq!(case("bom.md"), (0, vec![]));
    // CRLF: positions still count lines right.
    expect_one(
        "crlf.md",
        1,
        "error",
        "front-matter",
        4,
        9,
        "expected an integer",
    );
}

#[test]
fn a_large_file_is_fine() {
    let site = fixture("check-base");
    let mut text = String::from(
        "---\ncode: big\ntitle: Big\nstatus: 400\ncategory: Auth\nsummary: s\n---\n\n",
    );
    while text.len() < 5 * 1024 * 1024 {
        text.push_str("## Section\n\nSome *text* with `code` and a [link](good.md).\n\n```python\nprint('x')\n```\n\n");
    }
    write(site.path(), "content/errors/big.md", &text);
    let (exit, problems) = check_json(site.path(), &[]);
    assert_eq!(exit, 0, "{:?}", problems.first());
    // Repeated headings are warnings, and so is the size (over 1 MiB),
    // nothing else.
    assert!(problems
        .iter()
        .all(|p| p["rule"] == "duplicate-heading" || p["rule"] == "file-size"));
    assert_eq!(
        problems.iter().filter(|p| p["rule"] == "file-size").count(),
        1
    );
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_is_reported() {
    let site = fixture("check-base");
    std::os::unix::fs::symlink(
        site.path().join("content"),
        site.path().join("content/errors/loop"),
    )
    .unwrap();
    let (exit, problems) = check_json(site.path(), &[]);
    assert_eq!(exit, 1);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0]["rule"], "io");
    assert!(problems[0]["message"].as_str().unwrap().contains("loops"));
}

#[test]
fn bad_settings_exit_2_with_position() {
    let site = fixture("check-base");
    write(
        site.path(),
        "site.yaml",
        "title: x\nhighlight:\n  ligth: InspiredGitHub\n",
    );
    let o = errdocs(&["check", "-r", site.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(
            "site.yaml:3:3: error: highlight: unknown key `ligth`; did you mean `light`?"
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn build_runs_the_same_checks() {
    let site = site_with(&["json_syntax.md"]);
    let o = errdocs(&["build", "-r", site.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("content/errors/json_syntax.md:15:1: error:"),
        "{}",
        stderr(&o)
    );
}

/// Runs `errdocs` from `cwd` with its standard output on a pipe whose
/// reading end is closed before anything is written.
fn with_closed_stdout(cwd: &Path, args: &[&str]) -> std::process::Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_errdocs"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

/// Runs `errdocs` from `cwd` with its standard output on `/dev/full`.
fn with_full_stdout(cwd: &Path, args: &[&str]) -> std::process::Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_errdocs"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .stdout(full)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn a_closed_pipe_ends_quietly_with_the_true_status() {
    let clean = fixture("check-base");
    let broken = site_with(&["json_syntax.md"]);
    for (site, format, status) in [
        (&clean, "json", 0),
        (&clean, "github", 0),
        (&broken, "json", 1),
        (&broken, "github", 1),
    ] {
        let root = site.path().to_str().unwrap();
        let o = with_closed_stdout(site.path(), &["check", "-r", root, "--format", format]);
        assert_eq!(o.status.code(), Some(status), "{format}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{format}: quiet");
    }
    let root = clean.path().to_str().unwrap();
    for args in [
        vec!["schema"],
        vec!["export", "--format", "openapi", "-r", root],
        vec!["explain", "good", "-r", root],
    ] {
        let o = with_closed_stdout(clean.path(), &args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{args:?}: quiet");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn arguments_that_do_not_parse_are_reported_in_the_format_asked_for() {
    let o = errdocs(&["check", "--bogus", "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let problems: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(problems[0]["rule"], "usage", "{problems}");
    assert!(
        problems[0]["message"].as_str().unwrap().contains("--bogus"),
        "{problems}"
    );
    let o = errdocs(&["check", "--format=github", "--bogus"]);
    assert_eq!(o.status.code(), Some(2));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.starts_with("::error"), "{out}");
    let o = errdocs(&["check", "--bogus"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--bogus"), "{}", stderr(&o));
    let o = errdocs(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("errdocs "));
}

#[test]
fn a_full_disk_behind_standard_output_is_an_io_error() {
    let site = site_with(&["json_syntax.md"]);
    let root = site.path().to_str().unwrap();
    for args in [
        vec!["check", "-r", root, "--format", "json"],
        vec!["check", "-r", root, "--format", "github"],
        vec!["schema"],
        vec!["explain", "good", "-r", root],
        vec!["--help"],
        vec!["--version"],
        vec!["check", "--help"],
    ] {
        let o = with_full_stdout(site.path(), &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            err.contains("error: standard output: No space left on device"),
            "{args:?}: {err}"
        );
    }
    let clean = fixture("check-base");
    let root = clean.path().to_str().unwrap();
    let o = with_full_stdout(
        clean.path(),
        &["export", "--format", "problem-types", "-r", root],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("standard output"), "{}", stderr(&o));
    // Standard error full too: nothing can be said, the status still tells.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_errdocs"))
        .args(["check", "-r", root])
        .stderr(full)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// The one problem of a JSON report.
fn only(problems: &[Value]) -> &Value {
    assert_eq!(problems.len(), 1, "{problems:#?}");
    &problems[0]
}

#[test]
fn every_error_comes_in_the_format_asked_for() {
    let site = fixture("check-base");
    let root = site.path();
    // A template that does not compile: at its place.
    write(root, "templates/error.html", "{% if %}\n");
    let (exit, problems) = check_json(root, &[]);
    assert_eq!(exit, 2);
    let p = only(&problems);
    assert_eq!(p["file"], "templates/error.html");
    assert_eq!(
        (p["line"].as_u64(), p["column"].as_u64()),
        (Some(1), Some(7))
    );
    assert_eq!(p["rule"], "template");
    assert_eq!(p["severity"], "error");
    std::fs::remove_dir_all(root.join("templates")).unwrap();

    // A file that cannot be read: I/O, at the file.
    let (exit, problems) = check_json(root, &["--published", "missing.json"]);
    assert_eq!(exit, 2);
    let p = only(&problems);
    assert_eq!(
        (p["file"].as_str(), p["rule"].as_str()),
        (Some("missing.json"), Some("io"))
    );

    // Bad usage belongs to no file.
    write(root, "published.json", "[");
    let (exit, problems) = check_json(root, &["--published", "published.json"]);
    assert_eq!(exit, 2);
    let p = only(&problems);
    assert_eq!(p["file"], "");
    assert_eq!(
        (p["line"].as_u64(), p["column"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(p["rule"], "usage");
    assert!(p["message"].as_str().unwrap().contains("not JSON"), "{p}");
    let o = errdocs_in(
        root,
        &[
            "check",
            "--format",
            "github",
            "--published",
            "published.json",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.starts_with("::error title=usage::--published published.json: not JSON"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1, "{out}");

    // Settings: the file's own diagnostics, in JSON too.
    write(
        root,
        "site.yaml",
        "title: x\nhighlight:\n  ligth: InspiredGitHub\n",
    );
    let (exit, problems) = check_json(root, &[]);
    assert_eq!(exit, 2);
    let p = only(&problems);
    assert_eq!(p["file"], "site.yaml");
    assert_eq!(p["line"], 3);
}

#[cfg(unix)]
#[test]
fn a_file_name_that_is_not_utf8_is_reported_in_json() {
    use std::os::unix::ffi::OsStrExt;
    let site = fixture("check-base");
    let dir = site.path().join("content/errors");
    std::fs::write(
        dir.join(std::ffi::OsStr::from_bytes(b"bad\xff.md")),
        "---\ncode: bad\n---\n",
    )
    .unwrap();
    let (exit, problems) = check_json(site.path(), &[]);
    assert_eq!(exit, 1);
    let p = only(&problems);
    assert_eq!(p["rule"], "file-name");
    assert_eq!(p["file"], "content/errors/bad\u{fffd}.md");
}

#[test]
fn paths_are_printed_from_the_working_directory() {
    let top = tempfile::tempdir().unwrap();
    let docs = top.path().join("docs");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check-base"),
        &docs,
    );
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad-inputs/json_syntax.md"),
        docs.join("content/errors/json_syntax.md"),
    )
    .unwrap();
    write(
        top.path(),
        "published.json",
        "{\"errors\": [{\"code\": \"gone\"}]}",
    );
    let args = ["check", "-r", "docs", "--published", "published.json"];
    let o = errdocs_in(top.path(), &[&args[..], &["--format", "github"]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let files: Vec<&str> = out
        .lines()
        .map(|l| l.split("file=").nth(1).unwrap().split(',').next().unwrap())
        .collect();
    assert_eq!(
        files,
        ["docs/content/errors/json_syntax.md", "published.json"],
        "{out}"
    );

    let o = errdocs_in(top.path(), &args);
    let err = stderr(&o);
    assert!(
        err.contains("docs/content/errors/json_syntax.md:15:1: error:"),
        "{err}"
    );
    assert!(err.contains("published.json:1:22: error:"), "{err}");

    // From inside the site, with the root given as `..`.
    let inner = docs.join("content");
    let o = errdocs_in(&inner, &["check", "-r", "..", "--format", "json"]);
    let problems: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        only(problems.as_array().unwrap())["file"],
        "errors/json_syntax.md"
    );

    // From elsewhere: absolute.
    let elsewhere = tempfile::tempdir().unwrap();
    let o = errdocs_in(
        elsewhere.path(),
        &["check", "-r", docs.to_str().unwrap(), "--format", "json"],
    );
    let problems: Value = serde_json::from_slice(&o.stdout).unwrap();
    let file = only(problems.as_array().unwrap())["file"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(Path::new(&file), docs.join("content/errors/json_syntax.md"));
}

#[test]
fn control_characters_from_content_are_shown_escaped() {
    // In a body they are warnings, so the source line they stand on is
    // printed with the report.
    let site = fixture("check-base");
    write(
        site.path(),
        "content/errors/evil.md",
        "---\ncode: evil\ntitle: Evil\nstatus: 400\ncategory: Auth\nsummary: s\n---\n\nText gone\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b} here.\n",
    );
    let o = errdocs_in(site.path(), &["check", "-r", "."]);
    assert_eq!(o.status.code(), Some(0));
    let err = stderr(&o);
    assert!(
        err.contains("control-character") || err.contains("control character"),
        "{err}"
    );
    assert!(
        err.contains("Text gone\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\u{9b} here."),
        "{err}"
    );
    assert!(!err.contains(['\x1b', '\x07', '\u{9b}']), "{err:?}");
    let o = errdocs_in(site.path(), &["check", "--format", "github"]);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("evil.md"), "{out}");
    assert!(!out.contains(['\x1b', '\x07', '\u{9b}']), "{out:?}");
    let o = errdocs_in(site.path(), &["check", "--format", "json"]);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(!out.contains(['\x1b', '\x07', '\u{9b}']), "{out:?}");
    let problems: Value = serde_json::from_str(&out).unwrap();
    assert!(
        problems
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["rule"] == "control-character"),
        "{problems:#}"
    );
}

#[test]
fn a_long_source_line_is_cut_around_the_column() {
    let site = fixture("check-base");
    let line = format!("{}[x](nowhere.md){}", "a".repeat(200_000), "b".repeat(1000));
    write(
        site.path(),
        "content/errors/long.md",
        &format!(
            "---\ncode: long\ntitle: L\nstatus: 400\ncategory: Auth\nsummary: s\n---\n\n{line}\n"
        ),
    );
    let o = errdocs_in(site.path(), &["check"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("9 | "))
        .unwrap_or_else(|| panic!("{err}"));
    let shown = lines[at].strip_prefix("9 | ").unwrap();
    assert!(shown.chars().count() <= 122, "{}", shown.len());
    assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
    let caret = lines[at + 1].strip_prefix("  | ").unwrap();
    let col = caret.chars().count() - 1;
    assert_eq!(caret.chars().last(), Some('^'));
    assert_eq!(shown.chars().nth(col), Some('['), "{shown}\n{caret}");
    assert!(err.len() < 2000, "{}", err.len());
}

#[test]
fn a_mistake_repeated_thousands_of_times_lists_twenty_and_a_count() {
    let site = fixture("check-base");
    // 30,000 broken anchors on one 240 KB line, 500 equal headings and 300
    // links to missing pages: each rule lists 20, then says how many more.
    let anchors = "[b](#nowhere) ".repeat(30_000);
    let headings = "## Same\n\n".repeat(500);
    let links = "[m](missing.md)\n".repeat(300);
    write(
        site.path(),
        "content/errors/many.md",
        &format!(
            "---\ncode: many\ntitle: M\nstatus: 400\ncategory: Auth\nsummary: s\n---\n\n{anchors}\n\n{links}\n{headings}"
        ),
    );
    let (code, problems) = check_json(site.path(), &[]);
    assert_eq!(code, 1);
    for (rule, total, severity) in [
        ("broken-anchor", 30_000, "error"),
        ("broken-link", 300, "error"),
        ("duplicate-heading", 499, "warning"),
    ] {
        let of_rule: Vec<&Value> = problems.iter().filter(|p| p["rule"] == rule).collect();
        assert_eq!(of_rule.len(), 21, "{rule}: {of_rule:?}");
        let counted: Vec<&&Value> = of_rule
            .iter()
            .filter(|p| p["message"].as_str().unwrap().contains("are not listed"))
            .collect();
        assert_eq!(counted.len(), 1, "{rule}");
        let msg = counted[0]["message"].as_str().unwrap();
        assert!(
            msg.starts_with(&format!("{} more `{rule}` problems", total - 20)),
            "{msg}"
        );
        assert_eq!(counted[0]["severity"], severity);
        assert_eq!(counted[0]["file"], "content/errors/many.md");
    }
    // The count sits where the 21st problem is: the 21st anchor, column
    // 1 + 20 × 14 of line 9.
    let anchor = problems
        .iter()
        .find(|p| p["rule"] == "broken-anchor" && p["message"].as_str().unwrap().contains("more"))
        .unwrap();
    assert_eq!(
        (anchor["line"].as_u64(), anchor["column"].as_u64()),
        (Some(9), Some(281))
    );
    // And the human report stays small.
    let o = errdocs_in(site.path(), &["check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stderr.len() < 40_000, "{}", o.stderr.len());
}

#[test]
fn github_annotations_escape_file_names() {
    let site = fixture("check-base");
    write(
        site.path(),
        "content/errors/a,b:c%\nd.md",
        "---\ncode: odd\ntitle: O\nstatus: 40\ncategory: Auth\nsummary: s\n---\n",
    );
    let o = errdocs_in(site.path(), &["check", "--format", "github"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.starts_with(
            "::error file=content/errors/a%2Cb%3Ac%25%0Ad.md,line=4,col=9,title=status::"
        ),
        "{out}"
    );
}

#[test]
fn published_entries_without_a_string_code_are_reported() {
    let site = fixture("check-base");
    write(
        site.path(),
        "published.json",
        "{\n  \"errors\": [\n    { \"code\": \"good\" },\n    { \"code\": 42 },\n    { \"title\": \"x\" }\n  ]\n}\n",
    );
    let (exit, problems) = check_json(site.path(), &["--published", "published.json"]);
    assert_eq!(exit, 1);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    for (p, line, what) in [
        (&problems[0], 4, "not a string: 42"),
        (&problems[1], 5, "has no `code`"),
    ] {
        assert_eq!(p["file"], "published.json");
        assert_eq!(p["rule"], "published-code");
        assert_eq!(
            (p["line"].as_u64(), p["column"].as_u64()),
            (Some(line), Some(5))
        );
        assert!(p["message"].as_str().unwrap().contains(what), "{p}");
    }
}

#[cfg(unix)]
#[test]
fn an_unreadable_static_file_is_reported_with_the_content() {
    use std::os::unix::fs::PermissionsExt;
    // `check` lists the static file beside the content's problem, and
    // `build` refuses the site for it.
    let reported = |site: &Path, file: &str| {
        let (exit, problems) = check_json(site, &[]);
        assert_eq!(exit, 1);
        let found: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p["file"].as_str().unwrap(), p["rule"].as_str().unwrap()))
            .collect();
        assert_eq!(
            found,
            [("content/errors/json_syntax.md", "json"), (file, "io")],
            "{problems:#?}"
        );
        let o = errdocs_in(site, &["build"]);
        assert_eq!(o.status.code(), Some(1));
        let err = stderr(&o);
        assert!(err.contains(&format!("{file}:1:1: error:")), "{err}");
    };
    // A link to nothing cannot be read by anyone.
    let site = site_with(&["json_syntax.md"]);
    std::fs::create_dir_all(site.path().join("static")).unwrap();
    std::os::unix::fs::symlink("/nowhere/at/all", site.path().join("static/gone.css")).unwrap();
    reported(site.path(), "static/gone.css");

    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        // Permissions deny nothing to root.
        return;
    }
    let site = site_with(&["json_syntax.md"]);
    write(site.path(), "static/secret.css", "a{}");
    let secret = site.path().join("static/secret.css");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    reported(site.path(), "static/secret.css");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
}

/// README's rule table is the registry's: one row per rule, in order, with
/// its default severity and doc, as `check --list-rules` prints them.
#[test]
fn readme_lists_every_rule_as_check_list_rules_does() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = errdocs_in(here, &["check", "--list-rules", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rules: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert!(rules.len() >= 30, "{}", rules.len());
    let readme = std::fs::read_to_string(here.join("README.md")).unwrap();
    let table = readme
        .split("| rule | severity | what |\n| --- | --- | --- |\n")
        .nth(1)
        .expect("README has the rule table");
    let rows: Vec<&str> = table.lines().take_while(|l| l.starts_with('|')).collect();
    let want: Vec<String> = rules
        .iter()
        .map(|r| {
            let severity = match r["severity"].as_str().unwrap() {
                "error-or-warning" => "error / warning",
                s => s,
            };
            format!(
                "| `{}` | {severity} | {} |",
                r["name"].as_str().unwrap(),
                r["doc"].as_str().unwrap().replace('|', "\\|")
            )
        })
        .collect();
    assert_eq!(rows, want);
    // The text form: one line per rule, starting with its name.
    let o = errdocs_in(here, &["check", "--list-rules"]);
    let text = String::from_utf8(o.stdout).unwrap();
    let names: Vec<&str> = text.lines().filter_map(|l| l.split(' ').next()).collect();
    let want: Vec<&str> = rules.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, want);
}
