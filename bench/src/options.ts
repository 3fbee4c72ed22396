/**
 * The bench's sizes, from the environment so a quick run needs no code change:
 *   BENCH_QUICK=1            smaller sizes everywhere (about a minute)
 *   BENCH_ONLY=a,c           only these measurements (a latency, b rate, c output, d rss, e sandbox, f seccomp, g collect,
 *                            h plugin overhead, i result sizing, j TLS + token vs plaintext, k workspace sync,
 *                            l model gateway)
 *   BENCH_ROUNDS=2           how many alternating baseline/worker blocks each comparison is split into
 *   BENCH_LATENCY_JOBS=200   sequential trivial jobs measured in (a), (e), (f) and (h), after BENCH_WARMUP_JOBS=20
 *   BENCH_RATE_JOBS=400      jobs per side in (b), BENCH_RATE_CONCURRENCY=8 in flight
 *   BENCH_OUTPUT_BYTES=1GiB  bytes each side streams in (c), split over the rounds
 *   BENCH_RSS_JOBS=100       concurrent `sleep` jobs in (d), each BENCH_RSS_SLEEP_S=2 seconds
 *   BENCH_CPU_PROF=DIR       run the workers under `node --cpu-prof`, profiles written to DIR
 */
import { parseByteSize } from "@opencode-worker/shared";

export const MEASUREMENTS = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"] as const;
export type Measurement = (typeof MEASUREMENTS)[number];

export interface BenchOptions {
  quick: boolean;
  only: Set<Measurement>;
  rounds: number;
  warmupJobs: number;
  latencyJobs: number;
  rateJobs: number;
  rateConcurrency: number;
  outputBytes: number;
  rssJobs: number;
  rssSleepSeconds: number;
  cpuProfileDir: string | undefined;
}

type Env = Record<string, string | undefined>;

export function readBenchOptions(env: Env): BenchOptions {
  const quick = env.BENCH_QUICK === "1" || env.BENCH_QUICK === "true";
  return {
    quick,
    only: readOnly(env.BENCH_ONLY),
    rounds: readCount(env, "BENCH_ROUNDS", 2),
    warmupJobs: readCount(env, "BENCH_WARMUP_JOBS", quick ? 10 : 20),
    latencyJobs: readCount(env, "BENCH_LATENCY_JOBS", quick ? 60 : 200),
    rateJobs: readCount(env, "BENCH_RATE_JOBS", quick ? 120 : 400),
    rateConcurrency: readCount(env, "BENCH_RATE_CONCURRENCY", 8),
    outputBytes: readBytes(env, "BENCH_OUTPUT_BYTES", quick ? 256 * 1024 ** 2 : 1024 ** 3),
    rssJobs: readCount(env, "BENCH_RSS_JOBS", 100),
    rssSleepSeconds: readCount(env, "BENCH_RSS_SLEEP_S", 2),
    cpuProfileDir: env.BENCH_CPU_PROF || undefined,
  };
}

function readOnly(value: string | undefined): Set<Measurement> {
  if (!value) return new Set(MEASUREMENTS);
  const wanted = value.split(",").map((item) => item.trim().toLowerCase());
  for (const item of wanted) {
    if (!(MEASUREMENTS as readonly string[]).includes(item)) {
      throw new Error(`BENCH_ONLY must list some of ${MEASUREMENTS.join(",")}, got ${JSON.stringify(value)}`);
    }
  }
  return new Set(wanted as Measurement[]);
}

function readCount(env: Env, name: string, fallback: number): number {
  const value = env[name];
  if (value === undefined || value === "") return fallback;
  const count = Number(value);
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return count;
}

function readBytes(env: Env, name: string, fallback: number): number {
  const value = env[name];
  if (value === undefined || value === "") return fallback;
  const bytes = parseByteSize(value);
  if (bytes === undefined || bytes < 1) throw new Error(`${name} must be a byte size such as 256MiB, got ${JSON.stringify(value)}`);
  return bytes;
}
