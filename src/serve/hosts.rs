//! The names a request's `Host` header may give. A server on loopback is safe from other hosts,
//! but not from a page in a browser on the same machine whose site resolves its own name to
//! 127.0.0.1 a moment after loading (DNS rebinding): the browser then sends that site's name as
//! the Host, and refusing names other than loopback's keeps the page from reading the answers.

use std::collections::BTreeSet;
use std::net::SocketAddr;

/// The names allowed, lowercased; `None`: any.
#[derive(Clone, Debug)]
pub struct AllowedHosts(Option<BTreeSet<String>>);

impl AllowedHosts {
    /// The names `given` (`--allow-host`); without any, localhost and the loopback addresses when
    /// listening on loopback, and any name otherwise (where the server's own names are not known).
    pub fn new(given: &[String], listen: SocketAddr) -> Self {
        if !given.is_empty() {
            return AllowedHosts(Some(given.iter().map(|name| name.to_lowercase()).collect()));
        }
        match listen.ip().is_loopback() {
            true => AllowedHosts(Some(["localhost", "127.0.0.1", "[::1]"].map(String::from).into())),
            false => AllowedHosts(None),
        }
    }

    /// Whether a request whose Host header is `host` is answered. A request without one (HTTP/1.0,
    /// not a browser) is.
    pub fn allows(&self, host: Option<&str>) -> bool {
        let (Some(names), Some(host)) = (&self.0, host) else { return true };
        names.contains(&name_of(host).to_lowercase())
    }

    /// The names allowed, for a refusal to list.
    pub fn describe(&self) -> String {
        match &self.0 {
            Some(names) => names.iter().cloned().collect::<Vec<_>>().join(", "),
            None => "any".into(),
        }
    }
}

/// A Host header's name, without its port: `[::1]:8080` is `[::1]`, `example.org:80` is
/// `example.org`.
fn name_of(host: &str) -> &str {
    match host.rfind(':') {
        Some(colon) if !host[colon..].contains(']') => &host[..colon],
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_with_any_port_are_allowed_on_loopback_and_others_are_not() {
        let hosts = AllowedHosts::new(&[], "127.0.0.1:8080".parse().unwrap());
        for host in ["localhost", "LOCALHOST:8080", "127.0.0.1:9", "[::1]:8080", "[::1]"] {
            assert!(hosts.allows(Some(host)), "{host}");
        }
        for host in ["evil", "evil:8080", "127.0.0.1.evil.example", "localhost.evil:80", "[::2]:80"] {
            assert!(!hosts.allows(Some(host)), "{host}");
        }
        assert!(hosts.allows(None));
    }

    #[test]
    fn names_given_replace_the_defaults_and_any_name_is_allowed_elsewhere() {
        let given = AllowedHosts::new(&["Trends.Example.org".into()], "0.0.0.0:80".parse().unwrap());
        assert!(given.allows(Some("trends.example.org:443")));
        assert!(!given.allows(Some("localhost")));
        let anywhere = AllowedHosts::new(&[], "0.0.0.0:80".parse().unwrap());
        assert!(anywhere.allows(Some("whatever.example")));
    }
}
