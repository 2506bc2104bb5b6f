// Browser tests of the reader's side of the sample site: search, filters,
// tabs, audiences, copy buttons, layout on a phone and accessibility.
// Debian's Chromium is driven by playwright-core; every request that is not
// for 127.0.0.1 is blocked, and Chromium is launched so that it reaches
// nothing outside this machine.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const binary = join(repo, "target", "release", "errdocs");
const axeSource = readFileSync(join(repo, "node_modules", "axe-core", "axe.min.js"), "utf8");

let server;
let browser;
let base;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(binary, ["serve", "-r", repo, "--port", String(port)], { stdio: ["ignore", "ignore", "pipe"] });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("errdocs serve did not start")), 60000);
    server.stderr.on("data", (chunk) => {
      if (String(chunk).includes("serving ")) {
        clearTimeout(timer);
        resolve();
      }
    });
    server.on("exit", (code) => reject(new Error(`errdocs serve exited with ${code}`)));
  });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--proxy-server=http://127.0.0.1:9",
      "--proxy-bypass-list=127.0.0.1",
    ],
    // playwright gives every launch a fresh, empty profile of its own.
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill();
});

let current = null;

/** A fresh page that may talk to the local server only, and records console errors. */
async function open(path, { width = 1280, height = 900, colorScheme = "light" } = {}) {
  // One page at a time, as one reader would have.
  if (current) await current.close();
  const context = await browser.newContext({ viewport: { width, height }, colorScheme });
  current = context;
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    return url.hostname === "127.0.0.1" ? route.continue() : route.abort();
  });
  const page = await context.newPage();
  page.errors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") page.errors.push(msg.text());
  });
  page.on("pageerror", (err) => page.errors.push(String(err)));
  if (path) await page.goto(base + path);
  return page;
}

async function sitemapPaths() {
  const xml = await (await fetch(`${base}/sitemap.xml`)).text();
  return [...xml.matchAll(/<loc>([^<]+)<\/loc>/g)].map((m) => new URL(m[1]).pathname);
}

test("search finds a code by its prefix and opens it with the keyboard", async () => {
  const page = await open("/");
  await page.keyboard.press("/");
  assert.equal(await page.evaluate(() => document.activeElement.id), "site-search");
  await page.keyboard.type("rate_li");
  const first = page.locator("#search-results [role=option]").first();
  await first.waitFor();
  assert.match(await first.innerText(), /rate_limit_exceeded/);
  assert.equal(await first.getAttribute("aria-selected"), "true");
  await page.keyboard.press("Enter");
  await page.waitForURL("**/reference/errors/rate_limit_exceeded/");
  assert.equal(await page.locator("h1").innerText(), "Rate limit exceeded");

  // Exact codes rank first; arrows move; nothing found says so.
  await page.locator("#site-search").fill("card_declined");
  await page.locator("#search-results [role=option]").first().waitFor();
  assert.match(await page.locator("#search-results [role=option]").first().innerText(), /^card_declined/);
  await page.locator("#site-search").fill("zzzz-nothing");
  await page.locator("#search-results .search-empty").waitFor();
  assert.match(await page.locator("#search-results").innerText(), /No error code matches/);
  assert.deepEqual(page.errors, []);
});

test("catalog filters narrow the list and survive a reload", async () => {
  const page = await open("/reference/errors/");
  const visible = () => page.locator(".catalog-row:visible").count();
  const all = await visible();
  assert.ok(all >= 24);
  await page.locator("#filter-status").selectOption("429");
  assert.equal(await visible(), 3);
  await page.locator("#filter-text").fill("quota");
  assert.equal(await visible(), 1);
  assert.match(page.url(), /q=quota/);
  assert.match(page.url(), /status=429/);
  assert.match(await page.locator(".filter-count").innerText(), /^1 of \d+ codes/);
  await page.reload();
  assert.equal(await page.locator("#filter-text").inputValue(), "quota");
  assert.equal(await visible(), 1);
  // A status class and a category.
  await page.goto(`${base}/reference/errors/?status=5xx&category=Server`);
  assert.equal(await visible(), 4);
  assert.equal(await page.locator(".catalog-group:visible").count(), 1);
  assert.deepEqual(page.errors, []);
});

test("a tab choice made on one page is active on another", async () => {
  const page = await open("/reference/errors/rate_limit_exceeded/");
  const group = page.locator("[data-code-group]").first();
  await group.locator("[role=tab][data-lang=go]").click();
  assert.equal(await group.locator("[role=tab][data-lang=go]").getAttribute("aria-selected"), "true");
  assert.equal(await group.locator("[role=tabpanel]:visible").count(), 1);
  // Arrow keys move between tabs.
  await group.locator("[role=tab][data-lang=go]").press("ArrowLeft");
  assert.equal(await group.locator("[role=tab][data-lang=javascript]").getAttribute("aria-selected"), "true");
  await group.locator("[role=tab][data-lang=javascript]").press("ArrowRight");

  await page.goto(`${base}/reference/errors/internal_error/`);
  const other = page.locator("[data-code-group]").first();
  assert.equal(await other.locator("[role=tab][data-lang=go]").getAttribute("aria-selected"), "true");
  // A group without that language keeps its own first tab.
  await page.goto(`${base}/reference/errors/invalid_parameter/`);
  const third = page.locator("[data-code-group]").first();
  assert.equal(await third.locator("[role=tab]").first().getAttribute("aria-selected"), "true");
  assert.deepEqual(page.errors, []);
});

test("the audience filter hides the other card and is remembered", async () => {
  const page = await open("/reference/errors/api_key_missing/");
  assert.equal(await page.locator(".audience-card:visible").count(), 2);
  await page.locator("[data-audience-choice=new-to-apis]").click();
  assert.equal(await page.locator(".audience-card[data-audience=new-to-apis]").isVisible(), true);
  assert.equal(await page.locator(".audience-card[data-audience=production-engineer]").isVisible(), false);
  await page.goto(`${base}/reference/errors/card_declined/`);
  assert.equal(await page.locator(".audience-card[data-audience=production-engineer]").isVisible(), false);
  await page.locator("[data-audience-choice=all]").click();
  assert.equal(await page.locator(".audience-card:visible").count(), 2);
  assert.deepEqual(page.errors, []);
});

test("the copy button puts the snippet on the clipboard", async () => {
  const page = await open();
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  await page.goto(`${base}/reference/errors/api_key_missing/`);
  const block = page.locator("figure.code-block[data-lang=json]").first();
  await block.locator(".copy-button").click();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, await block.locator("pre code").innerText());
  assert.match(copied, /"error": "api_key_missing"/);
  assert.equal(await block.locator(".copy-button").innerText(), "Copied");
  assert.equal(await page.locator("[role=status][aria-live=polite]").last().innerText(), "Copied to clipboard");
});

test("the theme toggle cycles and is remembered", async () => {
  const page = await open("/");
  const toggle = page.locator(".theme-toggle");
  await toggle.click();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "light");
  await toggle.click();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
  await page.goto(`${base}/reference/errors/`);
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
  await page.locator(".theme-toggle").click();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), undefined);
});

test("no page logs a console error", async () => {
  const paths = await sitemapPaths();
  assert.ok(paths.length >= 28, `${paths.length} pages`);
  const page = await open();
  for (const path of [...paths, "/no-such-page/"]) {
    await page.goto(base + path);
    await page.waitForLoadState("load");
  }
  assert.deepEqual(page.errors.filter((e) => !e.includes("404")), []);
});

test("no page scrolls sideways at 375 px", async () => {
  const page = await open(null, { width: 375, height: 800 });
  for (const path of await sitemapPaths()) {
    await page.goto(base + path);
    const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(scroll <= client, `${path}: ${scroll} > ${client}`);
  }
});

for (const colorScheme of ["light", "dark"]) {
  test(`axe finds no violations (${colorScheme})`, async () => {
    const paths = [
      "/",
      "/reference/errors/",
      "/reference/errors/api_key_missing/",
      "/reference/errors/rate_limit_exceeded/",
      "/reference/errors/daily_quota_exhausted/",
      "/guides/handling-errors/",
      "/no-such-page/",
    ];
    const page = await open(null, { colorScheme });
    for (const path of paths) {
      await page.goto(base + path);
      await page.addScriptTag({ content: axeSource });
      const result = await page.evaluate(async () => {
        // The live-reload overlay and script are the preview server's, not the site's.
        return await window.axe.run(document, { resultTypes: ["violations"] });
      });
      const violations = result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
      assert.deepEqual(violations, [], `${path} (${colorScheme})`);
    }
  });
}

test("many open tabs never starve page loads", async () => {
  const page = await open("/");
  const context = page.context();
  for (let i = 0; i < 8; i++) {
    const tab = await context.newPage();
    await tab.goto(`${base}/reference/errors/`);
  }
  const last = await context.newPage();
  const started = Date.now();
  await last.goto(`${base}/reference/errors/api_key_missing/`, { timeout: 10000 });
  assert.equal(await last.locator("h1").innerText(), "API key missing");
  assert.ok(Date.now() - started < 10000);
});
