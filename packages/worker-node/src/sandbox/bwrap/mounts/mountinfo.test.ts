import { describe, expect, it } from "@jest/globals";
import { parseMountInfo } from "./mountinfo.js";
import { parseProcStat } from "../../proc-scan.js";

describe("parseMountInfo", () => {
  it("reads mount points with escaped spaces and optional fields", () => {
    const text =
      "34 30 0:31 /process_api/x /sys/fs/cgroup/memory rw,relatime shared:5 - cgroup cgroup rw,memory\n" +
      "90 22 0:50 / /srv/a\\040b/session-1 rw,nosuid - tmpfs opencode-session rw,size=1024k,nr_inodes=1024\n";
    const [cg, tmp] = parseMountInfo(text);
    expect(cg).toMatchObject({ root: "/process_api/x", mountPoint: "/sys/fs/cgroup/memory", fsType: "cgroup" });
    expect(cg?.superOptions).toContain("memory");
    expect(tmp).toMatchObject({ mountPoint: "/srv/a b/session-1", options: ["rw", "nosuid"], fsType: "tmpfs", source: "opencode-session" });
  });
});

describe("parseProcStat", () => {
  it("copes with spaces and parentheses in the command name", () => {
    const stat = parseProcStat("4242 (a) b (c) S 1 4242 4242 0 -1 4194560 10 0 0 0 7 3 2 1 20 0 1 0 123456 1000 25 18446744073709551615");
    expect(stat).toMatchObject({
      pid: 4242,
      state: "S",
      ppid: 1,
      pgrp: 4242,
      session: 4242,
      cpuTicks: 10,
      childCpuTicks: 3,
      startTime: 123456,
    });
    expect(stat?.rssBytes).toBeGreaterThan(0);
  });
});
