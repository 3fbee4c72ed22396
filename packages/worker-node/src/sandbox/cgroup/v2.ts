import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Hierarchy } from "./discover.js";
import { childCgroups, readKeyed, readNumber, readProcs, readText, removeCgroup, writeValue } from "./files.js";
import { killWithCgroupKill, killWithSignals, waitEmpty } from "./kill.js";
import { cpuQuotaUs } from "./v1.js";
import type { CgroupLimits, CgroupManager, CgroupStats, KillMethod, SessionCgroup } from "./types.js";

/**
 * cgroup v2 (a pure v2 host): sessions are leaves under `<worker's own cgroup>/<parentName>`, with
 * memory.max (+ memory.swap.max 0, memory.oom.group 1), pids.max, cpu.max, and cgroup.kill.
 *
 * v2 forbids processes in a cgroup that hands controllers to its children ("no internal processes"),
 * so when the worker's own cgroup is not the root and the worker is alone in it (a systemd service
 * with Delegate=yes), the worker moves itself into a `<own>/worker` leaf first, as systemd's
 * delegation guide asks. It never moves other processes: if it is not alone, controllers stay off
 * and the probe reports it.
 */

const WANTED = ["memory", "pids", "cpu"] as const;

export async function openCgroupV2(unified: Hierarchy, parentName: string): Promise<{ manager?: CgroupManager; details: string[] }> {
  const details: string[] = [];
  const own = unified.ownDir;
  const parent = join(own, parentName);
  const available = ((await readText(join(own, "cgroup.controllers"))) ?? "").trim().split(/\s+/);
  const wanted = WANTED.filter((c) => available.includes(c));
  for (const c of WANTED) if (!wanted.includes(c)) details.push(`cgroup v2: controller ${c} not delegated to ${own}`);
  try {
    await mkdir(parent, { recursive: true });
  } catch (error) {
    details.push(`cgroup v2: cannot create ${parent} (${(error as NodeJS.ErrnoException).code ?? error})`);
    return { details };
  }
  const enabled = await enableControllers(unified, parent, wanted, details);
  if (!existsSync(join(parent, "cgroup.kill"))) details.push("cgroup v2: no cgroup.kill on this kernel (needs 5.14)");
  const killMethod: KillMethod = existsSync(join(parent, "cgroup.kill")) ? "cgroup.kill" : "signals";
  const enforced = { memory: enabled.includes("memory"), pids: enabled.includes("pids"), cpu: enabled.includes("cpu") };
  const label = `cgroup v2 (${enabled.join(", ") || "no controllers"}) + ${killMethod}`;
  return { manager: new V2Manager(parent, enforced, killMethod, label), details };
}

async function enableControllers(unified: Hierarchy, parent: string, wanted: readonly string[], details: string[]): Promise<string[]> {
  if (wanted.length === 0) return [];
  const line = wanted.map((c) => `+${c}`).join(" ");
  const own = unified.ownDir;
  try {
    await writeValue(join(own, "cgroup.subtree_control"), line);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const procs = await readProcs(own);
    if (code === "EBUSY" && !unified.ownIsRoot && procs.length === 1 && procs[0] === process.pid) {
      const leaf = join(own, "worker");
      await mkdir(leaf, { recursive: true });
      await writeValue(join(leaf, "cgroup.procs"), process.pid);
      details.push(`cgroup v2: moved the worker into ${leaf} so ${own} can delegate controllers`);
      try {
        await writeValue(join(own, "cgroup.subtree_control"), line);
      } catch (retry) {
        details.push(`cgroup v2: cannot enable ${line} in ${own} (${(retry as NodeJS.ErrnoException).code ?? retry})`);
        return [];
      }
    } else {
      details.push(
        `cgroup v2: cannot enable ${line} in ${own} (${code ?? error}); it holds other processes: start the worker ` +
          "in its own delegated cgroup (systemd: Delegate=yes)",
      );
      return [];
    }
  }
  try {
    await writeValue(join(parent, "cgroup.subtree_control"), line);
  } catch (error) {
    details.push(`cgroup v2: cannot enable ${line} in ${parent} (${(error as NodeJS.ErrnoException).code ?? error})`);
    return [];
  }
  const active = ((await readText(join(parent, "cgroup.subtree_control"))) ?? "").trim().split(/\s+/);
  return wanted.filter((c) => active.includes(c));
}

class V2Manager implements CgroupManager {
  readonly version = "v2" as const;
  readonly parents: readonly string[];

  constructor(
    private readonly parent: string,
    readonly enforced: Readonly<{ memory: boolean; pids: boolean; cpu: boolean }>,
    readonly killMethod: KillMethod,
    readonly label: string,
  ) {
    this.parents = [parent];
  }

  async create(name: string, limits: CgroupLimits): Promise<SessionCgroup> {
    const session = new V2Session(name, join(this.parent, name), this.killMethod);
    try {
      await session.setUp(limits, this.enforced);
    } catch (error) {
      await session.destroy().catch(() => undefined);
      throw error;
    }
    return session;
  }

  list(): Promise<string[]> {
    return childCgroups(this.parent).then((names) => names.sort());
  }

  async sweep(prefix = ""): Promise<string[]> {
    const lines: string[] = [];
    for (const name of (await this.list()).filter((n) => n.startsWith(prefix))) {
      const session = new V2Session(name, join(this.parent, name), this.killMethod);
      const killed = await session.kill();
      await session.destroy();
      lines.push(`removed cgroup ${name} (v2, killed ${killed} process${killed === 1 ? "" : "es"})`);
    }
    return lines;
  }
}

class V2Session implements SessionCgroup {
  readonly procsFiles: readonly string[];
  private peakSeen = 0;
  private destroyed: Promise<void> | undefined;

  constructor(
    readonly name: string,
    private readonly dir: string,
    private readonly killMethod: KillMethod,
  ) {
    this.procsFiles = [join(dir, "cgroup.procs")];
  }

  async setUp(limits: CgroupLimits, enforced: Readonly<{ memory: boolean; pids: boolean; cpu: boolean }>): Promise<void> {
    await mkdir(this.dir);
    const f = (name: string): string => join(this.dir, name);
    await Promise.all([
      enforced.memory && writeValue(f("memory.max"), limits.memoryBytes),
      enforced.memory && existsSync(f("memory.swap.max")) && writeValue(f("memory.swap.max"), 0),
      // An OOM kill takes the whole session, not one process of it.
      enforced.memory && existsSync(f("memory.oom.group")) && writeValue(f("memory.oom.group"), 1),
      enforced.pids && writeValue(f("pids.max"), limits.pidsMax),
      enforced.cpu && limits.cpu > 0 && writeValue(f("cpu.max"), `${cpuQuotaUs(limits.cpu, 100_000)} 100000`),
    ]);
  }

  pids(): Promise<number[]> {
    return readProcs(this.dir);
  }

  async stats(): Promise<CgroupStats> {
    const f = (name: string): string => join(this.dir, name);
    const [current, peak, events, cpu, pids, pidsEvents] = await Promise.all([
      readNumber(f("memory.current")),
      readNumber(f("memory.peak")),
      readKeyed(f("memory.events")),
      readKeyed(f("cpu.stat")),
      readNumber(f("pids.current")),
      readKeyed(f("pids.events")),
    ]);
    // memory.peak needs 5.19: before that, the peak is the highest value this driver sampled.
    this.peakSeen = Math.max(this.peakSeen, current ?? 0);
    return {
      memoryBytes: current ?? 0,
      memoryPeakBytes: peak ?? this.peakSeen,
      cpuTimeMs: Math.round((cpu.get("usage_usec") ?? 0) / 1000),
      pids: pids ?? (await this.pids()).length,
      oomKills: events.get("oom_kill") ?? 0,
      pidsMaxHits: pidsEvents.get("max") ?? 0,
    };
  }

  async kill(): Promise<number> {
    const before = (await this.pids()).length;
    if (before === 0) return 0;
    if (this.killMethod === "cgroup.kill") await killWithCgroupKill(this.dir);
    else await killWithSignals(this.dir);
    if (!(await waitEmpty([this.dir], 5000))) {
      await killWithSignals(this.dir);
      await waitEmpty([this.dir], 5000);
    }
    return before;
  }

  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      await this.kill();
      await removeCgroup(this.dir);
    })();
    return this.destroyed;
  }
}
