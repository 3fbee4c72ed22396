import { describe, expect, it } from "@jest/globals";
import { Phase } from "@opencode-worker/shared";
import { assertTransition } from "./lifecycle.js";

describe("session lifecycle", () => {
  it("allows the phases in order and DESTROY from anywhere", () => {
    const order = [
      Phase.PHASE_UNSPECIFIED,
      Phase.PHASE_INIT,
      Phase.PHASE_PREPARE,
      Phase.PHASE_EXECUTE,
      Phase.PHASE_COLLECT,
      Phase.PHASE_DESTROY,
    ];
    for (let i = 0; i + 1 < order.length; i += 1) expect(() => assertTransition(order[i]!, order[i + 1]!)).not.toThrow();
    for (const from of order.slice(0, -1)) expect(() => assertTransition(from, Phase.PHASE_DESTROY)).not.toThrow();
  });

  it.each([
    [Phase.PHASE_INIT, Phase.PHASE_EXECUTE],
    [Phase.PHASE_EXECUTE, Phase.PHASE_PREPARE],
    [Phase.PHASE_COLLECT, Phase.PHASE_COLLECT],
    [Phase.PHASE_DESTROY, Phase.PHASE_INIT],
  ])("refuses %p -> %p", (from, to) => expect(() => assertTransition(from, to)).toThrow(/illegal/));
});
