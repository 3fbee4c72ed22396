import { describe, expect, it } from "@jest/globals";
import type { AgentOutcome, AppliedChanges, JobAgentStepEvent, JobModelCallEvent, WorkspaceChange } from "@opencode-worker/master-client";
import { jobResult } from "../../test/support/job-result.js";
import { progressLine, renderDelegation } from "./render-delegation.js";

const APPLIED: AppliedChanges = { added: ["hello.txt"], modified: [], deleted: [], remoteOnly: 0, refused: [], truncated: false };
const AGENT: AgentOutcome = {
  finalText: "I wrote hello.txt and ran id -u: 1000.",
  usage: { requests: 3, inputTokens: 1200, outputTokens: 80, refusedRequests: 0 },
  opencodeVersion: "1.18.33",
  steps: 3,
  toolCalls: 2,
  failedToolCalls: 0,
};

function file(path: string, content: string | Buffer, kind: WorkspaceChange["kind"] = "added"): WorkspaceChange {
  const data = Buffer.from(content);
  return { path, kind, type: "file", sha256: "ab".repeat(32), size: data.length, mode: 0o644, content: data, remoteOnly: false };
}

/** A delegated task's result; `agent` null for one without an outcome. */
function delegated(changes: WorkspaceChange[], agent: AgentOutcome | null = AGENT) {
  return jobResult({ jobId: "job-7", workspaceChanges: { changes, truncated: false, truncatedReason: "" }, ...(agent && { agent }) });
}

describe("renderDelegation", () => {
  it("gives the outcome, the model use, the final text, the changes and a small file's content", () => {
    const text = renderDelegation({ result: delegated([file("hello.txt", "hello\n")]), applied: APPLIED }, 16 * 1024);
    expect(text).toBe(
      [
        "delegated task, job job-7: finished · 1.23 s",
        "model use: 3 requests, 1200 tokens in, 80 tokens out",
        "agent: 3 steps, 2 tool calls · opencode 1.18.33",
        "",
        "final text:",
        "I wrote hello.txt and ran id -u: 1000.",
        "",
        "changes (1, applied to the project):",
        "  added hello.txt (6 bytes)",
        "",
        "--- hello.txt",
        "hello",
      ].join("\n"),
    );
  });

  it("says why a task ended early, with the worker's message and refused requests", () => {
    const result = jobResult({
      state: "failed",
      reason: "model_budget",
      exitCode: undefined,
      signal: "SIGTERM",
      message: "model budget spent: 3 of limits.modelMaxRequests 3",
      agent: { ...AGENT, usage: { ...AGENT.usage, refusedRequests: 1 }, failedToolCalls: 1, finalText: "" },
    });
    const text = renderDelegation({ result, applied: APPLIED }, 16 * 1024);
    expect(text.split("\n").slice(0, 5)).toEqual([
      "delegated task, job job-1: failed (model_budget) · 1.23 s",
      "model budget spent: 3 of limits.modelMaxRequests 3",
      "model use: 3 requests (1 more refused), 1200 tokens in, 80 tokens out",
      "agent: 3 steps, 2 tool calls (1 failed) · opencode 1.18.33",
      "",
    ]);
    expect(text).toContain("final text: (none)\n\nchanges: none");
  });

  it("says when the agent left no outcome, and when the changes were not applied", () => {
    const text = renderDelegation({ result: delegated([file("a.txt", "a", "modified")], null), applied: undefined }, 16 * 1024);
    expect(text).toContain("the worker reported no agent outcome");
    expect(text).toContain("changes (1, not applied to the project (apply: false)):\n  modified a.txt (1 bytes)");
  });

  it("lists deletions, links, remote-only paths and refusals, and shows no binary content", () => {
    const changes: WorkspaceChange[] = [
      { path: "old.txt", kind: "deleted", type: "none", remoteOnly: false },
      { path: "link", kind: "added", type: "symlink", symlinkTarget: "hello.txt", remoteOnly: false },
      file("node_modules/x/index.js", "x", "added"),
      file("blob.bin", Buffer.from([0, 1, 2, 3])),
    ];
    changes[2] = { ...changes[2]!, remoteOnly: true };
    const applied: AppliedChanges = { ...APPLIED, refused: [{ path: "link", reason: "a link out of the project" }] };
    const text = renderDelegation({ result: delegated(changes), applied }, 16 * 1024);
    expect(text).toContain(
      [
        "  deleted old.txt",
        "  added link -> hello.txt",
        "  added node_modules/x/index.js (1 bytes) [kept on the worker]",
        "  added blob.bin (4 bytes)",
        "not applied: link (a link out of the project)",
      ].join("\n"),
    );
    expect(text).not.toContain("--- blob.bin");
    expect(text).not.toContain("--- node_modules/x/index.js");
  });

  it("stays within its budget, cutting the final text, the list and the contents", () => {
    const big = "line of the agent's answer\n".repeat(2000);
    const changes = Array.from({ length: 500 }, (_, index) => file(`src/file-${index}.ts`, "export const x = 1;\n".repeat(400)));
    const text = renderDelegation({ result: delegated(changes, { ...AGENT, finalText: big }), applied: APPLIED }, 16 * 1024);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(16 * 1024);
    expect(text).toMatch(/\n… \(\d+ more bytes\)\n/);
    expect(text).toMatch(/ {2}… and \d+ more\n/);
    expect(text).toMatch(/\(the contents of \d+ more changed files are left out\)$/);
  });
});

describe("progressLine", () => {
  const base = { seq: 1, timestamp: new Date(0), jobId: "job-1" };
  const step = (fields: Partial<JobAgentStepEvent>): JobAgentStepEvent => ({
    ...base,
    type: "agent_step",
    kind: "tool",
    text: "",
    ...fields,
  });

  it("says what a tool call did, what the agent says and its errors, on one short line", () => {
    expect(progressLine(step({ tool: "bash", status: "completed", text: "id -u" }))).toBe("bash completed: id -u");
    expect(progressLine(step({ kind: "text", text: "Done.\nAll good." }))).toBe("says: Done. All good.");
    expect(progressLine(step({ kind: "error", text: "provider refused" }))).toBe("error: provider refused");
    expect(progressLine(step({ kind: "text", text: "x".repeat(500) }))?.length).toBe(200);
  });

  it("leaves out step boundaries and kinds it does not know", () => {
    expect(progressLine(step({ kind: "step_started" }))).toBeUndefined();
    expect(progressLine(step({ kind: "unknown" }))).toBeUndefined();
  });

  it("says what a model request cost, or why it was refused", () => {
    const call: JobModelCallEvent = {
      ...base,
      type: "model_call",
      number: 2,
      model: "fakeprov/fake",
      httpStatus: 200,
      inputTokens: 900,
      outputTokens: 40,
      latencyMs: 31,
      firstByteMs: 4,
    };
    expect(progressLine(call)).toBe("model request 2: HTTP 200, 900 in / 40 out, 31 ms");
    expect(progressLine({ ...call, httpStatus: 429, refused: "model budget spent" })).toBe("model request 2 refused: model budget spent");
  });
});
