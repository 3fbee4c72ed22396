import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { setTimeout as delay } from "node:timers/promises";
import type { JobHandle, JobStatus } from "@opencode-worker/master-client";
import { processesInSlots } from "../../../worker-node/test/isolation/sandbox-harness.js";
import { describeSandbox, waitFor } from "../../../worker-node/test/support/conditions.js";
import { startE2eWorker, type E2eWorker } from "../support/e2e-worker.js";
import { requireOpencodeBinary } from "../support/opencode-binary.js";
import { startOpencodeRun, type OpencodeRun } from "../support/opencode-run.js";
import { processesRunning } from "../support/processes.js";
import { startScriptedModel, type ScriptedModel } from "../../../../test-support/scripted-model.js";

/**
 * Pressing Esc in opencode while the agent's worker_stream_job runs must stop the remote job, not just
 * the tool call. SIGINT or SIGTERM to `opencode run` kills it without aborting its tools (measured with
 * 1.18.33), so the run is attached to an `opencode serve` and aborted as the TUI does, over its HTTP API.
 */

// A duration no other test uses, so the /proc scan finds this job's process and nothing else.
const SLEEP = "sleep 61.37";

/** The job's status once it has ended, or as it still is after `timeoutMs` (so a failure shows its state). */
async function statusOnceEnded(job: JobHandle, timeoutMs = 10_000): Promise<JobStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await job.status();
    if (status.ended || Date.now() > deadline) return status;
    await delay(50);
  }
}

let worker: E2eWorker;
let model: ScriptedModel;
let run: OpencodeRun;

describeSandbox("aborting opencode while the plugin streams a job", () => {
  beforeAll(async () => {
    const binary = requireOpencodeBinary();
    worker = await startE2eWorker();
    model = await startScriptedModel([{ tool: "worker_stream_job", args: { command: `echo started; ${SLEEP}` } }]);
    run = await startOpencodeRun({ binary, modelBaseURL: model.baseURL, pluginOptions: { address: worker.address }, server: true });
  }, 60_000);
  afterAll(async () => {
    await run?.close();
    await model?.close();
    // A job the plugin failed to cancel keeps the worker's shutdown waiting for its grace period.
    await worker?.stop();
  }, 60_000);

  it("cancels the job and leaves none of its processes", async () => {
    await waitFor(
      () => processesRunning(SLEEP).length > 0,
      () => `the job's "${SLEEP}" to start (model requests: ${JSON.stringify(model.requests)}, events: ${JSON.stringify(run.events)})`,
      // opencode takes 3-10 s to its first model request on an idle machine; far more on a loaded one.
      120_000,
    );
    const [session] = await worker.client.listSessions();
    expect(session).toMatchObject({ state: "running" });

    await run.abort();
    const exit = await run.exited;
    expect(exit.events.find((event) => event.type === "error")?.error?.name).toBe("MessageAbortedError");

    const job = await worker.client.job(session!.jobId);
    expect(await statusOnceEnded(job)).toMatchObject({ state: "cancelled", reason: "cancelled" });
    expect(processesRunning(SLEEP)).toEqual([]);
    expect(processesInSlots(worker.uidBase)).toEqual([]);
  }, 180_000);
});
