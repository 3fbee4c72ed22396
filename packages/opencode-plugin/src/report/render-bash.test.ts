import { describe, expect, it } from "@jest/globals";
import type { AppliedChanges } from "@opencode-worker/master-client";
import { jobResult } from "../../test/support/job-result.js";
import { BASH_RESULT_BYTES, BASH_RESULT_LINES, type BashOutcome, renderBash } from "./render-bash.js";

const NOTHING: AppliedChanges = { added: [], modified: [], deleted: [], remoteOnly: 0, refused: [], truncated: false };

function outcome(output: string | Buffer, fields: Partial<BashOutcome> = {}): BashOutcome {
  const data = Buffer.from(output);
  return { tail: data, totalBytes: data.length, result: jobResult(), applied: NOTHING, timeoutMs: 120_000, ...fields };
}

describe("renderBash", () => {
  it("is the output alone when the command exited 0 and changed nothing", () => {
    expect(renderBash(outcome("hello\nworld\n"))).toBe("hello\nworld");
    expect(renderBash(outcome(""))).toBe("(no output)");
  });

  it("says the exit code when it is not 0, and a limit's reason", () => {
    const failed = jobResult({ state: "failed", reason: "exited", exitCode: 2, message: "exited with code 2: see stderr" });
    expect(renderBash(outcome("oops\n", { result: failed }))).toBe("oops\n\nexit code 2");
    const timedOut = jobResult({ state: "timed_out", reason: "timeout", exitCode: undefined, signal: "SIGKILL" });
    expect(renderBash(outcome("", { result: timedOut, timeoutMs: 1000 }))).toMatch(
      /^\(no output\)\n\nthe command was stopped after exceeding its timeout of 1000 ms\. .*retry with a larger timeout/,
    );
    const memory = jobResult({
      state: "failed",
      reason: "memory_limit",
      exitCode: undefined,
      signal: "SIGKILL",
      message: "killed at memory limit",
    });
    expect(renderBash(outcome("", { result: memory }))).toBe(
      "(no output)\n\nfailed (memory_limit), killed by SIGKILL: killed at memory limit",
    );
  });

  it("lists what changed locally, what stays on the worker and what was refused", () => {
    const applied: AppliedChanges = {
      added: ["a.txt", "b/c.txt"],
      modified: [],
      deleted: ["old.txt"],
      remoteOnly: 3,
      refused: [{ path: "../escape", reason: "outside the root" }],
      truncated: true,
    };
    expect(renderBash(outcome("done\n", { applied })).split("\n")).toEqual([
      "done",
      "",
      "files changed locally: 2 added, 1 deleted",
      "  + a.txt",
      "  + b/c.txt",
      "  - old.txt",
      "3 changes kept on the worker only (remote-only paths)",
      "not applied locally (1):",
      '  "../escape": outside the root',
      "the worker's list of changes was cut short: other files may differ from the worker's copy",
    ]);
  });

  it("lists changed paths within a byte budget, counting the rest", () => {
    const added = Array.from({ length: 5000 }, (_, index) => `dir/file-${index}.txt`);
    const text = renderBash(outcome("", { applied: { ...NOTHING, added } }));
    expect(text).toMatch(/^files changed locally: 5000 added$/m);
    expect(text).toMatch(/^ {2}… and \d+ more$/m);
    expect(Buffer.byteLength(text)).toBeLessThan(5000);
  });

  it("keeps the end of a long output within opencode's bash sizes, after a note naming the job", () => {
    const lines = Array.from({ length: 100_000 }, (_, index) => `line ${index}`).join("\n") + "\n";
    const text = renderBash(outcome(lines, { result: jobResult({ jobId: "job-7", state: "failed", exitCode: 1 }) }));
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(BASH_RESULT_BYTES);
    expect(text.split("\n").length).toBeLessThanOrEqual(BASH_RESULT_LINES);
    expect(text).toMatch(/^\.\.\.output truncated\.\.\.\n\nthe first \d+ bytes were left out; worker_collect_output with jobId job-7/);
    expect(text).toMatch(/\nline 99998\nline 99999\n\nexit code 1$/);
    const left = Number(/the first (\d+) bytes/.exec(text)?.[1]);
    const shown = text.slice(text.indexOf("line "), text.indexOf("\n\nexit code"));
    expect(left + Buffer.byteLength(shown) + 1).toBe(Buffer.byteLength(lines));
  });

  it("says the output was cut when only its end reached the tool", () => {
    // The tool keeps the last bytes of what streamed; the total says how much more there was.
    const text = renderBash(outcome("tail end\n", { totalBytes: 1_000_000 }));
    expect(text).toMatch(/^\.\.\.output truncated\.\.\.\n\nthe first 999991 bytes were left out;.*\n\ntail end$/);
  });
});
