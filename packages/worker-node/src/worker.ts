import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { loadConfig, type LoadConfigOptions } from "./config/index.js";
import type { WorkerConfig } from "./config/worker-config.js";
import { removeTree } from "./files/remove-tree.js";
import { createLogger, type Logger } from "./logging/logger.js";
import type { IsolationReport, SandboxDriver } from "./sandbox/driver.js";
import { selectDriver, type SandboxSettings } from "./sandbox/select-driver.js";
import { prepareCommandPolicy } from "./security/command-policy.js";
import { bind, createServer, shutdown } from "./server/create-server.js";
import { WorkerHealth } from "./server/health.js";
import { addReflection } from "./server/reflection.js";
import { WorkerService } from "./server/worker-service.js";
import { SessionManager } from "./session/session-manager.js";
import { WORKER_VERSION } from "./version.js";

export interface StartWorkerOptions extends LoadConfigOptions {
  /** A logger to use instead of one made from `logging.*` (tests pass a silent one). */
  logger?: Logger;
  /** Warnings of the caller's own start-up to log with the worker's (the bin's closed descriptors). */
  notes?: string[];
}

export interface RunningWorker {
  /** host:port the server listens on. */
  readonly address: string;
  readonly port: number;
  readonly config: WorkerConfig;
  readonly isolation: IsolationReport;
  readonly manager: SessionManager;
  /**
   * Graceful stop: health NOT_SERVING, no new jobs, running ones get `graceMs`
   * (default worker.shutdown_grace_ms) and are then cancelled, then the server closes.
   */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts a worker: configuration, the isolation probe, a sweep of what a killed predecessor left,
 * then the gRPC server with WorkerService, health and reflection.
 */
export async function startWorker(options: StartWorkerOptions = {}): Promise<RunningWorker> {
  const { config, notes } = await loadConfig(options);
  const log = options.logger ?? createLogger(config.logging);
  for (const note of [...(options.notes ?? []), ...notes]) log.warn(note);

  // The shell parser's WASM compiles once here, not on the first Dispatch.
  const [isolation] = await Promise.all([selectDriver(sandboxSettings(config), log), prepareCommandPolicy()]);
  const resultsDir = join(config.session.baseDir, ".results");
  await mkdir(config.session.baseDir, { recursive: true, mode: 0o711 });
  // Stateless: results of a previous run are not served again.
  await removeTree(resultsDir);
  await mkdir(resultsDir, { mode: 0o700 });
  if (isolation.driver) {
    for (const line of await isolation.driver.sweep(config.session.baseDir)) log.warn(`start-up sweep: ${line}`);
  }

  const manager = new SessionManager({ isolation, config, log, resultsDir });
  const health = new WorkerHealth();
  health.set(isolation.refusal ? "NOT_SERVING" : "SERVING");
  const server = createServer(config.grpc);
  new WorkerService(manager, {
    workerId: config.worker.id,
    version: WORKER_VERSION,
    startedAt: performance.now(),
    concurrency: config.worker.concurrency,
    maxQueued: config.session.maxConcurrentSessions,
    isolationMode: isolation.mode,
    isolationDetails: isolation.details,
    streamKeepaliveMs: config.grpc.streamKeepaliveMs,
  }).addToServer(server);
  health.addToServer(server);
  addReflection(server);
  const port = await bind(server, config.grpc.host, config.grpc.port);
  const address = `${config.grpc.host}:${port}`;
  log.info(
    { address, isolation: isolation.mode, concurrency: config.worker.concurrency, baseDir: config.session.baseDir },
    "worker listening",
  );

  let stopping: Promise<void> | undefined;
  const stop = (graceMs = config.worker.shutdownGraceMs): Promise<void> =>
    (stopping ??= drainAndClose(server, manager, isolation.driver, health, log, graceMs));
  return { address, port, config, isolation, manager, stop };
}

/** The few settings the sandbox reads: it sits below the config and never sees the rest. */
function sandboxSettings(config: WorkerConfig): SandboxSettings {
  const { driver, trustedJobs, minIsolation, bwrapPath, sandboxUidBase } = config.security;
  return { driver, trustedJobs, minIsolation, bwrapPath, sandboxUidBase, baseDir: config.session.baseDir };
}

async function drainAndClose(
  server: ReturnType<typeof createServer>,
  manager: SessionManager,
  driver: SandboxDriver | undefined,
  health: WorkerHealth,
  log: Logger,
  graceMs: number,
): Promise<void> {
  log.info({ graceMs }, "draining: no new jobs; running jobs may finish within the grace period");
  health.set("NOT_SERVING");
  await manager.drain(graceMs);
  await driver?.close();
  await shutdown(server, 2000);
  await manager.dropAllResults();
  log.info("worker stopped");
}
