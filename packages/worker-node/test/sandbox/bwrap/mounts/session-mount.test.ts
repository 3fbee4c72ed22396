import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { mkdirSync, openSync, closeSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readMountInfo } from "../../../../src/sandbox/bwrap/mounts/mountinfo.js";
import {
  isMountPoint,
  mountBackend,
  mountSessionTmpfs,
  sessionMountsUnder,
  tmpfsInodeLimit,
  unmountSession,
} from "../../../../src/sandbox/bwrap/mounts/session-mount.js";
import { describeWithPrerequisites, sandboxProblems } from "../../../support/conditions.js";
import { tempBaseDir } from "../../../support/sandbox-driver.js";

async function mountLine(dir: string) {
  const m = (await readMountInfo()).find((e) => e.mountPoint === dir);
  return m && { options: m.options, fsType: m.fsType, source: m.source, superOptions: m.superOptions };
}

describeWithPrerequisites("session tmpfs", sandboxProblems(), () => {
  let base: string;
  beforeAll(() => {
    base = tempBaseDir("mnt");
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it("the perl helper and mount(8) make the same mount: size, nr_inodes, mode 0711, nosuid, nodev", async () => {
    const viaHelper = join(base, "session-helper");
    const viaTool = join(base, "session-tool");
    mkdirSync(viaHelper);
    mkdirSync(viaTool);
    await mountSessionTmpfs(viaHelper, { sizeBytes: 16 << 20 });
    mountBackend.useHelper = false;
    try {
      await mountSessionTmpfs(viaTool, { sizeBytes: 16 << 20 });
    } finally {
      mountBackend.useHelper = true;
    }
    const a = await mountLine(viaHelper);
    expect(a).toEqual({
      options: ["rw", "nosuid", "nodev", "noatime"],
      fsType: "tmpfs",
      source: "opencode-session",
      superOptions: ["rw", "size=16384k", `nr_inodes=${tmpfsInodeLimit(16 << 20)}`, "mode=711"],
    });
    expect(await mountLine(viaTool)).toEqual(a);
    expect(await sessionMountsUnder(base)).toHaveLength(2);
    expect(await unmountSession(viaHelper)).toBe("unmounted");
    expect(await unmountSession(viaTool)).toBe("unmounted");
    expect(await unmountSession(viaTool)).toBe("not mounted");
  });

  it("a busy mount is detached lazily instead of failing destroy", async () => {
    const dir = join(base, "session-busy");
    mkdirSync(dir);
    await mountSessionTmpfs(dir, { sizeBytes: 1 << 20 });
    writeFileSync(join(dir, "held"), "x");
    const fd = openSync(join(dir, "held"), "r");
    try {
      expect(await unmountSession(dir)).toBe("detached lazily");
      expect(await isMountPoint(dir)).toBe(false);
    } finally {
      closeSync(fd);
    }
  });

  it("nr_inodes follows the byte quota within bounds", () => {
    expect(tmpfsInodeLimit(16 << 20)).toBe(4096);
    expect(tmpfsInodeLimit(1 << 20)).toBe(1024);
    expect(tmpfsInodeLimit(100 * 2 ** 30)).toBe(1_048_576);
  });
});
