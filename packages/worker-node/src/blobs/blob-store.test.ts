import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobStore, type Digest } from "./blob-store.js";

const A = BlobStore.scopeOf({ identity: "alice", admin: false });
const B = BlobStore.scopeOf({ identity: "bob", admin: false });

let dir: string;
let storeDir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "blob-store-"));
  storeDir = join(dir, "blobs");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function digestOf(content: string | Buffer): Digest {
  const bytes = Buffer.from(content);
  return { sha256: createHash("sha256").update(bytes).digest("hex"), sizeBytes: bytes.length };
}

/** One upload call of whole blobs, each in chunks of `chunkBytes`. */
async function upload(store: BlobStore, scope: string, contents: Array<string | Buffer>, chunkBytes = 4) {
  const call = store.beginUpload(scope);
  for (const content of contents) {
    const bytes = Buffer.from(content);
    const digest = digestOf(bytes);
    if (bytes.length === 0) await call.chunk(digest, 0, bytes);
    for (let offset = 0; offset < bytes.length; offset += chunkBytes)
      await call.chunk(digest, offset, bytes.subarray(offset, offset + chunkBytes));
  }
  return call.commit();
}

async function readAll(store: BlobStore, scope: string, digest: Digest, offset = 0): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of store.read(scope, digest, offset)) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
}

async function blobFiles(): Promise<string[]> {
  const entries = await readdir(storeDir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile() && !entry.parentPath.endsWith("tmp")).map((entry) => entry.name);
}

const code = (expected: string, fields: Record<string, unknown> = {}) => expect.objectContaining({ code: expected, ...fields });

describe("BlobStore", () => {
  it("stores an upload sent in chunks, finds it, and reads it back from any offset", async () => {
    const store = await BlobStore.open(storeDir, { maxBytes: 1000 });
    const hello = digestOf("hello, blob store");
    const empty = digestOf("");
    expect(store.missing(A, [hello, empty, hello])).toEqual([hello, empty]);
    expect(await upload(store, A, ["hello, blob store", ""])).toEqual({ stored: 2, alreadyPresent: 0 });
    expect(store.missing(A, [hello, empty])).toEqual([]);
    expect(await readAll(store, A, hello)).toBe("hello, blob store");
    expect(await readAll(store, A, hello, 7)).toBe("blob store");
    expect(await readAll(store, A, empty)).toBe("");
    expect(store.stats()).toEqual({ blobs: 2, bytes: hello.sizeBytes, uploadedBlobs: 2, uploadedBytes: hello.sizeBytes });
    // A second upload of the same blob is harmless and not counted as stored.
    expect(await upload(store, A, ["hello, blob store"])).toEqual({ stored: 0, alreadyPresent: 1 });
    expect(store.stats().uploadedBlobs).toBe(2);
  });

  it("keeps the store dir 0700 (even one made wider) and its blob files read-only", async () => {
    await mkdir(storeDir, { mode: 0o755 });
    const store = await BlobStore.open(storeDir, { maxBytes: 1000 });
    await upload(store, A, ["private"]);
    expect((await stat(storeDir)).mode & 0o777).toBe(0o700);
    expect((await stat(store.pathOf(A, digestOf("private")))).mode & 0o777).toBe(0o444);
  });

  it("stores nothing of a call with a wrong digest, and leaves no temp file", async () => {
    const store = await BlobStore.open(storeDir, { maxBytes: 1000 });
    const call = store.beginUpload(A);
    await call.chunk(digestOf("good"), 0, Buffer.from("good"));
    const claimed = { ...digestOf("right"), sha256: digestOf("wrong").sha256 };
    await expect(call.chunk(claimed, 0, Buffer.from("right"))).rejects.toEqual(code("INVALID_ARGUMENT", { context: { field: "digest" } }));
    await call.abort();
    expect(store.missing(A, [digestOf("good")])).toHaveLength(1);
    expect(store.stats()).toMatchObject({ blobs: 0, bytes: 0 });
    expect(await readdir(join(storeDir, "tmp"))).toEqual([]);
  });

  it.each<[string, (call: ReturnType<BlobStore["beginUpload"]>) => Promise<void>, string]>([
    ["a gap", async (call) => call.chunk(digestOf("abcdef"), 2, Buffer.from("cdef")), "offset"],
    [
      "an overlap",
      async (call) => {
        await call.chunk(digestOf("abcdef"), 0, Buffer.from("abc"));
        await call.chunk(digestOf("abcdef"), 2, Buffer.from("cdef"));
      },
      "offset",
    ],
    ["data past the size", async (call) => call.chunk(digestOf("abc"), 0, Buffer.from("abcd")), "digest"],
    [
      "a new blob before the previous one completed",
      async (call) => {
        await call.chunk(digestOf("abcdef"), 0, Buffer.from("abc"));
        await call.chunk(digestOf("xyz"), 0, Buffer.from("xyz"));
      },
      "digest",
    ],
  ])("refuses %s with INVALID_ARGUMENT naming the field", async (_case, send, field) => {
    const store = await BlobStore.open(storeDir, { maxBytes: 1000 });
    await expect(send(store.beginUpload(A))).rejects.toEqual(code("INVALID_ARGUMENT", { context: { field } }));
    expect(await readdir(join(storeDir, "tmp"))).toEqual([]);
  });

  it("refuses to commit a call that ended mid-blob", async () => {
    const store = await BlobStore.open(storeDir, { maxBytes: 1000 });
    const call = store.beginUpload(A);
    await call.chunk(digestOf("done"), 0, Buffer.from("done"));
    await call.chunk(digestOf("abcdef"), 0, Buffer.from("abc"));
    await expect(call.commit()).rejects.toEqual(code("INVALID_ARGUMENT"));
    expect(store.stats().blobs).toBe(0);
  });

  it("lets two concurrent uploads of the same blob both succeed, with one file", async () => {
    const store = await BlobStore.open(storeDir, { maxBytes: 1000 });
    const content = Buffer.from("the same content, twice at once");
    const digest = digestOf(content);
    const first = store.beginUpload(A);
    const second = store.beginUpload(A);
    for (let offset = 0; offset < content.length; offset += 8) {
      await Promise.all([first, second].map((call) => call.chunk(digest, offset, content.subarray(offset, offset + 8))));
    }
    const results = await Promise.all([first.commit(), second.commit()]);
    expect(results).toEqual(
      expect.arrayContaining([
        { stored: 1, alreadyPresent: 0 },
        { stored: 0, alreadyPresent: 1 },
      ]),
    );
    expect(await blobFiles()).toEqual([digest.sha256]);
    expect(store.stats()).toMatchObject({ blobs: 1, bytes: content.length });
    expect(await readAll(store, A, digest)).toBe(content.toString());
  });

  it("evicts the least recently used blob that is not pinned", async () => {
    const store = await BlobStore.open(storeDir, { maxBytes: 30 });
    const contents = ["a", "b", "c", "d", "e", "f"].map((letter) => letter.repeat(10));
    const [a, b, c, d, e, f] = contents.map((content) => digestOf(content));
    const put = (digest: Digest) => upload(store, A, [contents.find((content) => digestOf(content).sha256 === digest.sha256)!]);
    await put(a!);
    await put(b!);
    await put(c!);
    store.pathOf(A, a!);
    // Least recently used first: b, c, a.
    await put(d!);
    expect(store.missing(A, [a!, b!, c!, d!])).toEqual([b]);
    const release = store.pin(A, [c!]);
    store.pathOf(A, a!);
    store.pathOf(A, d!);
    // Now c (pinned), a, d.
    await put(e!);
    expect(store.missing(A, [a!, c!, d!, e!])).toEqual([a]);
    release();
    await put(f!);
    expect(store.missing(A, [c!, d!, e!, f!])).toEqual([c]);
    expect(await blobFiles()).toHaveLength(3);
    expect(store.stats()).toMatchObject({ blobs: 3, bytes: 30 });
  });

  it("refuses a blob that cannot fit, evicting nothing, and one larger than the largest blob at its first chunk", async () => {
    const store = await BlobStore.open(storeDir, { maxBytes: 30, maxBlobBytes: 20 });
    await upload(store, A, ["x".repeat(10), "y".repeat(10)]);
    const release = store.pin(A, [digestOf("x".repeat(10)), digestOf("y".repeat(10))]);
    // The refusal names the key an operator raises.
    await expect(upload(store, A, ["z".repeat(15)])).rejects.toEqual(
      code("RESOURCE_EXHAUSTED", { message: expect.stringContaining("raise blobs.max_bytes") }),
    );
    expect(store.stats()).toMatchObject({ blobs: 2, bytes: 20 });
    release();
    const huge = store.beginUpload(A);
    await expect(huge.chunk(digestOf("h".repeat(21)), 0, Buffer.from("h"))).rejects.toEqual(code("RESOURCE_EXHAUSTED"));
    expect(store.stats()).toMatchObject({ blobs: 2, bytes: 20 });
    // The refused calls gave their room back.
    await upload(store, A, ["w".repeat(10)]);
    expect(store.stats()).toMatchObject({ blobs: 3, bytes: 30 });
  });

  it("pins only what the scope holds, naming what it lacks", async () => {
    const store = await BlobStore.open(storeDir, { maxBytes: 1000 });
    await upload(store, A, ["present"]);
    const absent = digestOf("absent");
    expect(() => store.pin(A, [digestOf("present"), absent, absent])).toThrow(
      expect.objectContaining({
        code: "FAILED_PRECONDITION",
        message: expect.stringContaining(`1 blob is not in the worker's store (e.g. ${absent.sha256}/6)`),
      }),
    );
  });

  it("survives a restart: a new store over the same dir has the blobs, in the recency their mtimes give", async () => {
    const first = await BlobStore.open(storeDir, { maxBytes: 30 });
    await upload(first, A, ["old".repeat(3) + "!", "new".repeat(3) + "!", "mid".repeat(3) + "!"]);
    const at = (content: string, seconds: number) => utimes(first.pathOf(A, digestOf(content)), seconds, seconds);
    await at("old".repeat(3) + "!", 1_000);
    await at("mid".repeat(3) + "!", 2_000);
    await at("new".repeat(3) + "!", 3_000);
    // A temp file a killed worker left mid-upload.
    await writeFile(join(storeDir, "tmp", "stale"), "partial");

    const second = await BlobStore.open(storeDir, { maxBytes: 30 });
    expect(second.stats()).toMatchObject({ blobs: 3, bytes: 30 });
    expect(await readAll(second, A, digestOf("mid".repeat(3) + "!"))).toBe("midmidmid!");
    expect(await readdir(join(storeDir, "tmp"))).toEqual([]);
    await upload(second, A, ["more".repeat(2) + "!!"]);
    expect(
      second.missing(
        A,
        ["old", "mid", "new"].map((word) => digestOf(word.repeat(3) + "!")),
      ),
    ).toEqual([digestOf("old".repeat(3) + "!")]);
  });

  it("keeps scopes apart: one caller's blobs are missing, unreadable and unpinnable for another", async () => {
    const store = await BlobStore.open(storeDir, { maxBytes: 1000 });
    const secret = digestOf("a's secret");
    await upload(store, A, ["a's secret"]);
    expect(store.missing(B, [secret])).toEqual([secret]);
    expect(() => store.pathOf(B, secret)).toThrow(code("NOT_FOUND"));
    await expect(readAll(store, B, secret)).rejects.toEqual(code("NOT_FOUND"));
    expect(() => store.pin(B, [secret])).toThrow(code("FAILED_PRECONDITION"));
  });

  it("gives each caller identity its own scope and anonymous callers one", () => {
    expect(BlobStore.scopeOf({ identity: "alice", admin: false })).not.toBe(BlobStore.scopeOf({ identity: "bob", admin: false }));
    expect(BlobStore.scopeOf({ identity: "alice", admin: true })).toBe(BlobStore.scopeOf({ identity: "alice", admin: false }));
    expect(BlobStore.scopeOf({ identity: "anonymous", admin: false })).toMatch(/^[0-9a-f]{32}$/);
  });

  it("refuses to read past a blob's end", async () => {
    const store = await BlobStore.open(storeDir, { maxBytes: 1000 });
    await upload(store, A, ["short"]);
    await expect(readAll(store, A, digestOf("short"), 6)).rejects.toEqual(code("INVALID_ARGUMENT", { context: { field: "offset" } }));
  });

  describe("storeFile", () => {
    it("stores a file's content and returns its digest", async () => {
      const store = await BlobStore.open(storeDir, { maxBytes: 1000 });
      const path = join(dir, "changed.txt");
      await writeFile(path, "written by the job");
      const digest = await store.storeFile(B, path);
      expect(digest).toEqual(digestOf("written by the job"));
      expect(await readAll(store, B, digest)).toBe("written by the job");
      // Not an upload.
      expect(store.stats()).toMatchObject({ blobs: 1, uploadedBlobs: 0 });
    });

    it("refuses a symbolic link (never followed) and a FIFO (never opened for a writer)", async () => {
      const store = await BlobStore.open(storeDir, { maxBytes: 1000 });
      await writeFile(join(dir, "target"), "secret");
      await symlink(join(dir, "target"), join(dir, "link"));
      execFileSync("mkfifo", [join(dir, "fifo")]);
      const refused = code("FAILED_PRECONDITION", { context: { reason: "NOT_A_REGULAR_FILE" } });
      await expect(store.storeFile(A, join(dir, "link"))).rejects.toEqual(refused);
      await expect(store.storeFile(A, join(dir, "fifo"))).rejects.toEqual(refused);
      expect(store.stats()).toMatchObject({ blobs: 0, bytes: 0 });
    });

    it("stores a large file (read in chunks) as whole and right as a small one", async () => {
      const store = await BlobStore.open(storeDir, { maxBytes: 10 * 1024 ** 2 });
      const content = Buffer.alloc(2.5 * 1024 ** 2 + 3);
      for (let index = 0; index < content.length; index++) content[index] = (index * 7) % 251;
      await writeFile(join(dir, "large"), content);
      const digest = await store.storeFile(A, join(dir, "large"));
      expect(digest).toEqual(digestOf(content));
      const chunks: Buffer[] = [];
      for await (const chunk of store.read(A, digest, 0)) chunks.push(chunk);
      expect(Buffer.concat(chunks).equals(content)).toBe(true);
      expect(await readdir(join(storeDir, "tmp"))).toEqual([]);
    });

    it("needs no room for a content the scope already holds: it is not written again", async () => {
      const store = await BlobStore.open(storeDir, { maxBytes: 10 });
      await writeFile(join(dir, "first"), "ten bytes!");
      await writeFile(join(dir, "same"), "ten bytes!");
      const digest = await store.storeFile(A, join(dir, "first"));
      // The store is full and its only blob pinned: writing the content again could not fit.
      store.pin(A, [digest]);
      await expect(store.storeFile(A, join(dir, "same"))).resolves.toEqual(digest);
      expect(store.stats()).toMatchObject({ blobs: 1, bytes: 10 });
      expect(await readdir(join(storeDir, "tmp"))).toEqual([]);
    });
  });
});
