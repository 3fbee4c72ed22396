/**
 * The soak: a worker in its own process (the default driver, so sandboxed on a host that can), a
 * token per caller, and many mixed jobs from those callers at once. Every job must end as its kind
 * expects with its own output, every other caller must be told NOT_FOUND about it, and after a
 * settle period the worker must hold no more of the host than before. `pnpm soak` and the CI test
 * (packages/worker-node/test/soak.test.ts) both run this, at different sizes.
 */
import { createHash, randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NotFoundError, WorkerClient } from "@opencode-worker/master-client";
import { median } from "../stats.js";
import { WorkerProcess } from "../worker-process.js";
import { JOB_KINDS, type JobKind, runJob, type SoakCaller } from "./job-mix.js";
import { countResources, type CountedWorker, type ResourceCounts } from "./resource-counts.js";

export interface SoakOptions {
  /** Jobs in all, dealt round-robin over the kinds and the callers. */
  jobs: number;
  /** Jobs in flight at once, over all callers; also the worker's worker.concurrency. */
  concurrency: number;
  callers: number;
  /** Stop dispatching after this long, even if jobs remain. @default no limit */
  durationMs?: number;
  /** Progress lines (the CLI prints them; the test does not). */
  onProgress?: (line: string) => void;
}

export interface SoakReport {
  jobs: number;
  /** Jobs before the "before" counts, one per slot at least, every kind: also checked, not in `jobs`. */
  warmupJobs: number;
  /** Jobs that ended as expected, warm-up included. */
  byKind: Record<JobKind, number>;
  /** Each kind's median time from dispatch to its checked end, in ms (warm-up included). */
  medianMsByKind: Record<JobKind, number>;
  /** Status calls by another caller about a job, every one answered NOT_FOUND. */
  crossCallerChecks: number;
  wallSeconds: number;
  jobsPerSecond: number;
  /** After one job of each kind and a settle period. */
  before: ResourceCounts;
  /** After every job and a settle period. */
  after: ResourceCounts;
  isolationMode: string;
  /** What went wrong: jobs that did not end as expected, results served to another caller. Empty on success. */
  failures: string[];
}

/** Results are dropped this soon after a job ends, so "after" holds none: retention is not a leak. */
const RESULT_TTL_MS = 3000;
/** Slot uids are counted over this many from the base; more than the worker ever uses. */
const UID_COUNT = 1024;
const SETTLE_TIMEOUT_MS = 30_000;

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const dir = await mkdtemp(join(tmpdir(), "opencode-soak-"));
  // The sandboxed job's uid must be able to traverse to its session dir.
  await chmod(dir, 0o711);
  const tokens = Array.from({ length: options.callers }, (_, i) => ({
    identity: `caller-${i}`,
    token: randomBytes(24).toString("base64url"),
  }));
  const tokenFile = join(dir, "tokens");
  await writeFile(tokenFile, tokens.map(({ identity, token }) => `${identity} sha256:${sha256(token)}\n`).join(""));
  // A range of its own, away from the test suite's (300,000 + 64k): slot processes counted are this worker's only.
  const uidBase = 1_000_000 + UID_COUNT * Math.floor(Math.random() * 10_000);
  const baseDir = join(dir, "sessions");
  const worker = await WorkerProcess.start(
    "soak",
    {
      "session.base_dir": baseDir,
      "session.result_ttl_ms": RESULT_TTL_MS,
      "session.max_concurrent_sessions": 4 * options.concurrency,
      "worker.concurrency": options.concurrency,
      "security.sandbox_uid_base": uidBase,
      "governance.command_policy": "off",
      "auth.token_file": tokenFile,
    },
    { client: { token: tokens[0]!.token } },
  );
  const callers: SoakCaller[] = [];
  try {
    for (const { identity, token } of tokens) {
      const connect = (): Promise<WorkerClient> => WorkerClient.connect({ address: worker.address, token, requestTimeoutMs: 60_000 });
      callers.push({ identity, client: await connect(), connect });
    }
    const counted: CountedWorker = { pid: worker.pid, baseDir, uidBase, uidCount: UID_COUNT };
    return await soak(callers, counted, worker.metricsAtStart.isolationMode, options);
  } finally {
    for (const caller of callers) caller.client.close();
    await worker.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function soak(callers: SoakCaller[], worker: CountedWorker, isolationMode: string, options: SoakOptions): Promise<SoakReport> {
  const failures: string[] = [];
  const byKind = Object.fromEntries(JOB_KINDS.map((kind) => [kind, 0])) as Record<JobKind, number>;
  const msByKind = Object.fromEntries(JOB_KINDS.map((kind) => [kind, [] as number[]])) as Record<JobKind, number[]>;
  const run = `${Date.now().toString(36)}`;
  let crossCallerChecks = 0;

  /** One job, then the same id asked about by the next caller round, who must not see it. */
  const oneJob = async (index: number): Promise<void> => {
    const kind = JOB_KINDS[index % JOB_KINDS.length]!;
    const caller = callers[Math.floor(index / JOB_KINDS.length) % callers.length]!;
    const marker = `soak-${run}-${caller.identity}-${index}`;
    try {
      const start = performance.now();
      await runJob(kind, caller, marker);
      msByKind[kind].push(Math.round(performance.now() - start));
      byKind[kind] += 1;
    } catch (error) {
      failures.push(`${kind} ${marker}: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    const other = callers[(callers.indexOf(caller) + 1) % callers.length]!;
    if (other === caller) return;
    crossCallerChecks += 1;
    const seen = await other.client.job(marker).then(
      () => "found",
      (error: unknown) => (error instanceof NotFoundError ? undefined : String(error)),
    );
    if (seen !== undefined) failures.push(`${other.identity} asked about ${caller.identity}'s ${marker} and got ${seen}, not NOT_FOUND`);
  };

  // A job of each kind in every slot first, all at once: pools, JIT, caches and the slots' system views
  // (mounted on a slot's first use, kept after) are then in place, so "before" is the worker at work, not fresh.
  const warmup = Math.max(options.concurrency, JOB_KINDS.length);
  await Promise.all(Array.from({ length: warmup }, (_, i) => oneJob(i)));
  await settle(callers);
  const before = await countResources(worker);
  options.onProgress?.(`before: ${JSON.stringify(before)}`);

  const start = performance.now();
  const deadline = options.durationMs === undefined ? Infinity : Date.now() + options.durationMs;
  let next = warmup;
  const last = warmup + options.jobs;
  const lane = async (): Promise<void> => {
    while (next < last && Date.now() < deadline) {
      const index = next++;
      await oneJob(index);
      const done = index - warmup + 1;
      if (done % 500 === 0)
        options.onProgress?.(`${done} jobs, ${failures.length} failures, ${JSON.stringify(await countResources(worker))}`);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  const wallSeconds = (performance.now() - start) / 1000;
  const jobs = next - warmup;

  await settle(callers);
  const after = await countResources(worker);
  return {
    jobs,
    warmupJobs: warmup,
    byKind,
    medianMsByKind: Object.fromEntries(
      JOB_KINDS.map((kind) => [kind, msByKind[kind].length === 0 ? NaN : median(msByKind[kind])]),
    ) as Record<JobKind, number>,
    crossCallerChecks,
    wallSeconds: Math.round(wallSeconds * 10) / 10,
    jobsPerSecond: Math.round((jobs / wallSeconds) * 10) / 10,
    before,
    after,
    isolationMode,
    failures,
  };
}

/** Until no caller has a job left, not even a retained result; then a moment for the destroy work behind them. */
async function settle(callers: SoakCaller[]): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (const { client } of callers) {
    while ((await client.listSessions()).length > 0) {
      if (Date.now() > deadline) throw new Error(`the worker still lists jobs ${SETTLE_TIMEOUT_MS} ms after the last one ended`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** How much more the worker may hold after the soak than before it: descriptors may sit in pools, memory in the heap. */
export const GROWTH_BOUNDS: Record<keyof ResourceCounts, number> = {
  fds: 10,
  sessionDirs: 0,
  sessionMounts: 0,
  systemViewMounts: 0,
  cgroups: 0,
  slotProcesses: 0,
  rssBytes: 100 * 1024 ** 2,
};

/** Every count that grew beyond its bound, said in a line each; empty when none did. */
export function growthBeyondBounds({ before, after }: Pick<SoakReport, "before" | "after">): string[] {
  return (Object.keys(GROWTH_BOUNDS) as (keyof ResourceCounts)[])
    .filter((key) => after[key] > before[key] + GROWTH_BOUNDS[key])
    .map((key) => `${key}: ${before[key]} before, ${after[key]} after (at most +${GROWTH_BOUNDS[key]})`);
}
