import { describe, expect, it } from "@jest/globals";
import { TerminationReason } from "@opencode-worker/shared";
import { describeOutcome } from "./outcome.js";

describe("describeOutcome", () => {
  const exited = { reason: TerminationReason.TERMINATION_REASON_EXITED };

  it("points at stderr only when the command wrote to it", () => {
    expect(describeOutcome(exited, { exitCode: 2, stderrBytes: 120 }, undefined).message).toBe("exited with code 2: see stderr");
    expect(describeOutcome(exited, { exitCode: 2, stderrBytes: 0 }, undefined).message).toBe("exited with code 2");
    expect(describeOutcome(exited, { exitCode: 0, stderrBytes: 5 }, undefined).message).toBe("exited with code 0");
  });
});
