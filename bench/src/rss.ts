/**
 * (d) the worker's resident memory: idle (fresh, after a few trivial jobs) and while many `sleep`
 * jobs run at once. Figures come from GetMetrics, as an operator would see them, with /proc's
 * VmHWM as a cross-check of the peak between samples.
 */
import type { JobHandle, WorkerClient } from "@opencode-worker/master-client";
import { TRIVIAL_JOB } from "./latency.js";
import type { BenchOptions } from "./options.js";
import { readPeakRssBytes } from "./proc-stat.js";

const IDLE_JOBS = 5;
const SAMPLE_EVERY_MS = 100;

export interface RssFigures {
  /** Before any job: what loading the worker costs. */
  startRssBytes: number;
  idleRssBytes: number;
  loadedJobs: number;
  loadedPeakRssBytes: number;
  /** GetMetrics samples taken while the jobs ran. */
  loadedSamples: number;
  /** The most jobs GetMetrics saw running at once: proves they really overlapped. */
  maxActiveSeen: number;
  /** The slowest GetMetrics round trip under load: how long the worker's event loop was busy. */
  maxMetricsRoundTripMs: number;
  /** VmHWM at the end: the peak since start, sampled or not. */
  procPeakRssBytes: number;
  /** Dispatch of the first job to the result of the last. */
  loadedWallMs: number;
}

export async function measureRss(
  client: WorkerClient,
  workerPid: number,
  options: Pick<BenchOptions, "rssJobs" | "rssSleepSeconds">,
): Promise<RssFigures> {
  const startRssBytes = (await client.metrics()).rssBytes;
  for (let i = 0; i < IDLE_JOBS; i++) await client.run(TRIVIAL_JOB);
  const idleRssBytes = (await client.metrics()).rssBytes;

  const start = performance.now();
  const spec = { argv: ["sleep", String(options.rssSleepSeconds)] };
  const handles: JobHandle[] = await Promise.all(Array.from({ length: options.rssJobs }, () => client.dispatch(spec)));
  let running = true;
  // allSettled: a failed wait must not reject while nothing awaits it yet.
  const results = Promise.allSettled(handles.map((handle) => handle.wait())).finally(() => (running = false));

  let loadedPeakRssBytes = 0;
  let loadedSamples = 0;
  let maxActiveSeen = 0;
  let maxMetricsRoundTripMs = 0;
  while (running) {
    const asked = performance.now();
    const metrics = await client.metrics();
    maxMetricsRoundTripMs = Math.max(maxMetricsRoundTripMs, performance.now() - asked);
    loadedPeakRssBytes = Math.max(loadedPeakRssBytes, metrics.rssBytes);
    maxActiveSeen = Math.max(maxActiveSeen, metrics.active);
    loadedSamples += 1;
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
  }
  for (const settled of await results) {
    if (settled.status === "rejected") throw settled.reason;
    if (settled.value.state !== "finished") throw new Error(`a sleep job ended ${settled.value.state}: ${settled.value.message}`);
  }
  return {
    startRssBytes,
    idleRssBytes,
    loadedJobs: options.rssJobs,
    loadedPeakRssBytes,
    loadedSamples,
    maxActiveSeen,
    maxMetricsRoundTripMs: Math.round(maxMetricsRoundTripMs),
    procPeakRssBytes: await readPeakRssBytes(workerPid),
    loadedWallMs: Math.round(performance.now() - start),
  };
}
