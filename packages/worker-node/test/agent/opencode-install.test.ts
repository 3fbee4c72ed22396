import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { findOpencode, opencodeBinaries } from "../../src/agent/opencode-install.js";
import { describeWithPrerequisites } from "../support/conditions.js";
import { PROVISIONED_OPENCODE_DIR } from "../support/opencode-binary.js";

/** The version scripts/setup.sh pins. */
const PINNED = "1.18.33";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "opencode-install-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Where the platform's binary (index 0) or its -baseline twin (1) belongs in `dir`. */
function binary(index: number): string {
  const path = opencodeBinaries(dir)[index];
  if (path === undefined) throw new Error(`no opencode build for ${process.arch}`);
  return path;
}

/** Puts a shell script where the platform's binary (index 0) or its -baseline twin (1) belongs. */
function fakeBinary(index: number, script: string): string {
  const path = binary(index);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return path;
}

describe("findOpencode", () => {
  it("refuses an empty dir, naming the binary it looked for and the fix", async () => {
    const found = await findOpencode(dir);
    expect(found).toEqual({ refusal: expect.stringContaining(binary(0)) });
    expect(found).toEqual({ refusal: expect.stringContaining("bash scripts/setup.sh, or set agent.opencode_dir") });
  });

  it("refuses a binary that fails, with what it said", async () => {
    fakeBinary(0, "echo 'Illegal instruction' >&2; exit 132");
    expect(await findOpencode(dir)).toEqual({
      refusal: expect.stringMatching(/does not run \(.*--version: exit 132: Illegal instruction\).*agent\.opencode_dir/),
    });
  });

  it("refuses a binary that prints no version", async () => {
    fakeBinary(0, "echo 'Usage: opencode'");
    expect(await findOpencode(dir)).toEqual({ refusal: expect.stringContaining("printed no version") });
  });

  it("refuses a binary that does not answer in time", async () => {
    fakeBinary(0, "exec sleep 30");
    const started = Date.now();
    expect(await findOpencode(dir, 300)).toEqual({ refusal: expect.stringContaining("--version: no answer within 300 ms") });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("takes the -baseline twin when the platform's binary does not run", async () => {
    fakeBinary(0, "exit 132");
    const baseline = fakeBinary(1, "echo 9.9.9");
    expect(await findOpencode(dir)).toEqual({ dir, binary: baseline, version: "9.9.9" });
  });

  it("runs --version with a minimal environment and a HOME of its own, removed afterwards", async () => {
    const seen = join(dir, "seen");
    fakeBinary(0, `env | sort > ${seen}; echo "$HOME" >> ${seen}; echo 1.2.3`);
    expect(await findOpencode(dir)).toMatchObject({ version: "1.2.3" });
    const lines = readFileSync(seen, "utf8").trim().split("\n");
    const home = lines.pop() ?? "";
    // sh adds PWD (and some shells SHLVL, _); nothing of the worker's own environment gets through.
    const names = lines.map((line) => line.split("=", 1)[0] ?? "").filter((name) => !["PWD", "SHLVL", "_", "OLDPWD"].includes(name));
    expect(names).toEqual(["HOME", "PATH", "TMPDIR"]);
    expect(lines).toContain(`TMPDIR=${home}`);
    expect(home.startsWith(tmpdir())).toBe(true);
    expect(existsSync(home)).toBe(false);
  });

  it("knows the binary of each platform opencode-ai ships", () => {
    expect(opencodeBinaries("/o", "arm64")).toEqual([
      "/o/node_modules/opencode-linux-arm64/bin/opencode",
      "/o/node_modules/opencode-linux-arm64-baseline/bin/opencode",
    ]);
    expect(opencodeBinaries("/o", "ia32")).toEqual([]);
  });
});

describeWithPrerequisites(
  "findOpencode with the installation of scripts/setup.sh",
  existsSync(PROVISIONED_OPENCODE_DIR) ? [] : [`OpenCode is not installed in ${PROVISIONED_OPENCODE_DIR} (bash scripts/setup.sh)`],
  () => {
    it("finds the real binary and its pinned version", async () => {
      const found = await findOpencode(PROVISIONED_OPENCODE_DIR);
      expect(found).toEqual({
        dir: PROVISIONED_OPENCODE_DIR,
        binary: expect.stringMatching(/\/node_modules\/opencode-linux-[a-z0-9-]+\/bin\/opencode$/),
        version: PINNED,
      });
    });
  },
);
