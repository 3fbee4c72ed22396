import { describe, expect, it } from "@jest/globals";
import { cutHead, cutTail, looksBinary, readableText, wholeChars } from "./text-cut.js";

const text = (data: Buffer): string => data.toString("utf8");

describe("cutHead", () => {
  it("keeps data that fits whole", () => {
    expect(text(cutHead(Buffer.from("one\ntwo"), 7, 10))).toBe("one\ntwo");
  });

  it("ends after the last newline that fits", () => {
    expect(text(cutHead(Buffer.from("one\ntwo\nthree\n"), 10, 10))).toBe("one\ntwo\n");
  });

  it("ends after maxLines lines", () => {
    expect(text(cutHead(Buffer.from("a\nb\nc\nd\n"), 100, 2))).toBe("a\nb\n");
  });

  it("cuts a line longer than the limit at a character boundary, never inside one", () => {
    // "é" is 2 bytes and "😀" 4: a limit of 2, 3 or 4 bytes falls inside the emoji.
    const data = Buffer.from("é😀x");
    expect(text(cutHead(data, 1, 10))).toBe("");
    expect(text(cutHead(data, 2, 10))).toBe("é");
    expect(text(cutHead(data, 3, 10))).toBe("é");
    expect(text(cutHead(data, 5, 10))).toBe("é");
    expect(text(cutHead(data, 6, 10))).toBe("é😀");
  });

  it("keeps nothing when the limit is 0", () => {
    expect(cutHead(Buffer.from("abc\ndef\nxyz"), 0, 10).length).toBe(0);
  });
});

describe("cutTail", () => {
  it("keeps data that fits whole, also when it starts with a newline", () => {
    expect(text(cutTail(Buffer.from("one\ntwo"), 7, 10))).toBe("one\ntwo");
    expect(text(cutTail(Buffer.from("\nabc\ndef\n"), 100, 10))).toBe("\nabc\ndef\n");
  });

  it("starts after a newline when the limit falls inside a line", () => {
    expect(text(cutTail(Buffer.from("one\ntwo\nthree\n"), 8, 10))).toBe("three\n");
    expect(text(cutTail(Buffer.from("one\ntwo\nthree"), 8, 10))).toBe("three");
  });

  it("keeps maxLines lines, with or without a newline at the end", () => {
    expect(text(cutTail(Buffer.from("a\nb\nc\nd\n"), 100, 2))).toBe("c\nd\n");
    expect(text(cutTail(Buffer.from("a\nb\nc\nd"), 100, 2))).toBe("c\nd");
    expect(text(cutTail(Buffer.from("a\nb\nc\nd\n"), 100, 1))).toBe("d\n");
  });

  it("cuts a line longer than the limit at a character boundary, never inside one", () => {
    const data = Buffer.from("x😀é");
    expect(text(cutTail(data, 2, 10))).toBe("é");
    expect(text(cutTail(data, 3, 10))).toBe("é");
    expect(text(cutTail(data, 5, 10))).toBe("é");
    expect(text(cutTail(data, 6, 10))).toBe("😀é");
  });

  it("keeps nothing when the limit is 0", () => {
    expect(cutTail(Buffer.from("abc\ndef\nxyz"), 0, 10).length).toBe(0);
  });
});

describe("wholeChars", () => {
  it("drops the pieces of characters a window cut at either end", () => {
    const emoji = Buffer.from("😀");
    const data = Buffer.concat([emoji.subarray(1), Buffer.from("aé"), emoji.subarray(0, 3)]);
    expect(text(wholeChars(data))).toBe("aé");
    expect(text(wholeChars(Buffer.from("é😀")))).toBe("é😀");
    expect(wholeChars(Buffer.from([0xc3])).length).toBe(0);
    expect(wholeChars(Buffer.alloc(0)).length).toBe(0);
  });
});

describe("readableText", () => {
  it("strips colour codes, cursor moves and window titles", () => {
    const data = Buffer.from("\x1b[1;31mFAIL\x1b[0m test\x1b[2K\r\n\x1b]0;title\x07done");
    expect(readableText(data)).toBe("FAIL test\r\ndone");
  });

  it("strips a code that a cut ended the text inside", () => {
    expect(readableText(Buffer.from("red \x1b[31"))).toBe("red ");
    expect(readableText(Buffer.from("red \x1b"))).toBe("red ");
    expect(readableText(Buffer.from("title \x1b]0;my ti"))).toBe("title ");
  });
});

describe("looksBinary", () => {
  it("sees text, also with multibyte characters, CRLF and colour codes, as text", () => {
    expect(looksBinary(Buffer.from("héllo 😀\r\n\x1b[32mok\x1b[0m\tdone\n"))).toBe(false);
  });

  it("sees a NUL byte or many bytes that are not UTF-8 as binary", () => {
    expect(looksBinary(Buffer.from("text\0more"))).toBe(true);
    expect(looksBinary(Buffer.from([0xff, 0xfe, 0x41, 0x42, 0xc3, 0x28, 0x80, 0x81]))).toBe(true);
  });
});
