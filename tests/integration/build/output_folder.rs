//! The output folder's guarantees, attacked: errdocs deletes and replaces
//! only what it wrote, a killed build leaves the old site or the new one,
//! one build writes at a time, nothing from outside the site root is read
//! or published, a damaged cache never reaches a page, and a wrong root
//! replaces nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// A small seeded generator, so that a failing run can be repeated.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn seed() -> u64 {
    std::env::var("ERRDOCS_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2026)
}

/// Every file under `dir` (links included, not followed) by relative path,
/// with its bytes; for comparing whole folders.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| !e.file_type().is_dir())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let bytes = if e.file_type().is_symlink() {
                let target = std::fs::read_link(e.path()).unwrap();
                format!("-> {}", target.display()).into_bytes()
            } else {
                std::fs::read(e.path()).unwrap()
            };
            (rel, bytes)
        })
        .collect()
}

fn errdocs_cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_errdocs"));
    cmd.args(args).env("NO_COLOR", "1");
    cmd
}

fn build_into(root: &Path, out: &Path) -> std::process::Output {
    errdocs_cmd(&[
        "build",
        "-r",
        root.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ])
    .output()
    .unwrap()
}

fn build_ok(root: &Path, out: &Path) {
    let o = build_into(root, out);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// What stands beside `out` that errdocs left there, but its lock and the
/// next tree it keeps.
fn debris(out: &Path) -> Vec<String> {
    let name = out.file_name().unwrap().to_string_lossy().into_owned();
    let ours = format!(".{name}.errdocs-");
    let kept = [format!("{ours}lock"), format!("{ours}next")];
    std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&ours) && !kept.contains(n))
        .collect()
}

/// Files someone else keeps in a published folder.
fn add_foreign_files(out: &Path) {
    write(out, "CNAME", "docs.example.com\n");
    write(out, ".nojekyll", "");
    write(out, ".git/HEAD", "ref: refs/heads/gh-pages\n");
    write(out, "reference/errors/NOTES.txt", "kept by hand\n");
}

/// Two versions of a generated site of a few hundred pages: B has more
/// codes, so every page's sidebar, the catalog and the index change.
fn two_versions(base: &Path) -> (PathBuf, PathBuf) {
    let (a, b) = (base.join("a"), base.join("b"));
    crate::corpus::generate(&a, 240).unwrap();
    crate::corpus::generate(&b, 300).unwrap();
    crate::corpus::edit_one_page(&b, 7).unwrap();
    (a, b)
}

#[test]
fn killed_builds_leave_the_previous_site_or_the_new_one_never_a_mix() {
    let runs: usize = std::env::var("ERRDOCS_KILL_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let budget = Duration::from_secs(
        std::env::var("ERRDOCS_KILL_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    let base = tempfile::tempdir().unwrap();
    let (a, b) = two_versions(base.path());
    // The expected folders: clean builds, with the same foreign files.
    let mut expected = Vec::new();
    for (root, name) in [(&a, "clean-a"), (&b, "clean-b")] {
        let out = base.path().join(name);
        build_ok(root, &out);
        add_foreign_files(&out);
        expected.push((files(&out), ()));
    }
    assert_ne!(expected[0].0, expected[1].0);
    // How long one switch of the output takes: the window to kill in.
    let out = base.path().join("public");
    build_ok(&a, &out);
    add_foreign_files(&out);
    let mut longest = Duration::ZERO;
    for root in [&b, &a] {
        let start = Instant::now();
        build_ok(root, &out);
        longest = longest.max(start.elapsed());
    }
    let mut state = 0usize;
    let mut rng = Rng(seed());
    let (mut kept_old, mut got_new, mut finished) = (0, 0, 0);
    let start = Instant::now();
    let mut done = 0;
    while done < runs && start.elapsed() < budget {
        let next = 1 - state;
        let root = if next == 0 { &a } else { &b };
        let mut child = errdocs_cmd(&["build", "-r", root.to_str().unwrap(), "-o"])
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // From a third of a build to just past its end, where its files
        // are written and the output switched; the length of a build is
        // learnt from those that finish first.
        let window = longest.as_micros() as u64;
        let delay = if done % 2 == 0 {
            window / 3 + rng.below(window * 8 / 10)
        } else {
            // Half of the kills aim at the end, where the switch is.
            window * 9 / 10 + rng.below(window * 2 / 10)
        };
        let launched = Instant::now();
        let mut exited = false;
        while launched.elapsed() < Duration::from_micros(delay) {
            if child.try_wait().unwrap().is_some() {
                exited = true;
                longest = launched.elapsed();
                break;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        let _ = child.kill();
        let _ = child.wait();
        let now = files(&out);
        let found = expected.iter().position(|(e, _)| *e == now);
        let Some(found) = found else {
            let differ: Vec<_> = now
                .iter()
                .filter(|(k, v)| expected[state].0.get(*k) != Some(v))
                .map(|(k, _)| k.clone())
                .take(5)
                .collect();
            panic!(
                "run {done} (seed {}, {delay} µs): the output is neither site; differs from the previous in {differ:?}",
                seed()
            );
        };
        if !exited && found == state && rng.below(4) == 0 {
            // Killed before the switch: the build may be slower than thought.
            longest = longest * 11 / 10;
        }
        if exited {
            finished += 1;
        } else if found == state {
            kept_old += 1;
        } else {
            got_new += 1;
        }
        state = found;
        done += 1;
    }
    eprintln!(
        "{done} killed builds ({} ms a build): {kept_old} left the previous site, {got_new} the new one, {finished} had finished",
        longest.as_millis()
    );
    assert!(done >= runs.min(10), "only {done} runs in the time allowed");
    assert!(kept_old + got_new > 0, "no build was killed while running");
    // The next build removes whatever the killed ones left beside the output.
    build_ok(if state == 0 { &b } else { &a }, &out);
    assert_eq!(files(&out), expected[1 - state].0);
    assert_eq!(debris(&out), Vec::<String>::new());
    let cache_debris: Vec<_> = [&a, &b]
        .iter()
        .flat_map(|r| std::fs::read_dir(r.join(".errdocs-cache")).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".new") || n.ends_with(".tmp"))
        .collect();
    // Only the cache of the site just built is cleaned by that build.
    let just_built = if state == 0 { &b } else { &a };
    let left_in_built: Vec<_> = std::fs::read_dir(just_built.join(".errdocs-cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".new") || n.ends_with(".tmp"))
        .collect();
    assert!(
        left_in_built.is_empty(),
        "{left_in_built:?} of {cache_debris:?}"
    );
}

#[test]
fn two_builds_at_once_end_as_one_of_the_two_sites() {
    let base = tempfile::tempdir().unwrap();
    let (a, b) = two_versions(base.path());
    let mut expected = Vec::new();
    for (root, name) in [(&a, "clean-a"), (&b, "clean-b")] {
        let out = base.path().join(name);
        build_ok(root, &out);
        expected.push(files(&out));
    }
    let out = base.path().join("public");
    let mut waited = 0;
    for round in 0..4 {
        let spawn = |root: &Path| {
            errdocs_cmd(&["build", "-r", root.to_str().unwrap(), "-o"])
                .arg(&out)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (first, second) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let x = spawn(first);
        let y = spawn(second);
        let (x, y) = (x.wait_with_output().unwrap(), y.wait_with_output().unwrap());
        assert!(x.status.success(), "{}", stderr(&x));
        assert!(y.status.success(), "{}", stderr(&y));
        waited += [&x, &y]
            .iter()
            .filter(|o| stderr(o).contains("waiting for another errdocs process"))
            .count();
        let now = files(&out);
        assert!(
            now == expected[0] || now == expected[1],
            "round {round}: a mix of two sites"
        );
        assert_eq!(debris(&out), Vec::<String>::new());
    }
    assert!(waited > 0, "no build ever waited for the other");
}

#[test]
fn a_folder_errdocs_did_not_write_is_refused_and_left_as_it_was() {
    let site = fixture("basic");
    let other = tempfile::tempdir().unwrap();
    let hugo = other.path().join("hugo-site");
    write(&hugo, "sitemap.xml", "<urlset/>");
    write(&hugo, "index.html", "<h1>Someone else's site</h1>");
    write(&hugo, "posts/hello/index.html", "hello");
    let before = files(&hugo);
    let o = build_into(site.path(), &hugo);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let msg = stderr(&o);
    assert!(msg.contains("errdocs did not write it"), "{msg}");
    assert!(msg.contains("--adopt"), "{msg}");
    assert_eq!(files(&hugo), before);
    assert_eq!(debris(&hugo), Vec::<String>::new());

    // Adopted, its files are kept, and one at a path the build writes is
    // an error naming it.
    let o = errdocs_cmd(&[
        "build",
        "--adopt",
        "-r",
        site.path().to_str().unwrap(),
        "-o",
    ])
    .arg(&hugo)
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let msg = stderr(&o);
    assert!(
        msg.contains(&hugo.join("index.html").display().to_string()),
        "{msg}"
    );
    assert!(msg.contains("sitemap.xml"), "{msg}");
    assert_eq!(files(&hugo), before);
    std::fs::remove_file(hugo.join("index.html")).unwrap();
    std::fs::remove_file(hugo.join("sitemap.xml")).unwrap();
    let o = errdocs_cmd(&[
        "build",
        "--adopt",
        "-r",
        site.path().to_str().unwrap(),
        "-o",
    ])
    .arg(&hugo)
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(hugo.join("posts/hello/index.html")).unwrap(),
        b"hello"
    );
    assert!(hugo
        .join("reference/errors/key_missing/index.html")
        .is_file());
    // From then on it is errdocs' folder: no flag needed.
    build_ok(site.path(), &hugo);

    // A damaged record is refused too: errdocs cannot tell its files apart.
    let record = hugo.join(".errdocs-manifest");
    let mut bytes = std::fs::read(&record).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    std::fs::write(&record, bytes).unwrap();
    let before = files(&hugo);
    let o = build_into(site.path(), &hugo);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("damaged"), "{}", stderr(&o));
    assert_eq!(files(&hugo), before);
}

#[test]
fn a_git_worktree_output_keeps_its_repository_and_its_files() {
    let site = fixture("basic");
    let out = site.path().join("public");
    build_ok(site.path(), &out);
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .args(["-c", "user.name=Docs", "-c", "user.email=docs@example.com"])
            .args(args)
            .current_dir(&out)
            .output()
            .expect("git runs");
        assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    git(&["init", "-q", "-b", "gh-pages"]);
    write(&out, "CNAME", "docs.example.com\n");
    write(&out, ".nojekyll", "");
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "Publish"]);
    let head = git(&["rev-parse", "HEAD"]);
    let dot_git = files(&out.join(".git"));

    // A no-op rebuild, then one that changes a page.
    build_ok(site.path(), &out);
    assert_eq!(git(&["status", "--porcelain"]), "");
    let page = site.path().join("content/errors/auth/key_missing.md");
    let text = std::fs::read_to_string(&page).unwrap();
    std::fs::write(&page, text.replace("Do not retry.", "Never retry.")).unwrap();
    build_ok(site.path(), &out);
    assert_eq!(git(&["rev-parse", "HEAD"]), head);
    let status = git(&["status", "--porcelain"]);
    assert!(
        status.contains("reference/errors/key_missing/index.html"),
        "{status}"
    );
    assert!(
        !status.contains("CNAME") && !status.contains(".nojekyll"),
        "{status}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("CNAME")).unwrap(),
        "docs.example.com\n"
    );
    assert!(out.join(".nojekyll").is_file());
    // git rewrote its index on `status`; every other file of it is as it was.
    let now = files(&out.join(".git"));
    for (rel, bytes) in &dot_git {
        if rel != "index" {
            assert_eq!(now.get(rel), Some(bytes), ".git/{rel}");
        }
    }
}

#[cfg(unix)]
#[test]
fn links_out_of_the_site_are_errors_and_their_targets_appear_nowhere() {
    use std::os::unix::fs::symlink;
    let secret = "sk_live_do_not_publish_4242";
    let outside = tempfile::tempdir().unwrap();
    write(
        outside.path(),
        "token.txt",
        &format!("---\ncode: {secret}\n"),
    );
    write(outside.path(), "keys/id_ed25519", secret);
    let cases: Vec<(&str, PathBuf)> = vec![
        ("static/leak.txt", outside.path().join("token.txt")),
        ("static/keys", outside.path().join("keys")),
        ("static/environ", PathBuf::from("/proc/self/environ")),
        (
            "content/errors/auth/leak.md",
            outside.path().join("token.txt"),
        ),
        ("templates/404.html", outside.path().join("token.txt")),
        ("content/errors/stolen", outside.path().join("keys")),
    ];
    for (rel, target) in &cases {
        let site = fixture("basic");
        let root = site.path();
        std::fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
        symlink(target, root.join(rel)).unwrap();
        for cmd in ["check", "build"] {
            let o = errdocs_cmd(&[cmd, "-r", root.to_str().unwrap()])
                .env("DEPLOY_TOKEN", secret)
                .output()
                .unwrap();
            assert_ne!(o.status.code(), Some(0), "{cmd} {rel}");
            let (out, err) = (String::from_utf8_lossy(&o.stdout), stderr(&o));
            assert!(err.contains(rel), "{cmd} {rel}: {err}");
            assert!(err.contains("outside the site root"), "{cmd} {rel}: {err}");
            assert!(
                !err.contains(secret) && !out.contains(secret),
                "{cmd} {rel}: {err}"
            );
        }
        assert!(!root.join("public").exists(), "{rel}: nothing is built");
    }
    // Links that stay inside the site work, to files and to folders.
    let site = fixture("basic");
    let root = site.path();
    write(root, "shared/logo.svg", "<svg/>");
    std::fs::create_dir_all(root.join("static")).unwrap();
    symlink(root.join("shared/logo.svg"), root.join("static/logo.svg")).unwrap();
    symlink("../shared", root.join("static/img")).unwrap();
    build_ok(root, &root.join("public"));
    let out = root.join("public");
    assert_eq!(std::fs::read(out.join("logo.svg")).unwrap(), b"<svg/>");
    assert_eq!(std::fs::read(out.join("img/logo.svg")).unwrap(), b"<svg/>");
}

#[test]
fn a_damaged_cache_never_reaches_a_page() {
    let site = fixture("basic");
    let root = site.path();
    let clean = tempfile::tempdir().unwrap();
    build_ok(root, &clean.path().join("out"));
    let expected = files(&clean.path().join("out"));
    let cache = root.join(".errdocs-cache");
    let originals: Vec<(PathBuf, Vec<u8>)> = ["highlight-v2.bin", "pages-v2.json"]
        .iter()
        .map(|n| (cache.join(n), std::fs::read(cache.join(n)).unwrap()))
        .collect();
    let mut rng = Rng(seed());
    for trial in 0..30 {
        // The output folder stays the same, so the page record is used too.
        let (path, original) = &originals[trial % 2];
        let mut bytes = original.clone();
        let at = rng.below(bytes.len() as u64) as usize;
        bytes[at] ^= 1 << rng.below(8);
        std::fs::write(path, &bytes).unwrap();
        let (other_path, other) = &originals[1 - trial % 2];
        std::fs::write(other_path, other).unwrap();
        // A fresh output for the highlight cache (pages are rendered),
        // the same one for the page record (pages may be kept).
        let out = if trial % 2 == 0 {
            clean.path().join(format!("fresh-{trial}"))
        } else {
            clean.path().join("out")
        };
        build_ok(root, &out);
        assert_eq!(
            files(&out),
            expected,
            "trial {trial}: byte {at} of {}",
            path.display()
        );
    }
}

#[test]
fn a_root_without_content_or_pages_is_refused_and_replaces_nothing() {
    let site = fixture("basic");
    let out = site.path().join("public");
    build_ok(site.path(), &out);
    let before = files(&out);
    let empty = tempfile::tempdir().unwrap();
    let no_pages = tempfile::tempdir().unwrap();
    write(no_pages.path(), "content/index.md", "# Home\n");
    // Drafts only, and a folder with a page's name: no page to publish.
    let drafts = tempfile::tempdir().unwrap();
    write(
        drafts.path(),
        "content/errors/a.md",
        "---\ncode: a\ntitle: A\nstatus: 400\ncategory: A\nsummary: S\ndraft: true\n---\n\nText.\n",
    );
    std::fs::create_dir_all(drafts.path().join("content/errors/b.md")).unwrap();
    for root in [empty.path(), no_pages.path(), drafts.path()] {
        let r = root.to_str().unwrap();
        for args in [
            vec!["build", "-r", r, "-o", out.to_str().unwrap()],
            vec!["check", "-r", r],
            vec!["export", "--format", "openapi", "-r", r],
            vec!["serve", "-r", r, "--port", "0"],
        ] {
            // `serve` keeps running on a root of drafts: its overlay says
            // to pass --drafts, and a writer may publish a page live.
            if root == drafts.path() && args[0] == "serve" {
                continue;
            }
            let o = errdocs_cmd(&args).stdin(Stdio::null()).output().unwrap();
            assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
            assert!(stderr(&o).contains(r), "{args:?}: {}", stderr(&o));
        }
        assert_eq!(files(&out), before);
    }
    // Nothing was written into the folders that are not sites, nor beside
    // the output.
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
    for root in [no_pages.path(), drafts.path()] {
        assert!(!root.join(".errdocs-cache").exists());
        let elsewhere = tempfile::tempdir().unwrap();
        let o = build_into(root, &elsewhere.path().join("deeper/out"));
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }
}

#[cfg(unix)]
#[test]
fn pages_in_a_folder_linked_inside_the_root_are_found_by_every_command() {
    let site = fixture("basic");
    let root = site.path();
    std::fs::rename(root.join("content/errors"), root.join("pages")).unwrap();
    std::fs::create_dir(root.join("content/errors")).unwrap();
    std::os::unix::fs::symlink("../../pages/auth", root.join("content/errors/auth")).unwrap();
    std::os::unix::fs::symlink(
        root.join("pages/billing"),
        root.join("content/errors/billing"),
    )
    .unwrap();
    let r = root.to_str().unwrap();
    let o = errdocs_cmd(&["check", "-r", r]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    build_ok(root, &root.join("public"));
    for code in ["escape_me", "key_missing", "card_declined"] {
        let page = root.join(format!("public/reference/errors/{code}/index.html"));
        assert!(page.is_file(), "{code}");
    }
    // serve gets past its root check and listens.
    let mut child = errdocs_cmd(&["serve", "-r", r, "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = String::new();
    while Instant::now() < deadline && !seen.contains("http://") {
        line.clear();
        if std::io::BufRead::read_line(&mut err, &mut line).unwrap_or(0) == 0 {
            break;
        }
        seen.push_str(&line);
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.contains("built the site") && seen.contains("http://"),
        "{seen}"
    );
}

#[cfg(unix)]
#[test]
fn an_output_path_linked_out_of_the_site_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let theirs = outside.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    for (link, out) in [("public", "public"), ("build", "build/public")] {
        let site = fixture("basic");
        let root = site.path();
        std::os::unix::fs::symlink(&theirs, root.join(link)).unwrap();
        let o = build_into(root, &root.join(out));
        assert_eq!(o.status.code(), Some(2), "{out}");
        assert!(
            stderr(&o).contains("leads out of the site root"),
            "{}",
            stderr(&o)
        );
        let o = errdocs_cmd(&["build", "-r", root.to_str().unwrap()])
            .output()
            .unwrap();
        if link == "public" {
            assert_eq!(o.status.code(), Some(2), "default output");
        }
        assert_eq!(std::fs::read_dir(&theirs).unwrap().count(), 0, "{out}");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
    }
    // Named outright, the same folder outside is fine.
    let site = fixture("basic");
    build_ok(site.path(), &theirs);
    assert!(theirs.join("index.html").is_file());
}

#[test]
fn leftovers_of_stopped_builds_are_removed_and_others_are_not() {
    let site = fixture("basic");
    let root = site.path();
    let out = root.join("public");
    build_ok(root, &out);
    // What a build killed before its exchange leaves, and a folder of
    // someone else's with a similar name.
    write(root, ".public.errdocs-staging-999999/.errdocs-staging", "");
    write(root, ".public.errdocs-staging-999999/index.html", "half");
    write(root, ".public.errdocs-staging-mine/notes.txt", "mine");
    write(root, ".errdocs-cache/highlight-v2.bin.999999.new", "spill");
    build_ok(root, &out);
    assert!(!root.join(".public.errdocs-staging-999999").exists());
    assert!(root
        .join(".public.errdocs-staging-mine/notes.txt")
        .is_file());
    assert!(!root
        .join(".errdocs-cache/highlight-v2.bin.999999.new")
        .exists());

    // A failed build removes its own.
    write(root, "content/errors/auth/broken.md", "---\ncode: [\n---\n");
    let o = build_into(root, &out);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        debris(&out),
        vec![".public.errdocs-staging-mine".to_string()]
    );
    let spills: Vec<_> = std::fs::read_dir(root.join(".errdocs-cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".new") || n.ends_with(".tmp"))
        .collect();
    assert!(spills.is_empty(), "{spills:?}");
}

/// Runs `errdocs build` where no file may grow past `kib` KiB, as on a
/// disk that fills up: each write past it fails (EFBIG) and the build
/// goes on to handle the error, as it must handle ENOSPC.
#[cfg(unix)]
fn build_with_file_limit(root: &Path, out: &Path, kib: u64) -> std::process::Output {
    Command::new("bash")
        .args([
            "-c",
            &format!("trap '' XFSZ; ulimit -f {kib}; exec \"$0\" \"$@\""),
            env!("CARGO_BIN_EXE_errdocs"),
            "build",
            "-r",
            root.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn a_write_that_fails_leaves_the_previous_site_and_no_part_written_file() {
    let base = tempfile::tempdir().unwrap();
    let (a, b) = two_versions(base.path());
    let clean = base.path().join("clean");
    build_ok(&b, &clean);
    let site_b = files(&clean);
    let out = base.path().join("public");
    let mut outcomes = BTreeMap::new();
    for kib in [4, 16, 64, 256, 1024, 4096, 1 << 20] {
        let _ = std::fs::remove_dir_all(&out);
        build_ok(&a, &out);
        let site_a = files(&out);
        let _ = std::fs::remove_dir_all(b.join(".errdocs-cache"));
        let o = build_with_file_limit(&b, &out, kib);
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "{kib} KiB: {err}");
        let now = files(&out);
        let which = if now == site_b {
            "new"
        } else {
            assert!(now == site_a, "{kib} KiB: a mix of two builds; {err}");
            "previous"
        };
        // No success after a failed write of the site.
        if o.status.success() {
            assert_eq!(which, "new", "{kib} KiB: {err}");
        } else {
            assert!(err.contains("error"), "{kib} KiB: {err}");
        }
        assert!(debris(&out).is_empty(), "{kib} KiB: {:?}", debris(&out));
        let cache = b.join(".errdocs-cache");
        let part: Vec<_> = std::fs::read_dir(&cache)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".new") || n.ends_with(".tmp"))
                    .collect()
            })
            .unwrap_or_default();
        assert!(part.is_empty(), "{kib} KiB: {part:?}");
        // The site fits, its 2.6 MB highlight cache does not: the site is
        // published, and the cache's loss is said.
        if kib == 1024 {
            assert!(
                err.contains("warning: cannot save the build cache"),
                "{err}"
            );
        }
        outcomes.insert(kib, (o.status.code(), which));
    }
    eprintln!("{outcomes:?}");
    // The smallest limit stops the build; the largest lets it through.
    assert_eq!(outcomes[&4].1, "previous");
    assert_eq!(outcomes[&(1 << 20)], (Some(0), "new"));
}

#[cfg(unix)]
#[test]
fn export_writes_through_devices_and_pipes_and_never_over_a_source() {
    use std::os::unix::fs::FileTypeExt;
    let site = fixture("basic");
    let root = site.path().to_str().unwrap();
    let export = |to: &str| {
        errdocs_cmd(&["export", "--format", "openapi", "-r", root, "-o", to])
            .output()
            .unwrap()
    };
    // A device node of its own (as root; skipped where mknod is refused).
    let dev = site.path().join("null-device");
    let c = std::ffi::CString::new(dev.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string; makes a character device like /dev/null.
    let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    if made == 0 {
        let o = export(dev.to_str().unwrap());
        assert!(o.status.success(), "{}", stderr(&o));
        let kind = std::fs::symlink_metadata(&dev).unwrap().file_type();
        assert!(kind.is_char_device(), "the node is still a device");
    } else {
        eprintln!("skipped the device node: mknod is not allowed here");
    }
    // /dev/stdout is standard output, here a pipe.
    let o = export("/dev/stdout");
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    // Standard output opened for appending is appended to, the same file
    // (not a new one in its place) however its name is spelled.
    for spelling in [
        "/dev/stdout",
        "/dev/./stdout",
        "/dev/fd//1",
        "/proc/self/fd/1",
        "/proc/thread-self/fd/1",
    ] {
        if std::fs::metadata(spelling).is_err() {
            continue;
        }
        use std::os::unix::fs::MetadataExt;
        let log = site.path().join("export.log");
        std::fs::write(&log, "earlier line\n").unwrap();
        let inode = std::fs::metadata(&log).unwrap().ino();
        let appending = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        let o = errdocs_cmd(&["export", "--format", "openapi", "-r", root, "-o", spelling])
            .stdout(appending)
            .output()
            .unwrap();
        assert!(o.status.success(), "{spelling}: {}", stderr(&o));
        assert_eq!(std::fs::metadata(&log).unwrap().ino(), inode, "{spelling}");
        let text = std::fs::read_to_string(&log).unwrap();
        let json = text
            .strip_prefix("earlier line\n")
            .unwrap_or_else(|| panic!("{spelling}: the earlier line stays first"));
        serde_json::from_str::<serde_json::Value>(json).unwrap();
    }
    // A file that is standard output, named by its own path, is written
    // through the descriptor too: the shell's redirection stays coherent.
    let log = site.path().join("direct.log");
    std::fs::write(&log, "earlier line\n").unwrap();
    let appending = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    let to = log.to_str().unwrap();
    let status = errdocs_cmd(&["export", "--format", "openapi", "-r", root, "-o", to])
        .stdout(appending)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .starts_with("earlier line\n{"));
    // Sources are refused, and stay as they were.
    let config = std::fs::read(site.path().join("site.yaml")).unwrap();
    for to in ["site.yaml", "content/errors/x.json", "static/errors.json"] {
        let o = export(site.path().join(to).to_str().unwrap());
        assert_eq!(o.status.code(), Some(2), "{to}");
        assert!(stderr(&o).contains("refusing"), "{to}: {}", stderr(&o));
    }
    assert_eq!(
        std::fs::read(site.path().join("site.yaml")).unwrap(),
        config
    );
    assert!(!site.path().join("content/errors/x.json").exists());
}

#[cfg(unix)]
#[test]
fn links_planted_in_errdocs_own_files_are_never_followed() {
    use std::os::unix::fs::symlink;
    // No hidden name on the way: static/ would skip it.
    let victim = tempfile::Builder::new().prefix("victim").tempdir().unwrap();
    let keep = victim.path().join("keep.txt");
    std::fs::write(&keep, "precious").unwrap();
    let marker_victim = victim.path().join("marker");
    std::fs::write(&marker_victim, "precious").unwrap();

    // A pull request commits a "next tree" with a link in it, and files
    // in static/ that would be written through that link.
    let site = fixture("basic");
    let root = site.path();
    let next = root.join(".public.errdocs-next");
    std::fs::create_dir_all(&next).unwrap();
    symlink("/", next.join("x")).unwrap();
    symlink(&marker_victim, next.join(".errdocs-staging")).unwrap();
    let inside = victim.path().strip_prefix("/").unwrap();
    write(
        root,
        &format!("static/x/{}/keep.txt", inside.display()),
        "REPLACED",
    );
    write(
        root,
        &format!("static/x/{}/pwned.txt", inside.display()),
        "PWNED",
    );
    build_ok(root, &root.join("public"));
    // And a second build, which updates that tree again.
    build_ok(root, &root.join("public"));
    assert_eq!(std::fs::read_to_string(&keep).unwrap(), "precious");
    assert_eq!(std::fs::read_to_string(&marker_victim).unwrap(), "precious");
    assert!(!victim.path().join("pwned.txt").exists());
    let published = root.join("public/x").join(inside).join("pwned.txt");
    assert_eq!(std::fs::read_to_string(published).unwrap(), "PWNED");

    // Lock files that are links are refused, their targets untouched.
    for lock in [".public.errdocs-lock", ".errdocs-cache/lock"] {
        let site = fixture("basic");
        let root = site.path();
        std::fs::create_dir_all(root.join(".errdocs-cache")).unwrap();
        symlink(&keep, root.join(lock)).unwrap();
        let o = build_into(root, &root.join("public"));
        assert_eq!(o.status.code(), Some(2), "{lock}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("symbolic link"),
            "{lock}: {}",
            stderr(&o)
        );
        assert_eq!(
            std::fs::read_to_string(&keep).unwrap(),
            "precious",
            "{lock}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_next_tree_others_may_write_is_never_reused() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let site = fixture("basic");
    let root = site.path();
    let out = root.join("public");
    build_ok(root, &out);
    build_ok(root, &out);
    let expected = files(&out);
    let next = root.join(".public.errdocs-next");
    assert!(next.join(".errdocs-staging").is_file(), "kept for reuse");

    // Writable by everyone: anything may have been put in it. It is made
    // anew, and what was put there is gone.
    std::fs::set_permissions(&next, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::write(next.join("planted.html"), "planted").unwrap();
    // Held open, the folder keeps its inode: removed, it has no links.
    let open_tree = std::fs::File::open(&next).unwrap();
    build_ok(root, &out);
    assert_eq!(files(&out), expected);
    // The folder others could write into did not become the output.
    assert_eq!(open_tree.metadata().unwrap().nlink(), 0);
    let meta = std::fs::metadata(&next).unwrap();
    assert_eq!(meta.mode() & 0o022, 0, "{:o}", meta.mode());
    assert!(!next.join("planted.html").exists());

    // Another user's: neither written into nor removed; the output stays.
    let planted = next.join("theirs.txt");
    std::fs::write(&planted, "theirs").unwrap();
    // SAFETY: a valid C string; chown fails without privilege.
    let c = std::ffi::CString::new(next.to_str().unwrap()).unwrap();
    if unsafe { libc::chown(c.as_ptr(), 54321, 54321) } != 0 {
        eprintln!("skipped another user's tree: chown is not allowed here");
        return;
    }
    let o = build_into(root, &out);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("another user"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&planted).unwrap(), "theirs");
    assert_eq!(std::fs::metadata(&next).unwrap().uid(), 54321);
    assert_eq!(files(&out), expected);
}

#[cfg(unix)]
#[test]
fn links_to_hidden_files_of_the_site_and_schema_references_to_files_are_refused() {
    let site = fixture("basic");
    let root = site.path();
    let token = "AUTHORIZATION: basic c2VjcmV0LXRva2Vu";
    write(
        root,
        ".git/config",
        &format!("[http]\n\textraheader = {token}\n"),
    );
    std::fs::create_dir_all(root.join("static")).unwrap();
    std::os::unix::fs::symlink("../.git/config", root.join("static/notes.txt")).unwrap();
    let o = build_into(root, &root.join("public"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("static/notes.txt"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("c2VjcmV0"), "{}", stderr(&o));
    assert!(!root.join("public").exists());

    // A response schema may not pull in files by `$ref`.
    let outside = tempfile::tempdir().unwrap();
    write(
        outside.path(),
        "secret.json",
        "{\"enum\": [\"AKIA-NOT-FOR-LOGS\"]}",
    );
    let site = fixture("basic");
    let root = site.path();
    let reference = format!("file://{}", outside.path().join("secret.json").display());
    write(
        root,
        "schema.json",
        &format!("{{\"type\": \"object\", \"properties\": {{\"message\": {{\"$ref\": \"{reference}\"}}}}}}"),
    );
    let config = std::fs::read_to_string(root.join("site.yaml")).unwrap();
    std::fs::write(
        root.join("site.yaml"),
        format!("{config}\nresponse:\n  schema: schema.json\n"),
    )
    .unwrap();
    for cmd in ["check", "build"] {
        let o = errdocs_cmd(&[cmd, "-r", root.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", stderr(&o));
        let all = format!("{}{}", stderr(&o), String::from_utf8_lossy(&o.stdout));
        assert!(!all.contains("AKIA-NOT-FOR-LOGS"), "{cmd}: {all}");
    }
}
