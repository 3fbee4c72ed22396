/**
 * The one table from the wire's field names to the SDK's option names, where they differ: the
 * worker names fields as the proto does, and an SDK user who wrote `limits.memory` must be told
 * to raise `limits.memory`, not `limits.memory_bytes`. Fields named alike (`command`, `argv`,
 * `cwd`, `limits.cpu`, `files[...]`) need no entry.
 */
const SDK_NAME_BY_WIRE_NAME: ReadonlyMap<string, string> = new Map([
  ["job_id", "jobId"],
  ["limits.memory_bytes", "limits.memory"],
  ["limits.timeout_ms", "limits.timeoutMs"],
  ["limits.max_output_bytes", "limits.maxOutput"],
  ["limits.max_pids", "limits.maxPids"],
  ["limits.max_disk_bytes", "limits.maxDisk"],
  ["limits.idle_timeout_ms", "limits.idleTimeoutMs"],
  ["config.network", "network"],
]);

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

// Whole names only: `governance.max_output_bytes` is the worker's setting, not the job's `max_output_bytes`;
// `file_modes["x"]` is the mode of `files["x"]` (the key's quoting is kept as sent).
const WIRE_NAME = new RegExp(
  `(?<![\\w.])(?:(${[...SDK_NAME_BY_WIRE_NAME.keys()].map(escape).join("|")})(?![\\w.])|file_modes(\\["(?:[^"\\\\]|\\\\.)*"\\]))`,
  "g",
);

/** A text (a message, a `field`) with every wire field name in it replaced by the SDK's. */
export function withSdkFieldNames(text: string): string {
  return text.replace(WIRE_NAME, (_match, name: string | undefined, fileKey: string | undefined) =>
    name === undefined ? `files${fileKey ?? ""}.mode` : (SDK_NAME_BY_WIRE_NAME.get(name) ?? name),
  );
}
