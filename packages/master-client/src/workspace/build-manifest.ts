/**
 * A local directory as a manifest: a stat walk that never follows a link, leaves out `.git`,
 * ignored and remote-only paths, and hashes only files the cache does not vouch for.
 */
import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from "node:fs";
import { InvalidArgumentError } from "../errors.js";
import { STAGING_PREFIX } from "./change-path.js";
import { forEachBounded } from "./for-each-bounded.js";
import { type HashCache, sha256File } from "./hash-cache.js";
import { GitignoreRules } from "./ignore-rules.js";
import type { CompiledWorkspaceOptions } from "./workspace-options.js";

/** A regular file of the tree, with where to read it for an upload. */
export interface LocalFile {
  path: string;
  absolutePath: string;
  sha256: string;
  size: number;
  /** Its permission bits (setuid, setgid and sticky left out). */
  mode: number;
}

export interface LocalLink {
  path: string;
  symlinkTarget: string;
}

export interface LocalManifest {
  /** Sorted by path, like `links`. */
  files: LocalFile[];
  links: LocalLink[];
  /** Files read and hashed for this manifest (the others kept the cache's digest). */
  hashedFiles: number;
  /** FIFOs, sockets and devices: left out, since only files and links travel. */
  skippedSpecial: number;
}

/** Hashes at once: enough to overlap reads with hashing, few enough to keep descriptors bounded. */
const HASH_CONCURRENCY = 8;

type Limits = Pick<CompiledWorkspaceOptions, "gitignore" | "isRemoteOnly" | "maxEntries" | "maxBytes">;

/**
 * @param root an absolute, real (symlink-free) directory
 * @throws InvalidArgumentError naming `maxEntries` or `maxBytes` when the tree holds more
 */
export async function buildManifest(root: string, limits: Limits, cache: HashCache): Promise<LocalManifest> {
  const found: { path: string; absolutePath: string; stats: BigIntStats }[] = [];
  const links: LocalLink[] = [];
  let skippedSpecial = 0;
  let bytes = 0;

  const checkEntries = (): void => {
    if (found.length + links.length > limits.maxEntries) {
      throw new InvalidArgumentError(
        `maxEntries: ${root} holds more than ${limits.maxEntries} files and links outside ignored and remote-only paths; ` +
          `raise \`maxEntries\`, or list large generated trees in .gitignore or \`remoteOnly\``,
        { field: "maxEntries" },
      );
    }
  };

  // Synchronous calls in slices of at most 5 ms: a stat is a microsecond or two of kernel work, and
  // a thread-pool round trip for each costs several times that (62-121 ms for 2,000 files, against
  // 15-25 ms so), while the slices keep the caller's event loop turning on a large tree.
  let sliceStart = performance.now();
  const pace = async (): Promise<void> => {
    if (performance.now() - sliceStart < 5) return;
    await new Promise((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  };
  const walk = async (dir: string, absoluteDir: string, parentRules: GitignoreRules): Promise<void> => {
    const entries = readdirSync(absoluteDir, { withFileTypes: true });
    const hasGitignore = limits.gitignore && entries.some((entry) => entry.name === ".gitignore");
    const rules = hasGitignore ? parentRules.enter(dir, absoluteDir) : parentRules;
    for (const entry of entries) {
      const { name } = entry;
      if (name === ".git" || name.startsWith(STAGING_PREFIX)) continue;
      const path = dir === "" ? name : `${dir}/${name}`;
      const absolutePath = `${absoluteDir}/${name}`;
      const directory = entry.isDirectory();
      const matched = directory ? `${path}/` : path;
      if (rules.ignores(matched) || limits.isRemoteOnly(matched)) continue;
      if (directory) {
        await walk(path, absolutePath, rules);
      } else if (entry.isSymbolicLink()) {
        links.push({ path, symlinkTarget: readlinkSync(absolutePath) });
      } else if (entry.isFile()) {
        const stats = lstatSync(absolutePath, { bigint: true, throwIfNoEntry: false });
        if (!stats?.isFile()) continue; // gone or replaced since the listing
        found.push({ path, absolutePath, stats });
        bytes += Number(stats.size);
        if (bytes > limits.maxBytes) {
          throw new InvalidArgumentError(
            `maxBytes: the files of ${root} outside ignored and remote-only paths hold more than ${limits.maxBytes} bytes; ` +
              `raise \`maxBytes\`, or list large files in .gitignore or \`remoteOnly\``,
            { field: "maxBytes" },
          );
        }
      } else {
        skippedSpecial += 1;
      }
      checkEntries();
      await pace();
    }
  };
  await walk("", root, GitignoreRules.none);

  let hashedFiles = 0;
  const files: LocalFile[] = new Array<LocalFile>(found.length);
  await forEachBounded(found, HASH_CONCURRENCY, async ({ path, absolutePath, stats }, index) => {
    let sha256 = cache.get(path, stats);
    if (sha256 === undefined) {
      sha256 = await sha256File(absolutePath);
      cache.set(path, stats, sha256);
      hashedFiles += 1;
    }
    files[index] = { path, absolutePath, sha256, size: Number(stats.size), mode: Number(stats.mode & 0o777n) };
  });
  cache.retain(new Set(found.map((file) => file.path)));

  const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  return { files: files.sort(byPath), links: links.sort(byPath), hashedFiles, skippedSpecial };
}
