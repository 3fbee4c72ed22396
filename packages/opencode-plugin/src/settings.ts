import { DEFAULT_ADDRESS, type JobLimitsInput, type NetworkAccess } from "@opencode-worker/master-client";

/** How the plugin reaches workers and shapes what a model reads. */
export interface PluginSettings {
  /** The worker's `host:port`. */
  address: string;
  /** The deadline of one call to the worker, in ms (never a job's lifetime: that is limits.timeoutMs). */
  requestTimeoutMs: number;
  /** Most bytes of text one tool result may hold. */
  resultBytes: number;
  /** How long worker_collect_output and worker_subscribe_stream wait, when the call does not say. */
  waitMs: number;
  /** Limits every job gets unless its call sets them. */
  limits: JobLimitsInput;
  /** The network policy every job gets unless its call sets one. */
  network: NetworkAccess;
  /** PEM file of the CA that signed the worker's certificate: set, the plugin connects with TLS. */
  caFile: string | undefined;
  /** PEM files of a client certificate and its key, for a worker that requires one (mTLS). */
  certFile: string | undefined;
  keyFile: string | undefined;
  /** A bearer token of the worker's auth.token_file, or the file holding it (not both). */
  token: string | undefined;
  tokenFile: string | undefined;
  /** Registers a `bash` tool that replaces opencode's own: the command runs on the worker over the project's files. */
  remoteBash: boolean;
  /** Globs (relative to the project) that stay on the worker once a command makes them, e.g. node_modules. */
  remoteOnly: string[];
  /** The model ("provider/model", one the worker's providers file names) worker_delegate_task uses when its call names none. */
  delegateModel: string | undefined;
}

/** Each setting, its plugin option (opencode.json) and its environment variable; an option wins over the variable. */
const SOURCES = {
  address: "OPENCODE_WORKER_ADDRESS",
  requestTimeoutMs: "OPENCODE_WORKER_REQUEST_TIMEOUT_MS",
  resultBytes: "OPENCODE_WORKER_RESULT_BYTES",
  waitMs: "OPENCODE_WORKER_WAIT_MS",
  limits: "OPENCODE_WORKER_LIMITS",
  network: "OPENCODE_WORKER_NETWORK",
  caFile: "OPENCODE_WORKER_CA_FILE",
  certFile: "OPENCODE_WORKER_CERT_FILE",
  keyFile: "OPENCODE_WORKER_KEY_FILE",
  token: "OPENCODE_WORKER_TOKEN",
  tokenFile: "OPENCODE_WORKER_TOKEN_FILE",
  remoteBash: "OPENCODE_WORKER_REMOTE_BASH",
  remoteOnly: "OPENCODE_WORKER_REMOTE_ONLY",
  delegateModel: "OPENCODE_WORKER_DELEGATE_MODEL",
} as const satisfies Record<keyof PluginSettings, string>;

export const DEFAULT_SETTINGS: PluginSettings = {
  address: DEFAULT_ADDRESS,
  requestTimeoutMs: 30_000,
  // About 4,000 tokens: room for a failing test's summary without flooding the context.
  resultBytes: 16 * 1024,
  waitMs: 10 * 60_000,
  limits: {},
  network: "restricted",
  caFile: undefined,
  certFile: undefined,
  keyFile: undefined,
  token: undefined,
  tokenFile: undefined,
  remoteBash: false,
  // What a command like `npm install` makes and the project does not need locally.
  remoteOnly: ["node_modules/**"],
  // Unset, a delegated task takes the model of the worker's session config (its default provider).
  delegateModel: undefined,
};

const MIN_RESULT_BYTES = 1024;
// opencode saves a tool result past 50 KB to a file and shows the model only its start: stay under.
const MAX_RESULT_BYTES = 48 * 1024;

/** A setting the plugin cannot use; every tool call answers with its message instead of running. */
export class SettingsError extends Error {
  override name = "SettingsError";
}

/**
 * The settings from the plugin's options and the environment. Invalid ones throw a
 * `SettingsError` naming the option or variable and what it must be.
 */
export function readSettings(options: Record<string, unknown> | undefined, env: NodeJS.ProcessEnv): PluginSettings {
  // Object.hasOwn, not `in`: "toString" and the like are not options.
  const unknown = Object.keys(options ?? {}).filter((key) => !Object.hasOwn(SOURCES, key));
  if (unknown.length > 0) {
    throw new SettingsError(
      `unknown plugin option ${unknown.map((key) => `"${key}"`).join(", ")}; known: ${Object.keys(SOURCES).join(", ")}`,
    );
  }
  const raw = (key: keyof PluginSettings): { value: unknown; from: string } | undefined => {
    if (options?.[key] !== undefined) return { value: options[key], from: `plugin option ${key}` };
    const text = env[SOURCES[key]];
    if (text === undefined || text === "") return undefined;
    return { value: key === "limits" || key === "remoteOnly" ? parseJson(text, SOURCES[key]) : text, from: SOURCES[key] };
  };
  const token = readText(raw("token"));
  const tokenFile = readText(raw("tokenFile"));
  if (token !== undefined && tokenFile !== undefined) throw new SettingsError("set token or tokenFile, not both");
  return {
    address: readAddress(raw("address")) ?? DEFAULT_SETTINGS.address,
    requestTimeoutMs: readInteger(raw("requestTimeoutMs"), 1, 24 * 3600_000) ?? DEFAULT_SETTINGS.requestTimeoutMs,
    resultBytes: readInteger(raw("resultBytes"), MIN_RESULT_BYTES, MAX_RESULT_BYTES) ?? DEFAULT_SETTINGS.resultBytes,
    waitMs: readInteger(raw("waitMs"), 1, 24 * 3600_000) ?? DEFAULT_SETTINGS.waitMs,
    limits: readLimits(raw("limits")) ?? DEFAULT_SETTINGS.limits,
    network: readNetwork(raw("network")) ?? DEFAULT_SETTINGS.network,
    caFile: readText(raw("caFile")),
    certFile: readText(raw("certFile")),
    keyFile: readText(raw("keyFile")),
    token,
    tokenFile,
    remoteBash: readBoolean(raw("remoteBash")) ?? DEFAULT_SETTINGS.remoteBash,
    remoteOnly: readGlobs(raw("remoteOnly")) ?? DEFAULT_SETTINGS.remoteOnly,
    delegateModel: readModel(raw("delegateModel")),
  };
}

/** Whether the options or the environment turn the remote bash on, read loosely: for when other settings are unusable. */
export function asksForRemoteBash(options: Record<string, unknown> | undefined, env: NodeJS.ProcessEnv): boolean {
  const value = options?.remoteBash ?? env[SOURCES.remoteBash];
  return value === true || value === "1" || value === "true";
}

/** A path or a token: any non-empty string (the files are read when the client is created). */
function readText(raw: Raw): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw.value !== "string" || raw.value === "")
    throw new SettingsError(`${raw.from} must be a non-empty string, got ${describe(raw.value)}`);
  return raw.value;
}

type Raw = { value: unknown; from: string } | undefined;

const describe = (value: unknown): string => JSON.stringify(value) ?? String(value);

function readAddress(raw: Raw): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw.value !== "string" || !/^\S+:\d{1,5}$/.test(raw.value)) {
    throw new SettingsError(`${raw.from} must be a worker address "host:port", got ${describe(raw.value)}`);
  }
  return raw.value;
}

function readInteger(raw: Raw, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = typeof raw.value === "string" && /^\d+$/.test(raw.value) ? Number(raw.value) : raw.value;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new SettingsError(`${raw.from} must be an integer from ${min} to ${max}, got ${describe(raw.value)}`);
  }
  return value;
}

function readLimits(raw: Raw): JobLimitsInput | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw.value !== "object" || raw.value === null || Array.isArray(raw.value)) {
    throw new SettingsError(
      `${raw.from} must be an object of job limits like {"memory":"1GiB","timeoutMs":600000}, got ${describe(raw.value)}`,
    );
  }
  // Values are checked by the SDK when a job is dispatched, which names the limit.
  return raw.value as JobLimitsInput;
}

/** true or false; from a variable also "1", "0", "true" or "false". */
function readBoolean(raw: Raw): boolean | undefined {
  if (raw === undefined) return undefined;
  const value = raw.value === "1" || raw.value === "true" ? true : raw.value === "0" || raw.value === "false" ? false : raw.value;
  if (typeof value !== "boolean") throw new SettingsError(`${raw.from} must be true or false (1 or 0), got ${describe(raw.value)}`);
  return value;
}

/** A list of globs; the SDK checks each when the workspace is made. */
function readGlobs(raw: Raw): string[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw.value) || !raw.value.every((glob) => typeof glob === "string" && glob !== "")) {
    throw new SettingsError(`${raw.from} must be a list of globs like ["node_modules/**"], got ${describe(raw.value)}`);
  }
  return raw.value as string[];
}

/** "provider/model": the provider's id, then the model's (which may hold more slashes). */
function readModel(raw: Raw): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw.value !== "string" || !/^[^/\s]+\/\S+$/.test(raw.value)) {
    throw new SettingsError(`${raw.from} must be a model "provider/model", got ${describe(raw.value)}`);
  }
  return raw.value;
}

function readNetwork(raw: Raw): NetworkAccess | undefined {
  if (raw === undefined) return undefined;
  if (raw.value !== "restricted" && raw.value !== "open") {
    throw new SettingsError(`${raw.from} must be "restricted" or "open", got ${describe(raw.value)}`);
  }
  return raw.value;
}

function parseJson(text: string, from: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new SettingsError(`${from} must be JSON, got ${text}`);
  }
}
