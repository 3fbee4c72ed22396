import { describe, expect, it } from "@jest/globals";
import { tmpdir } from "node:os";
import { JobSpec, Phase } from "@opencode-worker/shared";
import { loadConfig } from "../config/index.js";
import { Job } from "./job.js";
import { validateSpec } from "./validate-spec.js";

/** A worker that runs no agent tasks: these tests are about commands. */
const NO_AGENTS = { refusal: "no agent tasks in this test" };

describe("a job an earlier worker process started", () => {
  const restored = async (createdUnixMs: number, startedUnixMs: number): Promise<Job> => {
    const { config } = await loadConfig({ argv: [], env: {}, cwd: tmpdir() });
    const spec = await validateSpec(JobSpec.fromPartial({ jobId: "restored", command: "true" }), config, NO_AGENTS);
    const job = new Job(spec, "session", "/nowhere", 1024, "anonymous", createdUnixMs);
    job.restoreStart(startedUnixMs, Phase.PHASE_EXECUTE);
    return job;
  };

  it("was queued for the time between its journaled creation and start, exactly", async () => {
    const created = Date.now() - 60_000;
    expect((await restored(created, created)).timings.queueMs).toBe(0);
    expect((await restored(created, created + 250)).timings.queueMs).toBe(250);
  });

  it("never queued a negative time, even when the wall clock stepped back in between", async () => {
    const created = Date.now() - 60_000;
    expect((await restored(created, created - 5)).timings.queueMs).toBe(0);
  });
});
