import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { childCgroups, makeDir, readKeyed, readNumber, readProcs, removeCgroup, writeValue } from "./files.js";
import type { CgroupLayout } from "./discover.js";
import { killWithCgroupKill, killWithSignals, killWithV1Freezer, waitEmpty } from "./kill.js";
import type { CgroupLimits, CgroupManager, CgroupStats, KillMethod, SessionCgroup } from "./types.js";

/**
 * cgroup v1: one hierarchy per controller (memory, pids, cpu, cpuacct, freezer), each session a
 * child of `<worker's own cgroup>/<parentName>` in every one of them. On a hybrid host the unified
 * (cgroup2) hierarchy, even without controllers, gives `cgroup.kill`; without it the v1 freezer kills.
 */

type Role = "memory" | "pids" | "cpu" | "cpuacct" | "freezer" | "unified";

export interface V1Options {
  parentName: string;
  /** Force a kill method (tests use "freezer" to exercise the fallback); "auto" picks the best. */
  killMethod?: "auto" | KillMethod;
}

export async function openCgroupV1(layout: CgroupLayout, options: V1Options): Promise<{ manager?: CgroupManager; details: string[] }> {
  const details: string[] = [];
  const parents = new Map<Role, string>();
  for (const role of ["memory", "pids", "cpu", "cpuacct", "freezer"] as const) {
    const h = layout.v1.get(role);
    if (!h) continue;
    const parent = join(h.ownDir, options.parentName);
    try {
      await makeDir(parent);
      parents.set(role, parent);
    } catch (error) {
      details.push(`cgroup v1 ${role}: cannot create ${parent} (${(error as NodeJS.ErrnoException).code ?? error})`);
    }
  }
  if (layout.unified) {
    const parent = join(layout.unified.ownDir, options.parentName);
    try {
      await mkdir(parent, { recursive: true });
      if (existsSync(join(parent, "cgroup.kill"))) parents.set("unified", parent);
      else details.push("cgroup2 (unified) has no cgroup.kill on this kernel (needs 5.14)");
    } catch (error) {
      details.push(`cgroup2 (unified): cannot create ${parent} (${(error as NodeJS.ErrnoException).code ?? error})`);
    }
  }
  if (!parents.has("memory") && !parents.has("pids")) return { details };

  let killMethod: KillMethod = parents.has("unified") ? "cgroup.kill" : parents.has("freezer") ? "freezer" : "signals";
  if (options.killMethod && options.killMethod !== "auto") {
    const wanted = options.killMethod;
    if ((wanted === "cgroup.kill" && !parents.has("unified")) || (wanted === "freezer" && !parents.has("freezer"))) {
      throw new Error(`cgroup v1: kill method ${wanted} is not available here`);
    }
    killMethod = wanted;
  }
  const enforced = { memory: parents.has("memory"), pids: parents.has("pids"), cpu: parents.has("cpu") };
  const controllers = (["memory", "pids", "cpu"] as const).filter((c) => enforced[c]).join(", ");
  const label = `cgroup v1 (${controllers}) + ${killMethod === "cgroup.kill" ? "unified cgroup.kill" : killMethod}`;
  return { manager: new V1Manager(parents, enforced, killMethod, label), details };
}

class V1Manager implements CgroupManager {
  readonly version = "v1" as const;
  readonly parents: readonly string[];

  constructor(
    private readonly roleParents: Map<Role, string>,
    readonly enforced: Readonly<{ memory: boolean; pids: boolean; cpu: boolean }>,
    readonly killMethod: KillMethod,
    readonly label: string,
  ) {
    this.parents = [...new Set(roleParents.values())];
  }

  private session(name: string): V1Session {
    const dirs = new Map<Role, string>();
    for (const [role, parent] of this.roleParents) dirs.set(role, join(parent, name));
    return new V1Session(name, dirs, this.killMethod);
  }

  async create(name: string, limits: CgroupLimits): Promise<SessionCgroup> {
    const session = this.session(name);
    try {
      await session.setUp(limits);
    } catch (error) {
      await session.destroy().catch(() => undefined);
      throw error;
    }
    return session;
  }

  async list(): Promise<string[]> {
    const names = await Promise.all(this.parents.map((p) => childCgroups(p)));
    return [...new Set(names.flat())].sort();
  }

  async sweep(prefix = ""): Promise<string[]> {
    const lines: string[] = [];
    for (const name of (await this.list()).filter((n) => n.startsWith(prefix))) {
      const session = this.session(name);
      const killed = await session.kill();
      await session.destroy();
      lines.push(`removed cgroup ${name} (v1, killed ${killed} process${killed === 1 ? "" : "es"})`);
    }
    return lines;
  }
}

class V1Session implements SessionCgroup {
  readonly procsFiles: readonly string[];
  private readonly allDirs: string[];
  private destroyed: Promise<void> | undefined;

  constructor(
    readonly name: string,
    private readonly dirs: Map<Role, string>,
    private readonly killMethod: KillMethod,
  ) {
    this.allDirs = [...new Set(dirs.values())];
    this.procsFiles = this.allDirs.map((d) => join(d, "cgroup.procs"));
  }

  async setUp(limits: CgroupLimits): Promise<void> {
    // One mkdir per hierarchy, then every limit, all in parallel: about 1 ms instead of a chain.
    await Promise.all(this.allDirs.map((d) => mkdir(d)));
    const memory = this.dirs.get("memory");
    const pids = this.dirs.get("pids");
    const cpu = this.dirs.get("cpu");
    await Promise.all([
      memory &&
        (async () => {
          await writeValue(join(memory, "memory.limit_in_bytes"), limits.memoryBytes);
          // memory+swap = memory: no swapping around the limit. Absent without swap accounting.
          const memsw = join(memory, "memory.memsw.limit_in_bytes");
          if (existsSync(memsw)) await writeValue(memsw, limits.memoryBytes);
        })(),
      pids && writeValue(join(pids, "pids.max"), limits.pidsMax),
      // A new cgroup's cfs_period_us is 100 ms (not inherited).
      cpu && limits.cpu > 0 && writeValue(join(cpu, "cpu.cfs_quota_us"), cpuQuotaUs(limits.cpu, 100_000)),
    ]);
  }

  pids(): Promise<number[]> {
    const dir = this.allDirs[0];
    return dir ? readProcs(dir) : Promise.resolve([]);
  }

  async stats(): Promise<CgroupStats> {
    const memory = this.dirs.get("memory");
    const pids = this.dirs.get("pids");
    const cpuacct = this.dirs.get("cpuacct");
    const [usage, peak, oom, cpuNs, current, events, procs] = await Promise.all([
      memory ? readNumber(join(memory, "memory.usage_in_bytes")) : undefined,
      memory ? readNumber(join(memory, "memory.max_usage_in_bytes")) : undefined,
      memory ? readKeyed(join(memory, "memory.oom_control")) : undefined,
      cpuacct ? readNumber(join(cpuacct, "cpuacct.usage")) : undefined,
      pids ? readNumber(join(pids, "pids.current")) : undefined,
      pids ? readKeyed(join(pids, "pids.events")) : undefined,
      pids ? undefined : this.pids(),
    ]);
    return {
      memoryBytes: usage ?? 0,
      memoryPeakBytes: peak ?? usage ?? 0,
      cpuTimeMs: Math.round((cpuNs ?? 0) / 1e6),
      pids: current ?? procs?.length ?? 0,
      oomKills: oom?.get("oom_kill") ?? 0,
      pidsMaxHits: events?.get("max") ?? 0,
    };
  }

  async kill(): Promise<number> {
    const before = (await this.pids()).length;
    if (before === 0) return 0;
    const unified = this.dirs.get("unified");
    const freezer = this.dirs.get("freezer");
    if (this.killMethod === "cgroup.kill" && unified) await killWithCgroupKill(unified);
    else if (this.killMethod === "freezer" && freezer) await killWithV1Freezer(freezer);
    else await killWithSignals(this.allDirs[0] as string);
    if (!(await waitEmpty(this.allDirs, 5000))) {
      for (const dir of this.allDirs) await killWithSignals(dir);
      await waitEmpty(this.allDirs, 5000);
    }
    return before;
  }

  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      await this.kill();
      await Promise.all(this.allDirs.map((d) => removeCgroup(d)));
    })();
    return this.destroyed;
  }
}

export function cpuQuotaUs(cpu: number, periodUs: number): number {
  return Math.max(1000, Math.round(cpu * periodUs));
}
