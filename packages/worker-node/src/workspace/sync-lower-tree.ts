import { mkdirSync, rmdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { sameDigest } from "../blobs/digest.js";
import { removeTree } from "../files/remove-tree.js";
import { directoriesOf, materializeWorkspace } from "./materialize-workspace.js";
import type { ManifestEntry } from "./validate-workspace.js";
import type { ScopedBlobs } from "./workspace-blobs.js";

/** What a slot's lower tree holds: a manifest, built from the blobs of one caller scope. */
export interface LowerTree {
  readonly scope: string;
  readonly entries: ReadonlyMap<string, ManifestEntry>;
}

export interface SyncedTree {
  readonly tree: LowerTree;
  /** Files copied from the blob store: 0 when the tree already held the manifest. */
  readonly copied: number;
}

/**
 * PREPARE's sync of a slot's lower tree (sandbox/bwrap/mounts/workspace-overlay.ts) to a job's manifest,
 * incrementally: the entries of `held` that the manifest lacks or has otherwise (digest, mode, kind, link
 * target) are removed, then the directories nothing needs any more, then what is missing is materialized
 * (materialize-workspace.ts: dirs, files, links, owned by `owner`). The same manifest costs no write at all.
 *
 * The tree is wiped and rebuilt when `held` is unknown (never synced, a failed sync, a worker restart) or
 * another caller's: a tree built from one caller's blobs never serves another. The caller forgets `held`
 * before the call and keeps the result only once it returned, so a failure half-way means a wipe next time.
 *
 * Paths are resolved through the tree: only the worker ever wrote it (no job reaches it; a job's writes go to
 * its overlay's upper dir), and validation made sure no manifest entry lies under a file or link of the same
 * manifest, so every directory on a path is one a sync made. Removals unlink (never following a link).
 */
export async function syncLowerTree(
  dir: string,
  held: LowerTree | undefined,
  scope: string,
  entries: readonly ManifestEntry[],
  blobs: Pick<ScopedBlobs, "pathOf">,
  owner: { readonly uid: number; readonly gid: number },
): Promise<SyncedTree> {
  const wanted = new Map(entries.map((entry) => [entry.path, entry]));
  let kept: ReadonlyMap<string, ManifestEntry> = new Map();
  // Directories on disk after the removals: materializing makes only the others.
  let present = new Set<string>();
  if (held === undefined || held.scope !== scope) {
    await removeTree(dir);
    mkdirSync(dir, { mode: 0o755 });
  } else {
    const stale = [...held.entries.values()].filter((entry) => !sameEntry(entry, wanted.get(entry.path)));
    for (const entry of stale) unlinkSync(join(dir, entry.path));
    const needed = directoriesOf(entries);
    const [stay, go] = partition([...directoriesOf(held.entries.values())], (directory) => needed.has(directory));
    // Deepest first (a child's path sorts after its parent's): each is empty once its entries are gone.
    for (const directory of go.sort().reverse()) rmdirSync(join(dir, directory));
    present = new Set(stay);
    kept = new Map([...held.entries].filter(([path, entry]) => sameEntry(entry, wanted.get(path))));
  }
  const missing = entries.filter((entry) => !kept.has(entry.path));
  await materializeWorkspace(dir, missing, blobs, owner, present);
  return { tree: { scope, entries: wanted }, copied: missing.filter((entry) => entry.kind === "file").length };
}

function sameEntry(a: ManifestEntry, b: ManifestEntry | undefined): boolean {
  if (b === undefined) return false;
  if (a.kind === "file") return b.kind === "file" && a.mode === b.mode && sameDigest(a.digest, b.digest);
  return b.kind === "link" && a.target === b.target;
}

function partition<T>(items: readonly T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}
