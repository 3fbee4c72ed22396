import { describe, expect, it } from "@jest/globals";
import { forEachBounded } from "./for-each-bounded.js";

const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("forEachBounded", () => {
  it("runs every item, at most `limit` at a time, each with its index", async () => {
    let running = 0;
    let mostAtOnce = 0;
    const seen: string[] = [];
    await forEachBounded(["a", "b", "c", "d", "e"], 2, async (item, index) => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      await tick(5);
      seen.push(`${index}:${item}`);
      running -= 1;
    });
    expect(mostAtOnce).toBe(2);
    expect(seen.sort()).toEqual(["0:a", "1:b", "2:c", "3:d", "4:e"]);
  });

  it("starts nothing after a failure and throws the first error once the running tasks settled", async () => {
    const started: number[] = [];
    let settled = 0;
    const run = forEachBounded([0, 1, 2, 3, 4, 5], 3, async (item) => {
      started.push(item);
      await tick(item === 1 ? 1 : 20);
      settled += 1;
      if (item === 1) throw new Error("first");
      if (item === 2) throw new Error("second");
    });
    await expect(run).rejects.toThrow("first");
    expect(started).toEqual([0, 1, 2]);
    expect(settled).toBe(3);
  });

  it("does nothing for no items", async () => {
    await expect(forEachBounded([], 8, () => Promise.reject(new Error("never")))).resolves.toBeUndefined();
  });
});
