import { createHash, randomUUID } from "node:crypto";
import { closeSync, constants, openSync, rmSync, writeSync } from "node:fs";
import { open, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";

/**
 * Bytes a TempBlob may have handed to the disk and not yet seen written: write() waits only beyond
 * this, so receiving, hashing and writing overlap instead of taking turns, within bounded memory.
 */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * A blob being written into the store's tmp dir, hashed as it is written so its content is read
 * once. Created read-only (0444): the open descriptor may write, nothing opened later can.
 */
export class TempBlob {
  private readonly hash = createHash("sha256");
  private handle: FileHandle | undefined;
  /** Writes started and not yet done, and the bytes they hold. */
  private readonly pending = new Set<Promise<void>>();
  private pendingBytes = 0;
  /** The first write that failed: every later write() and close() throws it. */
  private failure: { error: unknown } | undefined;
  written = 0;

  private constructor(
    readonly path: string,
    handle: FileHandle,
  ) {
    this.handle = handle;
  }

  static async create(dir: string): Promise<TempBlob> {
    const path = join(dir, randomUUID());
    const handle = await open(path, CREATE_FLAGS, 0o444);
    return new TempBlob(path, handle);
  }

  /**
   * Appends `data`, which the blob keeps until it is written: the caller must not change it. Resolves
   * once the bytes not yet written are within MAX_PENDING_BYTES; close() waits for the rest.
   */
  async write(data: Uint8Array): Promise<void> {
    const handle = this.handle;
    if (!handle) throw new Error(`temp blob ${this.path} is closed`);
    this.throwIfFailed();
    this.hash.update(data);
    const position = this.written;
    this.written += data.length;
    this.pendingBytes += data.length;
    const write = writeAll(handle, data, position).then(
      () => undefined,
      (error: unknown) => void (this.failure ??= { error }),
    );
    this.pending.add(write);
    void write.finally(() => {
      this.pending.delete(write);
      this.pendingBytes -= data.length;
    });
    while (this.pendingBytes > MAX_PENDING_BYTES) await Promise.race(this.pending);
    this.throwIfFailed();
  }

  /** Closes the file once every write is done; returns the lowercase hex sha256 of what was written. */
  async close(): Promise<string> {
    await this.settle();
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
    this.throwIfFailed();
    return this.hash.digest("hex");
  }

  /** Closes and removes the file (what an aborted upload leaves behind). */
  async discard(): Promise<void> {
    await this.settle();
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }

  private async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}

/**
 * Writes a whole small content into a new temp file in `dir` with synchronous calls (microseconds on
 * the store's own disk, where a promise call costs a thread-pool round trip); returns its path.
 */
export function writeTempBlobSync(dir: string, data: Uint8Array): string {
  const path = join(dir, randomUUID());
  const fd = openSync(path, CREATE_FLAGS, 0o444);
  try {
    for (let done = 0; done < data.length;) done += writeSync(fd, data, done, data.length - done, done);
  } catch (error) {
    rmSync(path, { force: true });
    throw error;
  } finally {
    closeSync(fd);
  }
  return path;
}

async function writeAll(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}
