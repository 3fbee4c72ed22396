import { describe, expect, it } from "@jest/globals";
import { InvalidArgumentError } from "./errors.js";
import { readByteSize, readBytes, readObject, readRecord } from "./validate.js";

function thrown(read: () => unknown): InvalidArgumentError {
  try {
    read();
  } catch (error) {
    if (error instanceof InvalidArgumentError) return error;
    throw error;
  }
  throw new Error("expected an InvalidArgumentError");
}

describe("readers", () => {
  it("read byte sizes as numbers or text", () => {
    expect(readByteSize("limits.memory", "2GB")).toBe(2_000_000_000);
    expect(readByteSize("limits.memory", 1024)).toBe(1024);
    expect(thrown(() => readByteSize("limits.memory", { gb: 2 })).field).toBe("limits.memory");
  });

  it("share the bytes of a Uint8Array view rather than copy them", () => {
    const backing = new Uint8Array([9, 1, 2, 3, 9]);
    const view = backing.subarray(1, 4);
    const bytes = readBytes("stdin", view);
    expect(bytes).toEqual(Buffer.from([1, 2, 3]));
    backing[2] = 42;
    expect(bytes[1]).toBe(42);
  });

  it("summarise bytes instead of printing them", () => {
    expect(thrown(() => readRecord("files", new Uint8Array(3))).message).toBe("files: expected an object, got <3 bytes>");
  });

  it("name unknown keys by their path, with no prefix at the top level", () => {
    expect(thrown(() => readObject("limits", { memroy: 1 }, ["memory"])).field).toBe("limits.memroy");
    expect(thrown(() => readObject("options", { adress: "x" }, ["address"], "")).field).toBe("adress");
  });

  it("reject arrays and null where an object is expected", () => {
    expect(thrown(() => readRecord("env", ["A=1"])).field).toBe("env");
    expect(thrown(() => readRecord("env", null)).field).toBe("env");
  });
});
