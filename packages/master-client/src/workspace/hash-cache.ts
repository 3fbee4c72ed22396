/**
 * Incremental hashing: a file whose inode, size, mtime and ctime (in ns) are those it had when it
 * was last hashed keeps its sha256, so an unchanged tree costs a stat walk, not a read of every
 * byte. ctime catches a rewrite that restores the mtime (`touch -d`), the inode a file replaced by rename.
 */
import { createHash } from "node:crypto";
import { createReadStream, type BigIntStats } from "node:fs";
import { pipeline } from "node:stream/promises";

const statKey = (stats: BigIntStats): string => `${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;

export class HashCache {
  readonly #entries = new Map<string, { key: string; sha256: string }>();

  /** The sha256 of the file at `path` (relative, the cache's key) if it is unchanged since it was recorded. */
  get(path: string, stats: BigIntStats): string | undefined {
    const entry = this.#entries.get(path);
    return entry?.key === statKey(stats) ? entry.sha256 : undefined;
  }

  set(path: string, stats: BigIntStats, sha256: string): void {
    this.#entries.set(path, { key: statKey(stats), sha256 });
  }

  /** Keeps only the paths in `present`: files gone from the tree are forgotten. */
  retain(present: ReadonlySet<string>): void {
    for (const path of this.#entries.keys()) if (!present.has(path)) this.#entries.delete(path);
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}
