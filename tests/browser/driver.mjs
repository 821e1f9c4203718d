// Drives Debian's headless Chromium for the dashboard's tests (tests/integration/dashboard.rs),
// which run the services and trendflow's jobs themselves and ask this script, one JSON line at a
// time on stdin, to act in the page and say what it shows. Each command gets one JSON line back
// on stdout: {"ok": true, "value": ...} or {"ok": false, "error": "..."}.
//
// Commands: {"op": "open", "url"}, {"op": "eval", "js"} (an expression, evaluated in the page),
// {"op": "select", "selector", "value"}, {"op": "press", "selector", "key"},
// {"op": "delay", "pattern", "ms"} (holds back the page's requests whose URL matches the regular
// expression, as a slow network would), {"op": "undelay"}, {"op": "screenshot", "path"},
// {"op": "errors"} (console errors and uncaught exceptions so far), {"op": "close"}.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const executablePath = process.env.TRENDFLOW_CHROMIUM || "/usr/bin/chromium";
const profile = mkdtempSync(join(tmpdir(), "trendflow-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  // The dashboard's test serves over TLS with a certificate it made itself, which no authority
  // signed.
  ignoreHTTPSErrors: true,
  viewport: { width: 1400, height: 1200 },
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
const page = context.pages()[0] || (await context.newPage());
const errors = [];
page.on("console", (message) => {
  if (message.type() === "error") {
    errors.push(`console: ${message.text()}`);
  }
});
page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));

async function run(command) {
  switch (command.op) {
    case "open":
      await page.goto(command.url, { waitUntil: "load" });
      return null;
    case "eval":
      return await page.evaluate(command.js);
    case "select":
      return await page.selectOption(command.selector, command.value);
    case "press":
      await page.focus(command.selector);
      await page.keyboard.press(command.key);
      return null;
    case "delay": {
      const pattern = new RegExp(command.pattern);
      await page.route(pattern, async (route) => {
        await new Promise((resolve) => setTimeout(resolve, command.ms));
        await route.continue();
      });
      return null;
    }
    case "undelay":
      await page.unrouteAll({ behavior: "wait" });
      return null;
    case "screenshot":
      await page.screenshot({ path: command.path, fullPage: true });
      return command.path;
    case "errors":
      return errors;
    default:
      throw new Error(`unknown command ${JSON.stringify(command.op)}`);
  }
}

async function close() {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

for await (const line of createInterface({ input: process.stdin })) {
  let command;
  try {
    command = JSON.parse(line);
  } catch (error) {
    console.log(JSON.stringify({ ok: false, error: `not a JSON command: ${error.message}` }));
    continue;
  }
  if (command.op === "close") {
    break;
  }
  try {
    console.log(JSON.stringify({ ok: true, value: (await run(command)) ?? null }));
  } catch (error) {
    console.log(JSON.stringify({ ok: false, error: error.message }));
  }
}
await close();
