/**
 * Applies a job's workspace changes to the local root, all or nothing and only inside it. Every
 * change is checked first (its path, then what lstat finds on the way); the accepted ones are
 * staged in a directory inside the root (same filesystem, so renames are atomic), and only when
 * every content is staged are they moved into place. A refused change is reported, never written.
 */
import { createHash } from "node:crypto";
import { chmod, lstat, mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { InternalError } from "../errors.js";
import type { WorkspaceChange } from "../job-result.js";
import type { BlobDigest } from "./blob-digest.js";
import { entryKind, parentProblem, pathProblem, STAGING_PREFIX } from "./change-path.js";
import { forEachBounded } from "./for-each-bounded.js";
import type { HashCache } from "./hash-cache.js";

/** ReadBlob calls and file writes in flight at once: enough to hide each one's round trip. */
const PARALLEL_FILES = 8;

/** What an apply did to the root. */
export interface AppliedChanges {
  added: string[];
  modified: string[];
  deleted: string[];
  /** Changes under a remote-only path: kept on the worker, not written here. */
  remoteOnly: number;
  /** Changes not applied, and why: a hostile or unappliable path, a FIFO or device. */
  refused: { path: string; reason: string }[];
  /** The worker's list was truncated: it was applied as far as it went, and other paths may differ. */
  truncated: boolean;
}

export interface ApplyContext {
  /** An absolute, real (symlink-free) directory. */
  root: string;
  isRemoteOnly(path: string): boolean;
  readBlob(digest: BlobDigest): Promise<Buffer>;
  /** Told of every file written, so the next manifest does not hash it again. */
  cache: HashCache;
}

interface Plan {
  deletions: WorkspaceChange[];
  creations: WorkspaceChange[];
  remoteOnly: WorkspaceChange[];
  refused: { path: string; reason: string }[];
}

/**
 * @returns what was applied, and the remote-only changes (for the caller's next manifest)
 * @throws when a content cannot be had (readBlob) or staged: then nothing was applied
 */
export async function applyChanges(
  changes: readonly WorkspaceChange[],
  truncated: boolean,
  context: ApplyContext,
): Promise<{ applied: AppliedChanges; remoteOnly: WorkspaceChange[] }> {
  const plan = await planChanges(changes, context);
  const staged = await stage(plan.creations, context);
  for (const change of plan.deletions) await unlink(`${context.root}/${change.path}`);
  await forEachBounded(plan.creations, PARALLEL_FILES, async (change, index) => {
    const target = `${context.root}/${change.path}`;
    await mkdir(dirname(target), { recursive: true });
    await rename(`${staged}/${index}`, target);
    if (change.type === "file") context.cache.set(change.path, await lstat(target, { bigint: true }), change.sha256!);
  });
  await rm(staged, { recursive: true, force: true });
  const pathsOf = (kind: WorkspaceChange["kind"]): string[] => plan.creations.filter((c) => c.kind === kind).map((c) => c.path);
  return {
    applied: {
      added: pathsOf("added"),
      modified: pathsOf("modified"),
      deleted: plan.deletions.map((change) => change.path),
      remoteOnly: plan.remoteOnly.length,
      refused: plan.refused,
      truncated,
    },
    remoteOnly: plan.remoteOnly,
  };
}

/** Sorts the changes into what to delete, create, keep remote, or refuse, touching nothing. */
async function planChanges(changes: readonly WorkspaceChange[], context: ApplyContext): Promise<Plan> {
  const plan: Plan = { deletions: [], creations: [], remoteOnly: [], refused: [] };
  const seen = new Set<string>();
  const local: WorkspaceChange[] = [];
  for (const change of changes) {
    const problem = pathProblem(change.path) ?? (seen.has(change.path) ? "listed twice" : undefined) ?? contentProblem(change);
    seen.add(change.path);
    if (problem !== undefined) plan.refused.push({ path: change.path, reason: problem });
    else if (change.remoteOnly || context.isRemoteOnly(change.path)) plan.remoteOnly.push(change);
    else local.push(change);
  }
  const removed = new Set(local.filter((change) => change.kind === "deleted").map((change) => change.path));
  const created = new Set(local.filter((change) => change.kind !== "deleted").map((change) => change.path));
  // A few lstat calls each, so checked PARALLEL_FILES at a time; sorted in the list's order below.
  const verdicts: Array<{ problem: string } | "apply" | "absent"> = [];
  await forEachBounded(local, PARALLEL_FILES, async (change, index) => {
    const problem = (await parentProblem(context.root, change.path, removed)) ?? (await targetProblem(change, context.root, created));
    if (problem !== undefined) verdicts[index] = { problem };
    else if (change.kind === "deleted" && (await entryKind(`${context.root}/${change.path}`)) === "none") verdicts[index] = "absent";
    else verdicts[index] = "apply";
  });
  for (const [index, change] of local.entries()) {
    const verdict = verdicts[index];
    if (typeof verdict === "object") plan.refused.push({ path: change.path, reason: verdict.problem });
    else if (verdict === "apply") (change.kind === "deleted" ? plan.deletions : plan.creations).push(change);
  }
  return plan;
}

function contentProblem(change: WorkspaceChange): string | undefined {
  if (change.kind === "deleted") return undefined;
  if (change.type === "file") return change.sha256 === undefined ? "a file change without a digest" : undefined;
  if (change.type === "symlink") {
    return !change.symlinkTarget || change.symlinkTarget.includes("\0") ? "a link without a valid target" : undefined;
  }
  return `a ${change.type === "special" ? "FIFO, socket or device" : "change of no known type"}, which is not created locally`;
}

/** Why the change's own path cannot take it: a directory in the way, or a new parent the same list makes a file. */
async function targetProblem(change: WorkspaceChange, root: string, created: ReadonlySet<string>): Promise<string | undefined> {
  const segments = change.path.split("/");
  for (let depth = 1; depth < segments.length; depth++) {
    const parent = segments.slice(0, depth).join("/");
    if (created.has(parent)) return `\`${parent}\` is made a file or link by the same change list`;
  }
  if ((await entryKind(`${root}/${change.path}`)) === "directory") return "a directory is in its place locally";
  return undefined;
}

/**
 * Writes every new content into a fresh staging dir inside the root, named by index: checked
 * against its digest, with its mode. Contents not inline are read PARALLEL_FILES at a time (one
 * ReadBlob each, so a round trip each). On any failure the staging dir is removed once nothing
 * writes into it any more, and the error thrown.
 */
async function stage(creations: readonly WorkspaceChange[], context: ApplyContext): Promise<string> {
  const staged = await mkdtemp(`${context.root}/${STAGING_PREFIX}`);
  try {
    await forEachBounded(creations, PARALLEL_FILES, async (change, index) => {
      const at = `${staged}/${index}`;
      if (change.type === "symlink") return symlink(change.symlinkTarget!, at);
      const digest = { sha256: change.sha256!, size: change.size ?? 0 };
      const content = change.content ?? (await context.readBlob(digest));
      if (content.length !== digest.size || createHash("sha256").update(content).digest("hex") !== digest.sha256) {
        throw new InternalError(`${change.path}: the content the worker sent does not match its digest ${digest.sha256}`);
      }
      await writeFile(at, content, { flag: "wx" });
      // Permission bits only: a setuid bit from a remote command is never kept.
      await chmod(at, (change.mode || 0o644) & 0o777);
    });
  } catch (error) {
    await rm(staged, { recursive: true, force: true });
    throw error;
  }
  return staged;
}
