// Every page of the sample site is valid HTML, by the Nu HTML Checker.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

test("the Nu HTML Checker finds no errors in any page", () => {
  const out = join(mkdtempSync(join(tmpdir(), "errdocs-vnu-")), "site");
  try {
    const build = spawnSync(join(repo, "target", "release", "errdocs"), ["build", "-r", repo, "-o", out], { encoding: "utf8" });
    assert.equal(build.status, 0, build.stderr);
    const vnu = join(repo, "node_modules", "vnu-jar", "build", "dist", "vnu.jar");
    const check = spawnSync("java", ["-jar", vnu, "--errors-only", "--skip-non-html", "--format", "json", out], { encoding: "utf8" });
    const report = JSON.parse(check.stderr || check.stdout);
    const errors = report.messages.filter((m) => m.type === "error").map((m) => `${m.url}:${m.lastLine}: ${m.message}`);
    assert.deepEqual(errors, []);
    assert.equal(check.status, 0);
  } finally {
    rmSync(dirname(out), { recursive: true, force: true });
  }
});
