import { resolve } from "node:path";
import type { RawSetting } from "./coerce.js";
import { ConfigError } from "./config-error.js";
import { errnoCode } from "./errno-code.js";
import { assertSection, findOption, type WorkerConfigOverrides } from "./schema.js";

/**
 * Reads the raw settings of every source: CLI arguments, environment variables, the JSON config file and
 * programmatic overrides. Everything the sources come from is passed in, so tests never touch the
 * process's own argv, env or working directory. Names are checked here; values are checked by coerce.
 */

export interface SourceInputs {
  /** Option arguments: `--section.key=value`, `--section.key value`, `--config PATH`. */
  argv: readonly string[];
  env: Record<string, string | undefined>;
  /** Where the default config file is looked for and relative paths start from. */
  cwd: string;
  readFile: (path: string) => Promise<string>;
  overrides?: WorkerConfigOverrides | undefined;
}

export interface RawSources {
  /** Lowest priority first (file, env, CLI, overrides): applied in order, each replaces the ones before. */
  settings: RawSetting[];
  /** The config file that was read, if one was. */
  file?: string | undefined;
}

const DEFAULT_CONFIG_FILE = "opencode-worker.json";
const CONFIG_FLAG = "config";
const ENV_PREFIX = "OPENCODE_WORKER_";
const CONFIG_ENV = `${ENV_PREFIX}CONFIG`;

export async function readSources(inputs: SourceInputs): Promise<RawSources> {
  const cli = readArgv(inputs.argv);
  const env = readEnv(inputs.env);
  const file = await readConfigFile(cli.configFile ?? env.configFile, inputs.cwd, inputs.readFile);
  const settings = [...file.settings, ...env.settings, ...cli.settings];
  if (inputs.overrides !== undefined) settings.push(...objectSettings(inputs.overrides, "overrides"));
  return { settings, file: file.path };
}

/** A config file someone named, and where they named it. */
interface ConfigFileChoice {
  path: string;
  source: string;
}

interface ParsedSource {
  settings: RawSetting[];
  configFile?: ConfigFileChoice | undefined;
}

function readArgv(argv: readonly string[]): ParsedSource {
  const settings: RawSetting[] = [];
  let configFile: ConfigFileChoice | undefined;
  const queue = [...argv];
  for (let arg = queue.shift(); arg !== undefined; arg = queue.shift()) {
    // A bare `--` separates options the usual way (and `pnpm start -- --x=1` passes it through).
    if (arg === "--") continue;
    if (!arg.startsWith("--")) throw new ConfigError(arg, arg, "cli", "expected an option like --section.key=value");
    const equals = arg.indexOf("=");
    const name = arg.slice(2, equals === -1 ? undefined : equals);
    let value: string | true;
    if (equals !== -1) value = arg.slice(equals + 1);
    else if (queue[0] !== undefined && !queue[0].startsWith("--")) value = queue.shift() ?? "";
    // A bare flag (`--security.trusted_jobs`) means true; for any other kind coerce rejects it.
    else value = true;
    if (name === CONFIG_FLAG) {
      if (value === true || value === "") {
        throw new ConfigError(CONFIG_FLAG, value, "cli", "expected a path to a JSON file");
      }
      configFile = { path: value, source: "cli" };
    } else {
      settings.push({ option: findOption(name, value, "cli"), value, source: "cli" });
    }
  }
  return { settings, configFile };
}

function readEnv(env: Record<string, string | undefined>): ParsedSource {
  const settings: RawSetting[] = [];
  for (const [variable, value] of Object.entries(env)) {
    // An empty variable counts as unset, as compose files and CI templates often leave them.
    if (!variable.startsWith(ENV_PREFIX) || variable === CONFIG_ENV || value === undefined || value === "") continue;
    // Section names hold no underscore, so the first one after the prefix ends the section.
    const name = variable.slice(ENV_PREFIX.length).toLowerCase().replace("_", ".");
    const source = `env ${variable}`;
    settings.push({ option: findOption(name, value, source), value, source });
  }
  const path = env[CONFIG_ENV];
  return { settings, configFile: path ? { path, source: `env ${CONFIG_ENV}` } : undefined };
}

/** The named file must exist; the default one in `cwd` may be missing. */
async function readConfigFile(
  chosen: ConfigFileChoice | undefined,
  cwd: string,
  readFile: SourceInputs["readFile"],
): Promise<{ path?: string; settings: RawSetting[] }> {
  const path = resolve(cwd, chosen?.path ?? DEFAULT_CONFIG_FILE);
  const source = `file ${path}`;
  let text: string;
  try {
    text = await readFile(path);
  } catch (error) {
    if (chosen === undefined && errnoCode(error) === "ENOENT") return { settings: [] };
    const problem = `expected a readable JSON file (${errnoCode(error)})`;
    throw new ConfigError(CONFIG_FLAG, chosen?.path ?? path, chosen?.source ?? source, problem, { cause: error });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    const problem = `expected valid JSON (${(error as SyntaxError).message})`;
    throw new ConfigError(CONFIG_FLAG, path, source, problem, { cause: error });
  }
  return { path, settings: objectSettings(document, source) };
}

/** Settings from an object laid out like the file: `{ "worker": { "concurrency": 8 } }`. */
function objectSettings(document: unknown, source: string): RawSetting[] {
  if (!isObject(document)) {
    const problem = 'expected an object of sections like {"worker": {"concurrency": 8}}';
    throw new ConfigError(CONFIG_FLAG, document, source, problem);
  }
  return Object.entries(document).flatMap(([section, keys]) => {
    assertSection(section, keys, source);
    if (!isObject(keys)) throw new ConfigError(section, keys, source, `expected an object of ${section} keys`);
    return Object.entries(keys)
      .filter(([, value]) => value !== undefined) // `{ port: options.port }` with no port leaves it unset
      .map(([key, value]) => ({ option: findOption(`${section}.${key}`, value, source), value, source }));
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
