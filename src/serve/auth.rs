//! Who may read the views: bearer tokens from a file (`serve --auth-token-file`), one per line,
//! read again when the file changes, so a token is rotated by editing the file, without a
//! restart. A client shows a token as `Authorization: Bearer TOKEN`, or as the cookie the
//! dashboard's sign-in sets: a browser's `EventSource`, which the page's live push uses, cannot
//! send headers, but does send the page's cookies. The cookie is `HttpOnly` (no script reads it)
//! and `SameSite=Strict` (no other site's page sends it). Tokens are never logged.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};

/// The cookie the sign-in sets.
pub const COOKIE: &str = "trendflow_token";

/// How often the file is looked at again, at most: a rotated token takes effect within this.
const LOOK_AGAIN_AFTER: Duration = Duration::from_secs(1);

/// The tokens of a file, as it was when last read.
pub struct TokenFile {
    path: PathBuf,
    read: Mutex<Read>,
}

struct Read {
    modified: Option<SystemTime>,
    looked_at: Instant,
    tokens: Vec<String>,
}

impl TokenFile {
    /// Reads the tokens of `path`: a file that cannot be read, or holds none, is an error.
    pub fn open(path: &Path) -> Result<Self> {
        let (modified, tokens) = read_tokens(path)?;
        let read = Read { modified, looked_at: Instant::now(), tokens };
        Ok(TokenFile { path: path.to_path_buf(), read: Mutex::new(read) })
    }

    /// Whether `presented` is one of the tokens, the file read again first if it changed. A file
    /// that became unreadable or empty keeps the tokens last read, with a warning.
    pub fn accepts(&self, presented: &str) -> bool {
        let Ok(mut read) = self.read.lock() else { return false };
        if read.looked_at.elapsed() >= LOOK_AGAIN_AFTER {
            read.looked_at = Instant::now();
            let modified = std::fs::metadata(&self.path).and_then(|meta| meta.modified()).ok();
            if modified != read.modified {
                match read_tokens(&self.path) {
                    Ok((modified, tokens)) => {
                        log::info!("read {} tokens from {} again", tokens.len(), self.path.display());
                        (read.modified, read.tokens) = (modified, tokens);
                    }
                    Err(error) => log::warn!("{error:#}; keeping the tokens read before"),
                }
            }
        }
        read.tokens.iter().any(|token| same(token.as_bytes(), presented.as_bytes()))
    }
}

/// The file's modification time and its tokens: each line, trimmed, that is not empty or a `#`
/// comment.
fn read_tokens(path: &Path) -> Result<(Option<SystemTime>, Vec<String>)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the token file {}", path.display()))?;
    let tokens: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(String::from)
        .collect();
    if tokens.is_empty() {
        bail!("the token file {} holds no token: write one per line", path.display());
    }
    // A token travels in a header and a cookie: letters, digits and a few signs only.
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~+/=".contains(c);
    if let Some(line) = tokens.iter().position(|token| !token.chars().all(allowed)) {
        bail!(
            "token {} of {} holds a character a cookie cannot carry: use letters, digits and - . _ ~ + / = \
             (for example the output of: openssl rand -base64 32)",
            line + 1,
            path.display()
        );
    }
    let modified = std::fs::metadata(path).and_then(|meta| meta.modified()).ok();
    Ok((modified, tokens))
}

/// Whether two byte strings are equal, in a time that does not depend on where they differ, so
/// that timing answers does not reveal a token a byte at a time.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |differ, (x, y)| differ | (x ^ y)) == 0
}

/// The token a request presents: its bearer token, else its sign-in cookie.
pub fn presented(headers: &axum::http::HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    bearer.or_else(|| {
        headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|cookies| cookies.split(';'))
            .find_map(|cookie| cookie.trim().strip_prefix(COOKIE)?.strip_prefix('='))
    })
}

/// Who may read what.
pub enum Access {
    /// Anyone who reaches the server: loopback by default, or `--insecure-no-auth`.
    Open,
    /// The holders of a token; `/healthz` and `/readyz` stay open (a load balancer checks them
    /// without credentials), and `/metrics` when `metrics_open`.
    Tokens { file: TokenFile, metrics_open: bool },
}

impl Access {
    /// Whether a request for `path` presenting `token` is answered.
    pub fn allows(&self, path: &str, token: Option<&str>) -> bool {
        match self {
            Access::Open => true,
            Access::Tokens { file, metrics_open } => {
                let open = matches!(path, "/healthz" | "/readyz" | "/login") || (*metrics_open && path == "/metrics");
                open || token.is_some_and(|token| file.accepts(token))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_the_lines_that_are_not_comments_and_a_changed_file_is_read_again() {
        let path = std::env::temp_dir().join(format!("trendflow-tokens-{}", std::process::id()));
        std::fs::write(&path, "# readers\nfirst\n\n  second  \n").unwrap();
        let file = TokenFile::open(&path).unwrap();
        assert!(file.accepts("first") && file.accepts("second"));
        assert!(!file.accepts("# readers") && !file.accepts("") && !file.accepts("firs"));
        std::thread::sleep(LOOK_AGAIN_AFTER);
        std::fs::write(&path, "third\n").unwrap();
        // A file system whose clock ticks coarsely may give the same time: set another.
        let later = SystemTime::now() + Duration::from_secs(5);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(later).unwrap();
        assert!(file.accepts("third") && !file.accepts("first"));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_request_presents_its_bearer_token_or_its_cookie() {
        let mut headers = axum::http::HeaderMap::new();
        assert_eq!(presented(&headers), None);
        headers.insert("cookie", "theme=dark; trendflow_token=abc; other=1".parse().unwrap());
        assert_eq!(presented(&headers), Some("abc"));
        headers.insert("authorization", "Bearer xyz".parse().unwrap());
        assert_eq!(presented(&headers), Some("xyz"));
    }

    #[test]
    fn an_empty_token_file_is_refused() {
        let path = std::env::temp_dir().join(format!("trendflow-no-tokens-{}", std::process::id()));
        std::fs::write(&path, "# nobody yet\n").unwrap();
        let error = TokenFile::open(&path).err().expect("refused").to_string();
        assert!(error.contains("holds no token"), "{error}");
        std::fs::remove_file(&path).unwrap();
    }
}
