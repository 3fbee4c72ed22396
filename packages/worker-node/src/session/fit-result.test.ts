import { describe, expect, it } from "@jest/globals";
import {
  ChangeKind,
  EntryType,
  JobResult,
  JobState,
  TerminationReason,
  type Artifact,
  type WorkspaceChange,
} from "@opencode-worker/shared";
import { NO_ROOM_FOR_CHANGES, RESPONSE_BUDGET_BYTES, fitResult } from "./fit-result.js";

const MiB = 1024 * 1024;
/** gRPC's default receive limit in grpc-js, grpc-go, grpcurl and buf curl. */
const DEFAULT_RECEIVE_LIMIT = 4 * MiB;

function result(parts: Partial<JobResult>): JobResult {
  return JobResult.fromPartial({
    jobId: "job-1",
    sessionId: "s-1",
    state: JobState.JOB_STATE_FINISHED,
    reason: TerminationReason.TERMINATION_REASON_EXITED,
    exitCode: 0,
    message: "exited with code 0",
    metrics: { workerId: "w-1", durationMs: 5, memoryPeakBytes: 2 ** 40 },
    ...parts,
    stdoutRetainedBytes: parts.stdout?.length ?? 0,
    stderrRetainedBytes: parts.stderr?.length ?? 0,
  });
}

const filled = (bytes: number, seed: number) => Buffer.alloc(bytes, seed);
const artifact = (path: string, content?: Buffer): Artifact => ({
  path,
  sizeBytes: content?.length ?? 10 * MiB,
  sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  content: content ?? Buffer.alloc(0),
  contentInline: content !== undefined,
});
const encodedSize = (value: JobResult) => JobResult.encode(value).finish().length;

describe("fitResult keeps a result within one response", () => {
  it("leaves a result that fits as it is", () => {
    const small = result({
      stdout: Buffer.from("hello\n"),
      artifacts: [artifact("a.txt", Buffer.from("abc"))],
      skippedArtifacts: [{ path: "l", reason: "symlink" }],
    });
    expect(fitResult(small)).toEqual(small);
  });

  it("cuts 8 MiB of stdout and of stderr and many inline-sized artifacts to the budget, output heads first", () => {
    const stdout = filled(8 * MiB, 1);
    const stderr = filled(8 * MiB, 2);
    const artifacts = Array.from({ length: 400 }, (_, i) => artifact(`out/file-${i}.bin`, filled(60_000, 3)));
    const fitted = fitResult(result({ stdout, stderr, artifacts }));

    expect(encodedSize(fitted)).toBeLessThanOrEqual(RESPONSE_BUDGET_BYTES);
    expect(RESPONSE_BUDGET_BYTES).toBeLessThan(DEFAULT_RECEIVE_LIMIT);
    // The heads, shared evenly, and everything the result says about what is where.
    expect(stdout.subarray(0, fitted.stdout.length).equals(fitted.stdout)).toBe(true);
    expect(Math.abs(fitted.stdout.length - fitted.stderr.length)).toBeLessThanOrEqual(1);
    expect(fitted.stdout.length).toBeGreaterThan(1.5 * MiB);
    expect([fitted.stdoutRetainedBytes, fitted.stderrRetainedBytes]).toEqual([8 * MiB, 8 * MiB]);
    // Every artifact listed; no room was left for contents, which ReadArtifact serves.
    expect(fitted.artifacts.map((a) => a.path)).toEqual(artifacts.map((a) => a.path));
    expect(fitted.artifacts.every((a) => !a.contentInline && a.content.length === 0)).toBe(true);
    expect(fitted.unlistedArtifacts).toBe(0);
  });

  it("gives one stream what the other does not need", () => {
    const fitted = fitResult(result({ stdout: Buffer.from("short\n"), stderr: filled(8 * MiB, 2) }));
    expect(fitted.stdout.toString()).toBe("short\n");
    expect(fitted.stderr.length).toBeGreaterThan(3 * MiB);
    expect(encodedSize(fitted)).toBeLessThanOrEqual(RESPONSE_BUDGET_BYTES);
  });

  it("inlines artifact contents with the room output leaves, in order", () => {
    const artifacts = Array.from({ length: 100 }, (_, i) => artifact(`f${i}`, filled(60_000, 4)));
    const fitted = fitResult(result({ stdout: filled(1 * MiB, 1), artifacts }));
    const inline = fitted.artifacts.filter((a) => a.contentInline).length;
    expect(inline).toBeGreaterThan(30);
    expect(inline).toBeLessThan(100);
    expect(fitted.artifacts.slice(0, inline).every((a) => a.contentInline)).toBe(true);
    expect(fitted.stdout.length).toBe(1 * MiB);
    expect(encodedSize(fitted)).toBeLessThanOrEqual(RESPONSE_BUDGET_BYTES);
  });

  it("lists the first artifacts and skipped entries that fit and counts the rest, for very long paths", () => {
    const longPath = (i: number) => `${"d".repeat(200)}/`.repeat(19) + `file-${i}`;
    const artifacts = Array.from({ length: 10_000 }, (_, i) => artifact(longPath(i)));
    const skippedArtifacts = Array.from({ length: 1001 }, (_, i) => ({ path: longPath(i), reason: "symlink" }));
    const fitted = fitResult(result({ stdout: filled(8 * MiB, 1), artifacts, skippedArtifacts }));

    expect(encodedSize(fitted)).toBeLessThanOrEqual(RESPONSE_BUDGET_BYTES);
    expect(fitted.artifacts.length).toBeGreaterThan(0);
    expect(fitted.artifacts.map((a) => a.path)).toEqual(artifacts.slice(0, fitted.artifacts.length).map((a) => a.path));
    expect(fitted.artifacts.length + fitted.unlistedArtifacts).toBe(10_000);
    expect(fitted.skippedArtifacts.length + fitted.unlistedSkippedArtifacts).toBe(1001);
    expect(fitted.stdoutRetainedBytes).toBe(8 * MiB);
  });

  it("lists skipped entries before output when both are long", () => {
    const skippedArtifacts = Array.from({ length: 1001 }, (_, i) => ({ path: `${"p".repeat(1000)}-${i}`, reason: "hard link" }));
    const fitted = fitResult(result({ stdout: filled(8 * MiB, 1), stderr: filled(8 * MiB, 2), skippedArtifacts }));
    expect(fitted.skippedArtifacts).toHaveLength(1001);
    expect(fitted.unlistedSkippedArtifacts).toBe(0);
    expect(encodedSize(fitted)).toBeLessThanOrEqual(RESPONSE_BUDGET_BYTES);
  });
});

describe("fitResult with workspace changes", () => {
  const change = (path: string, content: Buffer): WorkspaceChange => ({
    path,
    kind: ChangeKind.CHANGE_KIND_ADDED,
    type: EntryType.ENTRY_TYPE_FILE,
    digest: { sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", sizeBytes: String(content.length) },
    mode: 0o644,
    symlinkTarget: "",
    content,
    contentInline: true,
    remoteOnly: false,
  });

  it("drops inline contents before changes, and keeps every change with its digest", () => {
    const changes = Array.from({ length: 100 }, (_, i) => change(`src/file-${i}.ts`, filled(60_000, 4)));
    const fitted = fitResult(result({ stdout: filled(8 * MiB, 1), workspaceChanges: { changes, truncated: false, truncatedReason: "" } }));
    expect(encodedSize(fitted)).toBeLessThanOrEqual(RESPONSE_BUDGET_BYTES);
    expect(fitted.workspaceChanges?.truncated).toBe(false);
    expect(fitted.workspaceChanges?.changes.map((c) => c.digest)).toEqual(changes.map((c) => c.digest));
    expect(fitted.workspaceChanges?.changes.some((c) => !c.contentInline && c.content.length === 0)).toBe(true);
  });

  it("lists changes ahead of output (output can be read again, a change list cannot); their contents come after it", () => {
    const changes = Array.from({ length: 1000 }, (_, i) => change(`src/file-${i}.ts`, filled(10, 4)));
    const full = result({
      stdout: filled(8 * MiB, 1),
      stderr: filled(8 * MiB, 2),
      workspaceChanges: { changes, truncated: false, truncatedReason: "" },
    });
    const fitted = fitResult(full);
    expect(fitted.workspaceChanges?.changes.map((c) => c.path)).toEqual(changes.map((c) => c.path));
    expect(fitted.workspaceChanges?.truncated).toBe(false);
    expect(fitted.stdout.length).toBeLessThan(full.stdout.length);
  });

  it("marks the list truncated when changes themselves do not fit, keeping a workspace cap's reason", () => {
    const changes = Array.from({ length: 50_000 }, (_, i) => change(`${"deep/".repeat(20)}file-${i}`, Buffer.alloc(0)));
    const cut = fitResult(result({ workspaceChanges: { changes, truncated: false, truncatedReason: "" } }));
    expect(encodedSize(cut)).toBeLessThanOrEqual(RESPONSE_BUDGET_BYTES);
    expect(cut.workspaceChanges?.changes.length).toBeLessThan(changes.length);
    expect(cut.workspaceChanges).toMatchObject({ truncated: true, truncatedReason: NO_ROOM_FOR_CHANGES });
    const capped = fitResult(result({ workspaceChanges: { changes, truncated: true, truncatedReason: "workspace.max_changes" } }));
    expect(capped.workspaceChanges?.truncatedReason).toBe("workspace.max_changes");
  });
});
