import { describe, expect, it, jest } from "@jest/globals";
import { KILL_GRACE_MS, treeKiller } from "./kill.js";

describe("treeKiller", () => {
  it("starts one escalation: later askers share the first one's grace and count", async () => {
    const killTree = jest.fn((graceMs: number) => Promise.resolve(graceMs === KILL_GRACE_MS ? 3 : 0));
    const killer = treeKiller({ killTree });
    const [stopped, reaped] = await Promise.all([killer.stop(), killer.reap()]);
    expect(killTree.mock.calls).toEqual([[KILL_GRACE_MS]]);
    expect([stopped, reaped]).toEqual([3, 3]);
  });

  it("reaps at once when nothing asked the tree to stop first", async () => {
    const killTree = jest.fn((_graceMs: number) => Promise.resolve(1));
    await treeKiller({ killTree }).reap();
    expect(killTree.mock.calls).toEqual([[0]]);
  });
});
