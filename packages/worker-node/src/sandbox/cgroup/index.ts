import { discoverCgroupLayout } from "./discover.js";
import type { CgroupManager, KillMethod } from "./types.js";
import { openCgroupV1 } from "./v1.js";
import { openCgroupV2 } from "./v2.js";

export type { CgroupLimits, CgroupManager, CgroupStats, KillMethod, SessionCgroup } from "./types.js";

export interface OpenCgroupsOptions {
  /** The driver's own parent cgroup, created under the worker's cgroup in each hierarchy. @default opencode-worker */
  parentName?: string;
  /** v1 only: force the kill method. @default auto */
  killMethod?: "auto" | KillMethod;
}

/**
 * Finds what this host offers and opens the one implementation that fits: v1 controllers when
 * any are mounted (hybrid hosts keep their controllers there; the unified hierarchy then only
 * provides cgroup.kill), else v2. `manager` is undefined when no cgroup can be used at all;
 * `details` says why, one line each.
 */
export async function openCgroups(options: OpenCgroupsOptions = {}): Promise<{ manager?: CgroupManager; details: string[] }> {
  const parentName = options.parentName ?? "opencode-worker";
  if (!/^[A-Za-z0-9._-]+$/.test(parentName) || parentName.startsWith(".")) {
    throw new Error(`cgroup parent name must be a plain directory name, got ${JSON.stringify(parentName)}`);
  }
  const layout = await discoverCgroupLayout();
  if (layout.v1.has("memory") || layout.v1.has("pids")) {
    return openCgroupV1(layout, { parentName, killMethod: options.killMethod ?? "auto" });
  }
  if (layout.unified) return openCgroupV2(layout.unified, parentName);
  return { manager: undefined, details: ["no cgroup hierarchy is mounted"] };
}
