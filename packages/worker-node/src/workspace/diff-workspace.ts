import { closeSync, constants, openSync, readSync, readlinkSync, type Dirent } from "node:fs";
import { ChangeKind, compileGlob, EntryType, type WorkspaceChange, type WorkspaceChanges } from "@opencode-worker/shared";
import { sameDigest, type Digest } from "../blobs/digest.js";
import { errnoCode } from "../config/errno-code.js";
import { DirectoryCursor, type Directory } from "../files/directory-cursor.js";
import { EventLoopPacer } from "../files/event-loop-pacer.js";
import { identityOf, type FileIdentity } from "./materialize-workspace.js";
import type { ManifestEntry } from "./validate-workspace.js";
import type { ScopedBlobs } from "./workspace-blobs.js";

export interface DiffOptions {
  /**
   * When the work dir is an overlay of a tree holding exactly the manifest (mounted with redirect_dir=off,
   * sandbox/bwrap/mounts/workspace-overlay.ts): its upper dir. Only what upper holds is compared then.
   */
  readonly upperDir?: string;
  /** The validated manifest the work dir was materialized from. */
  readonly manifest: readonly ManifestEntry[];
  /** Each materialized file's identity once it was ready (materialize-workspace.ts). */
  readonly identities: ReadonlyMap<string, FileIdentity>;
  /** Workspace.remote_only, validated. */
  readonly remoteOnly: readonly string[];
  /** Where changed files are stored (the job caller's scope). */
  readonly blobs: Pick<ScopedBlobs, "storeFile">;
  /** workspace.max_entries: with max_changes, bounds the entries the walk visits. */
  readonly maxEntries: number;
  /** workspace.max_changes */
  readonly maxChanges: number;
  /** workspace.max_change_bytes: bytes of files hashed into the store. */
  readonly maxChangeBytes: number;
  /** workspace.inline_bytes */
  readonly inlineBytes: number;
}

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * COLLECT's comparison of the work dir with its manifest, once the job's whole process tree is dead.
 * The walk is COLLECT's artifact walk's (files/directory-cursor.ts): lstat-level types only, each
 * directory entered from its parent's descriptor, no link ever followed, no FIFO or device opened.
 * - A file whose lstat identity (inode, size, mtime, ctime, mode) is the one materializing left is
 *   unchanged without being read; any other file is hashed into the blob store (BlobStore.storeFile)
 *   and is a change only if its digest or permission bits differ (a `touch` is no change).
 * - Links are compared by target; FIFOs, sockets and devices are ENTRY_TYPE_SPECIAL; a path whose
 *   type changed is MODIFIED with its new type; a file or link replaced by a directory is DELETED
 *   and what the directory holds ADDED (no entry type is a directory, and empty ones are not
 *   reported, as in git); a manifest entry gone is DELETED (a deleted directory: each entry under it).
 * - Under Workspace.remote_only a change carries its digest, never its content, and remote_only.
 * - Files up to `inlineBytes` carry their content (fit-result.ts may drop it for room).
 * Caps: at most maxEntries + maxChanges entries visited, maxChanges changes, maxChangeBytes hashed;
 * beyond any (or at a name that is not UTF-8, which no proto string can carry) the list is
 * `truncated` with the reason, and deletions are reported only when the whole tree was seen.
 * Sorted by path.
 *
 * Over an overlay (`upperDir`), the work dir is walked as it is (merged), each of its directories beside the
 * same one in upper: an entry upper lacks comes from the lower tree at the same path, which holds exactly the
 * manifest, so it is unchanged without an lstat, and a directory upper lacks is unchanged whole and not
 * entered. An entry upper holds is compared as above; a manifest entry the merged view lacks (a whiteout, an
 * opaque directory) is DELETED, found from the merged view alone, never from overlayfs' xattrs.
 */
export async function diffWorkspace(workDir: string, options: DiffOptions): Promise<WorkspaceChanges> {
  const differ = new Differ(options);
  await differ.walk(workDir, options.upperDir);
  return differ.result();
}

/** A directory of the walk, and the same one in the overlay's upper dir when there is one. */
interface Pending {
  readonly merged: Directory;
  readonly upper?: Directory;
}

class Differ {
  private readonly changes: WorkspaceChange[] = [];
  private readonly manifest: ReadonlyMap<string, ManifestEntry>;
  private readonly seen = new Set<string>();
  /** Directories the overlay's upper dir lacks: the lower tree's, all they hold unchanged. */
  private readonly unchangedDirectories = new Set<string>();
  private readonly remoteOnly: ((path: string) => boolean)[];
  private readonly pacer = new EventLoopPacer();
  private visited = 0;
  private hashedBytes = 0;
  private truncatedReason: string | undefined;

  constructor(private readonly options: DiffOptions) {
    this.manifest = new Map(options.manifest.map((entry) => [entry.path, entry]));
    this.remoteOnly = options.remoteOnly.map(compileGlob);
  }

  result(): WorkspaceChanges {
    // Only a whole walk tells a deletion from a path the walk never reached.
    if (this.truncatedReason === undefined) {
      for (const entry of this.options.manifest) {
        if (!this.seen.has(entry.path) && !this.inUnchangedDirectory(entry.path)) this.add(entry.path, ChangeKind.CHANGE_KIND_DELETED, {});
      }
    }
    return {
      changes: this.changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
      truncated: this.truncatedReason !== undefined,
      truncatedReason: this.truncatedReason ?? "",
    };
  }

  async walk(workDir: string, upperDir: string | undefined): Promise<void> {
    let cursor: DirectoryCursor;
    let upper: DirectoryCursor | undefined;
    try {
      cursor = DirectoryCursor.open(workDir);
    } catch (error) {
      return this.truncate(`the work dir cannot be read (${errnoCode(error)}): the job replaced it`);
    }
    try {
      if (upperDir !== undefined) upper = DirectoryCursor.open(upperDir);
    } catch (error) {
      cursor.close();
      return this.truncate(`the work dir's upper dir cannot be read (${errnoCode(error)})`);
    }
    try {
      const pending: Pending[] = [{ merged: cursor.directory, ...(upper && { upper: upper.directory }) }];
      for (let next = pending.pop(); next !== undefined && !this.isTruncated(); next = pending.pop()) {
        const directory = next.merged;
        const refusal = cursor.moveTo(directory) ?? (next.upper && upper?.moveTo(next.upper));
        if (refusal !== undefined) {
          this.truncate(`${directory.path}: ${refusal}`);
          break;
        }
        // Names as latin1, which keeps every byte: the keys of what upper holds in this directory.
        const changed = upper && new Set((await this.entries(upper)).map((entry) => entry.name.toString("latin1")));
        const subdirectories: Pending[] = [];
        for (const entry of await this.entries(cursor)) {
          if (this.isTruncated()) break;
          if (++this.visited > this.options.maxEntries + this.options.maxChanges) {
            this.truncate(
              `the work dir holds more than ${this.options.maxEntries + this.options.maxChanges} entries (workspace.max_entries + workspace.max_changes)`,
            );
            break;
          }
          const name = this.decode(directory, entry.name);
          if (name === undefined) break;
          const path = directory.path === "" ? name : `${directory.path}/${name}`;
          if (this.manifest.has(path)) this.seen.add(path);
          if (changed && !changed.has(entry.name.toString("latin1"))) {
            if (entry.isDirectory()) this.unchangedDirectories.add(path);
          } else if (entry.isDirectory()) {
            // A file or link that became a directory is gone as what it was.
            if (this.manifest.has(path)) this.add(path, ChangeKind.CHANGE_KIND_DELETED, {});
            subdirectories.push({
              merged: { path, name: entry.name, parent: directory },
              ...(next.upper && { upper: { path, name: entry.name, parent: next.upper } }),
            });
          } else {
            await this.compare(path, cursor.inside(entry.name), entry);
          }
          await this.pacer.pace();
        }
        for (let index = subdirectories.length - 1; index >= 0; index--) pending.push(subdirectories[index]!);
      }
    } finally {
      cursor.close();
      upper?.close();
    }
  }

  /** Whether a directory on the way to `path` is one the overlay's upper dir lacks. */
  private inUnchangedDirectory(path: string): boolean {
    for (let slash = path.indexOf("/"); slash !== -1; slash = path.indexOf("/", slash + 1)) {
      if (this.unchangedDirectories.has(path.slice(0, slash))) return true;
    }
    return false;
  }

  /** Records the change, if any, at `path` (not a directory): `full` reaches it from the cursor. */
  private async compare(path: string, full: Buffer, entry: Dirent<Buffer>): Promise<void> {
    const expected = this.manifest.get(path);
    const kind = expected ? ChangeKind.CHANGE_KIND_MODIFIED : ChangeKind.CHANGE_KIND_ADDED;
    if (entry.isSymbolicLink()) {
      const target = this.decodeTarget(path, readlinkSync(full, { encoding: "buffer" }));
      if (target === undefined || (expected?.kind === "link" && expected.target === target)) return;
      return this.add(path, kind, { type: EntryType.ENTRY_TYPE_SYMLINK, symlinkTarget: target });
    }
    if (!entry.isFile()) return this.add(path, kind, { type: EntryType.ENTRY_TYPE_SPECIAL });
    const identity = identityOf(full);
    const before = this.options.identities.get(path);
    if (expected?.kind === "file" && before !== undefined && sameIdentity(before, identity)) return;
    const size = Number(identity.size);
    if (this.hashedBytes + size > this.options.maxChangeBytes) {
      return this.truncate(`changed files hold more than workspace.max_change_bytes (${this.options.maxChangeBytes})`);
    }
    this.hashedBytes += size;
    let digest: Digest;
    try {
      digest = await this.options.blobs.storeFile(full.toString());
    } catch (error) {
      // The store, not the job, failed (full, unwritable): what was found so far still comes back.
      return this.truncate(`${JSON.stringify(path)} could not be stored: ${error instanceof Error ? error.message : String(error)}`);
    }
    const mode = Number(identity.mode) & 0o777;
    if (expected?.kind === "file" && sameDigest(expected.digest, digest) && expected.mode === mode) return;
    const inline = digest.sizeBytes <= this.options.inlineBytes && !this.isRemoteOnly(path);
    this.add(path, kind, {
      type: EntryType.ENTRY_TYPE_FILE,
      digest: { sha256: digest.sha256, sizeBytes: String(digest.sizeBytes) },
      mode,
      ...(inline && { content: readInline(full, digest.sizeBytes), contentInline: true }),
    });
  }

  private add(path: string, kind: ChangeKind, change: Partial<WorkspaceChange>): void {
    if (this.changes.length >= this.options.maxChanges) {
      return this.truncate(`more than workspace.max_changes (${this.options.maxChanges}) changes`);
    }
    this.changes.push({
      path,
      kind,
      type: EntryType.ENTRY_TYPE_UNSPECIFIED,
      mode: 0,
      symlinkTarget: "",
      content: Buffer.alloc(0),
      contentInline: false,
      remoteOnly: this.isRemoteOnly(path),
      ...change,
    });
  }

  /** The current directory's entries, by name; none (and truncated) when it cannot be read. */
  private async entries(cursor: DirectoryCursor): Promise<Dirent<Buffer>[]> {
    try {
      return await cursor.entries(() => this.pacer.pace());
    } catch (error) {
      this.truncate(`${cursor.directory.path || "."}: directory cannot be read (${errnoCode(error)})`);
      return [];
    }
  }

  private decode(directory: Directory, name: Buffer): string | undefined {
    try {
      return utf8.decode(name);
    } catch {
      this.truncate(`a name in ${JSON.stringify(directory.path || ".")} is not UTF-8, which a result cannot carry`);
      return undefined;
    }
  }

  private decodeTarget(path: string, target: Buffer): string | undefined {
    try {
      return utf8.decode(target);
    } catch {
      this.truncate(`the target of the link ${JSON.stringify(path)} is not UTF-8, which a result cannot carry`);
      return undefined;
    }
  }

  private isRemoteOnly(path: string): boolean {
    return this.remoteOnly.some((matches) => matches(path));
  }

  private isTruncated(): boolean {
    return this.truncatedReason !== undefined;
  }

  /** The first reason wins. */
  private truncate(reason: string): void {
    this.truncatedReason ??= reason;
  }
}

function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.mode === b.mode;
}

/** The content of a file just hashed: the tree is dead, so it still holds what was hashed. */
function readInline(full: Buffer, size: number): Buffer {
  const fd = openSync(full, READ_FLAGS);
  try {
    const content = Buffer.alloc(size);
    let read = 0;
    for (let bytes = -1; read < size && bytes !== 0; read += bytes) bytes = readSync(fd, content, read, size - read, read);
    if (read !== size) throw new Error(`a changed file shrank from ${size} to ${read} bytes while the job was dead`);
    return content;
  } finally {
    closeSync(fd);
  }
}
