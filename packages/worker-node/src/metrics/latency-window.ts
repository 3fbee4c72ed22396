import type { LatencySummary } from "@opencode-worker/shared";

/**
 * Percentiles over the most recent samples (a ring buffer): bounded memory however long the worker
 * runs, and figures that follow the current load rather than the whole uptime.
 */
export class LatencyWindow {
  private readonly samples: number[] = [];
  private next = 0;
  private count = 0;

  constructor(private readonly capacity = 2048) {}

  record(ms: number): void {
    this.count += 1;
    if (this.samples.length < this.capacity) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.capacity;
  }

  summary(): LatencySummary {
    const sorted = [...this.samples].sort((a, b) => a - b);
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    return { count: this.count, p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), maxMs: sorted[sorted.length - 1] ?? 0 };
  }
}
