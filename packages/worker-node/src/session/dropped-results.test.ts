import { describe, expect, it } from "@jest/globals";
import { DroppedResults } from "./dropped-results.js";

describe("DroppedResults", () => {
  it("remembers why each result went, forgetting the oldest beyond its capacity", () => {
    const dropped = new DroppedResults(3);
    for (const id of ["a", "b", "c", "d"]) dropped.record(id, `reason ${id}`);
    expect(["a", "b", "c", "d"].map((id) => dropped.reasonFor(id))).toEqual([undefined, "reason b", "reason c", "reason d"]);
  });

  it("counts a job id dropped again from its latest drop", () => {
    const dropped = new DroppedResults(2);
    dropped.record("a", "first");
    dropped.record("b", "b");
    dropped.record("a", "again");
    dropped.record("c", "c");
    expect(dropped.reasonFor("a")).toBe("again");
    expect(dropped.reasonFor("b")).toBeUndefined();
  });
});
