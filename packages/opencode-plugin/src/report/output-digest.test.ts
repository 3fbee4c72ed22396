import { describe, expect, it } from "@jest/globals";
import { countNewlines, excerptOf } from "./excerpt.js";
import { OutputDigest } from "./output-digest.js";

/** Deterministic bytes with newlines, multibyte characters and colour codes, so cuts land everywhere. */
function output(bytes: number): Buffer {
  const words = ["build", "é", "😀", "\x1b[31mred\x1b[0m", "\n", "\r\n", "ok ", "x".repeat(40)];
  const parts: string[] = [];
  let length = 0;
  for (let index = 0; length < bytes; index += 1) {
    const word = words[(index * 7 + (index >> 3)) % words.length]!;
    parts.push(word);
    length += Buffer.byteLength(word);
  }
  return Buffer.from(parts.join("")).subarray(0, bytes);
}

function pushInChunks(digest: OutputDigest, data: Buffer, chunkBytes: number, afterEach?: () => void): void {
  for (let at = 0; at < data.length; at += chunkBytes) {
    digest.push(data.subarray(at, at + chunkBytes));
    afterEach?.();
  }
}

describe("excerptOf", () => {
  it("takes a head from byte 0 and a tail ending at the end, never overlapping", () => {
    const data = Buffer.from("0123456789");
    expect(excerptOf(data, 10, 0, 4)).toEqual({
      head: Buffer.from("0123"),
      tail: Buffer.from("6789"),
      knownBytes: 10,
      totalBytes: 10,
      newlines: 0,
    });
    expect(excerptOf(data, 10, 0, 6)).toMatchObject({ head: Buffer.from("012345"), tail: Buffer.from("6789") });
    expect(excerptOf(data, 10, 0, 20)).toMatchObject({ head: data, tail: Buffer.alloc(0) });
  });

  it("keeps the job's total when the worker kept less", () => {
    expect(excerptOf(Buffer.from("abc"), 1000, 7, 2)).toMatchObject({ knownBytes: 3, totalBytes: 1000, newlines: 7 });
  });
});

describe("countNewlines", () => {
  it("counts newline bytes only", () => {
    expect(countNewlines(Buffer.from("a\nb\r\n\n😀\n"))).toBe(4);
    expect(countNewlines(Buffer.alloc(0))).toBe(0);
  });
});

describe("OutputDigest", () => {
  const window = 4096;

  it.each([1, 7, 100, 1000, 4095, 4096, 4097, 10_000, 65_536])("gives the excerpt excerptOf gives, with %i-byte chunks", (chunkBytes) => {
    for (const bytes of [0, 1, 4096, 8192, 8193, 300_000]) {
      const data = output(bytes);
      const digest = new OutputDigest(window);
      pushInChunks(digest, data, chunkBytes);
      expect(digest.totalBytes).toBe(bytes);
      expect(digest.excerpt(countNewlines(data))).toEqual(excerptOf(data, bytes, countNewlines(data), window));
    }
  });

  it("keeps at most two windows and one chunk, however long the output", () => {
    for (const chunkBytes of [1, 333, 4096, 20_000, 65_536]) {
      const digest = new OutputDigest(window);
      let most = 0;
      // latest() of more bytes than were pushed returns all the digest holds of the end (and the head until a gap opens).
      const held = (): void => void (most = Math.max(most, digest.latest(Number.MAX_SAFE_INTEGER).length));
      pushInChunks(digest, output(Math.min(4 * 1024 * 1024, chunkBytes * 3000)), chunkBytes, held);
      expect(most).toBeLessThanOrEqual(2 * window + chunkBytes);
    }
  });

  it("returns the last n bytes with latest(n)", () => {
    const data = output(100_000);
    const digest = new OutputDigest(window);
    pushInChunks(digest, data, 777);
    for (const bytes of [0, 1, 100, window]) expect(digest.latest(bytes)).toEqual(data.subarray(data.length - bytes));
  });

  it("never joins the head to the tail in latest(n) once bytes between them were dropped", () => {
    const data = output(100_000);
    const digest = new OutputDigest(1024);
    pushInChunks(digest, data, 100);
    const latest = digest.latest(4096);
    expect(latest.length).toBeGreaterThanOrEqual(1024);
    expect(latest).toEqual(data.subarray(data.length - latest.length));
  });

  it("returns all of a short output with latest(n)", () => {
    const digest = new OutputDigest(window);
    digest.push(Buffer.from("one\n"));
    digest.push(Buffer.from("two\n"));
    expect(digest.latest(100).toString()).toBe("one\ntwo\n");
    expect(digest.latest(6).toString()).toBe("e\ntwo\n");
  });
});
