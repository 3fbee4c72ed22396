import { describe, expect, it } from "@jest/globals";
import type { WorkerMetrics } from "@opencode-worker/master-client";
import { renderMetrics } from "./render-metrics.js";

const metrics: WorkerMetrics = {
  workerId: "worker-a1",
  version: "0.1.0",
  uptimeMs: 3_600_000,
  concurrency: 4,
  maxQueued: 64,
  active: 3,
  queued: 2,
  jobsTotal: 120,
  outcomes: [
    { state: "finished", reason: "exited", count: 100 },
    { state: "timed_out", reason: "timeout", count: 3 },
  ],
  jobLatency: { count: 103, p50Ms: 850, p90Ms: 4200, p99Ms: 30_000, maxMs: 61_000 },
  queueLatency: { count: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 },
  rssBytes: 150 * 1024 * 1024,
  heapUsedBytes: 40 * 1024 * 1024,
  isolationMode: "sandbox",
  isolationDetails: ["bubblewrap 0.8.0", "cgroup v1 memory, pids"],
  draining: false,
  retainedResults: 17,
  retainedResultBytes: 5 * 1024 * 1024,
  blobStoreBlobs: 0,
  blobStoreBytes: 0,
  blobsUploadedTotal: 0,
  blobBytesUploadedTotal: 0,
  opencodeVersion: "",
  modelRequestsTotal: 0,
  modelRequestsRefusedTotal: 0,
  modelTokensTotal: 0,
};

describe("renderMetrics", () => {
  it("shows capacity, load, isolation, outcomes, latency and memory", () => {
    expect(renderMetrics(metrics, "10.0.0.5:50051")).toBe(
      [
        "worker worker-a1 at 10.0.0.5:50051, version 0.1.0, up 3600.0 s",
        "capacity: 3 of 4 slots busy (1 free), 2 of 64 queued",
        "isolation: sandbox (bubblewrap 0.8.0; cgroup v1 memory, pids)",
        "jobs: 120 in all; finished/exited 100, timed_out/timeout 3",
        "latency: job p50 850 ms, p90 4200 ms, p99 30000 ms, max 61000 ms (103); queue no samples",
        "memory: rss 150 MiB, 17 results kept (5 MiB)",
        "delegated tasks: not run here (no OpenCode, or agent.enabled off)",
      ].join("\n"),
    );
  });

  it("says which OpenCode runs delegated tasks and what their models used", () => {
    const agents = { opencodeVersion: "1.18.33", modelRequestsTotal: 12, modelRequestsRefusedTotal: 1, modelTokensTotal: 4800 };
    expect(
      renderMetrics({ ...metrics, ...agents }, "10.0.0.5:50051")
        .split("\n")
        .at(-1),
    ).toBe("delegated tasks: opencode 1.18.33; 12 model requests (1 more refused), 4800 tokens");
  });

  it("says when a worker drains and has ended no jobs yet", () => {
    const text = renderMetrics({ ...metrics, draining: true, outcomes: [], isolationDetails: [], uptimeMs: 5000 }, "10.0.0.5:50051");
    expect(text.split("\n")[0]).toBe("worker worker-a1 at 10.0.0.5:50051, version 0.1.0, up 5.00 s, DRAINING (accepts no new jobs)");
    expect(text).toContain("\nisolation: sandbox\n");
    expect(text).toContain("jobs: 120 in all; none ended yet");
  });
});
