import { describe, expect, it } from "@jest/globals";
import { formatBytes, parseByteSize } from "./units.js";

describe("parseByteSize", () => {
  it.each([
    ["4096", 4096],
    [4096, 4096],
    ["512MiB", 512 * 1024 ** 2],
    ["2GB", 2_000_000_000],
    ["1.5 GiB", 1.5 * 1024 ** 3],
    ["64k", 64_000],
  ])("reads %p as %p bytes", (text, bytes) => expect(parseByteSize(text)).toBe(bytes));

  it.each(["", "12 parsecs", "-1", "1e9", "MiB", -5, 1.5])("rejects %p", (text) => expect(parseByteSize(text)).toBeUndefined());
});

describe("formatBytes", () => {
  it.each([
    [0, "0 bytes"],
    [268435456, "256 MiB"],
    [1536, "1.5 KiB"],
    [3 * 1024 ** 3, "3 GiB"],
  ])("formats %p as %p", (bytes, text) => expect(formatBytes(bytes)).toBe(text));
});
