import { afterAll, afterEach, beforeAll, expect, it } from "@jest/globals";
import { JobFailedError, type JobResult, type JobSpec } from "@opencode-worker/master-client";
import { eventually, type TestWorker } from "../harness.js";
import { describeSandbox } from "../support/conditions.js";
import { fixtureProgram } from "../support/fixture-program.js";
import { processesOfWorker, startSandboxWorker } from "./sandbox-harness.js";

let t: TestWorker;

describeSandbox("limits enforced by the kernel", () => {
  beforeAll(async () => {
    t = await startSandboxWorker();
  });
  afterEach(async () => {
    // After every job: nothing of it left, and the worker still answers.
    await eventually(() => processesOfWorker(t).length === 0);
    expect((await t.client.run({ command: "echo ok" })).stdoutText).toBe("ok\n");
  });
  afterAll(() => t.stop());

  async function outcome(spec: JobSpec): Promise<JobResult> {
    return t.client.run(spec).catch((error: unknown) => {
      if (error instanceof JobFailedError) return error;
      throw error;
    });
  }

  it("OOM-kills a memory bomb at memory_bytes (cgroup) and reports the peak", async () => {
    const result = await outcome({
      command: "python3 memory-hog.py",
      files: { "memory-hog.py": fixtureProgram("memory-hog.py") },
      limits: { memory: "64MiB" },
    });
    expect(result.reason).toBe("memory_limit");
    expect(result.memoryPeakBytes).toBeGreaterThanOrEqual(32 * 1024 * 1024);
    expect(result.memoryPeakBytes).toBeLessThanOrEqual(80 * 1024 * 1024);
    expect(result.unenforcedLimits).toEqual([]);
  });

  it("caps a fork bomb at max_pids and reports PIDS_LIMIT", async () => {
    const result = await outcome({
      argv: ["bash", "fork-bomb.sh", "5"],
      files: { "fork-bomb.sh": fixtureProgram("fork-bomb.sh") },
      limits: { maxPids: 32, timeoutMs: 20_000 },
    });
    expect(result.reason).toBe("pids_limit");
    expect(result.message).toContain("limits.maxPids");
  });

  it("stops a disk filler at max_disk_bytes with DISK_LIMIT", async () => {
    const result = await outcome({ command: "head -c 100000000 /dev/zero > big; echo status=$?", limits: { maxDisk: "16MiB" } });
    // The worker may stop the job on the full disk before its own ENOSPC message: the reason is what counts.
    expect(result.reason).toBe("disk_limit");
    expect(result.message).toContain("limits.maxDisk");
  });

  it("stops an inode filler too (the session tmpfs has nr_inodes), whose files are tiny", async () => {
    const result = await outcome({ command: "i=0; while : > f$i; do i=$((i+1)); done", limits: { maxDisk: "4MiB", timeoutMs: 60_000 } });
    expect(result.reason).toBe("disk_limit");
  });

  it("keeps the job's /tmp on its own quota", async () => {
    const result = await outcome({ command: "head -c 100000000 /dev/zero > /tmp/big", limits: { maxDisk: "8MiB" } });
    expect(result.reason).toBe("disk_limit");
  });

  it("survives fd exhaustion inside the job (rlimit nofile)", async () => {
    const result = await outcome({
      command: "python3 open-until-refused.py",
      files: { "open-until-refused.py": fixtureProgram("open-until-refused.py") },
    });
    expect(result.state).toBe("finished");
    expect(result.stdoutText).toMatch(/stopped at \d+ 24/);
  });

  it("throttles a CPU spin to cpu 0.5 and reports its cpu time", async () => {
    const result = await outcome({ command: "sh spin.sh 2", files: { "spin.sh": fixtureProgram("spin.sh") }, limits: { cpu: 0.5 } });
    expect(result.cpuTimeMs).toBeGreaterThan(300);
    // Unthrottled it would use the whole 2 s of wall time on a core.
    expect(result.cpuTimeMs).toBeLessThan(1500);
  });
});
