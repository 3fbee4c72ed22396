/**
 * (l) the model gateway of delegated agent tasks (issue 11), against a provider of the bench's own (an SSE
 * model server in its own process, baselines/sse-model-server.ts):
 *   1. per-request overhead: the same client process (model-client.ts) making short streamed chat completions
 *      on one kept-alive connection, inside a network namespace of its own through model-relay and the worker's
 *      gateway (here in the bench's process, as it is in the worker's), against the client on the host calling
 *      the provider's loopback port directly; blocks of each alternate;
 *   2. throughput of long SSE streams (32 MB each, 16 MB quick) the same two ways;
 *   3. a delegated task on a real sandboxed worker whose providers file names that provider: Dispatch -> its
 *      first model request at the provider, and Dispatch -> result (one warm-up run, then the median of 3), at the
 *      worker's default limits for an agent task (governance.default_cpu: one core), as an operator gets them.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { ModelUsage } from "@opencode-worker/shared";
// From the build: the gateway and relay a delegated task uses, not copies of them (the package exports no agent internals).
import { startModelGateway } from "../../packages/worker-node/dist/agent/gateway/model-gateway.js";
import { findRelay, RELAY_PORT } from "../../packages/worker-node/dist/agent/model-relay.js";
import { createLogger } from "../../packages/worker-node/dist/logging/logger.js";
import { ManagedChild } from "./managed-child.js";
import type { BenchOptions } from "./options.js";
import { round } from "./report.js";
import { type LatencyStats, median, summarize } from "./stats.js";
import { type WorkerProcess, type WorkerProcessOptions, withWorker } from "./worker-process.js";

const run = promisify(execFile);

const CLIENT_SCRIPT = fileURLToPath(new URL("./model-client.js", import.meta.url));
const UPSTREAM_SCRIPT = fileURLToPath(new URL("./baselines/sse-model-server.js", import.meta.url));
/** Warm-up requests at the start of each client process (its JIT and its connection). */
const WARMUP_REQUESTS = 50;
/** The provider and model of the delegated task, as the providers file names them. */
const PROVIDER = "bench";
const TASK_MODEL = `${PROVIDER}/fake`;
/** Generous for a task whose model answers at once: a stalled agent fails the section instead of hanging it. */
const TASK_TIMEOUT_MS = 60_000;
/** Each run is an OpenCode start-up of seconds: three keep the section near a minute. */
const STARTUP_RUNS = 3;

export const streamBytes = (quick: boolean): number => (quick ? 16e6 : 32e6);

export interface ModelGatewayFigures {
  requests: { perSide: number; gateway: LatencyStats; direct: LatencyStats; addedP50Ms: number; addedP99Ms: number };
  stream: {
    streamBytes: number;
    streamsPerSide: number;
    gatewayMbPerSecond: number;
    directMbPerSecond: number;
    /** CPU of the bench's process, which holds the gateway, while the gateway's side streamed (% of one core). */
    gatewayCpuPercent: number;
  };
  /** What the gateway counted over rows 1 and 2: every request forwarded, none refused. */
  gatewayUsage: ModelUsage;
  startup: StartupOutcome;
}

export type StartupOutcome =
  | {
      measured: true;
      runs: number;
      firstRequestMs: number[];
      resultMs: number[];
      medianFirstRequestMs: number;
      medianResultMs: number;
      warmUp: { firstRequestMs: number; resultMs: number };
      /** Model requests of one run (the title and the answer), and the medians of the worker's phases. */
      requestsPerRun: number;
      medianPhaseMs: { init: number; prepare: number; execute: number; collect: number };
      opencodeVersion: string;
    }
  | { measured: false; why: string };

export async function measureModelGateway(
  options: Pick<BenchOptions, "quick" | "rounds">,
  workerOptions: WorkerProcessOptions,
): Promise<{ value: ModelGatewayFigures; workerExit: string }> {
  const relay = findRelay();
  const dir = await mkdtemp(join(tmpdir(), "bench-model-"));
  const upstream = await startUpstream();
  try {
    const directUrl = `http://127.0.0.1:${upstream.port}/v1`;
    const socketPath = join(dir, "gateway", "model.sock");
    await mkdir(join(dir, "gateway"));
    let spent: string | undefined;
    const statuses = new Set<number>();
    const gateway = await startModelGateway({
      socketPath,
      upstream: {
        providerId: PROVIDER,
        api: "openai-compatible",
        baseUrl: directUrl,
        apiKey: `sk-bench-${randomBytes(8).toString("hex")}`,
      },
      model: TASK_MODEL,
      budget: { maxRequests: Number.MAX_SAFE_INTEGER, maxTokens: Number.MAX_SAFE_INTEGER },
      onCall: (call) => statuses.add(call.httpStatus),
      onBudgetSpent: (note) => (spent = note),
      log: createLogger({ level: "silent", pretty: false }),
    });
    let wire;
    try {
      // The relay's side: loopback up in a fresh namespace, then the relay with the client as its child.
      const throughGateway = (args: string[]): Promise<unknown> =>
        runClient([
          ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', relay, String(RELAY_PORT), socketPath, "--"],
          [process.execPath, CLIENT_SCRIPT, `http://127.0.0.1:${RELAY_PORT}`, ...args],
        ]);
      const direct = (args: string[]): Promise<unknown> => runClient([[process.execPath, CLIENT_SCRIPT, directUrl, ...args]]);
      wire = await compareWire({ throughGateway, direct }, options);
    } finally {
      await gateway.close();
    }
    // The clients checked every answer; this checks that the gateway, not something else, gave them.
    const gatewayUsage = gateway.usage();
    if (
      spent !== undefined ||
      gatewayUsage.refusedRequests > 0 ||
      gatewayUsage.requests === 0 ||
      [...statuses].some((status) => status !== 200)
    ) {
      throw new Error(
        `the gateway did not forward every request: ${JSON.stringify(gatewayUsage)}, statuses ${[...statuses].join(",")} ${spent ?? ""}`,
      );
    }
    const { value: startup, workerExit } = await withWorker(
      "l-agent",
      { "agent.providers_file": await writeProvidersFile(dir, directUrl) },
      workerOptions,
      (worker) => measureStartup(worker, upstream.child),
    );
    return { value: { ...wire, gatewayUsage, startup }, workerExit };
  } finally {
    await upstream.child.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs the client (after a prefix such as the relay's) and parses the JSON line it prints. */
async function runClient(argv: string[][]): Promise<unknown> {
  const [file, ...args] = argv.flat();
  const { stdout } = await run(file!, args, { maxBuffer: 16 * 1024 ** 2 });
  return JSON.parse(stdout);
}

interface Sides {
  throughGateway(args: string[]): Promise<unknown>;
  direct(args: string[]): Promise<unknown>;
}

/** Rows 1 and 2: blocks of each side alternate, the direct one first, so load from elsewhere falls on both. */
async function compareWire(
  sides: Sides,
  options: Pick<BenchOptions, "quick" | "rounds">,
): Promise<Pick<ModelGatewayFigures, "requests" | "stream">> {
  const perSide = options.quick ? 400 : 1000;
  const block = Math.ceil(perSide / options.rounds);
  const bytes = streamBytes(options.quick);
  const streamsPerBlock = 2;
  const samples = { direct: [] as number[], throughGateway: [] as number[] };
  const streamed = { direct: { bytes: 0, ms: 0 }, throughGateway: { bytes: 0, ms: 0 } };
  let gatewayCpuMs = 0;
  let gatewayWallMs = 0;
  for (let round = 0; round < options.rounds; round += 1) {
    for (const side of ["direct", "throughGateway"] as const) {
      const latency = (await sides[side](["latency", String(WARMUP_REQUESTS), String(block)])) as { samplesMs: number[] };
      samples[side].push(...latency.samplesMs);
      const cpuBefore = process.cpuUsage();
      const wallBefore = performance.now();
      const stream = (await sides[side](["stream", String(bytes), String(streamsPerBlock)])) as {
        streams: { bytes: number; ms: number }[];
      };
      if (side === "throughGateway") {
        const cpu = process.cpuUsage(cpuBefore);
        gatewayCpuMs += (cpu.user + cpu.system) / 1000;
        gatewayWallMs += performance.now() - wallBefore;
      }
      for (const one of stream.streams) {
        if (one.bytes < bytes) throw new Error(`a ${bytes}-byte stream ${side} delivered ${one.bytes} bytes`);
        streamed[side].bytes += one.bytes;
        streamed[side].ms += one.ms;
      }
    }
  }
  const gateway = summarize(samples.throughGateway);
  const direct = summarize(samples.direct);
  const mbPerSecond = ({ bytes, ms }: { bytes: number; ms: number }): number => round(bytes / 1e6 / (ms / 1000), 1);
  return {
    requests: {
      perSide: samples.direct.length,
      gateway,
      direct,
      addedP50Ms: round(gateway.p50Ms - direct.p50Ms, 3),
      addedP99Ms: round(gateway.p99Ms - direct.p99Ms, 3),
    },
    stream: {
      streamBytes: bytes,
      streamsPerSide: options.rounds * streamsPerBlock,
      gatewayMbPerSecond: mbPerSecond(streamed.throughGateway),
      directMbPerSecond: mbPerSecond(streamed.direct),
      gatewayCpuPercent: round((100 * gatewayCpuMs) / gatewayWallMs, 0),
    },
  };
}

async function startUpstream(): Promise<{ child: ManagedChild; port: number }> {
  const child = new ManagedChild("SSE model server", [process.execPath, UPSTREAM_SCRIPT]);
  try {
    const port = await child.waitForLine(
      (line) => (line.startsWith("{") ? (JSON.parse(line) as { port?: number }).port : undefined),
      10_000,
    );
    return { child, port };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

/** The worker's providers file: the bench's provider, its key in a 0600 file outside everything the sandbox binds. */
async function writeProvidersFile(dir: string, baseUrl: string): Promise<string> {
  const keyFile = join(dir, "bench.key");
  await writeFile(keyFile, `sk-bench-${randomBytes(16).toString("hex")}\n`, { mode: 0o600 });
  const providersFile = join(dir, "providers.json");
  const providers = {
    [PROVIDER]: { api: "openai-compatible", base_url: baseUrl, api_key_file: keyFile, models: { fake: { context: 100000, output: 4096 } } },
  };
  await writeFile(providersFile, JSON.stringify({ providers }));
  return providersFile;
}

/** Row 3. A worker without a sandbox or without OpenCode is reported, not failed: the machine decides that. */
async function measureStartup(worker: WorkerProcess, upstream: ManagedChild): Promise<StartupOutcome> {
  const { isolationMode, isolationDetails, opencodeVersion } = worker.metricsAtStart;
  if (isolationMode !== "sandbox") {
    return {
      measured: false,
      why: `the worker runs jobs with isolation "${isolationMode}", not a sandbox: ${isolationDetails.join("; ")}`,
    };
  }
  if (opencodeVersion === "")
    return { measured: false, why: "the worker found no OpenCode under agent.opencode_dir: run scripts/setup.sh" };
  const warmUp = await delegateOnce(worker, upstream);
  const timed: Timed[] = [];
  for (let i = 0; i < STARTUP_RUNS; i += 1) timed.push(await delegateOnce(worker, upstream));
  const phase = (name: keyof Timed["phaseMs"]): number => round(median(timed.map((one) => one.phaseMs[name])), 1);
  return {
    measured: true,
    runs: STARTUP_RUNS,
    firstRequestMs: timed.map((one) => one.firstRequestMs),
    resultMs: timed.map((one) => one.resultMs),
    medianFirstRequestMs: round(median(timed.map((one) => one.firstRequestMs)), 1),
    medianResultMs: round(median(timed.map((one) => one.resultMs)), 1),
    warmUp: { firstRequestMs: warmUp.firstRequestMs, resultMs: warmUp.resultMs },
    requestsPerRun: median(timed.map((one) => one.requests)),
    medianPhaseMs: { init: phase("init"), prepare: phase("prepare"), execute: phase("execute"), collect: phase("collect") },
    opencodeVersion,
  };
}

interface Timed {
  firstRequestMs: number;
  resultMs: number;
  requests: number;
  phaseMs: { init: number; prepare: number; execute: number; collect: number };
}

/** One delegated task, timed from the Dispatch call to the provider's first request line and to the result. */
async function delegateOnce(worker: WorkerProcess, upstream: ManagedChild): Promise<Timed> {
  // Listening before the Dispatch: the line is stamped as it arrives.
  const firstRequest = upstream.waitForLine((line) => (line.startsWith('{"request"') ? performance.now() : undefined), TASK_TIMEOUT_MS);
  const start = performance.now();
  const job = await worker.client.dispatch({ agentTask: { prompt: "Answer with the word done.", model: TASK_MODEL } });
  const ended = job.wait();
  const requestedAt = await Promise.race([firstRequest, ended.then(() => undefined)]);
  const result = await ended;
  const resultMs = performance.now() - start;
  if (requestedAt === undefined)
    throw new Error(`the agent task ended (${result.state}: ${result.message}) before its first model request`);
  if (result.state !== "finished" || result.agent?.finalText !== "done") {
    throw new Error(`the agent task ended ${result.state} (${result.message}) with the text ${JSON.stringify(result.agent?.finalText)}`);
  }
  const { initMs, prepareMs, executeMs, collectMs } = result.phaseMs;
  return {
    firstRequestMs: round(requestedAt - start, 1),
    resultMs: round(resultMs, 1),
    requests: result.agent.usage.requests,
    phaseMs: { init: initMs, prepare: prepareMs, execute: executeMs, collect: collectMs },
  };
}
