import { describe, expect, it } from "@jest/globals";
import { JobState, Phase, TerminationReason } from "@opencode-worker/shared";
import { phaseName, reasonName, stateName } from "./enum-names.js";

describe("enum names for logs and metric labels", () => {
  it("drops the prefix and lowercases", () => {
    expect(stateName(JobState.JOB_STATE_TIMED_OUT)).toBe("timed_out");
    expect(reasonName(TerminationReason.TERMINATION_REASON_MEMORY_LIMIT)).toBe("memory_limit");
    expect(phaseName(Phase.PHASE_EXECUTE)).toBe("execute");
  });

  it("keeps the number of a value it does not know", () => {
    expect(stateName(99 as JobState)).toBe("99");
  });
});
