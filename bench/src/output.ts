/**
 * (c) stdout throughput end to end: `head -c N /dev/zero` run by the worker and read by an SDK
 * consumer iterating `job.events()`, against a raw grpc-js server stream of the same bytes in 64 KiB
 * messages. Both consumers count bytes and keep none. Each side streams `outputBytes` in all,
 * split over the rounds, which alternate between the two.
 */
import type { JobResult, WorkerClient } from "@opencode-worker/master-client";
import type { RawStreamBaseline, Received } from "./baselines/raw-grpc-stream.js";
import type { BenchOptions } from "./options.js";
import { cpuPercent, readCpuMs } from "./proc-stat.js";
import { round } from "./report.js";

export interface StreamFigure {
  bytes: number;
  seconds: number;
  /** 10^6 bytes per second. */
  mbPerSecond: number;
  /** Mean bytes per message (output event, or raw message): per-message costs scale with their count. */
  meanMessageBytes: number;
  /** The sending process (raw server, or worker without its `head` child), in % of one core. */
  producerCpuPercent: number;
  /** The bench process, receiving. */
  consumerCpuPercent: number;
}

/** A warm-up stream per side, enough for the JIT and for HTTP/2 windows to grow. */
const WARMUP_BYTES = 32 * 1024 ** 2;

export async function compareOutput(
  client: WorkerClient,
  workerPid: number,
  raw: RawStreamBaseline,
  options: Pick<BenchOptions, "outputBytes" | "rounds">,
): Promise<{ baseline: StreamFigure; worker: StreamFigure }> {
  const viaWorker = (bytes: number): Promise<Received> => streamThroughWorker(client, bytes);
  const viaRaw = (bytes: number): Promise<Received> => raw.stream(bytes);
  const warmupBytes = Math.min(WARMUP_BYTES, options.outputBytes);
  await viaRaw(warmupBytes);
  await viaWorker(warmupBytes);

  const totals = { baseline: emptyTotals(), worker: emptyTotals() };
  const perRound = Math.floor(options.outputBytes / options.rounds);
  for (let r = 0; r < options.rounds; r++) {
    const bytes = r === options.rounds - 1 ? options.outputBytes - perRound * r : perRound;
    await measure(totals.baseline, raw.pid, () => viaRaw(bytes), bytes);
    await measure(totals.worker, workerPid, () => viaWorker(bytes), bytes);
  }
  return { baseline: figure(totals.baseline), worker: figure(totals.worker) };
}

interface Totals {
  bytes: number;
  messages: number;
  ms: number;
  producerCpuMs: number;
  consumerCpuMs: number;
}

const emptyTotals = (): Totals => ({ bytes: 0, messages: 0, ms: 0, producerCpuMs: 0, consumerCpuMs: 0 });

async function measure(totals: Totals, producerPid: number, stream: () => Promise<Received>, expected: number): Promise<void> {
  const producerCpu = await readCpuMs(producerPid);
  const consumerCpu = process.cpuUsage();
  const start = performance.now();
  const received = await stream();
  totals.ms += performance.now() - start;
  const used = process.cpuUsage(consumerCpu);
  totals.consumerCpuMs += (used.user + used.system) / 1000;
  totals.producerCpuMs += (await readCpuMs(producerPid)) - producerCpu;
  if (received.bytes !== expected) throw new Error(`expected ${expected} bytes through the stream, received ${received.bytes}`);
  totals.bytes += received.bytes;
  totals.messages += received.messages;
}

function figure(totals: Totals): StreamFigure {
  return {
    bytes: totals.bytes,
    seconds: round(totals.ms / 1000, 3),
    mbPerSecond: round(totals.bytes / 1e6 / (totals.ms / 1000), 1),
    meanMessageBytes: Math.round(totals.bytes / totals.messages),
    producerCpuPercent: cpuPercent(totals.producerCpuMs, totals.ms),
    consumerCpuPercent: cpuPercent(totals.consumerCpuMs, totals.ms),
  };
}

/** Dispatch to the completed event, counting stdout bytes; fails unless the job finished cleanly. */
export async function streamThroughWorker(client: WorkerClient, bytes: number): Promise<Received> {
  const job = await client.dispatch({ argv: ["head", "-c", String(bytes), "/dev/zero"] });
  const received: Received = { bytes: 0, messages: 0 };
  let result: JobResult | undefined;
  for await (const event of job.events()) {
    if (event.type === "output" && event.stream === "stdout") {
      received.bytes += event.data.length;
      received.messages += 1;
    } else if (event.type === "completed") result = event.result;
  }
  if (result?.state !== "finished" || result.exitCode !== 0) {
    throw new Error(`the output job ended ${result?.state ?? "without a result"}: ${result?.message ?? ""}`);
  }
  return received;
}
