//! The serving layer against the real MariaDB and broker: `trendflow serve` answers windows up to
//! the batch boundary from the batch layer, later closed ones from the speed layer, and the open
//! one from the latest live snapshot, in single windows, ranges and a hashtag's history; the
//! boundary moves with a complete batch run; the live push delivers snapshots published after a
//! client connected and resumes with `Last-Event-ID`, on any server; bad requests get JSON that says what would
//! be right; `/metrics` parses as Prometheus text.

use std::io::{BufRead, BufReader, Read};
use trendflow::vocabulary::Layer;

use serde_json::{json, Value};
use trendflow::mysql::Heartbeat;
use trendflow::mysql::MysqlArgs;
use trendflow_dataflows::views::FinalViews;
use trendflow_dataflows::window::{Window, WindowSpec};

use crate::common::{
    live_snapshot, private_mariadb, private_mariadb_database, seed_json, seed_tweets, send_messages, stored_views,
    wait_for, Metrics, Server, Services, LIMIT,
};

impl Server {
    /// The live push at `path`, resumed after `last_seen` if given.
    fn events(&self, path: &str, last_seen: Option<&str>) -> Events {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        if let Some(id) = last_seen {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.call().expect("the live push answers");
        assert_eq!(response.status().as_u16(), 200);
        Events { lines: BufReader::new(Box::new(response.into_body().into_reader())) }
    }
}

/// A live-push connection.
struct Events {
    lines: BufReader<Box<dyn Read>>,
}

impl Events {
    /// The next event's id, name and data (keep-alive comments skipped). A line that is none of
    /// those fields, data that is not JSON or an event without an id, a name and data fails the
    /// test: the page's `EventSource` would mishandle them.
    fn next_event(&mut self) -> (String, String, Value) {
        let (mut id, mut name, mut data) = (None, None, None);
        loop {
            let mut line = String::new();
            assert!(self.lines.read_line(&mut line).expect("reading the live push") > 0, "the live push ended");
            let line = line.trim_end();
            if let Some(value) = line.strip_prefix("id:") {
                id = Some(value.trim().to_string());
            } else if let Some(value) = line.strip_prefix("event:") {
                name = Some(value.trim().to_string());
            } else if let Some(value) = line.strip_prefix("data:") {
                let value =
                    serde_json::from_str(value.trim()).unwrap_or_else(|e| panic!("event data not JSON ({e}): {line}"));
                data = Some(value);
            } else if line.is_empty() {
                match (id.take(), name.take(), data.take()) {
                    (Some(id), Some(name), Some(data)) => return (id, name, data),
                    (None, None, None) => continue,
                    (id, name, data) => panic!("an event without an id, a name and data: {id:?} {name:?} {data:?}"),
                }
            } else {
                assert!(line.starts_with(':') || line.starts_with("retry:"), "not an event line: {line:?}");
            }
        }
    }
}

/// The hashtag rows of `window` in `views`, as the API shapes them.
fn hashtag_rows(views: &FinalViews, window: Window) -> Value {
    let rows = views.hashtags.get(&window).cloned().unwrap_or_default();
    let rows: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(rank, row)| json!({ "rank": rank + 1, "hashtag": row.hashtag, "count": row.count }))
        .collect();
    json!(rows)
}

/// The trending rows of `window` in `views`, as the API shapes them.
fn trending_rows(views: &FinalViews, window: Window) -> Value {
    let trending = views.trending.get(&window).cloned().unwrap_or_default();
    let rows: Vec<Value> = trending
        .rows
        .iter()
        .enumerate()
        .map(|(rank, row)| {
            json!({ "rank": rank + 1, "hashtag": row.hashtag, "count": row.count, "baseline": row.baseline,
                    "expected": row.expected, "score": row.score, "partial_baseline": trending.partial_baseline })
        })
        .collect();
    json!(rows)
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn serve_merges_batch_speed_and_live_and_the_boundary_moves_with_a_batch_run() {
    let s = Services::streaming("serve", 1);
    let spec: WindowSpec = "1m".parse().unwrap();
    let mut tweets = seed_tweets();
    tweets.sort_by_key(|tweet| (tweet.created_at, tweet.id));
    let tweets_topic = format!("{}tweets", s.topic_prefix);
    let send = |tweets: &[trendflow_dataflows::Tweet]| {
        let messages: Vec<(i32, String, Vec<u8>)> =
            tweets.iter().map(|tweet| (0, tweet.id.to_string(), seed_json(tweet))).collect();
        send_messages(&tweets_topic, &messages);
    };
    // The first half streams (and is archived), the batch layer runs over it, then the rest
    // streams: the batch boundary lies in the middle of the speed layer's windows.
    let (first, rest) = tweets.split_at(tweets.len() / 2);
    send(first);
    s.succeed(&["stream", "--window", "1m", "--until-idle", "3s"]);
    s.succeed(&["batch", "--window", "1m"]);
    send(rest);
    s.succeed(&["stream", "--window", "1m", "--until-idle", "3s"]);
    let newest_first = first.iter().map(|tweet| tweet.created_at).max().unwrap();
    let boundary = newest_first - newest_first % 60_000;

    // An open window's live snapshot, as the stream publishes one before its window closes.
    let speed = stored_views(&s.mysql_url, Layer::Speed, &[spec]);
    let last_final = speed.hashtags.keys().map(|window| window.end).max().unwrap();
    let live_end = last_final + 60_000;
    let live = live_snapshot("1m", live_end, json!([{ "rank": 1, "hashtag": "breaking", "count": 3 }]));
    send_messages(&format!("{}top_hashtags", s.topic_prefix), &[(0, "1m".into(), live)]);
    // The stream that would publish it runs, as its heartbeat says: beating until the test ends.
    let mysql = MysqlArgs { url: s.mysql_url.clone(), wait_secs: 10 }.config().expect("MySQL settings");
    let _running = Heartbeat::start(&mysql, "a stand-in stream".into(), 0);

    let server = Server::start(&s);
    wait_for("the server to be ready", LIMIT, || server.get("/readyz").0 == 200);
    wait_for("the speed layer to be running", LIMIT, || {
        server.json("/api/v1/status", 200)["speed_layer"]["state"] == "running"
    });
    assert_eq!(server.json("/healthz", 200)["status"], "ok");
    let batch = stored_views(&s.mysql_url, Layer::Batch, &[spec]);
    let window = |end| Window { spec, end };

    // At or before the boundary: the batch layer, though the speed layer holds the window too.
    let answer = server.json(&format!("/api/v1/windows/hashtags?spec=1m&at={boundary}"), 200);
    assert_eq!((answer["layer"].as_str(), answer["final"].as_bool()), (Some("batch"), Some(true)), "{answer}");
    assert_eq!(answer["batch_boundary_ms"], boundary);
    assert_eq!(answer["rows"], hashtag_rows(&batch, window(boundary)));
    assert!(speed.hashtags.contains_key(&window(boundary)), "the speed layer holds it too, unserved");
    // After it: the speed layer's final view; RFC 3339 works as well as epoch milliseconds.
    let after = boundary + 120_000;
    let at = trendflow::time::rfc3339(after);
    let answer = server.json(&format!("/api/v1/windows/hashtags?spec=1m&at={at}&k=3"), 200);
    assert_eq!(answer["layer"], "speed", "{answer}");
    let expected: Vec<Value> =
        hashtag_rows(&speed, window(after)).as_array().unwrap().iter().take(3).cloned().collect();
    assert_eq!(answer["rows"], json!(expected));
    // The trending view by the same rule, every field as the layer stored it.
    let answer = server.json(&format!("/api/v1/windows/trending?spec=1m&at={boundary}"), 200);
    assert_eq!(answer["layer"], "batch", "{answer}");
    assert!(answer["rows"].as_array().is_some_and(|rows| !rows.is_empty()), "{answer}");
    assert_eq!(answer["rows"], trending_rows(&batch, window(boundary)));
    let answer = server.json(&format!("/api/v1/windows/trending?spec=1m&at={after}"), 200);
    assert_eq!(answer["layer"], "speed", "{answer}");
    assert_eq!(answer["rows"], trending_rows(&speed, window(after)));
    // The latest: the open window, live.
    let answer = server.json("/api/v1/windows/hashtags?spec=1m", 200);
    assert_eq!((answer["layer"].as_str(), answer["final"].as_bool()), (Some("live"), Some(false)), "{answer}");
    assert_eq!(
        (answer["window_end_ms"].as_u64(), answer["rows"][0]["hashtag"].as_str()),
        (Some(live_end), Some("breaking"))
    );
    // Languages have no live snapshots: their latest is the speed layer's last closed window.
    let answer = server.json("/api/v1/windows/languages?spec=1m", 200);
    assert_eq!(
        (answer["layer"].as_str(), answer["window_end_ms"].as_u64()),
        (Some("speed"), Some(last_final)),
        "{answer}"
    );
    let specs = server.json("/api/v1/specs", 200);
    assert_eq!(specs["specs"][0]["spec"], "1m");
    assert_eq!(specs["specs"][0]["batch_boundary_ms"], boundary);
    assert_eq!(specs["specs"][0]["speed_latest_final_ms"], last_final);
    assert_eq!(specs["specs"][0]["live_window_end_ms"], live_end);

    // A range, page by page: each window from the layer the rule picks, equal to its views.
    let from = boundary - 120_000;
    let mut path = format!("/api/v1/windows/hashtags/range?spec=1m&from={from}&to={live_end}&limit=4&k=2");
    let mut pages = Vec::new();
    loop {
        let page = server.json(&path, 200);
        pages.push(page.clone());
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!(
                    "/api/v1/windows/hashtags/range?spec=1m&from={from}&to={live_end}&limit=4&k=2&cursor={cursor}"
                )
            }
            None => break,
        }
    }
    let windows: Vec<&Value> = pages.iter().flat_map(|page| page["windows"].as_array().unwrap()).collect();
    assert_eq!(pages.len() as u64, (live_end - from) / 60_000 / 4 + 1, "pages of four windows");
    for listed in &windows {
        let end = listed["window_end_ms"].as_u64().unwrap();
        let (layer, views) = match end {
            end if end <= boundary => ("batch", Some(&batch)),
            end if end <= last_final => ("speed", Some(&speed)),
            _ => ("live", None),
        };
        assert_eq!(listed["layer"], layer, "{listed}");
        if let Some(views) = views {
            let expected: Vec<Value> =
                hashtag_rows(views, window(end)).as_array().unwrap().iter().take(2).cloned().collect();
            assert_eq!(listed["rows"], json!(expected), "{listed}");
        }
    }
    let ends: Vec<u64> = windows.iter().map(|listed| listed["window_end_ms"].as_u64().unwrap()).collect();
    assert!(ends.windows(2).all(|pair| pair[0] < pair[1]) && ends.last() == Some(&live_end), "{ends:?}");

    // A hashtag's history: its rank and count in each window, from the layer the rule picks.
    // One that needs no percent-encoding in a path, but for the '#'.
    let (position, top) = speed.hashtags[&window(after)]
        .iter()
        .enumerate()
        .find(|(_, row)| row.hashtag.chars().all(|c| c.is_ascii_alphanumeric()))
        .expect("an ASCII hashtag in the window");
    let history = server.json(
        &format!("/api/v1/hashtags/%23{}/history?spec=1m&from={from}&to={live_end}", top.hashtag.to_uppercase()),
        200,
    );
    assert_eq!(history["hashtag"], top.hashtag.as_str(), "'#' and case do not matter");
    for point in history["windows"].as_array().unwrap() {
        let end = point["window_end_ms"].as_u64().unwrap();
        let views = if end <= boundary { &batch } else { &speed };
        let ranked =
            views.hashtags.get(&window(end)).and_then(|rows| rows.iter().position(|row| row.hashtag == top.hashtag));
        if end == live_end {
            assert_eq!(point["layer"], "live");
            continue;
        }
        assert_eq!(point["rank"].as_u64(), ranked.map(|rank| rank as u64 + 1), "{point}");
    }
    let at_after = history["windows"].as_array().unwrap().iter().find(|point| point["window_end_ms"] == after).unwrap();
    assert_eq!((at_after["rank"].as_u64(), at_after["count"].as_u64()), (Some(position as u64 + 1), Some(top.count)));

    // Live push: a snapshot published after the client connected reaches it, and a client that
    // reconnects with the last id it saw gets what came after.
    let mut events = server.events("/api/v1/live?spec=1m&kind=hashtags", None);
    let top_hashtags = format!("{}top_hashtags", s.topic_prefix);
    for (i, end) in [live_end, live_end + 60_000].into_iter().enumerate() {
        let snapshot = live_snapshot("1m", end, json!([{ "rank": 1, "hashtag": format!("news{i}"), "count": 5 }]));
        send_messages(&top_hashtags, &[(0, "1m".into(), snapshot)]);
    }
    let (first_id, _, first) = events.next_event();
    assert_eq!(
        (first["window_end_ms"].as_u64(), first["rows"][0]["hashtag"].as_str()),
        (Some(live_end), Some("news0"))
    );
    let (second_id, _, second) = events.next_event();
    assert_eq!(second["window_end_ms"].as_u64(), Some(live_end + 60_000));
    assert_ne!(first_id, second_id);
    drop(events);
    let (resumed_id, _, resumed) = server.events("/api/v1/live?spec=1m", Some(&first_id)).next_event();
    assert_eq!((resumed_id.as_str(), resumed["rows"][0]["hashtag"].as_str()), (second_id.as_str(), Some("news1")));
    // Another server (or this one restarted) resumes the client too: the ids are the broker's
    // offsets, not a count of this process's.
    let other = Server::start(&s);
    wait_for("the other server to be ready", LIMIT, || other.get("/readyz").0 == 200);
    let (_, name, resumed) = other.events("/api/v1/live?spec=1m&kind=hashtags", Some(&first_id)).next_event();
    assert_eq!((name.as_str(), resumed["rows"][0]["hashtag"].as_str()), ("hashtags", Some("news1")));
    // An id it cannot resume from, from another cluster or made up, gets a reset to reload.
    let (_, name, _) = other.events("/api/v1/live?spec=1m", Some("hashtags.0.999999999")).next_event();
    assert_eq!(name, "reset");
    drop(other);
    let answer = server.json("/api/v1/windows/hashtags?spec=1m", 200);
    assert_eq!(answer["window_end_ms"], live_end + 60_000, "the newest live snapshot is the open window");

    // A complete batch run over everything archived moves the boundary: the same window is now
    // the batch layer's.
    s.succeed(&["batch", "--window", "1m"]);
    let path = format!("/api/v1/windows/hashtags?spec=1m&at={after}");
    // The server reads the boundaries a few times a second.
    wait_for("the boundary to move", LIMIT, || server.json(&path, 200)["layer"] == "batch");
    let answer = server.json(&path, 200);
    let batch = stored_views(&s.mysql_url, Layer::Batch, &[spec]);
    assert_eq!(answer["rows"], hashtag_rows(&batch, window(after)));

    // The archived text of tweets, for the top tweets; an id the archive lacks is left out.
    let (shown, missing) = (&tweets[0], 7_u64);
    let texts = server.json(&format!("/api/v1/tweets?ids={},{missing}", shown.id), 200);
    assert_eq!(texts["tweets"].as_array().map(Vec::len), Some(1), "{texts}");
    assert_eq!(texts["tweets"][0]["text"], shown.text.as_str(), "{texts}");
    assert_eq!(texts["tweets"][0]["language"], shown.lang.as_str(), "{texts}");
    let status = server.json("/api/v1/status", 200);
    assert_eq!((&status["ready"], &status["mysql"], &status["live"]), (&json!(true), &Value::Null, &Value::Null));
    assert_eq!(status["speed_layer"]["state"], "running", "{status}");
    // The dashboard: the page and its files, from the binary.
    let (status, page) = server.get("/");
    assert!(status == 200 && page.contains("/assets/dashboard.js"), "{status}: {page}");
    for asset in ["dashboard.js", "dashboard.css", "chart.umd.min.js"] {
        assert_eq!(server.get(&format!("/assets/{asset}")).0, 200, "{asset}");
    }
    assert_eq!(server.get("/assets/secrets.txt").0, 404);

    // Bad requests: JSON that says what would be right.
    let beyond = live_end + 600_000;
    for (path, status, expected) in [
        ("/api/v1/windows/emoji?spec=1m".to_string(), 404, "one of: hashtags, tweets, languages, trending"),
        ("/api/v1/windows/hashtags".into(), 400, "spec, one of: 1m"),
        ("/api/v1/windows/hashtags?spec=5x".into(), 400, "one of: 1m"),
        ("/api/v1/windows/hashtags?spec=5m".into(), 404, "one of: 1m"),
        ("/api/v1/windows/hashtags?spec=1m&at=yesterday".into(), 400, "RFC 3339"),
        ("/api/v1/windows/hashtags?spec=1m&at=1630281087001".into(), 400, "a multiple of the slide"),
        (format!("/api/v1/windows/hashtags?spec=1m&at={beyond}"), 404, "a window end up to the latest"),
        ("/api/v1/windows/hashtags?spec=1m&at=60000".into(), 404, "another window end"),
        ("/api/v1/windows/hashtags?spec=1m&k=0".into(), 400, "from 1 to 1000"),
        ("/api/v1/windows/hashtags?spec=1m&limit=3".into(), 400, "at (a window end"),
        ("/api/v1/nothing".into(), 404, "/api/v1/specs"),
    ] {
        let answer = server.json(&path, status);
        let said = answer["expected"].as_str().unwrap_or_default();
        assert!(said.contains(expected), "GET {path}: {answer}");
        assert!(answer["error"].is_string(), "GET {path}: {answer}");
    }
    for (path, expected) in [
        ("/api/v1/tweets", "tweet ids separated by commas"),
        ("/api/v1/tweets?ids=12,x", "tweet ids separated by commas"),
        (&format!("/api/v1/tweets?ids={}", vec!["1"; 101].join(",")), "from 1 to 100"),
    ] {
        let answer = server.json(path, 400);
        assert!(answer["expected"].as_str().unwrap_or_default().contains(expected), "GET {path}: {answer}");
    }
    let long = format!("/api/v1/windows/hashtags?spec=1m&k={}", "1".repeat(3_000));
    assert_eq!(server.json(&long, 400)["error"], "query string too long");

    // Metrics in Prometheus' text format, counted by route and status.
    let (status, text) = server.get("/metrics");
    assert_eq!(status, 200);
    let metrics = Metrics::parse(text);
    let requests = |route: &str, code: &str| {
        metrics.value("trendflow_serve_requests_total", &[("route", route), ("status", code)]).unwrap_or(0.0)
    };
    let text = &metrics.text;
    // At least six answers (the wait for the boundary asks again), seven bad requests and four
    // windows not found above.
    assert!(requests("/api/v1/windows/:kind", "200") >= 6.0, "{text}");
    assert_eq!(requests("/api/v1/windows/:kind", "400"), 7.0, "{text}");
    assert_eq!(requests("/api/v1/windows/:kind", "404"), 4.0, "{text}");
    assert!(metrics.value("trendflow_serve_live_snapshots_total", &[]).is_some_and(|n| n >= 1.0), "{text}");
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_stream_killed_under_serve_is_reported_stopped_and_the_latest_window_is_its_last_final_one() {
    let s = Services::streaming("stale", 1);
    // Two minutes of event time: one-minute windows closed, and one still open when the tweets
    // end; the stream then idles, its open window's live snapshot the latest.
    s.succeed(&["produce", "--from", "generator", "--tweets", "12000"]);
    let mut stream = s.watch(&["stream", "--window", "1m", "--lateness", "1s", "--no-archive"]);
    // Caught up with every tweet: the window open now is the last one, not one the backlog will
    // close while the test looks.
    stream.wait_for_output("started: ", LIMIT);
    let server = Server::start(&s);
    let latest = || server.json("/api/v1/windows/hashtags?spec=1m", 200);
    let speed_state = || server.json("/api/v1/status", 200)["speed_layer"]["state"].clone();
    wait_for("the open window, live, while the stream runs", LIMIT, || {
        server.get("/api/v1/windows/hashtags?spec=1m").0 == 200 && latest()["layer"] == "live"
    });
    assert_eq!(speed_state(), "running");
    let open = latest();
    let live_end = open["window_end_ms"].as_u64().expect("the open window's end");
    assert!(open["as_of_ms"].as_u64().is_some_and(|as_of| as_of < live_end), "{open}");

    // Killed, it beats no more: within the silence bound (10 s) and a few refreshes, the server
    // says so and answers the latest window from the speed layer's last final view.
    stream.kill();
    wait_for("the server to report the speed layer silent", LIMIT, || speed_state() == "silent");
    let answer = latest();
    assert_eq!((answer["layer"].as_str(), answer["final"].as_bool()), (Some("speed"), Some(true)), "{answer}");
    assert_eq!(answer["window_end_ms"].as_u64(), Some(live_end - 60_000), "{answer}");
    let specs = server.json("/api/v1/specs", 200);
    assert_eq!(specs["specs"][0]["live_window_end_ms"], Value::Null, "{specs}");
    let status = server.json("/api/v1/status", 200);
    assert!(status["speed_layer"]["last_heard_ms"].as_u64().is_some_and(|ms| ms > 10_000), "{status}");
    assert_eq!(status["ready"], true, "the closed windows still answer: {status}");

    // Started again and stopped with a signal, it says it stopped, not merely went silent.
    let stream = s.watch(&["stream", "--window", "1m", "--lateness", "1s", "--no-archive"]);
    wait_for("the speed layer running again", LIMIT, || speed_state() == "running");
    stream.terminate();
    stream.finish(LIMIT).succeeded();
    wait_for("the server to report the speed layer stopped", LIMIT, || speed_state() == "stopped");
}

/// The port of this test's own MariaDB, which it stops and starts.
const MARIADB_PORT: &str = "3308";

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn serve_answers_503_for_what_needs_mysql_while_it_is_away_and_recovers_by_itself() {
    private_mariadb(MARIADB_PORT, "start");
    let s = Services {
        mysql_url: private_mariadb_database(MARIADB_PORT, "serve_outage"),
        ..Services::fresh("serveoutage")
    };
    s.succeed(&["db", "init"]);
    s.succeed(&["topics", "create", "--partitions", "1"]);
    // Over three minutes of event time: the boundary, the latest minute before the newest tweet,
    // ends a window that holds tweets.
    s.succeed(&["db", "generate", "--tweets", "20000"]);
    s.succeed(&["batch", "--window", "1m"]);
    let server = Server::start(&s);
    let window = "/api/v1/windows/hashtags?spec=1m";
    wait_for("the server to be ready", LIMIT, || server.get("/readyz").0 == 200);
    assert_eq!(server.json(window, 200)["layer"], "batch");

    let boundary = server.json(window, 200)["window_end_ms"].as_u64().expect("the latest window's end");
    let earlier = format!("/api/v1/windows/hashtags?spec=1m&at={}", boundary - 60_000);

    private_mariadb(MARIADB_PORT, "kill");
    // A closed window read before is kept: it does not change until a batch run completes.
    assert_eq!(server.json(window, 200)["window_end_ms"], boundary, "answered from what was read");
    let away = server.json(&earlier, 503);
    assert!(away["error"].as_str().unwrap().contains("MySQL"), "{away}");
    // What MySQL said names its user, host and database: the log has it, not the answer.
    for path in [earlier.as_str(), "/readyz", "/api/v1/status"] {
        let (_, body) = server.get(path);
        for internal in ["127.0.0.1", MARIADB_PORT, "trendflow_serve_outage", "user"] {
            assert!(!body.contains(internal), "{path} tells {internal}: {body}");
        }
    }
    let ready = server.json("/readyz", 503);
    assert!(ready["reasons"][0].as_str().unwrap().contains("MySQL"), "{ready}");
    assert_eq!(server.json("/healthz", 200)["status"], "ok", "what needs no MySQL keeps answering");
    let status = server.json("/api/v1/status", 200);
    assert!(status["ready"] == false && status["mysql"].as_str().is_some_and(|e| e.contains("MySQL")), "{status}");
    assert_eq!(server.get("/metrics").0, 200);

    private_mariadb(MARIADB_PORT, "start");
    wait_for("serve to answer from MySQL again", LIMIT, || server.get(&earlier).0 == 200);
    assert_eq!(server.json(window, 200)["layer"], "batch");
    assert_eq!(server.get("/readyz").0, 200);
}
