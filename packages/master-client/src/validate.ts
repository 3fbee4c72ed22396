/**
 * Readers for caller input: each returns the value in the form the wire wants, or throws an
 * `InvalidArgumentError` naming the field and the bad value, so mistakes surface before a round trip.
 */
import { inspect } from "node:util";
import { JOB_ID_PATTERN, parseByteSize } from "@opencode-worker/shared";
import { InvalidArgumentError } from "./errors.js";

/** The bad value as a reader would write it: strings quoted, bytes summarised, objects on one line. */
function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  return inspect(value, { depth: 2, breakLength: Infinity });
}

export function invalid(field: string, expected: string, value: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`${field}: expected ${expected}, got ${show(value)}`, { field });
}

export function readString(field: string, value: unknown): string {
  if (typeof value !== "string") throw invalid(field, "a string", value);
  return value;
}

export function readNonEmptyString(field: string, value: unknown): string {
  if (typeof value !== "string" || value === "") throw invalid(field, "a non-empty string", value);
  return value;
}

export function readBoolean(field: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw invalid(field, "true or false", value);
  return value;
}

export function readNonNegativeInteger(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(field, "a non-negative integer", value);
  }
  return value;
}

export function readPositiveInteger(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw invalid(field, "a positive integer", value);
  }
  return value;
}

export function readPositiveNumber(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw invalid(field, "a positive number", value);
  }
  return value;
}

/** A job id as the worker accepts it. */
export function readJobId(field: string, value: unknown): string {
  if (typeof value !== "string" || !JOB_ID_PATTERN.test(value)) throw invalid(field, "1 to 128 of [A-Za-z0-9._-]", value);
  return value;
}

/** A byte count or a size text: 4096, "512MiB", "2GB". */
export function readByteSize(field: string, value: unknown): number {
  const bytes = typeof value === "number" || typeof value === "string" ? parseByteSize(value) : undefined;
  if (bytes === undefined) throw invalid(field, 'bytes or a size like "512MiB"', value);
  return bytes;
}

/** Text as UTF-8, or bytes as given (shared, not copied). */
export function readBytes(field: string, value: unknown): Buffer {
  if (typeof value === "string") return Buffer.from(value, "utf8");
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw invalid(field, "a string or a Uint8Array", value);
}

export function readOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw invalid(field, `one of ${allowed.map((a) => `"${a}"`).join(", ")}`, value);
  return value as T;
}

export function readStringArray(field: string, value: unknown): string[] {
  if (!Array.isArray(value)) throw invalid(field, "an array of strings", value);
  return value.map((item, index) => readString(`${field}[${index}]`, item));
}

/**
 * A plain object with no key outside `known`: in JavaScript a misspelt option would otherwise vanish.
 * Its keys are named `${childPrefix}${key}` in errors ("limits.memory"; no prefix at the top level).
 */
export function readObject<K extends string>(
  field: string,
  value: unknown,
  known: readonly K[],
  childPrefix = `${field}.`,
): Partial<Record<K, unknown>> {
  const object = readRecord(field, value);
  for (const key of Object.keys(object)) {
    if (!known.includes(key as K)) {
      throw new InvalidArgumentError(`${childPrefix}${key}: unknown option; expected one of ${known.join(", ")}`, {
        field: `${childPrefix}${key}`,
      });
    }
  }
  return object as Partial<Record<K, unknown>>;
}

/** A plain object used as a map (files, env). */
export function readRecord(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw invalid(field, "an object", value);
  }
  return value as Record<string, unknown>;
}
