//! `trendflow serve` on a network it cannot trust, over raw TCP where a client library would
//! hide what is tested: a connection that trickles its headers, or sits idle after an answer, is
//! closed by the header timeout, and a live-push client that never reads by the write timeout; a
//! stop with a hundred live-push clients connected ends within seconds; a request for a Host the
//! server does not answer for is refused; times past year 9999 are refused rather than
//! overflowing; a refusal names no internals and carries a request id; every answer has headers
//! that keep a browser from sniffing its type or framing it; tokens open the server, one rotated
//! in its file takes effect without a restart, and a server other hosts reach is refused without
//! them; reads a locked table holds up get 503 at the deadline and are cancelled on the server;
//! TLS serves with tokens, and a renewed certificate takes effect without a restart.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Instant;

use mysql::prelude::Queryable;

use crate::common::{
    live_snapshot, run_bounded, self_signed, send_messages, trendflow, trusting, wait_for, Metrics, Server, Services,
    LIMIT,
};
use serde_json::{json, Value};

/// Fresh services with the batch layer's `1m` views of 20,000 generated tweets.
fn with_batch_views(name: &str) -> Services {
    let s = Services::streaming(name, 1);
    s.succeed(&["db", "generate", "--tweets", "20000"]);
    s.succeed(&["batch", "--window", "1m"]);
    s
}

/// Fresh services with a minute's views in the batch layer, and a server with one-second header
/// and write timeouts.
fn serving(name: &str) -> (Services, Server) {
    let s = with_batch_views(name);
    let server = Server::start_with(&s, &["--header-timeout", "1s", "--write-timeout", "1s"]);
    wait_for("the server to be ready", LIMIT, || server.get("/readyz").0 == 200);
    (s, server)
}

/// A connection to `server`, whose reads give up after [`LIMIT`].
fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(server.base.trim_start_matches("http://")).expect("connecting to the server");
    stream.set_read_timeout(Some(LIMIT)).expect("a read timeout");
    stream
}

/// Everything the server sends on `stream` until it closes the connection; fails the test if it
/// has not closed it within [`LIMIT`].
fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    match stream.read_to_end(&mut received) {
        Ok(_) => {}
        // A close with unread bytes in the server's buffer resets the connection: closed too.
        Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(error) => panic!("the server kept the connection open ({error}); it had sent {received:?}"),
    }
    String::from_utf8_lossy(&received).into_owned()
}

/// The answer to a request — `head`, its request line and any headers, then `Host: host` and
/// `body` — on a connection of its own that the server closes.
fn exchange(server: &Server, head: &str, host: &str, body: &str) -> String {
    let mut stream = connect(server);
    write!(stream, "{head}Host: {host}\r\nConnection: close\r\n\r\n{body}").expect("sending a request");
    read_until_closed(&mut stream)
}

/// The answer to `GET path` with `Host: host`.
fn get_with_host(server: &Server, path: &str, host: &str) -> String {
    exchange(server, &format!("GET {path} HTTP/1.1\r\n"), host, "")
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_connection_trickling_its_headers_or_idle_after_an_answer_is_closed_by_the_header_timeout() {
    let (_s, server) = serving("servetimeouts");
    // Headers a byte every 100 ms, never finished: the pace of the slow client under test, not a
    // wait for anything.
    let mut slow = connect(&server);
    let mut writer = slow.try_clone().expect("a second handle");
    let trickle = std::thread::spawn(move || {
        for byte in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".iter().cycle() {
            if writer.write_all(&[*byte]).is_err() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    });
    assert_eq!(read_until_closed(&mut slow), "", "no answer to headers never finished");
    trickle.join().expect("the trickling writer");

    // One request answered, then nothing: the idle keep-alive connection is closed.
    let mut idle = connect(&server);
    write!(idle, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").expect("sending a request");
    let answered = read_until_closed(&mut idle);
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_stop_with_a_hundred_live_clients_connected_ends_within_five_seconds() {
    let (_s, mut server) = serving("servestop");
    let clients: Vec<TcpStream> = (0..100)
        .map(|_| {
            let mut client = connect(&server);
            write!(client, "GET /api/v1/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").expect("subscribing");
            let mut head = [0u8; 12];
            client.read_exact(&mut head).expect("the live push's answer");
            assert_eq!(&head, b"HTTP/1.1 200", "a live push");
            client
        })
        .collect();
    let stopping = Instant::now();
    server.process.terminate();
    wait_for("the server to exit", LIMIT, || !server.process.is_running());
    let took = stopping.elapsed();
    assert!(took.as_secs_f64() < 5.0, "the server took {took:?} to stop with 100 live clients");
    drop(clients);
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn another_host_is_refused_and_every_answer_has_an_id_and_the_browser_headers() {
    let (_s, server) = serving("servehosts");
    let port = server.base.rsplit(':').next().expect("a port");
    let evil = get_with_host(&server, "/api/v1/specs", "evil");
    assert!(evil.starts_with("HTTP/1.1 421"), "{evil}");
    assert!(evil.contains("\"code\":\"host_not_allowed\""), "{evil}");
    let rebound = get_with_host(&server, "/", &format!("evil.example:{port}"));
    assert!(rebound.starts_with("HTTP/1.1 421"), "a rebound name with the right port: {rebound}");
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}"), "LOCALHOST".to_string()] {
        let answer = get_with_host(&server, "/api/v1/specs", &host);
        assert!(answer.starts_with("HTTP/1.1 200"), "{host}: {answer}");
        let head = answer.to_lowercase();
        for header in ["x-request-id: ", "x-content-type-options: nosniff", "referrer-policy: no-referrer"] {
            assert!(head.contains(header), "{header} in {answer}");
        }
        assert!(head.contains("content-security-policy: frame-ancestors 'none'"), "{answer}");
    }
    // The page keeps its own policy, which allows only this server's scripts.
    let page = get_with_host(&server, "/", "127.0.0.1").to_lowercase();
    assert!(page.contains("content-security-policy: default-src 'self'"), "{page}");
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn times_past_year_9999_are_refused_not_overflowed() {
    let (_s, server) = serving("servetimes");
    for path in [
        "/api/v1/windows/hashtags?spec=1m&at=18446744073709551615",
        "/api/v1/windows/hashtags?spec=1m&at=253402300800000",
        "/api/v1/windows/hashtags/range?spec=1m&from=18446744073709551615&to=18446744073709551615",
        "/api/v1/hashtags/ida/history?spec=1m&from=0&to=18446744073709551615",
    ] {
        let refused = server.json(path, 400);
        assert_eq!(refused["code"], "bad_request", "{path}: {refused}");
        assert!(refused["request_id"].as_str().is_some_and(|id| !id.is_empty()), "{refused}");
    }
    // The last minute of year 9999 is a question, answered: no such window.
    let latest = server.json("/api/v1/windows/hashtags?spec=1m&at=253402300740000", 404);
    assert_eq!(latest["code"], "not_found", "{latest}");
    assert_eq!(server.get("/healthz").0, 200, "still serving");
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_broker_away_leaves_the_server_ready_but_degraded_and_is_reported_without_its_address() {
    let s = Services { brokers: "127.0.0.1:1".into(), ..Services::fresh("servebrokeraway") };
    s.succeed(&["db", "init"]);
    let server = Server::start_with(&s, &["-X", "client.id=secret-client-name"]);
    // Once the follower has found the broker away, the server is ready: every closed window can
    // still be answered.
    wait_for("the server to be ready without the broker", LIMIT, || server.get("/readyz").0 == 200);
    for path in ["/readyz", "/api/v1/status"] {
        let (_, body) = server.get(path);
        for secret in ["127.0.0.1:1", "secret-client-name", "trendflow_test_"] {
            assert!(!body.contains(secret), "{path} tells {secret}: {body}");
        }
    }
    // Degraded, for want of the open window.
    let ready = server.json("/readyz", 200);
    assert!(ready["degraded"][0].as_str().is_some_and(|reason| reason.contains("ranking topics")), "{ready}");
    let status = server.json("/api/v1/status", 200);
    assert!(status["ready"] == true && status["degraded"] == ready["degraded"], "{status}");
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn tokens_open_the_server_and_one_rotated_in_its_file_takes_effect_without_a_restart() {
    let s = with_batch_views("servetokens");
    let tokens = std::env::temp_dir().join(format!("{}tokens", s.topic_prefix));
    std::fs::write(&tokens, "# readers of the trends\nfirst-token\n").expect("writing the token file");
    let mut server = Server::start_with(&s, &["--auth-token-file", tokens.to_str().expect("a UTF-8 path")]);
    wait_for("the server to be ready", LIMIT, || server.get("/readyz").0 == 200);
    assert_eq!(server.get("/healthz").0, 200, "health stays open");

    let refused = exchange(&server, "GET /api/v1/specs HTTP/1.1\r\n", "127.0.0.1", "");
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    assert!(refused.to_lowercase().contains("www-authenticate: bearer"), "{refused}");
    assert!(!refused.contains("first-token"), "{refused}");
    assert_eq!(server.json("/metrics", 401)["code"], "unauthorized");
    server.token = Some("first-token".into());
    assert_eq!(server.get("/api/v1/specs").0, 200);
    assert_eq!(server.get("/metrics").0, 200);
    server.token = Some("wrong".into());
    assert_eq!(server.get("/api/v1/specs").0, 401);

    // The page sends a browser without the cookie to the sign-in, whose form sets it.
    let page = exchange(&server, "GET / HTTP/1.1\r\n", "127.0.0.1", "");
    assert!(page.starts_with("HTTP/1.1 303") && page.to_lowercase().contains("location: /login"), "{page}");
    let form = exchange(&server, "GET /login HTTP/1.1\r\n", "127.0.0.1", "");
    assert!(form.starts_with("HTTP/1.1 200") && form.contains("<form method=\"post\""), "{form}");
    let body = "token=first-token";
    let post = format!(
        "POST /login HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
        body.len()
    );
    let signed_in = exchange(&server, &post, "127.0.0.1", body);
    let head = signed_in.to_lowercase();
    assert!(signed_in.starts_with("HTTP/1.1 303") && head.contains("location: /"), "{signed_in}");
    assert!(head.contains("set-cookie: trendflow_token=first-token; httponly; samesite=strict; path=/"), "{signed_in}");
    let with_cookie =
        exchange(&server, "GET /api/v1/specs HTTP/1.1\r\nCookie: trendflow_token=first-token\r\n", "127.0.0.1", "");
    assert!(with_cookie.starts_with("HTTP/1.1 200"), "{with_cookie}");

    // The file rotated: the new token opens the server, the old one no longer does.
    std::fs::write(&tokens, "second-token\n").expect("rotating the token");
    server.token = Some("second-token".into());
    wait_for("the rotated token to open the server", LIMIT, || server.get("/api/v1/specs").0 == 200);
    server.token = Some("first-token".into());
    assert_eq!(server.get("/api/v1/specs").0, 401, "the token rotated out");
    std::fs::remove_file(&tokens).expect("removing the token file");
}

#[test]
fn a_server_other_hosts_reach_is_refused_without_tokens_unless_told_by_name() {
    let refused = run_bounded(trendflow(&["serve", "--listen", "0.0.0.0:0"]));
    assert!(!refused.status.success(), "{}", refused.stdout);
    for said in ["--listen 0.0.0.0:0 serves other hosts", "--auth-token-file FILE", "--insecure-no-auth"] {
        assert!(refused.stderr.contains(said), "{said:?} not in: {}", refused.stderr);
    }
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn reads_a_locked_table_holds_up_are_answered_503_and_cancelled_on_the_server() {
    let (s, server) = serving("serveslowmysql");
    let end: u64 = s
        .mysql()
        .query_first("SELECT MIN(window_end_ms) FROM view_top_hashtags WHERE layer = 'batch'")
        .expect("a window")
        .expect("the batch wrote windows");
    let window = format!("/api/v1/windows/hashtags?spec=1m&at={end}");
    // The window is there (asked for its first row only: the rows asked for below are not kept yet).
    assert_eq!(server.get(&format!("{window}&k=1")).0, 200);
    // Another session holds the table: every read of it waits, as on a server slowed down.
    let mut holder = s.mysql();
    holder.query_drop("LOCK TABLES view_top_hashtags WRITE").expect("locking the table");
    let started = Instant::now();
    let waiting: Vec<_> = (0..20)
        .map(|_| {
            let (base, path) = (server.base.clone(), window.clone());
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(LIMIT))
                    .build()
                    .into();
                agent.get(format!("{base}{path}")).call().expect("an answer").status().as_u16()
            })
        })
        .collect();
    let statuses: Vec<u16> = waiting.into_iter().map(|request| request.join().expect("a request")).collect();
    assert!(statuses.iter().all(|status| *status == 503), "{statuses:?} after {:?}", started.elapsed());
    // The server stops each query at the deadline too: none of serve's reads goes on waiting
    // behind the lock, which is still held.
    let database = s.mysql_url.rsplit('/').next().expect("a database name").to_string();
    wait_for("serve's queries to be cancelled on the server", LIMIT, || {
        let running: u64 = s
            .mysql()
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.processlist WHERE db = ? AND command = 'Query' \
                 AND info LIKE '%view_top_hashtags%' AND info NOT LIKE '%processlist%'",
                (&database,),
            )
            .expect("reading the process list")
            .unwrap_or(0);
        running == 0
    });
    holder.query_drop("UNLOCK TABLES").expect("unlocking the table");
    wait_for("the window to be answered again", LIMIT, || server.get(&window).0 == 200);
}

/// The status of `GET url` with `token` by `agent`; `None` if no answer came (a certificate the
/// agent does not trust).
fn status_of(agent: &ureq::Agent, url: &str, token: &str) -> Option<u16> {
    agent.get(url).header("Authorization", format!("Bearer {token}")).call().ok().map(|answer| answer.status().as_u16())
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn tls_with_tokens_serves_and_a_renewed_certificate_takes_effect_without_a_restart() {
    let s = with_batch_views("servetls");
    let dir = std::env::temp_dir().join(format!("{}tls", s.topic_prefix));
    std::fs::create_dir_all(&dir).expect("a folder for the certificates");
    let (cert, key, first) = self_signed(&dir, "served");
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, "tls-reader\n").expect("writing the token file");
    let path = |file: &PathBuf| file.to_str().expect("a UTF-8 path").to_string();
    let flags = ["--tls-cert", &path(&cert), "--tls-key", &path(&key), "--auth-token-file", &path(&tokens)];
    let server = Server::start_with(&s, &flags);
    assert!(server.base.starts_with("https://127.0.0.1:"), "{}", server.base);
    let specs = format!("{}/api/v1/specs", server.base);
    let old = trusting(&first);
    wait_for("the server to answer over TLS", LIMIT, || status_of(&old, &specs, "tls-reader") == Some(200));
    assert_eq!(status_of(&old, &specs, "another"), Some(401));
    // A client that does not trust the certificate gets no answer, and plain HTTP none either.
    assert_eq!(status_of(&trusting(&self_signed(&dir, "stranger").2), &specs, "tls-reader"), None);
    let plain = format!("http://{}/healthz", server.base.trim_start_matches("https://"));
    assert!(ureq::get(&plain).call().is_err(), "plain HTTP on the TLS port");

    // Renewed: the new certificate in place of the old, read again without a restart.
    let (renewed_cert, renewed_key, renewed) = self_signed(&dir, "renewed");
    std::fs::rename(&renewed_key, &key).expect("renewing the key");
    std::fs::rename(&renewed_cert, &cert).expect("renewing the certificate");
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    for file in [&cert, &key] {
        std::fs::File::options().write(true).open(file).and_then(|f| f.set_modified(later)).expect("touching");
    }
    let new = trusting(&renewed);
    wait_for("the renewed certificate to be served", LIMIT, || status_of(&new, &specs, "tls-reader") == Some(200));
    assert_eq!(status_of(&trusting(&first), &specs, "tls-reader"), None, "the old certificate is gone");
    std::fs::remove_dir_all(&dir).expect("removing the certificates");
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_live_push_client_that_never_reads_is_let_go_by_the_write_timeout() {
    let (s, server) = serving("servestalled");
    let mut stalled = connect(&server);
    write!(stalled, "GET /api/v1/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").expect("subscribing");
    let mut head = [0u8; 12];
    stalled.read_exact(&mut head).expect("the live push's answer");
    assert_eq!(&head, b"HTTP/1.1 200");
    let connected = || Metrics::parse(server.get("/metrics").1).value("trendflow_serve_live_clients", &[]);
    assert_eq!(connected(), Some(1.0));
    // 30 MB of snapshots, more than the sockets' buffers hold: with the client reading nothing,
    // the server's writes stop making progress.
    let rows: Vec<Value> =
        (1..=100).map(|rank| json!({ "rank": rank, "hashtag": "x".repeat(1_000), "count": 1 })).collect();
    let snapshots: Vec<(i32, String, Vec<u8>)> = (0..300u64)
        .map(|i| (0, "1m".to_string(), live_snapshot("1m", 1_630_281_600_000 + i * 60_000, json!(rows))))
        .collect();
    send_messages(&format!("{}top_hashtags", s.topic_prefix), &snapshots);
    wait_for("the stalled client to be let go", LIMIT, || connected() == Some(0.0));
    drop(stalled);
}
