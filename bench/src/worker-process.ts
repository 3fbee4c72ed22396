import { chmod, mkdtemp, rm } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { WorkerClient, type WorkerClientOptions, type WorkerMetrics } from "@opencode-worker/master-client";
import { ManagedChild } from "./managed-child.js";

// A file path rather than a package import: the worker is run as its deployed binary, and the cli
// package exports no `bin` path to resolve.
const WORKER_BIN = fileURLToPath(new URL("../../packages/cli/dist/bin/opencode-worker.js", import.meta.url));
const HOST = "127.0.0.1";
/** Start-up includes the isolation probe, which runs bwrap a few times. */
const START_TIMEOUT_MS = 30_000;

/** `--section.key=value` flags of `opencode-worker serve`. */
export type WorkerFlags = Record<string, string | number | boolean>;

export interface WorkerProcessOptions {
  /** Run the worker under `node --cpu-prof`, writing `<name>-<time>.cpuprofile` here. */
  cpuProfileDir?: string;
  /** How the bench's client connects (TLS, a token) to a worker that asks for it. */
  client?: Pick<WorkerClientOptions, "tls" | "token">;
}

/**
 * A worker under test, as it is deployed: its own process, a fresh session base dir, warn-level
 * logs (the per-job info lines would add their cost to every figure), stopped with SIGTERM.
 */
export class WorkerProcess {
  private constructor(
    private readonly child: ManagedChild,
    private readonly tempDir: string,
    readonly address: string,
    readonly client: WorkerClient,
    readonly metricsAtStart: WorkerMetrics,
  ) {}

  static async start(name: string, flags: WorkerFlags, options: WorkerProcessOptions = {}): Promise<WorkerProcess> {
    const tempDir = await mkdtemp(join(tmpdir(), "opencode-bench-"));
    // The sandboxed job's uid must be able to traverse to its session dir.
    await chmod(tempDir, 0o711);
    // At warn level the worker does not log its address, so the bench picks the port.
    const port = await freePort();
    const address = `${HOST}:${port}`;
    const profile = options.cpuProfileDir
      ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`]
      : [];
    const allFlags: WorkerFlags = {
      "grpc.host": HOST,
      "grpc.port": port,
      "metrics.port": 0,
      "session.base_dir": join(tempDir, "sessions"),
      "logging.level": "warn",
      ...flags,
    };
    const child = new ManagedChild(`worker "${name}"`, [
      process.execPath,
      ...profile,
      WORKER_BIN,
      "serve",
      ...Object.entries(allFlags).map(([key, value]) => `--${key}=${value}`),
    ]);
    try {
      await waitForPort(port, child);
      const client = await WorkerClient.connect({
        address,
        // Bounds each RPC only; waits re-ask until the job ends.
        requestTimeoutMs: 60_000,
        ...options.client,
      });
      return new WorkerProcess(child, tempDir, address, client, await client.metrics());
    } catch (error) {
      await child.stop();
      await rm(tempDir, { recursive: true, force: true });
      throw error;
    }
  }

  get pid(): number {
    return this.child.pid;
  }

  recentLines(): string[] {
    return this.child.recentLines();
  }

  /** Closes the client, stops the worker with SIGTERM and removes its base dir; resolves with how it ended. */
  async stop(): Promise<string> {
    this.client.close();
    try {
      return await this.child.stop();
    } finally {
      await rm(this.tempDir, { recursive: true, force: true });
    }
  }
}

/** A port free right now; the worker binds it a moment later (a race lost only to another process picking the same port). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, HOST, resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("could not pick a free port");
  return address.port;
}

/** Polls until the worker accepts TCP connections, or fails as soon as it exits. */
async function waitForPort(port: number, child: ManagedChild): Promise<void> {
  let exited: string | undefined;
  void child.exited.then((how) => (exited = how));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await accepts(port))) {
    if (exited !== undefined) throw child.failure(`${exited} during start-up`);
    if (Date.now() > deadline) throw child.failure(`did not listen on port ${port} within ${START_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, HOST);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Starts a worker, runs `body` against it, and always stops it; returns the body's value and how the worker ended. */
export async function withWorker<T>(
  name: string,
  flags: WorkerFlags,
  options: WorkerProcessOptions,
  body: (worker: WorkerProcess) => Promise<T>,
): Promise<{ value: T; workerExit: string }> {
  const worker = await WorkerProcess.start(name, flags, options);
  let value: T;
  try {
    value = await body(worker);
  } catch (error) {
    await worker.stop();
    throw error;
  }
  return { value, workerExit: await worker.stop() };
}
