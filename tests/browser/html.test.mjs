// Every page of the sample site is valid HTML, by the Nu HTML Checker.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Runs the Nu HTML Checker over every page under `out`; fails on any error. */
function assertValid(out) {
  const vnu = join(repo, "node_modules", "vnu-jar", "build", "dist", "vnu.jar");
  const check = spawnSync("java", ["-jar", vnu, "--errors-only", "--skip-non-html", "--format", "json", out], { encoding: "utf8" });
  const report = JSON.parse(check.stderr || check.stdout);
  const errors = report.messages.filter((m) => m.type === "error").map((m) => `${m.url}:${m.lastLine}: ${m.message}`);
  assert.deepEqual(errors, []);
  assert.equal(check.status, 0);
}

test("the Nu HTML Checker finds no errors in any page", () => {
  const out = join(mkdtempSync(join(tmpdir(), "errdocs-vnu-")), "site");
  try {
    const build = spawnSync(join(repo, "target", "release", "errdocs"), ["build", "-r", repo, "-o", out], { encoding: "utf8" });
    assert.equal(build.status, 0, build.stderr);
    assertValid(out);
  } finally {
    rmSync(dirname(out), { recursive: true, force: true });
  }
});

test("control characters in content never make a page invalid", () => {
  const dir = mkdtempSync(join(tmpdir(), "errdocs-vnu-controls-"));
  try {
    const root = join(dir, "site");
    cpSync(join(repo, "tests", "fixtures", "check-base"), root, { recursive: true });
    // Every C0 control but tab and line breaks, DEL and two C1 controls,
    // in a body's text, a heading, a code span and a code block.
    const controls = [...Array(32).keys()]
      .filter((c) => ![9, 10, 13].includes(c))
      .map((c) => String.fromCharCode(c))
      .join("") + "\u007f\u0085\u009b";
    writeFileSync(
      join(root, "content", "errors", "controls.md"),
      `---\ncode: controls\ntitle: Controls\nstatus: 400\ncategory: Auth\nsummary: S.\n---\n\n## Head ${controls}\n\nText ${controls} and \`${controls}\`.\n\n\`\`\`text\n${controls}\n\`\`\`\n`,
    );
    const out = join(dir, "out");
    const build = spawnSync(join(repo, "target", "release", "errdocs"), ["build", "-r", root, "-o", out], { encoding: "utf8" });
    assert.equal(build.status, 0, build.stderr);
    assert.match(build.stderr, /warning/);
    const html = readFileSync(join(out, "reference", "errors", "controls", "index.html"), "utf8");
    assert.ok(html.includes("\ufffd"), "controls became U+FFFD");
    assertValid(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
