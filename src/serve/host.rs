//! Which `Host` values the preview answers.
//!
//! A page on another site can point its own name at 127.0.0.1 (DNS
//! rebinding) and then read the preview as if it were its own origin; the
//! `Host` header is what tells such a request apart, so only names of the
//! server itself are answered. An IP address is always the server's own
//! name in this sense: no DNS lookup is involved, so the page's origin is
//! that address and it could have asked it directly.

use std::net::IpAddr;

use crate::Error;

/// The `Host` values the server answers.
#[derive(Debug, Clone)]
pub(super) struct Hosts {
    port: u16,
    /// Names that must come with the serving port (lower case).
    own: Vec<String>,
    /// Names given with `--allowed-host`: any port unless one was given.
    allowed: Vec<(String, Option<u16>)>,
}

impl Hosts {
    /// The names of a server listening on `bind`, `port`, plus `allowed`
    /// (each `NAME` or `NAME:PORT`).
    pub(super) fn new(bind: &str, port: u16, allowed: &[String]) -> Result<Self, Error> {
        let mut own = vec!["localhost".to_string()];
        let bind = bind.trim_start_matches('[').trim_end_matches(']');
        if bind.parse::<IpAddr>().is_err() {
            own.push(bind.to_ascii_lowercase());
        }
        let allowed = allowed
            .iter()
            .map(|a| {
                let bad = || {
                    Error::Usage(format!(
                        "--allowed-host {}: give a host name, optionally with :PORT",
                        crate::terminal::escape(a)
                    ))
                };
                let (name, port) = split(a).ok_or_else(bad)?;
                let valid = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b));
                if !valid {
                    return Err(bad());
                }
                Ok((name, port))
            })
            .collect::<Result<_, _>>()?;
        Ok(Hosts { port, own, allowed })
    }

    /// True when a request with this `Host` value may be answered.
    pub(super) fn allows(&self, host: &str) -> bool {
        let Some((name, port)) = split(host) else {
            return false;
        };
        if self
            .allowed
            .iter()
            .any(|(n, p)| *n == name && p.is_none_or(|p| Some(p) == port))
        {
            return true;
        }
        // A browser leaves the port out only when it is 80.
        if port.unwrap_or(80) != self.port {
            return false;
        }
        self.own.contains(&name) || name.parse::<IpAddr>().is_ok()
    }
}

/// A `Host` value's name (lower case, without a final dot or the brackets
/// of an IPv6 address) and port; `None` when it is not of that form.
fn split(host: &str) -> Option<(String, Option<u16>)> {
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        // Only an IPv6 address goes in brackets.
        inside.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            after => Some(after.strip_prefix(':')?),
        };
        (inside, port)
    } else {
        match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        }
    };
    let port = match port {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse().ok()?),
        Some(_) => return None,
        None => None,
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return None;
    }
    Some((name.to_ascii_lowercase(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_names_with_the_serving_port() {
        let hosts = Hosts::new("127.0.0.1", 1111, &[]).unwrap();
        for ok in [
            "127.0.0.1:1111",
            "localhost:1111",
            "LOCALHOST:1111",
            "localhost.:1111",
            "[::1]:1111",
            "192.168.1.20:1111",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example:1111",
            "evil.example",
            "localhost:1112",
            "localhost",
            "127.0.0.1",
            "localhost.evil.example:1111",
            "127.0.0.1.nip.io:1111",
            "[::1]",
            "[evil]:1111",
            "::1:1111",
            "localhost:",
            "localhost:+1111",
            "localhost:1111:1111",
            "",
            ":1111",
            "local host:1111",
        ] {
            assert!(!hosts.allows(bad), "{bad}");
        }
    }

    #[test]
    fn port_80_may_be_left_out() {
        let hosts = Hosts::new("127.0.0.1", 80, &[]).unwrap();
        assert!(hosts.allows("localhost"));
        assert!(hosts.allows("localhost:80"));
    }

    #[test]
    fn the_bind_name_and_allowed_hosts() {
        let hosts = Hosts::new(
            "devbox.lan",
            1111,
            &["Docs.Tunnel.example".into(), "other.lan:8080".into()],
        )
        .unwrap();
        assert!(hosts.allows("devbox.lan:1111"));
        assert!(!hosts.allows("devbox.lan:8080"));
        assert!(hosts.allows("docs.tunnel.example"));
        assert!(hosts.allows("docs.tunnel.example:443"));
        assert!(hosts.allows("other.lan:8080"));
        assert!(!hosts.allows("other.lan:1111"));
        assert!(!hosts.allows("other.lan"));
        for bad in ["", "a b", "a/b", "user@host", "host:port", "[nope]"] {
            assert!(Hosts::new("127.0.0.1", 1, &[bad.into()]).is_err(), "{bad}");
        }
    }
}
