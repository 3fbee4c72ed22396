import { compileGlob, GlobSyntaxError } from "@opencode-worker/shared";
import { invalidArgument } from "../errors.js";
import type { ValidatedFile } from "../files/write-inputs.js";

/**
 * Names the client gives for paths inside the session: input files, the working directory and
 * artifact patterns. Everything is checked before anything is written.
 *
 * The rules for a relative path (`validateInputPath`):
 * - not empty, not absolute, no `..` segment anywhere (even `a/../b`, which would stay inside: a
 *   client that writes it has a bug worth hearing about);
 * - no NUL, no control character (C0, DEL, C1), no lone UTF-16 surrogate: they break logs, terminals
 *   and the tools the job runs;
 * - no backslash: legal on Linux, but it always means a Windows separator and `a\b` would become a
 *   file whose name contains a backslash;
 * - `.` segments and empty segments (`a//b`, `./a`) are dropped, as the kernel does; a trailing `/`
 *   is refused where a file is meant (a file name cannot name a directory), accepted for `cwd`;
 * - at most 255 bytes per segment and 4096 bytes in all (NAME_MAX and PATH_MAX), in UTF-8.
 * The result is the normalised posix path; two names that normalise to the same path are duplicates.
 */
const MAX_SEGMENT_BYTES = 255;
const MAX_PATH_BYTES = 4096;
const DEFAULT_FILE_MODE = 0o644;
/** Artifact patterns per job: each is matched against every output file. */
const MAX_ARTIFACT_PATTERNS = 256;

/** Thrown (INVALID_ARGUMENT naming `field`) for any rule above; returns the normalised path. */
export function validateInputPath(field: string, name: string): string {
  const path = normalizeRelative(field, name, "file");
  if (path === "") throw invalidArgument(field, "names the work dir itself; give a file name");
  return path;
}

/** `cwd`: the same rules; "" (or ".") is the work dir itself. */
export function validateCwd(cwd: string): string {
  return cwd === "" ? "" : normalizeRelative("cwd", cwd, "directory");
}

/**
 * Thrown (INVALID_ARGUMENT) when a name breaks a path rule, two names are the same path, a file is
 * also a parent directory of another (`a` and `a/b`), a mode names no file or is above 0o7777, or the
 * files exceed session.max_files / session.max_files_bytes. Returns the files sorted by path.
 */
export function validateInputFiles(
  files: ReadonlyMap<string, Buffer>,
  modes: ReadonlyMap<string, number>,
  quotas: { readonly maxFiles: number; readonly maxFilesBytes: number },
): ValidatedFile[] {
  if (files.size > quotas.maxFiles) {
    throw invalidArgument(
      "files",
      `has ${files.size} entries, more than session.max_files (${quotas.maxFiles}); send fewer files or an archive`,
    );
  }
  let totalBytes = 0;
  for (const content of files.values()) totalBytes += content.byteLength;
  if (totalBytes > quotas.maxFilesBytes) {
    throw invalidArgument("files", `holds ${totalBytes} bytes, more than session.max_files_bytes (${quotas.maxFilesBytes})`);
  }
  for (const [name, mode] of modes) {
    if (!files.has(name)) throw invalidArgument(`file_modes[${quoteKey(name)}]`, "names no entry of `files`");
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
      throw invalidArgument(`file_modes[${quoteKey(name)}]`, `expected permission bits up to 0o7777, got ${mode}`);
    }
  }
  const byPath = new Map<string, string>();
  const validated: ValidatedFile[] = [];
  for (const [name, content] of files) {
    const field = `files[${quoteKey(name)}]`;
    const path = validateInputPath(field, name);
    const other = byPath.get(path);
    if (other !== undefined) throw invalidArgument(field, `is the same path as files[${quoteKey(other)}] (${path})`);
    byPath.set(path, name);
    // Setuid, setgid and sticky bits are never honoured: the job must not mint privileged files.
    validated.push({ path, content, mode: (modes.get(name) ?? DEFAULT_FILE_MODE) & 0o777 });
  }
  for (const [path, name] of byPath) {
    for (let slash = path.indexOf("/"); slash !== -1; slash = path.indexOf("/", slash + 1)) {
      const parent = byPath.get(path.slice(0, slash));
      if (parent !== undefined)
        throw invalidArgument(`files[${quoteKey(parent)}]`, `is a file, but files[${quoteKey(name)}] needs it to be a directory`);
    }
  }
  return validated.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * `artifacts` (or another list of glob patterns named `field`, e.g. `workspace.remote_only`): glob
 * patterns relative to the output dir (see shared/src/glob-match.ts). The same path rules apply, so no
 * pattern can reach outside; "./" prefixes are dropped. Returns the normalised patterns.
 */
export function validateArtifactPatterns(patterns: readonly string[], field = "artifacts"): string[] {
  if (patterns.length > MAX_ARTIFACT_PATTERNS) {
    throw invalidArgument(field, `has ${patterns.length} patterns, more than ${MAX_ARTIFACT_PATTERNS}; use {a,b} or ** to combine them`);
  }
  return patterns.map((pattern, index) => {
    const item = `${field}[${index}]`;
    const normalized = validateInputPath(item, pattern);
    try {
      compileGlob(normalized);
    } catch (error) {
      if (error instanceof GlobSyntaxError) throw invalidArgument(item, `is not a valid glob pattern: ${error.message}`);
      throw error;
    }
    return normalized;
  });
}

/** A map key as it appears in a field name: JSON-quoted (control characters escaped), and bounded. */
function quoteKey(key: string): string {
  return JSON.stringify(key.length > 256 ? `${key.slice(0, 256)}...` : key);
}

// C0 controls, DEL, C1 controls, and UTF-16 surrogates that are not part of a pair.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function normalizeRelative(field: string, name: string, names: "file" | "directory"): string {
  if (name === "") throw invalidArgument(field, "is empty");
  if (Buffer.byteLength(name) > MAX_PATH_BYTES) throw invalidArgument(field, `is longer than ${MAX_PATH_BYTES} bytes`);
  const forbidden = FORBIDDEN.exec(name);
  if (forbidden) {
    const code = (forbidden[0].codePointAt(0) as number).toString(16).padStart(4, "0");
    throw invalidArgument(field, `contains the control or invalid character U+${code.toUpperCase()}`);
  }
  if (name.includes("\\")) throw invalidArgument(field, "contains a backslash; separate directories with /");
  if (name.startsWith("/")) throw invalidArgument(field, "is absolute; give a path relative to the work dir");
  if (names === "file" && name.endsWith("/")) throw invalidArgument(field, "ends with /; give a file name");
  const segments: string[] = [];
  for (const segment of name.split("/")) {
    if (segment === "..") throw invalidArgument(field, "contains a `..` segment; paths must stay inside the work dir");
    if (segment === "" || segment === ".") continue;
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) {
      throw invalidArgument(field, `has a segment longer than ${MAX_SEGMENT_BYTES} bytes (${JSON.stringify(segment.slice(0, 32))}...)`);
    }
    segments.push(segment);
  }
  return segments.join("/");
}
