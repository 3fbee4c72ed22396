import { describe, expect, it } from "@jest/globals";
import { frameSections, unframeSections } from "./journal-frame.js";

const sections = [Buffer.from("{}"), Buffer.alloc(0), Buffer.from("output bytes")];
const frame = Buffer.concat(frameSections(sections));

describe("journal frame", () => {
  it("gives back the sections it framed, empty ones included", () => {
    expect(unframeSections(frame)).toEqual(sections);
  });

  it("refuses a frame cut short, as a crash mid-write leaves it", () => {
    expect(() => unframeSections(frame.subarray(0, frame.length - 3))).toThrow(/^torn: /);
  });

  it("refuses a frame with one byte changed", () => {
    const changed = Buffer.from(frame);
    changed[changed.length - 1]! ^= 1;
    expect(() => unframeSections(changed)).toThrow("checksum mismatch");
  });

  it("refuses what is not a record", () => {
    expect(() => unframeSections(Buffer.from("not a record at all"))).toThrow("not a result record");
  });
});
