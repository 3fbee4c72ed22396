import { readlinkSync } from "node:fs";
import { isLive, scanProcesses, type ProcStat } from "./proc-scan.js";

export interface TreeSample {
  /** Live members now. */
  members: ProcStat[];
  rssBytes: number;
  /** CPU of live members plus what they already reaped, in ticks. */
  cpuTicks: number;
}

/**
 * The process tree of one job, as far as sampling /proc can follow it.
 *
 * A process is a member when it is the root, shares the root's session (the root is spawned as a
 * session leader, so ordinary orphans keep the sid even after reparenting to init), has a member as
 * parent, or was a member at an earlier sample and is still the same process (pid + start time).
 * That last rule is how `setsid` double-fork daemons are caught: they leave the session and are
 * reparented to init, but if one sample saw them under a member they stay members.
 * A double fork takes about a millisecond, far less than a sampling period, so with `cwdPrefix` a
 * process started after the root whose working directory is inside the session counts too: that
 * catches the usual `setsid cmd &` / `nohup cmd &` daemon. One that also changes directory out of
 * the session is invisible here: only a pid namespace or a cgroup (the bwrap driver) can guarantee
 * the whole tree.
 */
export class ProcessTree {
  /** pid -> start time, everything ever seen as a member. */
  private readonly known = new Map<number, number>();
  private rootStartTime: number | undefined;

  constructor(
    private readonly rootPid: number,
    private readonly cwdPrefix?: string,
  ) {}

  private startedInSession(p: ProcStat): boolean {
    if (!this.cwdPrefix || this.rootStartTime === undefined || p.startTime < this.rootStartTime) return false;
    try {
      const cwd = readlinkSync(`/proc/${p.pid}/cwd`);
      return cwd === this.cwdPrefix || cwd.startsWith(`${this.cwdPrefix}/`);
    } catch {
      return false;
    }
  }

  sample(): TreeSample {
    const all = scanProcesses();
    const byPid = new Map<number, ProcStat>();
    const children = new Map<number, ProcStat[]>();
    for (const p of all) {
      byPid.set(p.pid, p);
      const list = children.get(p.ppid);
      if (list) list.push(p);
      else children.set(p.ppid, [p]);
    }
    const root = byPid.get(this.rootPid);
    this.rootStartTime ??= root?.startTime;
    const seeds: ProcStat[] = [];
    if (root && root.startTime === this.rootStartTime) seeds.push(root);
    for (const p of all) {
      if (p.pid !== this.rootPid && p.session === this.rootPid && p.pgrp !== 0) seeds.push(p);
      else if (this.known.get(p.pid) === p.startTime) seeds.push(p);
      // The start time filters first: the readlink is paid only for processes younger than the job.
      else if (isLive(p) && this.startedInSession(p)) seeds.push(p);
    }
    const members = new Map<number, ProcStat>();
    const queue = [...seeds];
    while (queue.length > 0) {
      const p = queue.pop() as ProcStat;
      if (members.has(p.pid)) continue;
      members.set(p.pid, p);
      for (const c of children.get(p.pid) ?? []) queue.push(c);
    }
    // Forget pids that are gone so a recycled pid cannot be mistaken for a member.
    for (const [pid, start] of this.known) {
      const p = byPid.get(pid);
      if (!p || p.startTime !== start) this.known.delete(pid);
    }
    let rssBytes = 0;
    let cpuTicks = 0;
    const live: ProcStat[] = [];
    for (const p of members.values()) {
      this.known.set(p.pid, p.startTime);
      cpuTicks += p.cpuTicks + p.childCpuTicks;
      if (!isLive(p)) continue;
      live.push(p);
      rssBytes += p.rssBytes;
    }
    return { members: live, rssBytes, cpuTicks };
  }
}
