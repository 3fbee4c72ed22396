import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WorkerClient } from "@opencode-worker/master-client";
import { eventually } from "../harness.js";
import { startBinWorker, type BinWorker } from "../bin-harness.js";
import { cgroupDirs, describeSandbox } from "../support/conditions.js";
import { freeUidBase, processesInSlots } from "./sandbox-harness.js";

const JOBS = 1000;
const CONCURRENCY = 4;
const uidBase = freeUidBase();
let baseDir: string;
let worker: BinWorker;
let client: WorkerClient;

// The worker runs as the real bin in its own process: its RSS is then the worker's alone, not jest's.
describeSandbox("nothing leaks over many jobs", () => {
  beforeAll(async () => {
    baseDir = await mkdtemp(join(tmpdir(), "ocw-leaks-"));
    worker = await startBinWorker([
      `--session.base_dir=${baseDir}`,
      // Short, so results are gone by the end, yet long enough for a loaded machine to collect each one.
      "--session.result_ttl_ms=5000",
      `--worker.concurrency=${CONCURRENCY}`,
      `--security.sandbox_uid_base=${uidBase}`,
      "--governance.command_policy=off",
    ]);
    client = await WorkerClient.connect({ address: worker.address });
  });
  afterAll(async () => {
    client?.close();
    await worker?.stop();
    await rm(baseDir, { recursive: true, force: true });
  });

  it(`leaves no session dir, mount, cgroup, process, held result or runaway memory behind after ${JOBS} jobs`, async () => {
    expect((await client.metrics()).isolationMode).toBe("sandbox");
    const sessions = new Set<string>();
    const kinds = ["true", "echo out; echo err >&2; exit 3", "sleep 0.01 & echo bg", 'echo x > "$OPENCODE_OUTPUT_DIR/a.txt"'];
    let next = 0;
    const runner = async (): Promise<void> => {
      while (next < JOBS) {
        const command = kinds[next++ % kinds.length]!;
        const job = await client.dispatch({ command });
        sessions.add((await job.wait()).sessionId);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, runner));
    expect(sessions.size).toBe(JOBS);

    expect((await readdir(baseDir)).filter((name) => name.startsWith("session-"))).toEqual([]);
    const mounts = await readFile("/proc/self/mountinfo", "utf8");
    expect([...sessions].filter((id) => mounts.includes(`session-${id}`))).toEqual([]);
    const cgroups = cgroupDirs((name) => name.includes("-session-")).join("\n");
    expect([...sessions].filter((id) => cgroups.includes(id))).toEqual([]);
    expect(processesInSlots(uidBase)).toEqual([]);
    // Results expire after their TTL: the worker then holds nothing of these jobs.
    await eventually(async () => (await client.listSessions()).length === 0);
    const metrics = await client.metrics();
    expect(metrics.active + metrics.queued).toBe(0);
    // About 80 MB idle and 100 MB after these jobs here: a bound for runaway growth, not a fine leak check.
    expect(metrics.rssBytes).toBeLessThan(250 * 1024 * 1024);
  }, 300_000);
});
