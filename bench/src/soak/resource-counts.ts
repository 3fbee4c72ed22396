/**
 * What a worker holds of the host, counted from outside through /proc and the file system: what a
 * soak compares before and after its jobs.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { baseDirTag } from "../../../packages/worker-node/dist/sandbox/bwrap/session-cgroup-name.js";

export interface ResourceCounts {
  /** Open descriptors of the worker process. */
  fds: number;
  /** `session-*` directories under the base dir. */
  sessionDirs: number;
  /** Mounts under the base dir but for the slots' system views: a session's own. */
  sessionMounts: number;
  /** The overlays of the slots' system views (`<base dir>/.system`), mounted on a slot's first use and kept. */
  systemViewMounts: number;
  /** Session cgroups of this base dir, in every hierarchy. */
  cgroups: number;
  /** Live processes whose real, effective, saved or fs uid is one of the slot uids. */
  slotProcesses: number;
  /** The worker's VmRSS. */
  rssBytes: number;
}

export interface CountedWorker {
  pid: number;
  baseDir: string;
  /** Slot uids are [uidBase, uidBase + uidCount). */
  uidBase: number;
  uidCount: number;
}

export async function countResources(worker: CountedWorker): Promise<ResourceCounts> {
  return {
    fds: (await readdir(`/proc/${worker.pid}/fd`)).length,
    sessionDirs: (await readdir(worker.baseDir).catch(() => [])).filter((name) => name.startsWith("session-")).length,
    ...(await countMounts(worker.baseDir)),
    cgroups: await countSessionCgroups(worker.pid, baseDirTag(worker.baseDir)),
    slotProcesses: await countUidProcesses(worker.uidBase, worker.uidBase + worker.uidCount),
    rssBytes: 1024 * Number(/^VmRSS:\s+(\d+) kB$/m.exec(await readFile(`/proc/${worker.pid}/status`, "utf8"))?.[1] ?? NaN),
  };
}

async function countMounts(baseDir: string): Promise<Pick<ResourceCounts, "sessionMounts" | "systemViewMounts">> {
  const points = (await readFile("/proc/self/mountinfo", "utf8")).split("\n").map(mountPoint);
  const systemView = points.filter((point) => point.startsWith(`${baseDir}/.system/`)).length;
  return { sessionMounts: points.filter((point) => point.startsWith(`${baseDir}/`)).length - systemView, systemViewMounts: systemView };
}

/** Field 5 of a mountinfo line, with its octal escapes (\040 for a space) left as they are: the base dir has none. */
function mountPoint(line: string): string {
  return line.split(" ")[4] ?? "";
}

/**
 * The worker puts a session's cgroup under `<its own cgroup>/opencode-worker` in each hierarchy,
 * named `<tag of the base dir>-session-<id>`: counted there, from the worker's /proc/PID/cgroup.
 */
async function countSessionCgroups(pid: number, tag: string): Promise<number> {
  const names = new Set<string>();
  for (const line of (await readFile(`/proc/${pid}/cgroup`, "utf8")).split("\n")) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    const [, controllers, path] = match;
    // cgroup v1 hierarchies are mounted by controller name, the unified one (v2, or hybrid) at unified/ or the root.
    const mounts =
      controllers === "" ? ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"] : [`/sys/fs/cgroup/${controllers!.replace(/^name=/, "")}`];
    for (const mount of mounts) {
      const children = await readdir(join(mount, path!, "opencode-worker")).catch(() => []);
      for (const name of children) if (name.startsWith(`${tag}-`)) names.add(`${mount}:${name}`);
    }
  }
  return names.size;
}

async function countUidProcesses(from: number, to: number): Promise<number> {
  let count = 0;
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, "utf8").catch(() => "");
    const uids = /^Uid:\s+(.*)$/m.exec(status)?.[1]?.split(/\s+/).map(Number) ?? [];
    const zombie = /^State:\s+Z/m.test(status);
    if (!zombie && uids.some((uid) => uid >= from && uid < to)) count += 1;
  }
  return count;
}
