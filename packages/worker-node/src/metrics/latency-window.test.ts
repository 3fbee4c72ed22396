import { describe, expect, it } from "@jest/globals";
import { LatencyWindow } from "./latency-window.js";

describe("LatencyWindow", () => {
  it("reports percentiles of the samples", () => {
    const window = new LatencyWindow();
    for (let ms = 1; ms <= 100; ms += 1) window.record(ms);
    expect(window.summary()).toEqual({ count: 100, p50Ms: 51, p90Ms: 91, p99Ms: 100, maxMs: 100 });
  });

  it("keeps only the most recent samples but counts them all", () => {
    const window = new LatencyWindow(10);
    for (let ms = 1; ms <= 1000; ms += 1) window.record(ms);
    const summary = window.summary();
    expect(summary.count).toBe(1000);
    expect(summary.p50Ms).toBeGreaterThan(990);
  });

  it("is all zeros before any sample", () => {
    expect(new LatencyWindow().summary()).toEqual({ count: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 });
  });
});
