/**
 * Thrown when a configuration source holds something the worker cannot use: a bad value, an unknown key
 * or section, an unreadable or invalid config file, a default above its maximum. The message names the
 * key, the value and the source and says what was expected, so the operator knows what to change.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /** What the bin exits with: 2 is the conventional code for a usage error, apart from crashes (1). */
  readonly exitCode = 2;

  constructor(
    /** The option at fault, "section.key" ("worker.concurrency"), or "config" for the file as a whole. */
    readonly key: string,
    /** The value as the source gave it (a string from the CLI or env, any JSON value from a file). */
    readonly value: unknown,
    /** Where the value came from: "cli", "env OPENCODE_WORKER_X", "file /path", "overrides", "default". */
    readonly source: string,
    /** What is wrong, usually "expected ...". */
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${key}: ${problem}, got ${formatValue(value)} (from ${source})`, options);
  }
}

function formatValue(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}
