//! A running `trendflow serve` for a test, its metrics, and TLS for it.

use super::*;

/// Metrics in Prometheus' text format, parsed by a Prometheus text parser.
pub struct Metrics {
    scrape: prometheus_parse::Scrape,
    pub text: String,
}

impl Metrics {
    /// Parses `text`; fails the test unless it is Prometheus' text format.
    pub fn parse(text: String) -> Self {
        let scrape =
            prometheus_parse::Scrape::parse(text.lines().map(|line| Ok(line.to_string()))).expect("Prometheus text");
        Metrics { scrape, text }
    }

    /// Scrapes `url` and parses what it answers.
    pub fn scrape(url: &str) -> Self {
        let mut response = ureq::get(url).call().unwrap_or_else(|e| panic!("scraping {url}: {e}"));
        Metrics::parse(response.body_mut().read_to_string().expect("metrics text"))
    }

    /// The sum of the counters or gauges named `metric` with every label of `labels`; `None` if
    /// there is none.
    pub fn value(&self, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<f64> = self
            .scrape
            .samples
            .iter()
            .filter(|sample| sample.metric == metric)
            .filter(|sample| labels.iter().all(|(name, value)| sample.labels.get(name) == Some(*value)))
            .map(|sample| match sample.value {
                prometheus_parse::Value::Counter(value) | prometheus_parse::Value::Gauge(value) => value,
                _ => panic!("{metric} is neither a counter nor a gauge"),
            })
            .collect();
        (!matching.is_empty()).then(|| matching.iter().sum())
    }

    /// The time series of `metric`: how many samples of it there are, one per set of labels.
    pub fn series(&self, metric: &str) -> usize {
        self.scrape.samples.iter().filter(|sample| sample.metric == metric).count()
    }
}

/// A self-signed certificate for `localhost` and `127.0.0.1`, written as PEM to `name`.crt and
/// `name`.key under `dir`; gives both paths and the certificate, for a client to trust.
pub fn self_signed(dir: &std::path::Path, name: &str) -> (PathBuf, PathBuf, Vec<u8>) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("a self-signed certificate");
    let (cert, key) = (dir.join(format!("{name}.crt")), dir.join(format!("{name}.key")));
    std::fs::write(&cert, made.cert.pem()).expect("writing the certificate");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("writing the key");
    (cert, key, made.cert.der().to_vec())
}

/// A client that trusts only `certificate`, presenting `token`.
pub fn trusting(certificate: &[u8]) -> ureq::Agent {
    let roots = RootCerts::Specific(Arc::new(vec![Certificate::from_der(certificate).to_owned()]));
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(LIMIT))
        .tls_config(TlsConfig::builder().root_certs(roots).build())
        .build()
        .into()
}

/// A running `trendflow serve` on a port of its own.
pub struct Server {
    pub process: Watched,
    pub base: String,
    pub agent: ureq::Agent,
    /// The bearer token its requests present, for a server started with `--auth-token-file`.
    pub token: Option<String>,
}

impl Server {
    /// Starts `trendflow serve` against `s` on a free port, and waits until it says where.
    pub fn start(s: &Services) -> Self {
        Server::start_with(s, &[])
    }

    /// Starts `trendflow serve` against `s` with `flags` too, as [`Server::start`] does.
    pub fn start_with(s: &Services, flags: &[&str]) -> Self {
        let mut process = s.watch(&[&["serve", "--listen", "127.0.0.1:0"], flags].concat());
        process.wait_for_output("serving on http", LIMIT);
        let printed = process.printed();
        let base = printed
            .split("serving on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("the address it serves on")
            .to_string();
        let agent =
            ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(LIMIT)).build().into();
        Server { process, base, agent, token: None }
    }

    /// The status and body of `GET path`.
    pub fn get(&self, path: &str) -> (u16, String) {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response = request.call().expect("an HTTP answer");
        let body = response.body_mut().read_to_string().expect("a text body");
        (response.status().as_u16(), body)
    }

    /// The JSON body of `GET path`, which must answer `status`.
    pub fn json(&self, path: &str, status: u16) -> Value {
        let (got, body) = self.get(path);
        assert_eq!(got, status, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.process.is_running() {
            self.process.terminate();
        }
    }
}
