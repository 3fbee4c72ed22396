import { afterEach, beforeEach, expect, it } from "@jest/globals";
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NotFoundError, WorkerClient, type JobEvent, type JobHandle } from "@opencode-worker/master-client";
import { startBinWorker, type BinWorker } from "./bin-harness.js";
import { freeUidBase, processesInSlots } from "./isolation/sandbox-harness.js";
import { describeSandbox } from "./support/conditions.js";

/*
 * A worker killed with SIGKILL and a new one started on the same base dir: the results of ended jobs
 * come back from the result journal within their TTL, a job cut off mid-run answers with its own
 * failure, and a damaged record is refused, never served.
 */

const TTL_MS = 60_000;
/** Each test starts two or three real workers with the sandbox probe: slow on a loaded machine. */
const TEST_TIMEOUT_MS = 120_000;
const uidBase = freeUidBase();
let baseDir: string;
const workers: { worker: BinWorker; client: WorkerClient }[] = [];

async function start(flags: string[] = [], logLines?: string[]): Promise<WorkerClient> {
  const worker = await startBinWorker(
    [
      `--session.base_dir=${baseDir}`,
      `--security.sandbox_uid_base=${uidBase}`,
      "--governance.command_policy=off",
      // Artifacts above 1000 bytes go to the store on disk; smaller ones are held in memory.
      "--session.artifact_inline_bytes=1000",
      `--session.result_ttl_ms=${TTL_MS}`,
      ...flags,
    ],
    { logLines },
  );
  const client = await WorkerClient.connect({ address: worker.address });
  workers.push({ worker, client });
  return client;
}

/** Kills the newest worker as a crash would: no drain, no clean-up. */
async function crash(): Promise<void> {
  const { worker, client } = workers.pop()!;
  client.close();
  process.kill(worker.pid, "SIGKILL");
  await worker.stop();
}

async function allEvents(job: JobHandle): Promise<JobEvent[]> {
  const events: JobEvent[] = [];
  for await (const event of job.events()) if (event.type !== "keepalive") events.push(event);
  return events;
}

async function notFound(call: Promise<unknown>): Promise<NotFoundError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NotFoundError);
  return error as NotFoundError;
}

describeSandbox("results survive a worker crash and restart", () => {
  beforeEach(async () => {
    baseDir = await mkdtemp(join(tmpdir(), "ocw-restart-"));
  });
  afterEach(async () => {
    // A graceful stop: a crashed worker's mounts are left for the next one's sweep, and rm cannot remove them.
    for (const { worker, client } of workers.splice(0)) {
      client.close();
      await worker.stop();
    }
    await rm(baseDir, { recursive: true, force: true });
  }, TEST_TIMEOUT_MS);

  it(
    "serves an ended job's result, output, events and artifacts after a crash, as they were",
    async () => {
      const before = await start();
      const command = [
        "echo out; echo err >&2",
        'echo small > "$OPENCODE_OUTPUT_DIR/small.txt"',
        'head -c 5000 /dev/urandom > "$OPENCODE_OUTPUT_DIR/big.bin"',
      ].join("; ");
      const result = await before.run({ command });
      expect(result.artifacts.map((artifact) => [artifact.path, artifact.content !== undefined])).toEqual([
        ["big.bin", false],
        ["small.txt", true],
      ]);
      const job = await before.job(result.jobId);
      const status = await job.status();
      const events = await allEvents(job);
      const big = await job.readArtifactBuffer("big.bin");
      expect(big.length).toBe(5000);
      await crash();

      const after = await start();
      const again = await after.job(result.jobId);
      expect(await again.collect()).toEqual(result);
      expect(await again.status()).toEqual(status);
      expect(await allEvents(again)).toEqual(events);
      expect((await again.readArtifactBuffer("small.txt")).toString()).toBe("small\n");
      expect((await again.readArtifactBuffer("big.bin")).equals(big)).toBe(true);
      const stdout: Buffer[] = [];
      for await (const chunk of again.readOutput("stdout")) stdout.push(chunk as Buffer);
      expect(Buffer.concat(stdout).toString()).toBe("out\n");
      // The same job_id and spec is the same job, not a new run.
      expect((await after.dispatch({ jobId: result.jobId, command })).jobId).toBe(result.jobId);
      expect((await after.metrics()).jobsTotal).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "answers for a job cut off in EXECUTE with FAILED naming the phase, and leaves nothing of it running",
    async () => {
      const before = await start();
      const job = await before.dispatch({ command: "echo started; sleep 60" });
      for await (const event of job.events()) if (event.type === "output") break;
      const [session] = (await readdir(baseDir)).filter((name) => name.startsWith("session-"));
      expect(session).toBeDefined();
      expect(processesInSlots(uidBase).length).toBeGreaterThan(0);
      await crash();

      const after = await start();
      // Swept before the new worker listened.
      expect((await readdir(baseDir)).filter((name) => name.startsWith("session-"))).toEqual([]);
      expect(processesInSlots(uidBase)).toEqual([]);
      const again = await after.job(job.jobId);
      const status = await again.status();
      expect([status.state, status.reason]).toEqual(["failed", "worker_error"]);
      const result = await again.collect();
      expect([result.state, result.reason]).toEqual(["failed", "worker_error"]);
      expect(result.message).toBe("the worker restarted during EXECUTE: the job did not finish; run it again");
      const events = await allEvents(again);
      expect(events.map((event) => event.type)).toEqual(["completed"]);

      // Taken back once, it stays taken back: a second restart serves the same failure.
      await crash();
      const third = await start();
      expect((await (await third.job(job.jobId)).collect()).message).toBe(result.message);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "skips a torn or garbled record with a WARN naming it, and answers NOT_FOUND, never a corrupt result",
    async () => {
      const before = await start();
      const torn = await before.run({ command: 'echo torn; head -c 5000 /dev/zero > "$OPENCODE_OUTPUT_DIR/a.bin"' });
      const kept = await before.run({ command: "echo kept" });
      await crash();
      const resultsDir = join(baseDir, ".results");
      const tornRecord = join(resultsDir, `${torn.sessionId}.result`);
      const { size } = await stat(tornRecord);
      await truncate(tornRecord, size - 3);
      const garbled = join(resultsDir, "0190c8a0-0000-7000-8000-000000000000.result");
      await writeFile(garbled, "not a record at all");

      const logLines: string[] = [];
      const after = await start([], logLines);
      const warnings = logLines.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((entry) => entry.level === 40);
      expect(warnings.filter((entry) => entry.msg.includes(tornRecord))).toHaveLength(1);
      expect(warnings.filter((entry) => entry.msg.includes(garbled))).toHaveLength(1);
      await notFound(after.job(torn.jobId));
      expect((await (await after.job(kept.jobId)).collect()).stdoutText).toBe("kept\n");
      // The torn record and its stored artifact are gone, not left to fill the disk.
      expect((await readdir(resultsDir)).sort()).toEqual([`${kept.sessionId}.result`]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "does not serve a result whose TTL ran out while no worker was running",
    async () => {
      const ttlMs = 1500;
      const before = await start([`--session.result_ttl_ms=${ttlMs}`]);
      const result = await before.run({ command: "echo old" });
      await crash();
      const record = await readFile(join(baseDir, ".results", `${result.sessionId}.result`));
      expect(record.length).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, ttlMs));

      const after = await start([`--session.result_ttl_ms=${ttlMs}`]);
      expect((await notFound(after.job(result.jobId))).message).toMatch(/its result was dropped after session\.result_ttl_ms \(1500 ms\)/);
      expect(await readdir(join(baseDir, ".results"))).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
