import { afterAll, afterEach, beforeAll, expect, it } from "@jest/globals";
import { JobFailedError } from "@opencode-worker/master-client";
import { eventually, type TestWorker } from "../harness.js";
import { describeSandbox } from "../support/conditions.js";
import { fixtureProgram } from "../support/fixture-program.js";
import { processesOfWorker, startSandboxWorker } from "./sandbox-harness.js";

let t: TestWorker;
const noneLeft = () => processesOfWorker(t).length === 0;

describeSandbox("the whole process tree dies with the job", () => {
  beforeAll(async () => {
    t = await startSandboxWorker();
  });
  afterEach(async () => {
    expect(noneLeft()).toBe(true);
    expect((await t.client.metrics()).draining).toBe(false);
  });
  afterAll(() => t.stop());

  // `sh daemon.sh`: setsid into a new session, double fork, close the pipes, ignore SIGTERM and SIGHUP.
  const DAEMON_FILES = { "daemon.sh": fixtureProgram("daemon.sh") };

  it("kills setsid + double-fork daemons left after an exit 0, before the result arrives", async () => {
    const result = await t.client.run({ command: "sh daemon.sh; sh daemon.sh; echo started", files: DAEMON_FILES });
    expect(result.state).toBe("finished");
    // The pid namespace takes them down with the job's init, or the cgroup kill after it: either way none is left.
    expect(noneLeft()).toBe(true);
  });

  it("kills daemons on cancel, before Cancel returns", async () => {
    const job = await t.client.dispatch({ command: "sh daemon.sh; echo started; sleep 1000", files: DAEMON_FILES });
    let started = false;
    job.onStdout(() => (started = true));
    await eventually(() => started);
    await job.cancel("test");
    expect(noneLeft()).toBe(true);
  });

  it("ends a job that stops its own process group (kill -STOP 0) at its timeout", async () => {
    const error = await t.client.run({ command: "sleep 1000 & kill -STOP 0", limits: { timeoutMs: 1000 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as JobFailedError).reason).toBe("timeout");
    expect(noneLeft()).toBe(true);
  });

  it("survives kill -9 -1 from inside: it reaches the job's own processes, never the worker", async () => {
    // kill(-1) signals everything the caller may signal except itself: here, only the job's processes.
    const result = await t.client.run({
      command: "sleep 1000 & p=$!; kill -9 -1; sleep 0.2; kill -0 $p 2>/dev/null && echo alive || echo gone",
    });
    expect(result.state).toBe("finished");
    expect(result.stdoutText).toBe("gone\n");
    expect((await t.client.run({ command: "echo worker fine" })).stdoutText).toBe("worker fine\n");
  });

  it("kills the tree on timeout, idle timeout and output limit alike", async () => {
    const specs = [
      { command: "sh daemon.sh; sleep 1000", files: DAEMON_FILES, limits: { timeoutMs: 500 } },
      { command: "sh daemon.sh; echo x; sleep 1000", files: DAEMON_FILES, limits: { idleTimeoutMs: 300 } },
      { command: "sh daemon.sh; yes", files: DAEMON_FILES, limits: { maxOutput: 100_000 } },
    ];
    const reasons = [];
    for (const spec of specs) {
      const error = (await t.client.run(spec).catch((e: unknown) => e)) as JobFailedError;
      reasons.push(error.reason);
      expect(noneLeft()).toBe(true);
    }
    expect(reasons).toEqual(["timeout", "idle_timeout", "output_limit"]);
  });
});
