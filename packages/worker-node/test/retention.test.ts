import { describe, expect, it } from "@jest/globals";
import { NotFoundError } from "@opencode-worker/master-client";
import { eventually, startTestWorker } from "./harness.js";

/** The NOT_FOUND a call for a dropped result gets (any call: Status, Collect, ReadArtifact). */
async function notFound(call: Promise<unknown>): Promise<NotFoundError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NotFoundError);
  return error as NotFoundError;
}

describe("finished results are kept, then dropped", () => {
  it("keeps a result for session.result_ttl_ms, then answers NOT_FOUND", async () => {
    const t = await startTestWorker({ session: { result_ttl_ms: 300 } });
    try {
      const result = await t.client.run({ command: "echo kept" });
      const job = await t.client.job(result.jobId);
      expect((await job.collect()).stdoutText).toBe("kept\n");
      await eventually(async () => (await t.client.metrics()).retainedResults === 0);
      await expect(job.collect()).rejects.toBeInstanceOf(NotFoundError);
    } finally {
      await t.stop();
    }
  });

  it("answers NOT_FOUND for a result dropped after session.result_ttl_ms with that reason, on every call", async () => {
    const t = await startTestWorker({ session: { result_ttl_ms: 300 } });
    try {
      const result = await t.client.run({ command: 'echo kept > "$OPENCODE_OUTPUT_DIR/a.txt"' });
      const job = await t.client.job(result.jobId);
      await eventually(async () => (await t.client.metrics()).retainedResults === 0);
      const reason = /its result was dropped after session\.result_ttl_ms \(300 ms\)/;
      expect((await notFound(t.client.job(result.jobId))).message).toMatch(reason);
      expect((await notFound(job.collect())).message).toMatch(reason);
      expect((await notFound(job.readArtifactBuffer("a.txt"))).message).toMatch(reason);
    } finally {
      await t.stop();
    }
  });

  it("answers NOT_FOUND for a result evicted to stay within session.result_budget_bytes with that reason", async () => {
    const t = await startTestWorker({ session: { result_budget_bytes: 150_000 } });
    try {
      const first = await t.client.run({ command: "head -c 100000 /dev/zero" });
      await t.client.run({ command: "head -c 100000 /dev/zero" });
      const error = await notFound(t.client.job(first.jobId));
      expect(error.message).toMatch(
        /its result was dropped to stay within session\.result_budget_bytes \(150000 bytes\): collect results sooner or raise it/,
      );
      // An id this worker never saw still gets the plain answer.
      expect((await notFound(t.client.job("never-dispatched"))).message).not.toMatch(/its result was dropped/);
    } finally {
      await t.stop();
    }
  });

  it("drops the oldest results first when session.result_budget_bytes is exceeded", async () => {
    const t = await startTestWorker({ session: { result_budget_bytes: 250_000 } });
    try {
      const first = await t.client.run({ command: "head -c 100000 /dev/zero" });
      const second = await t.client.run({ command: "head -c 100000 /dev/zero" });
      const third = await t.client.run({ command: "head -c 100000 /dev/zero" });
      await expect(t.client.job(first.jobId)).rejects.toBeInstanceOf(NotFoundError);
      expect((await (await t.client.job(second.jobId)).collect()).stdoutTotalBytes).toBe(100_000);
      expect((await (await t.client.job(third.jobId)).collect()).stdoutTotalBytes).toBe(100_000);
      const metrics = await t.client.metrics();
      expect(metrics.retainedResults).toBe(2);
      expect(metrics.retainedResultBytes).toBeLessThanOrEqual(250_000);
    } finally {
      await t.stop();
    }
  });
});
