/**
 * RemoteWorkspace.run with an agent task instead of a command, against a scripted worker: the task
 * reaches Dispatch with the manifest, the agent's steps reach `onEvent` as they come, and what the
 * agent changed is applied to the root like a command's changes.
 */
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as wire from "@opencode-worker/shared";
import type { JobEvent } from "../src/index.js";
import { dispatchEcho, finishedResult, replayAfterSeq, scriptedSetup, within } from "./scripted-worker.js";

const { start, clientOf } = scriptedSetup();

describe("RemoteWorkspace running an agent task", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "ocw-agent-workspace-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const content = Buffer.from("hello from the agent\n");
  const event = (seq: number, kind: wire.JobEvent["kind"]): wire.JobEvent => ({ seq, timestampUnixMs: 1, jobId: "job-1", kind });
  const completed = finishedResult("job-1", {
    stdout: Buffer.alloc(0),
    workspaceChanges: {
      changes: [
        {
          path: "hello.txt",
          kind: wire.ChangeKind.CHANGE_KIND_ADDED,
          type: wire.EntryType.ENTRY_TYPE_FILE,
          digest: { sha256: createHash("sha256").update(content).digest("hex"), sizeBytes: String(content.length) },
          mode: 0o644,
          symlinkTarget: "",
          content,
          contentInline: true,
          remoteOnly: false,
        },
      ],
      truncated: false,
      truncatedReason: "",
    },
    agent: wire.AgentOutcome.create({ finalText: "wrote hello.txt", steps: 2, toolCalls: 1 }),
  });
  const events = [
    event(1, { $case: "accepted", value: { sessionId: "session-1", state: wire.JobState.JOB_STATE_QUEUED, queuePosition: 0 } }),
    event(2, {
      $case: "agentStep",
      value: { kind: wire.AgentStepKind.AGENT_STEP_KIND_TOOL, tool: "write", status: "completed", text: "hello.txt" },
    }),
    event(3, { $case: "completed", value: completed }),
  ];
  const dispatched: wire.JobSpec[] = [];
  const startWorker = () =>
    start({
      dispatch: (call, callback) => {
        if (call.request.spec) dispatched.push(call.request.spec);
        dispatchEcho(call, callback);
      },
      streamJob: replayAfterSeq(events),
      collect: (_call, callback) => callback(null, { result: completed }),
    });
  beforeEach(() => {
    dispatched.length = 0;
  });

  it("dispatches the task over the root, passes its events on and applies its changes", async () => {
    const worker = await startWorker();
    const seen: JobEvent[] = [];

    const run = await within(
      clientOf(worker)
        .workspace(root)
        .run({ jobId: "job-1", agentTask: { prompt: "write hello.txt" } }, { onEvent: (e) => seen.push(e) }),
      "the run",
    );

    expect(dispatched[0]?.agentTask?.prompt).toBe("write hello.txt");
    expect(dispatched[0]?.command).toBe("");
    expect(dispatched[0]?.workspace).toBeDefined();
    expect(seen.map((e) => e.type)).toEqual(["accepted", "agent_step", "completed"]);
    expect(seen[1]).toMatchObject({ type: "agent_step", kind: "tool", tool: "write", text: "hello.txt" });
    expect(run.result.agent?.finalText).toBe("wrote hello.txt");
    expect(run.applied.added).toEqual(["hello.txt"]);
    expect(readFileSync(join(root, "hello.txt"))).toEqual(content);
  });

  it("leaves the root alone with apply: false, the changes only in the result", async () => {
    const worker = await startWorker();

    const run = await within(
      clientOf(worker)
        .workspace(root)
        .run({ jobId: "job-1", agentTask: { prompt: "write hello.txt" } }, { apply: false }),
      "the run",
    );

    expect(run.applied.added).toEqual([]);
    expect(run.result.workspaceChanges?.changes.map((change) => change.path)).toEqual(["hello.txt"]);
    expect(existsSync(join(root, "hello.txt"))).toBe(false);
  });
});
