import { parseByteSize } from "@opencode-worker/shared";
import { ConfigError } from "./config-error.js";
import type { ConfigOption, OptionSpec } from "./schema.js";

/** A value as one source gave it, already matched to its option. */
export interface RawSetting {
  option: ConfigOption;
  /** A string from the CLI or env (or `true` for a bare CLI flag), any JSON value from a file or overrides. */
  value: unknown;
  source: string;
}

/**
 * The setting's value in the option's type, within its bounds. The same rules apply to every source:
 * text is parsed ("8", "512MiB", "true", "a,b"), typed values are checked as they are.
 */
export function coerce({ option, value, source }: RawSetting): unknown {
  const parsed = parse(option.spec, value);
  if (parsed === undefined) throw new ConfigError(option.name, value, source, `expected ${expected(option.spec)}`);
  return parsed;
}

// Environment variables conventionally spell booleans as 1 and 0 as often as true and false.
const BOOLEAN_WORDS: Record<string, boolean> = { true: true, false: false, 1: true, 0: false };
const DECIMAL = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$/;

/** The typed value, or undefined when `value` cannot be one. */
function parse(spec: OptionSpec, value: unknown): unknown {
  switch (spec.kind) {
    case "bool":
      if (typeof value === "boolean") return value;
      return typeof value === "string" ? BOOLEAN_WORDS[value.trim().toLowerCase()] : undefined;
    case "string":
      // An empty default means "unset" (tls.cert_file): such an option may be set back to empty.
      return typeof value === "string" && (value !== "" || spec.default === "") ? value : undefined;
    case "enum":
      return typeof value === "string" && spec.values.includes(value) ? value : undefined;
    case "list":
      return parseList(value);
    case "bytes":
      return inRange(spec, typeof value === "number" || typeof value === "string" ? parseByteSize(value) : undefined);
    case "int":
    case "duration": {
      const number = parseNumber(value);
      return inRange(spec, number !== undefined && Number.isSafeInteger(number) ? number : undefined);
    }
    case "number":
      return inRange(spec, parseNumber(value));
  }
}

function parseNumber(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  return typeof value === "string" && DECIMAL.test(value) ? Number(value) : undefined;
}

/** An array of words from a file, or comma-separated words from the CLI or env ("git, node" included). */
function parseList(value: unknown): string[] | undefined {
  if (typeof value === "string") {
    return value
      .split(",")
      .map((word) => word.trim())
      .filter((word) => word !== "");
  }
  const isWordList = Array.isArray(value) && value.every((word) => typeof word === "string" && word.trim() !== "");
  return isWordList ? (value as string[]) : undefined;
}

interface Bounds {
  min?: number;
  max?: number;
}

function inRange({ min = 0, max = Infinity }: Bounds, value: number | undefined): number | undefined {
  return value !== undefined && value >= min && value <= max ? value : undefined;
}

/** What the option accepts, for "expected ..." in the error. */
function expected(spec: OptionSpec): string {
  switch (spec.kind) {
    case "bool":
      return "true or false (or 1 or 0)";
    case "string":
      return "a non-empty string";
    case "enum":
      return `one of ${spec.values.join(", ")}`;
    case "list":
      return "a list of words (comma-separated, or a JSON array of strings)";
    case "int":
      return `an integer ${describeBounds(spec)}`;
    case "number":
      return `a number ${describeBounds(spec)}`;
    case "bytes":
      return `a byte size (like 512MiB or 2GB) ${describeBounds(spec)}`;
    case "duration":
      return `a whole number of milliseconds ${describeBounds(spec)}`;
  }
}

function describeBounds({ min = 0, max }: Bounds): string {
  return max === undefined ? `>= ${min}` : `between ${min} and ${max}`;
}
