import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { readMountInfo, type MountEntry } from "../bwrap/mounts/mountinfo.js";

/** One mounted cgroup hierarchy and where the worker itself sits in it. */
export interface Hierarchy {
  mountPoint: string;
  /** The worker's own cgroup, as an absolute directory under mountPoint. */
  ownDir: string;
  /** True when ownDir is the root of what this mount shows. */
  ownIsRoot: boolean;
}

export interface CgroupLayout {
  /** v1 controller name -> its hierarchy (co-mounted controllers share one). */
  v1: Map<string, Hierarchy>;
  /** The cgroup2 hierarchy: /sys/fs/cgroup on a pure v2 host, /sys/fs/cgroup/unified on a hybrid one. */
  unified?: Hierarchy;
}

const V1_CONTROLLERS = ["memory", "pids", "cpu", "cpuacct", "freezer"];

function ownDirFor(mount: MountEntry, cgroupPath: string): Hierarchy {
  // Without a cgroup namespace a mount may show a subtree (root "/docker/x"): paths are relative to it.
  let path = cgroupPath;
  if (mount.root !== "/" && (path === mount.root || path.startsWith(`${mount.root}/`))) {
    path = path.slice(mount.root.length) || "/";
  }
  return { mountPoint: mount.mountPoint, ownDir: join(mount.mountPoint, path), ownIsRoot: path === "/" };
}

/** Reads /proc/self/mountinfo and /proc/self/cgroup. Never throws: an empty layout means no cgroups. */
export async function discoverCgroupLayout(): Promise<CgroupLayout> {
  const layout: CgroupLayout = { v1: new Map() };
  let mounts: MountEntry[];
  let selfLines: string[];
  try {
    mounts = await readMountInfo();
    selfLines = (await readFile("/proc/self/cgroup", "utf8")).split("\n");
  } catch {
    return layout;
  }
  // Prefer mounts under /sys/fs/cgroup when a hierarchy is mounted twice.
  const sorted = [...mounts].sort(
    (a, b) => Number(!a.mountPoint.startsWith("/sys/fs/cgroup")) - Number(!b.mountPoint.startsWith("/sys/fs/cgroup")),
  );
  for (const line of selfLines) {
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (controllers === "") {
      const mount = sorted.find((m) => m.fsType === "cgroup2");
      if (mount) layout.unified = ownDirFor(mount, path);
      continue;
    }
    const names = controllers.split(",");
    const mount = sorted.find((m) => m.fsType === "cgroup" && names.every((n) => m.superOptions.includes(n)));
    if (!mount) continue;
    for (const name of names) {
      if (V1_CONTROLLERS.includes(name)) layout.v1.set(name, ownDirFor(mount, path));
    }
  }
  return layout;
}
