/**
 * worker_delegate_task against a scripted worker (the real one's agent runs are the e2e's): the agent's
 * steps reach opencode's UI as they come, its changes reach the project, and stopping the tool call
 * cancels the job.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
// The plugin depends on the SDK alone; the wire types are for scripting the worker here.
import * as wire from "../../../shared/src/index.js";
// Test-only: the SDK's scripted worker, a grpc-js server whose handlers each test writes.
import { cancelledBy, dispatchEcho, finishedResult, scriptedSetup, within } from "../../../master-client/test/scripted-worker.js";
import { waitFor } from "../../../worker-node/test/support/conditions.js";
import { loadPlugin, toolContext } from "./plugin-harness.js";

const { start: startWorker } = scriptedSetup();
/** A scripted worker that already holds every blob, so a run goes straight to Dispatch. */
const start = (handlers: Partial<wire.WorkerServiceServer>) =>
  startWorker({ findMissingBlobs: (_call, callback) => callback(null, { missing: [] }), ...handlers });
const WRITTEN = Buffer.from("written by the agent\n");

const event = (jobId: string, seq: number, kind: wire.JobEvent["kind"]): wire.JobEvent => ({ seq, timestampUnixMs: seq, jobId, kind });
const jobIdOf = (request: wire.StreamJobRequest): string => (request.target?.$case === "jobId" ? request.target.value : "");

function completed(jobId: string): wire.JobResult {
  return finishedResult(jobId, {
    stdout: Buffer.alloc(0),
    workspaceChanges: {
      changes: [
        {
          path: "delegated.txt",
          kind: wire.ChangeKind.CHANGE_KIND_ADDED,
          type: wire.EntryType.ENTRY_TYPE_FILE,
          digest: { sha256: createHash("sha256").update(WRITTEN).digest("hex"), sizeBytes: String(WRITTEN.length) },
          mode: 0o644,
          symlinkTarget: "",
          content: WRITTEN,
          contentInline: true,
          remoteOnly: false,
        },
      ],
      truncated: false,
      truncatedReason: "",
    },
    agent: wire.AgentOutcome.create({
      finalText: "wrote delegated.txt",
      usage: { requests: 2, inputTokens: 200, outputTokens: 40, refusedRequests: 0 },
      steps: 2,
      toolCalls: 1,
    }),
  });
}

describe("worker_delegate_task", () => {
  let project: string;
  beforeEach(() => {
    project = mkdtempSync(join(tmpdir(), "ocw-delegate-"));
    writeFileSync(join(project, "README.md"), "# project\n");
  });
  afterEach(() => rmSync(project, { recursive: true, force: true }));

  it("dispatches an agent task over the project, shows its steps live and applies its changes", async () => {
    const dispatched: wire.JobSpec[] = [];
    const worker = await start({
      dispatch: (call, callback) => {
        if (call.request.spec) dispatched.push(call.request.spec);
        dispatchEcho(call, callback);
      },
      streamJob: (call) => {
        const jobId = jobIdOf(call.request);
        const step = { kind: wire.AgentStepKind.AGENT_STEP_KIND_TOOL, tool: "write", status: "completed", text: "delegated.txt" };
        const modelCall = { number: 1, model: "fakeprov/fake", httpStatus: 200, inputTokens: 100, outputTokens: 20 };
        for (const sent of [
          event(jobId, 1, { $case: "accepted", value: { sessionId: "s", state: wire.JobState.JOB_STATE_QUEUED, queuePosition: 0 } }),
          event(jobId, 2, { $case: "modelCall", value: wire.ModelCall.create({ ...modelCall, latencyMs: 12 }) }),
          event(jobId, 3, { $case: "agentStep", value: step }),
          event(jobId, 4, { $case: "completed", value: completed(jobId) }),
        ])
          call.write({ event: sent });
        call.end();
      },
    });
    const plugin = await loadPlugin({ address: worker.address, delegateModel: "fakeprov/fake" });
    const recorded = toolContext(project);

    const text = await within(plugin.call("worker_delegate_task", { prompt: "write delegated.txt" }, recorded), "the tool");
    await plugin.dispose();

    expect(dispatched[0]?.agentTask).toMatchObject({ prompt: "write delegated.txt", model: "fakeprov/fake" });
    expect(dispatched[0]?.workspace?.entries.map((entry) => entry.path)).toEqual(["README.md"]);
    expect(text).toMatch(/^delegated task, job \S+: finished/);
    expect(text).toContain("final text:\nwrote delegated.txt");
    expect(text).toContain("changes (1, applied to the project):\n  added delegated.txt");
    expect(readFileSync(join(project, "delegated.txt"))).toEqual(WRITTEN);
    const shown = recorded.metadata.at(-1);
    expect(shown?.title).toBe(`delegated task ${dispatched[0]?.jobId}`);
    expect(shown?.metadata?.output).toBe("model request 1: HTTP 200, 100 in / 20 out, 12 ms\nwrite completed: delegated.txt");
  });

  it("cancels the job when the tool call is stopped, and says so", async () => {
    const cancelled: string[] = [];
    const worker = await start({
      dispatch: dispatchEcho,
      streamJob: (call) => {
        const accepted = { sessionId: "s", state: wire.JobState.JOB_STATE_RUNNING, queuePosition: 0 };
        call.write({ event: event(jobIdOf(call.request), 1, { $case: "accepted", value: accepted }) });
        // The agent runs on and on, until the client goes away.
        void cancelledBy(call).then(() => call.end());
      },
      cancel: (call, callback) => {
        cancelled.push(call.request.jobId);
        callback(null, { state: wire.JobState.JOB_STATE_CANCELLED, cancelled: true });
      },
    });
    const plugin = await loadPlugin({ address: worker.address });
    const recorded = toolContext(project);

    const answer = plugin.call("worker_delegate_task", { prompt: "never ends" }, recorded);
    await waitFor(
      () => recorded.metadata.some((shown) => shown.metadata?.jobId),
      () => "the job's acceptance shown",
    );
    recorded.controller.abort();
    const text = await within(answer, "the tool");
    // The workspace sends Cancel as the run gives up, without waiting for its answer.
    await waitFor(
      () => cancelled.length > 0,
      () => "the job's cancel",
    );
    await plugin.dispose();

    expect(text).toMatch(/^the delegated task \(job \S+\) was cancelled: the tool call was stopped \(no change was applied locally\)$/);
    expect(cancelled).toEqual([/\(job (\S+)\)/.exec(text)?.[1]]);
  });
});
