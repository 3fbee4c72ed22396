import { describe, expect, it } from "@jest/globals";
import { countNewlines } from "./count-newlines.js";

/** The obvious count, to compare the fast one with. */
const reference = (chunk: Buffer): number => chunk.reduce((count, byte) => count + (byte === 0x0a ? 1 : 0), 0);

describe("countNewlines", () => {
  it("counts newline characters, not lines", () => {
    expect(countNewlines(Buffer.alloc(0))).toBe(0);
    expect(countNewlines(Buffer.from("no newline"))).toBe(0);
    expect(countNewlines(Buffer.from("one\ntwo\nthree without"))).toBe(2);
    expect(countNewlines(Buffer.from("\n\n\r\n"))).toBe(3);
  });

  it("counts short lines after it switches to reading byte by byte", () => {
    // Dense newlines first (the switch), then long lines and no newline at the end.
    const chunk = Buffer.concat([Buffer.alloc(1000, "y\n"), Buffer.alloc(5000, "a long line of text\n"), Buffer.from("tail")]);
    expect(countNewlines(chunk)).toBe(500 + 250);
  });

  it("agrees with a byte-by-byte count on random line lengths", () => {
    let seed = 1;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (const meanLine of [1, 3, 40, 63, 64, 65, 500]) {
      const bytes = Array.from({ length: 70_000 }, () => (random() * meanLine < 1 ? 0x0a : 0x61));
      const chunk = Buffer.from(bytes);
      expect(countNewlines(chunk)).toBe(reference(chunk));
      // A slice of a larger buffer, as a pipe's chunk can be.
      expect(countNewlines(chunk.subarray(7, 60_001))).toBe(reference(chunk.subarray(7, 60_001)));
    }
  });
});
