import { readFile } from "node:fs/promises";
import { probeWritableDir, resolveBaseDir, type DirProbe } from "./base-dir.js";
import { coerce, type RawSetting } from "./coerce.js";
import { ConfigError } from "./config-error.js";
import { CONFIG_OPTIONS, defaultValue, type ConfigOption, type WorkerConfigOverrides } from "./schema.js";
import { readSources } from "./sources.js";
import type { WorkerConfig } from "./worker-config.js";

export { ConfigError };

export interface LoadConfigOptions {
  /** Option arguments, after any subcommand: `--section.key=value`, `--config PATH`. @default process.argv.slice(2) */
  argv?: readonly string[];
  /** @default process.env */
  env?: Record<string, string | undefined>;
  /** Where `opencode-worker.json` is looked for and relative paths start from. @default process.cwd() */
  cwd?: string;
  /** Settings laid out like the JSON file, above every other source: for programmatic use and tests. */
  overrides?: WorkerConfigOverrides;
  /**
   * How a session base directory is checked; tests pass a fake so they never write system paths.
   * @default mkdir -p, then access(W_OK)
   */
  probeDir?: DirProbe;
}

export interface LoadedConfig {
  config: WorkerConfig;
  /** What the caller should log once it has a logger: the file read, a fallback taken. */
  notes: string[];
}

/** One option's value, in its type, and where it came from ("default" when no source set it). */
interface Resolved {
  option: ConfigOption;
  value: unknown;
  source: string;
}

/**
 * Reads every source, applies defaults and compiles a validated WorkerConfig.
 * Priority, highest first: overrides, CLI, env, the config file, defaults.
 * @throws ConfigError naming the key, value and source at fault.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const sources = await readSources({
    argv: options.argv ?? process.argv.slice(2),
    env,
    cwd,
    readFile: (path) => readFile(path, "utf8"),
    overrides: options.overrides,
  });
  const values = withDefaults(sources.settings);
  checkLimits(values);
  const notes = sources.file === undefined ? [] : [`read configuration from ${sources.file}`];

  const baseDir = lookup(values, "session.base_dir");
  // coerce and the schema make a string option's value a string.
  const resolvedDir = await resolveBaseDir(baseDir.value as string, baseDir.source, {
    cwd,
    env,
    probe: options.probeDir ?? probeWritableDir,
  });
  baseDir.value = resolvedDir.dir;
  if (resolvedDir.note !== undefined) notes.push(resolvedDir.note);

  return { config: compile(values), notes };
}

/** Every option by name: the last setting of a key wins (sources come lowest priority first), else its default. */
function withDefaults(settings: RawSetting[]): Map<string, Resolved> {
  const values = new Map<string, Resolved>(
    CONFIG_OPTIONS.map((option) => [option.name, { option, value: defaultValue(option.spec), source: "default" }]),
  );
  // Every setting is checked, also one a higher source replaces: a typo in the env should not hide behind a flag.
  for (const setting of settings) {
    values.set(setting.option.name, { option: setting.option, value: coerce(setting), source: setting.source });
  }
  return values;
}

/** Throws a ConfigError when a governance default exceeds its maximum. */
function checkLimits(values: Map<string, Resolved>): void {
  for (const entry of values.values()) {
    const { spec, section, name } = entry.option;
    if (!("atMost" in spec) || spec.atMost === undefined) continue;
    const limitName = `${section}.${spec.atMost}`;
    const limit = lookup(values, limitName);
    // Numeric specs hold numbers, and atMost is typed to name a numeric sibling.
    if ((entry.value as number) <= (limit.value as number)) continue;
    // Blame the value someone set: when the default was left alone, the lowered maximum is the mistake.
    if (entry.source === "default") {
      throw new ConfigError(limitName, limit.value, limit.source, `expected at least ${name} (${String(entry.value)})`);
    }
    throw new ConfigError(name, entry.value, entry.source, `expected at most ${limitName} (${String(limit.value)})`);
  }
}

function lookup(values: Map<string, Resolved>, name: string): Resolved {
  const value = values.get(name);
  if (value === undefined) throw new Error(`config schema has no option ${name}`);
  return value;
}

function compile(values: Map<string, Resolved>): WorkerConfig {
  const config: Record<string, Record<string, unknown>> = {};
  for (const { option, value } of values.values()) (config[option.section] ??= {})[option.field] = value;
  // Sound because the schema's type gives every WorkerConfig field a spec whose values have that field's type.
  return config as unknown as WorkerConfig;
}
