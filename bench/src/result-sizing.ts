/**
 * (i): the cost of the text a model reads for a job with 16 MiB of output, against 1 MiB: (1) a
 * result holding its stdout in memory, cut to excerpts and rendered (what worker_collect_output does
 * with what the worker kept), which should look only at two windows whatever the size; (2) the
 * OutputDigest that worker_stream_job feeds as the output streams in, 64 KiB at a time, then
 * rendered. No worker: only the plugin's own code runs, in this process.
 */
import type { JobResult } from "@opencode-worker/master-client";
// The plugin's package exports only its plugin function (opencode requires that of its entry), so
// its report modules are reached by their built path in the workspace.
import { countNewlines, excerptOf } from "../../packages/opencode-plugin/dist/report/excerpt.js";
import { OutputDigest } from "../../packages/opencode-plugin/dist/report/output-digest.js";
import { renderResult } from "../../packages/opencode-plugin/dist/report/render-result.js";
import { DEFAULT_SETTINGS } from "../../packages/opencode-plugin/dist/settings.js";
import type { BenchOptions } from "./options.js";
import { type LatencyStats, summarize } from "./stats.js";

export const SMALL_OUTPUT_BYTES = 1024 ** 2;
export const LARGE_OUTPUT_BYTES = 16 * 1024 ** 2;
const CHUNK_BYTES = 64 * 1024;
const BUDGET = DEFAULT_SETTINGS.resultBytes;

export interface SizingCost {
  /** excerptOf + renderResult over a result holding the output. */
  inMemory: LatencyStats;
  /** OutputDigest fed the output in 64 KiB chunks, then its excerpt rendered. */
  digest: LatencyStats;
  /** Bytes of the text a model would read (the same for both ways). */
  textBytes: number;
}

export interface ResultSizing {
  small: SizingCost;
  large: SizingCost;
  runs: number;
}

export function measureResultSizing(options: Pick<BenchOptions, "quick">): ResultSizing {
  const runs = options.quick ? 10 : 30;
  const small = outputOf(SMALL_OUTPUT_BYTES);
  const large = outputOf(LARGE_OUTPUT_BYTES);
  const samples = {
    small: { inMemory: [] as number[], digest: [] as number[] },
    large: { inMemory: [] as number[], digest: [] as number[] },
  };
  const textBytes = { small: 0, large: 0 };
  // One warm-up run of each, then the sizes alternate, so a load spike on a shared machine falls on both.
  for (let run = -1; run < runs; run += 1) {
    for (const [size, output] of [
      ["small", small],
      ["large", large],
    ] as const) {
      const inMemory = timed(() => renderInMemory(output));
      const digest = timed(() => renderDigest(output));
      if (inMemory.text !== digest.text) throw new Error(`the ${size} output renders differently held whole and digested`);
      textBytes[size] = Buffer.byteLength(inMemory.text);
      if (run < 0) continue;
      samples[size].inMemory.push(inMemory.ms);
      samples[size].digest.push(digest.ms);
    }
  }
  const cost = (size: "small" | "large"): SizingCost => ({
    inMemory: summarize(samples[size].inMemory),
    digest: summarize(samples[size].digest),
    textBytes: textBytes[size],
  });
  return { small: cost("small"), large: cost("large"), runs };
}

/** `bytes` of `seq`-like output, with its newlines counted up front as the worker counts them. */
function outputOf(bytes: number): { data: Buffer; newlines: number } {
  const lines: string[] = [];
  for (let n = 1, length = 0; length < bytes; n += 1) {
    lines.push(`${n}\n`);
    length += lines.at(-1)!.length;
  }
  const data = Buffer.from(lines.join("")).subarray(0, bytes);
  return { data, newlines: countNewlines(data) };
}

function renderInMemory({ data, newlines }: { data: Buffer; newlines: number }): string {
  const excerpts = { stdout: excerptOf(data, data.length, newlines, BUDGET), stderr: excerptOf(Buffer.alloc(0), 0, 0, BUDGET) };
  return renderResult(resultWith(data, newlines), excerpts, BUDGET);
}

function renderDigest({ data, newlines }: { data: Buffer; newlines: number }): string {
  const stdout = new OutputDigest(BUDGET);
  for (let offset = 0; offset < data.length; offset += CHUNK_BYTES) stdout.push(data.subarray(offset, offset + CHUNK_BYTES));
  const excerpts = { stdout: stdout.excerpt(newlines), stderr: new OutputDigest(BUDGET).excerpt(0) };
  return renderResult(resultWith(data, newlines), excerpts, BUDGET);
}

function timed(body: () => string): { ms: number; text: string } {
  const start = performance.now();
  const text = body();
  return { ms: performance.now() - start, text };
}

/** A finished job's result holding `stdout` whole, as the SDK builds it. */
function resultWith(stdout: Buffer, newlines: number): JobResult {
  return {
    jobId: "01a22e49-113c-7024-bc9c-0df50f82fb35",
    sessionId: "session-bench",
    state: "finished",
    reason: "exited",
    exitCode: 0,
    stdout,
    stderr: Buffer.alloc(0),
    get stdoutText() {
      return stdout.toString("utf8");
    },
    stderrText: "",
    stdoutTruncated: false,
    stderrTruncated: false,
    stdoutTotalBytes: stdout.length,
    stderrTotalBytes: 0,
    stdoutLines: newlines,
    stderrLines: 0,
    stdoutRetainedBytes: stdout.length,
    stderrRetainedBytes: 0,
    artifacts: [],
    skippedArtifacts: [],
    unlistedArtifacts: 0,
    unlistedSkippedArtifacts: 0,
    durationMs: 1000,
    queueMs: 0,
    phaseMs: { initMs: 0, prepareMs: 0, executeMs: 1000, collectMs: 0, destroyMs: 0 },
    cpuTimeMs: 900,
    memoryPeakBytes: 2 * 1024 ** 2,
    processesReaped: 1,
    workerId: "bench",
    timedOut: false,
    isCanceled: false,
    message: "",
    isolation: "sandbox",
    unenforcedLimits: [],
  };
}
