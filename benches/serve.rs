//! Serve benchmark: requests per second and latency of `errdocs serve` on
//! the repository's sample site, beside a plain static server of the same
//! site built to files: Python's `http.server` (threaded, HTTP/1.1
//! keep-alive, TCP_NODELAY on its connections so that it is not held up
//! by delayed acknowledgements either). Prints, for each server, the time
//! of a request on a reused connection (median and p99 of 500 in a row,
//! measured here), then `wrk` with one connection (`-t1 -c1`) and with 50
//! (`-t2 -c50`).
//!
//! `cargo bench --bench serve`; needs `wrk` on the PATH for the `wrk`
//! figures, and `python3` for the static server's; each is skipped with a
//! note when missing. `ERRDOCS_BENCH_SECONDS=10` makes each `wrk` run
//! longer (default 5).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The static server: the built files, one thread per connection.
const STATIC_SERVER: &str = r#"
import functools, http.server, socket, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    def log_message(self, *args):
        pass
class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128
    def handle_error(self, request, address):
        pass
Server(("127.0.0.1", int(sys.argv[2])), functools.partial(Handler, directory=sys.argv[1])).serve_forever()
"#;

/// A server process, stopped when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn on_path(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Waits up to 30 s until `port` takes connections.
fn wait_until_listening(port: u16) -> bool {
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Starts `errdocs serve` on the site at `root`.
fn start_serve(root: &Path, port: u16) -> Option<Running> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_errdocs"))
        .args(["serve", "-r", root.to_str()?, "--port", &port.to_string()])
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let stderr = child.stderr.take()?;
    let running = Running(child);
    let mut lines = BufReader::new(stderr).lines();
    // The build comes first; the line says it is done.
    lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("serving "))?;
    std::thread::spawn(move || lines.for_each(drop));
    Some(running)
}

/// Starts the static server on the built files in `dir`.
fn start_static(dir: &Path, port: u16) -> Option<Running> {
    let child = Command::new("python3")
        .args(["-c", STATIC_SERVER, dir.to_str()?, &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let running = Running(child);
    wait_until_listening(port).then_some(running)
}

/// Times `count` requests for `path` one after another on one connection:
/// median and p99, or `None` if the server failed to answer.
fn reused_connection(port: u16, path: &str, count: usize) -> Option<(Duration, Duration)> {
    let stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut writer = stream.try_clone().ok()?;
    let mut reader = BufReader::new(stream);
    let ask = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let at = Instant::now();
        writer.write_all(ask.as_bytes()).ok()?;
        let mut length = None;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).ok()?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                }
            }
        }
        let mut body = vec![0; length?];
        reader.read_exact(&mut body).ok()?;
        times.push(at.elapsed());
    }
    times.sort();
    Some((times[count / 2], times[count * 99 / 100]))
}

/// What `wrk` measured: requests per second, p99 latency, and its
/// complaints (socket errors, non-2xx answers).
struct Wrk {
    rate: f64,
    p99: String,
    errors: String,
}

fn wrk(port: u16, path: &str, threads: usize, connections: usize, seconds: u64) -> Option<Wrk> {
    let out = Command::new("wrk")
        .args([
            &format!("-t{threads}"),
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            &format!("http://127.0.0.1:{port}{path}"),
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let rate = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))?
        .trim()
        .parse()
        .ok()?;
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))?
        .trim()
        .to_string();
    let errors = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Socket errors") || l.starts_with("Non-2xx"))
        .collect::<Vec<_>>()
        .join("; ");
    Some(Wrk { rate, p99, errors })
}

/// A code page of the built site, as a URL path.
fn a_code_page(out: &Path) -> Option<String> {
    let mut codes: Vec<PathBuf> = std::fs::read_dir(out.join("reference/errors"))
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("index.html").is_file())
        .collect();
    codes.sort();
    let name = codes.first()?.file_name()?.to_string_lossy().into_owned();
    Some(format!("/reference/errors/{name}/"))
}

fn main() {
    let seconds: u64 = std::env::var("ERRDOCS_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("public");
    let built = Command::new(env!("CARGO_BIN_EXE_errdocs"))
        .args(["build", "-r", root.to_str().unwrap(), "-o"])
        .arg(&out)
        .stderr(Stdio::null())
        .status()
        .expect("run errdocs build");
    assert!(built.success(), "errdocs build failed");
    let path = a_code_page(&out).expect("a code page in the sample site");
    let size = std::fs::metadata(out.join(&path[1..]).join("index.html"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "errdocs serve benchmark: the sample site, GET {path} ({:.1} KiB), {} cores",
        size as f64 / 1024.0,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    let serve_port = free_port();
    let Some(_serve) = start_serve(root, serve_port) else {
        println!("errdocs serve did not start");
        return;
    };
    let static_port = free_port();
    let statics = if on_path("python3", "--version") {
        start_static(&out, static_port)
    } else {
        None
    };
    if statics.is_none() {
        println!("python3 not found: no static server to compare with");
    }
    let mut servers = vec![("errdocs serve", serve_port)];
    if statics.is_some() {
        servers.push(("python3 http.server", static_port));
    }

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for (name, port) in &servers {
        match reused_connection(*port, &path, 500) {
            Some((median, p99)) => println!(
                "{name:<20} 500 requests on one connection: median {:.3} ms, p99 {:.3} ms",
                ms(median),
                ms(p99)
            ),
            None => println!("{name:<20} failed to answer on a reused connection"),
        }
    }
    if !on_path("wrk", "--version") {
        println!("wrk not found (apt-get install wrk): no requests/s figures");
        return;
    }
    for (threads, connections) in [(1, 1), (2, 50)] {
        for (name, port) in &servers {
            match wrk(*port, &path, threads, connections, seconds) {
                Some(w) => println!(
                    "{name:<20} wrk -t{threads} -c{connections} -d{seconds}s: {:>9.0} requests/s, p99 {}{}",
                    w.rate,
                    w.p99,
                    if w.errors.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", w.errors)
                    }
                ),
                None => println!("{name:<20} wrk -t{threads} -c{connections}: no figures"),
            }
        }
    }
}
