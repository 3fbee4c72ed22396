import type { Workspace } from "@opencode-worker/shared";
import { parseDigest, type Digest } from "../blobs/digest.js";
import { invalidArgument } from "../errors.js";
import { validateArtifactPatterns, validateInputPath } from "../security/path-guard.js";

/** One entry of a validated manifest: a regular file (content by digest) or a symbolic link. */
export type ManifestEntry =
  | { readonly kind: "file"; readonly path: string; readonly digest: Digest; readonly mode: number }
  | { readonly kind: "link"; readonly path: string; readonly target: string };

/** JobSpec.workspace after validation: entries sorted by path, remote_only patterns normalised. */
export interface ValidatedWorkspace {
  readonly entries: readonly ManifestEntry[];
  readonly remoteOnly: readonly string[];
  /** Content bytes of all files: what materializing writes into the session's disk. */
  readonly totalBytes: number;
}

export interface WorkspaceQuotas {
  /** workspace.max_entries */
  readonly maxEntries: number;
  /** workspace.max_bytes */
  readonly maxBytes: number;
}

const DEFAULT_FILE_MODE = 0o644;
const MAX_TARGET_BYTES = 4096;

/**
 * Thrown (INVALID_ARGUMENT naming the field as the proto spells it, e.g. `workspace.entries[3].path`)
 * when an entry breaks JobSpec.files' path rules, two entries are the same path, an entry is also a
 * directory on another's path (a file or link cannot be a directory too: that is what stops a
 * manifest from writing through its own link), an entry's path is one of `files` or on its way (or
 * the other way round), `cwd` is or goes through an entry, a mode is above 0o7777, an entry has both
 * or neither of digest and symlink_target, a target is too long or holds NUL, the counts or bytes
 * exceed workspace.max_entries / max_bytes, or a remote_only pattern is no glob.
 */
export function validateWorkspace(
  workspace: Workspace,
  others: { readonly filePaths: readonly string[]; readonly cwd: string },
  quotas: WorkspaceQuotas,
): ValidatedWorkspace {
  if (workspace.entries.length > quotas.maxEntries) {
    throw invalidArgument(
      "workspace.entries",
      `has ${workspace.entries.length} entries, more than workspace.max_entries (${quotas.maxEntries})`,
    );
  }
  let totalBytes = 0;
  const byPath = new Map<string, string>();
  const entries = workspace.entries.map((entry, index): ManifestEntry => {
    const field = `workspace.entries[${index}]`;
    const path = validateInputPath(`${field}.path`, entry.path);
    const other = byPath.get(path);
    if (other !== undefined) throw invalidArgument(`${field}.path`, `is the same path as ${other}.path (${quote(path)})`);
    byPath.set(path, field);
    if ((entry.digest === undefined) === (entry.symlinkTarget === "")) {
      throw invalidArgument(field, "set exactly one of `digest` (a regular file) and `symlink_target` (a symbolic link)");
    }
    if (entry.digest === undefined) return { kind: "link", path, target: validateTarget(`${field}.symlink_target`, entry.symlinkTarget) };
    if (!Number.isInteger(entry.mode) || entry.mode < 0 || entry.mode > 0o7777) {
      throw invalidArgument(`${field}.mode`, `expected permission bits up to 0o7777, got ${entry.mode}`);
    }
    const digest = parseDigest(`${field}.digest`, entry.digest);
    totalBytes += digest.sizeBytes;
    // Setuid, setgid and sticky bits are never honoured, as for JobSpec.file_modes.
    return { kind: "file", path, digest, mode: (entry.mode === 0 ? DEFAULT_FILE_MODE : entry.mode) & 0o777 };
  });
  if (totalBytes > quotas.maxBytes) {
    throw invalidArgument("workspace.entries", `hold ${totalBytes} bytes, more than workspace.max_bytes (${quotas.maxBytes})`);
  }
  checkNesting(byPath, others);
  return {
    entries: entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    remoteOnly: validateArtifactPatterns(workspace.remoteOnly, "workspace.remote_only"),
    totalBytes,
  };
}

/** No entry, input file or the cwd may need an entry to be a directory, and no path is both an entry and a file. */
function checkNesting(byPath: ReadonlyMap<string, string>, others: { readonly filePaths: readonly string[]; readonly cwd: string }): void {
  const entryOnPath = (path: string): string | undefined => {
    for (let slash = path.indexOf("/"); slash !== -1; slash = path.indexOf("/", slash + 1)) {
      const parent = byPath.get(path.slice(0, slash));
      if (parent !== undefined) return parent;
    }
    return undefined;
  };
  for (const [path, field] of byPath) {
    const parent = entryOnPath(path);
    if (parent !== undefined)
      throw invalidArgument(`${parent}.path`, `is a file or link, but ${field}.path (${quote(path)}) needs it to be a directory`);
  }
  const files = new Set(others.filePaths);
  for (const path of others.filePaths) {
    const field = byPath.get(path) ?? entryOnPath(path);
    if (field !== undefined)
      throw invalidArgument(`${field}.path`, `is, or is on the way to, files[${quote(path)}]; a path is in one of them only`);
  }
  for (const [path, field] of byPath) {
    for (let slash = path.indexOf("/"); slash !== -1; slash = path.indexOf("/", slash + 1)) {
      const file = path.slice(0, slash);
      if (files.has(file)) throw invalidArgument(`${field}.path`, `needs files[${quote(file)}] to be a directory`);
    }
  }
  if (others.cwd !== "") {
    const field = byPath.get(others.cwd) ?? entryOnPath(`${others.cwd}/`);
    if (field !== undefined) throw invalidArgument("cwd", `must be a directory, but ${field} is a file or link on its path`);
  }
}

function validateTarget(field: string, target: string): string {
  if (target.includes("\0")) throw invalidArgument(field, "contains a NUL byte");
  if (Buffer.byteLength(target) > MAX_TARGET_BYTES) throw invalidArgument(field, `is longer than ${MAX_TARGET_BYTES} bytes`);
  return target;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 256 ? `${text.slice(0, 256)}...` : text);
}
