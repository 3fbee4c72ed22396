import { describe, expect, it } from "@jest/globals";
import { GetMetricsResponse, JobState, ListSessionsResponse, Phase, TerminationReason, uuidv7 } from "@opencode-worker/shared";
import { CONFIG_OPTIONS } from "../config/schema.js";
import { RESPONSE_BUDGET_BYTES } from "../session/fit-result.js";

/** The largest value a uint64 the worker reports can take: JavaScript numbers stop at 2^53. */
const LARGEST = Number.MAX_SAFE_INTEGER;

/**
 * Answers that are not results have no cutting of their own: their size is bounded by the
 * configuration. These check the bounds against the response budget (fit-result.ts).
 */
describe("answers whose size the configuration bounds stay within the response budget", () => {
  it("ListSessions with as many sessions as session.max_concurrent_sessions allows, each as large as it gets", () => {
    const option = CONFIG_OPTIONS.find((entry) => entry.name === "session.max_concurrent_sessions")!;
    const max = "max" in option.spec ? option.spec.max : undefined;
    // A missing or zero maximum would make the list below empty and the check vacuous.
    expect(max).toBeGreaterThanOrEqual(1);
    const session = {
      sessionId: uuidv7(),
      jobId: "j".repeat(128),
      state: JobState.JOB_STATE_COLLECTING,
      phase: Phase.PHASE_DESTROY,
      ageMs: LARGEST,
      usage: { cpuTimeMs: LARGEST, memoryBytes: LARGEST, memoryPeakBytes: LARGEST, pids: 2 ** 32 - 1 },
    };
    const size = ListSessionsResponse.encode({ sessions: Array.from({ length: max! }, () => session) }).finish().length;
    expect(size).toBeLessThanOrEqual(RESPONSE_BUDGET_BYTES);
  });

  it("GetMetrics with every outcome there is", () => {
    const states = Object.values(JobState).filter((value): value is JobState => typeof value === "number");
    const reasons = Object.values(TerminationReason).filter((value): value is TerminationReason => typeof value === "number");
    const outcomes = states.flatMap((state) => reasons.map((reason) => ({ state, reason, count: LARGEST })));
    const size = GetMetricsResponse.encode(GetMetricsResponse.fromPartial({ outcomes })).finish().length;
    expect(size).toBeLessThanOrEqual(RESPONSE_BUDGET_BYTES);
  });
});
