import { lstatSync, readFileSync, realpathSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { closestName } from "../config/closest-name.js";
import { ConfigError } from "../config/config-error.js";

/**
 * The providers file (`agent.providers_file`): the model providers a delegated agent may use, their models and
 * where their keys come from. Read once at start-up; the keys it resolves stay in the worker (the model
 * gateway adds them), so no error message ever carries one.
 */

/** The wire a provider speaks, and so the gateway's route and the AI SDK package opencode uses for it. */
export type ProviderApi = "openai-compatible" | "anthropic";

export interface ModelLimits {
  /** Tokens of context the model takes. */
  context: number;
  /** Tokens the model may answer with. */
  output: number;
}

export interface ProviderSettings {
  /** The provider's id, the part before "/" in "provider/model". */
  id: string;
  api: ProviderApi;
  /** Where the gateway forwards to: an http(s) URL, e.g. "https://api.openai.com/v1". */
  baseUrl: string;
  /** The resolved key, "" for a provider that needs none. Never log it. */
  apiKey: string;
  models: ReadonlyMap<string, ModelLimits>;
}

export type Providers = ReadonlyMap<string, ProviderSettings>;

export interface LoadProvidersOptions {
  /** Where `api_key_env` is read. @default process.env */
  env?: Record<string, string | undefined>;
  /** Who must own an `api_key_file`: the worker itself. @default process.getuid() */
  uid?: number;
}

/** What a model without limits in the file gets: a common context window and answer size. */
export const DEFAULT_MODEL_LIMITS: ModelLimits = { context: 128_000, output: 8_192 };

const APIS: readonly ProviderApi[] = ["openai-compatible", "anthropic"];
const PROVIDER_KEYS = ["api", "base_url", "api_key_file", "api_key_env", "models"];
const MODEL_KEYS = ["context", "output"];
/** Ids end up in "provider/model" and in opencode's config keys: no "/" and nothing a shell or URL would mangle. */
const ID = /^[A-Za-z0-9._-]+$/;

/**
 * Reads and validates the providers file. `bound` lists the host paths the sandbox binds (/usr, /etc, the
 * session base dir...): a key file under one of them could be read by a job, so it is refused.
 * @throws ConfigError naming the JSON path (`providers.openai.base_url`) and the value at fault.
 */
export function loadProviders(path: string, bound: readonly string[], options: LoadProvidersOptions = {}): Providers {
  const source = `file ${path}`;
  const env = options.env ?? process.env;
  const uid = options.uid ?? process.getuid?.() ?? 0;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const problem = `expected a readable file (${(error as NodeJS.ErrnoException).code})`;
    throw new ConfigError("agent.providers_file", path, source, problem, { cause: error });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    // Not V8's message nor the error as cause: it quotes the text, and a key pasted into the file would show.
    throw new ConfigError("agent.providers_file", path, source, "expected valid JSON");
  }
  if (!isObject(document)) throw new ConfigError("providers_file", document, source, 'expected an object with "providers"');
  checkKeys(document, ["providers"], "", source);
  const entries = document.providers;
  if (!isObject(entries) || Object.keys(entries).length === 0) {
    throw new ConfigError("providers", entries, source, "expected an object of at least one provider");
  }
  const providers = new Map<string, ProviderSettings>();
  for (const [id, raw] of Object.entries(entries)) {
    const at = `providers.${id}`;
    if (!ID.test(id)) throw new ConfigError(at, id, source, "expected a provider id of letters, digits, '.', '_' or '-'");
    providers.set(id, readProvider(id, raw, { at, source, env, uid, bound }));
  }
  return providers;
}

interface Context {
  at: string;
  source: string;
  env: Record<string, string | undefined>;
  uid: number;
  bound: readonly string[];
}

function readProvider(id: string, raw: unknown, context: Context): ProviderSettings {
  const { at, source } = context;
  if (!isObject(raw)) throw new ConfigError(at, raw, source, "expected an object with api, base_url and models");
  checkKeys(raw, PROVIDER_KEYS, `${at}.`, source);
  const api = raw.api;
  if (!APIS.includes(api as ProviderApi)) throw new ConfigError(`${at}.api`, api, source, `expected one of ${APIS.join(", ")}`);
  return {
    id,
    api: api as ProviderApi,
    baseUrl: readBaseUrl(raw.base_url, `${at}.base_url`, source),
    apiKey: readApiKey(raw, context),
    models: readModels(raw.models, `${at}.models`, source),
  };
}

function readBaseUrl(value: unknown, at: string, source: string): string {
  const problem = "expected an http:// or https:// URL";
  if (typeof value !== "string" || !URL.canParse(value)) throw new ConfigError(at, value, source, problem);
  const url = new URL(value);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConfigError(at, value, source, problem);
  // The gateway appends the request's path: a trailing "/" would double it.
  return value.replace(/\/+$/, "");
}

/** The models as a list of ids, or an object of id -> limits (an empty object takes the defaults). */
function readModels(value: unknown, at: string, source: string): ReadonlyMap<string, ModelLimits> {
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((id: unknown) => [typeof id === "string" ? id : JSON.stringify(id), {}])
    : isObject(value)
      ? Object.entries(value)
      : [];
  if (entries.length === 0) throw new ConfigError(at, value, source, "expected at least one model, as a list of ids or an object");
  const models = new Map<string, ModelLimits>();
  for (const [id, limits] of entries) {
    if (!ID.test(id)) throw new ConfigError(`${at}.${id}`, id, source, "expected a model id of letters, digits, '.', '_' or '-'");
    models.set(id, readLimits(limits, `${at}.${id}`, source));
  }
  return models;
}

function readLimits(value: unknown, at: string, source: string): ModelLimits {
  if (!isObject(value)) throw new ConfigError(at, value, source, "expected an object of context and output tokens");
  checkKeys(value, MODEL_KEYS, `${at}.`, source);
  const limits = { ...DEFAULT_MODEL_LIMITS };
  for (const key of ["context", "output"] as const) {
    const tokens = value[key];
    if (tokens === undefined) continue;
    if (typeof tokens !== "number" || !Number.isSafeInteger(tokens) || tokens <= 0) {
      throw new ConfigError(`${at}.${key}`, tokens, source, "expected a positive whole number of tokens");
    }
    limits[key] = tokens;
  }
  return limits;
}

/** The key from `api_key_file` or `api_key_env` (at most one of them), "" for a provider with neither. */
function readApiKey(raw: Record<string, unknown>, context: Context): string {
  const { at, source } = context;
  const file = raw.api_key_file;
  const variable = raw.api_key_env;
  if (file !== undefined && variable !== undefined) {
    throw new ConfigError(`${at}.api_key_env`, variable, source, "expected api_key_file or api_key_env, not both");
  }
  if (file !== undefined) return readKeyFile(file, { ...context, at: `${at}.api_key_file` });
  if (variable === undefined) return "";
  if (typeof variable !== "string" || variable === "") {
    throw new ConfigError(`${at}.api_key_env`, variable, source, "expected the name of an environment variable");
  }
  const key = context.env[variable]?.trim() ?? "";
  if (key === "") throw new ConfigError(`${at}.api_key_env`, variable, source, "expected the variable to be set and not empty");
  return key;
}

/**
 * A key file must be the worker's alone: a regular file (not a link that could be swapped), owned by the
 * worker's uid, unreadable by group and others, and outside everything the sandbox binds.
 */
function readKeyFile(file: unknown, context: Context): string {
  const { at, source } = context;
  if (typeof file !== "string" || !isAbsolute(file)) throw new ConfigError(at, file, source, "expected an absolute path");
  let stats;
  let realPath;
  try {
    stats = lstatSync(file);
    realPath = realpathSync(file);
  } catch (error) {
    throw new ConfigError(at, file, source, `expected a readable file (${(error as NodeJS.ErrnoException).code})`, { cause: error });
  }
  if (!stats.isFile()) throw new ConfigError(at, file, source, "expected a regular file, not a link or a directory");
  if (stats.uid !== context.uid) {
    throw new ConfigError(at, file, source, `expected a file owned by the worker's uid ${context.uid}, not ${stats.uid}`);
  }
  if ((stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(4, "0");
    throw new ConfigError(at, file, source, `expected no access for group or others, mode is ${mode}: chmod 600 ${file}`);
  }
  // Through its real path too: a parent directory may be a link into a bound tree.
  const exposed = context.bound.find((dir) => isUnder(file, dir) || isUnder(realPath, dir) || isUnder(realPath, realOrSelf(dir)));
  if (exposed !== undefined) {
    throw new ConfigError(at, file, source, `expected a path outside what the sandbox binds, but it is under ${exposed}`);
  }
  const key = readFileSync(realPath, "utf8").trim();
  if (key === "") throw new ConfigError(at, file, source, "expected the file to hold a key, it is empty");
  return key;
}

function isUnder(path: string, dir: string): boolean {
  const base = resolve(dir);
  return path === base || path.startsWith(base === "/" ? "/" : `${base}/`);
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    // A bound path that does not exist yet (a base dir made later) cannot hide the file behind a link.
    return path;
  }
}

/** Rejects a key the file should not have, suggesting the nearest known one. */
function checkKeys(object: Record<string, unknown>, known: readonly string[], prefix: string, source: string): void {
  for (const key of Object.keys(object)) {
    if (known.includes(key)) continue;
    const suggestion = closestName(key, known);
    const hint = suggestion === undefined ? `expected one of ${known.join(", ")}` : `unknown key (did you mean ${suggestion}?)`;
    // The key's name, not its value: a key pasted under a misspelt name must not end up in the message.
    throw new ConfigError(`${prefix}${key}`, key, source, hint);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
