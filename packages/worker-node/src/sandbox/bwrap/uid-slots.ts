import { existsSync } from "node:fs";
import { link, mkdir, readdir, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readProcStat } from "../proc-scan.js";

export interface UidSlot {
  readonly slot: number;
  readonly uid: number;
  readonly gid: number;
  /** Gives the slot back. Idempotent. */
  release(): Promise<void>;
}

export interface UidSlotsOptions {
  /** security.sandbox_uid_base: slot i runs as uid/gid base + i. */
  base: number;
  /** @default 4096 */
  count?: number;
  /**
   * One lock file per claimed uid, shared by every worker process on the host so two workers
   * (or two test files running in parallel) never hand out the same uid. @default /run/opencode-worker/uid-slots
   */
  lockDir?: string;
}

/** Unique temp names even for several UidSlots in one process. */
let tempCounter = 0;

/** Thrown when every slot is taken; the lifecycle maps it to RESOURCE_EXHAUSTED. */
export class NoFreeSlotError extends Error {
  override readonly name = "NoFreeSlotError";
}

/**
 * Per-session unprivileged uids. A uid is never 0 and never the worker's own, and never held by two
 * live sessions: in-process by a set, across processes by an O_EXCL lock file that records the
 * owner's pid and start time (a lock whose owner is gone is stale and reused).
 */
export class UidSlots {
  readonly base: number;
  readonly count: number;
  readonly lockDir: string;
  private readonly held = new Set<number>();
  private readonly owner = `${process.pid} ${readProcStat(process.pid)?.startTime ?? 0}`;
  private lockDirReady: Promise<void> | undefined;

  constructor(options: UidSlotsOptions) {
    this.base = options.base;
    this.count = options.count ?? 4096;
    this.lockDir = options.lockDir ?? "/run/opencode-worker/uid-slots";
    if (!Number.isInteger(this.base) || this.base <= 0 || this.base + this.count > 0xfffffffe) {
      throw new Error(`security.sandbox_uid_base must be a positive integer uid, got ${this.base}`);
    }
    const own = [process.getuid?.() ?? 0, process.getgid?.() ?? 0];
    if (own.some((id) => id >= this.base && id < this.base + this.count)) {
      throw new Error(
        `security.sandbox_uid_base=${this.base}: the slot range ${this.base}..${this.base + this.count - 1} contains the worker's own uid/gid`,
      );
    }
  }

  async acquire(): Promise<UidSlot> {
    this.lockDirReady ??= mkdir(this.lockDir, { recursive: true, mode: 0o700 }).then(() => undefined);
    await this.lockDirReady;
    for (let slot = 0; slot < this.count; slot++) {
      const uid = this.base + slot;
      if (this.held.has(uid)) continue;
      this.held.add(uid);
      if (await this.tryLock(uid)) {
        let released = false;
        return {
          slot,
          uid,
          gid: uid,
          release: async () => {
            if (released) return;
            released = true;
            await unlink(this.lockPath(uid)).catch(() => undefined);
            this.held.delete(uid);
          },
        };
      }
      this.held.delete(uid);
    }
    throw new NoFreeSlotError(`no free sandbox uid in ${this.base}..${this.base + this.count - 1}`);
  }

  /** Removes lock files whose owner process is gone. Returns the uids freed. */
  async sweepStale(): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.lockDir);
    } catch {
      return [];
    }
    const freed: number[] = [];
    for (const name of names) {
      const uid = Number(name);
      if (name.startsWith(".") || !Number.isInteger(uid) || this.held.has(uid)) continue;
      if (await this.isStale(uid)) {
        await unlink(this.lockPath(uid)).catch(() => undefined);
        freed.push(uid);
      }
    }
    return freed;
  }

  /** True while a live worker (this one or another) holds the uid's lock. */
  async isHeld(uid: number): Promise<boolean> {
    if (this.held.has(uid)) return true;
    return existsSync(this.lockPath(uid)) && !(await this.isStale(uid));
  }

  private lockPath(uid: number): string {
    return join(this.lockDir, String(uid));
  }

  private async tryLock(uid: number): Promise<boolean> {
    // Written whole under a private name, then link()ed: the lock appears atomically with its owner.
    const temp = join(this.lockDir, `.${uid}.${process.pid}.${++tempCounter}`);
    await writeFile(temp, this.owner, { mode: 0o600 });
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await link(temp, this.lockPath(uid));
          return true;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        }
        if (!(await this.isStale(uid))) return false;
        await unlink(this.lockPath(uid)).catch(() => undefined);
      }
      return false;
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  private async isStale(uid: number): Promise<boolean> {
    const text = await readFile(this.lockPath(uid), "utf8").catch(() => undefined);
    if (text === undefined) return false;
    const [pid, start] = text.trim().split(" ").map(Number);
    if (pid === undefined || !Number.isInteger(pid) || pid <= 0) return true;
    const stat = readProcStat(pid);
    return !stat || stat.startTime !== start;
  }
}
