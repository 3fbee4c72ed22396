/**
 * (k) the content-addressed workspace behind the plugin's remote `bash`:
 *   1. the plugin's bash running `true` over a 2,000-file / 20 MB project, first call (everything
 *      uploaded) and repeat calls (a stat walk and a manifest), against a trivial sandboxed job with
 *      no files, with what the repeat calls uploaded (from the worker's metrics) and the manifest's size;
 *   2. a command writing 500 files / 5 MB: from its last output (its exit) to the changes applied locally;
 *   3. blob upload throughput (UploadBlobs, 64 MiB blobs) against the raw grpc-js stream baseline of (c).
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { WorkerClient } from "@opencode-worker/master-client";
import { OpencodeWorkerPlugin } from "@opencode-worker/opencode-plugin";
import { Workspace } from "@opencode-worker/shared";
import type { RawStreamBaseline } from "./baselines/raw-grpc-stream.js";
import { TRIVIAL_JOB } from "./latency.js";
import type { BenchOptions } from "./options.js";
import { round } from "./report.js";
import { type LatencyStats, median, summarize } from "./stats.js";
import { timeEach } from "./timing.js";

export const PROJECT_FILES = 2000;
export const PROJECT_BYTES = 20e6;
export const CHANGED_FILES = 500;
export const CHANGED_BYTES = 5e6;
export const UPLOAD_BLOB_BYTES = 64 * 1024 ** 2;
/** The plugin's default, so the manifest measured is the one it sends. */
const REMOTE_ONLY = ["node_modules/**"];

export interface WorkspaceSyncFigures {
  project: { files: number; bytes: number; manifestBytes: number };
  /** The plugin's bash `true`: the first call uploads the project. */
  firstCallMs: number;
  firstCallUploadedBytes: number;
  repeat: LatencyStats;
  trivial: LatencyStats;
  /** Blobs and bytes the worker stored during all the repeat calls. */
  repeatUploadedBlobs: number;
  repeatUploadedBytes: number;
  changesBack: { runs: number; exitToAppliedMs: LatencyStats; medianCollectMs: number; medianRunMs: number };
  upload: { blobs: number; bytes: number; mbPerSecond: number; baselineMbPerSecond: number };
}

export async function measureWorkspaceSync(
  client: WorkerClient,
  address: string,
  raw: RawStreamBaseline,
  options: Pick<BenchOptions, "quick" | "warmupJobs" | "rounds">,
): Promise<WorkspaceSyncFigures> {
  const dir = await mkdtemp(join(tmpdir(), "bench-workspace-"));
  try {
    const project = await makeProject(join(dir, "project"));
    const bash = await compareRepeatCalls(client, address, project.root, options);
    const changesBack = await measureChangesBack(client, join(dir, "changes"), options.quick ? 3 : 5);
    const upload = await compareUpload(client, raw, join(dir, "blob"), options.rounds + 1);
    return { project: { files: PROJECT_FILES, bytes: project.bytes, manifestBytes: project.manifestBytes }, ...bash, changesBack, upload };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Random files of varied sizes (most small, a few large, as in a source tree) in 40 directories. */
async function makeProject(root: string): Promise<{ root: string; bytes: number; manifestBytes: number }> {
  const weights = Array.from({ length: PROJECT_FILES }, () => Math.random() ** 3 + 0.001);
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const entries = [];
  let bytes = 0;
  for (const [index, weight] of weights.entries()) {
    const path = `dir-${index % 40}/file-${index}.dat`;
    const content = randomBytes(Math.round((weight / total) * PROJECT_BYTES));
    await mkdir(join(root, `dir-${index % 40}`), { recursive: true });
    await writeFile(join(root, path), content);
    bytes += content.length;
    const sha256 = createHash("sha256").update(content).digest("hex");
    entries.push({ path, digest: { sha256, sizeBytes: String(content.length) }, mode: 0o644, symlinkTarget: "" });
  }
  // What the repeat call sends in place of the contents: the manifest, as the Dispatch carries it.
  const manifestBytes = Workspace.encode({ entries, remoteOnly: REMOTE_ONLY }).finish().length;
  return { root, bytes, manifestBytes };
}

async function compareRepeatCalls(
  client: WorkerClient,
  address: string,
  root: string,
  options: Pick<BenchOptions, "quick" | "warmupJobs" | "rounds">,
): Promise<
  Pick<
    WorkspaceSyncFigures,
    "firstCallMs" | "firstCallUploadedBytes" | "repeat" | "trivial" | "repeatUploadedBlobs" | "repeatUploadedBytes"
  >
> {
  const hooks = await OpencodeWorkerPlugin({} as never, { address, remoteBash: true, remoteOnly: REMOTE_ONLY });
  const tool = hooks.tool?.bash;
  if (!tool) throw new Error("the plugin has no bash tool with remoteBash: true");
  const context: Parameters<typeof tool.execute>[1] = {
    sessionID: "ses_bench",
    messageID: "msg_bench",
    agent: "build",
    directory: root,
    worktree: root,
    abort: new AbortController().signal,
    metadata: () => {},
    ask: async () => {},
  };
  // Each side checks its job finished, so a refusal cannot pass for a fast answer.
  const bash = async (): Promise<void> => {
    const text = await tool.execute({ command: "true" }, context);
    if (text !== "(no output)") throw new Error(`bash \`true\` answered ${JSON.stringify(text)}`);
  };
  const trivial = async (): Promise<void> => {
    const result = await client.run(TRIVIAL_JOB);
    if (result.state !== "finished") throw new Error(`the trivial job: ${result.state}: ${result.message}`);
  };

  try {
    const beforeFirst = await client.metrics();
    const [firstCallMs] = await timeEach(1, bash);
    const afterFirst = await client.metrics();
    await timeEach(options.warmupJobs, trivial);
    const repeats = options.quick ? 20 : 60;
    const repeatSamples: number[] = [];
    const trivialSamples: number[] = [];
    const block = Math.ceil(repeats / options.rounds);
    for (let done = 0; done < repeats; done += block) {
      const size = Math.min(block, repeats - done);
      trivialSamples.push(...(await timeEach(size, trivial)));
      repeatSamples.push(...(await timeEach(size, bash)));
    }
    const afterRepeats = await client.metrics();
    return {
      firstCallMs: round(firstCallMs!, 1),
      firstCallUploadedBytes: afterFirst.blobBytesUploadedTotal - beforeFirst.blobBytesUploadedTotal,
      repeat: summarize(repeatSamples),
      trivial: summarize(trivialSamples),
      repeatUploadedBlobs: afterRepeats.blobsUploadedTotal - afterFirst.blobsUploadedTotal,
      repeatUploadedBytes: afterRepeats.blobBytesUploadedTotal - afterFirst.blobBytesUploadedTotal,
    };
  } finally {
    await hooks.dispose?.();
  }
}

/**
 * A command writes the files, then prints a marker as its last act: the marker's arrival stands for
 * its exit, and the run's end is when every change is in the local directory. The local copies are
 * removed between runs so each run brings all of them back.
 */
async function measureChangesBack(client: WorkerClient, root: string, runs: number): Promise<WorkspaceSyncFigures["changesBack"]> {
  await mkdir(root, { recursive: true });
  await writeFile(join(root, "README"), "changes come back here\n");
  const workspace = client.workspace(root);
  const size = CHANGED_BYTES / CHANGED_FILES;
  const command = `mkdir out && for i in $(seq 1 ${CHANGED_FILES}); do head -c ${size} /dev/urandom > out/f$i; done; echo written`;
  const exitToApplied: number[] = [];
  const collectMs: number[] = [];
  const runMs: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    await rm(join(root, "out"), { recursive: true, force: true });
    let exitedAt: number | undefined;
    const start = performance.now();
    const done = await workspace.run(
      { command },
      { onOutput: (_stream, data) => data.includes("written") && (exitedAt = performance.now()) },
    );
    const end = performance.now();
    if (done.result.state !== "finished" || done.result.exitCode !== 0)
      throw new Error(`the writing job: ${done.result.state}: ${done.result.message}`);
    if (done.applied.added.length !== CHANGED_FILES)
      throw new Error(`expected ${CHANGED_FILES} files added locally, got ${done.applied.added.length}`);
    if (exitedAt === undefined) throw new Error("the writing job's marker never arrived");
    exitToApplied.push(end - exitedAt);
    collectMs.push(done.result.phaseMs.collectMs);
    runMs.push(end - start);
  }
  return {
    runs,
    exitToAppliedMs: summarize(exitToApplied),
    medianCollectMs: round(median(collectMs), 1),
    medianRunMs: round(median(runMs), 1),
  };
}

/** Alternating: the raw stream of the same bytes, then an upload of a fresh random blob (so the store never has it). */
async function compareUpload(
  client: WorkerClient,
  raw: RawStreamBaseline,
  path: string,
  rounds: number,
): Promise<WorkspaceSyncFigures["upload"]> {
  let uploadMs = 0;
  let rawMs = 0;
  for (let r = 0; r < rounds; r += 1) {
    const content = randomBytes(UPLOAD_BLOB_BYTES);
    await writeFile(path, content);
    const blob = { sha256: createHash("sha256").update(content).digest("hex"), size: content.length, path };
    let start = performance.now();
    const received = await raw.stream(UPLOAD_BLOB_BYTES);
    rawMs += performance.now() - start;
    if (received.bytes !== UPLOAD_BLOB_BYTES) throw new Error(`the raw stream delivered ${received.bytes} bytes`);
    start = performance.now();
    const uploaded = await client.uploadBlobs([blob], { requestTimeoutMs: 120_000 });
    uploadMs += performance.now() - start;
    if (uploaded.stored !== 1) throw new Error(`UploadBlobs stored ${uploaded.stored} blobs of 1 new one`);
  }
  const bytes = rounds * UPLOAD_BLOB_BYTES;
  return {
    blobs: rounds,
    bytes,
    mbPerSecond: round(bytes / 1e6 / (uploadMs / 1000), 1),
    baselineMbPerSecond: round(bytes / 1e6 / (rawMs / 1000), 1),
  };
}
