import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { JobFailedError, type JobResult, type JobSpec } from "@opencode-worker/master-client";
import { startTestWorker, type TestWorker } from "./harness.js";
import { describeSandbox } from "./support/conditions.js";
import { fixtureProgram } from "./support/fixture-program.js";
import { startSandboxWorker } from "./isolation/sandbox-harness.js";

/**
 * How a job ended reads the same whatever isolates it: a signal the job raised itself is SIGNALED
 * with its name (bwrap alone would turn it into exit 128+n), an exit code is EXITED even when it looks
 * like 128+n, and the processes a job left behind are counted however they died.
 */
async function resultOf(t: TestWorker, spec: JobSpec): Promise<JobResult> {
  const outcome = await t.client.run(spec).catch((error: unknown) => error);
  if (outcome instanceof JobFailedError) return outcome;
  if (outcome instanceof Error) throw outcome;
  return outcome as JobResult;
}

/** `sh daemon.sh`: setsid + double fork, out of the job's process group and session, reparented to the namespace's init. */
const DAEMON_FILES = { "daemon.sh": fixtureProgram("daemon.sh") };

function exitStatuses(start: () => Promise<TestWorker>) {
  let t: TestWorker;
  beforeAll(async () => {
    t = await start();
  }, 60_000);
  afterAll(() => t.stop());

  it.each([
    ["a shell line that kills itself", { command: "kill -SEGV $$" }, "SIGSEGV", 139],
    ["a program that aborts", { argv: ["perl", "-e", 'kill "ABRT", $$'] }, "SIGABRT", 134],
    ["a program killed by SIGKILL it sent itself", { argv: ["sh", "-c", "kill -KILL $$"] }, "SIGKILL", 137],
  ])("%s is SIGNALED with the signal's name, and the shell's 128+n in the message", async (_name, spec, signal, shellStatus) => {
    const result = await resultOf(t, spec);
    expect(result.state).toBe("failed");
    expect(result.reason).toBe("signaled");
    expect(result.signal).toBe(signal);
    expect(result.exitCode).toBeUndefined();
    expect(result.message).toContain(`shell status ${shellStatus}`);
  });

  it("an exit code that looks like a signal stays an exit code", async () => {
    const result = await resultOf(t, { command: "exit 139" });
    expect(result.reason).toBe("exited");
    expect(result.exitCode).toBe(139);
    expect(result.signal).toBeUndefined();
  });

  it("counts the background processes a job left behind when it exited", async () => {
    const result = await resultOf(t, { command: "sleep 300 & sleep 300 & sleep 0.1; exit 0" });
    expect(result.state).toBe("finished");
    expect(result.processesReaped).toBeGreaterThanOrEqual(2);
  });
}

describe("exit status (process driver)", () => {
  exitStatuses(() =>
    startTestWorker({
      security: { driver: "process", trusted_jobs: true, min_isolation: "none" },
      governance: { command_policy: "off" },
    }),
  );
});

describeSandbox("exit status (sandbox)", () => {
  exitStatuses(() => startSandboxWorker());

  it("counts daemons a job left behind, though they died with its pid namespace before the worker looked", async () => {
    const t = await startSandboxWorker();
    try {
      const result = await resultOf(t, { command: "sh daemon.sh; sh daemon.sh; sleep 0.1; exit 0", files: DAEMON_FILES });
      expect(result.state).toBe("finished");
      expect(result.processesReaped).toBeGreaterThanOrEqual(2);
    } finally {
      await t.stop();
    }
  });
});
