import { describeAgentRuntime, loadAgentRuntime } from "./agent/load-agent-runtime.js";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { BlobStore } from "./blobs/blob-store.js";
import { loadConfig, type LoadConfigOptions } from "./config/index.js";
import type { WorkerConfig } from "./config/worker-config.js";
import { createLogger, type Logger } from "./logging/logger.js";
import { serveMetrics, type MetricsServer } from "./observability/metrics-server.js";
import { WorkerMetrics } from "./observability/prometheus-metrics.js";
import type { WorkerTracing } from "./observability/tracing.js";
import type { IsolationReport, SandboxDriver } from "./sandbox/driver.js";
import { selectDriver, type SandboxSettings } from "./sandbox/select-driver.js";
import { prepareCommandPolicy } from "./security/command-policy.js";
import { Authenticator } from "./server/auth/authenticate.js";
import { checkNetworkExposure } from "./server/auth/network-exposure.js";
import { serverCredentials } from "./server/auth/tls-credentials.js";
import { TokenFile } from "./server/auth/token-file.js";
import { bind, createServer, shutdown } from "./server/create-server.js";
import { WorkerHealth } from "./server/health.js";
import { addReflection } from "./server/reflection.js";
import { WorkerService } from "./server/worker-service.js";
import { ResultJournal } from "./session/result-journal.js";
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
  /** http://host:port/metrics for Prometheus, or undefined with metrics.enabled=false. */
  readonly metricsUrl: string | undefined;
  /**
   * Graceful stop: health NOT_SERVING, no new jobs, running ones get `graceMs`
   * (default worker.shutdown_grace_ms) and are then cancelled, then the server closes.
   */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts a worker: configuration, the isolation probe, a sweep of what a killed predecessor left and
 * the results it journaled, then the gRPC server with WorkerService, health and reflection.
 */
export async function startWorker(options: StartWorkerOptions = {}): Promise<RunningWorker> {
  const { config, notes } = await loadConfig(options);
  const log = options.logger ?? createLogger(config.logging);
  for (const note of [...(options.notes ?? []), ...notes]) log.warn(note);
  // Before anything slow: a worker exposed without protection must not start at all.
  const exposure = checkNetworkExposure(config);
  if (exposure) log.warn(exposure);
  const credentials = await serverCredentials(config.tls);
  const tokens = config.auth.tokenFile === "" ? undefined : await TokenFile.open(config.auth.tokenFile, log);

  // The shell parser's WASM compiles once here, not on the first Dispatch.
  const [isolation, agents] = await Promise.all([
    selectDriver(sandboxSettings(config), log),
    loadAgentRuntime(config),
    prepareCommandPolicy(),
  ]);
  log.info(describeAgentRuntime(agents));
  const resultsDir = join(config.session.baseDir, ".results");
  await mkdir(config.session.baseDir, { recursive: true, mode: 0o711 });
  await mkdir(resultsDir, { recursive: true, mode: 0o700 });
  // The blobs of earlier runs stay: only a content cache outlives a worker.
  const blobStore = await BlobStore.open(join(config.session.baseDir, "blobs"), {
    maxBytes: config.blobs.maxBytes,
    maxBlobBytes: config.workspace.maxBytes,
  });
  if (isolation.driver) {
    for (const line of await isolation.driver.sweep(config.session.baseDir)) log.warn(`start-up sweep: ${line}`);
  }

  // OpenTelemetry's SDK and exporter add some 30 MB to the heap: loaded only when tracing is on.
  const tracing =
    config.tracing.exporter === "none"
      ? undefined
      : (await import("./observability/tracing.js")).startTracing(config.tracing, config.worker.id, log);
  const manager = new SessionManager({
    isolation,
    config,
    log,
    resultsDir,
    journal: new ResultJournal(resultsDir, log),
    blobStore,
    agents,
    ...(tracing && { tracer: tracing.tracer }),
  });
  // Results of ended jobs survive a restart (the sessions were swept above): taken back before SERVING.
  await manager.recover();
  const health = new WorkerHealth();
  health.set(isolation.refusal ? "NOT_SERVING" : "SERVING");
  const server = createServer(config.grpc);
  new WorkerService(
    manager,
    {
      workerId: config.worker.id,
      version: WORKER_VERSION,
      startedAt: performance.now(),
      concurrency: config.worker.concurrency,
      maxQueued: config.session.maxConcurrentSessions,
      isolationMode: isolation.mode,
      isolationDetails: [...isolation.details, describeAgentRuntime(agents)],
      opencodeVersion: "install" in agents ? agents.install.version : "",
      streamKeepaliveMs: config.grpc.streamKeepaliveMs,
      stalledReaderTimeoutMs: config.grpc.stalledReaderTimeoutMs,
    },
    new Authenticator({ tokens, clientCertificates: config.tls.clientCaFile !== "", admins: config.auth.admins }),
    blobStore,
  ).addToServer(server);
  health.addToServer(server);
  addReflection(server);
  const metricsServer = config.metrics.enabled ? await startMetrics(manager, blobStore, isolation.mode, config.metrics) : undefined;
  const port = await bind(server, config.grpc, credentials).catch(async (error: unknown) => {
    // A listening metrics server would keep the process alive after a failed start.
    await metricsServer?.close();
    await tracing?.shutdown();
    throw error;
  });
  const stopWatchingTokens = tokens?.watch();
  const address = `${config.grpc.host}:${port}`;
  log.info(
    {
      address,
      metrics: metricsServer?.url,
      isolation: isolation.mode,
      concurrency: config.worker.concurrency,
      baseDir: config.session.baseDir,
    },
    "worker listening",
  );

  let stopping: Promise<void> | undefined;
  const stop = (graceMs = config.worker.shutdownGraceMs): Promise<void> => {
    stopWatchingTokens?.();
    return (stopping ??= drainAndClose(server, metricsServer, tracing, manager, isolation.driver, health, log, graceMs));
  };
  return { address, port, config, isolation, manager, metricsUrl: metricsServer?.url, stop };
}

/** The Prometheus metrics, fed by the session manager, on their own HTTP port. */
function startMetrics(
  manager: SessionManager,
  blobStore: BlobStore,
  isolationMode: string,
  settings: WorkerConfig["metrics"],
): Promise<MetricsServer> {
  const metrics = new WorkerMetrics(manager, blobStore, isolationMode);
  manager.observe(metrics);
  return serveMetrics(metrics.registry, settings.host, settings.port);
}

/** The few settings the sandbox reads: it sits below the config and never sees the rest. */
function sandboxSettings(config: WorkerConfig): SandboxSettings {
  const { driver, trustedJobs, minIsolation, bwrapPath, slirp4netnsPath, sandboxUidBase } = config.security;
  return { driver, trustedJobs, minIsolation, bwrapPath, slirp4netnsPath, sandboxUidBase, baseDir: config.session.baseDir };
}

async function drainAndClose(
  server: ReturnType<typeof createServer>,
  metricsServer: MetricsServer | undefined,
  tracing: WorkerTracing | undefined,
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
  // Retained results stay journaled: the next worker on this base dir serves them within their TTL.
  await shutdown(server, 2000);
  // Last: a scrape during the drain still sees the jobs finishing.
  await metricsServer?.close();
  // Every job has ended: their spans go out before the worker stops.
  await tracing?.shutdown();
  log.info("worker stopped");
}
