//! `errdocs build` on fixture sites: the output folder, parsed.

mod output_folder;

use crate::common::*;

#[test]
fn code_page_has_the_reference_structure() {
    let site = fixture("basic");
    build(site.path());
    let out = site.path().join("public");
    let doc = page(&out, "reference/errors/key_missing/index.html");

    assert_eq!(select(&doc, "h1").len(), 1, "exactly one h1");
    assert_eq!(text_of(&doc, "h1"), "Key missing");
    assert_eq!(text_of(&doc, ".error-header .error-code"), "key_missing");
    assert_eq!(text_of(&doc, ".error-header .status"), "401 Unauthorized");
    assert!(select(&doc, ".error-header .status.status-4xx").len() == 1);
    assert_eq!(text_of(&doc, ".error-meta"), "Auth · All endpoints");
    assert_eq!(text_of(&doc, ".lead"), "No key was sent.");
    let badges: Vec<String> = select(&doc, ".badges .badge")
        .iter()
        .map(|b| b.text().collect())
        .collect();
    assert_eq!(badges, ["Not retryable", "Since 2024-03"]);

    // Landmarks and the skip link.
    assert_eq!(select(&doc, "a.skip-link[href='#main-content']").len(), 1);
    assert_eq!(select(&doc, "main#main-content").len(), 1);
    assert_eq!(select(&doc, "header.site-header").len(), 1);
    assert_eq!(select(&doc, "nav#site-nav").len(), 1);
    assert_eq!(select(&doc, "footer").len(), 1);

    // Sections: every h2 of the body has a unique id and a permalink.
    let h2s = select(&doc, ".error-body h2");
    let ids: Vec<&str> = h2s.iter().map(|h| h.value().attr("id").unwrap()).collect();
    assert_eq!(
        ids,
        [
            "what-this-means",
            "example-response",
            "new-to-apis",
            "production-engineer",
            "avoid-this-error-by"
        ]
    );
    for h in &h2s {
        let id = h.value().attr("id").unwrap();
        let link = h
            .select(&scraper::Selector::parse("a.permalink").unwrap())
            .next()
            .expect("permalink");
        assert_eq!(link.value().attr("href"), Some(format!("#{id}").as_str()));
    }

    // Audience cards: eyebrow from the label, title from the first ###.
    let cards = select(&doc, ".audience-cards > section.audience-card");
    assert_eq!(cards.len(), 2);
    assert_eq!(cards[0].value().attr("data-audience"), Some("new-to-apis"));
    assert_eq!(
        cards[1].value().attr("data-audience"),
        Some("production-engineer")
    );
    assert_eq!(
        text_of(&doc, "[data-audience='new-to-apis'] .card-eyebrow").trim_end_matches(" #"),
        "New to APIs"
    );
    assert_eq!(
        text_of(&doc, "[data-audience='new-to-apis'] .card-title").trim_end_matches(" #"),
        "Quick fix"
    );
    assert_eq!(
        text_of(&doc, "[data-audience='production-engineer'] .card-title").trim_end_matches(" #"),
        "Recovery pattern"
    );

    // The two consecutive fences are one tab group with linked tabs and panels.
    let groups = select(
        &doc,
        "[data-audience='production-engineer'] [data-code-group]",
    );
    assert_eq!(groups.len(), 1);
    let tabs = select(&doc, "[data-code-group] [role='tablist'] [role='tab']");
    let langs: Vec<_> = tabs
        .iter()
        .map(|t| t.value().attr("data-lang").unwrap())
        .collect();
    assert_eq!(langs, ["python", "javascript"]);
    for t in &tabs {
        let panel = t.value().attr("aria-controls").unwrap();
        let found = select(&doc, &format!("#{panel}[role='tabpanel']"));
        assert_eq!(found.len(), 1, "panel {panel}");
        assert_eq!(
            found[0].value().attr("aria-labelledby"),
            t.value().attr("id")
        );
    }
    assert_eq!(text_of(&doc, "#code-1-0-panel .code-title"), "Handler");

    // Build-time highlighting: class spans, no inline styles.
    let spans = select(&doc, "figure[data-lang='json'] pre code span[class^='l']");
    assert!(!spans.is_empty(), "json is highlighted");
    assert!(select(&doc, "[style]").is_empty(), "no inline styles");
    assert!(
        select(&doc, "script:not([src])").is_empty(),
        "no inline scripts"
    );

    // Callout and details.
    assert_eq!(text_of(&doc, ".callout.callout-tip .callout-title"), "Tip");
    assert_eq!(text_of(&doc, "details > summary"), "Learn more");

    // The relative link went to the other page, fragment kept.
    let link = select(&doc, ".error-body a[href*='card_declined']");
    assert_eq!(
        link[0].value().attr("href"),
        Some("/docs/reference/errors/card_declined/#retry-later")
    );

    // Related codes as cards; aliases listed.
    assert_eq!(text_of(&doc, ".related-card code"), "card_declined");
    assert_eq!(text_of(&doc, ".aliases"), "Formerly: no_key, old_missing");
}

#[test]
fn front_matter_text_is_escaped() {
    let site = fixture("basic");
    build(site.path());
    let out = site.path().join("public");
    let doc = page(&out, "reference/errors/escape_me/index.html");
    assert_eq!(text_of(&doc, "h1"), "<script>alert(1)</script> & friends");
    assert!(select(&doc, "h1 script").is_empty());
    assert!(select(&doc, ".lead b").is_empty());
    assert_eq!(select(&doc, "script").len(), 1, "only the theme's script");
    let catalog = page(&out, "reference/errors/index.html");
    assert!(select(&catalog, ".catalog-title script").is_empty());
}

#[test]
fn catalog_groups_by_category_in_configured_order() {
    let site = fixture("basic");
    build(site.path());
    let doc = page(&site.path().join("public"), "reference/errors/index.html");
    let groups = select(&doc, "section.catalog-group");
    let names: Vec<_> = groups
        .iter()
        .map(|g| g.value().attr("data-category").unwrap())
        .collect();
    assert_eq!(names, ["Billing", "Auth"]);
    let codes: Vec<String> = select(&doc, ".catalog-row .catalog-code code")
        .iter()
        .map(|c| c.text().collect())
        .collect();
    assert_eq!(codes, ["card_declined", "escape_me", "key_missing"]);
    let row = select(&doc, ".catalog-row[data-code='key_missing']");
    assert_eq!(row[0].value().attr("data-status"), Some("401"));
    let title: String = row[0]
        .select(&scraper::Selector::parse(".catalog-title .catalog-name").unwrap())
        .next()
        .unwrap()
        .text()
        .collect();
    assert_eq!(title, "Key missing");
}

#[test]
fn index_json_matches_content() {
    let site = fixture("basic");
    build(site.path());
    let text =
        std::fs::read_to_string(site.path().join("public/reference/errors/index.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let errors = v["errors"].as_array().unwrap();
    let codes: Vec<_> = errors.iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        ["card_declined", "escape_me", "key_missing"],
        "sorted, drafts left out"
    );
    let km = &errors[2];
    assert_eq!(km["title"], "Key missing");
    assert_eq!(km["status"], 401);
    assert_eq!(km["category"], "Auth");
    assert_eq!(km["summary"], "No key was sent.");
    assert_eq!(
        km["url"],
        "https://x.test/docs/reference/errors/key_missing/"
    );
    assert_eq!(km["scope"], "All endpoints");
    assert_eq!(km["retryable"], false);
    assert_eq!(km["deprecated"], false);
    assert_eq!(km["since"], "2024-03");
    assert_eq!(km["related"], serde_json::json!(["card_declined"]));
    assert_eq!(km["aliases"], serde_json::json!(["no_key", "old_missing"]));
    let cd = &errors[0];
    assert_eq!(cd["deprecated"], true);
    assert_eq!(cd["deprecation_message"], "Use payment_failed instead.");
    assert_eq!(cd["scope"], serde_json::Value::Null);
}

#[test]
fn every_internal_url_carries_the_base_path() {
    let site = fixture("basic");
    build(site.path());
    let out = site.path().join("public");
    let mut checked = 0;
    for (rel, bytes) in snapshot(&out) {
        if rel.extension().is_none_or(|e| e != "html") {
            continue;
        }
        let doc = scraper::Html::parse_document(&String::from_utf8(bytes).unwrap());
        for el in select(&doc, "[href], [src], [action]") {
            for attr in ["href", "src", "action"] {
                let Some(url) = el.value().attr(attr) else {
                    continue;
                };
                if url.starts_with('/') {
                    assert!(url.starts_with("/docs/"), "{}: {attr}={url}", rel.display());
                    // The target exists in the output.
                    let path = url.trim_start_matches("/docs/").split('#').next().unwrap();
                    let file = if path.is_empty() || path.ends_with('/') {
                        out.join(path).join("index.html")
                    } else {
                        out.join(path)
                    };
                    assert!(file.exists(), "{}: {url} has no file", rel.display());
                    checked += 1;
                } else {
                    assert!(
                        url.starts_with('#') || url.starts_with("https://"),
                        "{}: unexpected {attr}={url}",
                        rel.display()
                    );
                }
            }
        }
    }
    assert!(checked > 50, "checked {checked} links");
}

#[test]
fn base_url_override_for_previews() {
    let site = fixture("basic");
    let opts = errdocs::BuildOptions {
        load: errdocs::LoadOptions {
            base_url: Some("https://preview.test/pr-9/".into()),
            drafts: false,
        },
        output: None,
        adopt: false,
    };
    errdocs::build(site.path(), &opts).unwrap();
    let doc = page(
        &site.path().join("public"),
        "reference/errors/key_missing/index.html",
    );
    let css = select(&doc, "link[rel='stylesheet']")[0]
        .value()
        .attr("href")
        .unwrap()
        .to_string();
    assert!(css.starts_with("/pr-9/assets/errdocs."), "{css}");
    let canonical = select(&doc, "link[rel='canonical']")[0]
        .value()
        .attr("href")
        .unwrap()
        .to_string();
    assert_eq!(
        canonical,
        "https://preview.test/pr-9/reference/errors/key_missing/"
    );
}

#[test]
fn aliases_redirect_to_the_current_code() {
    let site = fixture("basic");
    build(site.path());
    for alias in ["no_key", "old_missing"] {
        let doc = page(
            &site.path().join("public"),
            &format!("reference/errors/{alias}/index.html"),
        );
        let refresh = select(&doc, "meta[http-equiv='refresh']");
        assert_eq!(
            refresh[0].value().attr("content"),
            Some("0; url=/docs/reference/errors/key_missing/")
        );
        let canonical = select(&doc, "link[rel='canonical']");
        assert_eq!(
            canonical[0].value().attr("href"),
            Some("https://x.test/docs/reference/errors/key_missing/")
        );
    }
}

#[test]
fn home_guides_404_sitemap_and_assets() {
    let site = fixture("basic");
    build(site.path());
    let out = site.path().join("public");
    let home = page(&out, "index.html");
    assert_eq!(text_of(&home, "h1"), "Fixture home");
    let guide = page(&out, "guides/retries/index.html");
    assert_eq!(
        text_of(&guide, "h1"),
        "Retries",
        "title from the leading # heading"
    );
    assert_eq!(select(&guide, "h1").len(), 1);
    let link = select(&guide, ".prose a");
    assert_eq!(
        link[0].value().attr("href"),
        Some("/docs/reference/errors/card_declined/")
    );
    let notfound = page(&out, "404.html");
    assert_eq!(text_of(&notfound, "h1"), "Page not found");

    let sitemap = std::fs::read_to_string(out.join("sitemap.xml")).unwrap();
    let xml = roxmltree::Document::parse(&sitemap).unwrap();
    let locs: Vec<&str> = xml
        .descendants()
        .filter(|n| n.has_tag_name("loc"))
        .filter_map(|n| n.text())
        .collect();
    assert!(locs.contains(&"https://x.test/docs/"));
    assert!(locs.contains(&"https://x.test/docs/reference/errors/"));
    assert!(locs.contains(&"https://x.test/docs/reference/errors/key_missing/"));
    assert!(locs.contains(&"https://x.test/docs/guides/retries/"));
    assert!(
        !locs.iter().any(|l| l.contains("no_key")),
        "redirects are not in the sitemap"
    );
    assert!(!locs.iter().any(|l| l.contains("secret_draft")));

    // Theme assets: fingerprinted CSS (with syntax colours) and JS; static files as-is.
    let assets: Vec<String> = std::fs::read_dir(out.join("assets"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let css = assets.iter().find(|a| a.ends_with(".css")).expect("css");
    assert!(std::fs::read_to_string(out.join("assets").join(css))
        .unwrap()
        .contains(".hl-code"));
    assert!(assets
        .iter()
        .any(|a| a.starts_with("errdocs.") && a.ends_with(".js")));
    assert!(out.join("favicon.svg").is_file());
}

#[test]
fn drafts_build_only_with_the_flag() {
    let site = fixture("basic");
    build(site.path());
    assert!(!site
        .path()
        .join("public/reference/errors/secret_draft")
        .exists());
    let opts = errdocs::BuildOptions {
        load: errdocs::LoadOptions {
            base_url: None,
            drafts: true,
        },
        output: None,
        adopt: false,
    };
    errdocs::build(site.path(), &opts).unwrap();
    assert!(site
        .path()
        .join("public/reference/errors/secret_draft/index.html")
        .is_file());
}

#[test]
fn site_templates_and_static_override_the_theme() {
    let site = fixture("basic");
    write(
        site.path(),
        "templates/404.html",
        "{% extends \"base.html\" %}{% block main %}<h1>Lost at sea</h1><p>{{ site.title }}</p>{% endblock main %}",
    );
    write(
        site.path(),
        "static/favicon.svg",
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    );
    write(site.path(), "static/img/logo.png", "png");
    build(site.path());
    let out = site.path().join("public");
    let doc = page(&out, "404.html");
    assert_eq!(text_of(&doc, "h1"), "Lost at sea");
    assert_eq!(text_of(&doc, "main p"), "Fixture API");
    assert_eq!(
        std::fs::read_to_string(out.join("favicon.svg")).unwrap(),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>"
    );
    assert!(out.join("img/logo.png").is_file());
}

#[test]
fn sidebar_entries_carry_what_a_link_needs() {
    let site = fixture("basic");
    write(
        site.path(),
        "templates/error.html",
        "{% extends \"base.html\" %}{% block main %}<ol>{% for s in siblings %}\
         <li data-code=\"{{ s.code }}\" data-status=\"{{ s.status }}\" data-deprecated=\"{{ s.deprecated }}\">\
         <a href=\"{{ s.url }}\">{{ s.title }}</a></li>{% endfor %}</ol>\
         <p class=\"prev\">{% if prev %}{{ prev.summary }}{% endif %}</p>{% endblock main %}",
    );
    build(site.path());
    let doc = page(
        &site.path().join("public"),
        "reference/errors/key_missing/index.html",
    );
    let entries: Vec<(String, String, String, String, String)> = select(&doc, "main li")
        .iter()
        .map(|li| {
            let attr = |n: &str| li.value().attr(n).unwrap_or_default().to_string();
            let a = li
                .select(&scraper::Selector::parse("a").unwrap())
                .next()
                .unwrap();
            (
                attr("data-code"),
                attr("data-status"),
                attr("data-deprecated"),
                a.value().attr("href").unwrap_or_default().to_string(),
                a.text().collect(),
            )
        })
        .collect();
    let entry = |code: &str, status: &str, title: &str| {
        (
            code.to_string(),
            status.to_string(),
            "false".to_string(),
            format!("/docs/reference/errors/{code}/"),
            title.to_string(),
        )
    };
    assert_eq!(
        entries,
        vec![
            entry("escape_me", "403", "<script>alert(1)</script> & friends"),
            entry("key_missing", "401", "Key missing"),
        ]
    );
    // The neighbours are whole summaries.
    assert_eq!(text_of(&doc, "main p.prev"), "Summary with <b>tags</b>");
}

#[test]
fn a_failed_build_leaves_the_old_output_byte_for_byte() {
    let site = fixture("basic");
    build(site.path());
    let out = site.path().join("public");
    let before = snapshot(&out);
    assert!(!before.is_empty());
    // Break one page in a way only the render stage finds, and another in front matter.
    write(site.path(), "content/errors/billing/broken.md", "---\ncode: broken\ntitle: B\nstatus: 500\ncategory: Billing\nsummary: s\n---\n```json\n{ nope }\n```\n");
    let err = errdocs::build(site.path(), &errdocs::BuildOptions::default()).unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert_eq!(snapshot(&out), before);
    write(
        site.path(),
        "content/errors/billing/broken.md",
        "---\ncode: [\n---\n",
    );
    assert!(errdocs::build(site.path(), &errdocs::BuildOptions::default()).is_err());
    assert_eq!(snapshot(&out), before);
    // No staging folder is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(site.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("errdocs-staging") || n.contains("errdocs-old"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_build_removes_only_the_files_it_wrote_before() {
    let site = fixture("basic");
    build(site.path());
    let out = site.path().join("public");
    std::fs::write(out.join("stale.html"), "placed by hand").unwrap();
    // A file errdocs wrote, rewritten by hand since: no longer errdocs'.
    std::fs::write(out.join("reference/errors/escape_me.md"), "edited by hand").unwrap();
    std::fs::remove_file(site.path().join("content/errors/auth/escape_me.md")).unwrap();
    let o = crate::common::errdocs(&["build", "-r", site.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("escape_me.md: errdocs wrote it"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(out.join("stale.html")).unwrap(),
        "placed by hand"
    );
    assert!(!out.join("reference/errors/escape_me").exists());
    assert_eq!(
        std::fs::read_to_string(out.join("reference/errors/escape_me.md")).unwrap(),
        "edited by hand"
    );
    // Kept as someone else's: the next build leaves it alone, silently.
    let o = crate::common::errdocs(&["build", "-r", site.path().to_str().unwrap()]);
    assert!(!stderr(&o).contains("errdocs wrote it"), "{}", stderr(&o));
    assert!(out.join("reference/errors/escape_me.md").is_file());
}

#[test]
fn an_updated_output_equals_a_fresh_build() {
    let site = fixture("basic");
    build(site.path());
    let out = site.path().join("public");
    // Changes of every kind: a page gone, a page new, a page edited, an
    // alias at the place of a page that went.
    std::fs::remove_file(site.path().join("content/errors/auth/escape_me.md")).unwrap();
    write(
        site.path(),
        "content/errors/auth/token_expired.md",
        "---\ncode: token_expired\ntitle: Token expired\nstatus: 401\ncategory: Auth\nsummary: The token is too old.\naliases: [escape_me]\n---\n\n## What this means\n\nGet a new token.\n",
    );
    let key = site.path().join("content/errors/auth/key_missing.md");
    let text = std::fs::read_to_string(&key).unwrap();
    std::fs::write(&key, text.replace("Do not retry.", "Never retry.")).unwrap();
    build(site.path());
    let fresh = tempfile::tempdir().unwrap();
    let fresh_out = fresh.path().join("public");
    errdocs::build(
        site.path(),
        &errdocs::BuildOptions {
            output: Some(fresh_out.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(snapshot(&out), snapshot(&fresh_out));
    // No empty folders are left behind, and no staging folder beside it.
    for entry in walkdir::WalkDir::new(&out).min_depth(1) {
        let entry = entry.unwrap();
        if entry.file_type().is_dir() {
            assert!(
                std::fs::read_dir(entry.path()).unwrap().next().is_some(),
                "{:?} is empty",
                entry.path()
            );
        }
    }
    let beside: Vec<_> = std::fs::read_dir(site.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("errdocs-staging"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
}

#[test]
fn a_file_errdocs_did_not_write_at_a_path_it_writes_is_an_error_naming_it() {
    let site = fixture("basic");
    build(site.path());
    let out = site.path().join("public");
    write(
        site.path(),
        "content/errors/auth/token_expired.md",
        "---\ncode: token_expired\ntitle: Token expired\nstatus: 401\ncategory: Auth\nsummary: The token is too old.\n---\n\n## What this means\n\nGet a new token.\n",
    );
    // A folder where the new page goes, a file where its folder goes.
    for (rel, file) in [
        (
            "reference/errors/token_expired",
            "a file where a folder goes",
        ),
        ("reference/errors/token_expired/index.html/x", "in the way"),
        ("reference/errors/token_expired.md", "by hand"),
    ] {
        let before = snapshot(&out);
        write(&out, rel, file);
        let with_it = snapshot(&out);
        let err = errdocs::build(site.path(), &errdocs::BuildOptions::default()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let msg = err.to_string();
        let first = rel.split("/x").next().unwrap();
        assert!(
            msg.contains(&out.join(first).display().to_string()),
            "{msg}"
        );
        assert!(msg.contains("was not written by errdocs"), "{msg}");
        assert_eq!(snapshot(&out), with_it, "the output is untouched");
        let top = out.join(first);
        if top.is_dir() {
            std::fs::remove_dir_all(top).unwrap();
        } else {
            std::fs::remove_file(top).unwrap();
        }
        assert_eq!(snapshot(&out), before);
    }
    build(site.path());
    assert!(out
        .join("reference/errors/token_expired/index.html")
        .is_file());

    // A link of someone else's where the build writes into a folder: an
    // error, and nothing is written through it.
    #[cfg(unix)]
    {
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::remove_dir_all(out.join("assets")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), out.join("assets")).unwrap();
        let err = errdocs::build(site.path(), &errdocs::BuildOptions::default()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&out.join("assets").display().to_string()),
            "{msg}"
        );
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }
}

#[test]
fn refuses_output_folders_that_hold_the_site() {
    let site = fixture("basic");
    let root = site.path();
    for out in [
        root.to_path_buf(),
        root.join(".."),
        root.join("content"),
        root.join("content/errors/out"),
        root.join("static/out"),
    ] {
        let opts = errdocs::BuildOptions {
            output: Some(out.clone()),
            ..Default::default()
        };
        let err = errdocs::build(root, &opts).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{}", out.display());
        assert!(err.to_string().contains("refusing"), "{err}");
    }
    // A non-empty folder that errdocs did not write is never replaced.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("notes.txt"), "keep me").unwrap();
    let opts = errdocs::BuildOptions {
        output: Some(other.path().to_path_buf()),
        ..Default::default()
    };
    assert!(errdocs::build(root, &opts).is_err());
    assert_eq!(
        std::fs::read_to_string(other.path().join("notes.txt")).unwrap(),
        "keep me"
    );
}

#[test]
fn cli_build_reports_every_problem_with_positions_and_exit_1() {
    let site = fixture("basic");
    let root = site.path();
    write(
        root,
        "content/errors/auth/bad_status.md",
        "---\ncode: bad_status\ntitle: T\nstatus: \"401\"\ncategory: Auth\nsummary: s\n---\n",
    );
    write(root, "content/errors/auth/bad_link.md", "---\ncode: bad_link\ntitle: T\nstatus: 401\ncategory: Auth\nsummary: s\n---\n\nSee [x](nowhere.md).\n");
    let o = errdocs(&["build", "-r", root.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("content/errors/auth/bad_link.md:9:5: error: link to `nowhere.md`"),
        "{err}"
    );
    assert!(err.contains("content/errors/auth/bad_status.md:4:9: error: status: invalid type: string \"401\", expected an integer"), "{err}");
    assert!(
        err.contains("4 | status: \"401\""),
        "source line shown: {err}"
    );
    assert!(!root.join("public").exists(), "nothing written");
}

#[test]
fn cli_bad_settings_exit_2() {
    let site = fixture("basic");
    write(
        site.path(),
        "site.yaml",
        "title: x\nbase_urll: https://x.test\n",
    );
    let o = errdocs(&["build", "-r", site.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("site.yaml:2:1: error: unknown key `base_urll`; did you mean `base_url`?"),
        "{err}"
    );
}

#[test]
fn cli_build_succeeds_and_says_where() {
    let site = fixture("basic");
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("site");
    let o = errdocs(&[
        "build",
        "-r",
        site.path().to_str().unwrap(),
        "-o",
        target.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("built 3 error pages"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("unknown-language") || stderr(&o).contains("klingon"),
        "warning shown"
    );
    assert!(target
        .join("reference/errors/key_missing/index.html")
        .is_file());
}

#[test]
fn a_site_with_only_content_builds() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "content/errors/only.md",
        "---\ncode: only\ntitle: Only\nstatus: 500\ncategory: Server\nsummary: s\n---\n\n## What this means\n\nx\n",
    );
    build(dir.path());
    let out = dir.path().join("public");
    let doc = page(&out, "reference/errors/only/index.html");
    assert_eq!(text_of(&doc, "h1"), "Only");
    assert!(out.join("index.html").is_file(), "a default home page");
    assert!(out.join("404.html").is_file());
}

#[test]
fn serial_and_parallel_builds_give_identical_bytes() {
    let site = fixture("basic");
    let out = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for threads in ["1", "4"] {
        let target = out.path().join(format!("t{threads}"));
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_errdocs"))
            .args([
                "build",
                "-r",
                site.path().to_str().unwrap(),
                "-o",
                target.to_str().unwrap(),
            ])
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        outputs.push(snapshot(&target));
    }
    assert_eq!(outputs[0], outputs[1]);
    // A warm build (highlight cache on disk) gives the same bytes as a cold one.
    assert!(site.path().join(".errdocs-cache").is_dir());
    let again = out.path().join("warm");
    let o = errdocs(&[
        "build",
        "-r",
        site.path().to_str().unwrap(),
        "-o",
        again.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert_eq!(snapshot(&again), outputs[0]);
}

#[cfg(unix)]
#[test]
fn unchanged_files_keep_their_modification_time() {
    use std::os::unix::fs::MetadataExt;
    let site = fixture("basic");
    build(site.path());
    let out = site.path().join("public");
    let stamp = |rel: &str| {
        let m = std::fs::metadata(out.join(rel)).unwrap();
        (m.ino(), m.mtime(), m.mtime_nsec())
    };
    let same = "reference/errors/escape_me/index.html";
    let before = stamp(same);
    let css_before =
        std::fs::read_to_string(out.join("reference/errors/key_missing/index.html")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    // Change one page's body only.
    let key = site.path().join("content/errors/auth/key_missing.md");
    let text = std::fs::read_to_string(&key).unwrap();
    std::fs::write(&key, text.replace("Do not retry.", "Never retry.")).unwrap();
    build(site.path());
    assert_eq!(stamp(same), before, "an unchanged page is the same file");
    let changed =
        std::fs::read_to_string(out.join("reference/errors/key_missing/index.html")).unwrap();
    assert_ne!(changed, css_before);
    assert!(changed.contains("Never retry."));
    // A failed build after that still leaves this output as it is.
    let snap = snapshot(&out);
    write(
        site.path(),
        "content/errors/auth/broken.md",
        "---\ncode: [\n---\n",
    );
    assert!(errdocs::build(site.path(), &errdocs::BuildOptions::default()).is_err());
    assert_eq!(snapshot(&out), snap);
}

/// The output of a clean build of a copy of `root`'s sources (no cache, no
/// previous output).
fn fresh_snapshot(root: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let copy = tempfile::tempdir().unwrap();
    for dir in ["content", "templates", "static"] {
        if root.join(dir).is_dir() {
            crate::common::copy_tree(&root.join(dir), &copy.path().join(dir));
        }
    }
    std::fs::copy(root.join("site.yaml"), copy.path().join("site.yaml")).unwrap();
    let report = build(copy.path());
    assert_eq!(report.reused_pages, 0);
    snapshot(&copy.path().join("public"))
}

#[test]
fn warm_builds_keep_unchanged_pages_and_match_a_clean_build() {
    let site = fixture("basic");
    let root = site.path();
    let out = root.join("public");
    assert_eq!(build(root).reused_pages, 0);
    let highlights = root.join(".errdocs-cache/highlight-v2.bin");
    let cached = std::fs::read(&highlights).unwrap();
    // Nothing changed: every code page is kept, and so are the highlighted
    // blocks they show.
    assert_eq!(build(root).reused_pages, 3);
    assert_eq!(snapshot(&out), fresh_snapshot(root));
    assert_eq!(std::fs::read(&highlights).unwrap(), cached);

    // A title that other pages show (key_missing relates to card_declined):
    // both pages are rendered again.
    let card = root.join("content/errors/billing/card_declined.md");
    let text = std::fs::read_to_string(&card).unwrap();
    std::fs::write(
        &card,
        text.replace("title: Card declined", "title: Card refused"),
    )
    .unwrap();
    let report = build(root);
    assert_eq!(report.reused_pages, 1, "only escape_me is untouched");
    assert_eq!(snapshot(&out), fresh_snapshot(root));
    let doc = page(&out, "reference/errors/card_declined/index.html");
    assert_eq!(text_of(&doc, "h1"), "Card refused");

    // A warning of a kept page is still reported (card_declined has a
    // block in a language the highlighter does not know).
    let report = build(root);
    assert_eq!(report.reused_pages, 3);
    assert!(report.warnings.iter().any(|d| d.rule == "unknown-language"));

    // A heading that a kept page links to goes away: the link is reported.
    std::fs::write(&card, text.replace("## Retry later", "## Try later")).unwrap();
    match errdocs::build(root, &errdocs::BuildOptions::default()) {
        Err(errdocs::Error::Content(problems)) => {
            let broken: Vec<_> = problems
                .iter()
                .filter(|d| d.rule == "broken-anchor")
                .collect();
            assert_eq!(broken.len(), 1, "{problems:?}");
            assert!(broken
                .iter()
                .any(|d| d.file.ends_with("content/errors/auth/key_missing.md")));
        }
        other => panic!("expected content errors, got {other:?}"),
    }
    std::fs::write(&card, &text).unwrap();

    // A guide's new title shows in the site-wide files (llms.txt, navigation).
    write(root, "content/guides/retries.md", "---\ntitle: Retrying safely\ndescription: When to try again.\n---\n\nRetry [declined cards](../errors/billing/card_declined.md) never.\n");
    build(root);
    assert_eq!(snapshot(&out), fresh_snapshot(root));
    assert!(std::fs::read_to_string(out.join("llms.txt"))
        .unwrap()
        .contains("[Retrying safely]"));

    // A page file changed by hand is written again.
    build(root);
    let file = out.join("reference/errors/escape_me/index.html");
    std::fs::write(&file, "edited").unwrap();
    let report = build(root);
    assert_eq!(report.reused_pages, 2);
    assert_eq!(snapshot(&out), fresh_snapshot(root));

    // A template override renders every page again.
    write(
        root,
        "templates/error.html",
        "{% extends \"base.html\" %}{% block main %}<p>{{ error.code }}</p>{% endblock main %}",
    );
    assert_eq!(build(root).reused_pages, 0);
    assert_eq!(snapshot(&out), fresh_snapshot(root));
}

#[test]
fn a_broken_template_override_is_named_with_its_line_and_nothing_is_written() {
    let site = fixture("basic");
    build(site.path());
    let out = site.path().join("public");
    let before = snapshot(&out);
    let root = site.path().to_str().unwrap();

    // Does not compile: both commands name the template and the line.
    write(
        site.path(),
        "templates/error.html",
        "{% extends \"base.html\" %}\n{% block main %}\n<h1>{{ error.code </h1>\n{% endblock main %}\n",
    );
    for command in ["build", "check"] {
        let o = errdocs(&[command, "--root", root]);
        assert_eq!(o.status.code(), Some(2), "{command}");
        let err = stderr(&o);
        assert!(
            err.starts_with("error: template error: Found `</`"),
            "{command}: {err}"
        );
        assert!(err.contains("error.html:3:"), "{command}: {err}");
    }
    assert_eq!(snapshot(&out), before);

    // Compiles but fails to render: the build names the template and the variable.
    write(
        site.path(),
        "templates/error.html",
        "{% extends \"base.html\" %}\n{% block main %}\n<h1>{{ error.no_such_field.name }}</h1>\n{% endblock main %}\n",
    );
    let o = errdocs(&["build", "--root", root]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("error.html:3:"), "{err}");
    assert!(err.contains("`no_such_field` is not defined"), "{err}");
    assert_eq!(snapshot(&out), before);
}
