//! Build benchmark: generates sites of 1,000 and 10,000 error pages and
//! times the `errdocs` binary on them: cold builds (no cache, no output),
//! warm builds (nothing changed), builds after one page's edit, `check`,
//! `serve` after one page's edit, and start-up on a one-page site. Prints
//! wall time (median of the runs), pages per second, peak RSS and
//! errdocs' own per-stage breakdown; for `serve`, the time from saving a
//! page to the server answering with the new page. With `hugo` on the
//! PATH it also times Hugo's cold build of the same content.
//!
//! `cargo bench --bench build`; `ERRDOCS_BENCH_SIZES=1000` and
//! `ERRDOCS_BENCH_RUNS=5` change what runs, `ERRDOCS_BENCH_DIR=/dev/shm`
//! where it runs; `ERRDOCS_BENCH_CORPUS=DIR`
//! only writes a site of the first size into `DIR` (for profiling).

mod corpus;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// A temporary folder for sites and outputs: under `ERRDOCS_BENCH_DIR`
/// when set (e.g. a tmpfs, to leave the disk out of the figures), else in
/// the system's temporary folder.
fn bench_dir() -> tempfile::TempDir {
    match std::env::var_os("ERRDOCS_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .expect("temp dir")
}

/// One run of the binary: wall time, peak RSS in MiB, standard error.
struct Run {
    wall: Duration,
    peak_mib: f64,
    stderr: String,
}

/// One run of errdocs with `args`.
fn run(args: &[&str]) -> Run {
    run_program(env!("CARGO_BIN_EXE_errdocs"), args)
}

// The child is reaped with wait4, which also reports its peak memory.
#[allow(clippy::zombie_processes)]
fn run_program(program: &str, args: &[&str]) -> Run {
    let start = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run errdocs");
    let pid = child.id() as libc::pid_t;
    let mut stderr = child.stderr.expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let mut status = 0;
    // SAFETY: rusage is plain data, and pid is our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(waited, pid, "wait4 failed");
    let stderr = reader.join().unwrap_or_default();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{program} {args:?} failed:\n{stderr}"
    );
    Run {
        wall,
        peak_mib: usage.ru_maxrss as f64 / 1024.0,
        stderr,
    }
}

fn median(mut runs: Vec<Run>) -> Run {
    runs.sort_by_key(|r| r.wall);
    runs.swap_remove(runs.len() / 2)
}

fn timings(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("timings: "))
        .unwrap_or("")
        .to_string()
}

fn report(label: &str, pages: usize, r: &Run, extra: &str) {
    let secs = r.wall.as_secs_f64();
    println!(
        "{label:<28} {:>8.3} s {:>9.0} pages/s {:>8.1} MiB peak  {extra}",
        secs,
        pages as f64 / secs,
        r.peak_mib
    );
}

/// One GET to the preview server; the body, or nothing on any failure.
fn fetch(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).ok()?;
    Some(raw)
}

/// The preview's build version: at once, or once it differs from `seen`
/// (the server answers within its poll timeout either way).
fn build_version(port: u16, seen: Option<u64>) -> Option<u64> {
    let path = match seen {
        Some(v) => format!("/__errdocs/poll?v={v}"),
        None => "/__errdocs/poll".to_string(),
    };
    let reply = fetch(port, &path)?;
    let body = &reply[reply.find("\r\n\r\n")? + 4..];
    let status: serde_json::Value = serde_json::from_str(body).ok()?;
    status["version"].as_u64()
}

/// Waits up to `limit` for a line of the server's log holding one of `needles`.
fn wait_for_log(log: &Receiver<String>, needles: &[&str], limit: Duration) -> Option<String> {
    let end = Instant::now() + limit;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match log.recv_timeout(left) {
            Ok(line) if needles.iter().any(|n| line.contains(n)) => return Some(line),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// `errdocs serve` on the site: after one page's file is saved, the time
/// until the server has the new page (as open pages learn it: their poll
/// returns), and until the whole site has been checked again.
fn bench_serve(root: &std::path::Path, pages: usize, runs: usize) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let mut child = Command::new(env!("CARGO_BIN_EXE_errdocs"))
        .args(["serve", "-r", root.to_str().unwrap(), "--port"])
        .arg(port.to_string())
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run errdocs serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, log) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let started = wait_for_log(&log, &["serving "], Duration::from_secs(300));
    let mut served = Vec::new();
    let mut checked = Vec::new();
    for i in 0..runs.max(5) {
        if started.is_none() {
            break;
        }
        let (code, marker) = corpus::edited_page(100_000 + i);
        let url = format!("/reference/errors/{code}/");
        let Some(mut version) = build_version(port, None) else {
            break;
        };
        corpus::edit_one_page(root, 100_000 + i).expect("edit a page");
        let saved = Instant::now();
        let limit = saved + Duration::from_secs(10);
        let mut seen = None;
        // Each poll returns when the server has something new to serve.
        while Instant::now() < limit {
            let Some(next) = build_version(port, Some(version)) else {
                break;
            };
            let at = saved.elapsed();
            if next != version && fetch(port, &url).is_some_and(|page| page.contains(&marker)) {
                seen = Some(at);
                break;
            }
            version = next;
        }
        let Some(seen) = seen else { break };
        served.push(seen);
        if wait_for_log(
            &log,
            &["checked the site", "rebuilt", "failed"],
            Duration::from_secs(60),
        )
        .is_none()
        {
            break;
        }
        checked.push(saved.elapsed());
    }
    let _ = child.kill();
    let _ = child.wait();
    if served.is_empty() {
        println!("serve, 1 edit, {pages} pages: the edited page was never served");
        return;
    }
    served.sort();
    checked.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{:<28} {:>8.1} ms to the new page (min {:.1}, max {:.1}); site checked after {:.0} ms",
        format!("serve, 1 edit, {pages} pages"),
        ms(served[served.len() / 2]),
        ms(served[0]),
        ms(served[served.len() - 1]),
        checked.get(checked.len() / 2).map_or(f64::NAN, |d| ms(*d)),
    );
}

/// The same content built by Hugo, when `hugo` is on the PATH, for a
/// figure from the same machine in the same run. Hugo gets a minimal
/// layout (a page's body alone, a list of links per section), so the
/// figure is what its Markdown rendering and highlighting of the same
/// files cost, a lower bound for a site like errdocs'.
fn bench_hugo(dir: &std::path::Path, root: &std::path::Path, pages: usize, runs: usize) {
    let Some(version) = Command::new("hugo")
        .arg("version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            let v = text.split_whitespace().nth(1)?;
            Some(v.split('+').next().unwrap_or(v).to_string())
        })
    else {
        return;
    };
    let site = dir.join("hugo");
    let layouts = site.join("layouts/_default");
    std::fs::create_dir_all(&layouts).expect("hugo site folder");
    let config = format!(
        "baseURL: https://bench.example/\ncontentDir: {}\ndisableKinds: [taxonomy, term]\n\
         markup:\n  highlight:\n    noClasses: false\n",
        root.join("content").display()
    );
    std::fs::write(site.join("hugo.yaml"), config).expect("hugo settings");
    std::fs::write(
        layouts.join("single.html"),
        "<!doctype html><title>{{ .Title }}</title><main>{{ .Content }}</main>\n",
    )
    .expect("hugo layout");
    std::fs::write(
        layouts.join("list.html"),
        "<!doctype html><title>{{ .Title }}</title><ul>{{ range .Pages }}\
         <li><a href=\"{{ .RelPermalink }}\">{{ .Title }}</a></li>{{ end }}</ul>\n",
    )
    .expect("hugo layout");
    let site_s = site.to_str().unwrap();
    let cold: Vec<Run> = (0..runs)
        .map(|i| {
            let out = dir.join(format!("hugo-out-{i}"));
            let cache = dir.join(format!("hugo-cache-{i}"));
            let args = [
                "--quiet",
                "-s",
                site_s,
                "-d",
                out.to_str().unwrap(),
                "--cacheDir",
                cache.to_str().unwrap(),
            ];
            run_program("hugo", &args)
        })
        .collect();
    for i in 0..runs {
        let _ = std::fs::remove_dir_all(dir.join(format!("hugo-out-{i}")));
        let _ = std::fs::remove_dir_all(dir.join(format!("hugo-cache-{i}")));
    }
    report(
        &format!("hugo {version}, cold, {pages} pages"),
        pages,
        &median(cold),
        "minimal layout, same content",
    );
}

fn bench_size(pages: usize, runs: usize) {
    let dir = bench_dir();
    let root = dir.path().join("site");
    corpus::generate(&root, pages).expect("generate corpus");
    let root_s = root.to_str().unwrap();
    let out = dir.path().join("public");
    let out_s = out.to_str().unwrap();
    let cache = root.join(".errdocs-cache");

    // Cold: no cache and no previous output, as on a fresh CI machine. Each
    // run writes a new folder, removed only at the end: creating tens of
    // thousands of files right after deleting as many is slow on ext4 for
    // reasons of its own, which would swamp what errdocs does.
    let cold: Vec<Run> = (0..runs)
        .map(|i| {
            let _ = std::fs::remove_dir_all(&cache);
            let fresh = dir.path().join(format!("cold-{i}"));
            run(&[
                "build",
                "-r",
                root_s,
                "-o",
                fresh.to_str().unwrap(),
                "--timings",
            ])
        })
        .collect();
    for i in 0..runs {
        let _ = std::fs::remove_dir_all(dir.path().join(format!("cold-{i}")));
    }
    // The warm builds start from the last cold build's cache, into `out`.
    run(&["build", "-r", root_s, "-o", out_s]);
    let cold = median(cold);
    report(
        &format!("build, cold, {pages} pages"),
        pages,
        &cold,
        &timings(&cold.stderr),
    );
    bench_hugo(dir.path(), &root, pages, runs);

    let warm = median(
        (0..runs)
            .map(|_| run(&["build", "-r", root_s, "-o", out_s, "--timings"]))
            .collect(),
    );
    report(
        &format!("build, warm, {pages} pages"),
        pages,
        &warm,
        &timings(&warm.stderr),
    );

    // One page edited between builds, as in a pull request.
    let edited = median(
        (0..runs)
            .map(|i| {
                corpus::edit_one_page(&root, i).expect("edit a page");
                run(&["build", "-r", root_s, "-o", out_s, "--timings"])
            })
            .collect(),
    );
    report(
        &format!("build, 1 edit, {pages} pages"),
        pages,
        &edited,
        &timings(&edited.stderr),
    );

    let check = median((0..runs).map(|_| run(&["check", "-r", root_s])).collect());
    report(&format!("check, {pages} pages"), pages, &check, "");

    bench_serve(&root, pages, runs);

    let size: u64 = walkdir::WalkDir::new(&out)
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    println!(
        "{:<28} {:>8.1} MiB output, {:.1} KiB per page",
        "",
        size as f64 / 1048576.0,
        size as f64 / 1024.0 / pages as f64
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not used.
    let sizes: Vec<usize> = std::env::var("ERRDOCS_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    if let Some(dir) = std::env::var_os("ERRDOCS_BENCH_CORPUS") {
        let pages = sizes.first().copied().unwrap_or(1000);
        corpus::generate(std::path::Path::new(&dir), pages).expect("generate corpus");
        println!("wrote a {pages}-page site to {}", dir.to_string_lossy());
        return;
    }
    let runs: usize = std::env::var("ERRDOCS_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    println!(
        "errdocs build benchmark: median of {runs} runs, {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    let one = bench_dir();
    corpus::generate(one.path(), 1).expect("generate");
    let startup = median(
        (0..runs.max(5))
            .map(|_| run(&["check", "-r", one.path().to_str().unwrap()]))
            .collect(),
    );
    report("check, 1 page (start-up)", 1, &startup, "");

    for pages in sizes {
        bench_size(pages, runs);
    }
}
