// The trendflow dashboard: the serving layer's answers for one window spec, kept up to date by
// its live push. It reads only this server's API (/api/v1/...), as any client would.
"use strict";

/** How far back the time line reaches, and how many hashtags it follows. */
const HISTORY_MS = 3 * 60 * 60 * 1000;
const HISTORY_TAGS = 5;
/** How often the page asks for the layers' marks and the server's dependencies. */
const STATUS_EVERY_MS = 2000;
/** Languages are not on the live push (only the ranking topics are): they are asked for. */
const LANGUAGES_EVERY_MS = 10000;
/** How long to wait before opening the live push again after the server refused it. */
const RECONNECT_MS = 3000;
/** The languages drawn as bars (the table lists them all). */
const LANGUAGES_CHARTED = 12;
/** The most tweet ids one /api/v1/tweets request may ask for (the server's limit). */
const TWEETS_PER_REQUEST = 100;
/** The most tweet texts the page keeps: a page left open for days must not grow without bound. */
const TEXTS_KEPT = 2_000;
const COLOURS = ["#1f5fbf", "#c2410c", "#15803d", "#7e22ce", "#b91c1c"];

const page = {
  spec: null,
  /** The layers' marks for the chosen spec, from /api/v1/specs. */
  marks: null,
  /** The window end shown by each panel, so that an older snapshot never replaces a newer one. */
  shown: { hashtags: null, tweets: null, trending: null },
  /** Tweet texts by id, oldest first, at most TEXTS_KEPT. */
  texts: new Map(),
  history: { tags: [], points: new Map(), from: 0 },
  live: null,
  liveOpen: false,
  /** What the server says of the speed layer: running, stopped, silent or unknown. */
  speed: { state: "unknown" },
  /** Whether the page is loading the latest windows again after the speed layer stopped. */
  reloading: false,
  problems: [],
  charts: {},
};

const $ = (id) => document.getElementById(id);

/**
 * Parses an API answer. Tweet ids are 64-bit: kept as their decimal text, as a JavaScript number
 * would round them.
 */
function parse(text) {
  return JSON.parse(text, (key, value, context) => (key === "tweet_id" && context ? context.source : value));
}

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  const body = parse(await response.text());
  if (!response.ok) {
    throw new Error(body.error || `HTTP ${response.status}`);
  }
  return body;
}

const utcTime = (ms) => new Date(ms).toISOString().slice(11, 16);
const utcDay = (ms) => new Date(ms).toISOString().slice(0, 10);
const seconds = (ms) => `${Math.round(ms / 1000)} s`;

/** Says where a window's numbers come from: the layer, the window, the boundary, the age. */
function describe(window) {
  const span = `window ${utcDay(window.window_end_ms)} ${utcTime(Date.parse(window.window_start))}–${utcTime(window.window_end_ms)} UTC`;
  switch (window.layer) {
    case "batch":
      return `${span}, from the batch layer (up to its boundary)`;
    case "speed":
      return `${span}, from the speed layer's final view`;
    default: {
      // The open window's rows count the rolling span of the last window length up to as_of.
      const counted = `${utcTime(window.span_start_ms)}–${new Date(window.as_of_ms).toISOString().slice(11, 19)}`;
      const length = `${Math.round((window.as_of_ms - window.span_start_ms) / 60000)} min`;
      return `the last ${length} of the open window, ${utcDay(window.as_of_ms)} ${counted} UTC, ` +
        `from its live snapshot (${seconds(Date.now() - window.receivedAt)} old)`;
    }
  }
}

function cell(row, text, className) {
  const td = document.createElement("td");
  if (className) {
    td.className = className;
  }
  // <bdi>: a right-to-left hashtag keeps its own direction without reordering its neighbours.
  const bdi = document.createElement("bdi");
  bdi.textContent = text;
  td.append(bdi);
  row.append(td);
  return td;
}

function fillTable(id, rows, cells) {
  const body = $(id).querySelector("tbody");
  body.replaceChildren(
    ...rows.map((row) => {
      const tr = document.createElement("tr");
      cells(tr, row);
      return tr;
    }),
  );
}

function barChart(id, label) {
  return new Chart($(id), {
    type: "bar",
    data: { labels: [], datasets: [{ label, data: [], backgroundColor: COLOURS[0] }] },
    options: {
      indexAxis: "y",
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
}

function setBars(chart, labels, values) {
  chart.data.labels = labels;
  chart.data.datasets[0].data = values;
  chart.update("none");
}

/** Shows a window of top hashtags (from the API, or a snapshot from the live push). */
function showHashtags(window) {
  page.shown.hashtags = window.window_end_ms;
  $("hashtags").dataset.windowEnd = window.window_end_ms;
  $("hashtags").dataset.layer = window.layer;
  $("hashtags-source").textContent = describe(window);
  setBars(page.charts.hashtags, window.rows.map((row) => `#${row.hashtag}`), window.rows.map((row) => row.count));
  fillTable("hashtags-table", window.rows, (tr, row) => {
    cell(tr, String(row.rank));
    cell(tr, `#${row.hashtag}`, "hashtag");
    cell(tr, String(row.count), "count");
  });
  followTop(window);
}

/**
 * Shows a window of trending hashtags: each one's score, its count in the window and the count
 * its baseline predicts, and a note when the baseline reaches back before the first tweet.
 */
function showTrending(window) {
  page.shown.trending = window.window_end_ms;
  // A baseline that starts before the first tweet predicts too little: every hashtag would look
  // new, and the ranking would copy the top hashtags. Until it has filled, the panel says so.
  const filling = window.rows.some((row) => row.partial_baseline);
  $("trending").dataset.windowEnd = window.window_end_ms;
  $("trending").dataset.layer = window.layer;
  $("trending").dataset.baseline = filling ? "filling" : "complete";
  $("trending-source").textContent = describe(window);
  $("trending-baseline").textContent = filling
    ? "Baseline still filling: the baseline before this window reaches back before the first tweet, " +
      "so every hashtag would look new. Trending hashtags show once a window's whole baseline has been seen."
    : "";
  fillTable("trending-table", filling ? [] : window.rows, (tr, row) => {
    cell(tr, String(row.rank));
    cell(tr, `#${row.hashtag}`, "hashtag");
    cell(tr, row.score.toFixed(1), "score");
    cell(tr, String(row.count), "count");
    cell(tr, row.expected.toFixed(1), "expected");
  });
}

/** Shows a window of top tweets, with their text from the archive where it has them. */
async function showTweets(window) {
  page.shown.tweets = window.window_end_ms;
  $("tweets").dataset.windowEnd = window.window_end_ms;
  $("tweets").dataset.layer = window.layer;
  $("tweets-source").textContent = describe(window);
  const missing = window.rows.map((row) => row.tweet_id).filter((id) => !page.texts.has(id));
  // As many requests as the server's limit on ids asks for: a top-K above it still gets its texts.
  for (let start = 0; start < missing.length; start += TWEETS_PER_REQUEST) {
    const ids = missing.slice(start, start + TWEETS_PER_REQUEST);
    try {
      const answer = await getJson(`/api/v1/tweets?ids=${ids.join(",")}`);
      for (const tweet of answer.tweets) {
        page.texts.set(tweet.tweet_id, tweet);
      }
    } catch (error) {
      // The table still shows ids and counts; the status line tells what is wrong.
    }
  }
  // Forget the texts kept longest beyond the bound (a Map iterates in insertion order).
  for (const id of page.texts.keys()) {
    if (page.texts.size <= TEXTS_KEPT) {
      break;
    }
    page.texts.delete(id);
  }
  if (page.shown.tweets !== window.window_end_ms) {
    return;
  }
  fillTable("tweets-table", window.rows, (tr, row) => {
    cell(tr, String(row.rank));
    const tweet = page.texts.get(row.tweet_id);
    const td = cell(tr, tweet ? tweet.text : `tweet ${row.tweet_id} (not archived)`, "tweet");
    td.firstChild.className = "tweet-text";
    const meta = document.createElement("span");
    meta.className = "tweet-meta";
    meta.textContent = `id ${row.tweet_id}${tweet && tweet.language ? `, ${tweet.language}` : ""}`;
    td.append(meta);
    cell(tr, String(row.retweets), "retweets");
    cell(tr, String(row.hashtags), "hashtag-count");
  });
}

function showLanguages(window) {
  $("languages").dataset.windowEnd = window.window_end_ms;
  $("languages").dataset.layer = window.layer;
  $("languages-source").textContent = describe(window);
  const charted = window.rows.slice(0, LANGUAGES_CHARTED);
  setBars(page.charts.languages, charted.map((row) => row.language), charted.map((row) => row.count));
  fillTable("languages-table", window.rows, (tr, row) => {
    cell(tr, String(row.rank));
    cell(tr, row.language, "lang");
    cell(tr, String(row.count), "count");
  });
}

/** The latest window of `kind` for the chosen spec, as the merge rule answers it. */
async function latest(kind) {
  const window = await getJson(`/api/v1/windows/${kind}?spec=${encodeURIComponent(page.spec)}`);
  window.receivedAt = Date.now() - (window.age_ms || 0);
  return window;
}

/** A hashtag's count in each window of the chosen spec ending from `from` to `to`. */
async function historyOf(tag, from, to) {
  const spec = encodeURIComponent(page.spec);
  const answer = await getJson(`/api/v1/hashtags/${encodeURIComponent(tag)}/history?spec=${spec}&from=${from}&to=${to}`);
  return new Map(answer.windows.map((point) => [point.window_end_ms, point.count]));
}

/** Starts the time line at `window`: its top hashtags over the hours before it. */
async function loadHistory(window) {
  const tags = window.rows.slice(0, HISTORY_TAGS).map((row) => row.hashtag);
  const from = Math.max(0, window.window_end_ms - HISTORY_MS);
  const history = { tags, points: new Map(tags.map((tag) => [tag, new Map()])), from };
  page.history = history;
  const end = window.window_end_ms;
  $("history-source").textContent =
    `the top ${HISTORY_TAGS} hashtags of the latest window, over ${HISTORY_MS / 3600000} hours of windows up to ${utcDay(end)} ${utcTime(end)} UTC`;
  const answers = await Promise.all(tags.map((tag) => historyOf(tag, from, end)));
  answers.forEach((points, index) => merge(history, tags[index], points));
  drawHistory();
}

/** Adds a hashtag's points read from the API, unless the time line has moved on meanwhile. */
function merge(history, tag, points) {
  const kept = history.points.get(tag);
  if (page.history !== history || !kept) {
    return;
  }
  for (const [end, count] of points) {
    if (!kept.has(end)) {
      kept.set(end, count);
    }
  }
}

/**
 * Keeps the time line on the top hashtags of the latest window: gives a hashtag that rose into
 * the top its past from the API, drops one that fell out, and adds the window's counts. A window far past the time line (a quarter of its span and more)
 * starts it again.
 */
function followTop(window) {
  const history = page.history;
  if (history.tags.length === 0) {
    return;
  }
  if (window.window_end_ms - history.from > HISTORY_MS * 1.25) {
    loadHistory(window).catch(() => {});
    return;
  }
  const wanted = window.rows.slice(0, HISTORY_TAGS).map((row) => row.hashtag);
  for (const tag of [...history.points.keys()]) {
    if (!wanted.includes(tag)) {
      history.points.delete(tag);
    }
  }
  for (const tag of wanted) {
    if (!history.points.has(tag)) {
      history.points.set(tag, new Map());
      historyOf(tag, history.from, window.window_end_ms)
        .then((points) => {
          merge(history, tag, points);
          drawHistory();
        })
        .catch(() => {});
    }
  }
  history.tags = wanted;
  recordCounts(history, window);
}

/** Adds a window's counts of the hashtags on the time line (none where one is not ranked). */
function recordCounts(history, window) {
  const counts = new Map(window.rows.map((row) => [row.hashtag, row.count]));
  for (const tag of history.tags) {
    history.points.get(tag).set(window.window_end_ms, counts.has(tag) ? counts.get(tag) : null);
  }
  drawHistory();
}

function drawHistory() {
  const chart = page.charts.history;
  chart.data.datasets = page.history.tags.map((tag, index) => ({
    label: `#${tag}`,
    borderColor: COLOURS[index % COLOURS.length],
    backgroundColor: COLOURS[index % COLOURS.length],
    pointRadius: 1.5,
    spanGaps: false,
    data: [...page.history.points.get(tag)].sort((a, b) => a[0] - b[0]).map(([x, y]) => ({ x, y })),
  }));
  chart.update("none");
}

function historyChart() {
  return new Chart($("history-chart"), {
    type: "line",
    data: { datasets: [] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      scales: {
        x: { type: "linear", ticks: { callback: (value) => utcTime(value), maxTicksLimit: 12 } },
        y: { beginAtZero: true, ticks: { precision: 0 } },
      },
    },
  });
}

/** A snapshot from the live push: shown when it is of the latest window, and not one the batch layer answers. */
function onSnapshot(kind, data) {
  const snapshot = parse(data);
  const boundary = page.marks && page.marks.batch_boundary_ms;
  if (snapshot.window !== page.spec || (boundary != null && snapshot.window_end_ms <= boundary)) {
    return;
  }
  const window = { ...snapshot, layer: snapshot.final ? "speed" : "live", receivedAt: Date.now() };
  if (page.shown[kind] != null && snapshot.window_end_ms < page.shown[kind]) {
    // An earlier window's final ranking: a point on the time line, not the panel's window.
    if (kind === "hashtags" && page.history.tags.length > 0) {
      recordCounts(page.history, window);
    }
    return;
  }
  if (kind === "hashtags") {
    showHashtags(window);
  } else if (kind === "trending") {
    showTrending(window);
  } else {
    showTweets(window);
  }
}

function connectLive() {
  if (page.live) {
    page.live.close();
  }
  const source = new EventSource(`/api/v1/live?spec=${encodeURIComponent(page.spec)}`);
  source.onopen = () => {
    page.liveOpen = true;
    showWarning();
  };
  source.onerror = () => {
    page.liveOpen = false;
    showWarning();
    // The browser retries by itself unless the server refused the stream.
    if (source.readyState === EventSource.CLOSED && page.live === source) {
      setTimeout(() => page.live === source && connectLive(), RECONNECT_MS);
    }
  };
  source.addEventListener("hashtags", (event) => onSnapshot("hashtags", event.data));
  source.addEventListener("tweets", (event) => onSnapshot("tweets", event.data));
  source.addEventListener("trending", (event) => onSnapshot("trending", event.data));
  // The server could not tell what this page missed while disconnected: load it all again.
  source.addEventListener("reset", () => page.live === source && chooseSpec(page.spec));
  page.live = source;
}

function showWarning() {
  const problems = [...page.problems];
  if (!page.liveOpen) {
    problems.unshift("the live push is disconnected (reconnecting)");
  }
  const warning = $("warning");
  warning.hidden = problems.length === 0;
  warning.textContent = problems.length === 0 ? "" : `Live updates interrupted: ${problems.join("; ")}.`;
}

/** Asks for the server's dependencies and the layers' marks, and shows both. */
async function refreshStatus() {
  try {
    const status = await getJson("/api/v1/status");
    page.problems = [status.mysql, status.live].filter((problem) => problem);
    page.speed = status.speed_layer || { state: "unknown" };
    document.body.dataset.speed = page.speed.state;
    const showsOpen = ["hashtags", "tweets", "trending"].some((kind) => $(kind).dataset.layer === "live");
    if ((page.speed.state === "stopped" || page.speed.state === "silent") && showsOpen && page.spec && !page.reloading) {
      // The open window no longer moves: the server now answers the last final one. The reload
      // asks for the status again, which must not start another.
      page.reloading = true;
      chooseSpec(page.spec).finally(() => {
        page.reloading = false;
      });
    }
    const specs = await getJson("/api/v1/specs");
    page.marks = specs.specs.find((spec) => spec.spec === page.spec) || null;
  } catch (error) {
    page.problems = [`the server does not answer (${error.message})`];
  }
  showWarning();
  showProvenance();
}

function showProvenance() {
  const marks = page.marks;
  if (!marks) {
    $("provenance").textContent = "";
    return;
  }
  const parts = [
    marks.batch_boundary ? `batch layer up to ${marks.batch_boundary}` : "no batch run yet",
    marks.speed_latest_final ? `speed layer's latest final window ${marks.speed_latest_final}` : "no final speed window",
    marks.live_window_end
      ? `live window ending ${marks.live_window_end}, ${seconds(marks.live_age_ms)} old`
      : "no open window",
  ];
  const speed = page.speed;
  if (speed.state === "stopped" || speed.state === "silent") {
    const heard = seconds(speed.last_heard_ms);
    const why = speed.state === "stopped" ? `stopped ${heard} ago` : `not heard from for ${heard}`;
    parts.push(`the speed layer is not running (${why}): the latest window is its last final one`);
  }
  $("provenance").textContent = parts.join(" · ");
}

async function refreshLanguages() {
  const spec = page.spec;
  try {
    const languages = await latest("languages");
    if (page.spec === spec) {
      showLanguages(languages);
    }
  } catch (error) {
    $("languages-source").textContent = `no window yet (${error.message})`;
  }
}

/** Shows everything for the spec chosen in the selector. */
async function chooseSpec(spec) {
  page.spec = spec;
  page.shown = { hashtags: null, tweets: null, trending: null };
  page.history = { tags: [], points: new Map(), from: 0 };
  const url = new URL(window.location.href);
  url.searchParams.set("spec", spec);
  window.history.replaceState(null, "", url);
  document.body.dataset.spec = spec;
  connectLive();
  await refreshStatus();
  // Each answer is shown only while its spec is still the chosen one: another choice made
  // meanwhile has started again. The page notes the spec whose answers it dropped.
  const chosen = () => {
    if (page.spec !== spec) {
      document.body.dataset.dropped = spec;
    }
    return page.spec === spec;
  };
  try {
    const hashtags = await latest("hashtags");
    if (!chosen()) {
      return;
    }
    showHashtags(hashtags);
    await loadHistory(hashtags);
  } catch (error) {
    $("hashtags-source").textContent = `no window yet (${error.message})`;
  }
  try {
    const tweets = await latest("tweets");
    if (!chosen()) {
      return;
    }
    await showTweets(tweets);
  } catch (error) {
    $("tweets-source").textContent = `no window yet (${error.message})`;
  }
  try {
    const trending = await latest("trending");
    if (!chosen()) {
      return;
    }
    showTrending(trending);
  } catch (error) {
    $("trending-source").textContent = `no window yet (${error.message})`;
  }
  await refreshLanguages();
  if (chosen()) {
    document.body.dataset.loaded = spec;
  }
}

async function start() {
  page.charts.hashtags = barChart("hashtags-chart", "count");
  page.charts.languages = barChart("languages-chart", "tweets");
  page.charts.history = historyChart();
  const selector = $("spec");
  let specs = [];
  while (specs.length === 0) {
    try {
      specs = (await getJson("/api/v1/specs")).specs.map((spec) => spec.spec);
    } catch (error) {
      page.problems = [`no window specs yet (${error.message})`];
      showWarning();
      await new Promise((resolve) => setTimeout(resolve, STATUS_EVERY_MS));
    }
  }
  selector.replaceChildren(...specs.map((spec) => new Option(spec, spec)));
  const wanted = new URL(window.location.href).searchParams.get("spec");
  selector.value = specs.includes(wanted) ? wanted : specs[0];
  selector.addEventListener("change", () => chooseSpec(selector.value));
  setInterval(refreshStatus, STATUS_EVERY_MS);
  setInterval(refreshLanguages, LANGUAGES_EVERY_MS);
  await chooseSpec(selector.value);
}

start();
