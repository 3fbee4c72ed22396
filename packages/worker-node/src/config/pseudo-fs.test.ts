import { describe, expect, it } from "@jest/globals";
import { readFileSync, statfsSync } from "node:fs";
import { pseudoFileSystemName } from "./pseudo-fs.js";

/** This machine's mounts: the file system type mountinfo names, and the mount point. */
const mounts = readFileSync("/proc/self/mountinfo", "utf8")
  .trim()
  .split("\n")
  .map((line) => line.split(" "))
  .map((fields) => ({ fsType: fields[fields.indexOf("-") + 1]!, mountPoint: fields[4]! }));

describe("pseudoFileSystemName", () => {
  it.each(["proc", "sysfs", "cgroup", "cgroup2", "devpts"])("knows each %s mounted here by the type statfs reports", (fsType) => {
    const points = mounts.filter((mount) => mount.fsType === fsType).map((mount) => mount.mountPoint);
    // A container may not mount every one of them; /proc and /sys are always there.
    if (fsType === "proc" || fsType === "sysfs") expect(points.length).toBeGreaterThan(0);
    for (const point of points) expect(pseudoFileSystemName(statfsSync(point).type)).toBe(fsType);
  });

  it("reads a magic number above 2^31 that a 32-bit system reports as negative", () => {
    expect(pseudoFileSystemName(0xcafe4a11 | 0)).toBe("bpf");
    expect(pseudoFileSystemName(0xcafe4a11)).toBe("bpf");
  });

  it("lets the file systems holding this machine's files store them", () => {
    for (const path of ["/", "/tmp", process.cwd()]) expect(pseudoFileSystemName(statfsSync(path).type)).toBeUndefined();
  });

  it.each([
    ["ext4", 0xef53],
    ["tmpfs", 0x01021994],
    ["btrfs", 0x9123683e],
    ["xfs", 0x58465342],
    ["overlayfs", 0x794c7630],
  ])("lets %s store files", (_name, type) => {
    expect(pseudoFileSystemName(type)).toBeUndefined();
  });
});
