//! The repository's own sample site: it builds clean, every code page
//! carries the full structure, and no link in the output is broken.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use crate::common::*;
use scraper::Html;

/// Copies the repository's site (settings and content; the theme is built in).
fn sample_site() -> tempfile::TempDir {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo.join("content"), &dir.path().join("content"));
    std::fs::copy(repo.join("site.yaml"), dir.path().join("site.yaml")).unwrap();
    dir
}

fn built() -> (tempfile::TempDir, BTreeMap<String, Html>) {
    let site = sample_site();
    let report = build(site.path());
    assert!(
        report.warnings.is_empty(),
        "the sample builds without warnings:\n{}",
        report.warnings
    );
    let out = site.path().join("public");
    let pages = snapshot(&out)
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "html"))
        .map(|(p, b)| {
            (
                p.to_string_lossy().replace('\\', "/"),
                Html::parse_document(&String::from_utf8(b).unwrap()),
            )
        })
        .collect();
    (site, pages)
}

#[test]
fn the_sample_catalog_is_complete() {
    let site = sample_site();
    let report = build(site.path());
    assert!(report.error_pages >= 24, "{} codes", report.error_pages);
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(site.path().join("public/reference/errors/index.json")).unwrap(),
    )
    .unwrap();
    let errors = json["errors"].as_array().unwrap();
    let categories: HashSet<&str> = errors
        .iter()
        .map(|e| e["category"].as_str().unwrap())
        .collect();
    assert!(categories.len() >= 5, "{categories:?}");
    assert!(
        errors
            .iter()
            .any(|e| !e["aliases"].as_array().unwrap().is_empty()),
        "aliases used"
    );
    assert!(
        errors.iter().any(|e| e["deprecated"] == true),
        "deprecation used"
    );
    assert!(errors.iter().any(|e| e["since"].is_string()), "since used");
    let guides = std::fs::read_dir(site.path().join("public/guides"))
        .unwrap()
        .count();
    assert!(guides >= 2, "{guides} guides");
}

#[test]
fn every_code_page_has_the_full_structure() {
    let (_site, pages) = built();
    let mut tabbed = 0;
    let code_pages: Vec<(&String, &Html)> = pages
        .iter()
        .filter(|(p, d)| {
            p.starts_with("reference/errors/") && !select(d, "article.error-page").is_empty()
        })
        .collect();
    assert!(code_pages.len() >= 24);
    for (path, doc) in code_pages {
        let has = |css: &str| !select(doc, css).is_empty();
        assert_eq!(select(doc, "h1").len(), 1, "{path}: one h1");
        for css in [
            "nav.breadcrumbs ol li a",
            ".error-header .error-code",
            ".error-header .copy-code",
            ".error-header .status .status-text",
            ".error-meta",
            ".error-header .lead",
            ".badges .badge",
            "section.doc-section h2 a.permalink",
            ".callout",
            "section.audience-card[data-audience='new-to-apis'] .card-title",
            "section.audience-card[data-audience='production-engineer'] .card-title",
            "figure.code-block[data-lang='json'] pre code span",
            "section.related .related-card .status",
            "nav.toc a",
            "nav.pager a",
            "nav#site-nav a[aria-current='page']",
        ] {
            assert!(has(css), "{path}: missing `{css}`");
        }
        let crumbs: Vec<String> = select(doc, "nav.breadcrumbs li")
            .iter()
            .map(|l| l.text().collect())
            .collect();
        assert_eq!(
            crumbs[..2],
            ["Reference".to_string(), "Errors".to_string()],
            "{path}"
        );
        let headings: Vec<String> = select(doc, ".error-body h2")
            .iter()
            .map(|h| {
                h.text()
                    .collect::<String>()
                    .trim_end_matches('#')
                    .trim()
                    .to_lowercase()
            })
            .collect();
        for want in [
            "what this means",
            "example response",
            "new to apis",
            "production engineer",
        ] {
            assert!(
                headings.iter().any(|h| h == want),
                "{path}: no `{want}` section in {headings:?}"
            );
        }
        if has("[data-code-group] [role='tab']") {
            tabbed += 1;
        }
    }
    assert!(tabbed >= 8, "{tabbed} pages with a tab group");
}

#[test]
fn the_catalog_lists_every_code_once() {
    let (site, pages) = built();
    let catalog = &pages["reference/errors/index.html"];
    let listed: Vec<String> = select(catalog, ".catalog-row")
        .iter()
        .map(|r| r.value().attr("data-code").unwrap().to_string())
        .collect();
    let unique: HashSet<&String> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len(), "no code twice");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(site.path().join("public/reference/errors/index.json")).unwrap(),
    )
    .unwrap();
    let mut from_json: Vec<String> = json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    from_json.sort();
    assert_eq!(sorted, from_json);
    // Category sections follow site.yaml's order and their counts are right.
    let names: Vec<&str> = select(catalog, "section.catalog-group")
        .iter()
        .map(|g| g.value().attr("data-category").unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Authentication",
            "Validation",
            "Rate limits",
            "Billing",
            "Shipments",
            "Server"
        ]
    );
    for g in select(catalog, "section.catalog-group") {
        let rows = g
            .select(&scraper::Selector::parse(".catalog-row").unwrap())
            .count();
        let count: String = g
            .select(&scraper::Selector::parse(".group-count").unwrap())
            .next()
            .unwrap()
            .text()
            .collect();
        assert_eq!(count, rows.to_string());
    }
}

#[test]
fn no_page_links_to_a_missing_page_or_anchor() {
    let (_site, pages) = built();
    let ids: HashMap<&str, HashSet<String>> = pages
        .iter()
        .map(|(p, d)| {
            (
                p.as_str(),
                select(d, "[id]")
                    .iter()
                    .map(|e| e.value().attr("id").unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    let mut checked = 0;
    for (path, doc) in &pages {
        for a in select(doc, "a[href]") {
            let href = a.value().attr("href").unwrap();
            if href.starts_with("https://") || href.starts_with("mailto:") {
                continue;
            }
            let (target, fragment) = match href.split_once('#') {
                Some((t, f)) => (t, Some(f)),
                None => (href, None),
            };
            let target_page = if target.is_empty() {
                path.clone()
            } else {
                let rel = target
                    .strip_prefix("/docs/")
                    .unwrap_or_else(|| panic!("{path}: {href} outside /docs/"));
                if rel.is_empty() || rel.ends_with('/') {
                    format!("{rel}index.html")
                } else {
                    rel.to_string()
                }
            };
            if !target_page.ends_with(".html") {
                assert!(
                    _site.path().join("public").join(&target_page).is_file(),
                    "{path}: {href}"
                );
                continue;
            }
            let target_ids = ids
                .get(target_page.as_str())
                .unwrap_or_else(|| panic!("{path}: broken link {href}"));
            if let Some(f) = fragment {
                assert!(target_ids.contains(f), "{path}: {href} has no #{f}");
            }
            checked += 1;
        }
    }
    assert!(checked > 500, "{checked} links checked");
}
