import { describe, expect, it } from "@jest/globals";
import { parseDigest } from "./digest.js";

const SHA = "a".repeat(64);

describe("parseDigest", () => {
  it("takes a lowercase sha256 and a decimal size", () => {
    expect(parseDigest("blobs[0]", { sha256: SHA, sizeBytes: "12" })).toEqual({ sha256: SHA, sizeBytes: 12 });
  });

  it.each([
    ["an uppercase sha256", { sha256: "A".repeat(64), sizeBytes: "1" }, "blobs[3].sha256"],
    ["a short sha256", { sha256: "a".repeat(63), sizeBytes: "1" }, "blobs[3].sha256"],
    ["an empty sha256", { sha256: "", sizeBytes: "1" }, "blobs[3].sha256"],
    ["a size beyond 2^53", { sha256: SHA, sizeBytes: "9007199254740993" }, "blobs[3].size_bytes"],
    ["no digest at all", undefined, "blobs[3]"],
  ])("refuses %s, naming the field", (_case, wire, field) => {
    expect(() => parseDigest("blobs[3]", wire)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT", context: { field } }));
  });
});
