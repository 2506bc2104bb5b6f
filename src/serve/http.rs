//! The HTTP/1.1 side of `serve`, on std's blocking sockets: one thread per
//! connection, at most [`Limits::connections`] at once (more wait in the
//! listen queue). Request heads are read under a size cap and deadlines
//! and parsed with `httparse`; the handler gets the method and target and
//! returns a [`Reply`]. Bodies are never read: a request that has one is
//! answered and its connection closed.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::host::Hosts;
use super::Reply;

/// What answers a request: method and target in, reply out.
pub(super) type Handler = dyn Fn(&str, &str) -> Reply + Send + Sync;

/// Bounds on what one client may hold.
#[derive(Debug, Clone)]
pub(super) struct Limits {
    /// Connections served at once.
    pub connections: usize,
    /// Largest request head (request line and headers), in bytes.
    pub head_bytes: usize,
    /// How long a request head may take to arrive, from the connection's
    /// start or the head's first byte.
    pub head_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How long one write may wait for a client that does not read.
    pub write_timeout: Duration,
}

impl Limits {
    /// The defaults, with `connections` connections at once.
    pub(super) fn new(connections: usize) -> Self {
        Limits {
            connections,
            head_bytes: 64 * 1024,
            head_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(15),
            write_timeout: Duration::from_secs(30),
        }
    }
}

/// Most header fields in one request head.
const MAX_HEADERS: usize = 100;
/// How long, and for how many bytes, a connection being closed is drained
/// of what its client still sends: closing a socket with unread data
/// resets it, and the reset can destroy the last answer before the client
/// has read it.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 1 << 20;
/// A connection's first buffer; it grows up to [`Limits::head_bytes`].
const FIRST_BUFFER: usize = 8 * 1024;
/// Stack of a connection's thread: it parses a head and calls the handler.
const STACK: usize = 256 * 1024;
/// Longest pause between tries to accept while descriptors or threads
/// run out.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Least time between two notes about failing accepts.
const NOTE_EVERY: Duration = Duration::from_secs(30);

/// Serves connections from `listener` for ever.
pub(super) fn run(listener: TcpListener, limits: Limits, hosts: Hosts, handler: Arc<Handler>) -> ! {
    let slots = Arc::new(Slots {
        free: Mutex::new(limits.connections.max(1)),
        freed: Condvar::new(),
    });
    let shared = Arc::new(Shared {
        limits,
        hosts,
        handler,
    });
    let mut backoff = Duration::ZERO;
    let mut noted: Option<Instant> = None;
    loop {
        let slot = slots.take();
        let failure = match listener.accept() {
            Ok((stream, _)) => {
                let shared = Arc::clone(&shared);
                let spawned = std::thread::Builder::new()
                    .name("errdocs-http".into())
                    .stack_size(STACK)
                    .spawn(move || {
                        let _slot = slot;
                        serve_connection(&stream, &shared);
                    });
                // A thread that could not start drops its connection.
                spawned.err()
            }
            // The client left before it was accepted.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
                ) =>
            {
                None
            }
            Err(e) => Some(e),
        };
        match failure {
            None => backoff = Duration::ZERO,
            // Out of descriptors (EMFILE, ENFILE) or threads: the waiting
            // connections stay queued, and are accepted once some are free.
            Some(e) => {
                if noted.is_none_or(|at| at.elapsed() >= NOTE_EVERY) {
                    crate::terminal::note(&format!(
                        "cannot take a connection ({e}); trying again\n"
                    ));
                    noted = Some(Instant::now());
                }
                backoff = (backoff * 2).clamp(Duration::from_millis(5), MAX_BACKOFF);
                std::thread::sleep(backoff);
            }
        }
    }
}

struct Shared {
    limits: Limits,
    hosts: Hosts,
    handler: Arc<Handler>,
}

/// Free connection slots.
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Slots {
    /// Waits for a free slot and takes it.
    fn take(self: &Arc<Self>) -> Slot {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Slot(Arc::clone(self))
    }
}

/// A connection's slot, given back when dropped (also when its thread
/// panics or never starts).
struct Slot(Arc<Slots>);

impl Drop for Slot {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

/// The bytes read from a connection and not yet used.
struct Buffer {
    data: Vec<u8>,
    filled: usize,
}

/// How reading a request head ended.
enum Head {
    /// A head ends at this offset of the buffer.
    Complete(usize),
    /// The client closed the connection, or it failed.
    Gone,
    /// No request came before the deadline.
    Idle,
    /// Part of a head came, the rest not in time.
    Slow,
    /// The head cannot be served: too large, or not HTTP.
    Refused(Refusal),
}

/// What to do with a connection after a request.
#[derive(PartialEq)]
enum After {
    KeepAlive,
    Close,
    /// Writing failed: the client is gone.
    Gone,
}

fn serve_connection(stream: &TcpStream, shared: &Shared) {
    let limits = &shared.limits;
    // Each answer goes out at once rather than waiting for the client to
    // acknowledge the previous one (Nagle's algorithm against delayed
    // acknowledgements holds the second answer on a connection ~40 ms).
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(limits.write_timeout));
    let mut buffer = Buffer {
        data: vec![0; FIRST_BUFFER.min(limits.head_bytes.max(1))],
        filled: 0,
    };
    // The first request's head counts from the connection's start.
    let mut deadline = Instant::now() + limits.head_timeout;
    let mut kept_alive = false;
    loop {
        let end = match read_head(stream, &mut buffer, limits, deadline, kept_alive) {
            Head::Complete(end) => end,
            Head::Gone | Head::Idle => return,
            Head::Slow => {
                refuse(stream, 408, "the request head did not arrive in time");
                return;
            }
            Head::Refused((status, why)) => {
                refuse(stream, status, why);
                return;
            }
        };
        let after = answer(stream, &buffer.data[..end], shared);
        buffer.data.copy_within(end..buffer.filled, 0);
        buffer.filled -= end;
        match after {
            After::KeepAlive => {}
            After::Close => {
                close_gently(stream);
                return;
            }
            After::Gone => return,
        }
        deadline = Instant::now() + limits.idle_timeout;
        kept_alive = true;
    }
}

/// Reads until the buffer holds a whole request head, within the head
/// size cap and `deadline`. On a kept-alive connection the deadline is for
/// the next request's first byte; the head then has the head timeout.
fn read_head(
    mut stream: &TcpStream,
    buffer: &mut Buffer,
    limits: &Limits,
    mut deadline: Instant,
    mut waiting: bool,
) -> Head {
    if waiting && buffer.filled > 0 {
        // A pipelined request is already here.
        waiting = false;
        deadline = Instant::now() + limits.head_timeout;
    }
    let mut scanned = 0;
    let mut checked = false;
    loop {
        if let Some(end) = head_end(&buffer.data[..buffer.filled], scanned) {
            return Head::Complete(end);
        }
        scanned = buffer.filled;
        // What is not HTTP (a TLS greeting, say) is refused at once rather
        // than when its time is up; once per head, as parsing starts over.
        if !checked && buffer.filled > 0 {
            checked = true;
            let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
            if let Err(e) = httparse::Request::new(&mut fields).parse(&buffer.data[..buffer.filled])
            {
                if e != httparse::Error::TooManyHeaders {
                    return Head::Refused(refusal(e));
                }
            }
        }
        if buffer.filled >= limits.head_bytes {
            return Head::Refused((431, "the request head is too large"));
        }
        if buffer.filled == buffer.data.len() {
            let grown = (buffer.data.len() * 2).min(limits.head_bytes);
            buffer.data.resize(grown, 0);
        }
        let now = Instant::now();
        let left = deadline.saturating_duration_since(now);
        if left.is_zero() {
            return if buffer.filled == 0 {
                Head::Idle
            } else {
                Head::Slow
            };
        }
        if stream.set_read_timeout(Some(left)).is_err() {
            return Head::Gone;
        }
        match stream.read(&mut buffer.data[buffer.filled..]) {
            Ok(0) => return Head::Gone,
            Ok(n) => {
                if waiting {
                    waiting = false;
                    deadline = Instant::now() + limits.head_timeout;
                }
                buffer.filled += n;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // The deadline is checked again at the top.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Head::Gone,
        }
    }
}

/// The end of the first request head in `data` (after its empty line),
/// looking only at bytes from `from` on and the two before.
fn head_end(data: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(2);
    (start..data.len()).find_map(|i| {
        if data[i] != b'\n' {
            return None;
        }
        match data.get(i + 1..) {
            Some([b'\n', ..]) => Some(i + 2),
            Some([b'\r', b'\n', ..]) => Some(i + 3),
            _ => None,
        }
    })
}

/// The parts of a request head the server uses.
struct Request<'a> {
    method: &'a str,
    target: &'a str,
    /// HTTP/1.0 rather than 1.1.
    old: bool,
    host: Option<&'a str>,
    keep_alive: bool,
    has_body: bool,
}

/// Why a head was refused: status and a one-line reason.
type Refusal = (u16, &'static str);

fn parse<'a>(
    head: &'a [u8],
    fields: &'a mut [httparse::Header<'a>],
) -> Result<Request<'a>, Refusal> {
    let mut parsed = httparse::Request::new(fields);
    match parsed.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err((400, "the request head is malformed")),
        Err(e) => return Err(refusal(e)),
    }
    let (Some(method), Some(target), Some(version)) = (parsed.method, parsed.path, parsed.version)
    else {
        return Err((400, "the request head is malformed"));
    };
    let old = version == 0;
    let mut host = None;
    let mut close = false;
    let mut keep = false;
    let mut length: Option<u64> = None;
    let mut chunked = false;
    for field in parsed.headers.iter() {
        let name = field.name;
        let value = std::str::from_utf8(field.value)
            .map_err(|_| (400, "a header field is not UTF-8"))?
            .trim();
        if name.eq_ignore_ascii_case("host") {
            if host.is_some() {
                return Err((400, "the request has more than one Host field"));
            }
            host = Some(value);
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                close |= token.eq_ignore_ascii_case("close");
                keep |= token.eq_ignore_ascii_case("keep-alive");
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            let n = value
                .parse::<u64>()
                .ok()
                .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
                .ok_or((400, "the Content-Length is not a number"))?;
            if length.is_some_and(|l| l != n) {
                return Err((400, "the request has two different Content-Lengths"));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = true;
        }
    }
    Ok(Request {
        method,
        target,
        old,
        host,
        keep_alive: if old { keep && !close } else { !close },
        has_body: chunked || length.is_some_and(|n| n > 0),
    })
}

fn refusal(e: httparse::Error) -> Refusal {
    match e {
        httparse::Error::TooManyHeaders => (431, "the request has too many header fields"),
        httparse::Error::Version => (505, "only HTTP/1.0 and HTTP/1.1 are served"),
        _ => (400, "the request head is malformed"),
    }
}

/// Answers the request whose head is `head`.
fn answer(stream: &TcpStream, head: &[u8], shared: &Shared) -> After {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let request = match parse(head, &mut fields) {
        Ok(r) => r,
        Err((status, why)) => {
            let _ = write_reply(stream, &Reply::status(status, why), false, false, false);
            return After::Close;
        }
    };
    // Unread bodies would be taken for the next request.
    let keep = request.keep_alive && !request.has_body;
    let head_only = request.method == "HEAD";
    let (host, path) = match absolute_form(request.target) {
        Some((authority, path)) => (Some(authority), path),
        None => (request.host, request.target),
    };
    let reply = match host {
        Some(host) if !shared.hosts.allows(host) => Reply::status(
            403,
            "this preview answers only requests for its own address; \
             start errdocs serve with --allowed-host NAME to allow another name",
        ),
        // DNS rebinding needs a browser, and browsers send Host; a script
        // speaking HTTP/1.0 may not.
        None if !request.old => Reply::status(400, "an HTTP/1.1 request needs a Host field"),
        _ => (shared.handler)(request.method, path),
    };
    match write_reply(stream, &reply, head_only, keep, request.old) {
        Ok(()) if keep => After::KeepAlive,
        Ok(()) => After::Close,
        Err(_) => After::Gone,
    }
}

/// The authority and path of a target in absolute form
/// (`http://host:port/path`), which a request may use instead of `Host`.
fn absolute_form(target: &str) -> Option<(&str, &str)> {
    let scheme_end = target.find("://")?;
    let scheme = &target[..scheme_end];
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let rest = &target[scheme_end + 3..];
    Some(match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], &rest[i..]),
        // `http://host?q` has the path `/`; the query alone cannot be served.
        Some(i) => (&rest[..i], "/"),
        None => (rest, "/"),
    })
}

/// Answers a head that cannot be served and closes the connection.
fn refuse(stream: &TcpStream, status: u16, why: &str) {
    if write_reply(stream, &Reply::status(status, why), false, false, false).is_ok() {
        close_gently(stream);
    }
}

fn write_reply(
    mut stream: &TcpStream,
    reply: &Reply,
    head_only: bool,
    keep: bool,
    old: bool,
) -> io::Result<()> {
    let body: &[u8] = &reply.body;
    // Small bodies go out in the same write as the head.
    let joined = !head_only && body.len() <= 64 * 1024;
    let mut out = Vec::with_capacity(320 + if joined { body.len() } else { 0 });
    write!(
        out,
        "HTTP/1.1 {} {}\r\nDate: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n",
        reply.status,
        reason(reply.status),
        http_date(SystemTime::now()),
        reply.content_type,
        body.len(),
    )?;
    if let Some(location) = &reply.location {
        out.extend_from_slice(b"Location: ");
        push_url(&mut out, location);
        out.extend_from_slice(b"\r\n");
    }
    if !keep {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if old {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if joined {
        out.extend_from_slice(body);
    }
    stream.write_all(&out)?;
    if !joined && !head_only {
        stream.write_all(body)?;
    }
    Ok(())
}

/// Adds `url` percent-encoding every byte that is not visible ASCII, so a
/// header can never be split by what a path decoded to.
fn push_url(out: &mut Vec<u8>, url: &str) {
    for &b in url.as_bytes() {
        if b.is_ascii_graphic() {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
}

/// Stops sending and reads, for a bounded time, what the client still
/// sends, so that the last answer reaches it (see [`LINGER`]).
fn close_gently(mut stream: &TcpStream) {
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let end = Instant::now() + LINGER;
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    while drained < LINGER_BYTES {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut sink) {
            Ok(0) => return,
            Ok(n) => drained += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// `time` as an HTTP date: `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let (h, m, s) = (secs / 3600 % 24, secs / 60 % 60, secs % 60);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {day:02} {} {year} {h:02}:{m:02}:{s:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let at = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(http_date(at(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(at(784_111_777)), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(at(951_782_400)), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(
            http_date(at(4_102_444_799)),
            "Thu, 31 Dec 2099 23:59:59 GMT"
        );
    }

    #[test]
    fn heads_end_at_the_empty_line() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\n", 0), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\nGET", 0), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: a\r\n", 0), None);
        // Found when the end comes in a later read.
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\n", 16), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\n", 17), Some(18));
    }

    fn parsed(head: &str) -> Result<(String, bool, bool, Option<String>), u16> {
        let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
        parse(head.as_bytes(), &mut fields)
            .map(|r| {
                (
                    r.target.to_string(),
                    r.keep_alive,
                    r.has_body,
                    r.host.map(str::to_string),
                )
            })
            .map_err(|(status, _)| status)
    }

    #[test]
    fn what_a_head_says() {
        let get = |extra: &str| parsed(&format!("GET /a HTTP/1.1\r\nHost: h\r\n{extra}\r\n"));
        assert_eq!(get(""), Ok(("/a".into(), true, false, Some("h".into()))));
        assert_eq!(get("Connection: Close\r\n").map(|r| r.1), Ok(false));
        assert_eq!(get("Content-Length: 0\r\n").map(|r| r.2), Ok(false));
        assert_eq!(get("Content-Length: 5\r\n").map(|r| r.2), Ok(true));
        assert_eq!(get("Content-Length: 99999999999999999999999\r\n"), Err(400));
        assert_eq!(get("Content-Length: +5\r\n"), Err(400));
        assert_eq!(get("Content-Length: 5\r\nContent-Length: 6\r\n"), Err(400));
        assert_eq!(get("Transfer-Encoding: chunked\r\n").map(|r| r.2), Ok(true));
        assert_eq!(get("Host: again\r\n"), Err(400));
        assert_eq!(get(&"X: y\r\n".repeat(MAX_HEADERS)), Err(431));
        let old = |extra: &str| parsed(&format!("GET / HTTP/1.0\r\n{extra}\r\n"));
        assert_eq!(old("").map(|r| (r.1, r.3)), Ok((false, None)));
        assert_eq!(old("Connection: keep-alive\r\n").map(|r| r.1), Ok(true));
        assert_eq!(parsed("GET / HTTP/2.0\r\n\r\n"), Err(505));
        assert_eq!(parsed("GET /\x01 HTTP/1.1\r\n\r\n"), Err(400));
        assert_eq!(parsed("\r\n\r\n"), Err(400));
    }

    #[test]
    fn absolute_targets() {
        assert_eq!(
            absolute_form("http://localhost:1111/a/b?c"),
            Some(("localhost:1111", "/a/b?c"))
        );
        assert_eq!(absolute_form("HTTP://h"), Some(("h", "/")));
        assert_eq!(absolute_form("http://h?x"), Some(("h", "/")));
        assert_eq!(absolute_form("/a?u=http://x"), None);
        assert_eq!(absolute_form("ftp://h/"), None);
    }

    #[test]
    fn locations_cannot_split_headers() {
        let mut out = Vec::new();
        push_url(&mut out, "/a\r\nSet-Cookie: x/é/");
        assert_eq!(out, b"/a%0D%0ASet-Cookie:%20x/%C3%A9/");
    }
}
