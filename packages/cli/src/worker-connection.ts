import { readFile } from "node:fs/promises";
import { WorkerClient, type WorkerClientOptions } from "@opencode-worker/master-client";
import { loadConfig, type WorkerConfig } from "@opencode-worker/worker-node";
import { type ClientFlags, UsageError } from "./command-line.js";

/** The environment variable a token may come from instead of --token-file (a file keeps it out of `ps`). */
export const TOKEN_ENV = "OPENCODE_WORKER_TOKEN";

/**
 * Connects to the worker the flags name (by default, the one the local configuration describes),
 * with TLS and a token when asked. A refused connection fails at once (ConnectionError).
 */
export async function connectToWorker(flags: ClientFlags, configArgs: string[], env: NodeJS.ProcessEnv): Promise<WorkerClient> {
  return WorkerClient.connect(await clientOptions(flags, configArgs, env));
}

/** Runs `use` with a connected client, closed afterwards. */
export async function withWorker<T>(flags: ClientFlags, configArgs: string[], use: (client: WorkerClient) => Promise<T>): Promise<T> {
  const client = await connectToWorker(flags, configArgs, process.env);
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

export async function clientOptions(flags: ClientFlags, configArgs: string[], env: NodeJS.ProcessEnv): Promise<WorkerClientOptions> {
  const [ca, cert, key, tokenFile] = await Promise.all(
    (["ca", "cert", "key", "token-file"] as const).map(async (name) => readFlagFile(name, flags[name])),
  );
  // A token file ends with a newline more often than not; no token has whitespace at either end.
  const token = tokenFile?.toString("utf8").trim() ?? env[TOKEN_ENV];
  const tls = (ca ?? cert ?? key) ? { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) } : undefined;
  return {
    address: flags.address ?? (await localAddress(configArgs, env)),
    ...(tls && { tls }),
    ...(token !== undefined && token !== "" && { token }),
  };
}

async function readFlagFile(name: string, path: string | undefined): Promise<Buffer | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path);
  } catch (error) {
    throw new UsageError(`--${name} ${path}: ${(error as Error).message}`, undefined, { cause: error });
  }
}

/** The worker that the local configuration describes. */
async function localAddress(configArgs: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const config = await localConfig(configArgs, env);
  const host = config.grpc.host === "0.0.0.0" || config.grpc.host === "::" ? "127.0.0.1" : config.grpc.host;
  return `${host}:${config.grpc.port}`;
}

/** The local worker's configuration, as `serve` would load it with these settings. */
export async function localConfig(configArgs: string[], env: NodeJS.ProcessEnv): Promise<WorkerConfig> {
  // Only settings are wanted: no need to probe (and create) the session directory.
  const { config } = await loadConfig({ argv: configArgs, env, cwd: process.cwd(), probeDir: async () => {} });
  return config;
}
