//! The dashboard in a real browser: `trendflow serve` against the real MariaDB and a broker of
//! the test's own, its page open in Debian's headless Chromium (driven by
//! `tests/browser/driver.mjs` with playwright-core; `scripts/browser.sh` installs both). The page
//! shows the API's ranking for the window it names, changes without a reload when `produce` and
//! `stream` publish new tweets, follows the spec chosen with the keyboard, warns while the broker
//! is away and clears the warning when it returns, renders the seed's multilingual hashtags
//! as the API spells them without breaking the layout, and logs no console error — over TLS,
//! signed in through its form to a server that answers only the holders of a token.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use trendflow_dataflows::Tweet;

use crate::common::{
    private_broker, seed_dump, seed_json, seed_tweets, self_signed, trusting, wait_for, wait_for_or_explain, Server,
    Services, LIMIT,
};

/// The token the test's server answers.
const TOKEN: &str = "dashboard-reader";

/// The port of the test's own broker, which it stops and starts.
const BROKER_PORT: &str = "9198";

/// Debian's headless Chromium, driven one command at a time by `tests/browser/driver.mjs`.
struct Browser {
    driver: Child,
    commands: ChildStdin,
    answers: BufReader<ChildStdout>,
}

impl Browser {
    fn start() -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/driver.mjs");
        let mut driver = Command::new("node")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting node; scripts/browser.sh installs Node.js, Chromium and playwright-core");
        let commands = driver.stdin.take().expect("the driver's input");
        let answers = BufReader::new(driver.stdout.take().expect("the driver's output"));
        Browser { driver, commands, answers }
    }

    /// Sends `command` and returns its value; fails the test if the browser could not do it.
    fn call(&mut self, command: Value) -> Value {
        let answer = self.answer(&command);
        assert_eq!(answer["ok"], true, "{command}: {}", answer["error"]);
        answer["value"].clone()
    }

    /// Sends `command` and returns the driver's answer, whether it could do it or not.
    fn answer(&mut self, command: &Value) -> Value {
        writeln!(self.commands, "{command}").expect("writing to the browser driver");
        let mut line = String::new();
        self.answers.read_line(&mut line).expect("reading from the browser driver");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{command}: the driver answered {line:?} ({e})"))
    }

    fn open(&mut self, url: &str) {
        self.call(json!({ "op": "open", "url": url }));
    }

    /// The value of a JavaScript expression in the page.
    fn eval(&mut self, js: &str) -> Value {
        self.call(json!({ "op": "eval", "js": js }))
    }

    /// Waits until the expression `js` is true in the page.
    fn wait_until(&mut self, what: &str, js: &str) {
        wait_for(what, LIMIT, || self.eval(js) == true);
    }

    /// Waits until the expression `js` is true in the page, while the page may be navigating
    /// (an expression then fails, and is asked again).
    fn wait_until_loaded(&mut self, what: &str, js: &str) {
        wait_for(what, LIMIT, || self.answer(&json!({ "op": "eval", "js": js }))["value"] == true);
    }

    /// Focuses `selector` and presses `key`, as a keyboard user would.
    fn press(&mut self, selector: &str, key: &str) {
        self.call(json!({ "op": "press", "selector": selector, "key": key }));
    }

    fn screenshot(&mut self, path: &std::path::Path) {
        self.call(json!({ "op": "screenshot", "path": path }));
    }

    /// The console errors and uncaught exceptions since the page opened.
    fn errors(&mut self) -> Vec<Value> {
        let errors = self.call(json!({ "op": "errors" }));
        errors.as_array().cloned().unwrap_or_else(|| panic!("the driver answered {errors} for the page's errors"))
    }

    /// The hashtags panel as shown: its window end, its layer, and each row's cells.
    fn shown_hashtags(&mut self) -> Value {
        shown_table(self, "hashtags")
    }
}

/// A panel's table as shown: its window end, its layer, and each row's cells' text (a tweet's
/// cell: its text, without the line under it).
fn shown_table(browser: &mut Browser, panel: &str) -> Value {
    browser.eval(&format!(
        "({{ end: Number(document.getElementById('{panel}').dataset.windowEnd), \
            layer: document.getElementById('{panel}').dataset.layer, \
            rows: [...document.querySelectorAll('#{panel}-table tbody tr')] \
              .map((tr) => [...tr.cells].map((td) => td.firstChild.textContent)) }})"
    ))
}

/// Waits until the panel of a `kind` of view shows the API's answer for the window it names, cell
/// by cell as the page writes them: ranks, hashtags with their sign, counts, a tweet's text from
/// the archive, a trending row's score and expected count to one decimal.
fn wait_for_the_panel_to_show_the_api(browser: &mut Browser, server: &Server, kind: &str, spec: &str) {
    let difference = std::cell::RefCell::new(None);
    wait_for_or_explain(
        &format!("the {kind} panel to show the API's answer"),
        LIMIT,
        || {
            *difference.borrow_mut() = panel_difference(browser, server, kind, spec);
            difference.borrow().is_none()
        },
        || format!("; the last difference: {}", difference.borrow().clone().unwrap_or_default()),
    );
}

/// How the panel of a `kind` of view differs from the API's answer for the window it names.
fn panel_difference(browser: &mut Browser, server: &Server, kind: &str, spec: &str) -> Option<String> {
    let shown = shown_table(browser, kind);
    let end = shown["end"].as_u64().filter(|end| *end > 0)?;
    let answer = server.json(&format!("/api/v1/windows/{kind}?spec={spec}&at={end}"), 200);
    let rows = answer["rows"].as_array().expect("rows");
    let shown_rows = shown["rows"].as_array().expect("rows shown");
    if shown["layer"] != answer["layer"] || rows.is_empty() || shown_rows.len() != rows.len() {
        return Some(format!("shown {shown}, answered {answer}"));
    }
    let text = |value: &Value| match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let ids: Vec<String> = rows.iter().filter_map(|row| row.get("tweet_id")).map(text).collect();
    // The archive's texts, a hundred ids a request (the server's limit).
    let archived: Vec<Value> = ids
        .chunks(100)
        .flat_map(|ids| {
            let answer = server.json(&format!("/api/v1/tweets?ids={}", ids.join(",")), 200);
            answer["tweets"].as_array().cloned().expect("the archive's tweets")
        })
        .collect();
    for (row, cells) in rows.iter().zip(shown_rows) {
        let cells: Vec<String> = cells.as_array().expect("cells").iter().map(text).collect();
        let expected: Vec<String> = match kind {
            "hashtags" => vec![text(&row["rank"]), format!("#{}", text(&row["hashtag"])), text(&row["count"])],
            "languages" => vec![text(&row["rank"]), text(&row["language"]), text(&row["count"])],
            "tweets" => {
                let tweet = archived.iter().find(|tweet| tweet["tweet_id"] == row["tweet_id"]);
                let tweet = tweet.unwrap_or_else(|| panic!("the archive has tweet {}", row["tweet_id"]));
                vec![text(&row["rank"]), text(&tweet["text"]), text(&row["retweets"]), text(&row["hashtags"])]
            }
            _ => {
                // To one decimal, as the page rounds: the number shown is within half a tenth.
                for (cell, field) in [(2, "score"), (4, "expected")] {
                    let exact = row[field].as_f64().unwrap_or_else(|| panic!("a {field} in {row}"));
                    let close = cells[cell].parse::<f64>().is_ok_and(|shown| (shown - exact).abs() <= 0.05 + 1e-9);
                    if !close {
                        return Some(format!("trending {field}: shown {:?}, answered {exact}", cells[cell]));
                    }
                }
                let (score, expected) = (cells[2].clone(), cells[4].clone());
                vec![text(&row["rank"]), format!("#{}", text(&row["hashtag"])), score, text(&row["count"]), expected]
            }
        };
        if cells != expected {
            return Some(format!("{kind} window ending {end}: shown {cells:?}, answered {expected:?}"));
        }
    }
    None
}

impl Drop for Browser {
    /// Asks the driver to close Chromium, and kills it if it has not within a while.
    fn drop(&mut self) {
        let _ = writeln!(self.commands, "{}", json!({ "op": "close" }));
        let closed = Instant::now();
        while matches!(self.driver.try_wait(), Ok(None)) && closed.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Whether the hashtags panel shows the API's answer for the window it names.
fn shows_the_apis_ranking(browser: &mut Browser, server: &Server, spec: &str) -> bool {
    panel_difference(browser, server, "hashtags", spec).is_none()
}

/// The seed's hashtags in Persian (with its zero-width non-joiner), Arabic, Japanese and Thai.
const MULTILINGUAL: [&str; 4] = ["#پژمان_قلی\u{200c}پور", "#جورجيا", "#アメリカ留学", "#เป๊กผลิตโชค"];

/// One seed tweet with each of the [`MULTILINGUAL`] hashtags (eight hashtags in all, so all fit
/// the top ten), then `fillers` other seed tweets with their hashtag signs taken out: sent live
/// after the others, they move the stream's watermark past them without changing the ranking.
fn multilingual_seed_tweets(fillers: usize) -> Vec<Tweet> {
    let seed = seed_tweets();
    let mut tweets: Vec<Tweet> = MULTILINGUAL
        .iter()
        .map(|hashtag| {
            let tweet = seed.iter().find(|tweet| tweet.text.contains(hashtag));
            tweet.unwrap_or_else(|| panic!("no seed tweet has {hashtag}")).clone()
        })
        .collect();
    let others = seed.iter().filter(|tweet| !tweets.iter().any(|chosen| chosen.id == tweet.id));
    let fillers: Vec<Tweet> = others
        .take(fillers)
        .map(|tweet| Tweet { text: tweet.text.replace(['#', '＃'], ""), ..tweet.clone() })
        .collect();
    tweets.extend(fillers);
    tweets
}

/// Whether the time line has one line for each of the top five hashtags shown.
const TIME_LINE_FOLLOWS_THE_TOP: &str = "JSON.stringify(Chart.getChart('history-chart').data.datasets.map((line) => line.label)) === \
     JSON.stringify([...document.querySelectorAll('#hashtags-table tbody tr')].slice(0, 5).map((tr) => tr.cells[1].textContent))";

/// Whether every section of the page fits its width: no right-to-left run or long word widens it.
const NOTHING_OVERFLOWS: &str =
    "[...document.querySelectorAll('section')].every((section) => section.scrollWidth <= section.clientWidth)";

#[test]
#[ignore = "needs MariaDB, a Kafka-API broker and Chromium: scripts/test.sh installs and starts them and runs this"]
fn the_dashboard_shows_the_apis_answers_live_in_chromium() {
    let brokers = private_broker(BROKER_PORT, Some("--fresh"));
    let s = Services { brokers, ..Services::fresh("dashboard") };
    s.succeed(&["db", "init"]);
    s.succeed(&["topics", "create", "--partitions", "1"]);
    let dump = seed_dump();
    s.succeed(&["db", "load", dump.to_str().expect("a UTF-8 path")]);
    s.succeed(&["batch", "--window", "1m", "--window", "5m/1m"]);
    // A server over TLS that answers only the holders of a token: the page signs in through its
    // form, and its live push runs on the cookie that sets.
    let dir = std::env::temp_dir().join(format!("{}dashboard", s.topic_prefix));
    std::fs::create_dir_all(&dir).expect("a folder for the certificate and tokens");
    let (cert, key, certificate) = self_signed(&dir, "served");
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, format!("{TOKEN}\n")).expect("writing the token file");
    let path = |file: &PathBuf| file.to_str().expect("a UTF-8 path").to_string();
    let flags = ["--tls-cert", &path(&cert), "--tls-key", &path(&key), "--auth-token-file", &path(&tokens)];
    let mut server = Server::start_with(&s, &flags);
    assert!(server.base.starts_with("https://"), "{}", server.base);
    server.agent = trusting(&certificate);
    server.token = Some(TOKEN.into());
    wait_for("the server to be ready", LIMIT, || server.get("/readyz").0 == 200);
    let mut browser = Browser::start();
    browser.open(&format!("{}/?spec=1m", server.base));
    browser.wait_until("the sign-in form", "location.pathname === '/login' && document.forms.length === 1");
    browser.eval(&format!(
        "document.querySelector('input[name=token]').value = '{TOKEN}'; document.forms[0].submit(); true"
    ));
    browser.wait_until_loaded(
        "the page after signing in",
        "location.pathname === '/' && document.readyState === 'complete'",
    );

    // The seed's latest window, from the batch layer: the page shows the API's ranking.
    browser.open(&format!("{}/?spec=1m", server.base));
    browser.wait_until("the page to load the 1m spec", "document.body.dataset.loaded === '1m'");
    wait_for("the page to show the API's 1m ranking", LIMIT, || shows_the_apis_ranking(&mut browser, &server, "1m"));
    let first = browser.shown_hashtags();
    assert_eq!(first["layer"], "batch", "{first}");
    assert!(!first["rows"].as_array().expect("rows").is_empty(), "{first}");
    // The seed's nine minutes hold no window's whole default baseline (twelve window lengths):
    // the trending panel says the baseline is still filling, and lists nothing, though the API's
    // rows (marked partial) would be a copy of the top hashtags.
    browser.wait_until(
        "the trending panel to say its baseline is still filling",
        "document.getElementById('trending').dataset.baseline === 'filling' && \
         document.getElementById('trending-baseline').textContent.startsWith('Baseline still filling') && \
         document.querySelectorAll('#trending-table tbody tr').length === 0",
    );
    let end = shown_table(&mut browser, "trending")["end"].as_u64().expect("the trending window's end");
    let partial = server.json(&format!("/api/v1/windows/trending?spec=1m&at={end}"), 200);
    assert!(partial["rows"].as_array().is_some_and(|rows| rows.iter().all(|row| row["partial_baseline"] == true)));
    // A three-minute baseline: the seed holds the whole baseline of its later windows.
    s.succeed(&["batch", "--window", "1m", "--window", "5m/1m", "--trend-baseline", "3m"]);

    // A choice taken back while the answers for it are slow: the page ends on the spec chosen
    // last, and drops the late answers of the other.
    browser.call(json!({ "op": "delay", "pattern": "spec=5m%2F1m", "ms": 1_500 }));
    browser.eval("document.body.dataset.loaded = ''");
    browser.press("#spec", "ArrowDown");
    browser.press("#spec", "ArrowUp");
    browser.wait_until("the page to load the 1m spec again", "document.body.dataset.loaded === '1m'");
    browser.wait_until("the late 5m/1m answers to be dropped", "document.body.dataset.dropped === '5m/1m'");
    assert_eq!(browser.shown_hashtags(), first, "the 1m ranking stays");
    browser.call(json!({ "op": "undelay" }));

    // The spec, changed with the keyboard: every panel and the time line follow.
    browser.press("#spec", "ArrowDown");
    browser.wait_until("the page to load the 5m/1m spec", "document.body.dataset.loaded === '5m/1m'");
    wait_for("the page to show the API's 5m/1m ranking", LIMIT, || {
        shows_the_apis_ranking(&mut browser, &server, "5m/1m")
    });
    assert_ne!(browser.shown_hashtags(), first, "another spec, another ranking");
    // The trending panel: the API's trending hashtags of the window it names, with their counts.
    browser.wait_until(
        "the trending panel to name a window",
        "Number(document.getElementById('trending').dataset.windowEnd) > 0",
    );
    browser.wait_until(
        "the trending panel to show a window with its whole baseline",
        "document.getElementById('trending').dataset.baseline === 'complete'",
    );
    // Every panel shows the API's answer for the window it names, every column of it.
    for kind in ["hashtags", "trending", "tweets", "languages"] {
        wait_for_the_panel_to_show_the_api(&mut browser, &server, kind, "5m/1m");
    }
    browser.wait_until("one line per top hashtag of the window shown", TIME_LINE_FOLLOWS_THE_TOP);
    let points = browser.eval("Chart.getChart('history-chart').data.datasets[0].data.length");
    assert!(points.as_u64().is_some_and(|points| points > 1), "hours of windows on the time line: {points}");
    let screenshot = std::env::var_os("TRENDFLOW_DASHBOARD_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("trendflow-dashboard-{}.png", std::process::id())));
    browser.screenshot(&screenshot);
    let png = std::fs::read(&screenshot).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "a screenshot of the page");

    // A top 150: the page asks the archive for the tweets' texts a hundred ids at a time, the
    // server's limit, and shows every one. Before any stream runs, so that the latest window is
    // the batch layer's: a live run's tweets may close a window of their own, with a handful of
    // tweets, and that one would be the latest.
    s.succeed(&["batch", "--window", "1m", "--window", "5m/1m", "--top", "150", "--trend-baseline", "3m"]);
    browser.open(&format!("{}/?spec=5m/1m", server.base));
    browser.wait_until("the page to load the 5m/1m spec", "document.body.dataset.loaded === '5m/1m'");
    wait_for("the top 150 tweets", LIMIT, || {
        browser.eval("document.querySelectorAll('#tweets-table tbody tr').length") == 150
    });
    wait_for_the_panel_to_show_the_api(&mut browser, &server, "tweets", "5m/1m");

    // New tweets through produce and stream: the page shows the live window without a reload,
    // with the seed's Persian, Arabic, Japanese and Thai hashtags as the API spells them.
    let stream = s.watch(&["stream", "--window", "1m", "--window", "5m/1m", "--no-archive", "--lateness", "1s"]);
    let file = std::env::temp_dir().join(format!("trendflow-dashboard-{}.jsonl", std::process::id()));
    let lines: Vec<u8> =
        multilingual_seed_tweets(6).iter().flat_map(|tweet| [seed_json(tweet), b"\n".to_vec()].concat()).collect();
    std::fs::write(&file, lines).expect("writing the tweets to produce");
    s.succeed(&["produce", "--from", file.to_str().expect("a UTF-8 path"), "--live", "--rate", "3"]);
    let live_window_shown = "document.getElementById('hashtags').dataset.layer === 'live' && \
         [...document.querySelectorAll('#hashtags-table tbody tr')].length === 8";
    wait_for_or_explain(
        "the live window with the multilingual hashtags on the page",
        LIMIT,
        || browser.eval(live_window_shown) == true,
        || format!("; the stream printed:\n{}", stream.printed()),
    );
    wait_for("the page to show the API's live ranking", LIMIT, || {
        shows_the_apis_ranking(&mut browser, &server, "5m/1m")
    });
    let shown = browser.shown_hashtags();
    for hashtag in MULTILINGUAL {
        assert!(shown["rows"].as_array().expect("rows").iter().any(|row| row[1] == hashtag), "{hashtag} in {shown}");
    }
    browser.wait_until("the time line to follow the live window's top hashtags", TIME_LINE_FOLLOWS_THE_TOP);
    assert_eq!(browser.eval(NOTHING_OVERFLOWS), true, "right-to-left text keeps the layout");
    assert_eq!(browser.eval("document.getElementById('warning').hidden"), true);
    // The stream stopped: the page says so, and shows the latest closed window in place of the
    // open one, which no longer moves.
    stream.terminate();
    browser.wait_until(
        "the page to say the speed layer is not running",
        "document.body.dataset.speed === 'stopped' && \
         document.getElementById('provenance').textContent.includes('the speed layer is not running')",
    );
    browser.wait_until(
        "a closed window in place of the open one",
        "document.body.dataset.loaded === '5m/1m' && document.getElementById('hashtags').dataset.layer !== 'live'",
    );
    std::fs::remove_file(&file).ok();

    // The broker away: the page warns; back: the warning goes, without a reload.
    private_broker(BROKER_PORT, Some("--crash"));
    browser.wait_until("the disconnection warning", "!document.getElementById('warning').hidden");
    let warning = browser.eval("document.getElementById('warning').textContent");
    assert!(warning.as_str().is_some_and(|text| text.contains("ranking topics")), "{warning}");
    private_broker(BROKER_PORT, None);
    browser.wait_until("the warning to clear", "document.getElementById('warning').hidden");

    let errors = browser.errors();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    std::fs::remove_dir_all(&dir).expect("removing the certificate and tokens");
}
