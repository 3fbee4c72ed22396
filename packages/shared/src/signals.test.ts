import { describe, expect, it } from "@jest/globals";
import { shellStatusOf, signalName } from "./signals.js";

describe("signals", () => {
  it("names a signal and gives the shell's status for a name", () => {
    expect(signalName(11)).toBe("SIGSEGV");
    expect(signalName(9)).toBe("SIGKILL");
    expect(signalName(40)).toBe("SIG40");
    expect(shellStatusOf("SIGSEGV")).toBe(139);
    expect(shellStatusOf("SIGABRT")).toBe(134);
    expect(shellStatusOf("SIGNOPE")).toBeUndefined();
  });
});
