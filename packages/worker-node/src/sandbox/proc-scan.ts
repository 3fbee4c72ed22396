import { closeSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";

/**
 * Direct reads of /proc, synchronous on purpose: one /proc/PID/stat read costs about 14 us here,
 * against about 210 us per pid for pidusage (and 30 ms for its first call). The process driver has to
 * walk every pid anyway to find the job's descendants, so it reads the usage numbers in the same pass.
 */

/** The fields of /proc/PID/stat the drivers use. */
export interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  session: number;
  /** R, S, D, T, Z, X... */
  state: string;
  /** utime + stime of the process itself, in clock ticks. */
  cpuTicks: number;
  /** cutime + cstime: children it has already waited for. */
  childCpuTicks: number;
  /** Start time in clock ticks after boot: with the pid, identifies a process across pid reuse. */
  startTime: number;
  rssBytes: number;
}

interface Auxv {
  pageSize: number;
  clockTicks: number;
}

/** AT_PAGESZ and AT_CLKTCK from the worker's own auxiliary vector (no getconf exec). */
function readAuxv(): Auxv {
  const fallback = { pageSize: 4096, clockTicks: 100 };
  try {
    const buf = readFileSync("/proc/self/auxv");
    const wide = ["x64", "arm64", "ppc64", "s390x", "riscv64", "loong64", "mips64el"].includes(process.arch);
    const step = wide ? 16 : 8;
    const result = { ...fallback };
    for (let off = 0; off + step <= buf.length; off += step) {
      const key = wide ? Number(buf.readBigUInt64LE(off)) : buf.readUInt32LE(off);
      const value = wide ? Number(buf.readBigUInt64LE(off + 8)) : buf.readUInt32LE(off + 4);
      if (key === 0) break;
      if (key === 6 && value > 0) result.pageSize = value;
      if (key === 17 && value > 0) result.clockTicks = value;
    }
    return result;
  } catch {
    return fallback;
  }
}

const AUXV = readAuxv();
export const PAGE_SIZE = AUXV.pageSize;
export const CLOCK_TICKS_PER_SECOND = AUXV.clockTicks;

export function ticksToMs(ticks: number): number {
  return Math.round((ticks * 1000) / CLOCK_TICKS_PER_SECOND);
}

export function parseProcStat(text: string): ProcStat | undefined {
  // comm (field 2) may hold spaces and parentheses: split after the last ')'.
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const pid = Number.parseInt(text, 10);
  const rest = text.slice(close + 2).split(" ");
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const field = (n: number): number => Number(rest[n - 3] ?? Number.NaN);
  const stat: ProcStat = {
    pid,
    state: rest[0] ?? "?",
    ppid: field(4),
    pgrp: field(5),
    session: field(6),
    cpuTicks: field(14) + field(15),
    childCpuTicks: field(16) + field(17),
    startTime: field(22),
    rssBytes: field(24) * PAGE_SIZE,
  };
  return Number.isFinite(stat.pid) && Number.isFinite(stat.startTime) ? stat : undefined;
}

/**
 * One buffer for every small /proc read. /proc files report size 0, so readFileSync allocates a
 * fresh 64 KiB buffer per read: scanning a few hundred pids that way was half the worker's CPU.
 * stat and status are well under 4 KiB; a longer file is cut there, which neither parser minds.
 */
const PROC_BUFFER = Buffer.allocUnsafe(4096);

function readProcFile(path: string): string {
  const fd = openSync(path, "r");
  try {
    return PROC_BUFFER.toString("latin1", 0, readSync(fd, PROC_BUFFER, 0, PROC_BUFFER.length, null));
  } finally {
    closeSync(fd);
  }
}

export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readProcFile(`/proc/${pid}/stat`));
  } catch {
    return undefined;
  }
}

export function listPids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) pids.push(Number(name));
  }
  return pids;
}

/** Every process on the host (in the worker's pid namespace) that could be read. */
export function scanProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const pid of listPids()) {
    const stat = readProcStat(pid);
    if (stat) out.push(stat);
  }
  return out;
}

/** Zombies have exited: they hold no memory and cannot be signalled further. */
export function isLive(stat: ProcStat): boolean {
  return stat.state !== "Z" && stat.state !== "X";
}

/**
 * Real, effective, saved and filesystem uid from /proc/PID/status. The owner of /proc/PID is not
 * enough: a process that makes itself non-dumpable shows up as owned by root there.
 */
export function readProcUids(pid: number): number[] | undefined {
  try {
    const text = readProcFile(`/proc/${pid}/status`);
    const line = /^Uid:\s+(.*)$/m.exec(text);
    return line?.[1]?.trim().split(/\s+/).map(Number);
  } catch {
    return undefined;
  }
}

/** Live processes any of whose uids is `uid`; the check that a slot uid has nothing left behind. */
export function pidsWithUid(uid: number): number[] {
  return pidsWithUidIn(uid, uid + 1).map((p) => p.pid);
}

/** Live processes with any uid in [from, to), with the uid found: the sweep's net for slot uids. */
export function pidsWithUidIn(from: number, to: number): Array<{ pid: number; uid: number }> {
  const out: Array<{ pid: number; uid: number }> = [];
  for (const pid of listPids()) {
    const uids = readProcUids(pid);
    const hit = uids?.find((u) => u >= from && u < to);
    if (hit === undefined) continue;
    const stat = readProcStat(pid);
    if (stat && isLive(stat)) out.push({ pid, uid: hit });
  }
  return out;
}

/**
 * process.kill that ignores processes that are already gone, and refuses the pids that would
 * reach far more than one job: 0 and -1 (our own group, everything), 1 (init), the worker itself.
 */
export function trySignal(pid: number, signal: NodeJS.Signals): boolean {
  if (!Number.isInteger(pid) || Math.abs(pid) <= 1 || Math.abs(pid) === process.pid) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}
