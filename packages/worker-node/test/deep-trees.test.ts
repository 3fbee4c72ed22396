import { describe, expect, it } from "@jest/globals";
import { closeSync, constants, mkdirSync, openSync, writeFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { eventually, startTestWorker, type TestWorker } from "./harness.js";
import { fixtureProgram } from "./support/fixture-program.js";

/*
 * A job can leave a tree deeper than PATH_MAX (600 levels of 20-character names: a 12,600-byte path).
 * Every deleter of the worker must still remove it, or it stays on disk for good: DESTROY's background
 * delete of the session (process driver), the start-up sweep, and the results store.
 */
const LEVELS = 600;
const NAME = "n".repeat(20);

// The fixture's names are NAME too; it prints the length of its cwd at the bottom.
const DEEP_JOB = {
  argv: ["/usr/bin/python3", "deep-tree.py", String(LEVELS), "cwd"],
  files: { "deep-tree.py": fixtureProgram("deep-tree.py") },
};

const PROCESS_DRIVER = {
  security: { driver: "process", trusted_jobs: true, min_isolation: "none" },
  governance: { command_policy: "off" },
} as const;

/** Every entry of the base dir that is or was a session (`session-*`, `.trash-session-*`). */
async function sessionLeftovers(baseDir: string): Promise<string[]> {
  return (await readdir(baseDir)).filter((name) => name.includes("session-"));
}

/** A tree `levels` deep under `parent`, built through descriptors as the job does with chdir. */
function nest(parent: string, levels: number): void {
  const flags = constants.O_RDONLY | constants.O_DIRECTORY;
  let fd = openSync(parent, flags);
  for (let level = 0; level < levels; level++) {
    mkdirSync(`/proc/self/fd/${fd}/${NAME}`);
    const child = openSync(`/proc/self/fd/${fd}/${NAME}`, flags);
    closeSync(fd);
    fd = child;
  }
  writeFileSync(`/proc/self/fd/${fd}/leaf`, "leaf");
  closeSync(fd);
}

describe("trees deeper than PATH_MAX are deleted (process driver)", () => {
  it("removes the session of a job that built a 600-level tree in its work dir", async () => {
    const t: TestWorker = await startTestWorker(PROCESS_DRIVER);
    try {
      const result = await t.client.run(DEEP_JOB);
      expect(result.exitCode).toBe(0);
      expect(Number(result.stdoutText)).toBeGreaterThan(LEVELS * (NAME.length + 1));
      expect(await t.sessionDirs()).toEqual([]);
      // DESTROY renamed the tree aside at once; its background delete must finish it.
      const baseDir = t.worker.config.session.baseDir;
      await eventually(async () => (await sessionLeftovers(baseDir)).length === 0, 30_000);
    } finally {
      await t.stop();
    }
  }, 60_000);

  it("sweeps deep session dirs and trash a previous worker left behind", async () => {
    const baseDir = join(await mkdtemp(join(tmpdir(), "ocw-deep-sweep-")), "sessions");
    mkdirSync(baseDir, { mode: 0o711 });
    for (const name of ["session-left", ".trash-session-left"]) {
      mkdirSync(join(baseDir, name));
      nest(join(baseDir, name), LEVELS);
    }
    const t = await startTestWorker({ ...PROCESS_DRIVER, session: { base_dir: baseDir } });
    try {
      expect(await sessionLeftovers(baseDir)).toEqual([]);
    } finally {
      await t.stop();
      await rm(dirname(baseDir), { recursive: true, force: true });
    }
  }, 60_000);
});
