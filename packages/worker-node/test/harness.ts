import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino, type Logger } from "pino";
import { WorkerClient, type WorkerClientOptions } from "@opencode-worker/master-client";
import { startWorker, type RunningWorker, type WorkerConfigOverrides } from "@opencode-worker/worker-node";

export interface TestWorker {
  worker: RunningWorker;
  client: WorkerClient;
  baseDir: string;
  /** Session directories still present (DESTROY removes each one before the result is published). */
  sessionDirs(): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * A real worker on a free port with its own session dir, driven through the real SDK. No process.env
 * reaches it (sources are injected), and it runs with the isolation this machine gives: the bwrap
 * sandbox on a CI machine, which the suite insists on (see isolation.test.ts).
 */
export async function startTestWorker(
  overrides: WorkerConfigOverrides = {},
  options: { logger?: Logger; client?: Omit<WorkerClientOptions, "address"> } = {},
): Promise<TestWorker> {
  const baseDir = await mkdtemp(join(tmpdir(), "ocw-test-"));
  const sessionsDir = join(baseDir, "sessions");
  const worker = await startWorker({
    argv: [],
    env: {},
    cwd: baseDir,
    logger: options.logger ?? pino({ level: "silent" }),
    overrides: {
      ...overrides,
      grpc: { port: 0, ...overrides.grpc },
      // Several test workers run at once: a fixed metrics port would collide.
      metrics: { port: 0, ...overrides.metrics },
      session: { base_dir: sessionsDir, ...overrides.session },
      worker: { shutdown_grace_ms: 1000, ...overrides.worker },
    },
  });
  // options.client: how the test's client connects (TLS, a token) to a worker that asks for more than plaintext.
  const client = await WorkerClient.connect({ ...options.client, address: worker.address });
  return {
    worker,
    client,
    baseDir,
    sessionDirs: async () => (await readdir(sessionsDir)).filter((name) => name.startsWith("session-")),
    async stop() {
      client.close();
      await worker.stop(1000);
      await rm(baseDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns true (for states reached asynchronously, e.g. RUNNING). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
