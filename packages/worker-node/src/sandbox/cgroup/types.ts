/** The one small cgroup interface the bwrap driver uses; v1 and v2 implement it. */

export interface CgroupLimits {
  memoryBytes: number;
  /** Tasks (processes and threads) for the whole cgroup, the sandbox's own helpers included. */
  pidsMax: number;
  /** Cores; 0 leaves cpu unlimited. */
  cpu: number;
}

export interface CgroupStats {
  memoryBytes: number;
  memoryPeakBytes: number;
  cpuTimeMs: number;
  /** Tasks now. */
  pids: number;
  /** OOM kills inside this cgroup since it was created. */
  oomKills: number;
  /** Forks refused because pids.max was reached. */
  pidsMaxHits: number;
}

export interface SessionCgroup {
  readonly name: string;
  /**
   * The `cgroup.procs` files a process writes its own pid into to join every hierarchy of this
   * session, before it runs job code.
   */
  readonly procsFiles: readonly string[];
  /** Processes in the cgroup now. */
  pids(): Promise<number[]>;
  stats(): Promise<CgroupStats>;
  /** SIGKILLs everything in it (no fork can race it) and resolves once it is empty; returns how many. */
  kill(): Promise<number>;
  /** kill(), then removes the cgroup from every hierarchy. Idempotent. */
  destroy(): Promise<void>;
}

export type KillMethod = "cgroup.kill" | "freezer" | "signals";

export interface CgroupManager {
  readonly version: "v1" | "v2";
  /** For labels and the probe: "cgroup v1 (memory, pids, cpu) + cgroup.kill". */
  readonly label: string;
  readonly enforced: Readonly<{ memory: boolean; pids: boolean; cpu: boolean }>;
  readonly killMethod: KillMethod;
  /** The driver's parent cgroup in each hierarchy (absolute paths). */
  readonly parents: readonly string[];
  create(name: string, limits: CgroupLimits): Promise<SessionCgroup>;
  /** Names of the session cgroups that exist under the parent now. */
  list(): Promise<string[]>;
  /** Kills and removes every cgroup under the parent whose name starts with `prefix`: what a crashed worker left. */
  sweep(prefix?: string): Promise<string[]>;
}
