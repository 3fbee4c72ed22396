import { describe, expect, it } from "@jest/globals";
import { countNewlines, excerptOf, type OutputExcerpt } from "./excerpt.js";
import { OutputDigest } from "./output-digest.js";
import { renderOutput } from "./render-output.js";

/** The excerpt of a stream the worker kept whole. */
const whole = (data: Buffer, window: number): OutputExcerpt => excerptOf(data, data.length, countNewlines(data), window);

/** `count` lines "line 0000" ... of 10 bytes each, starting at `from`. */
const numbered = (from: number, count: number): string[] =>
  Array.from({ length: count }, (_, index) => `line ${String(from + index).padStart(4, "0")}`);

describe("renderOutput", () => {
  it("says a stream is empty", () => {
    expect(renderOutput("stdout", whole(Buffer.alloc(0), 4096), 4096)).toBe("stdout: empty");
  });

  it("shows a short stream whole, with its size and lines, without colour codes", () => {
    const data = Buffer.from("\x1b[32mPASS\x1b[0m one\nPASS two\n");
    expect(renderOutput("stdout", whole(data, 4096), 4096)).toBe("stdout (27 bytes, 2 lines):\nPASS one\nPASS two");
    expect(renderOutput("stderr", whole(Buffer.from("no newline"), 4096), 4096)).toBe("stderr (10 bytes, 1 line):\nno newline");
  });

  // 10,000 lines of 10 bytes; window and budget 4096, so 3,896 bytes of room: the head may use 40% (1,558 bytes, so
  // 155 whole lines, 1,550 bytes) and the tail the rest of the 4,096 bytes of its window that fits in 2,338 bytes
  // (233 lines), after which the head gets the room the tail left: 3,896 - 2,330 = 1,566 bytes, 156 lines.
  const long = Buffer.from(numbered(0, 10_000).join("\n") + "\n");
  const longText = [
    "stdout (97.7 KiB, 10,000 lines; first 156 lines and last 233 lines shown):",
    ...numbered(0, 156),
    // 100,000 - 1,560 - 2,330 = 96,110 bytes; 10,000 - 156 - 233 = 9,611 lines.
    "[… 93.9 KiB, 9,611 lines left out …]",
    ...numbered(9767, 233),
  ].join("\n");

  it("shows a long stream as head and tail cut at line ends, saying exactly what was left out", () => {
    expect(renderOutput("stdout", whole(long, 4096), 4096)).toBe(longText);
  });

  it("shows the same text from a digest of the live stream", () => {
    const digest = new OutputDigest(4096);
    for (let at = 0; at < long.length; at += 1000) digest.push(long.subarray(at, at + 1000));
    expect(renderOutput("stdout", digest.excerpt(countNewlines(long)), 4096)).toBe(longText);
  });

  it("shows the end of a stream that fits its windows but not the room or the line limit", () => {
    // 1,000 lines of 5 bytes in one window: 800 lines at most, 480 of them from the end.
    const data = Buffer.from(Array.from({ length: 1000 }, (_, index) => `l${String(index).padStart(3, "0")}\n`).join(""));
    const lines = (from: number, count: number): string[] =>
      Array.from({ length: count }, (_, index) => `l${String(from + index).padStart(3, "0")}`);
    expect(renderOutput("stdout", whole(data, 16_384), 16_384)).toBe(
      [
        "stdout (4.9 KiB, 1,000 lines; first 320 lines and last 480 lines shown):",
        ...lines(0, 320),
        "[… 1000 bytes, 200 lines left out …]",
        ...lines(520, 480),
      ].join("\n"),
    );
  });

  it("cuts a single huge line at UTF-8 character boundaries", () => {
    // "a" then 4-byte emoji: the head's 1,560 bytes of room end inside an emoji, so it keeps 1 + 389 * 4 bytes; the
    // tail's 2,338 bytes start inside one, so it keeps 584 * 4 bytes.
    const data = Buffer.from("a" + "😀".repeat(50_000));
    expect(renderOutput("stdout", whole(data, 4096), 4096)).toBe(
      [
        "stdout (195.3 KiB, 1 line; first 0 lines and last 1 line shown):",
        "a" + "😀".repeat(389),
        // 200,001 - 1,557 - 2,336 = 196,108 bytes.
        "[… 191.5 KiB, 0 lines left out …]",
        "😀".repeat(584),
      ].join("\n"),
    );
  });

  it("says how much the worker did not keep, and the lines left out in all", () => {
    // The worker kept 100 lines (1,000 bytes) of 1 MiB and counted 104,857 newlines in all of it.
    const kept = Buffer.from(numbered(0, 100).join("\n") + "\n");
    expect(renderOutput("stdout", excerptOf(kept, 1024 * 1024, 104_857, 4096), 4096)).toBe(
      [
        "stdout (1 MiB, 104,857 lines; first 100 lines and last 0 lines shown):",
        ...numbered(0, 100),
        "[… the last 1023 KiB were not kept by the worker (its session.result_output_bytes) (104,757 lines left out in all) …]",
      ].join("\n"),
    );
  });

  it("shows the head and tail of what the worker kept, then what it did not keep", () => {
    // As the long stream above, but the job wrote 1 MiB and 104,857 newlines, so the line saying what the worker
    // did not keep takes 140 bytes of the room: 3,756 bytes, 1,502 for the head and 2,254 for the tail (225 lines),
    // then the head gets 3,756 - 2,250 = 1,506 bytes (150 lines).
    const excerpt = { ...whole(long, 4096), totalBytes: 1024 * 1024, newlines: 104_857 };
    expect(renderOutput("stdout", excerpt, 4096)).toBe(
      [
        "stdout (1 MiB, 104,857 lines; first 150 lines and last 225 lines shown):",
        ...numbered(0, 150),
        // 100,000 - 1,500 - 2,250 = 96,250 bytes; the lines are counted in all, below.
        "[… 94 KiB left out …]",
        ...numbered(9775, 225),
        // 1,048,576 - 100,000 = 948,576 bytes; 104,857 - 150 - 225 = 104,482 lines.
        "[… the last 926.3 KiB were not kept by the worker (its session.result_output_bytes) (104,482 lines left out in all) …]",
      ].join("\n"),
    );
  });

  it("describes binary output with its first bytes instead of showing it", () => {
    const data = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(3064, 0xaa)]);
    expect(renderOutput("stdout", whole(data, 4096), 4096)).toBe(
      "stdout: 3 KiB of binary data, not shown (first bytes: 7f 45 4c 46 02 01 01 00 aa aa aa aa aa aa aa aa)",
    );
  });

  it("strips colour codes from the head and the tail of a long stream", () => {
    const data = Buffer.from(Array.from({ length: 2000 }, (_, index) => `\x1b[31m${index}\x1b[0m`).join("\n") + "\n");
    const text = renderOutput("stdout", whole(data, 4096), 4096);
    expect(text).toContain("\n0\n1\n");
    expect(text).toContain("\n1998\n1999");
    expect(text).not.toContain("\x1b");
  });
});
