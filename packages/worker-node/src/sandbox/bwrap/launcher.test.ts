import { describe, expect, it } from "@jest/globals";
import { parseLauncherStatus } from "./launcher.js";

describe("parseLauncherStatus", () => {
  it("reads an exit, a signal by name and the processes left alive", () => {
    expect(parseLauncherStatus("exit 139 alive 0\n")).toEqual({ exitCode: 139, signal: null, alive: 0 });
    expect(parseLauncherStatus("signal 11 core 1 alive 3\n")).toEqual({ exitCode: null, signal: "SIGSEGV", alive: 3 });
  });

  it("takes nothing that is not one whole line", () => {
    for (const text of ["", "exit 0", "exit 0 alive\n", "signal x core 0 alive 1\n", "exit -1 alive 0\n", "junk\nexit 0 alive 0\n"]) {
      expect(parseLauncherStatus(text)).toBeUndefined();
    }
  });
});
