import { afterAll, describe, expect, it } from "@jest/globals";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UidSlots } from "./uid-slots.js";

describe("UidSlots", () => {
  const lockDir = mkdtempSync(join(tmpdir(), "ocw-slots-"));
  afterAll(() => rmSync(lockDir, { recursive: true, force: true }));

  it("never hands one uid to two live holders, even across instances (worker processes)", async () => {
    const a = new UidSlots({ base: 300_000, lockDir });
    const b = new UidSlots({ base: 300_000, lockDir });
    const held = await Promise.all([a.acquire(), a.acquire(), b.acquire(), b.acquire()]);
    expect(new Set(held.map((s) => s.uid)).size).toBe(4);
    expect(held.every((s) => s.uid >= 300_000 && s.uid === s.gid)).toBe(true);
    const freed = held[0];
    await freed?.release();
    await freed?.release();
    expect((await b.acquire()).uid).toBe(freed?.uid);
  });

  it("reuses a slot whose lock owner is dead", async () => {
    const slots = new UidSlots({ base: 310_000, lockDir });
    writeFileSync(join(lockDir, "310000"), "999999999 1");
    expect((await slots.acquire()).uid).toBe(310_000);
    writeFileSync(join(lockDir, "310005"), "999999999 1");
    expect(await slots.sweepStale()).toEqual([310_005]);
    expect(readdirSync(lockDir)).not.toContain("310005");
  });

  it("refuses a range that holds the worker's own uid or 0", () => {
    expect(() => new UidSlots({ base: 0, lockDir })).toThrow(/sandbox_uid_base/);
    const own = process.getuid?.() ?? 0;
    if (own > 0) expect(() => new UidSlots({ base: own, lockDir })).toThrow(/own uid/);
  });
});
