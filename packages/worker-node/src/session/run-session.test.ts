import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { JobSpec, JobState, Phase, TerminationReason, uuidv7 } from "@opencode-worker/shared";
import { pino } from "pino";
import { loadConfig } from "../config/index.js";
import type { WorkerConfig } from "../config/worker-config.js";
import type { PreparedSandbox, SandboxDriver, SandboxSessionSpec } from "../sandbox/driver.js";
import { ProcessDriver } from "../sandbox/process/driver.js";
import { tempBaseDir } from "../../test/support/sandbox-driver.js";
import { Job } from "./job.js";
import { ResultJournal } from "./result-journal.js";
import { runSession } from "./run-session.js";
import { validateSpec } from "./validate-spec.js";

/** A worker that runs no agent tasks: these tests are about commands. */
const NO_AGENTS = { refusal: "no agent tasks in this test" };

let baseDir: string;
let config: WorkerConfig;

beforeAll(async () => {
  baseDir = tempBaseDir("run-session");
  ({ config } = await loadConfig({
    argv: [],
    env: {},
    cwd: baseDir,
    overrides: {
      session: { base_dir: join(baseDir, "sessions") },
      security: { driver: "process", trusted_jobs: true, min_isolation: "none" },
      governance: { command_policy: "off" },
    },
  }));
});
afterAll(() => {
  execFileSync("rm", ["-rf", baseDir]);
});

/**
 * The real process driver, except that reading the session's output dir throws once the job is in
 * COLLECT: COLLECT itself never throws for what a job left (it skips with reasons), so a failure
 * there is a fault of the worker, injected here where collectPhase first touches the sandbox.
 */
class OutputDirFailsInCollect implements SandboxDriver {
  readonly name = "process";
  readonly isolation = "none" as const;
  private readonly inner = new ProcessDriver();

  constructor(private readonly job: () => Job) {}

  async prepare(spec: SandboxSessionSpec): Promise<PreparedSandbox> {
    const box = await this.inner.prepare(spec);
    return new Proxy(box, {
      get: (target, key) => {
        if (key === "outputDir" && this.job().phase === Phase.PHASE_COLLECT) throw new Error("the output dir vanished");
        return Reflect.get(target, key);
      },
    });
  }

  sweep(baseDir: string): Promise<string[]> {
    return this.inner.sweep(baseDir);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe("runSession", () => {
  it("says in the result's message that the artifacts were lost when COLLECT throws after the command exited", async () => {
    const spec = JobSpec.fromPartial({ jobId: "collect-throws", command: 'echo made > "$OPENCODE_OUTPUT_DIR/out.txt"' });
    const sessionId = uuidv7();
    const job = new Job(
      await validateSpec(spec, config, NO_AGENTS),
      sessionId,
      join(config.session.baseDir, `session-${sessionId}`),
      config.session.resultOutputBytes,
      "anonymous",
    );
    const resultsDir = join(baseDir, ".results");
    mkdirSync(resultsDir, { recursive: true });
    const log = pino({ level: "silent" });
    await runSession(job, {
      driver: new OutputDirFailsInCollect(() => job),
      config,
      log,
      resultsDir,
      journal: new ResultJournal(resultsDir, log),
    });
    const result = await job.done;
    // The command's own outcome stands: the first termination cause wins.
    expect(result.state).toBe(JobState.JOB_STATE_FINISHED);
    expect(result.reason).toBe(TerminationReason.TERMINATION_REASON_EXITED);
    expect(result.exitCode).toBe(0);
    expect(result.artifacts).toEqual([]);
    expect(result.message).toBe("exited with code 0; artifacts not collected: the output dir vanished");
  });
});
