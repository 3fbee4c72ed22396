/**
 * The worker's configuration: one schema, four sources (CLI, env, `opencode-worker.json`, defaults) and
 * a compiled, validated WorkerConfig.
 *
 * @example
 * import { ConfigError, loadConfig } from "./config/index.js";
 * try {
 *   const { config, notes } = await loadConfig({ argv: process.argv.slice(3) });
 *   notes.forEach((note) => logger.info(note));
 * } catch (error) {
 *   if (!(error instanceof ConfigError)) throw error;
 *   console.error(error.message);
 *   process.exit(error.exitCode);
 * }
 */
export { ConfigError, loadConfig } from "./load.js";
export type { LoadConfigOptions, LoadedConfig } from "./load.js";
export { describeConfig } from "./schema.js";
export type { WorkerConfigOverrides } from "./schema.js";
export type { DirProbe } from "./base-dir.js";
export type { IsolationMode, WorkerConfig } from "./worker-config.js";
