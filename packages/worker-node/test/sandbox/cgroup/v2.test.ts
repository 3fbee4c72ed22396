import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { spawn } from "node:child_process";
import { rmdir } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { describeWithPrerequisites, sandboxProblems } from "../../support/conditions.js";
import { pidsWithUid } from "../../../src/sandbox/proc-scan.js";
import { testCgroupParent } from "../../support/sandbox-driver.js";
import { discoverCgroupLayout } from "../../../src/sandbox/cgroup/discover.js";
import type { CgroupManager } from "../../../src/sandbox/cgroup/types.js";
import { openCgroupV2 } from "../../../src/sandbox/cgroup/v2.js";

// The v2 implementation against this host's unified hierarchy. It has no controllers here (they
// are bound to v1), so this covers creation, joining, cpu.stat, cgroup.kill, removal and sweep;
// memory.max/pids.max/cpu.max are written only where the controllers are delegated.
const { unified } = await discoverCgroupLayout();
const problems = [...sandboxProblems(), ...(unified ? [] : ["no cgroup2 hierarchy is mounted"])];

describeWithPrerequisites("cgroup v2 (unified hierarchy of this host)", problems, () => {
  let manager: CgroupManager | undefined;
  let details: string[] = [];

  beforeAll(async () => {
    if (unified) ({ manager, details } = await openCgroupV2(unified, testCgroupParent("v2")));
  });
  afterAll(async () => {
    for (const parent of manager?.parents ?? []) await rmdir(parent).catch(() => undefined);
  });

  it("joins, accounts cpu, kills a daemonised tree with cgroup.kill, and removes the cgroup", async () => {
    expect(manager?.version).toBe("v2");
    expect(manager?.killMethod).toBe("cgroup.kill");
    if (!manager?.enforced.memory) expect(details.join("\n")).toMatch(/controller memory not delegated/);
    const cg = await manager?.create("session-v2", { memoryBytes: 64 << 20, pidsMax: 16, cpu: 1 });
    if (!cg) throw new Error("no cgroup");
    const procs = cg.procsFiles.map((f) => `echo $$ > '${f}'`).join(" && ");
    const child = spawn(
      "/bin/sh",
      ["-c", `${procs} && (setsid sh -c 'sleep 300 & i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 300' &) ; sleep 300`],
      {
        stdio: "ignore",
        env: {},
      },
    );
    const closed = new Promise((resolve) => child.once("close", resolve));
    await delay(500);
    expect((await cg.pids()).length).toBeGreaterThanOrEqual(4);
    const stats = await cg.stats();
    expect(stats.cpuTimeMs).toBeGreaterThan(0);
    expect(stats.oomKills).toBe(0);
    expect(await cg.kill()).toBeGreaterThanOrEqual(4);
    expect(await cg.pids()).toEqual([]);
    await closed;
    await cg.destroy();
    expect(await manager?.list()).toEqual([]);
    expect(pidsWithUid(0)).not.toContain(child.pid);
  });

  it("sweep kills and removes what a crashed worker left", async () => {
    const cg = await manager?.create("session-left", { memoryBytes: 64 << 20, pidsMax: 16, cpu: 1 });
    if (!cg) throw new Error("no cgroup");
    const child = spawn("/bin/sh", ["-c", `echo $$ > '${cg.procsFiles[0]}' && sleep 300`], { stdio: "ignore", env: {} });
    const closed = new Promise((resolve) => child.once("close", resolve));
    await delay(200);
    expect(await manager?.sweep()).toEqual([expect.stringMatching(/^removed cgroup session-left \(v2, killed [12] process/)]);
    await closed;
    expect(await manager?.list()).toEqual([]);
  });
});
