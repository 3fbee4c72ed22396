/**
 * The opencode-worker node: runs each job in a disposable, isolated session and serves them over
 * gRPC (WorkerService, health, reflection). Most people start it with `opencode-worker serve`
 * (@opencode-worker/cli); this module is for embedding it (tests, benchmarks, a supervisor of your own).
 *
 * @example
 * import { startWorker } from "@opencode-worker/worker-node";
 * const worker = await startWorker({ overrides: { grpc: { port: 0 } } });
 * console.log(`listening on ${worker.address} with isolation ${worker.isolation.mode}`);
 * await worker.stop();
 */
export { startWorker } from "./worker.js";
export type { RunningWorker, StartWorkerOptions } from "./worker.js";
export { loadConfig, ConfigError, describeConfig } from "./config/index.js";
export type { LoadedConfig, WorkerConfig, WorkerConfigOverrides, IsolationMode } from "./config/index.js";
export { WORKER_VERSION } from "./version.js";
export { seccompProgram, describeSeccompPolicy } from "./sandbox/bwrap/seccomp/index.js";
export type { SeccompDescription } from "./sandbox/bwrap/seccomp/index.js";
