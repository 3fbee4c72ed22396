import { describe, expect, it } from "@jest/globals";
import type { JobStatus } from "@opencode-worker/master-client";
import { renderStatus } from "./render-status.js";

const running: JobStatus = {
  jobId: "build-42",
  sessionId: "session-7",
  state: "running",
  phase: "execute",
  ended: false,
  createdAt: new Date("2026-01-01T00:00:00Z"),
  startedAt: new Date("2026-01-01T00:00:01Z"),
  queueMs: 1250,
  elapsedMs: 73_400,
  usage: { cpuTimeMs: 51_230, memoryBytes: 200 * 1024 * 1024, memoryPeakBytes: 300 * 1024 * 1024, pids: 4 },
  lastSeq: 118,
};

describe("renderStatus", () => {
  it("shows a running job's phase, times, usage and how to follow it", () => {
    expect(renderStatus(running)).toBe(
      [
        "job build-42: running, phase execute · 73.4 s elapsed · queued 1.25 s",
        "usage: cpu 51230 ms · memory 200 MiB (peak 300 MiB) · 4 processes",
        "latest event seq 118: follow it with worker_subscribe_stream, or wait with worker_collect_output",
      ].join("\n"),
    );
  });

  it("shows an ended job's state and reason and where its result is", () => {
    const ended: JobStatus = {
      ...running,
      state: "failed",
      phase: "destroy",
      ended: true,
      reason: "memory_limit",
      elapsedMs: 2500,
      usage: undefined,
    };
    expect(renderStatus(ended)).toBe(
      [
        "job build-42: failed (memory_limit) · 2.50 s elapsed · queued 1.25 s",
        "it has ended: read its result with worker_collect_output",
      ].join("\n"),
    );
  });
});
