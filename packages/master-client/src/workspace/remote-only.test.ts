import { describe, expect, it } from "@jest/globals";
import { InvalidArgumentError } from "../errors.js";
import { remoteOnlyMatcher } from "./remote-only.js";

describe("remoteOnlyMatcher", () => {
  it("matches files as the worker does, braces included", () => {
    const isRemoteOnly = remoteOnlyMatcher(["{node_modules,.venv}/**", "logs/*.log"]);
    expect(isRemoteOnly("node_modules/x/index.js")).toBe(true);
    expect(isRemoteOnly(".venv/bin/python")).toBe(true);
    expect(isRemoteOnly("logs/a.log")).toBe(true);
    expect(isRemoteOnly("logs/a.txt")).toBe(false);
    expect(isRemoteOnly("src/node_modules.ts")).toBe(false);
  });

  it("skips a directory whole only when a dir/** pattern covers everything under it", () => {
    const isRemoteOnly = remoteOnlyMatcher(["node_modules/**", "logs/*.log"]);
    expect(isRemoteOnly("node_modules/")).toBe(true);
    // logs/ holds other files too: the walk goes in and asks file by file.
    expect(isRemoteOnly("logs/")).toBe(false);
    expect(isRemoteOnly("src/")).toBe(false);
  });

  it("refuses a pattern the worker could not compile, naming it", () => {
    expect(() => remoteOnlyMatcher(["ok/**", "[a-"])).toThrow(InvalidArgumentError);
    expect(() => remoteOnlyMatcher(["ok/**", "[a-"])).toThrow(/remoteOnly\[1\]/);
  });
});
