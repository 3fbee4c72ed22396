import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { JobFailedError, ResourceExhaustedError, type JobResult } from "@opencode-worker/master-client";
import { startTestWorker, type TestWorker } from "./harness.js";
import { fixtureProgram } from "./support/fixture-program.js";

let t: TestWorker;
beforeAll(async () => {
  t = await startTestWorker();
});
afterAll(() => t.stop());

/** The result of a job expected to fail. */
async function failing(spec: Parameters<TestWorker["client"]["run"]>[0]): Promise<JobResult> {
  const error = await t.client.run(spec).catch((e: unknown) => e);
  if (!(error instanceof JobFailedError)) throw new Error(`expected JobFailedError, got ${String(error)}`);
  return error;
}

describe("limits the worker enforces", () => {
  it("kills at the wall-clock timeout and says which limit to raise", async () => {
    const result = await failing({ command: "echo before; sleep 30", limits: { timeoutMs: 500 } });
    expect(result.state).toBe("timed_out");
    expect(result.reason).toBe("timeout");
    expect(result.timedOut).toBe(true);
    expect(result.message).toContain("limits.timeoutMs");
    expect(result.stdoutText).toBe("before\n");
    expect(result.durationMs).toBeLessThan(10_000);
  });

  it("kills a job that prints nothing for idle_timeout_ms, but not one that keeps printing", async () => {
    const idle = await failing({ command: "echo hi; sleep 30", limits: { idleTimeoutMs: 1500 } });
    expect(idle.reason).toBe("idle_timeout");
    expect(idle.message).toContain("limits.idleTimeoutMs");
    // Output every 0.1 s, 15x inside the idle limit: a loaded machine (agent suites run beside this one) can stall a
    // sandboxed `sleep 0.1` for several times its length.
    const busy = await t.client.run({ command: "for i in 1 2 3 4 5 6; do echo $i; sleep 0.1; done", limits: { idleTimeoutMs: 1500 } });
    expect(busy.state).toBe("finished");
  });

  it("stops a job past max_output_bytes, counting stdout and stderr together", async () => {
    const result = await failing({
      command: "head -c 3000 /dev/zero; head -c 3000 /dev/zero >&2; sleep 30",
      limits: { maxOutput: 4000 },
    });
    expect(result.reason).toBe("output_limit");
    expect(result.message).toContain("limits.maxOutput");
    expect(result.stdout.length + result.stderr.length).toBe(4000);
    expect(result.stdoutTotalBytes + result.stderrTotalBytes).toBeGreaterThan(4000);
    expect(result.stdoutTruncated || result.stderrTruncated).toBe(true);
  });

  it("kills a memory hog at memory_bytes and reports the peak", async () => {
    const result = await failing({
      argv: ["python3", "memory-hog.py", "300"],
      files: { "memory-hog.py": fixtureProgram("memory-hog.py") },
      limits: { memory: "96MiB" },
    });
    expect(result.reason).toBe("memory_limit");
    expect(result.message).toMatch(/memory limit 96 MiB; peak .*limits\.memory\b/);
    expect(result.memoryPeakBytes).toBeGreaterThan(50 * 1024 * 1024);
    const healthy = await t.client.run({ command: "echo still fine" });
    expect(healthy.stdoutText).toBe("still fine\n");
  });

  it("reports cpu time", async () => {
    const result = await t.client.run({ command: "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done" });
    expect(result.cpuTimeMs).toBeGreaterThan(0);
  });
});

describe("admission", () => {
  it("queues beyond worker.concurrency and refuses beyond session.max_concurrent_sessions", async () => {
    const small = await startTestWorker({ worker: { concurrency: 1 }, session: { max_concurrent_sessions: 2 } });
    try {
      const running = await small.client.dispatch({ command: "sleep 30" });
      const queued = await small.client.dispatch({ command: "echo queued" });
      expect((await queued.status()).state).toBe("queued");
      await expect(small.client.dispatch({ command: "echo third" })).rejects.toBeInstanceOf(ResourceExhaustedError);
      await running.cancel();
      const result = await queued.wait();
      expect(result.stdoutText).toBe("queued\n");
      expect(result.queueMs).toBeGreaterThan(0);
    } finally {
      await small.stop();
    }
  });

  it("cancels a queued job without ever running it", async () => {
    const small = await startTestWorker({ worker: { concurrency: 1 } });
    try {
      const running = await small.client.dispatch({ command: "sleep 30" });
      const queued = await small.client.dispatch({ command: "echo never" });
      expect(await queued.cancel("not needed")).toMatchObject({ state: "cancelled", cancelled: true });
      const result = await queued.collect();
      expect(result.stdout.length).toBe(0);
      expect(result.phaseMs.executeMs).toBe(0);
      await running.cancel();
    } finally {
      await small.stop();
    }
  });
});
