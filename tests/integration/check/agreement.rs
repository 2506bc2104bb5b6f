//! `check` passing means `build` succeeds: every file a build would write
//! is claimed once, templates are rendered, and `export` refuses what
//! `build` refuses.

use std::collections::BTreeSet;
use std::path::Path;

use proptest::prelude::*;

use super::check_json;
use crate::common::*;

/// An error file for `code` in category Auth.
fn error_file(code: &str) -> String {
    format!(
        "---\ncode: {code}\ntitle: A title\nstatus: 400\ncategory: Auth\nsummary: A summary.\n---\n\n## What this means\n\nText.\n"
    )
}

/// The errors of a `check --format json` run, as (file, rule) with the
/// file relative to `root`.
fn error_rules(problems: &[serde_json::Value]) -> BTreeSet<(String, String)> {
    problems
        .iter()
        .filter(|p| p["severity"] == "error")
        .map(|p| (shown(&p["file"]), p["rule"].as_str().unwrap().to_string()))
        .collect()
}

/// A reported path from the site root, however the report spells it
/// (from the site root or from the working directory).
fn shown(file: &serde_json::Value) -> String {
    let s = file.as_str().unwrap().to_string();
    ["content/", "static/", "templates/", "site.yaml"]
        .iter()
        .find_map(|prefix| s.find(prefix).map(|i| s[i..].to_string()))
        .unwrap_or(s)
}

/// Runs `errdocs build -r root -o out` and returns its exit status.
fn build_status(root: &Path, out: &Path) -> (i32, String) {
    let o = errdocs(&[
        "build",
        "-r",
        root.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    (o.status.code().unwrap(), stderr(&o))
}

#[test]
fn a_file_at_a_path_errdocs_writes_is_a_url_error_in_check_and_build() {
    let site = fixture("check-base");
    let root = site.path();
    let codes = [
        "index.json",
        "index.schema.json",
        "feed.xml",
        "index.html",
        "foo",
        "foo.md",
    ];
    for code in codes {
        write(
            root,
            &format!("content/errors/c_{code}.md"),
            &error_file(code),
        );
    }
    for guide in ["sitemap.xml", "llms.txt", "404.html", "favicon.svg"] {
        write(root, &format!("content/{guide}.md"), "# A guide\n\nText.\n");
    }
    write(root, "static/index.html", "<p>mine</p>\n");
    write(root, "static/reference/errors/index.json", "{}\n");
    let (code, problems) = check_json(root, &[]);
    assert_eq!(code, 1, "{problems:?}");
    let got = error_rules(&problems);
    let mut want: BTreeSet<(String, String)> = BTreeSet::new();
    // `foo` itself is fine: `foo.md`'s page folder clashes with its Markdown.
    for code in codes.iter().filter(|c| **c != "foo") {
        want.insert((format!("content/errors/c_{code}.md"), "url".into()));
    }
    for guide in ["sitemap.xml", "llms.txt", "404.html", "favicon.svg"] {
        want.insert((format!("content/{guide}.md"), "url".into()));
    }
    want.insert(("static/index.html".into(), "url".into()));
    want.insert(("static/reference/errors/index.json".into(), "url".into()));
    assert_eq!(got, want, "{problems:#?}");
    // Each message names the other claim.
    let feed = problems
        .iter()
        .find(|p| p["file"].as_str().unwrap().ends_with("c_feed.xml.md"))
        .unwrap();
    assert_eq!(feed["line"], 2, "at the code: {feed}");
    assert!(
        feed["message"].as_str().unwrap().contains("Atom feed"),
        "{feed}"
    );
    let md = problems
        .iter()
        .find(|p| p["file"].as_str().unwrap().ends_with("c_foo.md.md"))
        .unwrap();
    assert!(
        md["message"]
            .as_str()
            .unwrap()
            .contains("Markdown version of `foo`"),
        "names the other claim: {md}"
    );
    assert_eq!(
        md["related"][0]["file"], "content/errors/c_foo.md",
        "points at it: {md}"
    );
    assert_eq!(
        (
            md["related"][0]["line"].as_u64(),
            md["related"][0]["column"].as_u64()
        ),
        (Some(2), Some(7))
    );

    // The build agrees, before writing anything.
    let out = tempfile::tempdir().unwrap();
    let out = out.path().join("public");
    let (status, err) = build_status(root, &out);
    assert_eq!(status, 1, "{err}");
    assert!(!err.contains("staging"), "no raw write error: {err}");
    assert!(!out.exists());

    // Without the clashing files both pass and the build has every file.
    for code in codes.iter().filter(|c| **c != "foo") {
        std::fs::remove_file(root.join(format!("content/errors/c_{code}.md"))).unwrap();
    }
    for guide in ["sitemap.xml", "llms.txt", "404.html", "favicon.svg"] {
        std::fs::remove_file(root.join(format!("content/{guide}.md"))).unwrap();
    }
    std::fs::remove_file(root.join("static/index.html")).unwrap();
    std::fs::remove_file(root.join("static/reference/errors/index.json")).unwrap();
    let (code, problems) = check_json(root, &[]);
    assert_eq!(code, 0, "{problems:?}");
    let (status, err) = build_status(root, &out);
    assert_eq!(status, 0, "{err}");
    assert!(out.join("reference/errors/foo/index.html").is_file());
    assert!(out.join("reference/errors/foo.md").is_file());
    assert!(out.join("reference/errors/index.json").is_file());
}

#[test]
fn with_an_empty_errors_path_codes_cannot_take_the_site_files() {
    let site = fixture("check-base");
    let root = site.path();
    let yaml = std::fs::read_to_string(root.join("site.yaml")).unwrap();
    write(root, "site.yaml", &format!("{yaml}errors_path: \"\"\n"));
    // The catalog is the home page: no clash between the two.
    let (code, problems) = check_json(root, &[]);
    assert_eq!(code, 0, "{problems:?}");
    let out = tempfile::tempdir().unwrap();
    let (status, err) = build_status(root, &out.path().join("public"));
    assert_eq!(status, 0, "{err}");
    let home = page(&out.path().join("public"), "index.html");
    assert!(
        !select(&home, "a[href$='/good/']").is_empty(),
        "the home page is the catalog"
    );
    for code in ["sitemap.xml", "404.html", "llms.txt"] {
        write(
            root,
            &format!("content/errors/c_{code}.md"),
            &error_file(code),
        );
    }
    let (code, problems) = check_json(root, &[]);
    assert_eq!(code, 1);
    let want: BTreeSet<(String, String)> = ["sitemap.xml", "404.html", "llms.txt"]
        .iter()
        .map(|c| (format!("content/errors/c_{c}.md"), "url".to_string()))
        .collect();
    assert_eq!(error_rules(&problems), want, "{problems:#?}");
    let (status, _) = build_status(root, &out.path().join("again"));
    assert_eq!(status, 1);
}

#[test]
fn codes_fit_every_file_system_and_unportable_names_are_warned() {
    let site = fixture("check-base");
    let root = site.path();
    let longest = format!("a{}", "b".repeat(127));
    let too_long = format!("a{}", "b".repeat(128));
    write(root, "content/errors/longest.md", &error_file(&longest));
    write(root, "content/errors/too_long.md", &error_file(&too_long));
    let (code, problems) = check_json(root, &[]);
    assert_eq!(code, 1);
    let want: BTreeSet<(String, String)> =
        [("content/errors/too_long.md".to_string(), "code".to_string())].into();
    assert_eq!(error_rules(&problems), want, "{problems:#?}");
    std::fs::remove_file(root.join("content/errors/too_long.md")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let (status, err) = build_status(root, &out.path().join("public"));
    assert_eq!(status, 0, "{err}");
    assert!(out
        .path()
        .join(format!("public/reference/errors/{longest}.md"))
        .is_file());

    // Names Windows or a case-insensitive disk cannot hold: warnings.
    write(root, "content/errors/con.md", &error_file("con"));
    write(root, "content/errors/dot.md", &error_file("dot."));
    write(root, "static/Logo.svg", "<svg/>");
    write(root, "static/logo.svg", "<svg/>");
    let (code, problems) = check_json(root, &[]);
    assert_eq!(code, 0, "{problems:#?}");
    let warned: BTreeSet<(String, String)> = problems
        .iter()
        .filter(|p| p["severity"] == "warning")
        .map(|p| (shown(&p["file"]), p["rule"].as_str().unwrap().to_string()))
        .collect();
    for file in [
        "content/errors/con.md",
        "content/errors/dot.md",
        "static/logo.svg",
    ] {
        assert!(
            warned.contains(&(file.to_string(), "portable-name".to_string())),
            "{file}: {problems:#?}"
        );
    }
    let (code, _) = check_json(root, &["--deny-warnings"]);
    assert_eq!(code, 1);
    let (status, err) = build_status(root, &out.path().join("public"));
    assert_eq!(status, 0, "warnings do not stop a build: {err}");
}

#[test]
fn check_renders_every_template_as_build_does() {
    for (template, text) in [
        // Compiles, fails only when a code page is rendered.
        ("error.html", "{{ no_such_variable.field }}"),
        // Fails only for one page.
        (
            "error.html",
            "{% if page.code == \"good\" %}{{ 1 / nothing }}{% endif %}ok",
        ),
        ("catalog.html", "{{ no_such_variable }}"),
        ("404.html", "{{ no_such_variable }}"),
    ] {
        let site = fixture("check-base");
        let root = site.path();
        write(root, &format!("templates/{template}"), text);
        let o = errdocs(&["check", "-r", root.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{template}: {}", stderr(&o));
        assert!(stderr(&o).contains("template"), "{}", stderr(&o));
        let out = tempfile::tempdir().unwrap();
        let (status, err) = build_status(root, &out.path().join("public"));
        assert_eq!(status, 2, "{err}");
    }
}

#[test]
fn export_refuses_exactly_what_build_refuses() {
    let bad_json = "---\ncode: bad_json\ntitle: T\nstatus: 400\ncategory: Auth\nsummary: S.\n---\n\n## Example response\n\n```json\n{ \"error\": \n```\n";
    let broken_link = "---\ncode: broken\ntitle: T\nstatus: 400\ncategory: Auth\nsummary: S.\n---\n\nSee [the other](missing.md).\n";
    for (name, text) in [
        ("bad_json", bad_json.to_string()),
        ("broken", broken_link.to_string()),
        ("clash", error_file("index.json")),
    ] {
        let site = fixture("check-base");
        let root = site.path();
        write(root, &format!("content/errors/{name}.md"), &text);
        for format in ["openapi", "problem-types"] {
            let o = errdocs(&["export", "--format", format, "-r", root.to_str().unwrap()]);
            assert_eq!(o.status.code(), Some(1), "{name} {format}: {}", stderr(&o));
            assert!(o.stdout.is_empty(), "nothing exported");
        }
        let out = tempfile::tempdir().unwrap();
        assert_eq!(build_status(root, &out.path().join("p")).0, 1, "{name}");
    }
}

#[test]
fn the_openapi_example_is_the_block_under_the_example_response_heading() {
    let site = fixture("check-base");
    let root = site.path();
    write(
        root,
        "content/errors/two.md",
        "---\ncode: two\ntitle: T\nstatus: 409\ncategory: Auth\nsummary: S.\n---\n\n## Request\n\n```json\n{\"first\": true}\n```\n\n## Example response\n\n```json\n{\"error\": \"two\"}\n```\n",
    );
    let o = errdocs(&[
        "export",
        "--format",
        "openapi",
        "-r",
        root.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let media = &doc["components"]["responses"]["two"]["content"]["application/json"];
    assert_eq!(media["example"], serde_json::json!({"error": "two"}));
}

/// Names that clash with errdocs' files, with each other, or not at all.
const CODES: &[&str] = &[
    "index.json",
    "index.schema.json",
    "feed.xml",
    "foo",
    "foo.md",
    "sitemap.xml",
    "llms.txt",
    "404.html",
    "ok",
    "assets",
];
const GUIDES: &[&str] = &[
    "sitemap.xml",
    "favicon.svg",
    "reference/errors/foo",
    "reference/errors/index.json",
    "reference/errors",
    "foo.md",
    "guide",
    "index",
];
const STATIC: &[&str] = &[
    "index.html",
    "reference/errors/index.json",
    "reference/errors/foo.md",
    "sitemap.xml",
    "assets",
    "logo.svg",
    "foo.md/x.txt",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// On sites made of clashing names, `check` finds an error exactly when
    /// `build` fails, and then `build` fails on the content, before writing.
    #[test]
    fn check_passes_exactly_when_build_succeeds(
        codes in proptest::sample::subsequence(CODES, 0..=4),
        guides in proptest::sample::subsequence(GUIDES, 0..=3),
        statics in proptest::sample::subsequence(STATIC, 0..=3),
        flat in any::<bool>(),
    ) {
        let site = fixture("check-base");
        let root = site.path();
        if flat {
            let yaml = std::fs::read_to_string(root.join("site.yaml")).unwrap();
            write(root, "site.yaml", &format!("{yaml}errors_path: \"\"\n"));
        }
        for code in &codes {
            write(root, &format!("content/errors/c_{code}.md"), &error_file(code));
        }
        for guide in &guides {
            write(root, &format!("content/{guide}.md"), "# A guide\n\nText.\n");
        }
        for file in &statics {
            write(root, &format!("static/{file}"), "x\n");
        }
        let checked = errdocs::commands::check::run(root, &errdocs::CheckOptions::default())
            .expect("check runs");
        let out = tempfile::tempdir().unwrap();
        let built = errdocs::build(
            root,
            &errdocs::BuildOptions {
                output: Some(out.path().join("public")),
                ..Default::default()
            },
        );
        match built {
            Ok(_) => prop_assert!(!checked.has_errors(), "{checked}"),
            Err(errdocs::Error::Content(_)) => {
                prop_assert!(checked.has_errors(), "build failed, check passed");
                prop_assert!(!out.path().join("public").exists());
            }
            Err(other) => prop_assert!(false, "build failed outside the content: {other}"),
        }
    }
}

/// The files a build writes are exactly the claims `check` checks, so no
/// file escapes the rule.
#[test]
fn the_claims_are_the_files_a_build_writes() {
    let sample = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for part in ["content", "templates", "static"] {
        copy_tree(&repo.join(part), &sample.path().join(part));
    }
    std::fs::copy(repo.join("site.yaml"), sample.path().join("site.yaml")).unwrap();
    let basic = fixture("basic");
    let flat = fixture("check-base");
    let yaml = std::fs::read_to_string(flat.path().join("site.yaml")).unwrap();
    write(
        flat.path(),
        "site.yaml",
        &format!("{yaml}errors_path: \"\"\n"),
    );
    write(flat.path(), "static/img/logo.svg", "<svg/>");
    for root in [sample.path(), basic.path(), flat.path()] {
        let out = tempfile::tempdir().unwrap();
        let out = out.path().join("public");
        errdocs::build(
            root,
            &errdocs::BuildOptions {
                output: Some(out.clone()),
                ..Default::default()
            },
        )
        .unwrap();
        let written: BTreeSet<String> = walkdir::WalkDir::new(&out)
            .into_iter()
            .map(Result::unwrap)
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let rel = e.path().strip_prefix(&out).unwrap();
                rel.to_string_lossy().replace('\\', "/")
            })
            .filter(|rel| rel != errdocs::paths::MANIFEST_FILE)
            .collect();
        let (site, _) = errdocs::Site::load(root, &Default::default()).unwrap();
        let theme = errdocs::load::theme::Theme::load(root).unwrap();
        let claimed: BTreeSet<String> = errdocs::output::plan::claims(
            root,
            &site.config,
            &site.content,
            &errdocs::output::plan::theme_files(&site.config, &theme),
        )
        .into_iter()
        .map(|c| c.rel)
        .collect();
        assert_eq!(written, claimed, "{}", root.display());
        assert!(written.len() > 10);
    }
}

#[test]
fn names_the_output_folder_cannot_hold_are_errors_before_the_build() {
    let site = fixture("check-base");
    let root = site.path();
    write(root, "content/a\\b.md", "# A guide\n");
    write(root, "content/g\u{b}\u{1b}[2J.md", "# A guide\n");
    write(root, "static/c\\d", "x");
    let (code, problems) = check_json(root, &[]);
    assert_eq!(code, 1);
    let want: BTreeSet<(String, String)> = [
        "content/a\\b.md",
        "content/g\u{b}\u{1b}[2J.md",
        "static/c\\d",
    ]
    .iter()
    .map(|f| (f.to_string(), "url".to_string()))
    .collect();
    assert_eq!(error_rules(&problems), want, "{problems:#?}");
    let out = tempfile::tempdir().unwrap();
    assert_eq!(build_status(root, &out.path().join("p")).0, 1);

    // An errors_path the output folder cannot hold is a settings error.
    for bad in [".well-known/errors", "a/.b", "a\\\\b", "a\\u001bb"] {
        let site = fixture("check-base");
        let root = site.path();
        let yaml = std::fs::read_to_string(root.join("site.yaml")).unwrap();
        write(
            root,
            "site.yaml",
            &format!("{yaml}errors_path: \"{bad}\"\n"),
        );
        let o = errdocs(&["check", "-r", root.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("site.yaml:4:"), "{bad}: {}", stderr(&o));
        assert_eq!(build_status(root, &out.path().join("q")).0, 2, "{bad}");
    }
}

#[test]
fn a_control_character_escaped_in_site_yaml_is_a_settings_error() {
    let site = fixture("check-base");
    let root = site.path();
    write(
        root,
        "site.yaml",
        "title: \"a\\u001bb\\vc\"\nbase_url: https://x.test\n",
    );
    let o = errdocs(&["check", "-r", root.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let problems: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = &problems[0];
    assert_eq!(p["rule"], "control-character", "{problems}");
    assert_eq!(
        (p["line"].as_u64(), p["column"].as_u64()),
        (Some(1), Some(8))
    );
    let out = tempfile::tempdir().unwrap();
    assert_eq!(build_status(root, &out.path().join("p")).0, 2);
}
