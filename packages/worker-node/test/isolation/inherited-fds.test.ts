import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { closeSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WorkerClient } from "@opencode-worker/master-client";
import { startBinWorker, type BinWorker } from "../bin-harness.js";
import { describeSandbox } from "../support/conditions.js";
import { freeUidBase } from "./sandbox-harness.js";

/**
 * A worker started by a parent that leaked descriptors (a directory under a root-only path, a pipe of
 * a supervisor, at low and high numbers) must not pass them to any job: a job that reads
 * /proc/self/fd/N/ could otherwise reach a host file it cannot reach by path.
 */
const SECRET = "inherited-secret-4f1c";
const LEAKED_AT = [3, 9, 27];

let dir: string;
let fds: number[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ocw-fds-"));
  mkdirSync(join(dir, "private"), { mode: 0o700 });
  writeFileSync(join(dir, "private", "secret"), SECRET, { mode: 0o600 });
  fds = [openSync(join(dir, "private"), "r"), openSync(join(dir, "private", "secret"), "r"), openSync(join(dir, "private"), "r")];
});
afterAll(async () => {
  for (const fd of fds) closeSync(fd);
  await rm(dir, { recursive: true, force: true });
});

// The job's own shell lists its descriptors, then tries every leaked number as a door to the secret.
const probe = "ls /proc/$$/fd; " + LEAKED_AT.map((n) => `cat /proc/$$/fd/${n}/secret /proc/$$/fd/${n} 2>/dev/null`).join("; ") + "; true";

function leakTest(name: string, flags: () => string[]) {
  let worker: BinWorker;
  let client: WorkerClient;
  const logLines: string[] = [];
  beforeAll(async () => {
    const inherit = Object.fromEntries(LEAKED_AT.map((at, i) => [at, fds[i]!]));
    worker = await startBinWorker([`--session.base_dir=${join(dir, name)}`, ...flags()], { inherit, logLines });
    client = await WorkerClient.connect({ address: worker.address });
  }, 60_000);
  afterAll(async () => {
    client.close();
    await worker.stop();
  });

  it(`${name}: a job starts with stdin, stdout and stderr only, whatever the worker inherited`, async () => {
    const result = await client.run({ command: probe });
    expect(result.stdoutText.trim().split("\n")).toEqual(["0", "1", "2"]);
    expect(result.stdoutText).not.toContain(SECRET);
    // Node itself marks the low ones close-on-exec at start-up, not the rest: the worker closes
    // those and says so, so an operator can fix the parent that leaked them.
    const note = logLines.find((line) => line.includes("closed descriptors inherited"));
    expect(note).toContain(`${LEAKED_AT.at(-1)} (${join(dir, "private")})`);
  });
}

describeSandbox("descriptors the worker inherited (sandbox)", () => {
  leakTest("sandbox", () => [`--security.sandbox_uid_base=${freeUidBase()}`, "--governance.command_policy=off"]);
});

describe("descriptors the worker inherited (process driver)", () => {
  leakTest("process", () => [
    "--security.driver=process",
    "--security.trusted_jobs=true",
    "--security.min_isolation=none",
    "--governance.command_policy=off",
  ]);
});
