/**
 * What the bench reads about its child processes straight from /proc: cheap enough to sample
 * without disturbing them, and independent of what the worker reports about itself.
 */
import { readFile } from "node:fs/promises";

/** USER_HZ: 100 on every Linux the project targets (the kernel fixes it for /proc). */
const TICKS_PER_SECOND = 100;

/** utime + stime of a process, in ms. */
export async function readCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** cutime + cstime of a process: the CPU its children used, counted when it waited for them, in ms. */
export async function readChildrenCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[13]) + Number(fields[14]);
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** VmHWM of a process: its peak resident memory since it started, in bytes. */
export async function readPeakRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(kib) * 1024;
}

/** CPU time as a share of one core over a wall-clock span, in percent. */
export function cpuPercent(cpuMs: number, wallMs: number): number {
  return Math.round((cpuMs / wallMs) * 100);
}
