import { createHash, randomUUID } from "node:crypto";
import { constants } from "node:fs";
import { open, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";

/**
 * A blob being written into the store's tmp dir, hashed as it is written so its content is read
 * once. Created read-only (0444): the open descriptor may write, nothing opened later can.
 */
export class TempBlob {
  private readonly hash = createHash("sha256");
  private handle: FileHandle | undefined;
  written = 0;

  private constructor(
    readonly path: string,
    handle: FileHandle,
  ) {
    this.handle = handle;
  }

  static async create(dir: string): Promise<TempBlob> {
    const path = join(dir, randomUUID());
    const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o444);
    return new TempBlob(path, handle);
  }

  /** Appends `data`; the caller may reuse its buffer once this resolves. */
  async write(data: Uint8Array): Promise<void> {
    const handle = this.handle;
    if (!handle) throw new Error(`temp blob ${this.path} is closed`);
    for (let done = 0; done < data.length;) {
      const { bytesWritten } = await handle.write(data, done, data.length - done);
      done += bytesWritten;
    }
    this.hash.update(data);
    this.written += data.length;
  }

  /** Closes the file; returns the lowercase hex sha256 of what was written. */
  async close(): Promise<string> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
    return this.hash.digest("hex");
  }

  /** Closes and removes the file (what an aborted upload leaves behind). */
  async discard(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }
}
