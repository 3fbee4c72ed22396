import { opendirSync, rmdirSync, unlinkSync, type Dir, type Dirent } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { errnoCode } from "../config/errno-code.js";
import { DirectoryCursor, type Directory } from "./directory-cursor.js";
import { EventLoopPacer } from "./event-loop-pacer.js";

/** What a removal retries, as fs.rm's maxRetries did: something had not yet let go of the tree (a late write, a busy mount). */
const RETRYABLE = new Set(["ENOTEMPTY", "EBUSY", "EMFILE", "ENFILE"]);
const RETRIES = 2;
const RETRY_DELAY_MS = 100;

const lossy = new TextDecoder("utf-8");

/**
 * rm -rf for every tree the worker deletes (session dirs, their trash, the results store): a job
 * shapes these trees, so the removal never resolves a path through them. fs.rm joins paths, so it
 * fails with ENAMETOOLONG on a tree deeper than PATH_MAX and leaves it on disk for good; this walks
 * with files/directory-cursor.ts instead, one directory at a time by name from its parent's
 * descriptor, never following a link (a link is unlinked, whatever it points to), each directory
 * read once: linear in the entries, one descriptor held however deep. An absent `dir` is no error;
 * a `dir` that is itself a link or a file is unlinked. Synchronous calls in slices
 * (event-loop-pacer.ts), so a job's 100,000 files do not stall the worker.
 */
export async function removeTree(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await removeOnce(dir);
    } catch (error) {
      if (attempt >= RETRIES || !RETRYABLE.has(errnoCode(error))) throw error;
      await delay(RETRY_DELAY_MS * (attempt + 1));
    }
  }
}

async function removeOnce(dir: string): Promise<void> {
  let cursor: DirectoryCursor;
  try {
    cursor = DirectoryCursor.open(dir);
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ENOENT") return;
    if (code === "ENOTDIR" || code === "ELOOP") return unlinkUnlessGone(dir);
    throw error;
  }
  const pacer = new EventLoopPacer();
  try {
    // Depth-first: each frame is a directory whose other entries are gone and its subdirectories left to remove.
    const stack = [{ directory: cursor.directory, subdirectories: await removeEntries(cursor, pacer) }];
    for (let top = stack.at(-1); top !== undefined; top = stack.at(-1)) {
      const next = top.subdirectories.pop();
      if (next !== undefined) {
        mustMove(dir, next, cursor.moveTo(next));
        stack.push({ directory: next, subdirectories: await removeEntries(cursor, pacer) });
        continue;
      }
      stack.pop();
      const { parent, name } = top.directory;
      if (parent === undefined) break;
      mustMove(dir, parent, cursor.climbTo(parent));
      rmdirSync(cursor.inside(name));
      await pacer.pace();
    }
  } finally {
    cursor.close();
  }
  rmdirSync(dir);
}

/** Unlinks everything in the cursor's directory but its subdirectories, which it returns. */
async function removeEntries(cursor: DirectoryCursor, pacer: EventLoopPacer): Promise<Directory[]> {
  const parent = cursor.directory;
  const subdirectories: Directory[] = [];
  const others: Buffer[] = [];
  // The whole listing first: unlinking while readdir goes on may make some file systems skip entries.
  let handle: Dir | undefined;
  try {
    // Names as bytes (encoding "buffer"), so one that is not UTF-8 is removed too; @types/node 20
    // declares neither the option nor the Buffer names it yields for opendir, hence the casts.
    handle = opendirSync(cursor.inside(), { encoding: "buffer" as BufferEncoding });
    for (let entry = handle.readSync() as Dirent<Buffer> | null; entry !== null; entry = handle.readSync() as Dirent<Buffer> | null) {
      // readdir's d_type is the entry itself (lstat-level): a link to a directory is unlinked, never entered.
      if (!entry.isDirectory()) others.push(entry.name);
      else
        subdirectories.push({
          path: parent.path === "" ? lossy.decode(entry.name) : `${parent.path}/${lossy.decode(entry.name)}`,
          name: entry.name,
          parent,
        });
      await pacer.pace();
    }
  } finally {
    handle?.closeSync();
  }
  for (const name of others) {
    unlinkSync(cursor.inside(name));
    await pacer.pace();
  }
  return subdirectories;
}

function mustMove(root: string, target: Directory, refusal: string | undefined): void {
  if (refusal !== undefined) throw new Error(`cannot remove ${root}: ${JSON.stringify(target.path)} ${refusal}`);
}

function unlinkUnlessGone(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") throw error;
  }
}
