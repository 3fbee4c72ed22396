import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TempBlob } from "./temp-blob.js";

const MiB = 1024 ** 2;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "temp-blob-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Holds every write of `temp`'s file until release() lets them through (the disk made slow at will). */
function holdWrites(temp: TempBlob): { started: () => number; release: () => void } {
  const handle = (temp as unknown as { handle: FileHandle }).handle;
  const write = handle.write.bind(handle) as (...args: unknown[]) => Promise<unknown>;
  const held: Array<() => void> = [];
  let released = false;
  let started = 0;
  (handle as unknown as { write: unknown }).write = async (...args: unknown[]) => {
    started += 1;
    if (!released) await new Promise<void>((resolve) => held.push(resolve));
    return write(...args);
  };
  return {
    started: () => started,
    release: () => {
      released = true;
      for (const resolve of held.splice(0)) resolve();
    },
  };
}

const settledWithin = (promise: Promise<unknown>, ms: number): Promise<boolean> =>
  Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

describe("TempBlob", () => {
  it("takes the next chunk while earlier ones are still being written, up to 8 MiB pending", async () => {
    const temp = await TempBlob.create(dir);
    const disk = holdWrites(temp);
    const chunks = Array.from({ length: 9 }, (_, index) => Buffer.alloc(MiB, index));
    // Eight chunks are taken although the disk has written none of them.
    for (const chunk of chunks.slice(0, 8)) expect(await settledWithin(temp.write(chunk), 1000)).toBe(true);
    expect(disk.started()).toBe(8);
    // The ninth would hold more than 8 MiB: it waits for the disk.
    const ninth = temp.write(chunks[8]!);
    expect(await settledWithin(ninth, 100)).toBe(false);
    disk.release();
    await ninth;
    const whole = Buffer.concat(chunks);
    expect(await temp.close()).toBe(createHash("sha256").update(whole).digest("hex"));
    expect((await readFile(temp.path)).equals(whole)).toBe(true);
  });

  it("reports a write that failed after write() returned, at the next write() or close()", async () => {
    const temp = await TempBlob.create(dir);
    const handle = (temp as unknown as { handle: FileHandle }).handle;
    (handle as unknown as { write: unknown }).write = () => Promise.reject(new Error("disk full"));
    await temp.write(Buffer.from("taken"));
    await expect(temp.close()).rejects.toThrow("disk full");
    await temp.discard();
    expect(await readdir(dir)).toEqual([]);
  });

  it("discards only once the writes in progress are done, leaving no file", async () => {
    const temp = await TempBlob.create(dir);
    const disk = holdWrites(temp);
    await temp.write(Buffer.alloc(MiB));
    const discarded = temp.discard();
    expect(await settledWithin(discarded, 100)).toBe(false);
    disk.release();
    await discarded;
    expect(await readdir(dir)).toEqual([]);
  });
});
