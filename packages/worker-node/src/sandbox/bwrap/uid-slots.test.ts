import { afterAll, afterEach, describe, expect, it, jest } from "@jest/globals";
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

  it("refuses a range that holds 0", () => {
    expect(() => new UidSlots({ base: 0, lockDir })).toThrow(/sandbox_uid_base/);
  });

  describe("for a worker running as an unprivileged uid", () => {
    // Tests run as root, whose uid 0 no valid range holds: the worker's own ids are stood in for, so
    // the check that a job never gets the worker's uid or gid runs (and can fail) here too.
    afterEach(() => {
      jest.restoreAllMocks();
    });
    const runAs = (uid: number, gid: number) => {
      jest.spyOn(process, "getuid").mockReturnValue(uid);
      jest.spyOn(process, "getgid").mockReturnValue(gid);
    };

    it("refuses a range that holds the worker's own uid", () => {
      runAs(320_010, 1000);
      expect(() => new UidSlots({ base: 320_000, count: 64, lockDir })).toThrow(/own uid/);
      expect(() => new UidSlots({ base: 320_010, count: 1, lockDir })).toThrow(/own uid/);
    });

    it("refuses a range that holds the worker's own gid", () => {
      runAs(1000, 320_063);
      expect(() => new UidSlots({ base: 320_000, count: 64, lockDir })).toThrow(/own uid\/gid/);
    });

    it("accepts a range that ends just below or starts just above its ids", () => {
      runAs(320_064, 320_064);
      expect(new UidSlots({ base: 320_000, count: 64, lockDir }).count).toBe(64);
      expect(new UidSlots({ base: 320_065, count: 64, lockDir }).base).toBe(320_065);
    });
  });
});
